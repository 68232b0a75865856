"""The core's structure: one sweep engine whose specialisations agree with it, one rule record per
primitive, a derivative-operator layer that refuses unknown options, and imports that point one way."""

from __future__ import annotations

import ast
import math
import subprocess
import sys
import warnings
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given

import diffexplore as dx
from diffexplore.evaluate import adjoint_sweep, root_seed, tangent_sweep
from diffexplore.plan import APPLY, CONSTANT, PASS, PASS_BOTH, PRODUCT, READ, TERMS, Plan
from diffexplore.sweeps import NUMBERS, backward_flat, backward_numbers, backward_sweep, primal_sweep

from .strategies import expressions

PACKAGE = Path(dx.__file__).resolve().parent
#: Functions that may import a later stage lazily: operator and display hooks on objects of an earlier
#: stage (a node's formula text, transpose and indexing; notebook displays).
HOOKS = {"__repr__", "__str__", "__getitem__", "T", "_repr_svg_", "_repr_mimebundle_", "_repr_html_",
         "_repr_latex_", "_repr_markdown_", "_repr_png_"}
POINT = {"x": 0.7, "y": -1.3, "z": 0.4}


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(PACKAGE.parent).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _imports(path: Path, modules: set[str]) -> set[str]:
    """The package modules a module imports, at module level or inside functions (hooks excepted)."""
    name = _module_name(path)
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    tree = ast.parse(path.read_text(), filename=str(path))
    found: set[str] = set()
    stack: list[ast.AST] = [tree]
    while stack:
        node = stack.pop()
        for child in ast.iter_child_nodes(node):
            if isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef)) and child.name in HOOKS:
                continue
            stack.append(child)
        if isinstance(node, ast.Import):
            found.update(a.name for a in node.names if a.name in modules)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")
                base = base[:len(base) - (node.level - 1)]
                target = ".".join(base + ([node.module] if node.module else []))
            else:
                target = node.module or ""
            for alias in node.names:
                submodule = f"{target}.{alias.name}"
                if submodule in modules:
                    found.add(submodule)
                elif target in modules:
                    found.add(target)
    found.discard(name)
    return found


def _import_graph() -> dict[str, set[str]]:
    paths = sorted(PACKAGE.rglob("*.py"))
    modules = {_module_name(p) for p in paths}
    return {_module_name(p): _imports(p, modules) for p in paths}


def _cycle(graph: dict[str, set[str]]) -> list[str] | None:
    """One cycle of the graph as a list of modules, or None (iterative depth-first search)."""
    state: dict[str, int] = {}           # 1: on the current path, 2: done
    for start in sorted(graph):
        if state.get(start):
            continue
        path = [start]
        stack = [iter(sorted(graph[start]))]
        state[start] = 1
        while stack:
            for target in stack[-1]:
                if state.get(target) == 1:
                    return path[path.index(target):] + [target]
                if not state.get(target):
                    state[target] = 1
                    path.append(target)
                    stack.append(iter(sorted(graph.get(target, ()))))
                    break
            else:
                state[path.pop()] = 2
                stack.pop()
    return None


def test_the_package_import_graph_has_no_cycle():
    graph = _import_graph()
    assert len(graph) > 30 and "diffexplore.sweeps" in graph["diffexplore.evaluate"]
    assert _cycle(graph) is None, " -> ".join(_cycle(graph))


def test_the_cycle_finder_finds_a_cycle():
    assert _cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": set()}) == ["a", "b", "c", "a"]
    assert _cycle({"a": {"b"}, "b": set()}) is None


def test_the_build_stage_does_not_import_the_evaluators_or_the_show_stage():
    graph = _import_graph()
    later = {"diffexplore.evaluate", "diffexplore.symbolic", "diffexplore.derivatives", "diffexplore.sweeps",
             "diffexplore.render", "diffexplore.reports", "diffexplore.explorer", "diffexplore.cli"}
    for module in ("diffexplore.graph", "diffexplore.rules", "diffexplore.parse", "diffexplore.inputs"):
        assert not graph[module] & later, module


