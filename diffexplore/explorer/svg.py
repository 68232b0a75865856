"""Show: the explorer page's drawings, the static renderer's views as inline SVG the page can animate.

Each view is drawn on its own by :func:`diffexplore.render` (same short names, same layout and
formatting as ``diffexplore render``; the tangent view once per forward-mode seed), turned into SVG by
Graphviz, then annotated: every node group gets ``data-node="c"``, every edge group of f's graph
``data-edge="c.1"`` (into argument 1 of c), and every value row or edge label the id of
:mod:`diffexplore.explorer.script` that says when it appears (``p:c``, ``a:b``, ``ea:c.1``, …). Graphviz's
own ``id`` attributes (node1, edge1, …) are dropped so that several drawings can share one page.
Views too large to draw arrive as the renderer's size tables and are left as they are.
"""

from __future__ import annotations

import html
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import graphviz

from ..errors import DiffexploreError
from ..render import render
from ..render.display import install_hint, pipe
from ..render.views import VBAR, VDOT

__all__ = ["Pane", "view_panes", "annotate", "VIEWS"]

#: One pt of Graphviz is 4/3 CSS pixels.
PX_PER_PT = 4 / 3

_GROUP = re.compile(r'<g id="[^"]*" class="(node|edge)">\n<title>([^<]*)</title>(.*?)</g>', re.S)
_TEXT = re.compile(r"<text ([^>]*)>([^<]*)</text>")
_SIZE = re.compile(r'<svg width="([\d.]+)pt" height="([\d.]+)pt"')


@dataclass(frozen=True)
class Pane:
    """One drawing of the page: its view, the seed index (tangent view only), the annotated SVG and
    its natural size in CSS pixels."""

    view: str
    seed: int | None
    svg: str
    width: int
    height: int


def _row_role(view: str, text: str) -> str | None:
    """Which kind of value a text of a node box shows, from how the renderer writes it."""
    if text.startswith(("v = ", "f = ")):
        return "s" if view == "symbolic" else "p"
    if view == "symbolic":
        return "s" if text.startswith("∂f/∂") else None
    if text.startswith(f"{VBAR} = "):
        return "a"
    if text.startswith(f"{VDOT} = "):
        return "t"
    if text.startswith(("∂f/∂", "directional derivative")):
        return "g" if view == "adjoint" else "tg"
    return None


def _tag_texts(body: str, element_of) -> str:
    def tag(match: re.Match) -> str:
        element = element_of(html.unescape(match.group(2)).strip())
        if element is None:
            return match.group(0)
        return f'<text data-t="{element}" {match.group(1)}>{match.group(2)}</text>'
    return _TEXT.sub(tag, body)


def annotate(svg: str, view: str, arguments: Mapping[str, Sequence[str]]) -> str:
    """Graphviz's SVG of one view with the page's data attributes (see the module docstring).

    ``arguments`` maps each node's short name to its arguments' short names, in order, so that an edge
    drawn from a to c is known as ``c.0`` or ``c.1``.

    >>> svg = ('<svg width="75pt" height="30pt">\\n<g id="node3" class="node">\\n<title>adjoint_c</title>\\n'
    ...        '<text x="1">c</text>\\n<text x="2">v̄ = 2</text>\\n</g>\\n</svg>')
    >>> print(annotate(svg, "adjoint", {"c": ["a", "b"]}))      # doctest: +NORMALIZE_WHITESPACE
    <svg width="100" height="40" class="view" data-view="adjoint" role="img" aria-label="adjoint view">
    <g class="node" data-node="c">
    <title>c</title>
    <text x="1">c</text>
    <text data-t="a:c" x="2">v̄ = 2</text>
    </g>
    </svg>
    """
    svg = svg[svg.index("<svg"):]
    svg = re.sub(r"<!--.*?-->\n?", "", svg, flags=re.S)
    width, height = _natural_size(svg)
    svg = _SIZE.sub(f'<svg width="{width}" height="{height}" class="view" data-view="{view}" role="img" '
                    f'aria-label="{view} view"', svg, count=1)
    seen_edges: dict[tuple[str, str], int] = {}

    def group(match: re.Match) -> str:
        kind, title, body = match.group(1), html.unescape(match.group(2)), match.group(3)
        if kind == "node":
            key = title.split("_", 1)[1]
            if key == "summary":
                return f'<g class="node summary">\n<title>size table</title>{body}</g>'
            body = _tag_texts(body, lambda text: _node_element(view, key, text))
            return f'<g class="node" data-node="{key}">\n<title>{html.escape(key)}</title>{body}</g>'
        tail, head = (end.split("_", 1)[1] for end in title.split("->"))
        occurrence = seen_edges.get((tail, head), 0)
        seen_edges[(tail, head)] = occurrence + 1
        positions = [pos for pos, arg in enumerate(arguments.get(head, ())) if arg == tail]
        if view == "symbolic" or occurrence >= len(positions):
            return f'<g class="edge">\n<title>{html.escape(f"{tail} → {head}")}</title>{body}</g>'
        edge = f"{head}.{positions[occurrence]}"
        label = {"adjoint": f"ea:{edge}", "tangent": f"et:{edge}"}.get(view)
        if label:
            body = _tag_texts(body, lambda _text: label)
        return (f'<g class="edge" data-edge="{edge}">\n<title>{html.escape(f"{tail} → {head}")}</title>'
                f"{body}</g>")

    svg = _GROUP.sub(group, svg)
    return re.sub(r'<g id="[^"]*" class="', '<g class="', svg)


