"""Show: a size table in place of a view too large to draw.

Above ``max_nodes`` a drawing stops being readable and Graphviz's layout time grows quickly, so the view
is replaced by one table: how many nodes the graph has (as a DAG and written out as a tree), its depth,
its operations by count, and the view's headline numbers (the value, the gradient). The returned note
says what was summarised and how to draw it anyway.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence

from ..graph import Node, nodes, size
from .views import Box, Row, View

__all__ = ["summary_view", "format_count", "MAX_OPERATION_ROWS"]

#: Operations listed by name in the table; the rest are counted together.
MAX_OPERATION_ROWS = 8


def format_count(count: int) -> str:
    """An exact count with thousands separators, or in powers of ten when it is astronomically large.

    >>> format_count(1234567), format_count(3 * 10 ** 40)
    ('1,234,567', '3.000e40')
    """
    if count < 10 ** 15:
        return f"{count:,}"
    mantissa, exponent = f"{float(count):.3e}".split("e")
    return f"{mantissa}e{int(exponent)}"


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
    order = nodes(*roots)
    measures = size(*roots)
    counts = Counter(n.op for n in order if n.args)
    rows = [Row((f"not drawn: {len(order):,} nodes > max_nodes = {max_nodes}",), "heading"),
            Row(("nodes (shared DAG)", format_count(measures.dag_nodes))),
            Row(("nodes written as a tree", format_count(measures.tree_nodes))),
            Row(("operations", format_count(measures.ops))),
            Row(("inputs", format_count(sum(1 for n in order if n.is_variable)))),
            Row(("depth", format_count(measures.depth)))]
    ranked = sorted(counts.items(), key=lambda item: (-item[1], item[0]))
    for op, count in ranked[:MAX_OPERATION_ROWS]:
        rows.append(Row((f"  {op}", format_count(count)), "dim"))
    rest = sum(count for _op, count in ranked[MAX_OPERATION_ROWS:])
    if rest:
        rows.append(Row(("  other operations", format_count(rest)), "dim"))
    rows.extend(Row((label, value), "bold") for label, value in headline)
    box = Box(key="summary", expression="", rows=tuple(rows), kind="table")
    note = (f"{name} view: {len(order):,} nodes, more than max_nodes = {max_nodes}; drawn as a size table. "
            f"Pass max_nodes={len(order)} (--max-nodes {len(order)}) to draw it.")
    return View(name, tuple(title), (box,)), note