@given(expressions())
def test_the_backward_sweep_over_numbers_equals_the_general_sweep_bit_for_bit(f):
    p = Plan([f])
    values = primal_sweep(p, POINT)
    root = p.roots[0]
    # Operations of one or two arguments have shared terms; select's three take the rule's partials.
    assert (None in p.terms) == any(len(n.args) > 2 and p.active[p.index[n]] for n in p.order)
    inline: list = [None] * len(values)
    inline[root] = 1.0
    backward_numbers(p, values, inline)
    flat: list = [None] * len(values)      # the fused steps that gradients of a plan used again sweep
    flat[root] = 1.0
    backward_flat(p.fused_steps(), values, flat)
    assert flat == inline
    general: list = [None] * len(values)
    general[root] = 1.0
    record: list = []
    backward_sweep(p, values, general, NUMBERS, record=record)    # a record takes the general loop
    assert inline == general
    summed: dict = {root: 1.0}
    for _i, _pos, j, _local, contribution in record:     # each adjoint is its contributions, in order
        summed[j] = contribution if j not in summed else summed[j] + contribution
    assert all(summed.get(i) == general[i] for i, _name, _shape in p.variables)


def _step_kinds(f) -> list[tuple[str, int]]:
    p = Plan([f])
    return [(p.order[i].op, kind) for i, kind, _j, _k, _what in p.fused_steps()]


def test_backward_steps_fuse_each_operation_into_one_step():
    x, y = dx.variables("x y")
    # l -> sin(l)·l + 0.5: the sum passes its adjoint on, the product reads each argument for the other
    assert _step_kinds(dx.sin(x) * x + 0.5) == [("add", PASS), ("mul", PRODUCT), ("sin", APPLY)]
    # r·l·(1 − l): one active argument of the first product, the constant −1 of the difference
    assert _step_kinds(2.5 * x * (1 - x)) == [("mul", PRODUCT), ("sub", CONSTANT), ("mul", READ)]
    assert _step_kinds(x + y) == [("add", PASS_BOTH)]
    assert _step_kinds(x / y) == [("div", TERMS)]
    # three arguments: the rule's partials, by the per-operation sweep (as a division's are)
    assert _step_kinds(dx.select(dx.greater(x, y), x * y, x + y) * x + y) == [
        ("add", PASS_BOTH), ("mul", PRODUCT), ("select", TERMS), ("add", PASS_BOTH), ("mul", PRODUCT)]
    assert Plan([x / y]).backward_steps() is None      # more than a quarter unfused: no list kept
    assert len(Plan([x / y + x * y + y + x]).backward_steps()) == 5


@pytest.mark.parametrize("build", [lambda x: x * x, lambda x: x + x, lambda x: (x + x) * (x * x),
                                   lambda x: dx.sin(x) * dx.sin(x) + dx.cos(x - x)])
def test_fused_steps_that_meet_one_argument_twice_add_both_contributions(build):
    x = dx.variable("x")
    p = Plan([build(x)])
    values = primal_sweep(p, {"x": 0.7})
    inline: list = [None] * len(values)
    fused: list = [None] * len(values)
    inline[p.roots[0]] = fused[p.roots[0]] = 1.0
    backward_numbers(p, values, inline)
    backward_flat(p.fused_steps(), values, fused)
    assert fused == inline
    assert fused[p.index[x]] == dx.grad(build(x), {"x": 0.7})["x"]


