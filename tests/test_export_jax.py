"""dx.to_jax(f) is a pure JAX function of f's variables: under jit, grad, vmap, jacfwd and jacrev it gives
diffexplore's own value and gradient (to the rounding bound on random expressions, to 1e-12 on the
fixed networks); dx.compile(f, backend="jax") runs diffexplore's reverse sweep in jax.numpy to the same
numbers; traced branch guards and primitives without a JAX form are refused by name; a user primitive
without one is wrapped around its own rules; dx.from_jax(dx.to_jax(f)) is f again."""

from __future__ import annotations

import math

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from hypothesis import given

import diffexplore as dx

from .exports_support import assert_close_models, cnn_model, gradient_bounds, mlp_model, rounding_bound
from .strategies import expressions, near_kink, points

SEED = "1 + x + exp(sin(x*y))"


@pytest.fixture(autouse=True)
def float64():
    """JAX computes in float32 unless x64 is enabled; these tests compare float64 numbers."""
    with jax.enable_x64(True):
        yield


@given(expressions(), points)
def test_jit_and_grad_of_the_export_give_the_interpreters_numbers_on_random_expressions(f, at):
    if near_kink(f, at, margin=1e-9):
        return
    exported = dx.to_jax(f)
    args = [at[name] for name in exported.variables]
    want = dx.reverse(f, at, record=False)
    assert abs(float(jax.jit(exported)(*args)) - want.value) <= rounding_bound(f, at)
    gradient = jax.jit(jax.grad(exported, argnums=tuple(range(len(args)))))(*args)
    bounds = gradient_bounds(f, {name: at[name] for name in exported.variables})
    for name, got in zip(exported.variables, gradient, strict=True):
        assert abs(float(got) - want.gradient[name]) <= bounds[name], name


@given(expressions(), points)
def test_the_jax_backend_of_compile_is_diffexplores_reverse_sweep_under_jit(f, at):
    if near_kink(f, at, margin=1e-9):
        return
    c = dx.compile(f, backend="jax")
    point = {name: at[name] for name in c.variables}
    got = jax.jit(c.gradient)(point)
    want = dx.reverse(f, at, record=False).gradient
    bounds = gradient_bounds(f, point)
    for name in c.variables:
        assert abs(float(got[name]) - want[name]) <= bounds[name], name


@pytest.mark.parametrize("model", [mlp_model, cnn_model], ids=["mlp", "cnn"])
def test_the_networks_loss_and_gradient_through_jax_to_1e12(model):
    loss, at = model()
    want = dx.reverse(loss, at, record=False)
    exported = dx.to_jax(loss)
    assert abs(float(jax.jit(exported)(**at)) - want.value) <= 1e-12 * max(1.0, abs(want.value))
    assert_close_models(jax.jit(jax.grad(lambda p: exported(**p)))(at), want.gradient)
    compiled = dx.compile(loss, backend="jax")
    assert_close_models(jax.jit(compiled.gradient)(at), want.gradient)
    value, gradient = jax.jit(compiled.value_and_gradient)(at)
    assert abs(float(value) - want.value) <= 1e-12 * max(1.0, abs(want.value))
    module: dict = {}
    exec(compiled.source, module)                  # the JAX module: the same lines, the rules' JAX facets
    assert_close_models(jax.jit(module["gradient"])(**at), want.gradient)


def test_vmap_of_grad_over_a_batch_equals_the_articles_formulas():
    """The seed example's df/dx = 1 + exp(sin(xy)) cos(xy) y at 1,000 points, one point per lane."""
    exported = dx.to_jax(SEED)
    rng = np.random.default_rng(0)
    x, y = rng.uniform(-2, 2, 1000), rng.uniform(-2, 2, 1000)
    dfdx = jax.jit(jax.vmap(jax.grad(exported)))(x, y)
    assert np.allclose(dfdx, 1 + np.exp(np.sin(x * y)) * np.cos(x * y) * y, rtol=1e-13, atol=1e-14)


def test_jacfwd_and_jacrev_of_an_array_graph_equal_the_hand_derived_jacobian():
    """f(v) = A @ tanh(v): its Jacobian is A · diag(1 − tanh(v)²), by forward and by reverse mode."""
    A = np.array([[1.0, -2.0, 0.5], [0.0, 3.0, 1.5]])
    v = dx.variable("v", shape=(3,))
    exported = dx.to_jax(A @ dx.tanh(v))
    point = np.array([0.3, -1.2, 2.0])
    want = A * (1 - np.tanh(point) ** 2)
    assert np.allclose(jax.jacfwd(exported)(point), want, rtol=1e-14, atol=1e-15)
    assert np.allclose(jax.jacrev(exported)(point), want, rtol=1e-14, atol=1e-15)


