"""Show: the explorer page's script, the sweeps as numbered steps and what each step reveals.

Step 0 is the start (the graph and the program, no values). Steps 1 … F play the forward lines, steps
F+1 … F+R the reverse lines. Every value the page shows is an element with an id (``p:c``, the primal
rows of node c; ``a:b``, node b's adjoint row; ``fv:3``, the value cell of table row 3; …); the script
says at which step each id appears (``reveal``) and, for the adjoint rows of fan-out nodes, which text it
shows after each ``+=`` (``texts``). The page's JavaScript only looks these up.

Ids used (``key`` is a short name, ``head.pos`` an edge into argument ``pos`` of ``head``):
``p:key`` primal rows, ``t:key`` tangent rows, ``tg:key`` the output's forward-mode derivative row,
``a:key`` adjoint rows, ``g:key`` gradient entries, ``s`` the symbolic view's values, ``ea:head.pos``
and ``et:head.pos`` edge labels of the adjoint and tangent views, ``fv:k``/``ft:k``/``ra:k``/``rv:k``
table cells of step k, ``res:f`` and ``res:t`` the value and forward-mode derivative in the results.
"""

from __future__ import annotations

import html
import math
from dataclasses import dataclass
from typing import Any

import numpy as np

from ..graph import Node, nodes
from ..render.labels import expression, format_sum, format_value
from ..render.views import MAX_TERMS, VBAR
from .lines import Collapsed, ForwardLine, Lines, ReverseLine, bar

__all__ = ["Script", "build_script", "per_seed", "exact_number", "collapsed_say"]


@dataclass(frozen=True)
class Script:
    """The steps (JSON-ready dicts), when each element id appears, the adjoint texts of fan-out nodes,
    each node's forward step, and the step that closes the forward sweep."""

    steps: list[dict]
    reveal: dict[str, int]
    texts: dict[str, list]
    node_step: dict[str, int]
    forward_end: int


def exact_number(value: Any) -> float | None:
    """A real, finite scalar as a float (JSON keeps it exactly); anything else (arrays, complex, nan)
    as None.

    >>> exact_number(-1.0662337359916694), exact_number(float("nan")), exact_number([1.0, 2.0])
    (-1.0662337359916694, None, None)
    """
    if isinstance(value, np.ndarray) and value.ndim == 0:
        value = value.item()
    if isinstance(value, bool) or not isinstance(value, (int, float, np.integer, np.floating)):
        return None
    value = float(value)
    return value if math.isfinite(value) else None


def per_seed(texts: list[str] | tuple[str, ...]) -> str:
    """HTML showing one text per forward-mode seed (the page shows the selected seed's).

    >>> per_seed(["1", "0"])
    '<span data-seed="0">1</span><span data-seed="1">0</span>'
    """
    return "".join(f'<span data-seed="{k}">{html.escape(text)}</span>' for k, text in enumerate(texts))


def _code(text: str) -> str:
    return f"<code>{html.escape(text)}</code>"


def _node(key: str, n: Node, names: dict[Node, str], digits: int) -> str:
    return f"<b>{html.escape(key)}</b> = {html.escape(expression(n, names, digits))}"


def _forward_say(line: ForwardLine, key: str, names: dict[Node, str], digits: int) -> str:
    value = html.escape(format_value(line.primal, digits))
    tangents = per_seed([format_value(t, digits) for t in line.tangents])
    if line.closing:
        return ("<b>The forward sweep is done.</b> "
                f"{_code(line.primal_text)} = {value} and {_code(line.tangent_text)} = {tangents}: "
                "one sweep gives the derivative of f along the seed direction only (pick another seed "
                "for another input). The symbolic view now shows its derivative graph evaluated at the "
                "point: the same number for the same variable.")
    if line.node.is_variable:
        return (f"Input {_node(key, line.node, names, digits)}: {_code(line.primal_text)} = {value}; "
                f"its tangent {_code(line.tangent_text)} = {tangents} comes from the seed.")
    return (f"{_node(key, line.node, names, digits)}: {_code(line.primal_text)} = {value}; "
            f"tangent {_code(line.tangent_text)} = {tangents}, from the tangents of its arguments "
            "(highlighted arrows).")