def test_terms_steps_sum_broadcast_contributions_back_as_the_per_operation_sweep_does():
    a, s = dx.variable("a", shape=(3,)), dx.variable("s")
    p = Plan([dx.sin(a * s) / s + s])          # s broadcast against a: its contributions summed back
    at = {"a": np.array([0.1, -0.4, 2.0]), "s": 1.5}
    values = primal_sweep(p, at)
    assert TERMS in {kind for _i, kind, _j, _k, _what in p.fused_steps()}
    inline: list = [None] * len(values)
    fused: list = [None] * len(values)
    inline[p.roots[0]] = fused[p.roots[0]] = np.ones(3)
    backward_numbers(p, values, inline)
    backward_flat(p.fused_steps(), values, fused)
    for i, _name, _shape in p.variables:
        assert np.array_equal(fused[i], inline[i])
    by_hand = np.cos(at["a"] * 1.5) * at["a"] / 1.5 - np.sin(at["a"] * 1.5) / 1.5**2 + 1.0     # d/ds
    assert fused[p.index[s]] == pytest.approx(float(np.sum(by_hand)))


@given(expressions())
def test_forward_and_reverse_sweeps_agree_on_every_input(f):
    p = Plan([f])
    values = primal_sweep(p, POINT)
    root = p.roots[0]
    adjoints, _ = adjoint_sweep(p, values, root, root_seed(values[root]))
    for slot, _name, _shape in p.variables:
        tangent = tangent_sweep(p, values, {slot: 1.0})[root] or 0.0
        adjoint = adjoints[slot] or 0.0
        assert math.isclose(tangent, adjoint, rel_tol=1e-10, abs_tol=1e-12)


def test_symbolic_sweeps_build_the_graphs_the_numeric_sweeps_compute():
    f = dx.parse("x*y*sin(x) + exp(y)/x")
    at = {"x": 1.3, "y": 0.4}
    reverse = dx.reverse(f, at).gradient
    for name, graph in dx.gradient_graph(f).items():
        assert dx.evaluate(graph, at) == pytest.approx(reverse[name], rel=1e-15)
        assert dx.evaluate(dx.diff(f, name), at) == pytest.approx(reverse[name], rel=1e-15)
    raw = dx.diff(f, "x", prune=False)
    assert dx.size(raw).dag_nodes > dx.size(dx.diff(f, "x")).dag_nodes
    assert dx.evaluate(raw, at) == pytest.approx(reverse["x"], rel=1e-15)


def test_a_missing_rule_is_named_in_every_mode():
    with dx.primitive_scope():
        opaque = dx.define("opaque_square", 1, lambda a: a * a)
        f = opaque(dx.variable("x")) + 1
        for run in (lambda: dx.grad(f, {"x": 2.0}), lambda: dx.grad(f, {"x": 2.0}, method="forward"),
                    lambda: dx.diff(f, "x"), lambda: dx.gradient_graph(f)):
            with pytest.raises(dx.RuleError, match="'opaque_square' has no derivative rule"):
                run()


def test_grad_refuses_an_option_its_method_does_not_take():
    f = dx.parse("x*y")
    with pytest.raises(dx.DiffexploreError, match="takes no option 'shceme'.*scheme, step"):
        dx.grad(f, {"x": 1.0, "y": 2.0}, method="numeric", shceme="central")
    with pytest.raises(dx.DiffexploreError, match="'reverse' takes no option 'step'"):
        dx.grad(f, {"x": 1.0, "y": 2.0}, step=1e-3)
    with pytest.raises(dx.DiffexploreError, match="unknown method 'backprop'"):
        dx.grad(f, {"x": 1.0, "y": 2.0}, method="backprop")
    assert dx.grad(f, {"x": 1.0, "y": 2.0}, method="numeric", scheme="complex")["x"] == 2.0


def test_a_linear_primitive_gets_its_jvp_from_itself():
    with dx.primitive_scope():
        triple = dx.define("triple_example", 1, lambda a: 3.0 * a, vjp=lambda g, a, out: (3.0 * g,),
                           linear=True, shape=lambda s: s)
        v = dx.variable("v", shape=(3,))
        f = dx.sum(triple(v) * v)
        at = {"v": np.array([1.0, -2.0, 0.5])}
        np.testing.assert_allclose(dx.grad(f, at, method="forward")["v"], 6.0 * at["v"], rtol=1e-15)
        np.testing.assert_allclose(dx.grad(f, at)["v"], 6.0 * at["v"], rtol=1e-15)
    assert "triple_example" not in dx.graph.PRIMITIVES


