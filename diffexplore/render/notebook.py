"""Show: how every result displays itself in Jupyter, in one place.

Each public result class has short display methods (``__repr__``, ``_repr_html_``, ``_repr_markdown_``,
``_repr_mimebundle_``) that call the functions here, so every result looks alike and the rules live
once:

- a text repr of one to three lines: what it is, its size, its headline numbers;
- tables as HTML (and Markdown), written by ``tabulate`` (which escapes every cell);
- drawings as SVG scaled to the cell width, with a PNG beside it in the bundle for untrusted notebooks
  and static renderers (GitHub, nbviewer), which drop SVG;
- plots (Matplotlib ``Figure`` objects, never pyplot's global state) as a PNG under the table;
- programs as highlighted source (Pygments when it is installed, else a plain ``<pre>``);
- a whole page (the explorer) in a sandboxed ``<iframe srcdoc>``, with a static PNG that shows where
  the page's script cannot run (the iframe and the style that hides the PNG are what a sanitiser strips).

No output is larger than :data:`MAX_OUTPUT_BYTES` for graphs under 500 nodes: drawings of more than
``max_nodes`` nodes are size tables, long tables are cut after :data:`MAX_ROWS` rows, and PNGs are
drawn at a lower resolution when they would pass :data:`MAX_PNG_BYTES`.

>>> table = table_html(["x", "f(x)"], [["1", "<2>"]])
>>> table.startswith("<table>"), "&lt;2&gt;" in table, "<2>" in table
(True, True, False)
>>> table.count('style="text-align: left;"'), table.count('style="text-align: right;"')
(2, 2)
"""

from __future__ import annotations

import base64
import html
import io
import math
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import replace
from typing import Any

import graphviz
from tabulate import tabulate

from ..formula import formula
from ..graph import Node, nodes
from .compose import DEFAULT_MAX_NODES
from .display import Drawing, install_hint, pipe
from .dot import to_drawing
from .labels import format_value, short_names
from .summary import summary_view
from .views import TITLE_FORMULA_LENGTH, original_view

__all__ = ["MAX_OUTPUT_BYTES", "MAX_ROWS", "MAX_PNG_BYTES", "NOTEBOOK_DPI", "one_line", "table_html",
           "table_markdown", "section_html", "figure_png", "png_html", "drawing_bundle", "scaled_svg",
           "node_drawing", "node_bundle", "code_html", "page_html_inline", "page_bundle", "number",
           "drawing_text", "drawing_png", "srcdoc",
           "value_rows"]

#: The largest output (all of one cell's mime types together) a result makes for graphs under 500 nodes.
MAX_OUTPUT_BYTES = 1_000_000
#: Rows of a table shown in a notebook; the rest is counted in a last row.
MAX_ROWS = 40
#: Resolution of a drawing's PNG in the bundle (screen resolution: the SVG is the sharp one).
NOTEBOOK_DPI = 96
#: A PNG larger than this is drawn again at a lower resolution.
MAX_PNG_BYTES = 250_000
#: Resolution of plots shown under their table.
FIGURE_DPI = 90
#: The widest a drawing is declared, in pt (900 CSS pixels: a notebook cell's width). Notebooks show an
#: SVG as an image of its declared size, so a wider drawing is declared smaller, to scale: the SVG
#: stays sharp when zoomed.
CELL_WIDTH_PT = 675.0

_SVG_START = re.compile(r"<svg\b")
_SVG_SIZE = re.compile(r'<svg width="([\d.]+)pt" height="([\d.]+)pt"')


def one_line(kind: str, *facts: str) -> str:
    """A text repr: ``<kind: fact; fact>``, facts that are empty left out.

    >>> one_line("ForwardResult", "value 3", "", "tangent 2")
    '<ForwardResult: value 3; tangent 2>'
    """
    shown = [fact for fact in facts if fact]
    return f"<{kind}: {'; '.join(shown)}>" if shown else f"<{kind}>"


