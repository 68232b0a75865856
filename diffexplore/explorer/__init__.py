"""Show: the interactive explorer, one self-contained HTML page that plays the forward and reverse sweeps.

:func:`explore` runs forward mode (once per input seed) and reverse mode at a point, lines their
numbers up as the steps of both sweeps, draws the original, symbolic, adjoint and tangent views with
the static renderer (same short names), and writes it all into one HTML file that works offline: step
forward and back, play, pick the seed, follow the evaluation trace. The flow inside:
``lines`` (sweeps -> program lines) -> ``steps`` (lines -> what each step reveals) -> ``table`` and
``svg`` (what is shown) -> ``page`` (one HTML file). ``browser`` drives a headless Chromium for
screenshots and end-to-end tests.

>>> import diffexplore as dx
>>> page = dx.explore("1 + x + exp(sin(x*y))", {"x": 1.0, "y": 2.0})
>>> len(page.steps), page.html.startswith("<!DOCTYPE html>")
(19, True)
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from ..callables import graph_of
from ..errors import DiffexploreError, ShapeError, SizeLimitError
from ..evaluate import forward, reverse
from ..formula import formula
from ..graph import Node, nodes
from ..inputs import as_point
from ..render import DEFAULT_MAX_NODES
from ..render.labels import format_value, short_names
from ..render.views import point_text
from .lines import sweep_lines
from .page import Results, page_html
from .script import build_script, exact_number
from .seeds import seed_options
from .svg import view_panes
from .table import trace_tables

__all__ = ["explore", "Explorer", "MAX_EXPLORE_NODES", "MAX_EXPLORE_WORK"]

#: The iframe height of the page in a notebook.
NOTEBOOK_HEIGHT = 780
#: The largest graph the explorer shows, in DAG nodes: every node is two or more steps of the page, so
#: the page grows by about 1.3 kB a node (12.6 MB and 12 s at 10,000 nodes; 174 MB at 100,000).
MAX_EXPLORE_NODES = 10_000
#: The largest DAG nodes × inputs of the symbolic view (one derivative per input): product(400), 800
#: nodes × 400 inputs, takes about 20 s; at the limit, about 10 s.
MAX_EXPLORE_WORK = 200_000


@dataclass
class Explorer:
    """An explorer page: ``html`` (the whole file), ``steps`` (what each step shows), ``notes`` (views
    drawn as size tables, seeds left out, a missing ``dot``). ``save(path)`` writes the file; in
    Jupyter the page displays itself inline."""

    html: str
    steps: list[dict]
    notes: list[str] = field(default_factory=list)

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

    def _repr_html_(self) -> str:
        """Jupyter: the page in an iframe, so its script, styles and ids stay apart from the notebook's."""
        import html
        return (f'<iframe srcdoc="{html.escape(self.html, quote=True)}" title="diffexplore explorer" '
                f'style="width: 100%; height: {NOTEBOOK_HEIGHT}px; border: 1px solid #d1d5db" '
                'sandbox="allow-scripts"></iframe>')


def _inputs(f: Node, point: Mapping[str, Any]) -> tuple[list[str], dict[str, tuple]]:
    variables = {n.name: n for n in nodes(f) if n.is_variable}
    if not variables:
        raise DiffexploreError(f"{formula(f, max_length=80)} has no variables, so there is no sweep "
                               "to explore")
    for name, value in point.items():
        if name in variables and np.iscomplexobj(value):
            raise DiffexploreError(f"the explorer shows real numbers; {name} = {value!r} is complex")
    order = [name for name in point if name in variables] + [name for name in variables if name not in point]
    return order, {name: variables[name].shape for name in order}


def _check_size(f: Node, wrt: str | Sequence[str] | None) -> list[Node]:
    """f's nodes, or an error when the page would be too large (:data:`MAX_EXPLORE_NODES`,
    :data:`MAX_EXPLORE_WORK`)."""
    order = nodes(f)
    advice = ("draw it with dx.render / diffexplore render (large views become size tables) or explore a "
              "smaller instance")
    if len(order) > MAX_EXPLORE_NODES:
        raise SizeLimitError(f"f has {len(order):,} nodes; the explorer shows at most "
                               f"{MAX_EXPLORE_NODES:,} (its page grows by about 1.3 kB a node, 12.6 MB at "
                               f"the limit); {advice}")
    inputs = sum(1 for n in order if n.is_variable)
    if wrt is not None:
        inputs = len([w for w in wrt.split(",") if w.strip()] if isinstance(wrt, str) else list(wrt))
    work = len(order) * max(1, inputs)
    if work > MAX_EXPLORE_WORK:
        raise SizeLimitError(f"f has {len(order):,} nodes and its symbolic view {inputs:,} derivatives "
                               f"(one per input): {work:,} node-derivatives, over the explorer's limit of "
                               f"{MAX_EXPLORE_WORK:,}; pass wrt= (--wrt) with fewer variables, or {advice}")
    return order


def explore(f: Node | str | Callable, at: Mapping[str, Any] | None = None,
            wrt: str | Sequence[str] | None = None, seed: Mapping[str, Any] | str | None = None, *,
            derivative: str = "pruned",
            max_nodes: int = DEFAULT_MAX_NODES, digits: int = 4, order: str = "levels") -> Explorer:
    """The explorer page of ``f`` at ``at``: both sweeps step by step, with drawings and trace table.

    ``f`` is a graph, a formula, an import or a Python function (traced at ``at``); ``at`` is needed.
    ``wrt`` names the variable(s) of the symbolic view (default: all); ``seed`` the forward-mode seed
    selected at first (a variable name or a mapping of tangents; default: the one ``wrt``, else the
    first input); the page offers a seed per input. ``derivative`` and ``max_nodes`` are the
    renderer's (views with more nodes are drawn as size tables and the page steps through the table);
    graphs of more than :data:`MAX_EXPLORE_NODES` nodes (or :data:`MAX_EXPLORE_WORK` nodes × inputs of
    the symbolic view) are refused;
    ``digits`` the significant digits shown; ``order`` the trace table's numbering (``levels`` or
    ``evaluation``). Array graphs are shown one array operation per step. The output must be a scalar.

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
    inputs, shapes = _inputs(f, point)
    seeds, selected, notes = seed_options(inputs, shapes, seed, wrt)
    directions = [s.direction for s in seeds]
    forwards = [forward(f, point, seed=direction) for direction in directions]
    result = reverse(f, point)
    names = short_names(order_of_f)
    lines = sweep_lines(f, point, names, directions, forwards, result, order=order, digits=digits)
    script = build_script(f, lines, names, digits)
    arguments = {names[n]: [names[a] for a in n.args] for n in order_of_f if n.args}
    panes, render_notes = view_panes(f, point, arguments, directions, wrt=wrt, derivative=derivative,
                                     max_nodes=max_nodes, digits=digits)
    key_of = {n.name: names[n] for n in order_of_f if n.is_variable}
    results = Results(
        value=format_value(result.value, digits),
        tangents=tuple((format_value(s.tangent, digits), exact_number(s.tangent)) for s in forwards),
        gradient=tuple((name, key_of[name], format_value(result.gradient[name], digits),
                        exact_number(result.gradient[name])) for name in lines.inputs))
    from ..version import __version__
    page = page_html(formula=formula(f, max_length=120), point=point_text(point, digits), script=script,
                     tables=trace_tables(lines, names, digits), panes=panes,
                     seed_labels=[s.label for s in seeds], seed=selected, results=results,
                     notes=notes + render_notes, version=__version__)
    return Explorer(html=page, steps=script.steps, notes=notes + render_notes)
