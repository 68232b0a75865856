"""Show: the level of detail of a large graph's page, a window of each sweep with the middle collapsed.

A graph of more than :data:`DETAIL_NODES` nodes would make a page of tens of megabytes, one step per
line of each sweep. Its page instead steps through the first and the last :data:`WINDOW_LINES` lines of
each sweep and folds the lines between into one :class:`~diffexplore.explorer.lines.Collapsed` step
that counts what they do. The window's lines are written in the drawings' short names (as array graphs
are), scalar constants inline; every number still comes from the whole sweeps of
:func:`diffexplore.forward` and :func:`diffexplore.reverse`, so values, running adjoints and the gradient
are those of the whole graph. :func:`detail_html` is the notice the page shows about it.
"""

from __future__ import annotations

import html
from collections import Counter
from collections.abc import Mapping, Sequence
from typing import Any

from ..evaluate import ForwardResult, ReverseResult
from ..graph import Node
from ..render.labels import format_value
from ..reports.trace_table import by_level
from .lines import (
    Collapsed,
    ForwardLine,
    Lines,
    ReverseLine,
    active_nodes,
    adjoint_statement,
    bar,
    dot,
    edges_of,
    layer_statements,
)

__all__ = ["DETAIL_NODES", "WINDOW_LINES", "window_lines", "collapsed_range", "detail_html",
           "inline_constants"]

#: Graphs of more than this many nodes get a page with a level of detail (a window of each sweep).
DETAIL_NODES = 10_000
#: Lines shown step by step at each end of each sweep of such a page.
WINDOW_LINES = 1_000
#: Operations listed by name in a collapsed forward run; the rest are counted together.
MAX_LISTED = 6


def collapsed_range(total: int, keep: int = WINDOW_LINES) -> range:
    """The indices of a sweep's ``total`` lines that are collapsed: all but the first and the last
    ``keep`` (none when those cover every line).

    >>> collapsed_range(10, 3), collapsed_range(6, 3)
    (range(3, 7), range(0, 0))
    """
    return range(keep, total - keep) if total > 2 * keep else range(0)


def inline_constants(names: Mapping[Node, str], digits: int) -> dict[Node, str]:
    """The short names with every scalar constant replaced by its value, so a statement written without
    drawings reads ``e = c + 0.5`` rather than naming a box that is not drawn.

    >>> import diffexplore as dx
    >>> f = dx.parse("x + 0.5")
    >>> sorted(inline_constants({n: k for n, k in zip(dx.nodes(f), "abc")}, 4).values())
    ['0.5', 'a', 'c']
    """
    return {n: format_value(n.value, digits) if n.is_constant and n.shape == () else key
            for n, key in names.items()}


def _operation_counts(run: Sequence[Node]) -> tuple[tuple[str, int], ...]:
    """The operations of a folded forward run by name, most frequent first, the rest as ``other``."""
    counts = Counter(n.rule.name for n in run).most_common()
    listed = counts[:MAX_LISTED]
    rest = sum(count for _name, count in counts[MAX_LISTED:])
    return tuple(listed + ([("other", rest)] if rest else []))


def _forward_window(f: Node, order: list[Node], inputs: list[str], names: dict[Node, str],
                    forwards: list[ForwardResult], sequence: str,
                    digits: int) -> list[ForwardLine | Collapsed]:
    """The forward sweep's window: inputs, operations (``levels`` or ``evaluation`` order), the closing
    line, with the middle run collapsed."""
    by_name = {n.name: n for n in order if n.is_variable}
    operations = [n for n in (by_level(order) if sequence == "levels" else order) if n.args]
    sweep = [by_name[name] for name in inputs] + operations + [f]
    active = active_nodes(order)
    total = len(sweep)

    def line(k: int) -> ForwardLine:
        n = sweep[k]
        if k == total - 1:
            texts = (f"f = {names[f]}", f"ḟ = {dot(names[f])}")
        elif n.is_variable:
            texts = (f"{names[n]} = {n.name}", f"{dot(names[n])} = seed")
        else:
            texts = layer_statements(n, names, active, digits)
        return ForwardLine(node=n, primal_text=texts[0], tangent_text=texts[1], primal=forwards[0].primals[n],
                           tangents=tuple(s.tangents[n] for s in forwards), closing=k == total - 1)

    gap = collapsed_range(total)
    lines: list[ForwardLine | Collapsed] = [line(k) for k in range(gap.start)]
    if gap:
        lines.append(Collapsed("forward", gap.start + 1, gap.stop, total,
                               _operation_counts(sweep[gap.start:gap.stop])))
    lines.extend(line(k) for k in range(gap.stop, total))
    return lines