def test_undefine_removes_a_primitive_and_its_name():
    dx.define("gone_example", 1, lambda a: a + 1.0, [lambda a, out: 1.0])
    dx.undefine("gone_example")
    with pytest.raises(dx.ParseError):
        dx.parse("gone_example(x)")
    with pytest.raises(dx.DiffexploreError, match="no primitive named 'gone_example'"):
        dx.undefine("gone_example")


def _piecewise(x):
    if x < 1:
        return x ** 2
    return 2 * dx.sqrt(x) - 1


EVERY_PATH = {
    "evaluate": lambda g, at: dx.evaluate(g, at),
    "reverse": lambda g, at: dx.grad(g, at),
    "forward": lambda g, at: dx.grad(g, at, method="forward"),
    "symbolic": lambda g, at: dx.grad(g, at, method="symbolic"),
    "numeric": lambda g, at: dx.grad(g, at, method="numeric"),
    "hessian": lambda g, at: dx.hessian(g, at),
    "compile": lambda g, at: dx.compile(g).gradient(at),
    "a graph built on it": lambda g, at: dx.grad(dx.sin(2 * g + 0), at),
    "its derivative graph": lambda g, at: dx.evaluate(dx.diff(g, "x"), at),
    "its second derivative": lambda g, at: dx.evaluate(dx.diff(g * g, "x", order=2), at),
    "its gradient graph": lambda g, at: dx.evaluate(dx.gradient_graph(g)["x"], at),
    "a graph on its derivative": lambda g, at: dx.grad(dx.diff(g, "x") * 3, at, method="symbolic"),
}


@pytest.mark.parametrize("path", EVERY_PATH)
def test_every_evaluation_path_checks_the_traced_branches_in_one_place(path):
    traced_left = dx.trace(_piecewise, x=0.5)            # the graph x**2, valid for x < 1 only
    with pytest.warns(dx.BranchWarning, match="x < 1 was True"):
        EVERY_PATH[path](traced_left, {"x": 3.0})


def test_a_traced_graph_inside_another_trace_is_checked_by_the_outer_decisions_only():
    short = dx.trace(lambda x: x * x if x < 1 else x, x=0.5)
    longer = dx.trace(lambda x: x * x * 3 if x < 10 else x, x=3.0)     # contains short's root, x*x
    with warnings.catch_warnings():
        warnings.simplefilter("error", dx.BranchWarning)
        assert dx.evaluate(longer, {"x": 3.0}) == 27.0
    assert short is not None


def test_a_python_function_is_traced_above_the_evaluators_wherever_a_graph_is_taken():
    def program(x, y):
        return x * y if x < y else x + y

    at = {"x": 1.0, "y": 2.0}
    assert dx.grad(program, at) == {"x": 2.0, "y": 1.0}
    assert dx.hessian(program, at).tolist() == [[0.0, 1.0], [1.0, 0.0]]
    assert "v̄" in dx.render(program, at=at).source
    assert dx.explore(program, at).steps[-1]["kind"] == "gradient"
    with pytest.raises(dx.DiffexploreError, match=r"program\(\) is a Python function.*at="):
        dx.render(program)


def test_a_primitive_linear_in_some_arguments_must_say_what_the_others_are():
    with dx.primitive_scope():
        with pytest.raises(dx.DiffexploreError, match="linear in \\(0,\\) only.*selects="):
            dx.define("scaled_example", 2, lambda a, b: a * b, linear=(0,),
                      vjp=lambda g, a, b, out: (g * b, g * a), shape=lambda sa, sb: sa)
        half = dx.define("half_example", 1, lambda a: 0.5 * a, linear=True)
        x = dx.variable("x")
        assert dx.grad(half(x) * x, {"x": 3.0}, method="forward") == {"x": 3.0}
        with pytest.raises(dx.RuleError, match="'half_example' has no derivative rule \\(vjp\\)"):
            dx.grad(half(x) * x, {"x": 3.0})


