"""Show: the words and numbers written inside drawings.

Short names (a, b, c, ..., z, aa, ab, ...) are given at render time from a topological order, so a
drawing never depends on node ids or creation history. Every number shown in a drawing goes through
:func:`format_value`, which rounds to about four significant digits and summarises arrays (their shape
and norm, or the entries of a tiny one).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from decimal import Decimal, InvalidOperation
from typing import Any

import numpy as np

from ..graph import ArrayValue, Node
from ..imports.imported import framework_path

__all__ = ["short_name", "short_names", "reserved_letters", "RESERVED", "format_value", "format_sum",
           "sum_equation", "shape_text", "expression", "MINUS"]

#: The minus sign of drawings (U+2212, as wide as a plus sign).
MINUS = "\u2212"
_LETTERS = "abcdefghijklmnopqrstuvwxyz"
#: Arrays with at most this many entries are written out in full.
_SMALL_ARRAY = 4


#: Letters never used as short names: f is the output, u, v, w the generic nodes of the formulas in
#: titles (v̄ = Σ ū·∂u/∂v), x and y the input and target of the article's notation.
RESERVED = frozenset("fuvwxy")


def short_name(index: int) -> str:
    """The ``index``-th name of the sequence a..z, aa..az, ba..., like spreadsheet columns.

    >>> [short_name(i) for i in (0, 1, 25, 26, 27, 52, 701, 702)]
    ['a', 'b', 'z', 'aa', 'ab', 'ba', 'zz', 'aaa']
    """
    letters = []
    index += 1
    while index > 0:
        index, rest = divmod(index - 1, 26)
        letters.append(_LETTERS[rest])
    return "".join(reversed(letters))


def reserved_letters(variable_names: Iterable[str]) -> set[str]:
    """The letters a drawing's short names must avoid: :data:`RESERVED`, and each variable's name and
    the letter it starts with, lower-cased (``W1`` reserves ``w``, ``b2_1`` reserves ``b``).

    >>> sorted(reserved_letters(["W1", "b2_1", "t"]))
    ['b', 'b2_1', 'f', 't', 'u', 'v', 'w', 'w1', 'x', 'y']
    """
    reserved = set(RESERVED)
    for name in variable_names:
        reserved.update({name.lower(), name[:1].lower()})
    return reserved


def short_names(order: Iterable[Node], names: dict[Node, str] | None = None) -> dict[Node, str]:
    """Names for the nodes of ``order`` in that order, continuing after the nodes already in ``names``.

    Names are taken from :func:`short_name`'s sequence, skipping every name that starts with a letter of
    :func:`reserved_letters` or equals a variable's name, so a short name never reads as ``f``, as the
    article's x or y, or as one of the graph's variables.

    >>> import diffexplore as dx
    >>> f = dx.parse("a*b + exp(a) + c + d + e")
    >>> [short_names(dx.nodes(f))[n] for n in dx.nodes(f)]
    ['g', 'h', 'i', 'j', 'k', 'l', 'm', 'n', 'o', 'p', 'q']
    """
    order = list(order)
    named = dict(names or {})
    variables = [n.attr[0] for n in [*order, *named] if n.rule.name == "var"]
    reserved = reserved_letters(variables)
    taken = set(named.values()) | set(variables)
    index = 0
    for node in order:
        if node in named:
            continue
        while short_name(index) in taken or short_name(index)[0] in reserved:
            index += 1
        named[node] = short_name(index)
        taken.add(named[node])
    return named


def _format_real(value: float, digits: int) -> str:
    if value != value:
        return "nan"
    if value in (float("inf"), float("-inf")):
        return "∞" if value > 0 else MINUS + "∞"
    if value == 0:
        return "0"
    text = f"{value:.{digits}g}"
    if "e" in text:
        mantissa, exponent = text.split("e")
        text = f"{mantissa}e{int(exponent)}"
    return text.replace("-", MINUS)


def _format_scalar(value: Any, digits: int) -> str:
    if isinstance(value, (complex, np.complexfloating)):
        value = complex(value)
        if value.imag == 0:
            return _format_real(value.real, digits)
        imaginary = _format_real(abs(value.imag), digits)
        sign = "+" if value.imag > 0 else MINUS
        if value.real == 0:
            return f"{'' if sign == '+' else MINUS}{imaginary}i"
        return f"{_format_real(value.real, digits)}{sign}{imaginary}i"
    return _format_real(float(value), digits)


def shape_text(shape: Sequence[int]) -> str:
    """A shape as ``3×4`` (a scalar's empty shape as ``scalar``).

    >>> shape_text((3, 4)), shape_text((5,)), shape_text(())
    ('3×4', '5', 'scalar')
    """
    return "×".join(str(n) for n in shape) if shape else "scalar"


def format_value(value: Any, digits: int = 4) -> str:
    """A number or array as drawings show it: ~``digits`` significant digits, arrays summarised.

    Every number in a drawing goes through this function. Arrays of at most four entries are written
    out; larger ones show their shape and norm.

    >>> format_value(2.4825777280150008), format_value(-1.0662337359916694), format_value(1.0)
    ('2.483', '−1.066', '1')
    >>> format_value(6.02e23), format_value(1 + 2j), format_value(None)
    ('6.02e23', '1+2i', '—')
    >>> format_value([1.0, 0.5]), format_value(np.ones((3, 4)))
    ('[1, 0.5]', '3×4 array, ‖·‖ = 3.464')
    """
    if value is None:
        return "—"
    if isinstance(value, ArrayValue):
        value = value.array
    if isinstance(value, (list, tuple)):
        value = np.asarray(value)
    if isinstance(value, np.ndarray):
        if value.ndim == 0:
            return _format_scalar(value.item(), digits)
        if value.size <= _SMALL_ARRAY:
            return _format_nested(value, digits)
        return f"{shape_text(value.shape)} array, ‖·‖ = {_format_real(float(np.linalg.norm(value)), digits)}"
    if isinstance(value, (bool, int, float, complex, np.number)):
        return _format_scalar(value, digits)
    text = str(value)
    return text if len(text) <= 24 else text[:23] + "…"


def _format_nested(array: np.ndarray, digits: int) -> str:
    if array.ndim == 1:
        return "[" + ", ".join(_format_scalar(v, digits) for v in array.tolist()) + "]"
    return "[" + ", ".join(_format_nested(row, digits) for row in array) + "]"


def format_sum(terms: Sequence[Any], digits: int = 4) -> str:
    """Terms of a sum as ``a + b − c`` (a negative term after the first is written with a minus).

    >>> format_sum([-2.0662337359916694, 1.0])
    '−2.066 + 1'
    >>> format_sum([0.5, -0.25])
    '0.5 − 0.25'
    """
    parts = []
    for k, term in enumerate(terms):
        text = format_value(term, digits)
        if k and text.startswith(MINUS) and " " not in text:
            parts.append(f"{MINUS} {text[1:]}")
        elif k:
            parts.append(f"+ {text}")
        else:
            parts.append(text)
    return " ".join(parts)


def _decimal(text: str) -> Decimal | None:
    try:
        return Decimal(text.replace(MINUS, "-"))
    except InvalidOperation:
        return None


def sum_equation(terms: Sequence[Any], total: Any, digits: int = 4) -> str:
    """``t1 + t2 = total`` with the terms printed to as many digits as it takes for them to add up, at
    the total's precision, to the total as printed (up to 30 digits, beyond which ``≈`` replaces ``=``).
    When the terms nearly cancel, that takes more digits than a double's 17: the printed terms are the
    doubles' exact decimal values, cut where their sum shows.

    >>> sum_equation([-2.0662337359916694, 1.0], -1.0662337359916694)
    '−2.066 + 1 = −1.066'
    >>> sum_equation([0.5, -0.49999999999998734], 1.2656542480726785e-14)     # cancellation
    '0.5 − 0.49999999999998734 = 1.266e−14'
    >>> sum_equation([0.5, -0.4999999999999999], 1.1102230246251565e-16)
    '0.5 − 0.499999999999999889 = 1.11e−16'
    """
    shown = format_value(total, digits)
    scalar = all(isinstance(t, (int, float, np.floating)) for t in [*terms, total])
    if not scalar:
        return f"{format_sum(terms, digits)} = {shown}"
    for term_digits in range(digits, 31):
        parts = [_decimal(format_value(t, term_digits)) for t in terms]
        if None in parts:
            break
        if format_value(float(sum(parts, Decimal(0))), digits) == shown:
            return f"{format_sum(terms, term_digits)} = {shown}"
    return f"{format_sum(terms, digits)} ≈ {shown}"


def expression(node: Node, names: dict[Node, str], digits: int = 4) -> str:
    """What a node computes, in terms of its arguments' short names.

    >>> import diffexplore as dx
    >>> x, y = dx.variables("x y")
    >>> f = dx.sin(x * y) - 2.5
    >>> names = short_names(dx.nodes(f))
    >>> [expression(n, names) for n in dx.nodes(f)]
    ['x', 'y', 'a × b', 'sin(c)', '2.5', 'd − e']
    """
    rule = node.rule
    if rule.name == "var":
        name, shape = node.attr
        name = framework_path(node) or name          # an imported leaf shows the path its user knows
        return f"{name} ({shape_text(shape)})" if shape else name
    if rule.name == "const":
        return format_value(node.value, digits)
    args = [names[a] for a in node.args]
    label = rule.label or rule.name
    if rule.infix and len(args) == 2:
        return f"{args[0]} {label} {args[1]}"
    if rule.name == "neg":
        return f"{MINUS}{args[0]}"
    if "·" in label and len(args) == 1:          # a label with a slot, such as |·|
        return label.replace("·", args[0])
    if rule.has_attr and node.attr is not None:
        attr = repr(node.attr)
        args.append(attr if len(attr) <= 24 else attr[:23] + "…")
    return f"{label}({', '.join(args)})"