def _term_lines(result: ReverseResult, names: dict[Node, str],
                gap: range) -> tuple[list[ReverseLine], Counter, int, int]:
    """The reverse lines of the terms outside ``gap`` (line k is term k, from 1), the number of terms
    each node receives, how many terms the gap folds and how many of those are ``+=``. Running adjoints
    add up every term, shown or not."""
    edges = edges_of(result)
    total_terms = Counter(receiver for receiver, *_rest in edges)
    running: dict[Node, Any] = {}
    received: Counter = Counter()
    lines: list[ReverseLine] = []
    folded = repeated = 0
    for k, (receiver, child, position, local, amount) in enumerate(edges, start=1):
        running[receiver] = amount if receiver not in running else running[receiver] + amount
        received[receiver] += 1
        if k in gap:
            folded += 1
            repeated += received[receiver] > 1
            continue
        lines.append(ReverseLine(kind="add", receiver=receiver, running=running[receiver], child=child,
                                 text=adjoint_statement(receiver, child, names, received[receiver] == 1),
                                 position=position, amount=amount, local=local, term=received[receiver],
                                 terms=total_terms[receiver]))
    return lines, received, folded, repeated


def _reverse_window(f: Node, result: ReverseResult, inputs: list[str], names: dict[Node, str],
                    variables: Mapping[str, Node]) -> list[ReverseLine | Collapsed]:
    """The reverse sweep's window: the seed, one line per term added, one per gradient entry, with the
    middle run collapsed."""
    terms = len(result.contributions)
    total = 1 + terms + len(inputs)
    gap = collapsed_range(total)
    seed = ReverseLine(kind="seed", receiver=f, text=f"{bar(names[f])} = 1 (seed)",
                       running=result.adjoints[f], term=1, terms=1)
    added, received, folded, repeated = _term_lines(result, names, gap)
    lines: list[ReverseLine | Collapsed] = [seed, *added]
    gradients = []
    for k, name in enumerate(inputs, start=1 + terms):
        variable = variables[name]
        if k in gap:
            gradients.append(names[variable])
            continue
        lines.append(ReverseLine(kind="gradient", receiver=variable, running=result.gradient[name], name=name,
                                 text=f"∂f/∂{name} = {bar(names[variable])}", term=received[variable],
                                 terms=received[variable]))
    if gap:
        counts = (("terms", folded), ("+=", repeated), ("gradient", len(gradients)))
        lines.insert(gap.start, Collapsed("reverse", gap.start + 1, gap.stop, total, counts,
                                          tuple(gradients)))
    return lines


