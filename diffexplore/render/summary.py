"""Show: a size table in place of a view too large to draw.

Above ``max_nodes`` a drawing stops being readable and Graphviz's layout time grows quickly, so the view
is replaced by one table: how many nodes the graph has (as a DAG and written out as a tree), its depth,
its operations by count, and the view's headline numbers (the value, the gradient). The returned note
says what was summarised and how to draw it anyway.

Counts print with thousands separators, astronomically large ones as a power of ten (``6.9e+602``,
:func:`diffexplore.sizes.format_count`). The tree count is exact when that is quick
(:data:`SUMMARY_TREE_WORK`), otherwise estimated in log space and shown with ``≈``; every count's
memory is freed after its last use, so a million-node graph with 10⁵-digit counts fits.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence

from ..graph import Node, gc_paused, nodes
from ..sizes import format_count, tree_count
from .views import Box, Row, View

__all__ = ["summary_view", "MAX_OPERATION_ROWS", "SUMMARY_TREE_WORK"]

#: Operations listed by name in the table; the rest are counted together.
MAX_OPERATION_ROWS = 8
#: The work budget (bits added) of an exact tree count in a summary: about a third of a second.
SUMMARY_TREE_WORK = 10 ** 9


def _count(n: int) -> str:
    return format_count(n, separators=True)


def _depth(order: Sequence[Node]) -> int:
    depth: dict[Node, int] = {}
    for n in order:
        depth[n] = 1 + max(depth[a] for a in n.args) if n.args else 0
    return max(depth.values(), default=0)


def summary_view(name: str, title: Sequence[str], roots: Sequence[Node], max_nodes: int,
                 headline: Sequence[tuple[str, str]] = ()) -> tuple[View, str]:
    """A view holding one size table for the graph of ``roots``, and a note saying why.

    >>> import diffexplore as dx
    >>> x = dx.variable("x")
    >>> f = x
    >>> for _ in range(10):
    ...     f = dx.sin(f) * x
    >>> view, note = summary_view("original", ["original"], [f], max_nodes=5)
    >>> print(note)  # doctest: +NORMALIZE_WHITESPACE
    original view: 21 nodes, more than max_nodes = 5; drawn as a size table.
    Pass max_nodes=21 (--max-nodes 21) to draw it.
    >>> view.boxes[0].rows[1].cells
    ('nodes (shared DAG)', '21')
    """
    with gc_paused():
        order = nodes(*roots)
        tree = tree_count(order, list(roots), max_work=SUMMARY_TREE_WORK)
        depth = _depth(order)
    counts = Counter(n.op for n in order if n.args)
    rows = [Row((f"not drawn: {len(order):,} nodes > max_nodes = {max_nodes}",), "heading"),
            Row(("nodes (shared DAG)", _count(len(order)))),
            Row(("nodes written as a tree", tree.text(separators=True))),
            Row(("operations", _count(sum(counts.values())))),
            Row(("inputs", _count(sum(1 for n in order if n.is_variable)))),
            Row(("depth", _count(depth)))]
    ranked = sorted(counts.items(), key=lambda item: (-item[1], item[0]))
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