def _reverse_say(line: ReverseLine, names: dict[Node, str], digits: int, adjoint_text: str = "") -> str:
    key = names[line.receiver]
    if line.kind == "seed":
        return (f"<b>The reverse sweep starts at the output</b> {html.escape(key)}: "
                f"{_code(line.text)}, since ∂f/∂f = 1. From here each node passes "
                "ū·∂u/∂v back to each of its arguments, in reverse evaluation order.")
    if line.kind == "gradient":
        return (f"{_code(line.text)} = {html.escape(format_value(line.running, digits))}: every use of "
                f"{html.escape(line.name or key)} has passed its term back, so its adjoint is the gradient "
                f"entry ∂f/∂{html.escape(line.name or key)}.")
    child = names[line.child]
    local = "" if line.local is None else f" = {format_value(line.local, digits)}"
    how = (f"{bar(child)}·∂{child}/∂{key}, with ∂{child}/∂{key}{local}" if line.local is not None
           else f"the vector-Jacobian product of {child} for this argument")
    text = (f"{_code(line.text)}: {_node(child, line.child, names, digits)} passes back "
            f"{html.escape(how)}: it adds {html.escape(format_value(line.amount, digits))}.")
    if line.terms > 1:
        who = f"<b>{html.escape(key)}</b>"
        if line.receiver.is_variable:
            who += f" ({html.escape(line.receiver.name)})"
        text += (f" {who} is used by {line.terms} operations (fan-out), so "
                 f"{html.escape(bar(key))} is a sum: this is term {line.term} of {line.terms}")
        if line.term == line.terms:
            text += f"; it is now complete: {html.escape(adjoint_text)}."
        else:
            text += "; the other uses add theirs later."
    return text


def _adjoint_text(line: ReverseLine, parts: list, digits: int) -> str:
    """The adjoint row as the adjoint view writes it, once ``parts`` (the terms so far) are added."""
    total = format_value(line.running, digits)
    if len(parts) < line.term:           # some terms were added in a collapsed run of the sweep
        return f"{VBAR} = sum of {line.term} terms = {total}"
    if len(parts) < 2:
        return f"{VBAR} = {total}"
    if line.terms <= MAX_TERMS:          # the adjoint view lists the terms of its final sum
        return f"{VBAR} = {format_sum(parts, digits)} = {total}"
    return f"{VBAR} = sum of {len(parts)} terms = {total}"


def collapsed_say(run: Collapsed) -> str:
    """What the step of a collapsed run says: which lines it folds and what they do.

    >>> print(collapsed_say(Collapsed("forward", 1001, 1500, 2500, (("sin", 500),))))
    ... # doctest: +NORMALIZE_WHITESPACE
    <b>Forward lines 1,001–1,500 (of 2,500) are collapsed into this step</b>: 500 nodes (500 sin) get
    their value v and tangent v̇ exactly as in the lines shown. The next step resumes at line 1,501.
    """
    head = (f"<b>{run.phase.capitalize()} lines {run.first:,}–{run.last:,} (of {run.total:,}) are "
            "collapsed into this step</b>: ")
    tail = f" The next step resumes at line {run.last + 1:,}."
    counts = dict(run.counts)
    if run.phase == "forward":
        listed = ", ".join(f"{count:,} {html.escape(name)}" for name, count in run.counts)
        return (f"{head}{run.size:,} nodes ({listed}) get their value v and tangent v̇ exactly as in the "
                f"lines shown.{tail}")
    text = (f"{head}{counts['terms']:,} terms ū·∂u/∂v are added to the adjoints, {counts['+=']:,} of them "
            "+= onto a value that feeds several operations (fan-out).")
    if run.gradients:
        text += f" {len(run.gradients):,} gradient entries are complete here."
    return text + tail


def _collapsed_step(run: Collapsed) -> dict:
    return {"phase": run.phase, "kind": "collapsed", "nodes": [], "edges": [], "say": collapsed_say(run)}


