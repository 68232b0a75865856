"""Show: the evaluation-trace table of the explorer page, as HTML, one row per step.

The forward table lists each line's node (the drawing's short name), its primal statement and value,
its tangent statement and value (one value per forward-mode seed); the reverse table each adjoint line,
the amount it adds and the adjoint after it, with ``+=`` rows (fan-out) marked. Array graphs leave out
the node column (their statements start with the short name) and the tangent statement. Rows carry
``data-step`` so the page can highlight the current one; value cells carry the ids of
:mod:`diffexplore.explorer.script` so they appear when their step is reached.
"""

from __future__ import annotations

import html

from ..graph import Node
from ..render.labels import format_value
from .lines import Collapsed, Lines
from .script import per_seed

__all__ = ["trace_tables"]

_HEADINGS = {
    "trace": (("node", "primal trace", "v", "tangent trace", "v̇"), ("node", "adjoint trace", "adds", "v̄")),
    "layers": (("operation", "v", "v̇"), ("adjoint", "adds", "v̄")),
}


def _cell(text: str, css: str = "", element: str | None = None, raw: bool = False) -> str:
    attributes = f' class="{css}"' if css else ""
    if element:
        attributes += f' data-t="{element}"'
    return f"<td{attributes}>{text if raw else html.escape(text)}</td>"


def _head(columns: tuple[str, ...]) -> str:
    return "<thead><tr>" + "".join(f"<th>{html.escape(c)}</th>" for c in columns) + "</tr></thead>"


def _collapsed_row(run: Collapsed, step: int, columns: int) -> str:
    """One row standing for a collapsed run of lines (a page with a level of detail)."""
    return (f'<tr data-step="{step}" class="collapsed"><td colspan="{columns}">⋯ lines {run.first:,}–'
            f"{run.last:,} collapsed ({run.size:,} lines) ⋯</td></tr>")


def trace_tables(lines: Lines, names: dict[Node, str], digits: int = 4) -> str:
    """The forward and reverse tables (HTML) of the sweeps' lines; step k is row ``data-step="k"``.

    >>> import diffexplore as dx
    >>> from diffexplore.render.labels import short_names
    >>> from diffexplore.explorer.lines import sweep_lines
    >>> f = dx.parse("x*x")
    >>> at, names = {"x": 3.0}, short_names(dx.nodes(f))
    >>> lines = sweep_lines(f, at, names, [{"x": 1.0}], [dx.forward(f, at, seed="x")], dx.reverse(f, at))
    >>> text = trace_tables(lines, names)
    >>> text.count("<tr data-step="), text.count('class="accumulates"')
    (7, 1)
    """
    forward_columns, reverse_columns = _HEADINGS[lines.style]
    rows = []
    step = 1
    for line in lines.forward:
        if isinstance(line, Collapsed):
            rows.append(_collapsed_row(line, step, len(forward_columns)))
            step += 1
            continue
        key = "f" if line.closing else names[line.node]
        css = ' class="closing"' if line.closing else ""
        rows.append(
            f'<tr data-step="{step}"{css}>'
            + (_cell(key, "key") if lines.style == "trace" else "")
            + _cell(line.primal_text, "statement")
            + _cell(format_value(line.primal, digits), "number", f"fv:{step}")
            + (_cell(line.tangent_text, "statement") if lines.style == "trace" else "")
            + _cell(per_seed([format_value(t, digits) for t in line.tangents]), "number", f"ft:{step}",
                    raw=True)
            + "</tr>")
        step += 1
    forward = (f'<table class="trace forward {lines.style}">{_head(forward_columns)}'
               f'<tbody>{"".join(rows)}</tbody></table>')
    rows = []
    for line in lines.reverse:
        if isinstance(line, Collapsed):
            rows.append(_collapsed_row(line, step, len(reverse_columns)))
            step += 1
            continue
        key = names[line.receiver]
        if line.kind == "add":
            key = f"{key} ← {names[line.child]}"
        css = {"seed": "seed", "gradient": "gradient"}.get(line.kind,
                                                            "accumulates" if line.accumulates else "")
        adds = {"gradient": "", "add": format_value(line.amount, digits)}.get(
            line.kind, format_value(line.running, digits))
        rows.append(
            f'<tr data-step="{step}"' + (f' class="{css}"' if css else "") + ">"
            + (_cell(key, "key") if lines.style == "trace" else "")
            + _cell(line.text, "statement")
            + _cell(adds, "number", f"ra:{step}")
            + _cell(format_value(line.running, digits), "number", f"rv:{step}")
            + "</tr>")
        step += 1
    reverse = (f'<table class="trace reverse {lines.style}">{_head(reverse_columns)}'
               f'<tbody>{"".join(rows)}</tbody></table>')
    return (f"<h2>Forward sweep</h2>{forward}"
            "<h2>Reverse sweep <small>(in the order the engine adds each term; "
            "<span class=\"mark\">+=</span> where a value feeds several operations)</small></h2>"
            f"{reverse}")