def number(value: Any, digits: int = 6) -> str:
    """A value for a table cell: a scalar to ``digits`` significant digits, an array as its shape and
    norm (the renderer's format).

    >>> number(1 / 3), number(2.0), number(-1.5), number(complex(1, 2))
    ('0.333333', '2', '−1.5', '1+2i')
    """
    return format_value(value, digits)


def _cut(rows: list[list[str]], columns: int, limit: int = MAX_ROWS) -> list[list[str]]:
    if len(rows) <= limit:
        return rows
    return rows[:limit] + [[f"… {len(rows) - limit:,} more rows"] + [""] * (columns - 1)]


def table_html(headers: Sequence[str], rows: Iterable[Sequence[Any]], limit: int = MAX_ROWS,
               align: Sequence[str] | None = None) -> str:
    """An HTML table (every cell escaped; after ``limit`` rows, one row says how many are left out).
    ``align`` gives each column's ``left`` or ``right`` (default: the first left, the others right, as
    for a name and its numbers); left is written out too, since notebooks right-align cells."""
    body = _cut([[str(cell) for cell in row] for row in rows], len(headers), limit)
    align = list(align) if align is not None else ["left"] + ["right"] * (len(headers) - 1)
    table = tabulate(body, headers=list(headers), tablefmt="html", disable_numparse=True, colalign=align)
    left = ' style="text-align: left;">'
    return table.replace("<td>", "<td" + left).replace("<th>", "<th" + left)


def table_markdown(headers: Sequence[str], rows: Iterable[Sequence[Any]], limit: int = MAX_ROWS) -> str:
    """The same table as Markdown (GitHub's pipe tables; ``|`` in a cell escaped).

    >>> print(table_markdown(["a", "b"], [["x|y", "1"]]))
    | a    |   b |
    |------|-----|
    | x\\|y |   1 |
    """
    body = _cut([[str(cell).replace("|", "\\|") for cell in row] for row in rows], len(headers), limit)
    return tabulate(body, headers=list(headers), tablefmt="github")


def section_html(heading: str, *parts: str, notes: Sequence[str] = ()) -> str:
    """A result's HTML: its heading (escaped), then its parts (HTML already), then its notes (escaped).

    >>> section_html("f = x < y", "<p>body</p>")
    '<div class="diffexplore"><p><b>f = x &lt; y</b></p><p>body</p></div>'
    """
    body = [f"<p><b>{html.escape(heading)}</b></p>", *parts]
    if notes:
        body.append("<ul>" + "".join(f"<li>{html.escape(note)}</li>" for note in notes) + "</ul>")
    return '<div class="diffexplore">' + "".join(body) + "</div>"


def value_rows(values: Mapping[str, Any], digits: int = 6) -> list[list[str]]:
    """``[name, value]`` rows of a mapping (a gradient, a point).

    >>> value_rows({"x": 0.5, "y": 2.0})
    [['x', '0.5'], ['y', '2']]
    """
    return [[str(name), number(value, digits)] for name, value in values.items()]


# ---- plots ---------------------------------------------------------------------------------------


