"""Every entry point that takes a graph takes a plain Python function (traced at the point it is given)
and an import (dx.Imported) too, and gives what it gives for the graph itself."""

import math
import warnings

import numpy as np
import pytest

import diffexplore as dx
from diffexplore.reports import families

AT = {"x": 1.0, "y": 2.0}


def seed_program(x, y):
    return 1 + x + np.exp(np.sin(x * y))


def piecewise(x):
    if x < 1:
        return x * x
    return 2 * dx.sqrt(x) - 1


def seed_gradient(x, y):
    """∂/∂x and ∂/∂y of 1 + x + exp(sin(xy)), by hand."""
    outer = math.exp(math.sin(x * y)) * math.cos(x * y)
    return {"x": 1 + y * outer, "y": x * outer}


def traced():
    return dx.trace(seed_program, AT)


def by_hand_import(graph=None, point=None):
    graph = traced() if graph is None else graph
    return dx.Imported(output=graph, point=dict(point or AT), names={"x": "args[0]", "y": "args[1]"},
                       source="jax")


@pytest.mark.parametrize("method", dx.derivatives.METHODS)
def test_grad_of_a_function_is_the_hand_derivative_and_the_traced_graphs_gradient(method):
    from_function = dx.grad(seed_program, AT, method=method)
    assert from_function == dx.grad(traced(), AT, method=method)
    tolerance = 1e-6 if method == "numeric" else 1e-13
    for name, value in seed_gradient(**AT).items():
        assert from_function[name] == pytest.approx(value, rel=tolerance, abs=tolerance)


def test_jacobian_of_functions_has_one_row_per_function_and_each_takes_its_own_variables():
    rows = dx.jacobian([seed_program, lambda x: x * x], AT)
    assert rows.tolist() == dx.jacobian([traced(), "x*x"], AT).tolist()
    hand = seed_gradient(**AT)
    assert rows[0].tolist() == pytest.approx([hand["x"], hand["y"]], rel=1e-13)
    assert rows[1].tolist() == [2.0, 0.0]                 # d(x²)/dx = 2x, x² does not depend on y
    assert dx.jacobian(seed_program, AT, method="forward").tolist() == [rows[0].tolist()]


def test_hessian_of_a_function_equals_the_traced_graphs_and_the_hand_formula():
    def cubic(x, y):
        return x ** 3 * y + y * y

    hessian = dx.hessian(cubic, AT)
    assert hessian.tolist() == dx.hessian(dx.trace(cubic, AT), AT).tolist()
    x, y = AT["x"], AT["y"]
    assert hessian.tolist() == [[6 * x * y, 3 * x * x], [3 * x * x, 2.0]]


def test_a_function_renders_to_the_same_dot_text_as_its_traced_graph():
    for views in (None, "all"):
        assert dx.render(seed_program, at=AT, views=views, wrt="x").source == \
            dx.render(traced(), at=AT, views=views, wrt="x").source
    assert dx.to_dot(seed_program, at=AT) == dx.to_dot(traced(), at=AT)


def test_a_function_explores_to_the_same_page_as_its_traced_graph():
    page = dx.explore(seed_program, AT)
    assert page.html == dx.explore(traced(), AT).html
    assert page.steps[-1]["kind"] == "gradient"


def test_a_functions_trace_table_and_step_sweep_equal_the_traced_graphs():
    table = dx.trace_table(seed_program, AT, seed="y")
    reference = dx.trace_table(traced(), AT, seed="y")
    assert table.to_text() == reference.to_text()
    assert table.gradient == pytest.approx(seed_gradient(**AT), rel=1e-13)
    sweep = dx.step_sweep(seed_program, AT, wrt="x", steps=[1e-2, 1e-5, 1e-8])
    same = dx.step_sweep(traced(), AT, wrt="x", steps=[1e-2, 1e-5, 1e-8])
    assert sweep.reference == same.reference == pytest.approx(seed_gradient(**AT)["x"], rel=1e-13)
    for scheme in sweep.errors:
        assert sweep.errors[scheme].tolist() == same.errors[scheme].tolist()


