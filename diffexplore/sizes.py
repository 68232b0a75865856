"""Show/measure: counts too large to print or to turn into floats, handled exactly or in log space.

Tree sizes of shared graphs are exact integers that grow exponentially: the logistic map iterated
n = 10⁶ times written out as a tree has 6·2ⁿ − 5 ≈ 5.9e+301030 nodes. Python refuses ``str()`` of an
integer with more than 4,300 digits and ``float()`` overflows above about 1.8e308, so every place that
prints or plots a size goes through this module:

- :func:`format_count`: exact digits below 10¹⁵, otherwise a mantissa and a power of ten
  (``5.9e+301030``), computed from the bit length and the leading bits, exact at rounding ties;
- :func:`log10_count`: the base-10 logarithm as a float (what a plot draws), for any integer;
- :func:`count_digits`: the exact number of decimal digits;
- :func:`exact_or_text`: the integer itself where a file can hold it (at most :data:`EXACT_DIGITS`
  digits), otherwise its :func:`format_count` text with :data:`TEXT_DIGITS` significant digits;
- :func:`tree_count`: the number of nodes of a DAG written out as a tree, exact within a work budget
  (freeing each node's count after its last use), else estimated in log space.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

__all__ = ["format_count", "log10_count", "count_digits", "exact_or_text", "log10_sum", "tree_count",
           "TreeCount", "EXACT_BELOW", "EXACT_DIGITS", "TEXT_DIGITS", "TREE_WORK_LIMIT"]

#: Counts below this print with all their digits; from here on as a mantissa and a power of ten.
EXACT_BELOW = 10 ** 15
#: The most digits a count may have to be written exactly into CSV or JSON (Python's own default limit
#: for ``str(int)``, so that files do not depend on the interpreter's setting).
EXACT_DIGITS = 4300
#: Significant digits of a count too long for CSV or JSON.
TEXT_DIGITS = 6
#: The work budget of an exact tree count, in bits of the partial sums (about 15 s: the tree of the
#: logistic map's pruned derivative at n = 10⁵, 800,000 DAG nodes and 4.0·10¹⁰ bits, takes 13 s).
TREE_WORK_LIMIT = 5 * 10 ** 10

# How close to a rounding boundary a float estimate may come before the exact integer decides.
_MARGIN = 1e-7


def _exponent(n: int, log10: float) -> int:
    """floor(log10(n)) for n >= 1, exact: the float guess is checked against a power of ten near a
    boundary."""
    exponent = math.floor(log10)
    fraction = log10 - exponent
    if fraction < _MARGIN or fraction > 1 - _MARGIN:
        power = 10 ** exponent
        if n < power:
            exponent -= 1
        elif n >= 10 * power:
            exponent += 1
    return exponent


def count_digits(n: int) -> int:
    """The number of decimal digits of ``|n|`` (1 for 0), without converting it to text.

    >>> count_digits(0), count_digits(999), count_digits(1000), count_digits(-10 ** 5000)
    (1, 3, 4, 5001)
    """
    n = abs(n)
    return 1 if n == 0 else _exponent(n, math.log10(n)) + 1


def log10_count(n: int) -> float:
    """log10(n) as a float for any integer n >= 0 (``-inf`` for 0), computed from the leading bits and
    the bit length, so it works where ``float(n)`` overflows.

    >>> log10_count(1000), round(log10_count(6 * 2 ** 10 ** 6 - 5), 6), log10_count(0)
    (3.0, 301030.773815, -inf)
    """
    if n < 0:
        raise ValueError(f"a count is not negative, got one with {count_digits(n)} digits")
    if n == 0:
        return -math.inf
    if n.bit_length() <= 1000:
        return math.log10(n)
    shift = n.bit_length() - 64
    return math.log10(n >> shift) + shift * math.log10(2)


def format_count(n: int, digits: int = 2, separators: bool = False) -> str:
    """An exact count as text: all its digits below 10¹⁵ (with thousands separators if asked),
    otherwise ``digits`` significant digits and a power of ten, rounded half up.

    >>> format_count(24571), format_count(1234567, separators=True), format_count(3 * 10 ** 40)
    ('24571', '1,234,567', '3.0e+40')
    >>> format_count(6 * 2 ** 2000 - 5), format_count(6 * 2 ** 10 ** 6 - 5, digits=4)
    ('6.9e+602', '5.940e+301030')
    """
    if isinstance(n, bool) or not isinstance(n, int):
        raise TypeError(f"format_count takes an integer, got {type(n).__name__}")
    if not 1 <= digits <= 15:
        raise ValueError(f"digits must be between 1 and 15, got {digits}")
    if n < 0:
        return "-" + format_count(-n, digits, separators)
    if n < EXACT_BELOW:
        return f"{n:,}" if separators else str(n)
    log10 = log10_count(n)
    exponent = _exponent(n, log10)
    scaled = 10 ** (log10 - exponent + digits - 1)          # the leading digits, in [10^(d-1), 10^d)
    leading = math.floor(scaled)
    rest = scaled - leading
    unit_exponent = exponent - digits + 1
    if min(rest, abs(rest - 0.5), 1 - rest) < _MARGIN * scaled:
        # Too close to call in floating point: the exact integer decides (one division by a power of
        # ten with a quotient of digits + 1 digits, linear in the length of n).
        shifted = n // 10 ** (unit_exponent - 1)
        leading, last = divmod(shifted, 10)
        rest = 0.5 if last >= 5 else 0.0
    if rest >= 0.5:
        leading += 1
    if leading >= 10 ** digits:                  # 9.96 rounded to 2 digits: 10, one more power of ten
        leading //= 10
        exponent += 1
    text = str(leading)
    mantissa = text[0] + ("." + text[1:] if digits > 1 else "")
    return f"{mantissa}e+{exponent}"


def exact_or_text(n: Any) -> Any:
    """A cell for CSV or JSON: an integer with at most :data:`EXACT_DIGITS` digits as it is, a longer
    one as :func:`format_count` text with :data:`TEXT_DIGITS` significant digits; other values as they
    are.

    >>> exact_or_text(10 ** 20), exact_or_text(2 ** 20000), exact_or_text("timeout")
    (100000000000000000000, '3.98028e+6020', 'timeout')
    """
    if isinstance(n, int) and not isinstance(n, bool) and count_digits(n) > EXACT_DIGITS:
        return format_count(n, digits=TEXT_DIGITS)
    return n


def log10_sum(logs: Sequence[float]) -> float:
    """log10 of a sum of numbers given by their log10, without leaving log space.

    >>> round(log10_sum([2.0, 2.0]), 6), log10_sum([1e6, 0.0]), log10_sum([])
    (2.30103, 1000000.0, -inf)
    """
    finite = [value for value in logs if value != -math.inf]
    if not finite:
        return -math.inf
    top = max(finite)
    return top + math.log10(math.fsum(10 ** (value - top) for value in finite))


@dataclass(frozen=True)
class TreeCount:
    """The nodes of a DAG written out as a tree: ``exact`` (an int, or None when counting exactly
    would exceed the work budget) and ``log10`` (always there; estimated in floating point when
    ``exact`` is None, good to about 10 significant digits)."""

    exact: int | None
    log10: float

    def text(self, digits: int = 2, separators: bool = False) -> str:
        """The count as :func:`format_count` shows it, ``≈`` in front when it is a log-space estimate.

        >>> TreeCount(None, 602.84).text(), TreeCount(7, math.log10(7)).text()
        ('≈6.9e+602', '7')
        """
        if self.exact is not None:
            return format_count(self.exact, digits, separators)
        exponent = math.floor(self.log10)
        mantissa = 10 ** (self.log10 - exponent)
        if round(mantissa, digits - 1) >= 10:
            mantissa, exponent = mantissa / 10, exponent + 1
        return f"≈{mantissa:.{digits - 1}f}e+{exponent}"


def _uses(order: Sequence[Any], roots: Sequence[Any]) -> dict[Any, int]:
    """How many times each node's count is read: once per argument slot, once per root."""
    uses: dict[Any, int] = {}
    for node in order:
        for arg in node.args:
            uses[arg] = uses.get(arg, 0) + 1
    for root in roots:
        uses[root] = uses.get(root, 0) + 1
    return uses


