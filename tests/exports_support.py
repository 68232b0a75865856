"""Shared by the export tests: the fixed models, and the rounding-error bound that sets the tolerance on
random expressions.

Two correct programs of f differ by rounding: each operation's result is off by at most a few ulps (XLA's,
torch's and NumPy's transcendental functions differ from libm's by a few), and an error δv in an
intermediate v moves f by about v̄·δv (its adjoint). So the first-order bound of the difference is
``ulps · ε · Σ_v |v̄|·|v|`` over the nodes of f, which is f's condition number at that point times ε
(Griewank & Walther, Evaluating Derivatives, §3.4). For a gradient entry ∂f/∂x the same bound is taken
over the derivative graph ``dx.diff(f, x)``.
"""

from __future__ import annotations

import numpy as np

import diffexplore as dx

EPS = np.finfo(float).eps
#: Ulps one operation may be off by in another library (a generous few, for transcendental functions).
ULPS = 64


def rounding_bound(f: dx.Node, at: dict, pointwise: bool = False):
    """``ULPS · ε · Σ_v |v̄|·|v|``: how far two correct float64 programs of f may differ at ``at`` (a
    scalar graph at many points: one bound per point with ``pointwise``, else the largest)."""
    r = dx.reverse(f, at)
    total = 0.0
    for node in dx.nodes(f):
        adjoint = r.adjoints.get(node)
        if adjoint is not None:
            total = total + np.abs(np.asarray(adjoint) * np.asarray(r.primals[node]))
    bound = ULPS * EPS * np.asarray(total) + 1e-300
    return bound if pointwise else float(np.max(bound))


def gradient_bounds(f: dx.Node, at: dict) -> dict[str, float]:
    """The rounding bound of each gradient entry (over its derivative graph)."""
    return {name: rounding_bound(dx.diff(f, name), at) for name in at}


def mlp_model():
    """A 4-5-3 tanh network on 6 fixed samples: (loss graph, parameter values)."""
    rng = np.random.default_rng(0)
    net = dx.nn.mlp([4, 5, 3], batch=6, inputs=rng.normal(size=(4, 6)), labels=[0, 1, 2, 0, 1, 2])
    return net.loss, net.initial_parameters(seed=1)


def cnn_model():
    """The small convolutional network (conv, batch norm, relu, max pooling, dropout, concatenate) on 2
    fixed images: (loss graph, parameter values)."""
    rng = np.random.default_rng(2)
    net = dx.nn.cnn(batch=2, inputs=rng.normal(size=(2, 1, 8, 8)), labels=[0, 2])
    return net.loss, net.initial_parameters(seed=3)


def assert_close_models(got: dict, want: dict, tolerance: float = 1e-12) -> None:
    """Every entry within ``tolerance`` of the reference, relative to the entry's largest magnitude."""
    assert set(got) == set(want)
    for name, value in want.items():
        value = np.asarray(value)
        scale = max(1.0, float(np.max(np.abs(value))))
        assert np.max(np.abs(np.asarray(got[name]) - value)) <= tolerance * scale, name
