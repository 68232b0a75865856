"""Show: views (plain data) to a Graphviz drawing, one cluster per view, left to right.

Pure functions: the same views always give byte-for-byte the same DOT text. Node identifiers are the
view's name and the node's short name (``adjoint_e``), never node ids. Labels are Graphviz HTML-like
tables; every piece of text is escaped here, once.

Rows are fixed here rather than left to Graphviz: each operation one row above its highest argument,
each leaf (input or constant) just below its lowest use; within a row, boxes keep the
topological order (arguments left to right), tied by invisible edges. Graphviz ignores its own
``ordering`` attribute once a drawing has several clusters, and views drawn from the same graph get the
same rows, so they line up side by side.
"""

from __future__ import annotations

import html
from collections.abc import Sequence

from .display import Drawing
from .views import Box, View

__all__ = ["to_drawing", "node_id", "NODE_STYLES", "ROW_COLOURS"]

FONT = "DejaVu Sans"

#: Box kinds to Graphviz node attributes.
NODE_STYLES: dict[str, dict[str, str]] = {
    "variable": {"style": "rounded,filled", "fillcolor": "#dbeafe", "color": "#1e40af"},
    "constant": {"style": "rounded,filled", "fillcolor": "#f3f4f6", "color": "#6b7280"},
    "operation": {"style": "rounded", "color": "#374151"},
    "shared": {"style": "rounded,filled", "fillcolor": "#e5e7eb", "color": "#6b7280"},
    "new": {"style": "rounded,filled", "fillcolor": "#fef3c7", "color": "#b45309"},
    "inactive": {"style": "rounded,dashed", "color": "#9ca3af", "fontcolor": "#6b7280"},
    "table": {"shape": "plain"},
}
#: Row styles to font colours (bold styles are listed in ``_BOLD``).
ROW_COLOURS = {"adjoint": "#b91c1c", "tangent": "#1d4ed8", "gradient": "#7f1d1d", "dim": "#6b7280",
               "memory": "#6d28d9"}
_BOLD = {"bold", "gradient", "heading"}
#: Arrow styles to Graphviz edge attributes.
EDGE_STYLES: dict[str, dict[str, str]] = {
    "data": {},
    "adjoint": {"color": "#b91c1c", "fontcolor": "#b91c1c"},
    "tangent": {"color": "#1d4ed8", "fontcolor": "#1d4ed8"},
    "inactive": {"color": "#9ca3af", "style": "dashed"},
}


def node_id(view: str, key: str) -> str:
    """The DOT identifier of a box: view name and short name.

    >>> node_id("adjoint", "e")
    'adjoint_e'
    """
    return f"{view}_{key}"


def _text(text: str, style: str) -> str:
    if not text:
        return ""                        # Graphviz rejects empty <B></B>
    text = html.escape(text, quote=False)
    if style in ROW_COLOURS:
        text = f'<FONT COLOR="{ROW_COLOURS[style]}">{text}</FONT>'
    if style in _BOLD:
        text = f"<B>{text}</B>"
    return text


def _box_label(box: Box) -> str:
    lines = []
    columns = max([len(row.cells) for row in box.rows] + [1])
    if box.kind != "table":
        head = f"<B>{html.escape(box.key)}</B> = {html.escape(box.expression, quote=False)}"
        lines.append(f"<TR><TD COLSPAN=\"{columns}\">{head}</TD></TR>" if columns > 1
                     else f"<TR><TD>{head}</TD></TR>")
    for row in box.rows:
        cells = []
        for k, cell in enumerate(row.cells):
            span = columns - len(row.cells) + 1 if k == len(row.cells) - 1 else 1
            align = "LEFT" if columns > 1 and k == 0 else ("RIGHT" if columns > 1 else "CENTER")
            attributes = f' ALIGN="{align}"' + (f' COLSPAN="{span}"' if span > 1 else "")
            cells.append(f"<TD{attributes}>{_text(cell, row.style)}</TD>")
        lines.append(f"<TR>{''.join(cells)}</TR>")
    border = ' BORDER="0" CELLPADDING="1"'
    if box.kind == "table":
        border = ' BORDER="1" COLOR="#6b7280" CELLPADDING="3"'
    return f'<<TABLE{border} CELLBORDER="0" CELLSPACING="0">{"".join(lines)}</TABLE>>'


