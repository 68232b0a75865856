"""Transform: the pruning identities of the symbolic differentiator, applied to the nodes it creates.

``a + 0 = 0 + a = a``, ``a - 0 = a``, ``0 - a = -a``, ``a * 1 = 1 * a = a``, ``a * 0 = 0 * a = 0``,
``(-1) * a = -a``, ``c1 * (c2 * a) = (c1 c2) * a``, ``a + (-b) = a - b``, ``a / 1 = a``, ``0 / a = 0``,
``a ** 1 = a``, ``a ** 0 = 1``, ``-(-a) = a``, and an operation whose arguments are all scalar constants
is replaced by its value (``a * 0 = 0`` assumes ``a`` finite, as every symbolic system does). The nodes
of the function being differentiated are never rewritten.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np

from .graph import PRIMITIVES, Node, apply, as_node, constant

__all__ = ["Folder"]


class Folder:
    """Applies the pruning identities to new nodes, memoised, never entering the nodes in ``keep``."""

    def __init__(self, keep: set[Node]):
        self.keep = keep
        self.memo: dict[Node, Node] = {}
        self.zero = constant(0.0)
        self.one = constant(1.0)

    def fold(self, root: Any) -> Node:
        """The pruned form of a node built by a rule (iterative, stops at kept and folded nodes)."""
        root = as_node(root)
        memo, keep = self.memo, self.keep
        if root in keep or root in memo:
            return memo.get(root, root)
        args = root.args
        if len(args) == 1 and root.rule not in _IDENTITIES:
            a = args[0]
            if a in keep and (a.rule is not _CONST or a.shape):
                memo[root] = root           # an operation on a node of f, with no identity to apply
                return root
        stack = [(root, False)]
        while stack:
            node, expanded = stack.pop()
            if node in memo or node in keep:
                continue
            if not expanded:
                stack.append((node, True))
                stack.extend((a, False) for a in node.args if a not in memo and a not in keep)
                continue
            args = [memo.get(a, a) for a in node.args]
            memo[node] = self.build(node.rule, args, node.attr) if node.args else node
        return memo[root]

    def build(self, rule, args: Sequence[Node], attr: Any = None) -> Node:
        """Apply ``rule`` to ``args`` with the identities of the module docstring."""
        if len(args) == 2:
            a, b = args
            if rule is _MUL:
                return self.mul(a, b)
            if rule is _ADD:
                return self.add(a, b)
        numbers = [_number(a) for a in args]
        if args and None not in numbers and rule.elementwise:
            folded = _fold_constants(rule, numbers)
            if folded is not None:
                return folded
        if rule is _SUB:
            a, b = args
            if numbers[1] == 0.0:
                return a
            if numbers[0] == 0.0:
                return -b
        elif rule is _DIV:
            a, b = args
            if numbers[1] == 1.0:
                return a
            if numbers[0] == 0.0:
                return self.zeros(a.shape, b.shape)
        elif rule is _POW:
            a, b = args
            if numbers[1] == 1.0:
                return a
            if numbers[1] == 0.0:
                return self.one
        elif rule is _NEG:
            (a,) = args
            if a.rule is _NEG:
                return a.args[0]
        return apply(rule, *args, attr=attr)

    def add(self, a: Node, b: Node) -> Node:
        """``a + b`` with ``a + 0 = 0 + a = a`` and ``a + (-b) = a - b`` (a scalar zero broadcasts to the
        other side's shape)."""
        ca = a.attr if a.rule is _CONST and not a.shape else None
        cb = b.attr if b.rule is _CONST and not b.shape else None
        if ca is None and cb is None and b.rule is not _NEG:
            return a + b
        if ca is not None and cb is not None:
            folded = _fold_constants(_ADD, [ca, cb])
            if folded is not None:
                return folded
        if ca == 0.0:
            return b
        if cb == 0.0:
            return a
        if b.rule is _NEG:
            return self.build(_SUB, [a, b.args[0]])
        return a + b

    def mul(self, a: Node, b: Node) -> Node:
        """``a * b`` with the identities for 0, 1 and -1 and ``c1 * (c2 * a) = (c1 c2) * a``."""
        ca = a.attr if a.rule is _CONST and not a.shape else None
        cb = b.attr if b.rule is _CONST and not b.shape else None
        if ca is None and cb is None:
            return a * b
        if ca is not None and cb is not None:
            folded = _fold_constants(_MUL, [ca, cb])
            if folded is not None:
                return folded
        if ca == 0.0 or cb == 0.0:
            return self.zeros(a.shape, b.shape)
        if ca == 1.0:
            return b
        if cb == 1.0:
            return a
        if ca == -1.0:
            return self.neg(b)
        if cb == -1.0:
            return self.neg(a)
        if ca is not None and b.rule is _MUL and b.args[0].rule is _CONST:
            return self.mul(self.mul(a, b.args[0]), b.args[1])
        return a * b

    def neg(self, a: Node) -> Node:
        """``-a`` with ``-(-a) = a`` (and a constant folded)."""
        if a.rule is _NEG:
            return a.args[0]
        if _number(a) is not None:
            return self.build(_NEG, [a])
        return -a

    def zeros(self, *shapes: tuple) -> Node:
        shape = np.broadcast_shapes(*shapes)
        return self.zero if not shape else constant(np.zeros(shape))


_CONST, _ADD, _SUB, _MUL, _DIV, _POW, _NEG = (
    PRIMITIVES[name] for name in ("const", "add", "sub", "mul", "div", "pow", "neg"))


#: The rules with identities of their own (besides folding constants).
_IDENTITIES = frozenset({_ADD, _SUB, _MUL, _DIV, _POW, _NEG})


def _number(n: Node) -> Any:
    """A scalar constant's value, or None for any other node."""
    if n.rule is _CONST and not n.shape:
        return n.attr
    return None


def _fold_constants(rule, numbers: list) -> Node | None:
    """The constant node of ``rule`` applied to numbers, or None if that is not a finite number."""
    try:
        if not rule.user_defined and all(type(n) is float for n in numbers):   # these raise by themselves
            value = rule.impl(*numbers)
        else:
            with np.errstate(all="raise"):
                value = rule.impl(*numbers)
    except Exception:       # leave it unfolded; evaluation will report the domain error
        return None
    if type(value) is float:
        return constant(value) if math.isfinite(value) else None
    if isinstance(value, (float, complex)) and np.isfinite(value):
        return constant(value)
    return None
