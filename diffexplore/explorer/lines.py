"""Show: the two sweeps of one function as lines of a program, the explorer page's raw material.

A forward line evaluates one node (its primal, and its tangent for every seed direction); a reverse line
is the output's seed, one term ``ū·∂u/∂v`` added to an adjoint, or a closing gradient entry. Scalar
graphs take their statements from :func:`diffexplore.trace_table` (the Griewank–Walther numbering of
``diffexplore trace``); array graphs get one line per array operation, written with the drawing's
short names ("layer granularity"). Every number comes from :func:`diffexplore.forward` and
:func:`diffexplore.reverse`; this module only lines them up with the nodes they belong to.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from ..errors import DiffexploreError
from ..evaluate import ForwardResult, ReverseResult
from ..graph import Node, nodes
from ..render.labels import expression
from ..reports.trace_table import trace_table

__all__ = ["ForwardLine", "ReverseLine", "Collapsed", "Lines", "sweep_lines", "bar", "dot",
           "active_nodes", "layer_statements", "adjoint_statement", "edges_of"]


def bar(key: str) -> str:
    """A short name with a bar, the adjoint's mark (a bar over every letter of a longer name).

    >>> bar("g"), bar("ab")
    ('ḡ', 'a̅b̅')
    """
    if len(key) == 1:
        return unicodedata.normalize("NFC", key + "\u0304")
    return "".join(letter + "\u0305" for letter in key)


def dot(key: str) -> str:
    """A short name with a dot, the tangent's mark (a longer name in parentheses).

    >>> dot("g"), dot("ab")
    ('ġ', '(ab)˙')
    """
    return unicodedata.normalize("NFC", key + "\u0307") if len(key) == 1 else f"({key})\u02d9"


@dataclass(frozen=True)
class ForwardLine:
    """One line of the forward sweep: ``node`` gets its primal and (per seed) its tangent.

    ``closing`` marks the last line (``f = v₅``), which names the output once more.
    """

    node: Node
    primal_text: str
    tangent_text: str
    primal: Any
    tangents: tuple[Any, ...]
    closing: bool = False


@dataclass(frozen=True)
class ReverseLine:
    """One line of the reverse sweep.

    ``kind`` is ``seed`` (the output's adjoint 1), ``add`` (``child`` passes ``amount`` = child̄ ·
    ∂child/∂receiver back through argument ``position``) or ``gradient`` (the closing ∂f/∂``name``).
    ``term`` counts the terms ``receiver`` has received so far, ``terms`` how many it gets in all;
    ``running`` is its adjoint after this line.
    """

    kind: str
    receiver: Node
    text: str
    running: Any
    child: Node | None = None
    position: int | None = None
    amount: Any = None
    local: Any = None
    term: int = 0
    terms: int = 0
    name: str | None = None

    @property
    def accumulates(self) -> bool:
        """Whether this line is a ``+=``: the receiver already holds a term from another use."""
        return self.kind == "add" and self.term > 1


@dataclass(frozen=True)
class Collapsed:
    """A run of lines of one sweep that a page with a level of detail folds into one step.

    ``first`` and ``last`` number the run's lines within the sweep (from 1, of ``total``); ``counts``
    says what they do (operations by name in the forward sweep; in the reverse sweep the terms added and
    how many of them are ``+=``); ``gradients`` are the short names of inputs whose gradient line is in
    the run (their entries appear at this step).
    """

    phase: str
    first: int
    last: int
    total: int
    counts: tuple[tuple[str, int], ...]
    gradients: tuple[str, ...] = ()

    @property
    def size(self) -> int:
        """How many lines the run folds."""
        return self.last - self.first + 1


@dataclass(frozen=True)
class Lines:
    """Both sweeps: the forward lines, the reverse lines, the inputs in order and the table style
    (``trace`` for the Griewank–Walther statements of scalar graphs, ``layers`` for array graphs and
    for the windows of large graphs, whose sweeps hold :class:`Collapsed` runs)."""

    forward: tuple[ForwardLine | Collapsed, ...]
    reverse: tuple[ReverseLine | Collapsed, ...]
    inputs: tuple[str, ...]
    style: str


def edges_of(result: ReverseResult) -> list[tuple[Node, Node, int, Any, Any]]:
    """(receiver, child, position, local partial or None, amount) in the order the sweep added them."""
    edges = []
    records = zip(result.partials.items(), result.contributions, strict=True)
    for ((child, position), local), (receiver, child_again, amount) in records:
        if child_again is not child or child.args[position] is not receiver:
            raise DiffexploreError("internal: reverse-mode records are out of step with its partials")
        edges.append((receiver, child, position, local, amount))
    return edges


def _reverse_lines(f: Node, result: ReverseResult, inputs: list[str], texts: list[str]) -> list[ReverseLine]:
    """The reverse lines, given one statement per line (seed, one per term, one per input)."""
    edges = edges_of(result)
    if len(texts) != 1 + len(edges) + len(inputs):
        raise DiffexploreError("internal: the adjoint trace and the reverse sweep list different terms")
    total_terms: dict[Node, int] = {}
    for receiver, *_rest in edges:
        total_terms[receiver] = total_terms.get(receiver, 0) + 1
    lines = [ReverseLine(kind="seed", receiver=f, text=texts[0], running=result.adjoints[f], term=1, terms=1)]
    running: dict[Node, Any] = {}
    received: dict[Node, int] = {}
    for k, (receiver, child, position, local, amount) in enumerate(edges, start=1):
        running[receiver] = amount if receiver not in running else running[receiver] + amount
        received[receiver] = received.get(receiver, 0) + 1
        lines.append(ReverseLine(kind="add", receiver=receiver, text=texts[k], running=running[receiver],
                                 child=child, position=position, amount=amount, local=local,
                                 term=received[receiver], terms=total_terms[receiver]))
    by_name = {n.name: n for n in nodes(f) if n.is_variable}
    for k, name in enumerate(inputs, start=1 + len(edges)):
        variable = by_name[name]
        lines.append(ReverseLine(kind="gradient", receiver=variable, text=texts[k],
                                 running=result.gradient[name], name=name,
                                 term=received.get(variable, 0), terms=total_terms.get(variable, 0)))
    return lines


def _trace_lines(f: Node, point: Mapping[str, Any], seeds: list[Mapping[str, Any]], order: str,
                 forwards: list[ForwardResult], result: ReverseResult) -> Lines:
    table = trace_table(f, point, seed=seeds[0], order=order)
    forward_lines = tuple(
        ForwardLine(node=row.node, primal_text=row.primal_text, tangent_text=row.tangent_text,
                    primal=forwards[0].primals[row.node],
                    tangents=tuple(sweep.tangents[row.node] for sweep in forwards),
                    closing=row.index is None)
        for row in table.forward_rows)
    texts = [row.text for row in table.adjoint_rows]
    reverse_lines = tuple(_reverse_lines(f, result, list(table.inputs), texts))
    return Lines(forward_lines, reverse_lines, tuple(table.inputs), "trace")


def active_nodes(order: list[Node]) -> set[Node]:
    """The nodes that depend on a variable (``order`` in evaluation order): those with a tangent."""
    active = {n for n in order if n.is_variable}
    for n in order:
        if any(a in active for a in n.args):
            active.add(n)
    return active


def layer_statements(n: Node, names: dict[Node, str], active: set[Node], digits: int) -> tuple[str, str]:
    """An operation's primal and tangent statements in the drawings' short names: ``c = a × b`` and
    ``ċ = ∂c/∂a·ȧ + ∂c/∂b·ḃ`` (only arguments that depend on a variable carry a tangent).

    >>> import diffexplore as dx
    >>> f = dx.parse("sin(x) * 2")
    >>> order = dx.nodes(f)
    >>> layer_statements(f, {n: k for n, k in zip(order, "abcd")}, active_nodes(order), 4)
    ('d = b × c', 'ḋ = ∂d/∂b·ḃ')
    """
    key = names[n]
    terms = [f"∂{key}/∂{names[a]}·{dot(names[a])}" for a in n.args if a in active]
    return f"{key} = {expression(n, names, digits)}", f"{dot(key)} = {' + '.join(terms) if terms else '0'}"


def adjoint_statement(receiver: Node, child: Node, names: dict[Node, str], first: bool) -> str:
    """One reverse line in short names: ``b̄ = c̄·∂c/∂b``, or ``+=`` when ``receiver`` already holds a
    term (not its ``first``)."""
    operator = "=" if first else "+="
    return f"{bar(names[receiver])} {operator} {bar(names[child])}·∂{names[child]}/∂{names[receiver]}"


def _layer_lines(f: Node, point: Mapping[str, Any], names: dict[Node, str], forwards: list[ForwardResult],
                 result: ReverseResult, digits: int) -> Lines:
    order = nodes(f)
    variables = {n.name: n for n in order if n.is_variable}
    inputs = [name for name in point if name in variables] + [n for n in variables if n not in point]
    active = active_nodes(order)

    def line(n: Node, primal_text: str, tangent_text: str, closing: bool = False) -> ForwardLine:
        return ForwardLine(node=n, primal_text=primal_text, tangent_text=tangent_text,
                           primal=forwards[0].primals[n],
                           tangents=tuple(sweep.tangents[n] for sweep in forwards), closing=closing)

    forward_lines = [line(variables[name], f"{names[variables[name]]} = {name}",
                          f"{dot(names[variables[name]])} = seed") for name in inputs]
    for n in order:
        if not n.args:
            continue
        forward_lines.append(line(n, *layer_statements(n, names, active, digits)))
    forward_lines.append(line(f, f"f = {names[f]}", f"ḟ = {dot(names[f])}", closing=True))

    texts = [f"{bar(names[f])} = 1 (seed)"]
    seen: set[Node] = set()
    for receiver, child, _position, _local, _amount in edges_of(result):
        texts.append(adjoint_statement(receiver, child, names, first=receiver not in seen))
        seen.add(receiver)
    texts.extend(f"∂f/∂{name} = {bar(names[variables[name]])}" for name in inputs)
    reverse_lines = tuple(_reverse_lines(f, result, inputs, texts))
    return Lines(tuple(forward_lines), reverse_lines, tuple(inputs), "layers")


def sweep_lines(f: Node, point: Mapping[str, Any], names: dict[Node, str], seeds: list[Mapping[str, Any]],
                forwards: list[ForwardResult], result: ReverseResult, order: str = "levels",
                digits: int = 4) -> Lines:
    """The forward and reverse lines of ``f`` at ``point``: evaluation-trace statements for scalar
    graphs, one line per array operation for array graphs.

    ``forwards`` holds one forward-mode result per seed of ``seeds`` (in that order), ``result`` the
    reverse-mode result; ``names`` are the drawings' short names.

    >>> import diffexplore as dx
    >>> from diffexplore.render.labels import short_names
    >>> f = dx.parse("x*x + y")
    >>> at = {"x": 3.0, "y": 1.0}
    >>> seeds = [{"x": 1.0}, {"y": 1.0}]
    >>> lines = sweep_lines(f, at, short_names(dx.nodes(f)), seeds,
    ...                     [dx.forward(f, at, seed=s) for s in seeds], dx.reverse(f, at))
    >>> [(line.text, line.amount) for line in lines.reverse if line.kind == "add"]
    [('v̄₁ = v̄₂', 1.0), ('v̄₀ = v̄₂', 1.0), ('v̄₋₁ = v̄₁ × v₋₁', 3.0), ('v̄₋₁ += v̄₁ × v₋₁', 3.0)]
    >>> lines.forward[-1].tangents          # ∂f/∂x = 2x and ∂f/∂y = 1, one forward sweep each
    (6.0, 1.0)
    """
    if any(n.shape != () for n in nodes(f)):
        return _layer_lines(f, point, names, forwards, result, digits)
    return _trace_lines(f, point, seeds, order, forwards, result)
