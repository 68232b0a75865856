"""No silently wrong number: overflow, NaN, kinks, powers, user rules, array variables, threads.

Each test asserts the right number (against a hand-derived formula) or the clear error (type and
message), for floats and batches, in every evaluator the defect could live in.
"""

from __future__ import annotations

import math
import sys
import threading

import numpy as np
import pytest

import diffexplore as dx

compile_module = sys.modules["diffexplore.compile"]      # the package's ``compile`` is the function

NAN = float("nan")
X, Y = dx.variables("x y")


def _logistic(n: int, rate: float = 4.0) -> dx.Node:
    term = X
    for _ in range(n):
        term = rate * term * (1 - term)
    return term


# ---- overflow: a DomainError naming the node, floats like batches -------------------------------------

VALUE_PATHS = {
    "evaluate": lambda f, at: dx.evaluate(f, at),
    "forward": lambda f, at: dx.forward(f, at, seed="x").value,
    "reverse": lambda f, at: dx.reverse(f, at).value,
    "compiled": lambda f, at: dx.compile(f)(at),
}

GRADIENT_PATHS = {
    "reverse": lambda f, at: dx.grad(f, at),
    "forward": lambda f, at: dx.grad(f, at, method="forward"),
    "symbolic": lambda f, at: dx.grad(f, at, method="symbolic"),
    "compiled": lambda f, at: dx.compile(f).gradient(at),
    "jacobian": lambda f, at: dx.jacobian([f], at),
}

POINTS = {"float": 1e200, "batch": np.array([0.5, 1e200])}


@pytest.mark.parametrize("point", POINTS)
@pytest.mark.parametrize("path", VALUE_PATHS)
@pytest.mark.parametrize("build", [lambda x: x * x, lambda x: x * x + 1.0, lambda x: (x * 1e200) / 3.0],
                         ids=["x*x", "x*x + 1", "x*1e200/3"])
def test_an_overflowing_value_is_a_domain_error_naming_the_node(build, path, point):
    with pytest.raises(dx.DomainError, match=r"node (#\d+ \()?mul\(x, "):
        VALUE_PATHS[path](build(X), {"x": POINTS[point]})


@pytest.mark.parametrize("point", [0.3, np.array([0.3, 0.2])], ids=["float", "batch"])
@pytest.mark.parametrize("path", GRADIENT_PATHS)
def test_the_gradient_of_1100_logistic_steps_overflows_loudly_by_every_method(path, point):
    f = _logistic(1100)
    assert 0.0 <= float(np.max(dx.evaluate(f, {"x": point}))) <= 1.0      # the value itself is fine
    with pytest.raises(dx.DomainError, match=r"node (#\d+ \()?mul\("):
        GRADIENT_PATHS[path](f, {"x": point})


@pytest.mark.parametrize("path", GRADIENT_PATHS)
def test_a_finite_rate_keeps_the_long_logistic_gradient_finite_and_equal_across_methods(path):
    f = _logistic(1100, rate=2.5)               # converges to 0.6: the derivative decays to 0
    got = np.ravel(GRADIENT_PATHS[path](f, {"x": 0.3}) if path == "jacobian"
                   else GRADIENT_PATHS[path](f, {"x": 0.3})["x"])
    assert np.all(np.isfinite(got))
    assert got[0] == pytest.approx(dx.grad(f, {"x": 0.3})["x"], rel=1e-12, abs=1e-300)


def test_a_tangent_that_overflows_names_the_operation_that_differentiated():
    f = dx.exp(X) * dx.exp(X)       # e^(2x) is finite at x = 354.85 (e^709.7 ≈ 1.7e308), 2e^(2x) is not
    at = {"x": 354.85}
    assert math.isfinite(dx.evaluate(f, at))
    for method in ("forward", "reverse"):
        with pytest.raises(dx.DomainError, match="differentiating node"):
            dx.grad(f, at, method=method)