def test_importing_diffexplore_imports_neither_jax_nor_torch():
    code = "import sys, diffexplore; print([m for m in ('jax', 'torch') if m in sys.modules])"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"


def test_a_partial_that_is_one_primitive_of_an_input_is_applied_directly():
    x = dx.variable("x")
    f = dx.sin(x) * dx.relu(x)
    p = Plan([f])
    applied = {p.order[op[3]].op: terms for op, terms in zip(p.ops, p.terms, strict=True)}
    (sin_term,) = applied["sin"]
    (relu_term,) = applied["relu"]
    assert sin_term[1] == APPLY and sin_term[2] is dx.cos.rule.impl
    assert relu_term[1] == APPLY and relu_term[2] is dx.step.rule.impl
    # The same numbers as the rule's own partials: d/dx sin(x)·relu(x) = cos(x)·relu(x) + sin(x)·step(x).
    for at in (0.7, -0.4):
        expected = math.cos(at) * max(at, 0.0) + math.sin(at) * (1.0 if at > 0 else 0.0)
        assert dx.grad(f, {"x": at})["x"] == expected


def test_operations_alike_share_one_tuple_of_terms():
    x, y = dx.variables("x y")
    f = x * y + (x + 1.0) * (y + 2.0)
    p = Plan([f])
    products = [terms for op, terms in zip(p.ops, p.terms, strict=True) if p.order[op[3]].op == "mul"]
    assert len(products) == 2 and products[0] is products[1]


@given(expressions(), expressions())
def test_a_plan_numbers_nodes_in_the_order_of_dx_nodes(f, g):
    for roots in ([f], [f, g], [g, f, g]):
        p = Plan(roots)
        assert p.order == dx.nodes(roots)
        assert p.index == {n: k for k, n in enumerate(p.order)}
        assert p.roots == [p.order.index(r) for r in roots]
        assert [p.order[op[3]] for op in p.ops] == [n for n in p.order if n.args]


def test_a_plan_of_mostly_unfused_operations_keeps_no_steps_and_sweeps_its_operations():
    W, v = dx.variable("W", shape=(2, 3)), dx.variable("v", shape=(3,))
    f = dx.sum(dx.sin(W @ v))                   # a matmul's and a sum's vjp: two of three steps unfused
    at = {"W": np.array([[0.3, -1.2, 0.5], [2.0, 0.1, -0.7]]), "v": np.array([0.4, 1.1, -0.9])}
    assert Plan([f]).backward_steps() is None
    cos = np.cos(at["W"] @ at["v"])             # d/dW sum(sin(W v)) = cos(W v) vᵀ, d/dv = Wᵀ cos(W v)
    for _ in range(3):                          # the first gradient, and gradients of a plan used again
        g = dx.grad(f, at)
        assert np.allclose(g["W"], np.outer(cos, at["v"]), rtol=1e-15, atol=0)
        assert np.allclose(g["v"], at["W"].T @ cos, rtol=1e-15, atol=0)


@pytest.mark.parametrize("use", [lambda f: dx.grad(f, {"x": 1.0}), lambda f: dx.diff(f, "x"),
                                 lambda f: Plan([f]), lambda f: dx.evaluate(f, {"x": 1.0})])
def test_a_graph_with_one_name_in_two_shapes_is_refused_before_any_sweep(use):
    f = dx.sum(dx.variable("x", shape=(2,))) + dx.variable("x")
    with pytest.raises(dx.DiffexploreError, match="'x' appears with two shapes"):
        use(f)
