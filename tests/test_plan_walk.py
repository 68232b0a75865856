"""The compiled planning walk (diffexplore/_planwalk.c) against the same walk in Python.

Both must give the same plan, list for list, on every graph: random expressions from the whole rule
table, arrays with broadcasting and attributes, operations of three arguments, variables asked for or
not (``wrt``), plans for the symbolic sweeps (no implementations); and neither may keep a reference it
should not.
"""

from __future__ import annotations

import gc
import os
import shutil
import subprocess
import sys
import sysconfig
import tracemalloc

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import diffexplore as dx
from diffexplore import plan as plan_module
from diffexplore.graph import PRIMITIVES, Node
from diffexplore.plan import MANY, _bind_attr, _rule_facts, _terms, _walk_in_python, compiled_walk

from .strategies import expressions

needs_compiled = pytest.mark.skipif(compiled_walk is None, reason="the compiled walk was not built here")


def _walk(walk, roots, wrt=None, evaluation=True, rule_facts=_rule_facts):
    return walk(list(roots), PRIMITIVES["var"], PRIMITIVES["const"], wrt, evaluation, rule_facts, _bind_attr,
                _terms, plan_module._NOT_YET, MANY, Node)


def _same_impl(a, b) -> bool:
    """The same implementation: the rule's own, or the rule's bound to the same attribute."""
    if a is b:
        return True
    cells = lambda f: [c.cell_contents for c in f.__closure__ or ()]
    return (callable(a) and callable(b) and a.__code__ is b.__code__
            and all(x is y or x == y for x, y in zip(cells(a), cells(b), strict=True)))


def _same_value(a, b) -> bool:
    if isinstance(a, np.ndarray) or isinstance(b, np.ndarray):
        return np.array_equal(a, b) and np.shape(a) == np.shape(b)
    return a == b or (a != a and b != b)


def assert_same_walks(roots, wrt=None, evaluation=True):
    """The Python and the compiled walk give equal plans of ``roots``."""
    python = _walk(_walk_in_python, roots, wrt, evaluation)
    compiled = _walk(compiled_walk, roots, wrt, evaluation)
    order_p, roots_p, active_p, constants_p, variables_p, names_p, ops_p, terms_p, absorbing_p = python
    order_c, roots_c, active_c, constants_c, variables_c, names_c, ops_c, terms_c, absorbing_c = compiled
    assert len(order_p) == len(order_c) == len(set(map(id, order_c)))  # each node once
    assert all(a is b for a, b in zip(order_p, order_c, strict=True))  # in the same order
    assert roots_p == roots_c
    assert all(order_c[slot] is root for slot, root in zip(roots_c, roots, strict=True))
    assert active_p == active_c and all(type(a) is bool for a in active_c)
    assert variables_p == variables_c and absorbing_p == absorbing_c
    assert names_p == names_c == [node.name for node in order_c if node.op == "var"]
    assert [s for s, _ in constants_p] == [s for s, _ in constants_c]
    assert all(_same_value(a, b) for (_, a), (_, b) in zip(constants_p, constants_c, strict=True))
    assert len(ops_p) == len(ops_c)
    for op_p, op_c in zip(ops_p, ops_c, strict=True):
        assert op_p[1:] == op_c[1:]
        assert _same_impl(op_p[0], op_c[0]) if evaluation else op_p[0] is op_c[0] is None
    assert terms_p == terms_c
    for t_p, t_c in zip(terms_p, terms_c, strict=True):
        assert getattr(t_p, "fused", None) == getattr(t_c, "fused", None)
    return compiled


@needs_compiled
@settings(max_examples=150)
@given(expressions(), st.sampled_from([None, frozenset("x"), frozenset("yz"), frozenset()]), st.booleans())
def test_both_walks_give_the_same_plan_of_random_expressions(f, wrt, evaluation):
    assert_same_walks([f], wrt, evaluation)


@needs_compiled
@settings(max_examples=40)
@given(st.lists(expressions(max_leaves=4), min_size=1, max_size=4))
def test_both_walks_give_the_same_plan_of_several_roots(roots):
    assert_same_walks(plan_module._flat_roots(roots + [roots[0], 2.5]))


def _array_graphs() -> dict[str, list]:
    """Array graphs: broadcasting (shared terms by shape), attributes (bound implementations), vjp
    rules, three-argument operations, constants that are arrays."""
    a = dx.variable("a", shape=(3,))
    m = dx.variable("m", shape=(2, 3))
    s = dx.variable("s")
    w = np.arange(6.0).reshape(3, 2)
    broadcast = dx.tanh(m * a + s) * a - m / (1.0 + a * a)
    reduced = dx.sum(dx.exp(m) @ w, axis=0) + dx.sum(m * m)
    chosen = dx.select(dx.greater(a, s), a * s, a + np.array([1.0, 2.0, 3.0]))
    sliced = m[0] * m[1] + m.T[1][0]
    return {"broadcast": [dx.sum(broadcast)], "reduced": [dx.sum(reduced)], "select": [dx.sum(chosen)],
            "sliced": [dx.sum(sliced), sliced]}


