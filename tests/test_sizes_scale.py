"""Sizes at scale: tree counts from one floating-point pass agree with the exact integers, print as a
mantissa and a power of ten, and a million-node graph's size table fits in memory.

The tree count of a node is 1 plus the counts of its arguments (each shared node counted once per path).
``tree_measures`` keeps it as m·2^(512e), a float m and an integer block e, so its relative error grows
by at most 2^-53 per addition; the exact integers come from ``exact_tree_count``.
"""

import json
import math
import random
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from hypothesis import given

import diffexplore as dx
from diffexplore import sizes as sizes_module
from diffexplore.formula import formula
from diffexplore.sizes import (
    EXACT_BELOW,
    TreeCount,
    exact_tree_count,
    format_count,
    format_log10,
    log10_count,
    tree_measures,
)
from tests.strategies import expressions

ROOT = Path(__file__).resolve().parents[1]
GIGABYTE = 2 ** 30


class Vertex:
    """A bare DAG node (compared by identity, like the graph's nodes): any arity, no rule."""

    def __init__(self, *args: "Vertex") -> None:
        self.args = args


def random_dag(seed: int, size: int, widest: int = 4) -> list[Vertex]:
    """A random DAG in topological order whose arguments are mostly among the last few nodes, so counts
    grow exponentially (past 10^600: several 2^512 blocks)."""
    rng = random.Random(seed)
    order = [Vertex() for _ in range(3)]
    while len(order) < size:
        arity = rng.choice([1, 2, 2, 3, widest])
        picks = [order[max(0, len(order) - 1 - int(rng.expovariate(1.0)))] for _ in range(arity)]
        order.append(Vertex(*picks))
    return order


def count_id(value):
    """Test ids for counts too long for str()."""
    return format_count(value) if isinstance(value, int) else None


def agree(estimate: TreeCount, exact: int) -> None:
    """The estimate is the exact count below 10^15, else within 1e-12 relative and its error bound."""
    if exact < EXACT_BELOW:
        assert estimate.exact == exact
        return
    gap = estimate.log10 - log10_count(exact)
    assert abs(gap) <= estimate.error + 1e-15
    assert abs(math.expm1(gap * math.log(10))) <= 1e-12


def logistic(steps: int) -> dx.Node:
    """l ← 2.5·l·(1 − l): 3 nodes a step, 6·2^steps − 5 nodes as a tree."""
    term = dx.variable("x")
    for _ in range(steps):
        term = 2.5 * term * (1 - term)
    return term


# ---- the floating-point pass against exact integers ---------------------------------------------------


@pytest.mark.parametrize("steps", [1, 40, 45, 300, 1000, 3000])
def test_log_space_tree_count_of_the_logistic_map_equals_six_times_two_to_the_n_minus_five(steps):
    f = logistic(steps)
    measures = tree_measures(dx.nodes(f), [f])
    agree(measures.tree, 6 * 2 ** steps - 5)
    assert (measures.dag_nodes, measures.ops, measures.depth) == (3 * steps + 3, 3 * steps, 2 * steps)


