"""One ``dx.define`` call is a whole primitive: with no other edit, the new primitive parses, has all four
gradients, differentiates symbolically (first and second order), traces from ``np.<ufunc>``, goes to
SymPy and back, compiles, and shows in drawings, trace tables and the explorer page.

The primitive here is ``asinh``, with asinh'(a) = 1/sqrt(1 + a²), which is not built in. Each test
defines it inside ``dx.primitive_scope()``, so the rule table is as before when the test ends.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
import sympy as sp

import diffexplore as dx
from diffexplore.graph import PRIMITIVES

AT = {"x": 0.7, "y": -1.3}
X_SYMBOL, Y_SYMBOL = sp.Symbol("x", real=True), sp.Symbol("y", real=True)


def define_asinh(**facets):
    """asinh as one rule-table record: value, partial, and the NumPy and SymPy functions it is."""
    return dx.define("asinh", 1, lambda a: math.asinh(a) if type(a) is float else np.arcsinh(a),
                     [lambda a, out: 1.0 / dx.sqrt(1.0 + a ** 2.0)],
                     numpy=np.arcsinh, sympy="asinh", **facets)


@pytest.fixture
def asinh():
    with dx.primitive_scope():
        yield define_asinh()


@pytest.fixture
def f(asinh):
    return dx.parse("asinh(x)*y")


def exact_gradient(x: float, y: float) -> dict[str, float]:
    """∂/∂x asinh(x)·y = y/sqrt(1 + x²), ∂/∂y = asinh(x)."""
    return {"x": y / math.sqrt(1.0 + x * x), "y": math.asinh(x)}


def test_a_formula_calls_the_new_primitive_by_name(asinh, f):
    x, y = dx.variables("x y")
    assert f is asinh(x) * y
    assert dx.evaluate(f, AT) == pytest.approx(math.asinh(0.7) * -1.3, rel=1e-15)
    assert str(f) == "asinh(x)*y"


@pytest.mark.parametrize("method, rel", [("reverse", 1e-14), ("forward", 1e-14), ("symbolic", 1e-14),
                                         ("numeric", 1e-8)])
def test_all_four_gradient_methods_equal_the_hand_derived_derivative(f, method, rel):
    gradient = dx.grad(f, AT, method=method)
    expected = exact_gradient(**AT)
    assert gradient.keys() == expected.keys()
    for name in expected:
        assert gradient[name] == pytest.approx(expected[name], rel=rel)


def test_diff_builds_the_derivative_graph_from_the_rule(f):
    derivative = dx.diff(f, "x")
    assert "sqrt" in {n.op for n in dx.nodes(derivative)}
    assert dx.evaluate(derivative, AT) == pytest.approx(exact_gradient(**AT)["x"], rel=1e-14)


@pytest.mark.parametrize("method", ["forward-over-reverse", "reverse-over-reverse", "symbolic"])
def test_hessian_differentiates_the_rule_a_second_time(f, method):
    x, y = AT["x"], AT["y"]
    # ∂²/∂x² = −x·y/(1 + x²)^(3/2), ∂²/∂x∂y = 1/sqrt(1 + x²), ∂²/∂y² = 0
    expected = np.array([[-x * y / (1.0 + x * x) ** 1.5, 1.0 / math.sqrt(1.0 + x * x)],
                         [1.0 / math.sqrt(1.0 + x * x), 0.0]])
    np.testing.assert_allclose(dx.hessian(f, AT, method=method), expected, rtol=1e-13, atol=1e-15)


def test_a_traced_program_calling_the_numpy_function_records_the_primitive(asinh, f):
    def program(x, y):
        return np.arcsinh(x) * y

    traced = dx.trace(program, **AT)
    assert traced is f
    assert dx.grad(traced, AT)["x"] == pytest.approx(exact_gradient(**AT)["x"], rel=1e-14)
    assert dx.trace(program, x=np.array([0.5, 2.0]), y=1.0).op == "mul"     # arrays trace too


def test_sympy_round_trip_and_simplify_agree_with_sympys_asinh(asinh, f):
    assert dx.to_sympy(f) == sp.asinh(X_SYMBOL) * Y_SYMBOL
    back = dx.from_sympy(dx.to_sympy(f))
    assert "asinh" in {n.op for n in dx.nodes(back)}
    assert dx.evaluate(back, AT) == pytest.approx(dx.evaluate(f, AT), rel=1e-15)
    ours = dx.to_sympy(dx.diff(asinh(dx.variable("x")), "x"))
    assert sp.simplify(ours - sp.diff(sp.asinh(X_SYMBOL), X_SYMBOL)) == 0
    simplified = dx.simplify(dx.diff(f, "x"))
    assert dx.evaluate(simplified, AT) == pytest.approx(exact_gradient(**AT)["x"], rel=1e-14)
    second = dx.from_sympy(sp.diff(sp.asinh(X_SYMBOL) ** 2, X_SYMBOL))     # SymPy's own asinh comes back
    assert "asinh" in {n.op for n in dx.nodes(second)}
    assert dx.evaluate(second, AT) == pytest.approx(2 * math.asinh(0.7) / math.sqrt(1.49), rel=1e-14)


def test_compile_writes_the_primitive_as_a_call(f):
    compiled = dx.compile(f)
    assert "asinh(" in compiled.source
    assert compiled(AT) == pytest.approx(dx.evaluate(f, AT), rel=1e-15)
    gradient = compiled.gradient(AT)
    for name, value in exact_gradient(**AT).items():
        assert gradient[name] == pytest.approx(value, rel=1e-14)


def test_drawings_name_the_primitive(f):
    source = dx.render(f, at=AT, wrt="x").source
    assert source == dx.to_dot(f, at=AT, wrt="x")
    assert "asinh" in source


def test_trace_tables_write_the_primitive_in_unicode_and_latex(f):
    table = dx.trace_table(f, AT)
    statements = [row.primal_text for row in table.forward_rows]
    assert "v₁ = asinh v₋₁" in statements
    assert r"v_{1} = \operatorname{asinh} v_{-1}" in table.to_latex()
    assert table.gradient["x"] == pytest.approx(exact_gradient(**AT)["x"], rel=1e-14)


def test_the_latex_facet_names_the_primitive_in_latex_tables():
    with dx.primitive_scope():
        define_asinh(latex=r"\sinh^{-1}")
        table = dx.trace_table("asinh(x)*y", AT)
    assert r"v_{1} = \sinh^{-1} v_{-1}" in table.to_latex()
    assert "v₁ = asinh v₋₁" in [row.primal_text for row in table.forward_rows]


def test_the_explorer_page_shows_the_primitive(f):
    page = dx.explore(f, AT)
    assert "asinh" in page.html


# ---- the scope and undefine -------------------------------------------------------------------------


def primitive_is_unknown_everywhere() -> None:
    """Formulas, traced programs and SymPy no longer know asinh."""
    assert "asinh" not in PRIMITIVES
    with pytest.raises(dx.ParseError, match="unknown function 'asinh'"):
        dx.parse("asinh(x)")
    with pytest.raises(dx.DiffexploreError, match=r"np.arcsinh has no rule.*dx.define"):
        dx.trace(lambda x: np.arcsinh(x), x=0.5)
    with pytest.raises(dx.DiffexploreError, match="no rule for the SymPy function 'asinh'"):
        dx.from_sympy(sp.asinh(X_SYMBOL))


def test_the_primitive_is_gone_when_its_scope_ends():
    with dx.primitive_scope():
        define_asinh()
        assert dx.trace(lambda x: np.arcsinh(x), x=0.5).op == "asinh"      # the lookup tables know it
        assert dx.from_sympy(sp.asinh(X_SYMBOL)).op == "asinh"
    primitive_is_unknown_everywhere()


def test_undefine_removes_the_primitive_and_a_new_definition_replaces_it():
    with dx.primitive_scope():
        first = define_asinh()
        assert dx.trace(lambda x: np.arcsinh(x), x=0.5).rule is first.rule
        dx.undefine("asinh")
        primitive_is_unknown_everywhere()
        second = define_asinh()
        assert second.rule is not first.rule
        assert dx.trace(lambda x: np.arcsinh(x), x=0.5).rule is second.rule
        assert dx.from_sympy(sp.asinh(X_SYMBOL)).rule is second.rule
        assert dx.parse("asinh(x)").rule is second.rule
    primitive_is_unknown_everywhere()


def test_a_callable_sympy_mapping_to_one_function_goes_both_ways():
    with dx.primitive_scope():
        dx.define("asinh", 1, np.arcsinh, [lambda a, out: 1.0 / dx.sqrt(1.0 + a ** 2.0)],
                  sympy=lambda sympy, a: sympy.asinh(a))
        f = dx.from_sympy(sp.asinh(X_SYMBOL) + 1)
        assert "asinh" in {n.op for n in dx.nodes(f)}
