"""Symbolic differentiation: a new DAG from the same rules, checked against SymPy and the evaluators."""

import numpy as np
import pytest
import sympy as sp
from hypothesis import given, settings

import diffexplore as dx
from diffexplore.graph import PRIMITIVES
from diffexplore.rules import FUNCTIONS
from diffexplore.sympy_bridge import run_with_timeout

from .strategies import expressions, near_kink, points

SEED = "1 + x + exp(sin(x*y))"


def logistic(n: int, x: dx.Node | None = None) -> dx.Node:
    """l_{k+1} = 4 l_k (1 - l_k), l_0 = x."""
    term = x if x is not None else dx.variable("x")
    for _ in range(n):
        term = 4 * term * (1 - term)
    return term


def test_derivative_reuses_the_nodes_of_f():
    x, y = dx.variables("x y")
    s = dx.sin(x * y)
    f = 1 + x + dx.exp(s)
    shared = set(dx.nodes(dx.diff(f, "x"))) & set(dx.nodes(f))
    assert s in shared and dx.exp(s) in shared and x * y in shared


def test_pruned_derivative_of_the_seed_is_the_hand_formula():
    x, y = dx.variables("x y")
    d = dx.diff(dx.parse(SEED), "x")
    want = 1 + dx.exp(dx.sin(x * y)) * (dx.cos(x * y) * y)
    assert d is want


def test_raw_derivative_keeps_unit_factors_and_zero_terms_and_agrees():
    f = dx.parse(SEED)
    raw = dx.diff(f, "x", prune=False)
    constants = {n.value for n in dx.nodes(raw) if n.is_constant}
    assert {0.0, 1.0} <= constants
    assert dx.size(raw).dag_nodes > dx.size(dx.diff(f, "x")).dag_nodes
    at = {"x": 0.7, "y": -1.3}
    assert dx.evaluate(raw, at) == pytest.approx(dx.evaluate(dx.diff(f, "x"), at), rel=1e-15)


def test_differentiating_never_rewrites_the_users_graph():
    f = dx.parse("x*1 + 0*y")
    before = [n for n in dx.nodes(f)]
    dx.diff(f, "x")
    dx.gradient_graph(f)
    assert dx.nodes(f) == before and dx.formula(f) == "x*1 + 0*y"


@given(expressions(max_leaves=5), points)
@settings(max_examples=40)
def test_diff_agrees_with_sympy_diff_numerically(f, at):
    if near_kink(f, at):
        return                      # at a kink the subgradient conventions differ from SymPy's
    symbols = {name: dx.sympy_bridge.symbol(name) for name in "xyz"}
    for v in dx.free_variables(f):
        ours = dx.to_sympy(dx.diff(f, v.name))
        theirs = sp.diff(dx.to_sympy(f), symbols[v.name]).replace(sp.DiracDelta, lambda *args: 0)
        if theirs.has(sp.Derivative):
            continue                # SymPy leaves d sign(u)/dx unevaluated; ours is 0 away from the kink
        args = [symbols[k] for k in "xyz"]
        # lambdify with cse evaluates shared subexpressions once (evalf would walk the whole tree).
        a = complex(sp.lambdify(args, ours, modules="numpy", cse=True)(*(at[k] for k in "xyz")))
        b = complex(sp.lambdify(args, theirs, modules="numpy", cse=True)(*(at[k] for k in "xyz")))
        assert abs(a - b) <= 1e-9 * max(1.0, abs(b))


@pytest.mark.parametrize("text", [SEED, "x**3*sin(x)/y", "tanh(x*y)**2 - log(1 + x**2)", "sqrt(x)*exp(-x)",
                                  "x**y", "sigmoid(x)*tan(y)"])
def test_diff_agrees_with_sympy_symbolically(text):
    f = dx.parse(text)
    for v in dx.free_variables(f):
        difference = dx.to_sympy(dx.diff(f, v.name)) - sp.diff(dx.to_sympy(f), dx.sympy_bridge.symbol(v.name))
        assert run_with_timeout(sp.simplify, (difference,), 30)[0] == 0


@given(expressions(), points)
def test_gradient_graph_equals_reverse_mode_and_stays_small(f, at):
    graph = dx.gradient_graph(f)
    rev = dx.grad(f, at)
    for name, node in graph.items():
        assert dx.evaluate(node, at) == pytest.approx(rev[name], rel=1e-12, abs=1e-12)
    total = dx.size(list(graph.values())).dag_nodes
    assert total <= 6 * dx.size(f).dag_nodes + 4


def test_logistic_derivative_dag_grows_linearly_while_its_tree_grows_exponentially():
    dag, tree = [], []
    for n in range(1, 41):
        d = dx.diff(logistic(n), "x")
        s = dx.size(d)
        dag.append(s.dag_nodes)
        tree.append(s.tree_nodes)
    steps = np.diff(dag)
    assert len(set(steps[2:])) == 1 and steps[-1] <= 12          # a constant number of new nodes per step
    ratios = [tree[k + 1] / tree[k] for k in range(30, 39)]
    assert all(1.9 < r < 2.1 for r in ratios)                    # the tree doubles with every step
    assert tree[-1] > 10 ** 12


def test_tree_size_of_the_30_step_logistic_map_has_ten_digits():
    assert len(str(dx.size(logistic(30)).tree_nodes)) == 10      # 2**31 + ... counted, never expanded


