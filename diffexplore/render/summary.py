"""Show: a size table in place of a view too large to draw.

Above ``max_nodes`` a drawing stops being readable and Graphviz's layout time grows quickly, so the view
is replaced by one table: how many nodes the graph has (as a DAG and written out as a tree), its depth,
its operations by count, and the view's headline numbers (the value, the gradient). The returned note
says what was summarised and how to draw it anyway.

Counts print with thousands separators, astronomically large ones as a power of ten (``6.9e+602``).
Everything comes from one pass over the graph (:func:`diffexplore.sizes.tree_measures`): the tree count
is exact below 10¹⁵ and otherwise computed in floating point with an exact power of two, so a
million-node graph whose tree has 10⁵ digits is summarised in about a second, and no integer longer
than a float is ever made. ``≈`` marks a count whose last printed digit the rounding leaves open.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence

from ..graph import Node, gc_paused, nodes
from ..sizes import format_count, tree_measures
from .views import Box, Row, View

__all__ = ["summary_view", "MAX_OPERATION_ROWS"]

#: Operations listed by name in the table; the rest are counted together.
MAX_OPERATION_ROWS = 8


def _count(n: int) -> str:
    return format_count(n, separators=True)


def _by_operation(order: Sequence[Node]) -> tuple[list[tuple[str, int]], int]:
    """Operation names with their node counts, most frequent first (ties by name), and the number of
    input variables: one count per primitive, split by arity (leaves have none)."""
    with gc_paused():
        by_rule = Counter(node.rule for node in order)
    operations = Counter()
    for rule, count in by_rule.items():
        if rule.arity:
            operations[rule.name] += count
    inputs = sum(count for rule, count in by_rule.items() if rule.name == "var")
    return sorted(operations.items(), key=lambda item: (-item[1], item[0])), inputs


def summary_view(name: str, title: Sequence[str], roots: Sequence[Node], max_nodes: int,
                 headline: Sequence[tuple[str, str]] = (),
                 order: Sequence[Node] | None = None) -> tuple[View, str]:
    """A view holding one size table for the graph of ``roots``, and a note saying why. ``order``: the
    graph's nodes (:func:`diffexplore.nodes` of the roots), when the caller has them already.

    >>> import diffexplore as dx
    >>> x = dx.variable("x")
    >>> f = x
    >>> for _ in range(10):
    ...     f = dx.sin(f) * x
    >>> view, note = summary_view("original", ["original"], [f], max_nodes=5)
    >>> print(note)  # doctest: +NORMALIZE_WHITESPACE
    original view: 21 nodes, more than max_nodes = 5; drawn as a size table.
    Pass max_nodes=21 (--max-nodes 21) to draw it.
    >>> view.boxes[0].rows[1].cells, view.boxes[0].rows[2].cells
    (('nodes (shared DAG)', '21'), ('nodes written as a tree', '31'))
    """
    with gc_paused():
        order = nodes(*roots) if order is None else order
        measures = tree_measures(order, list(roots))
    ranked, inputs = _by_operation(order)
    rows = [Row((f"not drawn: {len(order):,} nodes > max_nodes = {max_nodes}",), "heading"),
            Row(("nodes (shared DAG)", _count(len(order)))),
            Row(("nodes written as a tree", measures.tree.text(separators=True))),
            Row(("operations", _count(measures.ops))),
            Row(("inputs", _count(inputs))),
            Row(("depth", _count(measures.depth)))]
    for op, count in ranked[:MAX_OPERATION_ROWS]:
        rows.append(Row((f"  {op}", _count(count)), "dim"))
    rest = sum(count for _op, count in ranked[MAX_OPERATION_ROWS:])
    if rest:
        rows.append(Row(("  other operations", _count(rest)), "dim"))
    rows.extend(Row((label, value), "bold") for label, value in headline)
    box = Box(key="summary", expression="", rows=tuple(rows), kind="table")
    note = (f"{name} view: {len(order):,} nodes, more than max_nodes = {max_nodes}; drawn as a size table. "
            f"Pass max_nodes={len(order)} (--max-nodes {len(order)}) to draw it.")
    return View(name, tuple(title), (box,)), note
