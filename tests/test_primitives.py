"""User-defined primitives work in every mode with their supplied rule, and check_grads catches a wrong
rule by naming the primitive, the argument and both numbers."""

import math
import re

import numpy as np
import pytest
import sympy as sp

import diffexplore as dx
from diffexplore.primitives import GradientCheckError, second_differences

X, Y = dx.variables("x y")
MODES = ("forward", "reverse", "symbolic")


@dx.primitive(partials=[lambda x, out: 2.0 / math.sqrt(math.pi) * dx.exp(-x * x)], name="erf_test")
def erf(x):
    return math.erf(x)


@dx.primitive(partials=[lambda x, out: dx.sigmoid(x)], name="softplus_test", label="softplus")
def softplus(x):
    return math.log1p(math.exp(-abs(x))) + max(x, 0.0)


@dx.primitive(partials=[lambda x, out: 1.01 * dx.sigmoid(x)], name="softplus_wrong")
def softplus_wrong(x):
    return math.log1p(math.exp(-abs(x))) + max(x, 0.0)


def sigmoid(x):
    return 1 / (1 + math.exp(-x))


# ---- correct rules pass, in every mode and to second order ---------------------------------------------


@pytest.mark.parametrize("x", [-2.0, -0.3, 0.0, 0.7, 2.5])
def test_erf_derivative_is_two_over_root_pi_exp_minus_x_squared_in_every_mode(x):
    want = 2 / math.sqrt(math.pi) * math.exp(-x * x)
    for method in MODES + ("numeric",):
        got = dx.grad(erf(X), {"x": x}, method=method)["x"]
        if method == "numeric":          # central differences: absolute error ~ ε^(2/3)·|f| ≈ 1e-11
            assert got == pytest.approx(want, abs=1e-9)
        else:
            assert got == pytest.approx(want, rel=1e-15)


@pytest.mark.parametrize("primitive", [erf, softplus])
@pytest.mark.parametrize("x", [-1.5, 0.2, 3.0])
def test_correct_user_primitives_pass_check_grads_in_every_mode_to_second_order(primitive, x):
    result = dx.check_grads(primitive, x, modes=MODES, order=2)
    assert set(result.errors) == {(m, k) for m in MODES for k in (1, 2)}


def test_check_grads_passes_a_user_primitive_inside_a_larger_graph():
    f = softplus(X * Y) * erf(Y - X) + dx.sin(X)
    dx.check_grads(f, {"x": 0.4, "y": -1.1}, modes=MODES, order=2)


def test_second_differences_match_a_hand_derived_hessian():
    # f = x³·y: f_xx = 6xy, f_xy = 3x², f_yy = 0
    got = second_differences(dx.parse("x**3 * y"), {"x": 1.5, "y": -2.0}, ["x", "y"])
    np.testing.assert_allclose(got, [[-18.0, 6.75], [6.75, 0.0]], atol=1e-6)


# ---- a wrong rule is caught and named -------------------------------------------------------------------


def numbers_in(message):
    return [float(m) for m in re.findall(r"-?\d+\.\d+(?:e-?\d+)?", message)]


@pytest.mark.parametrize("mode", MODES)
def test_wrong_rule_is_caught_naming_the_primitive_argument_and_both_numbers(mode):
    x = 0.3
    with pytest.raises(GradientCheckError) as caught:
        dx.check_grads(softplus_wrong(X) * Y, {"x": x, "y": 2.0}, modes=[mode])
    message = str(caught.value)
    assert isinstance(caught.value, AssertionError)
    assert "primitive 'softplus_wrong', argument 0" in message
    rule_value, true_value = 1.01 * sigmoid(x), sigmoid(x)       # softplus' = sigmoid
    found = numbers_in(message)
    assert any(abs(v - rule_value) < 1e-12 for v in found)
    assert any(abs(v - true_value) < 1e-8 for v in found)


def test_wrong_partial_of_the_second_argument_is_named():
    # hypot(a, b) = √(a² + b²): ∂/∂a = a/out, ∂/∂b = b/out; the rule below gets ∂/∂b wrong.
    bad_hypot = dx.primitive(lambda a, b: math.hypot(a, b), name="bad_hypot",
                             partials=[lambda a, b, out: a / out, lambda a, b, out: a / out])
    with pytest.raises(GradientCheckError, match="primitive 'bad_hypot', argument 1, gives 0.6 "):
        dx.check_grads(dx.sin(bad_hypot(X, Y)) + X, {"x": 3.0, "y": 4.0})


def test_primitive_form_of_check_grads_names_the_wrong_rule():
    with pytest.raises(GradientCheckError, match="softplus_wrong"):
        dx.check_grads(softplus_wrong, [0.5])


def test_partial_right_on_numbers_but_wrong_on_nodes_fails_at_second_order():
    # A rule that branches on the type of its argument: numbers get 3x², graphs get 3x (a bug).
    cube = dx.primitive(lambda x: x ** 3, name="cube_branching",
                        partials=[lambda x, out: 3 * x ** 2 if isinstance(x, float) else 3 * x])
    dx.check_grads(cube, 1.5, modes=("forward", "reverse"), order=1)      # numbers only: passes
    with pytest.raises(GradientCheckError, match="'cube_branching', argument 0, gives 6.75 on numbers"):
        dx.check_grads(cube, 1.5, modes=("forward", "reverse"), order=2)