@pytest.mark.parametrize("path", {**VALUE_PATHS, **GRADIENT_PATHS})
def test_nan_in_is_nan_out_without_an_error(path):
    paths = {**VALUE_PATHS, **GRADIENT_PATHS}
    for f, point in ((X * X + dx.sin(X), NAN), (X * X + dx.sin(X), np.array([NAN, 0.5])),
                     (X * X + X, math.inf)):
        result = paths[path](f, {"x": point})
        values = list(result.values()) if isinstance(result, dict) else [result]
        assert not np.all(np.isfinite(np.ravel(values[0]))), (path, point)


# ---- NaN at kinks: NaN in, NaN out, value and derivative --------------------------------------------

KINKS = {
    "relu": lambda x: dx.relu(x),
    "abs": lambda x: dx.abs(x),
    "maximum(x, 0)": lambda x: dx.maximum(x, 0.0),
    "maximum(0, x)": lambda x: dx.maximum(0.0, x),
    "minimum(x, 0)": lambda x: dx.minimum(x, 0.0),
    "minimum(0, x)": lambda x: dx.minimum(0.0, x),
}


@pytest.mark.parametrize("kink", KINKS)
def test_a_kink_at_nan_gives_nan_value_and_nan_derivative_for_floats_and_batches(kink):
    f = KINKS[kink](X)
    assert math.isnan(dx.evaluate(f, {"x": NAN}))
    batch = dx.evaluate(f, {"x": np.array([NAN, 2.0, -2.0])})
    assert math.isnan(batch[0]) and np.all(np.isfinite(batch[1:]))
    for method in ("reverse", "forward", "symbolic"):
        assert math.isnan(dx.grad(f, {"x": NAN}, method=method)["x"]), method
        g = dx.grad(f, {"x": np.array([NAN, 2.0])}, method=method)["x"]
        assert math.isnan(g[0]) and math.isfinite(g[1]), method
    assert math.isnan(dx.compile(f).gradient({"x": NAN})["x"])


@pytest.mark.parametrize("function", [dx.sign, dx.step])
def test_sign_and_step_of_nan_are_nan(function):
    assert math.isnan(dx.evaluate(function(X), {"x": NAN}))
    assert math.isnan(dx.evaluate(function(X), {"x": np.array([NAN])})[0])


def test_max_pooling_a_window_with_a_nan_gives_nan_there_and_numbers_elsewhere():
    image = dx.variable("image", shape=(1, 1, 4, 4))
    f = dx.sum(dx.max_pool2d(image, 2))
    at = np.arange(16.0).reshape(1, 1, 4, 4)
    at[0, 0, 0, 0] = NAN
    pooled = dx.evaluate(dx.max_pool2d(image, 2), {"image": at})
    assert math.isnan(pooled[0, 0, 0, 0]) and pooled[0, 0, 1, 1] == 15.0
    expected = np.zeros((4, 4))
    expected[:2, :2] = NAN                               # the undecided window: every entry
    expected[1, 3] = expected[3, 1] = expected[3, 3] = 1.0     # the maxima 7, 13 and 15
    for method in ("reverse", "forward"):
        got = dx.grad(f, {"image": at}, method=method)["image"][0, 0]
        np.testing.assert_array_equal(got, expected, err_msg=method)


# ---- powers: a partial only where it is needed and defined ------------------------------------------


@pytest.mark.parametrize("method", ["reverse", "forward", "symbolic", "numeric"])
def test_a_negative_base_with_an_integer_exponent_has_the_base_derivative(method):
    for base, exponent in ((-2.0, 2.0), (-3.0, 3.0), (-0.5, 4.0)):
        got = dx.grad(X ** Y, {"x": base, "y": exponent}, wrt="x", method=method)["x"]
        assert got == pytest.approx(exponent * base ** (exponent - 1), rel=1e-8)      # y·x^(y−1)
    if method != "numeric":
        batch = dx.grad(X ** Y, {"x": np.array([-2.0, 3.0]), "y": np.array([2.0, 2.0])}, wrt="x",
                        method=method)["x"]
        np.testing.assert_allclose(batch, [-4.0, 6.0])


@pytest.mark.parametrize("method", ["reverse", "forward", "symbolic"])
def test_x_to_the_zero_has_derivative_zero_at_zero(method):
    assert dx.grad(X ** 0, {"x": 0.0}, method=method) == {"x": 0.0}