@pytest.mark.parametrize("seed", range(6))
def test_log_space_tree_counts_of_random_dags_agree_with_exact_counts(seed):
    order = random_dag(seed, 3000, widest=3 + seed)
    roots = order[-3:] + [order[len(order) // 2]]
    measures = tree_measures(order, roots)
    exact = exact_tree_count(order, roots)
    assert exact > 10 ** 600                       # four blocks of 2^512 crossed
    agree(measures.tree, exact)


@given(expressions())
def test_log_space_tree_counts_of_random_expressions_are_exact(f):
    """Expressions from the rule table are small: their counts stay exact integers."""
    order = dx.nodes(f)
    assert tree_measures(order, [f]).tree.exact == exact_tree_count(order, [f]) == dx.size(f).tree_nodes


def test_squaring_two_thousand_times_crosses_blocks_exactly_at_powers_of_two():
    """f = f·f from x: 2^(k+1) − 1 nodes after k squarings; every block boundary 2^512 is crossed."""
    order = [Vertex()]
    for _ in range(2000):
        order.append(Vertex(order[-1], order[-1]))
    for k in (10, 49, 50, 511, 512, 1023, 1024, 2000):
        agree(tree_measures(order[:k + 1], [order[k]]).tree, 2 ** (k + 1) - 1)


# ---- Size: cheap by default, exact on request ---------------------------------------------------------


def test_size_counts_the_tree_exactly_only_when_tree_nodes_is_read(monkeypatch):
    calls = []
    exact_tree = sizes_module._exact_tree

    def counted(*args):
        calls.append(1)
        return exact_tree(*args)

    monkeypatch.setattr(sizes_module, "_exact_tree", counted)
    f = logistic(2000)
    s = dx.size(f)
    assert calls == [] and s.tree.exact is None
    assert s.tree.text() == "6.9e+602" and s.tree_log10 == pytest.approx(log10_count(6 * 2 ** 2000 - 5))
    assert s.tree_nodes == 6 * 2 ** 2000 - 5 and calls == [1]
    assert s.tree_nodes == 6 * 2 ** 2000 - 5 and calls == [1]          # counted once, then kept
    assert (s.dag_nodes, s.ops, s.depth) == (6003, 6000, 4000)


def test_size_below_ten_to_the_fifteen_is_exact_without_a_second_count(monkeypatch):
    monkeypatch.setattr(sizes_module, "_exact_tree", None)             # never called
    s = dx.size(logistic(40))
    assert s.tree.exact == s.tree_nodes == 6 * 2 ** 40 - 5
    assert dx.size(logistic(2), logistic(3)).tree_nodes == (6 * 4 - 5) + (6 * 8 - 5)


# ---- printing: a mantissa and a power of ten ----------------------------------------------------------


@pytest.mark.parametrize("n, digits, text", [
    (6 * 2 ** 2000 - 5, 2, "6.9e+602"), (10 ** 15, 2, "1.0e+15"), (996 * 10 ** 18, 2, "1.0e+21"),
    (3 * 10 ** 40, 4, "3.000e+40"), (6 * 2 ** 10 ** 6 - 5, 6, "5.94039e+301030"),
], ids=count_id)
def test_log_space_counts_print_as_a_mantissa_and_a_power_of_ten(n, digits, text):
    assert format_log10(log10_count(n), digits) == format_count(n, digits) == text


def test_an_estimate_near_a_rounding_boundary_is_marked_approximate():
    """1.25e+40 rounds to 1.3e+40, but an estimate that may be 1.2499e+40 cannot say which: ≈."""
    boundary = math.log10(1.25) + 40
    assert format_log10(boundary + 1e-4, error=1e-9) == "1.3e+40"
    assert format_log10(boundary - 1e-4, error=1e-9) == "1.2e+40"
    assert format_log10(boundary, error=1e-9).startswith("≈")
    assert TreeCount(None, boundary + 1e-4, error=1e-3).text() == "≈1.3e+40"


def test_random_huge_counts_print_the_same_from_their_log10():
    rng = random.Random(1)
    for bits in (60, 1000, 70_000):
        for _ in range(5):
            n = rng.getrandbits(bits) | (1 << (bits - 1))
            if n >= EXACT_BELOW:
                text = format_log10(log10_count(n), 6, error=1e-13)
                assert text.lstrip("≈") == format_count(n, 6)


@given(expressions())
def test_a_cut_formula_is_the_start_of_the_whole_formula(f):
    """formula(f, max_length) writes only the start (no lengths measured): the same text as cutting."""
    whole = formula(f)
    for length in range(1, len(whole) + 2):
        cut = formula(f, max_length=length)
        assert cut == (whole if len(whole) <= length else whole[:length - 1] + "…")


# ---- a million nodes: the size table in a child process, its peak memory measured ---------------------

CHILD = textwrap.dedent("""
    import json, sys
    import diffexplore as dx

    def peak_kilobytes():
        # This process's own high-water mark: ru_maxrss would count the parent's memory at the fork.
        with open("/proc/self/status") as status:
            return next(int(line.split()[1]) for line in status if line.startswith("VmHWM:"))

    kind = sys.argv[1]
    term = dx.variable("x")
    for _ in range(333_333):
        term = dx.sin(term) * term + 0.5 if kind == "chain" else 2.5 * term * (1 - term)
    source = dx.to_dot(term, views="original")
    s = dx.size(term)
    table = [line for line in source.splitlines() if "nodes written as a tree" in line]
    print(json.dumps({"table": table[0], "size": [s.dag_nodes, s.ops, s.depth], "tree": s.tree.text(6),
                      "peak": peak_kilobytes()}))
""")

MILLION_NODE_GRAPHS = {
    "chain": (1_000_001, 999_999, 999_999, 5 * 2 ** 333_333 - 4),       # sin(l)·l + 0.5: t ← 2t + 4
    "logistic": (1_000_002, 999_999, 666_666, 6 * 2 ** 333_333 - 5),    # 2.5·l·(1 − l): t ← 2t + 5
}


@pytest.fixture(scope="module")
def million_node_children():
    """Each graph drawn and sized in its own child process, the two side by side; their last lines."""
    children = {kind: subprocess.Popen([sys.executable, "-c", CHILD, kind], stdout=subprocess.PIPE,
                                       stderr=subprocess.PIPE, text=True, cwd=ROOT)
                for kind in MILLION_NODE_GRAPHS}
    results = {}
    for kind, child in children.items():
        out, err = child.communicate(timeout=600)
        assert child.returncode == 0, err
        results[kind] = json.loads(out.strip().splitlines()[-1])
    return results


@pytest.mark.slow
@pytest.mark.parametrize("kind", MILLION_NODE_GRAPHS)
def test_a_million_node_size_table_is_drawn_within_a_gigabyte(million_node_children, kind):
    """The original view of a million-node graph becomes a size table whose tree count (10^100343, far
    past what a float holds) is printed with the exact count's leading digits; the whole child process,
    graph included, peaks under 1 GB (VmHWM, its own resident high-water mark)."""
    dag_nodes, ops, depth, tree = MILLION_NODE_GRAPHS[kind]
    result = million_node_children[kind]
    assert result["peak"] * 1024 < GIGABYTE
    assert f">{dag_nodes:,}<" in result["table"] and f">{depth:,}<" in result["table"]
    assert f">{format_count(tree, 2)}<" in result["table"]
    assert result["size"] == [dag_nodes, ops, depth]
    assert result["tree"] == format_count(tree, 6)
