"""dx.to_torch(f) is a function of torch tensors: autograd through it gives diffexplore's own gradient (to
the rounding bound on random expressions, to 1e-12 on the fixed networks), it runs on the tensors'
device and dtype, torch.compile traces it whole; dx.compile(f, backend="torch") runs diffexplore's reverse
sweep on tensors; dx.to_torch_module trains with a torch optimizer exactly as diffexplore's gradients
predict; user primitives without a torch form are wrapped around their own rules."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from hypothesis import given

import diffexplore as dx

from .exports_support import assert_close_models, cnn_model, gradient_bounds, mlp_model, rounding_bound
from .strategies import expressions, near_kink, points

SEED = "1 + x + exp(sin(x*y))"


def tensors(values: dict, requires_grad: bool = True) -> dict[str, torch.Tensor]:
    return {name: torch.tensor(np.asarray(value, dtype=np.float64), requires_grad=requires_grad)
            for name, value in values.items()}


def autograd_gradient(function, at: dict) -> tuple[float, dict]:
    """The value and autograd's gradient (zeros where the value does not depend on an input: a graph
    whose output is a comparison has no grad_fn, torch's structural zero)."""
    inputs = tensors(at)
    value = function(**inputs)
    if value.requires_grad:
        value.backward()
    return float(value.detach()), {name: t.grad.numpy() if t.grad is not None else np.zeros(t.shape)
                                   for name, t in inputs.items()}


@given(expressions(), points)
def test_autograd_through_the_export_gives_the_interpreters_gradient_on_random_expressions(f, at):
    if near_kink(f, at, margin=1e-9):
        return
    exported = dx.to_torch(f)
    point = {name: at[name] for name in exported.variables}
    want = dx.reverse(f, at, record=False)
    value, gradient = autograd_gradient(exported, point)
    assert abs(value - want.value) <= rounding_bound(f, at)
    bounds = gradient_bounds(f, point)
    for name in exported.variables:
        assert abs(float(gradient[name]) - want.gradient[name]) <= bounds[name], name


@given(expressions(), points)
def test_the_torch_backend_of_compile_is_diffexplores_reverse_sweep_on_tensors(f, at):
    if near_kink(f, at, margin=1e-9):
        return
    c = dx.compile(f, backend="torch")
    point = {name: at[name] for name in c.variables}
    got = c.gradient(tensors(point, requires_grad=False))
    want = dx.reverse(f, at, record=False).gradient
    bounds = gradient_bounds(f, point)
    for name in c.variables:
        assert abs(float(got[name]) - want[name]) <= bounds[name], name


@pytest.mark.parametrize("model", [mlp_model, cnn_model], ids=["mlp", "cnn"])
def test_the_networks_loss_and_gradient_through_torch_to_1e12(model):
    loss, at = model()
    want = dx.reverse(loss, at, record=False)
    value, gradient = autograd_gradient(dx.to_torch(loss), at)
    assert abs(value - want.value) <= 1e-12 * max(1.0, abs(want.value))
    assert_close_models(gradient, want.gradient)
    compiled = dx.compile(loss, backend="torch")
    got = compiled.gradient(tensors(at, requires_grad=False))
    assert_close_models({name: g.numpy() for name, g in got.items()}, want.gradient)
    module: dict = {}
    exec(compiled.source, module)                  # the torch module: the same lines, the rules' torch facets
    got = module["gradient"](**tensors(at, requires_grad=False))
    assert_close_models({name: g.numpy() for name, g in got.items()}, want.gradient)


def test_the_export_follows_the_inputs_dtype_and_device():
    exported = dx.to_torch(dx.sum(dx.variable("v", shape=(3,)) * np.array([1.0, 2.0, 3.0])))
    v32 = torch.tensor([1.0, 1.0, 1.0], dtype=torch.float32, device="cpu")
    assert exported(v32).dtype == torch.float32 and exported(v32).device == v32.device
    assert float(exported(v32)) == 6.0


def test_outside_the_domain_the_export_gives_ieee_values_where_diffexplore_raises():
    f = dx.parse("log(x)")
    with pytest.raises(dx.DomainError):
        dx.evaluate(f, {"x": -1.0})
    assert math.isnan(float(dx.to_torch(f)(torch.tensor(-1.0))))