def test_a_function_compiles_at_a_point_to_the_same_program_as_its_traced_graph():
    compiled = dx.compile(seed_program, at=AT, free=False)
    assert compiled.source == dx.compile(traced(), free=False).source
    value, gradient = compiled.value_and_gradient(AT)
    assert value == pytest.approx(1 + 1 + math.exp(math.sin(2.0)), rel=1e-15)
    assert compiled.gradient(AT) == pytest.approx(seed_gradient(**AT), rel=1e-13)
    assert gradient == compiled.gradient(AT)


def test_swell_of_a_family_of_functions_equals_the_family_of_their_traced_graphs():
    def sines(n):
        def member(x):
            term = x
            for _ in range(n):
                term = np.sin(term)
            return term
        return member

    by_function = dx.swell(sines, range(1, 5), sympy=False, timings=False)
    by_graph = dx.swell(lambda n: dx.trace(sines(n), x=families.DEFAULT_VALUE), range(1, 5), sympy=False,
                        timings=False)
    assert by_function.rows == by_graph.rows
    assert by_function.column("f_dag") == [2, 3, 4, 5]          # x and one node per sine
    assert by_function.rows == dx.swell("nested-sin", range(1, 5), sympy=False, timings=False).rows


def test_a_family_member_function_is_traced_at_at_else_at_the_default_value():
    def members(n):
        return lambda x: x ** n if x < 1 else n * x

    assert families.DEFAULT_VALUE < 1
    default = families.get(members)
    assert str(default.build(3)) == "x**3" and default.point(3) == {"x": families.DEFAULT_VALUE}
    at_two = families.get(members, at={"x": 2.0})
    assert str(at_two.build(3)) == "3*x" and at_two.point(3) == {"x": 2.0}
    report = dx.swell(members, [2, 3], at={"x": 2.0}, sympy=False, timings=True, repeats=1)
    assert report.column("f_dag") == [3, 3]                   # n*x: the branch taken at x = 2


def test_a_list_of_functions_and_graphs_is_a_family_one_row_each():
    report = dx.swell([lambda x: x * x, "x*y", traced()], sympy=False, timings=False)
    assert report.column("f_dag") == [2, 3, dx.size(traced()).dag_nodes]


@pytest.mark.parametrize("call", [
    lambda f: dx.render(f),
    lambda f: dx.to_dot(f),
    lambda f: dx.explore(f),
    lambda f: dx.compile(f),
    lambda f: dx.grad(f, None),
    lambda f: dx.hessian(f, None),
    lambda f: dx.jacobian([f], None),
    lambda f: dx.trace_table(f, None),
    lambda f: dx.step_sweep(f, None),
], ids=["render", "to_dot", "explore", "compile", "grad", "hessian", "jacobian", "trace_table", "step_sweep"])
def test_a_function_without_a_point_is_refused_naming_at(call):
    with pytest.raises(dx.DiffexploreError, match=r"seed_program\(\) is a Python function.*at=\{.*--at"):
        call(seed_program)


def test_the_refusal_names_the_entry_point():
    with pytest.raises(dx.DiffexploreError, match=r"^dx\.compile\(seed_program\): "):
        dx.compile(seed_program)


def test_the_explorer_refuses_a_graph_without_a_point_naming_at():
    with pytest.raises(dx.DiffexploreError, match=r"at=\{.*--at"):
        dx.explore(traced())


def test_a_function_is_traced_at_the_point_it_is_drawn_at_so_it_takes_that_branch_without_warning():
    with warnings.catch_warnings():
        warnings.simplefilter("error", dx.BranchWarning)
        left = dx.render(piecewise, at={"x": 0.5}, views="original").source
        right = dx.render(piecewise, at={"x": 4.0}, views="original").source
    assert "sqrt" not in left and "sqrt" in right


def test_a_traced_function_warns_when_drawn_or_compiled_across_its_branch():
    traced_left = dx.trace(piecewise, x=0.5)
    with pytest.warns(dx.BranchWarning, match="x < 1 was True"):
        dx.render(traced_left, at={"x": 3.0})
    compiled = dx.compile(piecewise, at={"x": 0.5})
    assert compiled.gradient({"x": 0.25}) == {"x": 0.5}
    with pytest.warns(dx.BranchWarning, match="x < 1 was True"):
        compiled.gradient({"x": 3.0})
    with pytest.warns(dx.BranchWarning, match="x < 1 was True"):
        dx.trace_table(traced_left, {"x": 3.0})