def test_arguments_by_keyword_or_in_the_variables_order():
    exported = dx.to_jax("x - 2*y")
    assert exported.variables == ["x", "y"]
    assert float(exported(1.0, 3.0)) == float(exported(y=3.0, x=1.0)) == -5.0
    with pytest.raises(dx.MissingValueError, match="'y'"):
        exported(1.0)
    with pytest.raises(dx.DiffexploreError, match="no variable 'z'"):
        exported(1.0, z=2.0)


def test_outside_the_domain_the_export_gives_ieee_values_where_diffexplore_raises():
    f = dx.parse("log(x) + sqrt(y)")
    with pytest.raises(dx.DomainError):
        dx.evaluate(f, {"x": -1.0, "y": 1.0})
    assert math.isnan(float(jax.jit(dx.to_jax(f))(-1.0, 1.0)))
    assert float(dx.to_jax(f)(0.0, 1.0)) == -math.inf


def test_a_graph_with_branch_guards_is_refused_unless_ignored_and_the_guards_are_listed():
    def piecewise(x):
        return x * x if x < 1 else 2 * x - 1
    with pytest.raises(dx.DiffexploreError, match=r"guards='ignore'.*|x < 1"):
        dx.to_jax(piecewise, at={"x": 0.5})
    exported = dx.to_jax(piecewise, at={"x": 0.5}, guards="ignore")
    assert "x < 1 -> True" in exported.__doc__
    assert float(exported(0.25)) == 0.0625
    with pytest.raises(dx.DiffexploreError, match="guards="):
        dx.compile(piecewise, at={"x": 0.5}, backend="jax")


def test_a_defined_primitive_without_a_jax_form_is_refused_by_name():
    with dx.primitive_scope():
        double = dx.define("double_example", 1, lambda a: 2.0 * a, linear=True, public=False)
        with pytest.raises(dx.DiffexploreError, match="'double_example' has no jax form"):
            dx.to_jax(double(dx.variable("x")))


def test_a_user_primitive_is_wrapped_around_its_own_rules_under_jit_grad_and_vmap():
    """softplus given only as NumPy and its partial sigmoid: the export calls them on the host, and its
    derivative is the user's partial (here made deliberately 2× the truth, to show it is the one used)."""
    with dx.primitive_scope():
        @dx.primitive(partials=[lambda a, out: 2.0 * dx.sigmoid(a)])
        def softplus_example(a):
            return np.logaddexp(0.0, a)
        exported = dx.to_jax(softplus_example(dx.variable("x")) * 3.0)
        xs = np.array([-1.0, 0.0, 2.5])
        assert np.allclose(jax.jit(jax.vmap(exported))(xs), 3.0 * np.logaddexp(0.0, xs), rtol=1e-15)
        slopes = jax.jit(jax.vmap(jax.grad(exported)))(xs)
        assert np.allclose(slopes, 6.0 / (1.0 + np.exp(-xs)), rtol=1e-15)


def test_a_user_primitive_with_its_own_jax_form_is_a_jax_operation():
    with dx.primitive_scope():
        @dx.primitive(partials=[lambda a, out: dx.sigmoid(a)], jax=lambda jax, a: jax.nn.softplus(a))
        def softplus_jax_example(a):
            return np.logaddexp(0.0, a)
        exported = dx.to_jax(softplus_jax_example(dx.variable("x")))
        assert "pure_callback" not in str(jax.make_jaxpr(exported)(0.5))
        assert float(jax.grad(exported)(0.5)) == pytest.approx(1 / (1 + math.exp(-0.5)), rel=1e-15)


def test_the_round_trip_from_jax_of_to_jax_evaluates_like_f():
    for f, at in [(dx.parse(SEED), {"x": 0.7, "y": -1.3}), mlp_model()]:
        imported = dx.from_jax(dx.to_jax(f), **at)
        back = imported.output
        assert dx.evaluate(back, imported.point) == pytest.approx(dx.evaluate(f, at), rel=1e-14)
        got = dx.grad(back, imported.point)
        assert_close_models({name: got[name] for name in at}, dx.grad(f, at))


def test_jax_arrays_and_many_points_through_the_jax_backend():
    c = dx.compile(SEED, backend="jax")
    x, y = jnp.linspace(-1.0, 1.0, 5), jnp.full(5, 0.5)
    gradient = c.gradient({"x": x, "y": y})
    assert isinstance(gradient["x"], jax.Array)
    common = np.exp(np.sin(x * y)) * np.cos(x * y)
    assert np.allclose(gradient["x"], 1 + common * y, rtol=1e-14)
    assert np.allclose(gradient["y"], common * x, rtol=1e-14)
