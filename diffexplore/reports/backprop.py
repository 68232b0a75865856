"""Show: the textbook δ recursion beside reverse mode's adjoints on a layered network, as Markdown.

:func:`delta_report` puts, layer by layer, the textbook δ⁽ˡ⁾ (:func:`diffexplore.nn.textbook_backprop`)
beside reverse mode's adjoints s̄⁽ˡ⁾ of the pre-activation nodes, and the weight and bias gradients
beside δ zᵀ and Σδ. Numbers are rounded to four significant digits and differences given as powers
of ten, so the text is the same on every machine.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

import numpy as np
from tabulate import tabulate

from ..evaluate import reverse
from ..graph import Node
from ..nn import Network, TextbookBackprop

__all__ = ["delta_report", "layer_sizes"]


def layer_sizes(net: Network) -> list[int]:
    """The widths of a layered network (:func:`diffexplore.nn.mlp`), input first.

    >>> import diffexplore as dx
    >>> layer_sizes(dx.nn.mlp([4, 5, 3], batch=2))
    [4, 5, 3]
    """
    shapes = [net.parameters[f"W{k}"] for k in range(1, net.depth + 1)]
    return [shapes[0][1], *(shape[0] for shape in shapes)]


def _superscript(layer: int) -> str:
    """``⁽³⁾`` for 3: the layer index as the article writes it."""
    return "⁽" + str(layer).translate(str.maketrans("0123456789", "⁰¹²³⁴⁵⁶⁷⁸⁹")) + "⁾"


def _number(value: float) -> str:
    return f"{value:.4g}"


def _difference(got: np.ndarray, want: np.ndarray) -> str:
    """‖got − want‖/‖want‖ as a bound that does not depend on the last bits of the arithmetic."""
    error = float(np.linalg.norm(got - want) / np.linalg.norm(want))
    if error == 0.0:
        return "0 (bit for bit)"
    return f"< 1e{math.ceil(math.log10(error))}"


def _matrix(array: np.ndarray) -> str:
    return tabulate([[_number(v) for v in row] for row in array], tablefmt="github",
                    headers=[f"sample {j + 1}" for j in range(array.shape[1])], disable_numparse=True)


def delta_report(net: Network, at: Mapping[str, Any], textbook: TextbookBackprop,
                 names: Mapping[Node, str] | None = None, *, activation: str = "tanh",
                 mlp_picture: str | None = None, cnn_picture: str | None = None) -> str:
    """The δ comparison as Markdown: per layer ‖δ⁽ˡ⁾‖ (textbook) beside ‖s̄⁽ˡ⁾‖ (reverse mode), the
    weight and bias gradients beside δ zᵀ and Σδ, and the last layer's δ written out both ways.

    ``names`` gives the pre-activations' names in a drawing (a column of the first table);
    ``activation`` is the hidden layers' φ (for the text); ``mlp_picture`` names a drawing of the same
    network at the same point, ``cnn_picture`` one of a network outside the layered picture (each
    mentioned when given).

    >>> from diffexplore.reports.families import textbook_mlp
    >>> print(delta_report(*textbook_mlp()).splitlines()[0])
    # The textbook δ recursion is what reverse mode computes
    """
    result = reverse(net.loss, at)
    names = names or {}
    deltas = []
    gradients = []
    for layer, s in enumerate(net.pre_activations, start=1):
        delta, adjoint = textbook.deltas[layer - 1], result.adjoints[s]
        shape = "×".join(str(n) for n in s.shape)
        drawn = f"`{names[s]}`" if s in names else "—"
        deltas.append([layer, drawn, shape, _number(np.linalg.norm(delta)), _number(np.linalg.norm(adjoint)),
                       _difference(adjoint, delta)])
        z_previous = textbook.post_activations[layer - 1]
        outer, bias = delta @ z_previous.T, delta.sum(axis=1, keepdims=True)
        gradients.append([layer, _number(np.linalg.norm(outer)),
                          _number(np.linalg.norm(result.gradient[f"W{layer}"])),
                          _difference(result.gradient[f"W{layer}"], outer),
                          _number(np.linalg.norm(bias)),
                          _number(np.linalg.norm(result.gradient[f"b{layer}"])),
                          _difference(result.gradient[f"b{layer}"], bias)])
    depth = len(deltas)
    last = net.pre_activations[-1]
    sizes = " → ".join(str(n) for n in layer_sizes(net))
    batch = net.inputs.shape[1]
    same = f"; the same network and point as `{mlp_picture}`" if mlp_picture else ""
    closing = "The recursion needs every layer to be φ(W z + b); reverse mode does not."
    if cnn_picture:
        closing += (f" `{cnn_picture}` shows the same sweep through conv2d, batch_norm, max_pool2d, dropout "
                    "and concatenate, for which no such recursion is written down.")
    return "\n".join([
        "# The textbook δ recursion is what reverse mode computes",
        "",
        f"Network {sizes}, {activation} hidden layers, softmax cross-entropy averaged "
        f"over a batch of {batch} samples (the columns of every matrix){same}. "
        "Loss E = " + _number(result.value) + " by both.",
        "",
        "The textbook computes δ⁽ᴸ⁾ = (softmax(s⁽ᴸ⁾) − y)/batch from the loss, then "
        "δ⁽ˡ⁻¹⁾ = φ'(s⁽ˡ⁻¹⁾) ⊙ (W⁽ˡ⁾)ᵀ δ⁽ˡ⁾ layer by layer (`diffexplore.nn.textbook_backprop`). Reverse "
        "mode knows none of this: it runs the general rule v̄ = Σ ū·∂u/∂v over the graph, and its adjoints "
        "s̄⁽ˡ⁾ of the pre-activation nodes come out equal to δ⁽ˡ⁾.",
        "",
        "## δ⁽ˡ⁾ against s̄⁽ˡ⁾ (Frobenius norms; relative difference ‖s̄ − δ‖/‖δ‖)",
        "",
        tabulate(deltas, headers=["layer l", "node in the drawing", "shape", "‖δ⁽ˡ⁾‖ textbook",
                                  "‖s̄⁽ˡ⁾‖ reverse mode", "relative difference"],
                 tablefmt="github", disable_numparse=True),
        "",
        "## ∂E/∂W⁽ˡ⁾ = δ⁽ˡ⁾ z⁽ˡ⁻¹⁾ᵀ and ∂E/∂b⁽ˡ⁾ = Σ_samples δ⁽ˡ⁾",
        "",
        tabulate(gradients, headers=["layer l", "‖δ zᵀ‖", "‖W̄‖ reverse mode", "relative difference",
                                     "‖Σδ‖", "‖b̄‖ reverse mode", "relative difference"],
                 tablefmt="github", disable_numparse=True),
        "",
        f"## δ{_superscript(depth)} written out",
        "",
        "Textbook, (softmax(s) − y)/batch:",
        "",
        _matrix(textbook.deltas[-1]),
        "",
        f"Reverse mode, the adjoint of s{_superscript(depth)} (through the graph's sum, product and "
        "log-softmax nodes):",
        "",
        _matrix(result.adjoints[last]),
        "",
        closing,
        "",
    ])
