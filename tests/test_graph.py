"""The shared DAG: hash-consing, structure as written, iterative traversal, sizes counted exactly."""

import math

import pytest

import diffexplore as dx

SEED = "1 + x + exp(sin(x*y))"


def test_same_operation_on_same_arguments_is_one_node():
    x, y = dx.variables("x y")
    assert x * y is x * y
    assert dx.sin(x * y) is dx.sin(x * y)
    assert (x * y) is not (y * x)          # structure is kept as written: no reordering


def test_parse_builds_the_same_shared_nodes_as_operators():
    x, y = dx.variables("x y")
    assert dx.parse(SEED) is 1 + x + dx.exp(dx.sin(x * y))
    assert dx.parse("x**y") is x ** y
    assert dx.parse("-x / 2") is (-x) / 2
    assert dx.parse("2 - -x") is 2 - (-x)


def test_seed_example_has_the_eight_nodes_of_the_figure():
    f = dx.parse(SEED)
    order = dx.nodes(f)
    assert len(order) == 8
    labels = sorted(dx.formula(n) for n in order)
    assert labels == sorted(["x", "y", "1", "x*y", "sin(x*y)", "exp(sin(x*y))", "1 + x", SEED])
    assert f.op == "add" and f.args[0].op == "add" and f.args[1].op == "exp"


def test_topological_order_puts_every_argument_before_its_user():
    f = dx.parse("sin(x*y) * (x*y) + log(1 + x*x)")
    position = {n: i for i, n in enumerate(dx.nodes(f))}
    for n in position:
        for a in n.args:
            assert position[a] < position[n]


def test_nodes_are_immutable_and_results_live_outside_them():
    x = dx.variable("x")
    f = x * x
    with pytest.raises(AttributeError):
        f.value_cache = 1.0
    dx.reverse(f, {"x": 3.0})
    assert dx.reverse(f, {"x": 3.0}).gradient == {"x": 6.0}   # a second sweep does not double it


def test_tree_size_is_counted_exactly_without_expanding():
    x = dx.variable("x")
    f = x
    for _ in range(60):
        f = f * f                      # a DAG of 61 nodes whose tree has 2**61 - 1 nodes
    s = dx.size(f)
    assert s.dag_nodes == 61
    assert s.tree_nodes == 2 ** 61 - 1
    assert s.ops == 60 and s.depth == 60


def test_million_node_chain_evaluates_and_differentiates_without_recursion():
    x = dx.variable("x")
    c = dx.constant(1.0000001)
    f = x
    for _ in range(1_000_000):
        f = f * c                     # a chain of a million multiplications
    assert dx.size(f).depth == 1_000_000
    expected = 1.0000001 ** 1_000_000
    assert dx.evaluate(f, {"x": 1.0}) == pytest.approx(expected, rel=1e-9)
    assert dx.grad(f, {"x": 1.0})["x"] == pytest.approx(expected, rel=1e-9)
    assert dx.grad(f, {"x": 1.0}, method="forward")["x"] == pytest.approx(expected, rel=1e-9)


def test_formula_text_parses_back_to_the_same_node():
    for text in [SEED, "x - (y - x)", "x/(y*x)", "(-x)**2", "-x**2", "x**y**2", "(x**y)**2",
                 "x*(-y)", "-(x*y)", "2**-x", "sin(x)/-2"]:
        f = dx.parse(text)
        assert dx.parse(dx.formula(f)) is f, text


def test_comparisons_on_nodes_point_to_trace():
    x = dx.variable("x")
    with pytest.raises(dx.DiffexploreError, match="dx.trace"):
        if x > 0:
            pass


def test_constants_and_pi():
    assert dx.evaluate(dx.parse("2*pi"), {}) == 2 * math.pi
    assert dx.parse("-2").is_constant and dx.parse("-2").value == -2.0
