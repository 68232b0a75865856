"""Build: neural networks as diffexplore graphs, and the textbook backprop reference.

:func:`mlp` builds the article's layered network, ``z⁽ˡ⁾ = φ(s⁽ˡ⁾)``, ``s⁽ˡ⁾ = W⁽ˡ⁾ z⁽ˡ⁻¹⁾ + b⁽ˡ⁾``, with a
softmax cross-entropy loss on the last pre-activation. Samples are the *columns* of ``z`` (shape
(features, batch)), exactly as the article writes the equations, so ``b`` has shape (n, 1) and the
weight gradient is literally ``δ zᵀ``. :func:`cnn` builds a small network of the units that do not fit
the layered picture (convolution, batch normalisation, max pooling, dropout, concatenation).

:func:`textbook_backprop` is the article's δ recursion written directly in NumPy. It is kept only as
the reference the engine is compared with: the engine never uses it, and it knows nothing of graphs.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from . import rules
from .arrays import (
    batch_norm,
    concatenate,
    conv2d,
    dropout,
    max_pool2d,
    mean,
    one_hot,
    reshape,
    softmax_cross_entropy,
    transpose,
)
from .errors import DiffexploreError, ShapeError
from .graph import Node, constant, variable

__all__ = ["Network", "mlp", "cnn", "textbook_backprop", "TextbookBackprop", "ACTIVATIONS"]

#: The activations φ a layer may use, as diffexplore functions (graph building).
ACTIVATIONS = {"tanh": rules.tanh, "sigmoid": rules.sigmoid, "relu": rules.relu}


@dataclass
class Network:
    """A network built as a graph: its scalar ``loss``, named intermediate nodes (``nodes["s1"]``, ...),
    the shapes of its parameters (variables), its ``inputs`` and ``targets`` (variables or constants)."""

    loss: Node
    nodes: dict[str, Node]
    parameters: dict[str, tuple]
    inputs: Node
    targets: Node
    kinds: dict[str, str] = field(default_factory=dict, repr=False)

    def initial_parameters(self, seed: int = 0) -> dict[str, np.ndarray]:
        """Random parameter values: weights N(0, 1/fan-in), biases and shifts N(0, 0.1²), scales
        1 + N(0, 0.1²) (nonzero biases, so every term of the gradient is exercised)."""
        rng = np.random.default_rng(seed)
        values = {}
        for name, shape in self.parameters.items():
            kind = self.kinds.get(name, "weight")
            if kind == "weight":
                values[name] = rng.normal(0.0, 1.0 / math.sqrt(math.prod(shape[1:])), shape)
            elif kind == "scale":
                values[name] = 1.0 + rng.normal(0.0, 0.1, shape)
            else:
                values[name] = rng.normal(0.0, 0.1, shape)
        return values

    def at(self, parameters: Mapping[str, Any], inputs: Any = None, targets: Any = None) -> dict[str, Any]:
        """The evaluation point: parameter values plus inputs and targets where those are variables."""
        point = dict(parameters)
        for node, value, what in ((self.inputs, inputs, "inputs"), (self.targets, targets, "targets")):
            if node.is_variable:
                if value is None:
                    raise DiffexploreError(f"this network's {what} are the variable {node.name!r} "
                                           f"(shape {node.shape}); give {what}=...")
                point[node.name] = np.asarray(value, dtype=float)
        return point

    @property
    def pre_activations(self) -> list[Node]:
        """s⁽¹⁾ ... s⁽ᴸ⁾ (MLPs)."""
        return [self.nodes[f"s{k}"] for k in range(1, self.depth + 1)]

    @property
    def depth(self) -> int:
        return sum(1 for k in self.nodes if k.startswith("s") and k[1:].isdigit())

    def __repr__(self) -> str:
        from .render.displays import network_text
        return network_text(self)

    def _repr_html_(self) -> str:
        from .render.displays import network_html
        return network_html(self)


def _data(value: Any, name: str, shape: tuple) -> Node:
    """A variable when no value is given (supplied at evaluation), else a constant of the data."""
    if value is None:
        return variable(name, shape=shape)
    array = np.asarray(value, dtype=float)
    if array.shape != shape:
        raise ShapeError(f"{name}: expected shape {shape}, got {array.shape}")
    return constant(array)


def _targets(labels: Any, classes: int, batch: int, axis: int) -> Node:
    shape = (classes, batch) if axis == 0 else (batch, classes)
    if labels is None:
        return variable("y", shape=shape)
    labels = np.asarray(labels)
    if labels.dtype.kind in "iu":
        if labels.shape != (batch,):
            raise ShapeError(f"labels: expected integer labels of shape {(batch,)}, got {labels.shape}")
        return constant(one_hot(labels, classes, axis=axis))
    return _data(labels, "y", shape)


def mlp(sizes: Sequence[int], batch: int, activation: str = "tanh", inputs: Any = None,
        labels: Any = None) -> Network:
    """A layered network ``sizes[0] → sizes[1] → … → sizes[-1]`` as a graph: hidden layers
    ``z = φ(W @ z_prev + b)``, output logits ``s⁽ᴸ⁾ = W @ z + b``, loss the mean softmax
    cross-entropy over the ``batch`` columns.

    Parameters are variables ``W1, b1, …`` (``W`` of shape (out, in), ``b`` of shape (out, 1)).
    ``inputs`` (shape (sizes[0], batch)) and ``labels`` (integer classes of shape (batch,) or one-hot
    targets of shape (sizes[-1], batch)) become constants when given, else the variables ``x`` and
    ``y``. ``nodes`` names ``z0`` (the input), ``s1 … sL`` and ``z1 … z(L-1)``.

    >>> import diffexplore as dx
    >>> net = dx.nn.mlp([4, 5, 3], batch=2)
    >>> net.nodes["s1"].shape, net.nodes["s2"].shape, net.loss.shape
    ((5, 2), (3, 2), ())
    >>> sorted(net.parameters)
    ['W1', 'W2', 'b1', 'b2']
    """
    if len(sizes) < 2:
        raise DiffexploreError(f"an MLP needs at least an input and an output size, got {list(sizes)}")
    if activation not in ACTIVATIONS:
        raise DiffexploreError(f"unknown activation {activation!r}; known: {', '.join(ACTIVATIONS)}")
    phi = ACTIVATIONS[activation]
    z = _data(inputs, "x", (sizes[0], batch))
    targets = _targets(labels, sizes[-1], batch, axis=0)
    named: dict[str, Node] = {"z0": z}
    parameters: dict[str, tuple] = {}
    kinds: dict[str, str] = {}
    depth = len(sizes) - 1
    for k in range(1, depth + 1):
        W = variable(f"W{k}", shape=(sizes[k], sizes[k - 1]))
        b = variable(f"b{k}", shape=(sizes[k], 1))
        parameters[W.name], parameters[b.name] = W.shape, b.shape
        kinds[W.name], kinds[b.name] = "weight", "bias"
        s = W @ z + b
        named[f"s{k}"] = s
        if k < depth:
            z = phi(s)
            named[f"z{k}"] = z
    loss = softmax_cross_entropy(named[f"s{depth}"], targets, axis=0)
    return Network(loss=loss, nodes=named, parameters=parameters, inputs=named["z0"], targets=targets,
                   kinds=kinds)


def cnn(batch: int, image: tuple[int, int, int] = (1, 8, 8), channels: int = 4, classes: int = 3,
        p_drop: float = 0.25, seed: int = 0, inputs: Any = None, labels: Any = None) -> Network:
    """A small convolutional network of the units that do not fit the layered picture:

    ``conv2d(3×3, padding 1) → batch_norm → relu → max_pool2d(2) → dropout → flatten``, joined by
    ``concatenate`` with a global-average skip branch ``mean(x, axis=(2, 3))``, then a dense layer to
    ``classes`` logits (classes as rows, samples as columns) and the softmax cross-entropy. Inputs are
    (batch, C, H, W) (PyTorch's NCHW); the dropout mask comes from ``seed``. The convolution has no bias:
    batch normalisation subtracts each channel's mean, so a bias there would have gradient zero.

    >>> import diffexplore as dx
    >>> net = dx.nn.cnn(batch=2)
    >>> net.nodes["conv"].shape, net.nodes["pool"].shape, net.nodes["features"].shape
    ((2, 4, 8, 8), (2, 4, 4, 4), (2, 65))
    """
    c_in, height, width = image
    x = _data(inputs, "x", (batch, c_in, height, width))
    targets = _targets(labels, classes, batch, axis=0)
    K = variable("K", shape=(channels, c_in, 3, 3))
    gamma = variable("gamma", shape=(channels,))
    beta = variable("beta", shape=(channels,))
    conv = conv2d(x, K, padding=1)
    normed = batch_norm(conv, gamma, beta, axis=(0, 2, 3))
    hidden = rules.relu(normed)
    pooled = max_pool2d(hidden, 2)
    dropped = dropout(pooled, p_drop, seed=seed)
    flat = reshape(dropped, (batch, -1))
    skip = mean(x, axis=(2, 3))
    features = concatenate([flat, skip], axis=1)
    W = variable("W", shape=(classes, features.shape[1]))
    b = variable("b", shape=(classes, 1))
    logits = W @ transpose(features) + b
    loss = softmax_cross_entropy(logits, targets, axis=0)
    parameters = {n.name: n.shape for n in (K, gamma, beta, W, b)}
    kinds = {"K": "weight", "gamma": "scale", "beta": "bias", "W": "weight", "b": "bias"}
    named = {"x": x, "conv": conv, "norm": normed, "relu": hidden, "pool": pooled, "dropout": dropped,
             "flat": flat, "skip": skip, "features": features, "logits": logits}
    return Network(loss=loss, nodes=named, parameters=parameters, inputs=x, targets=targets, kinds=kinds)


# ---- the reference: the article's δ recursion in NumPy -----------------------------------------------

#: φ'(s) for each activation, written from s as the article writes it.
_DERIVATIVES = {
    "tanh": lambda s: 1.0 - np.tanh(s) ** 2,
    "sigmoid": lambda s: (1.0 / (1.0 + np.exp(-s))) * (1.0 - 1.0 / (1.0 + np.exp(-s))),
    "relu": lambda s: (s > 0).astype(float),
}
_FUNCTIONS = {"tanh": np.tanh, "sigmoid": lambda s: 1.0 / (1.0 + np.exp(-s)),
              "relu": lambda s: np.maximum(s, 0.0)}


@dataclass
class TextbookBackprop:
    """The reference's results, index l = 1 … L at position l − 1: ``pre_activations`` s⁽ˡ⁾,
    ``post_activations`` z⁽⁰⁾ … z⁽ᴸ⁻¹⁾, ``deltas`` δ⁽ˡ⁾ = ∂E/∂s⁽ˡ⁾, ``weight_gradients`` δ⁽ˡ⁾ z⁽ˡ⁻¹⁾ᵀ,
    ``bias_gradients`` δ⁽ˡ⁾ summed over the batch, and the ``loss`` E."""

    loss: float
    pre_activations: list[np.ndarray]
    post_activations: list[np.ndarray]
    deltas: list[np.ndarray]
    weight_gradients: list[np.ndarray]
    bias_gradients: list[np.ndarray]

    def __repr__(self) -> str:
        from .render.displays import backprop_text
        return backprop_text(self)

    def _repr_html_(self) -> str:
        from .render.displays import backprop_html
        return backprop_html(self)


def textbook_backprop(weights: Sequence[np.ndarray], biases: Sequence[np.ndarray], x: np.ndarray,
                      targets: np.ndarray, activation: str = "tanh") -> TextbookBackprop:
    """The layered network's gradient by the textbook equations (samples as columns):

    - forward: ``s⁽ˡ⁾ = W⁽ˡ⁾ z⁽ˡ⁻¹⁾ + b⁽ˡ⁾``, ``z⁽ˡ⁾ = φ(s⁽ˡ⁾)``; E = mean over the batch of
      −Σ targets · log softmax(s⁽ᴸ⁾);
    - δ⁽ᴸ⁾ = (softmax(s⁽ᴸ⁾) − targets) / batch, the softmax cross-entropy's derivative;
    - δ⁽ˡ⁻¹⁾ = φ'(s⁽ˡ⁻¹⁾) ⊙ (W⁽ˡ⁾)ᵀ δ⁽ˡ⁾;
    - ∂E/∂W⁽ˡ⁾ = δ⁽ˡ⁾ z⁽ˡ⁻¹⁾ᵀ (the sum over the batch is the matrix product), ∂E/∂b⁽ˡ⁾ = Σ_batch δ⁽ˡ⁾.

    ``targets`` are one-hot columns (classes, batch) or integer labels (batch,).

    >>> W = [np.array([[1.0, 0.0], [0.0, 1.0]])]
    >>> r = textbook_backprop(W, [np.zeros((2, 1))], np.zeros((2, 1)), np.array([0]))
    >>> r.deltas[0].ravel().tolist()          # softmax of equal logits is (1/2, 1/2)
    [-0.5, 0.5]
    """
    if activation not in _DERIVATIVES:
        raise DiffexploreError(f"unknown activation {activation!r}; known: {', '.join(_DERIVATIVES)}")
    phi, phi_prime = _FUNCTIONS[activation], _DERIVATIVES[activation]
    targets = np.asarray(targets)
    if targets.dtype.kind in "iu":
        targets = one_hot(targets, weights[-1].shape[0], axis=0)
    depth, batch = len(weights), x.shape[1]
    z, s = [x], []
    for k in range(depth):
        s.append(weights[k] @ z[k] + biases[k])
        if k < depth - 1:
            z.append(phi(s[k]))
    logits = s[-1] - s[-1].max(axis=0, keepdims=True)
    log_probs = logits - np.log(np.exp(logits).sum(axis=0, keepdims=True))
    loss = float(-(targets * log_probs).sum() / batch)
    deltas = [None] * depth
    deltas[-1] = (np.exp(log_probs) - targets) / batch
    for k in range(depth - 1, 0, -1):
        deltas[k - 1] = phi_prime(s[k - 1]) * (weights[k].T @ deltas[k])
    weight_gradients = [deltas[k] @ z[k].T for k in range(depth)]
    bias_gradients = [deltas[k].sum(axis=1, keepdims=True) for k in range(depth)]
    return TextbookBackprop(loss=loss, pre_activations=s, post_activations=z, deltas=deltas,
                            weight_gradients=weight_gradients, bias_gradients=bias_gradients)
