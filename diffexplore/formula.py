"""Show: a graph as formula text, in the syntax :func:`diffexplore.parse` reads back.

Two passes, neither recursive: bottom-up over the topological order, each node's precedence and the
exact length of its text (an integer, however long the text); then top-down from the root with an
explicit stack, writing the text from its start. A graph with much sharing can be exponentially long as
a formula, so ``max_length`` stops the writing there: the start of the whole formula, ending in ``…``
(which the parser refuses). :func:`let_form` prints the shared form instead (one line per node).

What is printed reads back to the same node: numbers with repr-exact digits, a variable whose name
the parser reserves (``pi``, ``sin``, ``inf``) as ``var(pi)``, the negation of a number as ``-(2)``.
What cannot be read back is printed so that the parser refuses it: ``inf``, ``nan``, complex and array
constants, a shortened formula.
"""

from __future__ import annotations

import math

from .errors import SizeLimitError
from .graph import ArrayValue, Node, nodes
from .parse import TRUNCATION_MARK, VARIABLE_ESCAPE, is_reserved_name
from .sizes import format_count

__all__ = ["formula", "let_form", "format_number"]


def format_number(value, digits: int = 17) -> str:
    """A constant as text: integers without a trailing ``.0``, others in the shortest exact form.

    With the default ``digits`` the text reads back to exactly the same float (``-0.0`` included);
    infinities and NaN print as ``inf``, ``-inf`` and ``nan``, which the parser refuses.

    >>> format_number(2.0), format_number(0.5), format_number(-1.0), format_number(0.1 + 0.2)
    ('2', '0.5', '-1', '0.30000000000000004')
    """
    if isinstance(value, ArrayValue):
        return f"array{value.array.shape}"
    if isinstance(value, complex):
        return repr(value)
    value = float(value)
    if value == 0.0 and math.copysign(1.0, value) < 0:
        return "-0.0"
    if value.is_integer() and abs(value) < 1e16:
        return str(int(value))
    return repr(value) if digits >= 17 else f"{value:.{digits}g}"


#: Operator symbols written without spaces, as Python's and SymPy's printers write them (``x*y``,
#: ``x**2``); every other infix symbol gets a space on each side (``x + y``, ``W @ x``).
_TIGHT = ("*", "/", "**")
_ATOM, _NEGATIVE, _NEG = 10, 3, 3      # precedences: leaves and calls, negative numbers, negation


def _joiner(infix: str) -> str:
    return infix if infix in _TIGHT else f" {infix} "


def _atom(n: Node) -> str:
    """A leaf as text: a variable's name (``var(name)`` when the parser reserves the name) or a number."""
    if n.rule.name == "var":
        name = n.attr[0]
        return f"{VARIABLE_ESCAPE}({name})" if is_reserved_name(name) else name
    return format_number(n.attr)


def _is_number(n: Node) -> bool:
    return n.rule.name == "const" and not n.args


def _layout(n: Node, precedence: dict[Node, int]) -> list:
    """A node's text as pieces: strings, and argument nodes to be written in their place."""
    rule = n.rule
    if not n.args:
        return [_atom(n)]
    if rule.infix and rule.arity == 2:
        left, right = n.args
        own = rule.precedence
        if rule.infix == "**":     # right-associative: x**y**z is x**(y**z)
            left_bare = precedence[left] > own
            right_bare = precedence[right] >= own
        else:                      # left-associative: a right operand of equal strength keeps brackets
            left_bare = precedence[left] >= own
            right_bare = precedence[right] > own and precedence[right] != _NEGATIVE
        return [*_bracketed(left, left_bare), _joiner(rule.infix), *_bracketed(right, right_bare)]
    if rule.name == "neg":
        inner = n.args[0]
        return ["-", *_bracketed(inner, precedence[inner] > _NEG and not _is_number(inner))]
    pieces: list = [f"{rule.name}("]
    for position, a in enumerate(n.args):
        pieces += [", ", a] if position else [a]
    if rule.has_attr and n.attr is not None:
        pieces.append(f", {n.attr!r}")
    pieces.append(")")
    return pieces


def _bracketed(n: Node, bare: bool) -> list:
    return [n] if bare else ["(", n, ")"]


