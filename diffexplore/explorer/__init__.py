"""Show: the interactive explorer, one self-contained HTML page that plays the forward and reverse sweeps.

:func:`explore` runs forward mode (once per input seed) and reverse mode at a point, lines their
numbers up as the steps of both sweeps, draws the original, symbolic, adjoint and tangent views with
the static renderer (same short names), and writes it all into one HTML file that works offline: step
forward and back, play, pick the seed, follow the evaluation trace. The flow inside:
``lines`` (sweeps -> program lines) -> ``steps`` (lines -> what each step reveals) -> ``table`` and
``svg`` (what is shown) -> ``page`` (one HTML file). A graph of more than :data:`DETAIL_NODES` nodes
gets a level of detail (``window``: the first and last lines of each sweep, the middle collapsed into
one step, the original view only), and its page says so. ``browser`` drives a headless Chromium for
screenshots and end-to-end tests.

>>> import diffexplore as dx
>>> page = dx.explore("1 + x + exp(sin(x*y))", {"x": 1.0, "y": 2.0})
>>> len(page.steps), page.html.startswith("<!DOCTYPE html>")
(19, True)
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import Any

import numpy as np

from ..callables import graph_of
from ..errors import DiffexploreError, ShapeError, SizeLimitError
from ..evaluate import ForwardResult, ReverseResult, forward, reverse
from ..formula import formula
from ..graph import Node, nodes
from ..inputs import as_point
from ..render import DEFAULT_MAX_NODES, render
from ..render.labels import format_value, short_names
from ..render.views import point_text
from .lines import Lines, sweep_lines
from .page import Results, page_html
from .script import build_script, exact_number
from .seeds import MAX_SEEDS, seed_options
from .svg import VIEWS, view_panes
from .table import trace_tables
from .window import DETAIL_NODES, WINDOW_LINES, detail_html, inline_constants, window_lines

__all__ = ["explore", "Explorer", "MAX_EXPLORE_NODES", "MAX_EXPLORE_WORK", "MAX_WINDOW_SWEEPS",
           "DETAIL_NODES", "WINDOW_LINES"]

#: The iframe height of the page in a notebook.
NOTEBOOK_HEIGHT = 780
#: The largest graph the explorer shows, in DAG nodes. Every line of a 10,000-node graph makes a page of
#: 16 MB (174 MB at 100,000), so above :data:`DETAIL_NODES` (10,000) the page has a level of detail: it
#: steps through the first and last :data:`WINDOW_LINES` lines of each sweep and collapses the rest
#: (2.6 MB, about 8 s and 0.5 GB at 100,000 nodes). The whole graph is still evaluated and named: at
#: this limit a chain whose formula doubles at each step takes up to about 20 s and 1.3 GB.
MAX_EXPLORE_NODES = 200_000
#: The largest DAG nodes × inputs of the symbolic view (one derivative per input): product(400), 800
#: nodes × 400 inputs, takes about 20 s; at the limit, about 10 s. Pages with a level of detail leave
#: the symbolic view out, so only pages that show every line have this limit.
MAX_EXPLORE_WORK = 200_000
#: The DAG nodes × forward sweeps (one per seed offered) of a page with a level of detail: a graph of
#: 100,000 nodes gets 4 seeds, one of 400,000 nodes or more a single seed.
MAX_WINDOW_SWEEPS = 400_000
#: The views a page with a level of detail draws (the others would be size tables of the same graph,
#: or, for the symbolic view, dx.diff of all of it).
WINDOW_VIEWS = ("original",)


@dataclass
class Explorer:
    """An explorer page: ``html`` (the whole file), ``steps`` (what each step shows), ``notes`` (views
    drawn as size tables, seeds left out, a missing ``dot``, a level of detail), ``title`` (f and the
    point) and ``first_view`` (draws the original view, the page's static stand-in, when called: only a
    notebook display needs it).
    ``save(path)`` writes the file; in Jupyter the page displays itself inline, with a PNG of its first
    view where its script cannot run (an untrusted notebook, a static renderer)."""

    html: str
    steps: list[dict]
    notes: list[str] = field(default_factory=list)
    title: str = ""
    first_view: Callable[[], Any] | None = None

    def save(self, path: str | Path) -> Path:
        """Write the page to ``path`` (UTF-8) and return the path.

        >>> import tempfile
        >>> page = explore("x*x", {"x": 3.0})
        >>> with tempfile.TemporaryDirectory() as folder:
        ...     page.save(Path(folder) / "page.html").read_text(encoding="utf-8") == page.html
        True
        """
        path = Path(path)
        try:
            path.write_text(self.html, encoding="utf-8")
        except OSError as exc:
            raise DiffexploreError(f"cannot write the page to {str(path)!r}: {exc.strerror or exc}") from None
        return path

    def __repr__(self) -> str:
        from ..render.displays import explorer_text
        return explorer_text(self)

    def _repr_mimebundle_(self, include=None, exclude=None):
        """Jupyter: the page in a sandboxed iframe (its script, styles and ids apart from the notebook's),
        a PNG of its first view, and a short text."""
        from ..render.displays import explorer_bundle
        return explorer_bundle(self, NOTEBOOK_HEIGHT)

    def _repr_html_(self) -> str:
        return self._repr_mimebundle_()["text/html"]


def _inputs(f: Node, order: list[Node], point: Mapping[str, Any]) -> tuple[list[str], dict[str, tuple]]:
    """The input names in the page's order (those of ``point`` first) and their shapes."""
    variables = {n.name: n for n in order if n.is_variable}
    if not variables:
        raise DiffexploreError(f"{formula(f, max_length=80)} has no variables, so there is no sweep "
                               "to explore")
    for name, value in point.items():
        if name in variables and np.iscomplexobj(value):
            raise DiffexploreError(f"the explorer shows real numbers; {name} = {value!r} is complex")
    order = [name for name in point if name in variables] + [name for name in variables if name not in point]
    return order, {name: variables[name].shape for name in order}


def _check_size(f: Node, wrt: str | Sequence[str] | None) -> list[Node]:
    """f's nodes, or an error when the page would be too large (:data:`MAX_EXPLORE_NODES`, and for pages
    that show every line :data:`MAX_EXPLORE_WORK`)."""
    order = nodes(f)
    advice = ("draw it with dx.render / diffexplore render (large views become size tables) or explore a "
              "smaller instance")
    if len(order) > MAX_EXPLORE_NODES:
        raise SizeLimitError(f"f has {len(order):,} nodes; the explorer shows at most {MAX_EXPLORE_NODES:,} "
                             f"(above {DETAIL_NODES:,} nodes its page steps through a window of each sweep, "
                             f"but it still evaluates and names the whole graph: up to about 20 s and 1.3 GB "
                             f"at the limit); {advice}")
    if len(order) > DETAIL_NODES:
        return order
    inputs = sum(1 for n in order if n.is_variable)
    if wrt is not None:
        inputs = len([w for w in wrt.split(",") if w.strip()] if isinstance(wrt, str) else list(wrt))
    work = len(order) * max(1, inputs)
    if work > MAX_EXPLORE_WORK:
        raise SizeLimitError(f"f has {len(order):,} nodes and its symbolic view {inputs:,} derivatives "
                               f"(one per input): {work:,} node-derivatives, over the explorer's limit of "
                               f"{MAX_EXPLORE_WORK:,}; pass wrt= (--wrt) with fewer variables, or {advice}")
    return order


def _seed_limit(size: int) -> int:
    """How many inputs get a forward-mode seed (one forward sweep each) on the page of a graph of
    ``size`` nodes: :data:`MAX_SEEDS`, fewer on a page with a level of detail (:data:`MAX_WINDOW_SWEEPS`).

    >>> _seed_limit(500), _seed_limit(100_000), _seed_limit(1_000_000)
    (12, 4, 1)
    """
    if size <= DETAIL_NODES:
        return MAX_SEEDS
    return max(1, min(MAX_SEEDS, MAX_WINDOW_SWEEPS // size))


def _detail_note(size: int) -> str:
    """The note (printed by the command line) that a page has a level of detail."""
    return (f"level of detail: f has {size:,} nodes, more than {DETAIL_NODES:,}, so the page steps through "
            f"the first and last {WINDOW_LINES:,} lines of each sweep and collapses the lines between into "
            f"one step; it draws the {', '.join(WINDOW_VIEWS)} view only")


def _lines(f: Node, point: Mapping[str, Any], order_of_f: list[Node], names: dict[Node, str],
           directions: list[dict], forwards: list[ForwardResult], result: ReverseResult, order: str,
           digits: int) -> tuple[Lines, dict[Node, str]]:
    """The page's lines (every line, or above :data:`DETAIL_NODES` nodes a window of each sweep) and the
    names its statements use (a window's, without drawings, writes scalar constants inline)."""
    if len(order_of_f) > DETAIL_NODES:
        shown = inline_constants(names, digits)
        lines = window_lines(f, point, order_of_f, shown, forwards, result, sequence=order, digits=digits)
        return lines, shown
    return sweep_lines(f, point, names, directions, forwards, result, order=order, digits=digits), names


def _results(order_of_f: list[Node], names: dict[Node, str], lines: Lines, forwards: list[ForwardResult],
             result: ReverseResult, digits: int, exact: bool) -> Results:
    """The results line: value, ḟ per seed, gradient entries (with their exact values when ``exact``,
    so the page checks its own sum of the terms; a window of the sweep does not hold every term)."""
    key_of = {n.name: names[n] for n in order_of_f if n.is_variable}
    return Results(
        value=format_value(result.value, digits),
        tangents=tuple((format_value(s.tangent, digits), exact_number(s.tangent)) for s in forwards),
        gradient=tuple((name, key_of[name], format_value(result.gradient[name], digits),
                        exact_number(result.gradient[name]) if exact else None) for name in lines.inputs))


def explore(f: Node | str | Callable, at: Mapping[str, Any] | None = None,
            wrt: str | Sequence[str] | None = None, seed: Mapping[str, Any] | str | None = None, *,
            derivative: str = "pruned",
            max_nodes: int = DEFAULT_MAX_NODES, digits: int = 4, order: str = "levels",
            memory: bool = False, checkpoints: Any = None) -> Explorer:
    """The explorer page of ``f`` at ``at``: both sweeps step by step, with drawings and trace table.

    ``f`` is a graph, a formula, an import or a Python function (traced at ``at``); ``at`` is needed.
    ``wrt`` names the variable(s) of the symbolic view (default: all); ``seed`` the forward-mode seed
    selected at first (a variable name or a mapping of tangents; default: the one ``wrt``, else the
    first input); the page offers a seed per input. ``derivative`` and ``max_nodes`` are the
    renderer's (views with more nodes are drawn as size tables and the page steps through the table);
    graphs of more than :data:`DETAIL_NODES` nodes get a level of detail (the page says so): it steps
    through the first and last :data:`WINDOW_LINES` lines of each sweep, collapses the lines between
    into one step each, and draws the original view only; graphs of more than
    :data:`MAX_EXPLORE_NODES` nodes are refused, and so are pages showing every line whose symbolic
    view is over :data:`MAX_EXPLORE_WORK` nodes × inputs;
    ``digits`` the significant digits shown; ``order`` the trace table's numbering (``levels`` or
    ``evaluation``). Array graphs are shown one array operation per step. The output must be a scalar.
    ``memory=True`` marks in the adjoint view the values reverse mode stores; ``checkpoints`` the
    snapshots of that schedule and the nodes it computes again (as :func:`diffexplore.render`).

    >>> import diffexplore as dx
    >>> page = dx.explore("x*x", {"x": 3.0})
    >>> [step["kind"] for step in page.steps if step["phase"] == "reverse"]
    ['seed', 'add', 'add', 'gradient']
    >>> [step["amount"] for step in page.steps if step["kind"] == "add"]     # x̄ = 3 + 3 = 2x
    [3.0, 3.0]
    """
    f = graph_of(f, at, call="explore")
    if at is None:
        raise DiffexploreError("the explorer plays both sweeps at a point: give at={...}, e.g. "
                               "at={'x': 1.0} (command line: --at x=1,y=2)")
    order_of_f = _check_size(f, wrt)
    if f.shape != ():
        raise ShapeError(f"the explorer's reverse sweep starts from a scalar output, but f has shape "
                         f"{f.shape}; reduce it first, e.g. with dx.sum(f)")
    point = as_point(at)
    windowed = len(order_of_f) > DETAIL_NODES
    inputs, shapes = _inputs(f, order_of_f, point)
    seeds, selected, notes = seed_options(inputs, shapes, seed, wrt, limit=_seed_limit(len(order_of_f)))
    directions = [s.direction for s in seeds]
    forwards = [forward(f, point, seed=direction) for direction in directions]
    result = reverse(f, point)
    names = short_names(order_of_f)
    lines, shown = _lines(f, point, order_of_f, names, directions, forwards, result, order, digits)
    script = build_script(f, lines, shown, digits)
    arguments = {names[n]: [names[a] for a in n.args] for n in order_of_f if n.args}
    panes, render_notes = view_panes(f, point, arguments, directions, wrt=wrt, derivative=derivative,
                                     max_nodes=min(max_nodes, DETAIL_NODES) if windowed else max_nodes,
                                     digits=digits, views=WINDOW_VIEWS if windowed else VIEWS,
                                     memory=memory, checkpoints=checkpoints)
    detail = ""
    if windowed:
        detail = detail_html(len(order_of_f), lines, WINDOW_VIEWS,
                             [view for view in VIEWS if view not in WINDOW_VIEWS])
    from ..version import __version__
    page = page_html(formula=formula(f, max_length=120), point=point_text(point, digits), script=script,
                     tables=trace_tables(lines, shown, digits), panes=panes,
                     seed_labels=[s.label for s in seeds], seed=selected,
                     results=_results(order_of_f, names, lines, forwards, result, digits, exact=not windowed),
                     notes=notes + render_notes, version=__version__, detail=detail)
    detail_notes = [_detail_note(len(order_of_f))] if windowed else []
    first_view = partial(render, f, point, views="original", max_nodes=min(max_nodes, DETAIL_NODES),
                         digits=digits)
    return Explorer(html=page, steps=script.steps, notes=notes + render_notes + detail_notes,
                    title=f"f = {formula(f, max_length=60)} at {point_text(point, digits)}",
                    first_view=first_view)
