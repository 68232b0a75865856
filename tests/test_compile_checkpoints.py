"""A checkpointed compiled gradient: the plain compiled program's lines cut into segments that follow a
checkpointing schedule; the same gradient to the last bit, the interpreter's recomputation."""

import math
import tracemalloc

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import diffexplore as dx
from diffexplore.errors import DiffexploreError

from .strategies import expressions, points
from .test_checkpoint import SCHEDULES, X, mlp_point
from .test_checkpoint import chain as nested_sin


def logistic(n: int, r: float = 3.7) -> dx.Node:
    f = X
    for _ in range(n):
        f = r * f * (1 - f)
    return f


def assert_same(checked: dict, plain: dict) -> None:
    assert checked.keys() == plain.keys()
    for name, value in plain.items():
        if isinstance(value, np.ndarray):
            np.testing.assert_array_equal(checked[name], value)
        else:
            assert checked[name] == value or abs(checked[name] - value) <= 1e-15 * abs(value)


@pytest.mark.parametrize("checkpoints", SCHEDULES)
@pytest.mark.parametrize("family", [nested_sin, logistic])
@pytest.mark.parametrize("n", [1, 7, 40])
def test_checkpointed_compiled_gradients_of_chains_are_the_plain_ones(family, n, checkpoints):
    f, at = family(n), {"x": 0.3}
    c = dx.compile(f, checkpoints=checkpoints)
    plain = dx.compile(f).gradient(at)
    assert c.gradient(at) == plain == dx.grad(f, at)
    assert c.recomputed_ops == dx.memory(f, at, checkpoints=checkpoints).recomputed_ops
    value, gradient = c.value_and_gradient(at)
    assert value == dx.compile(f)(at) and gradient == plain


def test_many_points_at_once():
    f = logistic(30)
    at = {"x": np.linspace(0.1, 0.9, 11)}
    assert_same(dx.compile(f, checkpoints="sqrt").gradient(at), dx.compile(f).gradient(at))


@given(expressions(), points, st.sampled_from(SCHEDULES))
def test_checkpointed_compiled_gradients_equal_the_plain_ones_on_random_expressions(f, at, checkpoints):
    c = dx.compile(f, checkpoints=checkpoints)
    assert_same(c.gradient(at), dx.compile(f).gradient(at))
    assert_same(c.gradient(at), dx.grad(f, at))
    assert c.recomputed_ops == dx.memory(f, at, checkpoints=checkpoints).recomputed_ops


@pytest.mark.parametrize("checkpoints", SCHEDULES)
def test_checkpointed_compiled_gradients_of_the_mlp_are_the_plain_ones(checkpoints):
    net, at = mlp_point()
    c = dx.compile(net.loss, checkpoints=checkpoints)
    assert_same(c.gradient(at), dx.compile(net.loss).gradient(at))
    assert_same(c.gradient(at), dx.grad(net.loss, at))
    assert c.recomputed_ops == dx.memory(net.loss, at, checkpoints=checkpoints).recomputed_ops


def test_the_schedule_is_the_interpreters():
    f = nested_sin(50)
    c = dx.compile(f, checkpoints="sqrt")
    m = dx.memory(f, {"x": 0.3}, checkpoints="sqrt")
    assert c.schedule.actions == m.schedule.actions and 0 < c.recomputed_ops <= 50
    assert dx.compile(f).recomputed_ops == 0 and dx.compile(f).schedule is None


def peak_bytes(function, at) -> int:
    tracemalloc.start()
    try:
        function(at)
        return tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


def test_sqrt_checkpoints_cut_the_peak_memory_of_a_long_array_chain():
    n, at = 400, {"x": np.linspace(0.1, 0.9, 2000)}
    f = nested_sin(n)
    plain, checked = dx.compile(f), dx.compile(f, checkpoints="sqrt")
    plain.gradient(at), checked.gradient(at)              # compiled before measuring
    assert peak_bytes(checked.gradient, at) < 0.25 * peak_bytes(plain.gradient, at)
    assert checked.recomputed_ops <= n and math.isfinite(checked.gradient(at)["x"][0])


def test_what_checkpoints_refuse():
    f = nested_sin(5)
    with pytest.raises(DiffexploreError, match="backend='numpy' only"):
        dx.compile(f, backend="jax", checkpoints="sqrt")
    with pytest.raises(DiffexploreError, match="backend='numpy' only"):
        dx.compile(f, backend="torch", checkpoints=2)
    with pytest.raises(DiffexploreError, match=r"checkpoints=None\) only"):
        _ = dx.compile(f, checkpoints="sqrt").source
    with pytest.raises(DiffexploreError, match="checkpoints must be"):
        dx.compile(f, checkpoints="half")
    assert "def gradient" in dx.compile(f, checkpoints=1).source        # one snapshot: the plain program


@pytest.mark.parametrize("checkpoints", [2, "sqrt", ("binomial", 2)])
def test_some_variables_and_domain_errors(checkpoints):
    f = dx.parse("sin(x*y)*cos(sin(x) + y)*exp(sin(sin(y)))")
    at = {"x": 0.3, "y": 0.7}
    for wrt in ("x", "y"):
        assert dx.compile(f, wrt, checkpoints=checkpoints).gradient(at) == dx.compile(f, wrt).gradient(at)
    named = r"line \d+ of (advance|reverse)_\d+_\d+ `v5 = log\(v4\)`.*log needs a positive argument"
    with pytest.raises(dx.DomainError, match=named):
        dx.compile("log(sin(sin(sin(x))))", checkpoints=checkpoints).gradient({"x": -1.0})