def test_asking_for_the_exponent_derivative_at_a_negative_base_is_refused_with_the_reason():
    for method in ("reverse", "forward"):
        with pytest.raises(dx.DomainError, match="with respect to the exponent b needs a positive base"):
            dx.grad(X ** Y, {"x": -2.0, "y": 2.0}, method=method)


# ---- rules written by users are checked --------------------------------------------------------------


@pytest.fixture
def scope():
    with dx.primitive_scope():
        yield


BAD_PARTIALS = {
    "a list": (lambda x, out: [2.0 * x, 4.0 * x], "returned list"),
    "an array for a scalar": (lambda x, out: np.array([2.0, 4.0]), r"has shape \(2,\), but its output"),
    "a string": (lambda x, out: "2x", "returned str"),
    "a TypeError": (lambda x, out: len(x), "raised TypeError"),
}


@pytest.mark.parametrize("case", BAD_PARTIALS)
def test_a_user_partial_of_the_wrong_kind_is_a_rule_error_naming_it_in_every_mode(case, scope):
    partial, message = BAD_PARTIALS[case]
    square = dx.primitive(lambda x: x * x, name="bad_square", partials=[partial])
    f = square(X) + X
    pattern = f"argument 0 of primitive 'bad_square' {message}"
    for method in ("reverse", "forward", "symbolic"):
        with pytest.raises(dx.RuleError, match=pattern):
            dx.grad(f, {"x": 1.0}, method=method)
    with pytest.raises(dx.DiffexploreError, match="bad_square"):
        dx.check_grads(f, {"x": 1.0}, modes=("forward", "reverse", "symbolic"))


def test_a_user_vjp_or_jvp_of_the_wrong_shape_is_a_rule_error(scope):
    double = dx.define("double_bad", 1, lambda a: 2 * a, shape=lambda s: s,
                       vjp=lambda g, a, out: (np.ones(3),), jvp=lambda t, a, out: np.ones(3))
    f = double(X)
    with pytest.raises(dx.RuleError, match=r"vjp's cotangent for argument 0 of primitive 'double_bad' has "
                                           r"shape \(3,\), but the argument has shape \(\)"):
        dx.grad(f, {"x": 1.0})
    with pytest.raises(dx.RuleError, match=r"jvp of primitive 'double_bad' has shape \(3,\)"):
        dx.grad(f, {"x": 1.0}, method="forward")


def test_a_good_user_rule_still_gives_the_right_numbers_in_every_mode(scope):
    cube = dx.primitive(lambda x: x ** 3, name="good_cube", partials=[lambda x, out: 3.0 * x * x])
    for method in ("reverse", "forward", "symbolic"):
        assert dx.grad(cube(X), {"x": 2.0}, method=method)["x"] == 12.0
        np.testing.assert_array_equal(dx.grad(cube(X), {"x": np.array([1.0, 2.0])}, method=method)["x"],
                                      [3.0, 12.0])


# ---- array variables: derivatives have the variable's shape ------------------------------------------

W = dx.variable("W", shape=(2, 3))
AT_W = {"W": np.arange(6.0).reshape(2, 3) / 7, "x": 0.5}


def test_diff_with_respect_to_an_array_variable_is_its_gradient_graph():
    f = dx.sum(dx.sin(W) * W) * X
    derivative = dx.diff(f, "W")
    assert derivative.shape == (2, 3)
    w = AT_W["W"]
    expected = (np.cos(w) * w + np.sin(w)) * 0.5                  # ∂/∂W of x·Σ sin(W)·W
    np.testing.assert_allclose(dx.evaluate(derivative, AT_W), expected, rtol=1e-14)
    for method in ("reverse", "forward", "symbolic", "numeric"):
        np.testing.assert_allclose(dx.grad(f, AT_W, method=method)["W"], expected, rtol=1e-8,
                                   err_msg=method)