def window_lines(f: Node, point: Mapping[str, Any], order: list[Node], names: dict[Node, str],
                 forwards: list[ForwardResult], result: ReverseResult, sequence: str = "levels",
                 digits: int = 4) -> Lines:
    """Both sweeps of ``f`` as a page with a level of detail shows them: the first and last
    :data:`WINDOW_LINES` lines of each, the middle as one :class:`Collapsed` run.

    ``order`` is ``dx.nodes(f)``, ``names`` the short names (see :func:`inline_constants`), ``forwards``
    one forward-mode result per seed, ``result`` the reverse-mode result; ``sequence`` orders the
    forward operations (``levels`` or ``evaluation``).

    >>> import diffexplore as dx
    >>> from diffexplore.render.labels import short_names
    >>> x = dx.variable("x")
    >>> f = x
    >>> for _ in range(2500):
    ...     f = dx.sin(f)
    >>> at, order = {"x": 0.5}, dx.nodes(f)
    >>> sweeps = [dx.forward(f, at, seed="x")], dx.reverse(f, at)
    >>> lines = window_lines(f, at, order, short_names(order), *sweeps)
    >>> [(run.phase, run.first, run.last, run.total) for run in lines.forward + lines.reverse
    ...  if isinstance(run, Collapsed)]
    [('forward', 1001, 1502, 2502), ('reverse', 1001, 1502, 2502)]
    >>> lines.forward[1000].counts, lines.reverse[-1].running == dx.reverse(f, at).gradient["x"]
    ((('sin', 502),), True)
    """
    variables = {n.name: n for n in order if n.is_variable}
    inputs = [name for name in point if name in variables] + [n for n in variables if n not in point]
    forward_lines = _forward_window(f, order, inputs, names, forwards, sequence, digits)
    reverse_lines = _reverse_window(f, result, inputs, names, variables)
    return Lines(tuple(forward_lines), tuple(reverse_lines), tuple(inputs), "layers")


def _listing(words: Sequence[str]) -> str:
    """Words joined as in a sentence: ``a``, ``a and b``, ``a, b and c``."""
    return " and ".join([", ".join(words[:-1]), words[-1]] if len(words) > 2 else words)


def detail_html(nodes: int, lines: Lines, drawn: Sequence[str], left_out: Sequence[str]) -> str:
    """The page's notice of its level of detail: what is shown step by step, what is collapsed, which
    views are drawn and which left out, and how to see everything.

    >>> import diffexplore as dx
    >>> from diffexplore.render.labels import short_names
    >>> f = dx.sin(dx.variable("x"))
    >>> at, order = {"x": 0.5}, dx.nodes(f)
    >>> lines = window_lines(f, at, order, short_names(order), [dx.forward(f, at, seed="x")],
    ...                      dx.reverse(f, at))
    >>> print(detail_html(12_000, lines, ["original"], ["symbolic", "adjoint", "tangent"]))
    ... # doctest: +NORMALIZE_WHITESPACE
    <p class="detail" id="detail" role="note"><strong>Level of detail: a window of each sweep.</strong>
    f has 12,000 nodes, more than the 10,000 the explorer steps through line by line. This page steps
    through the first and the last 1,000 lines of each sweep; no line is collapsed. The values, ḟ and the
    gradient in the results line are those of the whole graph. Drawings: the original view only (a size
    table at this size); the symbolic, adjoint and tangent views are left out. To step through every
    line, explore a smaller instance (at most 10,000 nodes).</p>
    """
    runs = [run for run in lines.forward + lines.reverse if isinstance(run, Collapsed)]
    parts = [f"{run.phase} lines {run.first:,}–{run.last:,} (of {run.total:,})" for run in runs]
    collapsed = (f"{_listing(parts)} {'are each' if len(parts) > 1 else 'is'} collapsed into one step (the "
                 "⋯ rows of the table, which count what they do)") if parts else "no line is collapsed"
    views = "Drawings: none"
    if drawn:
        views = (f"Drawings: the {_listing(list(drawn))} view{'s' if len(drawn) > 1 else ''} only (a size "
                 "table at this size)")
    if left_out:
        views += f"; the {_listing(list(left_out))} view{'s are' if len(left_out) > 1 else ' is'} left out"
    text = (f"<strong>Level of detail: a window of each sweep.</strong> f has {nodes:,} nodes, more than the "
            f"{DETAIL_NODES:,} the explorer steps through line by line. This page steps through the first "
            f"and the last {WINDOW_LINES:,} lines of each sweep; {html.escape(collapsed)}. The values, ḟ "
            f"and the gradient in the results line are those of the whole graph. {html.escape(views)}. To "
            f"step through every line, explore a smaller instance (at most {DETAIL_NODES:,} nodes).")
    return f'<p class="detail" id="detail" role="note">{text}</p>\n'