def test_partial_written_with_math_functions_is_named_in_symbolic_mode():
    bad = dx.primitive(lambda x: math.log1p(math.exp(x)), name="softplus_math",
                       partials=[lambda x, out: math.exp(x) / (1 + math.exp(x))])
    dx.check_grads(bad, 0.5, modes=("forward", "reverse"))
    with pytest.raises(GradientCheckError, match="'softplus_math', argument 0, works on numbers but not on "
                                                 "graph nodes"):
        dx.check_grads(bad, 0.5, modes=("symbolic",))


# ---- a primitive without a derivative rule -------------------------------------------------------------


def test_primitive_without_rule_evaluates_but_raises_naming_itself_when_differentiated():
    opaque = dx.primitive(lambda x: x ** 3, name="opaque_cube")
    f = opaque(X) + X
    assert dx.evaluate(f, {"x": 2.0}) == 10.0
    for method in MODES:
        with pytest.raises(dx.RuleError, match="'opaque_cube' has no derivative rule"):
            dx.grad(f, {"x": 2.0}, method=method)
    with pytest.raises(dx.RuleError, match="opaque_cube"):
        dx.gradient_graph(f)
    with pytest.raises(dx.RuleError, match="opaque_cube"):
        dx.check_grads(opaque, 2.0)


# ---- the other faces: SymPy, formulas, arrays, tracing, drawings -------------------------------------


def test_symbolic_derivative_of_erf_agrees_with_sympy():
    x = sp.Symbol("x", real=True)
    derivative = dx.to_sympy(dx.diff(erf(X * X), "x"))      # 2/√π is a float in the rule, so compare numbers
    reference = sp.diff(sp.erf(x * x), x)                   # SymPy's own: 4x·exp(−x⁴)/√π
    assert not derivative.atoms(sp.core.function.AppliedUndef)
    for value in (-1.3, 0.2, 0.9):
        assert float(derivative.subs(x, value)) == pytest.approx(float(reference.subs(x, value)), rel=1e-14)


def test_to_sympy_gives_an_undefined_function_and_from_sympy_maps_it_back():
    expr = dx.to_sympy(softplus(X * Y))
    assert isinstance(expr, sp.core.function.AppliedUndef) and expr.func.__name__ == "softplus_test"
    assert dx.from_sympy(expr) is softplus(X * Y)


def test_a_user_sympy_mapping_is_used():
    mapped = dx.primitive(math.erf, name="erf_mapped", sympy="erf",
                          partials=[lambda x, out: 2.0 / math.sqrt(math.pi) * dx.exp(-x * x)])
    assert dx.to_sympy(mapped(X)) == sp.erf(sp.Symbol("x", real=True))


def test_formula_strings_call_a_primitive_by_name():
    assert dx.parse("softplus_test(x*y) + 1") is softplus(X * Y) + 1


def test_a_scalar_primitive_evaluates_batches_element_by_element():
    points = np.array([-1.0, 0.0, 0.5])
    np.testing.assert_allclose(dx.evaluate(erf(X), {"x": points}), [math.erf(p) for p in points], rtol=1e-15)
    np.testing.assert_allclose(dx.grad(erf(X), {"x": points})["x"],
                               2 / math.sqrt(math.pi) * np.exp(-points ** 2), rtol=1e-15)


def test_tracing_through_a_primitive_gives_the_normal_density():
    g = dx.trace(lambda x: 0.5 * (1 + erf(x / math.sqrt(2))), x=0.3)
    assert dx.grad(g, {"x": 0.3})["x"] == pytest.approx(math.exp(-0.045) / math.sqrt(2 * math.pi), rel=1e-14)


def test_the_drawing_uses_the_primitive_label():
    source = dx.render(softplus(X), at={"x": 1.0}, views="original").source
    assert "<B>b</B> = softplus(a)<" in source            # the box shows the label, not the name


def test_redefining_replaces_a_user_primitive_but_built_in_names_are_refused():
    first = dx.primitive(lambda x: 2 * x, name="twice", partials=[lambda x, out: 2.0])
    second = dx.primitive(lambda x: 2 * x, name="twice", partials=[lambda x, out: 2.0])
    assert dx.parse("twice(x)") is second(X) and first(X) is not second(X)
    with pytest.raises(dx.DiffexploreError, match="'sin' is a built-in primitive"):
        dx.primitive(math.sin, name="sin", partials=[lambda x, out: dx.cos(x)])


def test_check_grads_accepts_formulas_and_python_functions():
    dx.check_grads("x * exp(y)", {"x": 0.5, "y": -0.2}, modes=MODES, order=2)
    dx.check_grads(lambda x: x * x if x < 1 else 2 * dx.sqrt(x) - 1, {"x": 4.0}, modes=MODES, order=2)


def test_a_user_primitive_takes_its_numpy_function_and_latex_name():
    with dx.primitive_scope():
        @dx.primitive(partials=[lambda x, out: 1.0 / dx.sqrt(1.0 + x * x)], numpy=np.arcsinh,
                      latex=r"\sinh^{-1}", name="arsinh_test")
        def arsinh(x):
            return math.asinh(x)

        traced = dx.trace(lambda x: np.arcsinh(x) * x, x=0.5)
        assert traced is arsinh(X) * X
        assert r"\sinh^{-1} v_{0}" in dx.trace_table(traced, {"x": 0.5}).to_latex()
    assert "arsinh_test" not in dx.graph.PRIMITIVES
