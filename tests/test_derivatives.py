"""Forward, reverse, symbolic and numeric derivatives agree with hand-derived formulas and each other."""

import math

import numpy as np
import pytest
from hypothesis import given

import diffexplore as dx

from .strategies import expressions, near_kink, points

SEED = "1 + x + exp(sin(x*y))"


def hand_gradient(x, y):
    """The article's formulas: df/dx = 1 + exp(sin(xy)) cos(xy) y, df/dy = exp(sin(xy)) cos(xy) x."""
    common = math.exp(math.sin(x * y)) * math.cos(x * y)
    return {"x": 1 + common * y, "y": common * x}


@pytest.mark.parametrize("x, y", [(1.0, 2.0), (0.3, -0.7), (-2.5, 1.25), (0.0, 4.0), (3.0, 3.0)])
@pytest.mark.parametrize("method", ["reverse", "forward", "symbolic"])
def test_seed_gradient_matches_hand_derived_formulas(x, y, method):
    f = dx.parse(SEED)
    got = dx.grad(f, {"x": x, "y": y}, method=method)
    want = hand_gradient(x, y)
    for name in "xy":
        assert got[name] == pytest.approx(want[name], rel=1e-12, abs=1e-15)


@pytest.mark.parametrize("x, y", [(1.0, 2.0), (0.3, -0.7), (-2.5, 1.25)])
def test_seed_central_differences_agree_to_1e_8(x, y):
    got = dx.grad(dx.parse(SEED), {"x": x, "y": y}, method="numeric", scheme="central")
    want = hand_gradient(x, y)
    for name in "xy":
        assert got[name] == pytest.approx(want[name], rel=1e-8, abs=1e-8)


def test_seed_value():
    assert dx.evaluate(dx.parse(SEED), {"x": 1.0, "y": 2.0}) == 2 + math.exp(math.sin(2.0))


def test_forward_result_carries_primal_and_tangent_of_every_node():
    x, y = dx.variables("x y")
    xy = x * y
    f = 1 + x + dx.exp(dx.sin(xy))
    r = dx.forward(f, {"x": 1.0, "y": 2.0}, seed={"x": 1.0})
    assert r.primals[xy] == 2.0 and r.tangents[xy] == 2.0          # d(xy)/dx = y
    assert r.tangents[y] == 0.0
    assert r.tangent == pytest.approx(hand_gradient(1.0, 2.0)["x"], rel=1e-14)


def test_reverse_result_carries_adjoints_and_edge_partials():
    x, y = dx.variables("x y")
    xy = x * y
    s = dx.sin(xy)
    f = 1 + x + dx.exp(s)
    r = dx.reverse(f, {"x": 1.0, "y": 2.0})
    assert r.adjoints[f] == 1.0
    assert r.partials[(xy, 0)] == 2.0 and r.partials[(xy, 1)] == 1.0   # d(xy)/dx = y, d(xy)/dy = x
    assert r.partials[(s, 0)] == math.cos(2.0)
    assert r.adjoints[xy] == pytest.approx(math.exp(math.sin(2.0)) * math.cos(2.0), rel=1e-15)
    # x has two children (1 + x and x*y): its adjoint is the sum of both contributions.
    into_x = [amount for parent, child, amount in r.contributions if parent is x]
    assert len(into_x) == 2 and sum(into_x) == pytest.approx(r.gradient["x"], rel=1e-15)


def test_batch_of_points_gives_arrays_matching_pointwise_results():
    f = dx.parse(SEED)
    xs, ys = np.linspace(-2, 2, 7), np.linspace(0.5, 3, 7)
    batch = dx.grad(f, {"x": xs, "y": ys})
    for k in range(7):
        single = dx.grad(f, {"x": xs[k], "y": ys[k]})
        assert batch["x"][k] == pytest.approx(single["x"], rel=1e-15)
        assert batch["y"][k] == pytest.approx(single["y"], rel=1e-15)
    assert dx.evaluate(f, {"x": xs, "y": ys}).shape == (7,)


def test_jacobian_forward_by_columns_equals_reverse_by_rows():
    x, y, z = dx.variables("x y z")
    outputs = [x * y * z, dx.sin(x) + y ** 2, dx.exp(z) / y]
    at = {"x": 0.5, "y": 1.5, "z": -0.25}
    fwd = dx.jacobian(outputs, at, method="forward")
    rev = dx.jacobian(outputs, at, method="reverse")
    assert fwd.shape == (3, 3)
    np.testing.assert_allclose(fwd, rev, rtol=1e-14)
    np.testing.assert_allclose(fwd[0], [1.5 * -0.25, 0.5 * -0.25, 0.5 * 1.5], rtol=1e-15)
    num = dx.jacobian(outputs, at, method="numeric")
    np.testing.assert_allclose(num, rev, rtol=1e-8, atol=1e-9)


def test_complex_step_is_exact_to_machine_precision():
    f = dx.parse("exp(x) / sqrt(sin(x)**3 + cos(x)**3)")      # the classic complex-step test function
    at = {"x": 1.5}
    exact = dx.grad(f, at)["x"]
    assert dx.numeric(f, at, scheme="complex")["x"] == pytest.approx(exact, rel=1e-15)
    assert abs(dx.numeric(f, at, scheme="forward")["x"] - exact) > 1e-10 * abs(exact)


def relative_gap(a, b):
    return abs(a - b) / max(1.0, abs(a), abs(b))


@given(expressions(), points)
def test_forward_equals_reverse_on_random_expressions(f, at):
    rev = dx.grad(f, at, method="reverse")
    fwd = dx.grad(f, at, method="forward")
    for name in rev:
        assert relative_gap(rev[name], fwd[name]) < 1e-10


@given(expressions(), points)
def test_central_differences_agree_within_truncation_error(f, at):
    if near_kink(f, at):
        return
    rev = dx.grad(f, at, method="reverse")
    num = dx.grad(f, at, method="numeric", scheme="central")
    for name in rev:
        # Central differences at the default step h ~ 6e-6: error ~ h^2 |f'''| + eps |f| / h.
        assert relative_gap(rev[name], num[name]) < 1e-5


@given(expressions(), points)
def test_symbolic_gradient_equals_reverse_on_random_expressions(f, at):
    rev = dx.grad(f, at, method="reverse")
    sym = dx.grad(f, at, method="symbolic")
    for name in rev:
        assert relative_gap(rev[name], sym[name]) < 1e-12