def figure_png(figure: Any, dpi: int = FIGURE_DPI) -> bytes:
    """A Matplotlib ``Figure`` as PNG bytes (drawn by the Agg canvas; no pyplot, no backend change)."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    FigureCanvasAgg(figure)
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=dpi, bbox_inches="tight")
    return buffer.getvalue()


def png_html(png: bytes, alt: str, css_class: str = "") -> str:
    """An ``<img>`` of PNG bytes (a data URI), no wider than the cell.

    >>> png_html(b"png", "a <plot>")[:60]
    '<img src="data:image/png;base64,cG5n" alt="a &lt;plot&gt;" s'
    """
    classes = f' class="{css_class}"' if css_class else ""
    return (f'<img src="data:image/png;base64,{base64.b64encode(png).decode("ascii")}" '
            f'alt="{html.escape(alt)}" style="max-width: 100%; height: auto"{classes}/>')


# ---- drawings ------------------------------------------------------------------------------------


def scaled_svg(svg: str, max_width: float = CELL_WIDTH_PT) -> str:
    """Graphviz's SVG from its ``<svg>`` tag on (no XML prolog), scaled down to a cell's width: a
    drawing wider than ``max_width`` pt is declared that wide (its ``viewBox`` scales the picture, which
    an ``<img>`` shows at the declared size), and CSS keeps it within the cell where it is inlined.

    >>> scaled_svg('<?xml version="1.0"?>\\n<svg width="1350pt" height="90pt" viewBox="0 0 1350 90"></svg>')
    '<svg style="max-width: 100%; height: auto" width="675pt" height="45pt" viewBox="0 0 1350 90"></svg>'
    >>> scaled_svg('<svg width="80pt" height="90pt" viewBox="0 0 80 90"></svg>')[43:]
    'width="80pt" height="90pt" viewBox="0 0 80 90"></svg>'
    """
    start = _SVG_START.search(svg)
    svg = svg[start.start():] if start else svg
    size = _SVG_SIZE.match(svg)
    if size and float(size.group(1)) > max_width:
        width, height = float(size.group(1)), float(size.group(2))
        declared = f'<svg width="{max_width:g}pt" height="{height * max_width / width:.6g}pt"'
        svg = declared + svg[size.end():]
    return svg.replace("<svg", '<svg style="max-width: 100%; height: auto"', 1)


def _png(drawing: graphviz.Digraph) -> bytes:
    """The drawing as a PNG at screen resolution, at a lower one when it would be too large."""
    dpi = NOTEBOOK_DPI
    while True:
        copy = drawing.copy()
        copy.graph_attr["dpi"] = str(dpi)
        data = pipe(copy, "png")
        if len(data) <= MAX_PNG_BYTES or dpi <= 24:
            return data
        dpi = max(24, int(dpi * math.sqrt(MAX_PNG_BYTES / len(data)) * 0.9))


def drawing_bundle(drawing: graphviz.Digraph, text: str) -> dict[str, Any]:
    """A drawing's mime bundle: SVG scaled to the cell, a PNG beside it, and ``text`` as text/plain;
    without the ``dot`` program, the text, how to install ``dot`` and the DOT source."""
    try:
        svg = pipe(drawing, "svg").decode("utf-8")
        png = _png(drawing)
    except graphviz.ExecutableNotFound:
        return {"text/plain": f"{text}\n{install_hint()}.\n\n{drawing.source}"}
    return {"image/svg+xml": scaled_svg(svg), "image/png": base64.b64encode(png).decode("ascii"),
            "text/plain": text}


def node_drawing(f: Node, max_nodes: int = DEFAULT_MAX_NODES) -> Drawing:
    """A node drawn as itself: its graph, titled with its own formula (a size table above ``max_nodes``).

    >>> import diffexplore as dx
    >>> source = node_drawing(dx.diff(dx.parse("x*sin(y)"), "x")).source    # ∂f/∂x = sin(y)
    >>> "label=<<B>sin(y)</B>" in source, "original:" in source, "∂f/∂" in source
    (True, False, False)
    """
    order = nodes(f)
    heading = formula(f, max_length=TITLE_FORMULA_LENGTH)
    title = (heading, f"{len(order):,} nodes; arrows point from an argument to its use")
    if len(order) > max_nodes:
        view, note = summary_view("original", title, [f], max_nodes, order=order)
        return to_drawing([view], [note])
    return to_drawing([replace(original_view(f, short_names(order)), title=title)])


def node_bundle(f: Node) -> dict[str, Any]:
    """A node's mime bundle: its own drawing (SVG and PNG) and its repr."""
    return drawing_bundle(node_drawing(f), repr(f))