def test_torch_compile_traces_the_export_whole_and_its_gradient_is_the_formula():
    """Dynamo captures the export in one graph (no graph break), and AOT autograd differentiates it:
    df/dx = 1 + exp(sin(xy)) cos(xy) y. (The inductor backend, which builds C++, runs in make bench.)"""
    exported = dx.to_torch(SEED)
    x = torch.linspace(-1.0, 1.0, 7, dtype=torch.float64, requires_grad=True)
    y = torch.full((7,), 0.5, dtype=torch.float64)
    explained = torch._dynamo.explain(exported)(x, y)
    assert explained.graph_count == 1 and explained.graph_break_count == 0
    torch._dynamo.reset()
    compiled = torch.compile(exported, backend="aot_eager", fullgraph=True)
    compiled(x, y).sum().backward()
    xs, ys = x.detach().numpy(), y.numpy()
    assert np.allclose(x.grad.numpy(), 1 + np.exp(np.sin(xs * ys)) * np.cos(xs * ys) * ys, rtol=1e-14)


def test_sgd_on_the_module_lowers_the_loss_exactly_as_diffexplores_gradients_predict():
    """Least squares L(w, b) = mean((w·x + b − t)²) on four points, five SGD steps of rate 0.1: torch's
    parameters after each step are w − 0.1·∂L/∂w, b − 0.1·∂L/∂b with diffexplore's gradient, the loss
    falls each step, and equals diffexplore's value."""
    w, b = dx.variable("w", shape=(2,)), dx.variable("b")
    x = dx.variable("x", shape=(4, 2))
    targets = np.array([1.0, -1.0, 0.5, 2.0])
    loss = dx.mean((x @ w + b - targets) ** 2)
    data = np.array([[1.0, 0.0], [0.0, 1.0], [1.0, 1.0], [2.0, -1.0]])
    module = dx.to_torch_module(loss, parameters=["w", "b"], initial={"w": [0.3, -0.2], "b": 0.1})
    assert module.inputs == ["x"] and sorted(dict(module.named_parameters())) == ["params.b", "params.w"]
    optimizer = torch.optim.SGD(module.parameters(), lr=0.1)
    point = {"w": np.array([0.3, -0.2]), "b": 0.1, "x": data}
    losses = []
    for _ in range(5):
        optimizer.zero_grad()
        value = module(x=torch.tensor(data))
        value.backward()
        optimizer.step()
        want = dx.reverse(loss, point)
        assert float(value.detach()) == pytest.approx(want.value, rel=1e-14)
        losses.append(want.value)
        point = {"w": point["w"] - 0.1 * want.gradient["w"], "b": point["b"] - 0.1 * want.gradient["b"],
                 "x": data}
        got = {name: p.detach().numpy() for name, p in module.params.items()}
        assert np.allclose(got["w"], point["w"], rtol=1e-14, atol=1e-15)
        assert np.allclose(got["b"], point["b"], rtol=1e-14, atol=1e-15)
    assert all(later < earlier for earlier, later in zip(losses, losses[1:], strict=False))


def test_a_module_refuses_parameters_that_are_not_variables_and_initial_values_of_the_wrong_shape():
    with pytest.raises(dx.DiffexploreError, match="'z' is not a variable"):
        dx.to_torch_module("x*y", parameters=["z"])
    W = dx.variable("W", shape=(2, 2))
    with pytest.raises(dx.DiffexploreError, match="shape"):
        dx.to_torch_module(dx.sum(W), parameters=["W"], initial={"W": np.zeros(3)})


def test_a_user_primitive_is_wrapped_around_its_own_rules_under_autograd():
    """A primitive given as NumPy with a partial deliberately 2× the truth: autograd uses that partial."""
    with dx.primitive_scope():
        @dx.primitive(partials=[lambda a, out: 2.0 * dx.sigmoid(a)])
        def softplus_example(a):
            return np.logaddexp(0.0, a)
        exported = dx.to_torch(softplus_example(dx.variable("x", shape=(3,))) * 3.0)
        xs = torch.tensor([-1.0, 0.0, 2.5], dtype=torch.float64, requires_grad=True)
        out = exported(xs)
        assert np.allclose(out.detach().numpy(), 3.0 * np.logaddexp(0.0, xs.detach().numpy()), rtol=1e-15)
        out.sum().backward()
        assert np.allclose(xs.grad.numpy(), 6.0 / (1.0 + np.exp(-xs.detach().numpy())), rtol=1e-15)


def test_a_graph_with_branch_guards_is_refused_unless_ignored():
    def clipped(x):
        return x if x < 1 else 1.0 + 0 * x
    with pytest.raises(dx.DiffexploreError, match="guards='ignore'"):
        dx.to_torch(clipped, at={"x": 0.5})
    exported = dx.to_torch(clipped, at={"x": 0.5}, guards="ignore")
    assert "x < 1 -> True" in exported.__doc__