def _title_label(title: Sequence[str]) -> str:
    lines = [f"<B>{html.escape(title[0], quote=False)}</B>"]
    lines.extend(html.escape(line, quote=False) for line in title[1:])
    return "<" + '<BR ALIGN="LEFT"/>'.join(lines) + '<BR ALIGN="LEFT"/>>'


def rows_of(view: View) -> list[list[str]]:
    """The keys of a view's boxes, row by row from the bottom (inputs) up, each row left to right.

    >>> import diffexplore as dx
    >>> from diffexplore.render.views import original_view
    >>> from diffexplore.render.labels import short_names
    >>> f = dx.parse("1 + x + exp(sin(x*y))")
    >>> rows_of(original_view(f, short_names(dx.nodes(f))))
    [['a', 'b', 'd'], ['c', 'e'], ['g'], ['h'], ['i']]
    """
    arguments: dict[str, list[str]] = {box.key: [] for box in view.boxes}
    uses: dict[str, list[str]] = {box.key: [] for box in view.boxes}
    for arrow in view.arrows:
        arguments[arrow.head].append(arrow.tail)
        uses[arrow.tail].append(arrow.head)
    row: dict[str, int] = {}
    for box in view.boxes:              # topological order: arguments come first
        row[box.key] = 1 + max((row[a] for a in arguments[box.key]), default=-1)
    for box in reversed(view.boxes):    # lift leaves up to just below their first use
        if not arguments[box.key] and uses[box.key]:
            row[box.key] = min(row[u] for u in uses[box.key]) - 1
    rows: list[list[str]] = [[] for _ in range(max(row.values(), default=-1) + 1)]
    for box in view.boxes:
        rows[row[box.key]].append(box.key)
    return rows


def to_drawing(views: Sequence[View], notes: Sequence[str] = ()) -> Drawing:
    """One drawing with a cluster per view, in the given order from left to right.

    >>> import diffexplore as dx
    >>> from diffexplore.render.views import original_view
    >>> from diffexplore.render.labels import short_names
    >>> f = dx.parse("x*y")
    >>> source = to_drawing([original_view(f, short_names(dx.nodes(f)))]).source
    >>> [line.strip() for line in source.splitlines() if "cluster" in line or "original_c [" in line]
    ... # doctest: +NORMALIZE_WHITESPACE
    ['subgraph cluster_original {',
     'original_c [label=<<TABLE BORDER="0" CELLPADDING="1" CELLBORDER="0" CELLSPACING="0"><TR><TD><B>c</B>
      = a × b</TD></TR></TABLE>> color="#374151" peripheries=2 style=rounded]']
    """
    drawing = Drawing(
        "diffexplore", notes=notes,
        graph_attr={"rankdir": "BT", "newrank": "true", "nodesep": "0.3", "ranksep": "0.45",
                    "fontname": FONT, "fontsize": "12", "labeljust": "l"},
        node_attr={"shape": "box", "fontname": FONT, "fontsize": "11", "margin": "0.08,0.04"},
        edge_attr={"fontname": FONT, "fontsize": "10", "color": "#4b5563", "arrowsize": "0.6"})
    for view in views:
        with drawing.subgraph(name=f"cluster_{view.name}") as cluster:
            # With rankdir=BT the bottom of the layout is the top of the picture: "b" puts titles on top.
            cluster.attr(label=_title_label(view.title), labelloc="b", style="rounded",
                         color="#d1d5db", margin="14")
            for box in view.boxes:
                attributes = dict(NODE_STYLES[box.kind])
                if box.output:
                    attributes["peripheries"] = "2"
                cluster.node(node_id(view.name, box.key), label=_box_label(box), **attributes)
            for arrow in view.arrows:
                attributes = dict(EDGE_STYLES[arrow.style])
                if arrow.label:
                    attributes["label"] = arrow.label
                cluster.edge(node_id(view.name, arrow.tail), node_id(view.name, arrow.head), **attributes)
            for keys in rows_of(view):
                if len(keys) < 2:
                    continue
                with cluster.subgraph() as row:
                    row.attr(rank="same")
                    for key in keys:
                        row.node(node_id(view.name, key))
                    for left, right in zip(keys, keys[1:], strict=False):
                        row.edge(node_id(view.name, left), node_id(view.name, right), style="invis")
    return drawing