# ---- programs and pages ----------------------------------------------------------------------------


def code_html(source: str, limit: int = 400) -> str:
    """Python source as HTML: highlighted by Pygments (inline styles, so it survives a sanitiser) when it
    is installed, else a plain ``<pre>``; after ``limit`` lines, a line says how many are left out."""
    lines = source.splitlines()
    if len(lines) > limit:
        source = "\n".join(lines[:limit]) + f"\n# … {len(lines) - limit:,} more lines (print(c.source))"
    try:
        from pygments import highlight
        from pygments.formatters import HtmlFormatter
        from pygments.lexers import PythonLexer
    except ImportError:
        return f"<pre>{html.escape(source)}</pre>"
    return highlight(source, PythonLexer(), HtmlFormatter(noclasses=True, nobackground=True,
                                                          prestyles="font-family: monospace"))


def srcdoc(page: str) -> str:
    """A page as the value of a single-quoted ``srcdoc`` attribute. Only ``&`` and ``'`` need escaping
    there; ``html.escape`` would also escape every ``<``, ``>`` and ``"``, making a page of 500 nodes
    half as large again (the page has some 60,000 double quotes and 30,000 angle brackets).

    >>> import html
    >>> page = '<p class="x">Tom & Jerry\\'s</p>'
    >>> srcdoc(page), html.unescape(srcdoc(page)) == page
    ('<p class="x">Tom &amp; Jerry&#39;s</p>', True)
    """
    return page.replace("&", "&amp;").replace("'", "&#39;")


def page_html_inline(page: str, png: bytes | None, height: int, title: str) -> str:
    """A whole HTML page inline: a sandboxed iframe (its script, styles and ids apart from the notebook's)
    and the page's static PNG, hidden by a style while the iframe shows; a sanitiser (an untrusted
    notebook, GitHub) strips the iframe and the style, and the PNG is what is left."""
    frame = (f"<iframe srcdoc='{srcdoc(page)}' title=\"{html.escape(title)}\" "
             f'style="width: 100%; height: {height}px; border: 1px solid #d1d5db" '
             'sandbox="allow-scripts"></iframe>')
    if png is None:
        return frame
    return ("<style>.diffexplore-static-view { display: none !important; }</style>" + frame
            + png_html(png, f"{title}: a static picture of the first view", "diffexplore-static-view"))


def page_bundle(page: str, png: bytes | None, height: int, title: str, text: str) -> dict[str, Any]:
    """A page's mime bundle: the inline page, its static PNG, and a short text."""
    bundle: dict[str, Any] = {"text/html": page_html_inline(page, png, height, title), "text/plain": text}
    if png is not None:
        bundle["image/png"] = base64.b64encode(png).decode("ascii")
    return bundle


def drawing_png(drawing: graphviz.Digraph | None) -> bytes | None:
    """A drawing's PNG, or None without a drawing or without the ``dot`` program."""
    if drawing is None:
        return None
    try:
        return _png(drawing)
    except graphviz.ExecutableNotFound:
        return None


_CLUSTER = re.compile(r"^\s*subgraph cluster_(\w+) \{", re.M)
_BOX = re.compile(r"^\s*\w+ \[label=", re.M)


def drawing_text(drawing: graphviz.Digraph) -> str:
    """A drawing's text repr: its views, boxes and notes.

    >>> import diffexplore as dx
    >>> drawing_text(dx.render("x*y", at={"x": 1.0, "y": 2.0}))
    '<Drawing: views original | symbolic | adjoint; 8 boxes>'
    """
    views = " | ".join(_CLUSTER.findall(drawing.source))
    notes = getattr(drawing, "notes", [])
    boxes = len(_BOX.findall(drawing.source))
    return one_line("Drawing", f"views {views}" if views else "", f"{boxes} boxes",
                    f"{len(notes)} note(s) in .notes" if notes else "")
