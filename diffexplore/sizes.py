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
- :func:`tree_measures`: one cheap pass over a DAG: its operations, depth and the number of its nodes
  written out as a tree, in floating point with an exact power of two (log space whose integer part is
  exact): exact below 10¹⁵, otherwise within 3e-10 relative for a million nodes, never an integer
  longer than a float. Every display and plot of a tree count uses it;
- :func:`format_log10`: such an estimate as text, like :func:`format_count` (``≈`` in front only when
  its error leaves the last digit open);
- :func:`exact_tree_count` and :func:`tree_count`: the exact count, adding integers as long as the
  count (freeing each node's count after its last use); :func:`tree_count` within a work budget, else
  the estimate.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

__all__ = ["format_count", "format_log10", "log10_count", "count_digits", "exact_or_text", "log10_sum",
           "tree_measures", "TreeMeasures", "tree_count", "exact_tree_count", "TreeCount", "EXACT_BELOW",
           "EXACT_DIGITS", "TEXT_DIGITS", "TREE_WORK_LIMIT"]

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
    one as :func:`format_count` text with :data:`TEXT_DIGITS` significant digits, an estimated
    :class:`TreeCount` as its text with as many digits; other values as they are.

    >>> exact_or_text(10 ** 20), exact_or_text(2 ** 20000), exact_or_text("timeout")
    (100000000000000000000, '3.98028e+6020', 'timeout')
    >>> exact_or_text(TreeCount(None, 20000 * math.log10(2)))
    '3.98028e+6020'
    """
    if isinstance(n, TreeCount):
        return exact_or_text(n.exact) if n.exact is not None else n.text(TEXT_DIGITS)
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


def _log10_text(log10: float, digits: int) -> str:
    """A positive number given by its log10 as ``digits`` significant digits and a power of ten."""
    exponent = math.floor(log10)
    leading = math.floor(10 ** (log10 - exponent + digits - 1) + 0.5)      # half up, as format_count
    if leading >= 10 ** digits:
        leading, exponent = leading // 10, exponent + 1
    text = str(leading)
    return text[0] + ("." + text[1:] if digits > 1 else "") + f"e+{exponent}"


def format_log10(log10: float, digits: int = 2, error: float = 0.0) -> str:
    """A count given by its log10 (known to within ``error``), as :func:`format_count` prints an exact
    one: a mantissa of ``digits`` significant digits and a power of ten. When the error leaves the last
    digit open (the count lies near a rounding boundary), ``≈`` comes in front.

    >>> format_log10(602.84), format_log10(log10_count(6 * 2 ** 10 ** 6 - 5), digits=4)
    ('6.9e+602', '5.940e+301030')
    >>> format_log10(40.0969), format_log10(40.0969, error=1e-3)     # 1.2499e+40, or 1.2528e+40?
    ('1.2e+40', '≈1.2e+40')
    """
    if not 1 <= digits <= 15:
        raise ValueError(f"digits must be between 1 and 15, got {digits}")
    if not math.isfinite(log10) or log10 < 0:
        raise ValueError(f"a count's log10 is a finite number 0 or more, got {log10}")
    # To the known error add the rounding of log10 itself (half an ulp) and of the power taken below.
    spread = error + 4e-16 * (digits + abs(log10))
    text = _log10_text(log10, digits)
    if _log10_text(log10 - spread, digits) != text or _log10_text(log10 + spread, digits) != text:
        return "≈" + text
    return text


@dataclass(frozen=True)
class TreeCount:
    """The nodes of a DAG written out as a tree: ``exact`` (an int, or None when only the estimate was
    made) and ``log10`` (always there). ``error`` bounds how far ``log10`` may be from the true value
    when ``exact`` is None (relative error of the count ≈ 2.3 · error; at most 3e-10 for a million-node
    graph)."""

    exact: int | None
    log10: float
    error: float = 0.0

    def text(self, digits: int = 2, separators: bool = False) -> str:
        """The count as :func:`format_count` shows it; an estimate as :func:`format_log10` shows it, with
        ``≈`` in front only when its last digit is not certain.

        >>> TreeCount(None, 602.84).text(), TreeCount(7, math.log10(7)).text()
        ('6.9e+602', '7')
        >>> TreeCount(None, 602.84, error=0.01).text()
        '≈6.9e+602'
        """
        if self.exact is not None:
            return format_count(self.exact, digits, separators)
        return format_log10(self.log10, digits, self.error)


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


def exact_tree_count(order: Sequence[Any], roots: Sequence[Any]) -> int:
    """The exact number of nodes of the graph of ``roots`` written out as a tree, summed over the roots
    (``order``: every node, arguments first). It adds integers as long as the count: for 10⁵-digit
    counts over a million nodes that takes most of a minute, so displays use :func:`tree_measures`.

    >>> from collections import namedtuple
    >>> N = namedtuple("N", "name args")
    >>> x = N("x", ())
    >>> square = N("x*x", (x, x))
    >>> exact_tree_count([x, square], [square, square])
    6
    """
    return _exact_tree(order, roots, math.inf)


# ---- the cheap pass: tree counts as scaled floats -----------------------------------------------------
#
# A count is kept as m · 2^(BLOCK_BITS · e) with a float m in [1, 2^BLOCK_BITS) and an integer e (the
# block): log space whose integer part is exact, so rounding costs a relative 2^-53 per addition however
# large the count. Arguments one block apart are aligned by an exact power of two; two or more blocks
# apart the smaller is below 2^-512 of the larger and is dropped. Integers below 2^53 add exactly, so a
# count that never leaves block 0 and stays below EXACT_BELOW is exact.

_BLOCK_BITS = 512
_BLOCK = 2.0 ** _BLOCK_BITS
_DOWN = 2.0 ** -_BLOCK_BITS
_LOG10_BLOCK = _BLOCK_BITS * math.log10(2)
_LEAF = (1.0, 0, 0)
_UNIT = 2.0 ** -53


def _add_blocks(values: Sequence[tuple[float, int]]) -> tuple[float, int]:
    """The sum of counts in block form (m, e), normalised."""
    if not values:
        return 0.0, 0
    top = max(e for _m, e in values)
    total = 0.0
    for m, e in values:
        if e == top:
            total += m
        elif e == top - 1:
            total += m * _DOWN
    if total >= _BLOCK:
        total, top = total * _DOWN, top + 1
    return total, top


def _wide_node(values: list[tuple[float, int, int]]) -> tuple[float, int, int]:
    """(m, e, depth) of a node with three or more arguments (the count without its own +1)."""
    m, e = _add_blocks([(m, e) for m, e, _d in values])
    return m, e, max(d for _m, _e, d in values)


def _block_pass(order: Sequence[Any]) -> tuple[dict[Any, tuple[float, int, int]], int, int]:
    """Every node's (m, e, depth), the number of operation nodes and the most arguments of one node.

    One loop with the common arities written out: it runs once per node of million-node graphs.
    """
    values: dict[Any, tuple[float, int, int]] = {}
    ops = 0
    widest = 2
    block, down = _BLOCK, _DOWN
    for node in order:
        args = node.args
        arity = len(args)
        if arity == 2:
            ma, ea, depth = values[args[0]]
            mb, eb, other = values[args[1]]
            if other > depth:
                depth = other
            if ea == eb:
                m, e = ma + mb, ea
            elif ea > eb:
                m, e = (ma + mb * down if ea == eb + 1 else ma), ea
            else:
                m, e = (mb + ma * down if eb == ea + 1 else mb), eb
        elif arity == 1:
            m, e, depth = values[args[0]]
        elif arity == 0:
            values[node] = _LEAF
            continue
        else:
            m, e, depth = _wide_node([values[arg] for arg in args])
            widest = max(widest, arity)
        ops += 1
        if e == 0:
            m += 1.0
        if m >= block:
            m, e = m * down, e + 1
        values[node] = (m, e, depth + 1)
    return values, ops, widest


@dataclass(frozen=True)
class TreeMeasures:
    """What one cheap pass over a graph measures: ``dag_nodes``, ``ops`` (operation nodes), ``depth``
    (the longest path from a leaf to a root, in edges) and ``tree`` (a :class:`TreeCount`: exact below
    :data:`EXACT_BELOW`, otherwise its log10 with an error bound)."""

    dag_nodes: int
    ops: int
    depth: int
    tree: TreeCount


def _tree_of(total: tuple[float, int], rounding: float) -> TreeCount:
    """A :class:`TreeCount` from a count in block form and a bound on its relative rounding error."""
    m, e = total
    if m == 0.0:
        return TreeCount(0, -math.inf)
    if e == 0 and m < EXACT_BELOW:
        return TreeCount(int(m), math.log10(m))
    log10 = math.log10(m) + e * _LOG10_BLOCK
    return TreeCount(None, log10, error=1.01 * rounding / math.log(10) + 4 * _UNIT * log10)


def tree_measures(order: Sequence[Any], roots: Sequence[Any]) -> TreeMeasures:
    """Sizes of the graph of ``roots`` in one pass over ``order`` (every node, arguments first; anything
    with an ``args`` tuple works), the tree count in floating point: exact below :data:`EXACT_BELOW`,
    otherwise within 3e-10 relative for a million nodes (see :class:`TreeCount`), and never an
    integer longer than a float.

    >>> from collections import namedtuple
    >>> N = namedtuple("N", "name args")
    >>> x = N("x", ())
    >>> square = N("x*x", (x, x))
    >>> top = N("sq*sq", (square, square))
    >>> tree_measures([x, square, top], [top])
    TreeMeasures(dag_nodes=3, ops=2, depth=2, tree=TreeCount(exact=7, log10=0.8450980400142568, error=0.0))
    >>> class Node:                      # nodes compared by identity, as the graph's are
    ...     def __init__(self, *args):
    ...         self.args = args
    >>> order = [Node()]
    >>> for _ in range(3000):
    ...     order.append(Node(order[-1], order[-1]))
    >>> tree_measures(order, [order[-1]]).tree.text(6)       # 2^3001 - 1
    '2.46046e+903'
    """
    values, ops, widest = _block_pass(order)
    depth = max((values[root][2] for root in roots), default=0)
    total = _add_blocks([values[root][:2] for root in roots])
    rounding = (depth + len(roots) + 1) * (widest + 1) * _UNIT
    return TreeMeasures(len(order), ops, depth, _tree_of(total, rounding))


def tree_count(order: Sequence[Any], roots: Sequence[Any], max_work: float = TREE_WORK_LIMIT,
               max_digits: float = math.inf) -> TreeCount:
    """Nodes of the graph of ``roots`` written out as a tree (each shared node counted once per path to
    it), summed over the roots. ``order`` is every node of the graph in evaluation order (arguments
    first; anything with an ``args`` tuple works). The estimate of :func:`tree_measures` comes first;
    the count is then made exact unless it has more than ``max_digits`` digits or the additions would
    add up more than ``max_work`` bits, in which case the estimate is returned.

    >>> class Node:
    ...     def __init__(self, *args):
    ...         self.args = args
    >>> many = [Node()]
    >>> for _ in range(100):
    ...     many.append(Node(many[-1], many[-1]))
    >>> tree_count(many, [many[-1]]).exact == 2 ** 101 - 1
    True
    >>> estimate = tree_count(many, [many[-1]], max_work=1)
    >>> estimate.exact, estimate.text(6), tree_count(many, [many[-1]], max_digits=20).exact
    (None, '2.53530e+30', None)
    """
    estimate = tree_measures(order, roots).tree
    if estimate.exact is not None or estimate.log10 - estimate.error >= max_digits:
        return estimate
    exact = _exact_tree(order, roots, max_work)
    if exact is not None:
        return TreeCount(exact, log10_count(exact))
    return estimate