@needs_compiled
@pytest.mark.parametrize("name", sorted(_array_graphs()))
@pytest.mark.parametrize("wrt", [None, frozenset({"a"}), frozenset({"m", "s"})])
@pytest.mark.parametrize("evaluation", [True, False])
def test_both_walks_give_the_same_plan_of_array_graphs(name, wrt, evaluation):
    order, *_rest, ops, _terms, _absorbing = assert_same_walks(_array_graphs()[name], wrt, evaluation)
    assert len(order) == len(ops) + sum(1 for node in order if not node.args)


@needs_compiled
def test_a_shared_subexpression_and_a_repeated_argument_are_numbered_once():
    x, y = dx.variables("x y")
    shared = dx.sin(x * y)
    f = shared * shared + x * x
    order, roots, active, _constants, variables, names, ops, _terms, _absorbing = assert_same_walks(
        [f, shared, x])
    assert [n.op for n in order] == ["var", "var", "mul", "sin", "mul", "mul", "add"] and roots == [6, 3, 0]
    assert variables == [0, 1] and names == ["x", "y"] and active == [True] * 7
    assert ops[1][1:] == (2, None, 3) and ops[2][1:] == (3, 3, 4) and ops[3][1:] == (0, 0, 5)


@needs_compiled
def test_a_long_chain_needs_no_recursion():
    x = dx.variable("x")
    f = x
    for _ in range(200_000):
        f = dx.sin(f)
    order, roots, active, *_ = _walk(compiled_walk, [f])
    assert len(order) == 200_001 and roots == [200_000] and order[-1] is f and all(active)


@needs_compiled
def test_an_error_raised_while_walking_reaches_the_caller_and_nothing_leaks():
    x, y = dx.variables("x y")
    f = dx.exp(x * y) + dx.sin(x)

    def broken_facts(rule, evaluation):
        if rule.name == "sin":
            raise LookupError("no facts for sin")
        return _rule_facts(rule, evaluation)

    for walk in (_walk_in_python, compiled_walk):
        with pytest.raises(LookupError, match="no facts for sin"):
            _walk(walk, [f], rule_facts=broken_facts)
    before = sys.getrefcount(x), sys.getrefcount(f), sys.getrefcount(PRIMITIVES["sin"])
    for _ in range(50):
        with pytest.raises(LookupError):
            _walk(compiled_walk, [f], rule_facts=broken_facts)
    assert (sys.getrefcount(x), sys.getrefcount(f), sys.getrefcount(PRIMITIVES["sin"])) == before


@needs_compiled
def test_walking_again_and_again_keeps_no_memory():
    x, y = dx.variables("x y")
    f = x
    for i in range(2000):
        f = dx.tanh(f * y + i) if i % 2 else f * f - x
    _walk(compiled_walk, [f])                     # first-time allocations (interned ints, caches)
    gc.collect()
    tracemalloc.start()
    try:
        start = tracemalloc.get_traced_memory()[0]
        for _ in range(30):
            _walk(compiled_walk, [f], frozenset({"y"}))
        gc.collect()
        grown = tracemalloc.get_traced_memory()[0] - start
    finally:
        tracemalloc.stop()
    assert grown < 64_000, f"30 walks of a 6,000-node graph left {grown} bytes behind"


def test_the_compiled_walk_is_in_use_where_a_c_compiler_is():
    """`make test` installs the package with the C compiler it finds, so the compiled walk must be built
    and in use; DIFFEXPLORE_PURE_PYTHON=1 switches to the Python walk."""
    compiler = (sysconfig.get_config_var("CC") or "cc").split()[0]
    if shutil.which(compiler) is None:
        pytest.skip(f"no C compiler ({compiler}) on this machine: the Python walk plans here")
    assert compiled_walk is not None, "diffexplore/_planwalk.c was not built: reinstall with `make setup`"
    assert plan_module.walk is compiled_walk or plan_module._python_asked
    code = "import diffexplore.plan as p; print(p.walk is p._walk_in_python)"
    for setting, python_walk in (("1", "True"), ("0", "False")):
        env = {**os.environ, "DIFFEXPLORE_PURE_PYTHON": setting}
        out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env,
                             check=True)
        assert out.stdout.strip() == python_walk


def test_gradients_are_the_same_with_either_walk(monkeypatch):
    """The walk decides the plan, the plan decides every number: both walks, bit for bit."""
    x, y = dx.variables("x y")
    f = dx.exp(dx.sin(x * y) + x) / (1 + y * y) - dx.log(1 + x * x) * y
    at = {"x": 0.7, "y": -1.3}
    results = []
    for walk in (_walk_in_python, compiled_walk or _walk_in_python):
        monkeypatch.setattr(plan_module, "walk", walk)
        plan_module.clear_plans()
        results.append((dx.grad(f, at), dx.evaluate(f, at)))
    plan_module.clear_plans()
    assert results[0] == results[1]
