"""The primitives NumPy programs and framework graphs need: hand-derived derivatives in every mode."""

from __future__ import annotations

import math

import numpy as np
import pytest

import diffexplore as dx

X, Y = dx.variables("x y")
METHODS = ("reverse", "forward", "symbolic")

ELEMENTWISE = {      # f(x) and its derivative by hand
    "log1p": (dx.log1p(X), lambda x: 1 / (1 + x)),
    "expm1": (dx.expm1(X), lambda x: math.exp(x)),
    "sinh": (dx.sinh(X), lambda x: math.cosh(x)),
    "cosh": (dx.cosh(X), lambda x: math.sinh(x)),
    "atan": (dx.atan(X), lambda x: 1 / (1 + x * x)),
    "norm_cdf": (dx.norm_cdf(X), lambda x: math.exp(-x * x / 2) / math.sqrt(2 * math.pi)),
    "stop_gradient": (dx.stop_gradient(X) * X, lambda x: x),      # d/dx [sg(x)·x] = sg(x) = x
}


@pytest.mark.parametrize("name", ELEMENTWISE)
def test_new_elementwise_primitives_have_their_hand_derivatives_for_floats_and_batches(name):
    f, derivative = ELEMENTWISE[name]
    for x in (-0.7, 0.3, 1.4):
        for method in METHODS:
            assert dx.grad(f, {"x": x}, method=method)["x"] == pytest.approx(derivative(x), rel=1e-14)
    batch = np.array([-0.7, 0.3, 1.4])
    np.testing.assert_allclose(dx.grad(f, {"x": batch})["x"], [derivative(v) for v in batch], rtol=1e-14)


def test_norm_cdf_is_the_normal_distribution_function():
    for x in (-2.0, 0.0, 0.5):
        assert dx.norm_cdf(x) == pytest.approx(0.5 * (1 + math.erf(x / math.sqrt(2))), rel=1e-15)


def test_stop_gradient_keeps_the_value_at_every_point_and_has_derivative_zero():
    f = dx.stop_gradient(X * X)
    assert dx.evaluate(f, {"x": 3.0}) == 9.0 and dx.evaluate(f, {"x": -2.0}) == 4.0
    assert all(dx.grad(f, {"x": 3.0}, method=m) == {"x": 0.0} for m in METHODS)


def test_a_comparison_is_a_node_with_value_one_or_zero_and_derivative_zero():
    for compare, holds in ((dx.greater, lambda a, b: a > b), (dx.less_equal, lambda a, b: a <= b),
                           (dx.equal, lambda a, b: a == b), (dx.not_equal, lambda a, b: a != b)):
        f = compare(X, Y)
        for a, b in ((1.0, 2.0), (2.0, 2.0), (3.0, 2.0)):
            assert dx.evaluate(f, {"x": a, "y": b}) == float(holds(a, b))
            assert dx.grad(f, {"x": a, "y": b}) == {"x": 0.0, "y": 0.0}
    assert dx.evaluate(dx.greater(X, 0.0), {"x": float("nan")}) == 0.0       # NaN compares false


@pytest.mark.parametrize("method", METHODS)
def test_select_sends_the_gradient_to_the_chosen_side_only(method):
    f = dx.select(dx.greater(X, 0.0), X * Y, dx.exp(X))
    assert dx.grad(f, {"x": 0.5, "y": 2.0}, method=method) == {"x": 2.0, "y": 0.5}
    assert dx.grad(f, {"x": -0.5, "y": 2.0}, method=method) == pytest.approx({"x": math.exp(-0.5), "y": 0.0})
    batch = dx.grad(f, {"x": np.array([0.5, -0.5]), "y": 2.0}, method=method)
    np.testing.assert_allclose(batch["x"], [2.0, math.exp(-0.5)])


A = dx.variable("a", shape=(2, 3))
AT = np.array([[1.0, 5.0, 2.0], [5.0, 0.0, 1.0]])


@pytest.mark.parametrize("method", METHODS)
def test_max_and_min_split_the_gradient_evenly_among_ties(method):
    got = dx.grad(dx.max(A), {"a": AT}, method=method)["a"]
    np.testing.assert_array_equal(got, [[0, 0.5, 0], [0.5, 0, 0]])
    got = dx.grad(dx.sum(dx.min(A, axis=1) * np.array([1.0, 3.0])), {"a": AT}, method=method)["a"]
    np.testing.assert_array_equal(got, [[1, 0, 0], [0, 3, 0]])
    assert dx.max(A, axis=0, keepdims=True).shape == (1, 3)


def test_max_of_a_row_holding_nan_has_nan_gradient_in_that_row_only():
    at = AT.copy()
    at[0, 1] = np.nan
    got = dx.grad(dx.sum(dx.max(A, axis=1)), {"a": at})["a"]
    assert np.all(np.isnan(got[0])) and np.array_equal(got[1], [1, 0, 0])


@pytest.mark.parametrize("method", METHODS)
def test_prod_has_the_product_of_the_other_factors_as_its_derivative(method):
    at = np.array([[2.0, 3.0, 4.0], [1.5, -1.0, 0.5]])
    got = dx.grad(dx.sum(dx.prod(A, axis=1)), {"a": at}, method=method)["a"]
    np.testing.assert_allclose(got, [[12, 8, 6], [-0.5, 0.75, -1.5]], rtol=1e-15)


def test_prod_at_a_zero_factor_is_refused_not_wrong():
    with pytest.raises(dx.DomainError, match="prod"):
        dx.grad(dx.prod(A), {"a": np.array([[1.0, 0.0, 2.0], [1.0, 1.0, 1.0]])})
