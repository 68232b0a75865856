"""Show: the explorer page itself, one self-contained HTML file.

The template (``page.html``), its style (``explorer.css``) and its script (``explorer.js``) are package
data files of this folder; :func:`page_html` fills the template with the drawings (inline SVG), the
trace tables, the controls and the script's data (JSON in a ``<script type="application/json">``),
so the page needs no network, no external script and no font file. The same inputs give the same
bytes: no timestamps, no ids that depend on creation history.
"""

from __future__ import annotations

import html
import json
import re
from collections.abc import Sequence
from dataclasses import dataclass
from importlib import resources
from typing import Any

from .script import Script
from .svg import Pane

__all__ = ["Results", "page_html", "package_text", "FOLLOW", "DETAIL_CSS"]

#: The views "follow the sweep" shows in each phase.
FOLLOW = {"forward": ["original", "tangent"], "reverse": ["original", "adjoint"]}
_VIEW_ORDER = ("original", "symbolic", "adjoint", "tangent")
_PLACEHOLDER = re.compile(r"\{\{(\w+)\}\}")
#: The styles of a page with a level of detail (its notice and collapsed rows), added to that page only.
DETAIL_CSS = """
.detail { margin: 6px 0; padding: 6px 10px; background: #fffbeb; border: 1px solid #fde68a;
  border-left: 4px solid var(--now); border-radius: 4px; line-height: 1.45; }
.trace tr.collapsed td { text-align: center; color: var(--dim); font-style: italic; background: var(--soft); }
"""


@dataclass(frozen=True)
class Results:
    """What the results line shows: the value, the forward-mode derivative per seed, and each input's
    gradient entry as ``(name, short name, formatted value, exact value or None)``."""

    value: str
    tangents: tuple[tuple[str, float | None], ...]
    gradient: tuple[tuple[str, str, str, float | None], ...]


def package_text(name: str) -> str:
    """A data file of this package (the page template, its CSS or its JavaScript).

    >>> package_text("page.html").startswith("<!DOCTYPE html>")
    True
    """
    return resources.files(__package__).joinpath(name).read_text(encoding="utf-8")


def _json(data: Any) -> str:
    """JSON safe inside a <script> element: every "<" escaped, floats exact, no NaN."""
    text = json.dumps(data, ensure_ascii=False, separators=(",", ":"), allow_nan=False)
    return text.replace("<", "\\u003c")


def _fill(template: str, values: dict[str, str]) -> str:
    """Replace each ``{{name}}`` once, in one pass (inserted text is never scanned again)."""
    return _PLACEHOLDER.sub(lambda match: values[match.group(1)], template)


def _seed_buttons(labels: Sequence[str], selected: int) -> str:
    return "\n    ".join(
        f'<button type="button" data-seed-choice="{k}" aria-pressed="{str(k == selected).lower()}">'
        f"{html.escape(label)}</button>" for k, label in enumerate(labels))


def _view_buttons(panes: Sequence[Pane]) -> str:
    present = [view for view in _VIEW_ORDER if any(p.view == view for p in panes)]
    buttons = [f'<button type="button" data-view-choice="{view}" aria-pressed="false">{view}</button>'
               for view in present]
    return "\n      ".join(buttons)


def _panes(panes: Sequence[Pane]) -> str:
    figures = []
    for pane in panes:
        seed = "" if pane.seed is None else f' data-seed="{pane.seed}"'
        figures.append(f'<figure class="pane" data-pane="{pane.view}"{seed}>'
                       f"\n{pane.svg.strip()}\n</figure>")
    return "\n".join(figures)


def _results(results: Results) -> tuple[str, str, str]:
    tangents = "".join(
        f'<span data-seed="{k}"' + ("" if exact is None else f' data-full="{exact!r}"')
        + f">{html.escape(text)}</span>" for k, (text, exact) in enumerate(results.tangents))
    entries = []
    for name, key, text, exact in results.gradient:
        entries.append(
            f'<span class="entry">∂f/∂{html.escape(name)} = '
            f'<output data-var="{html.escape(name)}" data-key="{key}" data-t="g:{key}" '
            f'data-exact="{"1" if exact is not None else "0"}">{html.escape(text)}</output></span>')
    return html.escape(results.value), tangents, " · ".join(entries)


def page_html(*, formula: str, point: str, script: Script, tables: str, panes: Sequence[Pane],
              seed_labels: Sequence[str], seed: int, results: Results, notes: Sequence[str],
              version: str, detail: str = "") -> str:
    """The whole page as one HTML string (see the module docstring). ``detail`` is the notice of a page
    with a level of detail (HTML; it brings its own styles), empty for a page that shows every line.

    >>> from diffexplore.explorer.script import Script
    >>> script = Script(steps=[{"phase": "start", "kind": "start", "nodes": [], "edges": [], "say": "hi"}],
    ...                 reveal={}, texts={}, node_step={}, forward_end=0)
    >>> page = page_html(formula="x", point="x = 1", script=script, tables="", panes=[],
    ...                  seed_labels=["ẋ = 1"], seed=0, notes=[], version="0",
    ...                  results=Results("1", (("1", 1.0),), (("x", "a", "1", 1.0),)))
    >>> "http" in page.replace("http://www.w3.org", ""), page.count("<script")
    (False, 2)
    """
    data = {
        "steps": script.steps, "reveal": script.reveal, "texts": script.texts, "nodeStep": script.node_step,
        "forwardEnd": script.forward_end, "seeds": list(seed_labels), "seed": seed, "follow": FOLLOW,
    }
    value, tangents, gradient = _results(results)
    notes_html = "".join(f'<p class="notes">{html.escape(note)}</p>' for note in notes)
    return _fill(package_text("page.html"), {
        "version": html.escape(version),
        "title": html.escape(f"diffexplore explorer: f = {formula}"),
        "css": package_text("explorer.css").strip() + (DETAIL_CSS.rstrip() if detail else ""),
        "formula": html.escape(formula),
        "point": html.escape(point),
        "last": str(len(script.steps) - 1),
        "seed_buttons": _seed_buttons(seed_labels, seed),
        "value": value,
        "tangent": tangents,
        "gradient": gradient,
        "view_buttons": _view_buttons(panes),
        "panes": _panes(panes),
        "notes": notes_html,
        "detail": detail,
        "tables": tables,
        "data": _json(data),
        "js": package_text("explorer.js").strip(),
    })