def test_derivatives_that_have_no_shape_here_are_refused():
    with pytest.raises(dx.DiffexploreError, match=r"derivative has shape \(2, 3, 2, 3\)"):
        dx.diff(W * W, "W")
    with pytest.raises(dx.DiffexploreError, match="only order 1"):
        dx.diff(dx.sum(W * W), "W", order=2)
    with pytest.raises(dx.ShapeError, match="hessian is taken with respect to scalar variables"):
        dx.hessian(dx.sum(W * W) * X, AT_W)
    for method in ("reverse", "forward", "symbolic", "numeric"):
        with pytest.raises(dx.ShapeError, match=r"grad needs a scalar f, but f has shape \(2, 3\)"):
            dx.grad(W * X, AT_W, method=method)


@pytest.mark.parametrize("method", ["reverse", "forward", "symbolic", "numeric"])
def test_the_jacobian_has_a_column_per_entry_of_an_array_variable(method):
    outputs = [dx.sum(W * W) * X, dx.sum(W) + X * X]
    got = dx.jacobian(outputs, AT_W, method=method)
    w = AT_W["W"].ravel()
    expected = np.array([np.append(2 * w * 0.5, np.sum(w * w)), np.append(np.ones(6), 1.0)])
    np.testing.assert_allclose(got, expected, rtol=1e-8, atol=1e-9)


def test_hessian_with_respect_to_the_scalar_variables_of_a_graph_with_an_array_variable():
    f = dx.sum(W * W) * X + X ** 3
    for method in ("forward-over-reverse", "reverse-over-reverse", "symbolic", "numeric"):
        got = dx.hessian(f, AT_W, wrt=["x"], method=method)
        np.testing.assert_allclose(got, [[6 * 0.5]], rtol=1e-6, err_msg=method)


@pytest.mark.parametrize("reduce, expected", [
    (lambda t: dx.sum(t), lambda w: 2 * w),
    (lambda t: dx.mean(t, axis=(0, 1)), lambda w: 2 * w / 6),
    (lambda t: dx.sum(dx.mean(t, axis=1, keepdims=True)), lambda w: 2 * w / 3),
], ids=["sum", "mean over both axes", "mean of one axis"])
def test_reductions_of_a_traced_array_reduce_the_traced_shape(reduce, expected):
    g = dx.trace(lambda W: reduce(W * W), W=AT_W["W"])
    assert g.shape == ()
    np.testing.assert_allclose(dx.grad(g, {"W": AT_W["W"]})["W"], expected(AT_W["W"]), rtol=1e-14)


# ---- threads, complex points, sizes ------------------------------------------------------------------


def test_threads_building_the_same_graph_at_once_get_the_same_nodes():
    previous = sys.getswitchinterval()
    sys.setswitchinterval(1e-6)                # switch threads as often as possible
    try:
        for round_number in range(60):
            built: list = [None] * 8
            barrier = threading.Barrier(8)

            def work(k, name=f"thread_{round_number}", built=built, barrier=barrier):
                barrier.wait()
                x = dx.variable(name)
                built[k] = (x, x * x + 1.0, dx.sin(2.0 * x))
            threads = [threading.Thread(target=work, args=(k,)) for k in range(8)]
            for t in threads:
                t.start()
            for t in threads:
                t.join()
            for position in range(3):
                assert len({id(b[position]) for b in built}) == 1, round_number
            assert dx.grad(built[0][1] + built[3][2], {f"thread_{round_number}": 0.5}) == {
                f"thread_{round_number}": pytest.approx(1.0 + 2 * math.cos(1.0))}
    finally:
        sys.setswitchinterval(previous)