def test_logistic_derivative_matches_the_chain_rule_by_hand():
    # l_{k+1}' = 4 (1 - 2 l_k) l_k'
    x0 = 0.2
    value, slope = x0, 1.0
    for _ in range(6):
        value, slope = 4 * value * (1 - value), 4 * (1 - 2 * value) * slope
    assert dx.evaluate(dx.diff(logistic(6), "x"), {"x": x0}) == pytest.approx(slope, rel=1e-12)


@pytest.mark.parametrize("method", dx.derivatives.HESSIAN_METHODS)
def test_hessian_methods_agree_with_sympy(method):
    f = dx.parse("exp(x*y) + x**3*sin(y) - log(1 + x**2 + y**2)")
    at = {"x": 0.4, "y": -0.9}
    X, Y = dx.sympy_bridge.symbol("x"), dx.sympy_bridge.symbol("y")
    expected = sp.hessian(dx.to_sympy(f), (X, Y)).subs({X: 0.4, Y: -0.9})
    expected = np.array(expected, dtype=float)
    tol = 1e-7 if method == "numeric" else 1e-12
    np.testing.assert_allclose(dx.hessian(f, at, method=method), expected, rtol=tol, atol=tol)


def test_higher_order_derivatives_agree_with_sympy():
    f = dx.parse("sin(x)*exp(x/2)")
    X = dx.sympy_bridge.symbol("x")
    for order in range(0, 6):
        ours = dx.evaluate(dx.diff(f, "x", order=order), {"x": 0.3})
        theirs = float(sp.diff(dx.to_sympy(f), X, order).subs(X, 0.3))
        assert ours == pytest.approx(theirs, rel=1e-12)


def test_to_sympy_is_linear_in_the_dag_and_keeps_sharing():
    f = logistic(200)           # its tree has ~2**200 nodes; a memo converts each DAG node once
    expr = dx.to_sympy(f)
    back = dx.from_sympy(expr)  # and back, again once per shared subexpression
    # SymPy flattens nested products (its form grows about quadratically); nothing like the tree's 10**61.
    assert dx.size(back).dag_nodes < 200 ** 2
    assert dx.evaluate(back, {"x": 0.75}) == 0.75      # 0.75 is a fixed point of the map, exactly


@pytest.mark.parametrize("text", ["exp(x)", "log(x)", "sin(x)", "cos(x)", "tan(x)", "tanh(x)", "sqrt(x)",
                                  "abs(x)", "sign(x)", "x**y", "x/y", "x - y", "-x", "maximum(x, y)",
                                  "minimum(x, y)", "step(x)", "relu(x)", "sigmoid(x)"])
def test_from_sympy_inverts_to_sympy_for_every_function(text):
    f = dx.parse(text)
    back = dx.from_sympy(dx.to_sympy(f))
    for at in ({"x": 0.7, "y": 1.9}, {"x": 2.5, "y": 0.4}):
        assert dx.evaluate(back, at) == pytest.approx(dx.evaluate(f, at), rel=1e-14)


def test_from_sympy_names_an_unknown_function():
    with pytest.raises(dx.DiffexploreError, match="asinh"):
        dx.from_sympy(sp.asinh(sp.Symbol("x")))


@pytest.mark.parametrize("name", [name for name, function in FUNCTIONS.items()
                                  if function.rule.partials is not None and not function.rule.user_defined])
def test_from_sympy_inverts_to_sympy_for_every_public_primitive_of_the_rule_table(name):
    operands = dx.variables("x y z")[:PRIMITIVES[name].arity]
    f = FUNCTIONS[name](*operands)
    back = dx.from_sympy(dx.to_sympy(f))
    for at in ({"x": 0.7, "y": 1.9, "z": -0.3}, {"x": 2.5, "y": 0.4, "z": 1.1}):
        assert dx.evaluate(back, at) == pytest.approx(dx.evaluate(f, at), rel=1e-14)


def test_from_sympy_lists_the_functions_of_the_rule_table_it_knows():
    with pytest.raises(dx.DiffexploreError, match=r"known: Add, Mul, Pow, .*\bsin\b.*\bAbs\b.*numbers"):
        dx.from_sympy(sp.floor(sp.Symbol("x")))


def test_simplify_returns_a_node_and_cse_keeps_sharing():
    assert dx.simplify(dx.parse("sin(x)**2 + cos(x)**2")) is dx.constant(1.0)
    text = dx.cse_form(dx.diff(dx.parse("exp(sin(x*y))"), "x"))
    assert text.count("x*y") == 1


def test_a_sympy_step_past_its_budget_is_reported_as_timed_out():
    big = dx.to_sympy(dx.diff(logistic(12), "x"))
    with pytest.raises(dx.SympyTimeout, match="budget"):
        run_with_timeout(sp.expand, (big,), 0.05)
    with pytest.raises(dx.SympyTimeout):
        dx.simplify(dx.diff(logistic(12), "x"), timeout=0.05)


def test_latex():
    assert dx.latex(dx.parse("sqrt(x)")) == r"\sqrt{x}"


def test_grad_symbolic_equals_reverse_on_the_seed():
    at = {"x": 1.1, "y": 0.3}
    sym = dx.grad(dx.parse(SEED), at, method="symbolic")
    rev = dx.grad(dx.parse(SEED), at)
    for k in sym:
        assert sym[k] == pytest.approx(rev[k], rel=1e-12)