def _exact_tree(order: Sequence[Any], roots: Sequence[Any], max_work: float) -> int | None:
    """The exact tree count, each node's count dropped after its last use (memory stays near the
    widest cut of the DAG); None as soon as the bits added exceed ``max_work``."""
    uses = _uses(order, roots)
    counts: dict[Any, int] = {}
    work = 0
    for node in order:
        total = 1
        for arg in node.args:
            total += counts[arg]
            left = uses[arg] - 1
            if left:
                uses[arg] = left
            else:
                del counts[arg]
        work += total.bit_length()
        if work > max_work:
            return None
        counts[node] = total
    return sum(counts[root] for root in roots)


def _log_tree(order: Sequence[Any], roots: Sequence[Any]) -> float:
    """log10 of the tree count, every node's count kept as a float logarithm (1 + the sum of its
    arguments' counts, added in log space relative to the largest)."""
    logs: dict[Any, float] = {}
    ln10 = math.log(10)
    for node in order:
        args = node.args
        if not args:
            logs[node] = 0.0
            continue
        if len(args) == 2:                  # the common case, written out (a third faster)
            top, other = logs[args[0]], logs[args[1]]
            if other > top:
                top, other = other, top
            spread = 10.0 ** -top + 10.0 ** (other - top)
        else:
            values = [logs[arg] for arg in args]
            top = max(values)
            spread = 10.0 ** -top + sum(10.0 ** (value - top) for value in values) - 1.0
        logs[node] = top + math.log1p(spread) / ln10
    return log10_sum([logs[root] for root in roots])


def tree_count(order: Sequence[Any], roots: Sequence[Any], max_work: float = TREE_WORK_LIMIT) -> TreeCount:
    """Nodes of the graph of ``roots`` written out as a tree (each shared node counted once per path to
    it), summed over the roots. ``order`` is every node of the graph in evaluation order (arguments
    first; anything with an ``args`` tuple works). The count is exact unless the additions would add
    up more than ``max_work`` bits, in which case only the log-space estimate is returned.

    >>> from collections import namedtuple
    >>> N = namedtuple("N", "name args")
    >>> x = N("x", ())
    >>> square = N("x*x", (x, x))
    >>> top = N("sq*sq", (square, square))
    >>> tree_count([x, square, top], [top]).exact
    7
    >>> estimate = tree_count([x, square, top], [top], max_work=1)
    >>> estimate.exact, round(10 ** estimate.log10, 9)
    (None, 7.0)
    """
    exact = _exact_tree(order, roots, max_work)
    if exact is not None:
        return TreeCount(exact, log10_count(exact))
    return TreeCount(None, _log_tree(order, roots))
