"""An imported graph works with everything a graph works with (JAX and PyTorch imports)."""

from __future__ import annotations

import math

import numpy as np
import pytest

import diffexplore as dx


@pytest.fixture(scope="module")
def jax_seed():
    import jax
    import jax.numpy as jnp
    with jax.enable_x64(True):
        return dx.from_jax(lambda x, y: 1 + x + jnp.exp(jnp.sin(x * y)), 1.0, 2.0)


@pytest.fixture(scope="module")
def torch_mlp():
    import torch
    torch.manual_seed(0)
    net = torch.nn.Sequential(torch.nn.Linear(3, 4), torch.nn.Tanh(), torch.nn.Linear(4, 1)).double()

    class Loss(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.net = net

        def forward(self, x):
            return (self.net(x) ** 2).mean()
    return dx.from_torch(Loss(), torch.ones(2, 3, dtype=torch.float64))


def test_a_jax_import_works_with_every_entry_point(jax_seed, tmp_path):
    g, at = jax_seed, jax_seed.point
    assert g.output is dx.parse("1 + x + exp(sin(x*y))")
    expected_dx = 1 + math.exp(math.sin(2.0)) * math.cos(2.0) * 2.0
    assert dx.grad(g, at)["x"] == pytest.approx(expected_dx, rel=1e-14)
    assert dx.evaluate(dx.diff(g, "x"), at) == pytest.approx(expected_dx, rel=1e-14)
    assert dx.hessian(g, at).shape == (2, 2)
    assert dx.compile(g).gradient(at)["x"] == pytest.approx(expected_dx, rel=1e-14)
    assert str(dx.check_grads(g, at)).startswith("gradient check passed")
    assert "digraph" in dx.to_dot(g, at=at)
    assert dx.trace_table(g, at) is not None
    assert "<html" in dx.explore(g, at=at).html.lower()


def test_a_torch_import_works_with_every_entry_point(torch_mlp):
    g, at = torch_mlp, torch_mlp.point
    gradient = dx.grad(g, at)
    compiled = dx.compile(g).gradient(at)
    for name in gradient:
        np.testing.assert_allclose(compiled[name], gradient[name], rtol=1e-12, atol=1e-15)
    assert str(dx.check_grads(g, at)).startswith("gradient check passed")
    dot = dx.to_dot(g, at=at, views="adjoint")
    assert "net.0.weight" in dot and "net.2.bias" in dot
    assert "<html" in dx.explore(g, at=at).html.lower()
    assert dx.diff(g, "net_0_bias").shape == (4,)