def _precedence(n: Node) -> int:
    if n.args:
        if n.rule.infix and n.rule.arity == 2:
            return n.rule.precedence
        return _NEG if n.rule.name == "neg" else _ATOM
    return _NEGATIVE if _atom(n).startswith("-") else _ATOM


def _measure(root: Node) -> tuple[dict[Node, int], dict[Node, int]]:
    """Each node's precedence and the exact length of its text, bottom-up."""
    precedence: dict[Node, int] = {}
    length: dict[Node, int] = {}
    for n in nodes(root):
        precedence[n] = _precedence(n)
        length[n] = sum(len(p) if isinstance(p, str) else length[p] for p in _layout(n, precedence))
    return precedence, length


def _write(root: Node, precedence: dict[Node, int], limit: int | None) -> str:
    """The text of ``root`` from its start, top-down with an explicit stack, ``limit`` characters at most."""
    out: list[str] = []
    written = 0
    stack: list = [root]
    while stack:
        item = stack.pop()
        if isinstance(item, str):
            out.append(item)
            written += len(item)
            if limit is not None and written >= limit:
                break
        else:
            stack.extend(reversed(_layout(item, precedence)))
    text = "".join(out)
    return text if limit is None else text[:limit]


class _Precedences(dict):
    """Precedences worked out on first use: writing the start of a formula reads only the nodes it
    writes."""

    def __missing__(self, n: Node) -> int:
        value = self[n] = _precedence(n)
        return value


def _start(root: Node, max_length: int) -> str:
    """The formula if it has at most ``max_length`` characters, else its start and ``…``: written top-down
    up to one character past the limit, without measuring the whole graph (the lengths of a shared
    graph's subformulas are integers that grow exponentially)."""
    text = _write(root, _Precedences(), max_length + 1)
    if len(text) <= max_length:
        return text
    return text[:max(max_length - 1, 0)] + TRUNCATION_MARK


def formula(root: Node, max_length: int | None = None) -> str:
    """The infix formula of a graph, with as few parentheses as the precedences allow.

    A formula longer than ``max_length`` is cut to its first ``max_length - 1`` characters and ``…``.

    >>> from diffexplore import parse
    >>> formula(parse("1 + x + exp(sin(x*y))"))
    '1 + x + exp(sin(x*y))'
    >>> formula(parse("(x - y) - (x - y)**2 / -x"))
    'x - y - (x - y)**2/(-x)'
    >>> formula(parse("1 + x + exp(sin(x*y))"), max_length=10)
    '1 + x + e…'
    """
    if max_length is not None:
        return _start(root, max_length)
    precedence, length = _measure(root)
    if length[root] > FORMULA_MAX_LENGTH:
        raise SizeLimitError(f"the formula of this graph is {format_count(length[root], separators=True)} "
                             "characters long "
                             f"(written as a tree, without sharing); formulas longer than "
                             f"{FORMULA_MAX_LENGTH:,} characters are not written out: pass max_length= for "
                             "its start, or use dx.let_form(f) (one line per node, sharing kept)")
    return _write(root, precedence, None)


#: The longest formula written out in full (a shared graph's formula can be exponentially long).
FORMULA_MAX_LENGTH = 10_000_000


def let_form(root: Node) -> str:
    """The shared form: one line per operation node, leaves inline, names v1, v2, ... in order.

    >>> from diffexplore import parse
    >>> print(let_form(parse("sin(x*y) + cos(x*y)")))
    v1 = x*y
    v2 = sin(v1)
    v3 = cos(v1)
    v4 = v2 + v3
    """
    names: dict[Node, str] = {}
    lines = []
    for n in nodes(root):
        if not n.args:
            names[n] = _atom(n)
            continue
        name = f"v{len(lines) + 1}"
        rule = n.rule
        args = [names[a] for a in n.args]
        if rule.infix and rule.arity == 2:
            expr = _joiner(rule.infix).join(args)
        elif rule.name == "neg":
            expr = f"-({args[0]})" if args[0].startswith("-") else f"-{args[0]}"
        else:
            if rule.has_attr and n.attr is not None:
                args.append(repr(n.attr))
            expr = f"{rule.name}({', '.join(args)})"
        lines.append(f"{name} = {expr}")
        names[n] = name
    return "\n".join(lines) if lines else names[root]