def test_threads_evaluating_at_once_get_their_own_numbers():
    f = dx.sin(X * Y) + X
    results: dict = {}

    def work(k):
        for _ in range(50):
            results[k] = dx.grad(f, {"x": float(k), "y": 2.0})["x"]
    threads = [threading.Thread(target=work, args=(k,)) for k in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    for k in range(8):
        assert results[k] == pytest.approx(2.0 * math.cos(2.0 * k) + 1.0, rel=1e-15)


def test_differences_at_a_complex_point_keep_the_imaginary_part():
    z = 1.0 + 1.0j
    expected = complex(np.cos(z) * z + np.sin(z))
    for method in ("reverse", "forward", "symbolic"):
        assert complex(dx.grad(dx.sin(X) * X, {"x": z}, method=method)["x"]) == pytest.approx(expected)
    got = dx.grad(dx.sin(X) * X, {"x": z}, method="numeric")["x"]
    assert isinstance(got, complex) and got == pytest.approx(expected, rel=1e-9)
    with pytest.raises(dx.DiffexploreError, match="complex-step scheme .* needs a real point"):
        dx.grad(dx.sin(X), {"x": z}, method="numeric", scheme="complex")


def test_compile_refuses_a_graph_above_its_node_limit(monkeypatch):
    monkeypatch.setattr(compile_module, "COMPILE_NODE_LIMIT", 100)
    f = _logistic(40)
    with pytest.raises(dx.SizeLimitError, match=r"graphs above 100 nodes are refused; this one has 1\d\d "):
        dx.compile(f)
    by_forward = dx.grad(f, {"x": 0.3}, method="forward")["x"]
    assert dx.grad(f, {"x": 0.3})["x"] == pytest.approx(by_forward, rel=1e-12)


# ---- second round: what a hostile review found after the first fixes ----------------------------------


@pytest.mark.parametrize("point", [1e200, np.array([1e200, 2.0])], ids=["float", "batch"])
def test_an_overflow_inside_a_formula_with_a_finite_result_is_still_found(point):
    for f in (X / dx.sqrt(X * X), (X / (X * X)) * X, dx.log(X * X)):
        with pytest.raises(dx.DomainError, match=r"mul\(x, x\)"):
            dx.evaluate(f, {"x": point})
        for method in ("reverse", "forward", "symbolic"):
            with pytest.raises(dx.DomainError):
                dx.grad(f, {"x": point}, method=method)


def test_operations_given_nan_or_inf_give_nan_for_batches_as_for_floats():
    v = dx.variable("v", shape=(3,))
    cases = [(dx.sigmoid(X), NAN), (X - X, math.inf), (X * 0.0, math.inf), (dx.sin(X), math.inf)]
    for f, bad in cases:
        as_float = dx.evaluate(f, {"x": bad})
        as_batch = dx.evaluate(f, {"x": np.array([bad, 0.5])})
        assert math.isnan(as_float) and math.isnan(as_batch[0]) and math.isfinite(as_batch[1]), str(f)
    out = dx.evaluate(dx.log_softmax(v, axis=0), {"v": np.array([math.inf, 0.0, 1.0])})
    assert np.all(np.isnan(out))
    g = dx.grad(dx.sum(X - X), {"x": np.array([math.inf, 1.0])})["x"]
    assert g[1] == 0.0


def test_two_traced_programs_sharing_a_node_are_both_checked():
    def piecewise(x):
        return x * x if x < 1 else 2 * dx.sqrt(x) - 1

    def other(x):
        return x * x if x > 2 else x
    g = dx.trace(piecewise, x=0.5)
    assert dx.trace(other, x=3.0) is g                  # hash-consing: one node for x*x
    with pytest.warns(dx.BranchWarning, match="x < 1 was True"):
        dx.grad(g, {"x": 3.0})
    dx.trace(lambda x: x * x, x=3.0)                    # a trace with no decision keeps the others
    with pytest.warns(dx.BranchWarning, match="x < 1 was True"):
        dx.evaluate(g, {"x": 3.0})


def test_nested_derivatives_of_a_traced_graph_check_its_decisions():
    k = dx.trace(lambda x: 3 * dx.sin(x) if x < 1 else dx.cos(x), x=0.5)
    with pytest.warns(dx.BranchWarning, match="x < 1 was True"):
        dx.evaluate(dx.diff(dx.diff(k, "x"), "x"), {"x": 3.0})


BAD_FUNCTIONS = {
    "an array for a scalar": (lambda a: np.array([a, 2 * a]), r"returned shape \(2,\)"),
    "a list": (lambda a: [a, a], "returned list"),
    "None": (lambda a: None, "returned NoneType"),
    "a KeyError": (lambda a: {}[a], "raised KeyError"),
}


@pytest.mark.parametrize("case", BAD_FUNCTIONS)
def test_a_user_function_of_the_wrong_kind_is_a_rule_error(case, scope):
    function, message = BAD_FUNCTIONS[case]
    bad = dx.primitive(function, name="bad_function", partials=[lambda a, out: 1.0])
    with pytest.raises(dx.RuleError, match=f"function of primitive 'bad_function' {message}"):
        dx.evaluate(bad(X), {"x": 1.5})
    with pytest.raises(dx.RuleError, match="bad_function"):
        dx.check_grads(bad, 0.5)


@pytest.mark.parametrize("result, message", [
    (lambda a, out: dx.constant(2.0), "returned a graph node for numbers"),
    (lambda a, out: 2j, "returned the complex 2j for real arguments"),
], ids=["a node", "a complex number"])
def test_a_user_partial_that_is_a_node_or_complex_for_real_numbers_is_refused(result, message, scope):
    twice = dx.primitive(lambda a: 2 * a, name="twice_bad", partials=[result])
    with pytest.raises(dx.RuleError, match=message):
        dx.grad(twice(X), {"x": 1.5})


def test_a_user_partial_that_is_infinite_is_refused_in_every_mode(scope):
    steep = dx.primitive(lambda a: 2 * a, name="steep", partials=[lambda a, out: math.inf])
    for method in ("reverse", "forward"):
        with pytest.raises(dx.DomainError, match="is inf at finite arguments"):
            dx.grad(steep(X), {"x": 1.5}, method=method)
    with pytest.raises(dx.RuleError, match="gave the constant inf"):
        dx.grad(steep(X), {"x": 1.5}, method="symbolic")


@pytest.mark.parametrize("timeout", [math.nan, math.inf, -1.0, 0.0, "1", True])
def test_a_simplify_budget_that_is_not_a_positive_finite_number_is_refused(timeout):
    with pytest.raises(dx.DiffexploreError, match="timeout must be a positive, finite number of seconds"):
        dx.simplify(dx.parse("sin(x)**2 + cos(x)**2"), timeout=timeout)


def test_constants_beyond_the_float_range_are_refused_and_zero_is_one_node():
    with pytest.raises(dx.DiffexploreError, match="beyond the float range"):
        X * 10 ** 400
    assert dx.constant(-0.0) is dx.constant(0.0) and str(X - 0.0) == "x - 0"


def test_a_python_function_where_a_graph_is_expected_says_to_trace_it():
    with pytest.raises(dx.DiffexploreError, match=r"is a Python function, not a graph: trace it"):
        dx.evaluate(lambda t: t * t, {"t": 1.0})


def test_symbolic_gradients_exist_only_where_f_does():
    with pytest.raises(dx.DomainError, match="div"):
        dx.grad(1 / (X - X), {"x": 1.0}, method="symbolic")
    np.testing.assert_array_equal(dx.grad(3 * X, {"x": np.array([1.0, 2.0])}, method="symbolic")["x"], [3, 3])
    for method in ("forward-over-reverse", "reverse-over-reverse", "symbolic", "numeric"):
        got = dx.hessian(dx.sin(X) * X, {"x": 1 + 0.5j}, method=method)[0, 0]
        z = 1 + 0.5j
        assert got == pytest.approx(2 * np.cos(z) - z * np.sin(z), rel=1e-6), method


def test_a_complex_constant_never_stands_in_for_an_equal_float_one():
    """2+0j == 2.0 and both hash alike: hash-consing by value alone gave a graph built after a complex
    constant that constant, so log(x - 3.0) at x = 1 came out as log 2 + iπ instead of a domain error."""
    complex_three = dx.constant(3 + 0j)
    x = dx.variable("x")
    shifted = x - 3.0
    assert shifted.args[1] is not complex_three and type(shifted.args[1].value) is float
    assert type(complex_three.value) is complex
    with pytest.raises(dx.DomainError, match="log"):
        dx.evaluate(dx.log(shifted), {"x": 1.0})