IMPORTED_ENTRY_POINTS = {
    "grad": lambda g: dx.grad(g, AT),
    "jacobian": lambda g: dx.jacobian(g, AT).tolist(),
    "jacobian of a list": lambda g: dx.jacobian([g, g], AT).tolist(),
    "hessian": lambda g: dx.hessian(g, AT).tolist(),
    "render": lambda g: dx.render(g, at=AT, views="all", wrt="x").source,
    "to_dot": lambda g: dx.to_dot(g),
    "explore": lambda g: dx.explore(g, AT).html,
    "swell": lambda g: dx.swell(g, sympy=False, timings=False).rows,
    "swell of a family": lambda g: dx.swell(lambda n: g, [1, 2], sympy=False, timings=False).rows,
    "trace_table": lambda g: dx.trace_table(g, AT).to_text(),
    "step_sweep": lambda g: dx.step_sweep(g, AT, wrt="y", steps=[1e-3, 1e-6]).errors["central"].tolist(),
    "compile": lambda g: (dx.compile(g).source, dx.compile(g).gradient(AT)),
    "evaluate": lambda g: dx.evaluate(g, AT),
    "diff": lambda g: dx.diff(g, "x"),
}


@pytest.mark.parametrize("entry", IMPORTED_ENTRY_POINTS)
def test_every_entry_point_takes_an_import_built_by_hand_as_its_output(entry):
    call = IMPORTED_ENTRY_POINTS[entry]
    assert call(by_hand_import()) == call(traced())


def test_an_imports_point_is_where_swell_times_it():
    family = families.get(by_hand_import(point={"x": 0.25, "y": 3.0}))
    assert family.point(1) == {"x": 0.25, "y": 3.0}


def test_an_import_with_several_outputs_gives_a_jacobian_row_each_and_no_single_graph():
    x, y = dx.variables("x y")
    pair = dx.Imported(output=(x * y, x + y), point=dict(AT), names={"x": "a", "y": "b"}, source="torch")
    assert dx.jacobian(pair, AT).tolist() == [[2.0, 1.0], [1.0, 1.0]]
    with pytest.raises(dx.DiffexploreError, match="2 outputs"):
        dx.grad(pair, AT)
    with pytest.raises(dx.DiffexploreError, match="2 outputs"):
        dx.render(pair)


def test_a_jax_function_is_refused_with_the_failing_call_and_dx_from_jax():
    import jax.numpy as jnp

    def jax_program(x, y):
        return 1 + x + jnp.exp(jnp.sin(x * y))

    with pytest.raises(dx.DiffexploreError) as refusal:
        dx.render(jax_program, at=AT)
    message = str(refusal.value)
    assert message.startswith("dx.render(jax_program): ")             # the entry point that traced
    assert "jnp.exp(jnp.sin(x * y))" in message and "dx.from_jax(" in message     # the call, the route


def test_a_torch_module_is_refused_with_the_failing_call_and_dx_from_torch():
    import torch

    class Net(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.layer = torch.nn.Linear(2, 1)

        def forward(self, x):
            return self.layer(x).sum()

    with pytest.raises(dx.DiffexploreError) as refusal:
        dx.grad(Net(), {"x": [1.0, 2.0]})
    message = str(refusal.value)
    assert message.startswith("dx.grad(Net): ")
    assert "self.layer(x)" in message and "dx.from_torch(" in message


def test_a_missing_argument_is_refused_naming_the_entry_point_and_the_argument():
    with pytest.raises(dx.DiffexploreError, match=r"^dx\.hessian\(seed_program\): .*needs a value for y"):
        dx.hessian(seed_program, {"x": 1.0})


def test_an_error_of_the_users_own_code_is_not_disguised():
    def broken(x):
        return x + undefined_name  # noqa: F821

    with pytest.raises(NameError):
        dx.grad(broken, {"x": 1.0})