def _node_element(view: str, key: str, text: str) -> str | None:
    role = _row_role(view, text)
    if role is None:
        return None
    return role if role == "s" else f"{role}:{key}"


def _natural_size(svg: str) -> tuple[int, int]:
    match = _SIZE.search(svg)
    if match is None:
        return 0, 0
    return round(float(match.group(1)) * PX_PER_PT), round(float(match.group(2)) * PX_PER_PT)


#: The views a page can draw, in the order it shows them.
VIEWS = ("original", "symbolic", "adjoint", "tangent")
#: Seconds Graphviz may take for one view of the page (a view past it is left out, with a note).
VIEW_TIMEOUT = 20.0


def view_panes(f: Any, point: Mapping[str, Any], arguments: Mapping[str, Sequence[str]],
               seeds: Sequence[Mapping[str, Any]], *, wrt: Any = None, derivative: str = "pruned",
               max_nodes: int = 150, digits: int = 4, views: Sequence[str] = VIEWS,
               memory: bool = False, checkpoints: Any = None) -> tuple[list[Pane], list[str]]:
    """The page's drawings (of ``views``: original, symbolic, adjoint, and the tangent view once per
    seed) and the renderer's notes (``memory``, ``checkpoints``: the adjoint view's memory marks).
    Without Graphviz's ``dot`` there are no drawings and the note says how to install it (the page
    then steps through the trace table alone).

    >>> import diffexplore as dx
    >>> f = dx.parse("x*y")
    >>> panes, notes = view_panes(f, {"x": 2.0, "y": 3.0}, {"c": ["a", "b"]}, [{"x": 1.0}, {"y": 1.0}])
    >>> [(pane.view, pane.seed) for pane in panes], notes
    ([('original', None), ('symbolic', None), ('adjoint', None), ('tangent', 0), ('tangent', 1)], [])
    >>> 'data-t="a:c"' in panes[2].svg and 'data-edge="c.1"' in panes[2].svg
    True
    """
    marks = {"memory": memory, "checkpoints": checkpoints} if memory or checkpoints is not None else {}
    jobs: list[tuple[str, int | None, dict]] = [(view, None, marks if view == "adjoint" else {})
                                                for view in VIEWS if view in views and view != "tangent"]
    if "tangent" in views:
        jobs += [("tangent", k, {"seed": dict(seed)}) for k, seed in enumerate(seeds)]
    panes: list[Pane] = []
    notes: list[str] = []
    for view, seed_index, options in jobs:
        drawing = render(f, at=point, wrt=wrt, views=view, derivative=derivative, max_nodes=max_nodes,
                         digits=digits, **options)
        for note in drawing.notes:
            if note not in notes:
                notes.append(note)
        if not drawing.source.count("subgraph"):
            continue                         # the renderer had nothing to draw for this view
        try:
            svg = pipe(drawing, "svg", timeout=VIEW_TIMEOUT).decode("utf-8")
        except graphviz.ExecutableNotFound:
            return [], [f"No drawings: {install_hint()}. The page steps through the trace table alone."]
        except DiffexploreError:
            notes.append(f"The {view} view was not drawn: Graphviz took longer than {VIEW_TIMEOUT:g} s "
                         "to lay it out (the table still steps through it).")
            continue
        annotated = annotate(svg, view, arguments)
        width, height = _natural_size(svg)
        panes.append(Pane(view=view, seed=seed_index, svg=annotated, width=width, height=height))
    return panes, notes
