"""Scale: graphs of a million nodes build, evaluate and differentiate (no recursion anywhere), the fast
paths of the interpreters give the numbers the rules give, and nothing large is kept by accident.
The million-node tests are marked slow; they still run in ``make test``."""

import gc
import importlib
import math
import sys
import weakref

import numpy as np
import pytest
from hypothesis import given

import diffexplore as dx

from .strategies import expressions, points

evaluate_module = importlib.import_module("diffexplore.plan")

MILLION = 10**6
FACTOR = 0.9999999


def chain(length: int) -> dx.Node:
    """x · c · c · … · c with ``length`` multiplications: value x·c^length, derivative c^length."""
    f = dx.variable("x")
    c = dx.constant(FACTOR)
    for _ in range(length):
        f = f * c
    return f


@pytest.mark.slow
def test_a_million_node_chain_builds_evaluates_and_differentiates_every_way():
    """A chain 1000 times deeper than Python's recursion limit: value, reverse, forward and symbolic
    derivatives all equal the closed forms x·c^n and c^n."""
    assert MILLION > 100 * sys.getrecursionlimit()
    f = chain(MILLION)
    size = dx.size(f)
    assert (size.dag_nodes, size.ops, size.depth) == (MILLION + 2, MILLION, MILLION)
    at = {"x": 0.3}
    power = FACTOR ** MILLION
    assert dx.evaluate(f, at) == pytest.approx(0.3 * power, rel=1e-9)
    assert dx.grad(f, at)["x"] == pytest.approx(power, rel=1e-9)
    assert dx.grad(f, at, method="forward")["x"] == pytest.approx(power, rel=1e-9)
    derivative = dx.diff(f, "x")
    assert dx.evaluate(derivative, at) == pytest.approx(power, rel=1e-9)


@pytest.mark.slow
def test_a_million_node_logistic_map_gradient_follows_the_recurrence():
    """333,333 steps of l ← 3.2·l·(1 − l) (a million nodes): reverse mode equals the forward recurrence
    dl_k/dx = 3.2·(1 − 2·l_{k−1})·dl_{k−1}/dx computed with plain floats (r = 3.2 keeps it finite)."""
    steps = MILLION // 3
    term = dx.variable("x")
    for _ in range(steps):
        term = 3.2 * term * (1 - term)
    value, tangent = 0.3, 1.0
    for _ in range(steps):
        value, tangent = 3.2 * value * (1 - value), 3.2 * (1 - 2 * value) * tangent
    assert len(dx.nodes(term)) > 0.99 * MILLION       # (size() would also count the 10^160000-node tree)
    assert dx.evaluate(term, {"x": 0.3}) == value
    assert dx.grad(term, {"x": 0.3})["x"] == pytest.approx(tangent, rel=1e-6, abs=1e-300)


@pytest.mark.slow
def test_a_hundred_thousand_node_graph_compiles_and_runs():
    """The compiled program of a 10^5-node chain (2·10^5 lines) equals the closed form."""
    f = chain(10**5)
    c = dx.compile(f)
    value, gradient = c.value_and_gradient({"x": 0.3})
    assert value == pytest.approx(0.3 * FACTOR ** 10**5, rel=1e-10)
    assert gradient["x"] == pytest.approx(FACTOR ** 10**5, rel=1e-10)


def test_ten_thousand_inputs_get_their_gradient_from_one_sweep():
    """∂(x1⋯xn)/∂xi = (x1⋯xn)/xi for n = 10^4 inputs, by reverse mode and by wrt= naming all of them."""
    n = 10_000
    names = [f"x{i}" for i in range(n)]
    f = dx.variable(names[0])
    for name in names[1:]:
        f = f * dx.variable(name)
    at = {name: 1.0 + 1e-5 * (i % 7) for i, name in enumerate(names)}
    product = math.prod(at.values())
    gradient = dx.grad(f, at, wrt=names)
    for name in names[::997]:
        assert gradient[name] == pytest.approx(product / at[name], rel=1e-12)
    assert len(gradient) == n


@given(expressions(), points)
def test_recorded_partials_are_what_the_rules_partials_give(f, at):
    """The sweeps read some partials instead of calling them (add's 1, mul's other argument): every
    recorded edge partial equals the rule's partial called on the primal values."""
    r = dx.reverse(f, at)
    primals = r.primals
    for (node, pos), local in r.partials.items():
        partial = node.rule.partials[pos]
        called = partial(*[primals[a] for a in node.args], primals[node])
        assert local == called or (math.isnan(local) and math.isnan(called))


@given(expressions(), points)
def test_forward_and_reverse_still_agree(f, at):
    forward = dx.grad(f, at, method="forward")
    for name, value in dx.grad(f, at).items():
        assert value == pytest.approx(forward[name], rel=1e-12, abs=1e-12)


def test_symbolic_gradient_of_many_inputs_uses_one_plan_and_keeps_the_cache():
    """dx.grad(method="symbolic") with 12 inputs equals reverse mode and does not push other graphs'
    plans out of the cache (it evaluates all 12 derivative graphs with one uncached plan)."""
    names = [f"x{i}" for i in range(13)]
    xs = dx.variables(" ".join(names))
    f = sum(xs[i] * dx.sin(xs[i + 1]) for i in range(12))
    at = {name: 0.1 * i for i, name in enumerate(names)}
    other = dx.parse("u*v + 1")
    dx.evaluate(other, {"u": 1.0, "v": 2.0})
    before = list(evaluate_module._plans)
    symbolic = dx.grad(f, at, method="symbolic")
    reverse = dx.grad(f, at)
    assert symbolic.keys() == reverse.keys()
    for name in names:
        assert symbolic[name] == pytest.approx(reverse[name], rel=1e-14)
    assert other in evaluate_module._plans
    assert len(evaluate_module._plans) <= len(before) + 1      # only f's own plan was added


def test_a_dropped_graph_is_freed_with_its_hash_cons_entries():
    """Hash-consing keeps no graph alive: once the last reference goes, the nodes are freed, and building
    the same expression again makes new nodes."""
    x = dx.variable("x")
    f = dx.exp(x * 1.2345678) + 9.87654321
    watcher = weakref.ref(f)
    first_id = f.id
    del f
    gc.collect()
    evaluate_module._plans.clear()
    assert watcher() is None
    again = dx.exp(x * 1.2345678) + 9.87654321
    assert again.id != first_id


def test_batch_and_scalar_reverse_sweeps_agree():
    """The lean backward sweep works on NumPy arrays of points as on floats."""
    f = dx.parse("x*y + sin(x)*exp(y) - y/(1 + x*x)")
    xs, ys = np.linspace(-1, 1, 11), np.linspace(2, -2, 11)
    batch = dx.grad(f, {"x": xs, "y": ys})
    for k in range(11):
        single = dx.grad(f, {"x": float(xs[k]), "y": float(ys[k])})
        assert batch["x"][k] == pytest.approx(single["x"], rel=1e-14)
        assert batch["y"][k] == pytest.approx(single["y"], rel=1e-14)
