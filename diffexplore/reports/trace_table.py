"""Show: evaluation traces, a formula as the straight-line program the AD literature prints.

One line per node, numbered as Griewank & Walther do: with n inputs the inputs are v_{1-n} … v_0, the
operations v_1, v_2, … in evaluation order, constants inline. Beside each line stand its numbers: the
primal trace, the forward tangent trace for a seed, and (in a second table) the reverse adjoint trace in
the order the engine's backward sweep added each term, with ``+=`` where a value feeds several
operations. Every number comes from :func:`diffexplore.forward` and :func:`diffexplore.reverse`
(``.contributions``); this module only numbers the nodes and writes the statements.

The statements are printed from small expressions of placeholder variables (one per v_i, v̇_i, v̄_i)
built with the rule table's own partials, so ``v̇_3 = v̇_0 × cos v_0`` is the sin rule itself.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from tabulate import tabulate

from ..callables import graph_of
from ..errors import DiffexploreError, ShapeError
from ..evaluate import forward, reverse
from ..formula import format_number, formula
from ..graph import Node, Primitive, apply, nodes, variable
from ..inputs import as_point

__all__ = ["trace_table", "TraceTable", "ForwardRow", "AdjointRow", "ORDERS"]

ORDERS = ("levels", "evaluation")

_SUBSCRIPTS = str.maketrans("-0123456789", "₋₀₁₂₃₄₅₆₇₈₉")
_DOT, _BAR = "\u0307", "\u0304"          # combining dot above (tangent), combining macron (adjoint)
_LATEX_NAME = re.compile(r"\\(?:operatorname\{(\w+)\}|([A-Za-z]+))")


# ---- the two notations: Unicode (terminal, Markdown) and LaTeX ---------------------------------------


@dataclass(frozen=True)
class _Style:
    latex: bool

    def v(self, k: int, mark: str = "") -> str:
        """v_k, its tangent (mark "dot") or its adjoint (mark "bar")."""
        if self.latex:
            base = {"": "v", "dot": r"\dot{v}", "bar": r"\bar{v}"}[mark]
            return f"{base}_{{{k}}}"
        base = {"": "v", "dot": "v" + _DOT, "bar": "v" + _BAR}[mark]
        return base + str(k).translate(_SUBSCRIPTS)

    def name(self, text: str, mark: str = "") -> str:
        """A variable name (x1) or output name (y), plain, dotted or barred."""
        if self.latex:
            stem = text.rstrip("0123456789")
            digits = text[len(stem):]
            stem = stem if len(stem) == 1 else r"\mathrm{" + stem.replace("_", r"\_") + "}"
            body = {"": stem, "dot": rf"\dot{{{stem}}}", "bar": rf"\bar{{{stem}}}"}[mark]
            return f"{body}_{{{digits}}}" if digits else body
        return unicodedata.normalize("NFC", text[0] + {"": "", "dot": _DOT, "bar": _BAR}[mark] + text[1:])

    @property
    def minus(self) -> str:
        return "-" if self.latex else "−"

    def head(self, rule: Primitive) -> str:
        """A function's name: its ``latex`` facet (else ``\\operatorname{name}``), or in Unicode the name
        that LaTeX writes (``\\ln`` is ``ln``; else the primitive's own name)."""
        if self.latex:
            return rule.latex or rf"\operatorname{{{rule.name}}}"
        match = _LATEX_NAME.fullmatch(rule.latex or "")
        return (match.group(1) or match.group(2)) if match else rule.name

    def operator(self, rule: Primitive) -> str:
        """A binary operator's symbol with its spacing: the ``latex`` facet, or in Unicode the drawing
        ``label``, else the ``infix`` symbol; a division is an inline fraction, ``a/b``."""
        if rule.infix == "/":
            return "/"
        return f" {(rule.latex if self.latex else rule.label) or rule.infix} "

    def function(self, rule: Primitive, arg: str, arg_is_atom: bool) -> tuple[str, float]:
        """A unary function applied to an argument, and the precedence of the result."""
        if self.latex and rule.name == "sqrt":
            return rf"\sqrt{{{arg}}}", 10
        head = self.head(rule)
        if arg_is_atom:
            return f"{head} {arg}", 3.5        # "sin v₀": binds tighter than ×, looser than ^
        return (rf"{head}\left({arg}\right)" if self.latex else f"{head}({arg})"), 10


UNICODE, LATEX = _Style(latex=False), _Style(latex=True)


def _show(expr: Any, labels: dict[Node, tuple[str, str]], style: _Style) -> str:
    """Print a small placeholder expression (iterating its nodes, no recursion)."""
    if not isinstance(expr, Node):
        return format_number(expr)
    pick = 1 if style.latex else 0
    text: dict[Node, tuple[str, float]] = {}
    for n in nodes(expr):
        rule = n.rule
        if n in labels:
            text[n] = (labels[n][pick], 10)
        elif not n.args:
            s = format_number(n.attr)
            text[n] = (s, 10 if not s.startswith("-") else 3)
        elif rule.name == "pow":
            (base, bp), (exponent, ep) = text[n.args[0]], text[n.args[1]]
            exponent_node = n.args[1]
            if exponent_node.is_constant and exponent_node.value == 1.0 and exponent_node not in labels:
                text[n] = (base, bp)                 # a**1, left over from the rule b·a**(b − 1)
                continue
            base = base if bp > 4 else f"({base})"
            if style.latex:
                text[n] = (f"{{{base}}}^{{{exponent}}}", 4)
            else:
                text[n] = (f"{base}^{exponent if ep == 10 else f'({exponent})'}", 4)
        elif rule.infix and rule.arity == 2:
            (ls, lp), (rs, rp) = text[n.args[0]], text[n.args[1]]
            prec = rule.precedence
            ls = ls if lp >= prec else f"({ls})"
            rs = rs if rp > prec and rp != 3 else f"({rs})"
            text[n] = (f"{ls}{style.operator(rule)}{rs}", prec)
        elif rule.name == "neg":
            inner, ip = text[n.args[0]]
            text[n] = (f"{style.minus}{inner}" if ip > 3 else f"{style.minus}({inner})", 3)
        elif len(n.args) == 1 and not rule.has_attr:
            inner, ip = text[n.args[0]]
            text[n] = style.function(rule, inner, ip == 10)
        else:
            inner = ", ".join(text[a][0] for a in n.args)
            text[n] = (f"{style.head(rule)}({inner})", 10)
    return text[expr][0]


# ---- the table -----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ForwardRow:
    """One line of the forward sweep: ``v_index = primal_statement`` and its tangent line.

    ``index`` is the Griewank–Walther number (``None`` for the closing output line ``y = v_m``);
    statements come in Unicode (``*_text``) and LaTeX (``*_latex``).
    """

    index: int | None
    node: Node
    primal_text: str
    primal_latex: str
    primal: float
    tangent_text: str
    tangent_latex: str
    tangent: float


@dataclass(frozen=True)
class AdjointRow:
    """One line of the reverse sweep: the adjoint of ``v_index`` receives ``adds`` from ``v_source``.

    ``accumulates`` is True for a ``+=`` line (a value with several consumers); ``adjoint`` is the
    running value after the line. The seed line has ``source=None``; the closing gradient lines
    (``x̄1 = v̄₋₁``) have ``adds=None``.
    """

    index: int
    source: int | None
    text: str
    latex: str
    adds: float | None
    adjoint: float
    accumulates: bool


@dataclass
class TraceTable:
    """An evaluation trace: the forward rows (primal and tangent) and the adjoint rows (reverse sweep).

    ``primals``, ``tangents`` and ``adjoints`` map each v-number to its final value; ``gradient`` and
    ``value`` are the reverse sweep's; ``tangent`` is the forward sweep's directional derivative.
    """

    function: str
    point: dict
    seed: dict
    inputs: list[str]
    forward_rows: list[ForwardRow]
    adjoint_rows: list[AdjointRow]
    value: float
    tangent: float
    gradient: dict
    digits: int = 5
    primals: dict = field(default_factory=dict)
    tangents: dict = field(default_factory=dict)
    adjoints: dict = field(default_factory=dict)

    def _number(self, value: float | None) -> str:
        if value is None:
            return ""
        if value == 0:
            return "0"
        return f"{value:.{self.digits}g}"

    def _heading(self, style: _Style) -> tuple[str, str, str]:
        at = ", ".join(f"{name} = {format_number(self.point[name])}" for name in self.inputs)
        seed = ", ".join(f"{style.name(name, 'dot')} = {format_number(self.seed.get(name, 0.0))}"
                         for name in self.inputs)
        args = ", ".join(self.inputs)
        return (f"f({args}) = {self.function}   at {at}",
                f"forward sweep: primal trace, and tangent trace for the seed {seed}",
                "reverse sweep: adjoint trace in the order the engine added each term "
                "(+= where a value feeds several operations)")

    def headings(self) -> tuple[str, str, str]:
        """The title, the forward sweep's heading and the reverse sweep's (Unicode)."""
        return self._heading(UNICODE)

    def cell(self, value: float | None) -> str:
        """A number of the table as its cells show it (``digits`` significant digits)."""
        return self._number(value)

    def to_text(self) -> str:
        """The trace as terminal tables (statements with combining marks sit in the last column)."""
        title, forward_title, reverse_title = self._heading(UNICODE)
        fwd = [[r.primal_text, self._number(r.primal), self._number(r.tangent), r.tangent_text]
               for r in self.forward_rows]
        rev = [[self._number(r.adds), self._number(r.adjoint), r.text] for r in self.adjoint_rows]
        return "\n".join([
            title, "", forward_title, "",
            tabulate(fwd, headers=["primal trace", "primal", "tangent", "tangent trace"],
                     tablefmt="simple", disable_numparse=True, colalign=("left", "right", "right", "left")),
            "", reverse_title, "",
            tabulate(rev, headers=["adds", "adjoint", "adjoint trace"], tablefmt="simple",
                     disable_numparse=True, colalign=("right", "right", "left")),
        ])

    def __str__(self) -> str:
        return self.to_text()

    def to_markdown(self) -> str:
        """The trace as two Markdown tables (Unicode statements, numbers to ``digits`` significant)."""
        title, forward_title, reverse_title = self._heading(UNICODE)
        fwd = [[_cell(r.primal_text), self._number(r.primal), _cell(r.tangent_text), self._number(r.tangent)]
               for r in self.forward_rows]
        rev = [[_cell(r.text), self._number(r.adds), self._number(r.adjoint)] for r in self.adjoint_rows]
        return "\n".join([
            f"`{title}`", "", f"**{forward_title.capitalize()}**", "",
            tabulate(fwd, headers=["primal trace", "value", "tangent trace", "value"], tablefmt="github",
                     disable_numparse=True, colalign=("left", "right", "left", "right")),
            "", f"**{reverse_title.capitalize()}**", "",
            tabulate(rev, headers=["adjoint trace", "adds", "adjoint"], tablefmt="github",
                     disable_numparse=True, colalign=("left", "right", "right")),
            ""])

    def to_latex(self) -> str:
        """The trace as two LaTeX ``tabular`` environments (statements in math mode)."""
        title, forward_title, reverse_title = self._heading(LATEX)
        fwd = [[f"${r.primal_latex}$", self._number(r.primal), f"${r.tangent_latex}$",
                self._number(r.tangent)] for r in self.forward_rows]
        rev = [[f"${r.latex}$", self._number(r.adds), self._number(r.adjoint)] for r in self.adjoint_rows]
        return "\n".join([
            f"% {title}", f"% {forward_title}",
            tabulate(fwd, headers=["primal trace", "value", "tangent trace", "value"], tablefmt="latex_raw",
                     disable_numparse=True, colalign=("left", "right", "left", "right")),
            f"% {reverse_title}",
            tabulate(rev, headers=["adjoint trace", "adds", "adjoint"], tablefmt="latex_raw",
                     disable_numparse=True, colalign=("left", "right", "right")),
            ""])

    def __repr__(self) -> str:
        from ..render.displays import trace_text
        return trace_text(self)

    def _repr_html_(self) -> str:
        from ..render.displays import trace_html
        return trace_html(self)

    def _repr_markdown_(self) -> str:
        return self.to_markdown()


def _cell(text: str) -> str:
    return text.replace("|", r"\|")


# ---- building the rows ---------------------------------------------------------------------------------


def by_level(order: Sequence[Node]) -> list[Node]:
    """``order`` level by level (longest path from the leaves), ties in evaluation order: the
    "levels" order of trace tables and of the explorer's windowed page."""
    depth: dict[Node, int] = {}
    for n in order:
        depth[n] = 1 + max(depth[a] for a in n.args) if n.args else 0
    position = {n: i for i, n in enumerate(order)}
    return sorted(order, key=lambda n: (depth[n], position[n]))


def _term(factor: Any, partial: Any) -> Any:
    """factor × partial, written the way the literature writes it (v̇/v for a 1/v partial, ±v̇ for ±1)."""
    if not isinstance(partial, Node):
        if partial == 1.0:
            return factor
        if partial == -1.0:
            return -factor
        return partial * factor
    if partial.op == "div" and partial.args[0].is_constant and partial.args[0].value == 1.0:
        return factor / partial.args[1]
    return factor * partial


def _sum(terms: list) -> Any:
    total = None
    for t in terms:
        if total is None:
            total = t
        elif isinstance(t, Node) and t.op == "neg":
            total = total - t.args[0]
        else:
            total = total + t
    return 0.0 if total is None else total


def _scalar(value: Any, name: str) -> float:
    if isinstance(value, complex) or np.ndim(value) != 0:
        raise ShapeError(f"trace tables are for real scalar inputs; {name} = {value!r} "
                         "(give one real number per variable, e.g. --at x1=2,x2=5)")
    return float(value)


def trace_table(f: Node | str | Callable, at: Mapping[str, Any],
                seed: Mapping[str, float] | str | None = None, order: str = "levels",
                digits: int = 5) -> TraceTable:
    """The evaluation trace of ``f`` at ``at``: primal, tangent (for ``seed``) and adjoint lines.

    Inputs are numbered v_{1-n} … v_0 in the order of ``at``; operations v_1, v_2, … level by level
    (``order="levels"``, as the classic tables do: every operation whose arguments are ready gets the
    next number) or in :func:`diffexplore.nodes` order (``order="evaluation"``). ``seed`` is the tangent
    direction (default: the first input). ``digits`` is the significant digits printed.

    >>> import diffexplore as dx
    >>> t = trace_table("log(x1) + x1*x2 - sin(x2)", {"x1": 2, "x2": 5}, seed="x1")
    >>> [r.primal_text for r in t.forward_rows][2:]
    ['v₁ = ln v₋₁', 'v₂ = v₋₁ × v₀', 'v₃ = sin v₀', 'v₄ = v₁ + v₂', 'v₅ = v₄ − v₃', 'y = v₅']
    >>> round(t.value, 3), t.tangent, round(t.gradient["x2"], 3)
    (11.652, 5.5, 1.716)
    """
    if order not in ORDERS:
        raise DiffexploreError(f"unknown trace order {order!r}; orders: {', '.join(ORDERS)}")
    f = graph_of(f, at, call="trace_table")
    point = as_point(at)
    graph = nodes(f)
    if any(n.shape != () for n in graph):
        raise ShapeError("trace tables are for scalar graphs; this graph has array-shaped nodes "
                         "(trace one element, or use dx.reverse for arrays)")
    variables = [n for n in graph if n.is_variable]
    if not variables:
        raise DiffexploreError(f"{formula(f, max_length=80)} has no variables, so there is nothing to trace")
    by_name = {v.name: v for v in variables}
    names = [name for name in point if name in by_name] + [v.name for v in variables if v.name not in point]
    for input_name in names:
        if input_name in point:
            _scalar(point[input_name], input_name)
    if seed is None:
        seed = {names[0]: 1.0}
    tangent_sweep = forward(f, point, seed=seed)            # raises for missing values and domain errors
    adjoint_sweep = reverse(f, point)

    # Griewank–Walther numbers: inputs 1-n … 0, then operations 1, 2, … ; constants are not numbered.
    number: dict[Node, int] = {by_name[name]: k - len(names) + 1 for k, name in enumerate(names)}
    operations = [n for n in (by_level(graph) if order == "levels" else graph) if n.args]
    for k, n in enumerate(operations, start=1):
        number[n] = k

    def placeholders(mark: str) -> dict[Node, Node]:
        prefix = {"": "v", "dot": "t", "bar": "b"}[mark]
        return {n: variable(f"_{prefix}{'m' if k < 0 else ''}{abs(k)}") for n, k in number.items()}

    values, tangents, bars = placeholders(""), placeholders("dot"), placeholders("bar")
    labels: dict[Node, tuple[str, str]] = {}
    for n, k in number.items():
        for table, mark in ((values, ""), (tangents, "dot"), (bars, "bar")):
            labels[table[n]] = (UNICODE.v(k, mark), LATEX.v(k, mark))

    def show(expr: Any) -> tuple[str, str]:
        return _show(expr, labels, UNICODE), _show(expr, labels, LATEX)

    active = {n for n in graph if n.is_variable}
    for n in graph:
        if any(a in active for a in n.args):
            active.add(n)

    def argument(a: Node) -> Any:
        return values[a] if a in number else a.value

    def partial(n: Node, pos: int) -> Any:
        """∂n/∂n.args[pos] over the placeholders: the rule table's own partial (0 for None)."""
        rule = n.rule
        if rule.partials is None:                   # a vjp/jvp rule: name the partial, don't expand it
            a = n.args[pos]
            symbol = variable(f"_d{number[n]}_{pos}".replace("-", "m"))
            labels[symbol] = (f"∂{UNICODE.v(number[n])}/∂{UNICODE.v(number[a])}",
                              rf"\partial {LATEX.v(number[n])}/\partial {LATEX.v(number[a])}")
            return symbol
        if rule.partials[pos] is None:
            return 0.0
        return rule.partials[pos](*[argument(a) for a in n.args], values[n])

    def statement(lhs: tuple[str, str], rhs: tuple[str, str], op: str = "=") -> tuple[str, str]:
        return f"{lhs[0]} {op} {rhs[0]}", f"{lhs[1]} {op} {rhs[1]}"

    def v(n: Node, mark: str = "") -> tuple[str, str]:
        return UNICODE.v(number[n], mark), LATEX.v(number[n], mark)

    def name(text: str, mark: str = "") -> tuple[str, str]:
        return UNICODE.name(text, mark), LATEX.name(text, mark)

    forward_rows: list[ForwardRow] = []

    def add_forward(index, node, primal_statement, tangent_statement):
        forward_rows.append(ForwardRow(
            index=index, node=node, primal_text=primal_statement[0], primal_latex=primal_statement[1],
            primal=float(tangent_sweep.primals[node]), tangent_text=tangent_statement[0],
            tangent_latex=tangent_statement[1], tangent=float(tangent_sweep.tangents[node])))

    for input_name in names:
        n = by_name[input_name]
        add_forward(number[n], n, statement(v(n), name(input_name)),
                    statement(v(n, "dot"), name(input_name, "dot")))
    for n in operations:
        arguments = [values[a] if a in number else a for a in n.args]
        definition = apply(n.rule, *arguments, attr=n.attr) if n.rule.has_attr else apply(n.rule, *arguments)
        partials = [(a, partial(n, pos)) for pos, a in enumerate(n.args) if a in active]
        terms = [_term(tangents[a], p) for a, p in partials if isinstance(p, Node) or p != 0.0]
        add_forward(number[n], n, statement(v(n), show(definition)),
                    statement(v(n, "dot"), show(_sum(terms))))
    output = next(o for o in ("y", "f", "out") if o not in names)
    if f in number:
        add_forward(None, f, statement(name(output), v(f)), statement(name(output, "dot"), v(f, "dot")))

    # The reverse sweep, line by line in the engine's order: (receiver, source, amount).
    adjoint_rows: list[AdjointRow] = []
    running: dict[Node, float] = {}
    used_positions: dict[Node, set[int]] = {}
    if f in number:
        running[f] = 1.0
        text, latex = statement(v(f, "bar"), name(output, "bar"))
        adjoint_rows.append(AdjointRow(index=number[f], source=None, text=f"{text} = 1", latex=f"{latex} = 1",
                                       adds=1.0, adjoint=1.0, accumulates=False))
    for receiver, source, amount in adjoint_sweep.contributions:
        used = used_positions.setdefault(source, set())
        pos = next(p for p, a in enumerate(source.args) if a is receiver and p not in used)
        used.add(pos)
        accumulates = receiver in running
        running[receiver] = running.get(receiver, 0.0) + float(amount)
        text, latex = statement(v(receiver, "bar"), show(_term(bars[source], partial(source, pos))),
                                "+=" if accumulates else "=")
        adjoint_rows.append(AdjointRow(index=number[receiver], source=number[source], text=text,
                                       latex=latex, adds=float(amount), adjoint=running[receiver],
                                       accumulates=accumulates))
    final_adjoints = adjoint_sweep.adjoints
    for input_name in names:
        n = by_name[input_name]
        text, latex = statement(name(input_name, "bar"), v(n, "bar"))
        adjoint_rows.append(AdjointRow(index=number[n], source=None, text=text, latex=latex, adds=None,
                                       adjoint=float(final_adjoints[n]), accumulates=False))

    return TraceTable(
        function=formula(f, max_length=200), point={k: point[k] for k in names},
        seed={k: float(s) for k, s in tangent_sweep.seed.items()}, inputs=names,
        forward_rows=forward_rows, adjoint_rows=adjoint_rows, value=float(adjoint_sweep.value),
        tangent=float(tangent_sweep.tangent),
        gradient={k: float(g) for k, g in adjoint_sweep.gradient.items()},
        digits=digits,
        primals={k: float(tangent_sweep.primals[n]) for n, k in number.items()},
        tangents={k: float(tangent_sweep.tangents[n]) for n, k in number.items()},
        adjoints={k: float(final_adjoints[n]) for n, k in number.items()})