def build_script(f: Node, lines: Lines, names: dict[Node, str], digits: int = 4) -> Script:
    """The steps of both sweeps and when each element of the page appears.

    >>> import diffexplore as dx
    >>> from diffexplore.render.labels import short_names
    >>> from diffexplore.explorer.lines import sweep_lines
    >>> f = dx.parse("x*x")
    >>> at, names = {"x": 3.0}, short_names(dx.nodes(f))
    >>> lines = sweep_lines(f, at, names, [{"x": 1.0}], [dx.forward(f, at, seed="x")], dx.reverse(f, at))
    >>> script = build_script(f, lines, names)
    >>> [(s["phase"], s["kind"]) for s in script.steps]       # doctest: +NORMALIZE_WHITESPACE
    [('start', 'start'), ('forward', 'input'), ('forward', 'operation'), ('forward', 'closing'),
     ('reverse', 'seed'), ('reverse', 'add'), ('reverse', 'add'), ('reverse', 'gradient')]
    >>> script.texts["a:a"]                                    # x feeds x*x twice: a sum of two terms
    [[5, 'v̄ = 3'], [6, 'v̄ = 3 + 3 = 6']]
    """
    steps: list[dict] = [{"phase": "start", "kind": "start", "nodes": [], "edges": [],
                          "say": ("Nothing is computed yet: the drawings show the graph, the table the "
                                  "program. Step forward (→) to run the forward sweep: each node gets its "
                                  "value v and its tangent v̇ in evaluation order.")}]
    reveal: dict[str, int] = {}
    texts: dict[str, list] = {}
    node_step: dict[str, int] = {names[n]: 0 for n in nodes(f) if n.is_constant}

    def show(element: str, step: int) -> None:
        reveal.setdefault(element, step)

    for line in lines.forward:
        k = len(steps)
        if isinstance(line, Collapsed):
            steps.append(_collapsed_step(line))
            continue
        key = names[line.node]
        edges = [f"{key}.{pos}" for pos in range(len(line.node.args))]
        if line.closing:
            show(f"tg:{key}", k)
            show("s", k)
            show("res:f", k)
            show("res:t", k)
        else:
            node_step.setdefault(key, k)
            show(f"p:{key}", k)
            show(f"t:{key}", k)
            for edge in edges:
                show(f"et:{edge}", k)
        show(f"fv:{k}", k)
        show(f"ft:{k}", k)
        kind = "closing" if line.closing else ("input" if line.node.is_variable else "operation")
        steps.append({"phase": "forward", "kind": kind, "nodes": [key],
                      "edges": [] if line.closing else edges, "say": _forward_say(line, key, names, digits)})
    forward_end = len(steps) - 1

    parts: dict[Node, list] = {}
    for line in lines.reverse:
        k = len(steps)
        if isinstance(line, Collapsed):
            for key in line.gradients:
                show(f"g:{key}", k)
            steps.append(_collapsed_step(line))
            continue
        key = names[line.receiver]
        step = {"phase": "reverse", "kind": line.kind, "nodes": [key], "edges": [],
                "say": _reverse_say(line, names, digits)}
        if line.kind == "seed":
            show(f"a:{key}", k)
        elif line.kind == "add":
            edge = f"{names[line.child]}.{line.position}"
            parts.setdefault(line.receiver, []).append(line.amount)
            adjoint_text = _adjoint_text(line, parts[line.receiver], digits)
            step["say"] = _reverse_say(line, names, digits, adjoint_text)
            show(f"a:{key}", k)
            show(f"ea:{edge}", k)
            if line.terms > 1:
                texts.setdefault(f"a:{key}", []).append([k, adjoint_text])
            step.update({"from": names[line.child], "to": key, "edges": [edge], "fanout": line.accumulates,
                         "amount": exact_number(line.amount)})
        else:
            show(f"g:{key}", k)
        show(f"ra:{k}", k)
        show(f"rv:{k}", k)
        steps.append(step)
    return Script(steps=steps, reveal=reveal, texts=texts, node_step=node_step, forward_end=forward_end)
