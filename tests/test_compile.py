"""Compiled straight-line source (source-transformation AD) equals the interpreters."""

import math

import numpy as np
import pytest
from hypothesis import given

import diffexplore as dx

from .strategies import expressions, points

SEED = "1 + x + exp(sin(x*y))"


@given(expressions(), points)
def test_compiled_value_and_gradient_equal_the_interpreters(f, at):
    compiled = dx.compile(f)
    value, gradient = compiled.value_and_gradient(at)
    assert value == pytest.approx(dx.evaluate(f, at), rel=1e-14, abs=1e-300)
    reverse = dx.grad(f, at)
    for name in reverse:
        assert gradient[name] == pytest.approx(reverse[name], rel=1e-12, abs=1e-14)


def test_seed_gradient_matches_the_hand_formula_and_source_is_one_line_per_node():
    compiled = dx.compile(dx.parse(SEED))
    common = math.exp(math.sin(2.0)) * math.cos(2.0)
    g = compiled.gradient({"x": 1.0, "y": 2.0})
    assert g["x"] == pytest.approx(1 + 2 * common, rel=1e-14) and g["y"] == pytest.approx(common, rel=1e-14)
    source = compiled.source
    assert source.count("sin(") == 1 and source.count("cos(") == 1     # shared subexpressions once
    assert "reverse sweep" in source


def test_a_million_points_in_one_call_equal_pointwise_reverse_mode():
    compiled = dx.compile(dx.parse(SEED))
    rng = np.random.default_rng(0)
    xs, ys = rng.uniform(-2, 2, 1_000_000), rng.uniform(-2, 2, 1_000_000)
    value, gradient = compiled.value_and_gradient({"x": xs, "y": ys})
    assert value.shape == (1_000_000,) and gradient["x"].shape == (1_000_000,)
    for k in (0, 12345, 999_999):
        single = dx.grad(dx.parse(SEED), {"x": xs[k], "y": ys[k]})
        assert gradient["x"][k] == pytest.approx(single["x"], rel=1e-13)
        assert gradient["y"][k] == pytest.approx(single["y"], rel=1e-13)


def test_compiled_domain_errors_name_the_operation():
    with pytest.raises(dx.DomainError, match="log"):
        dx.compile(dx.parse("log(x)"))({"x": -1.0})
