"""Build: the branch decisions a traced program took, and the guard that re-checks them.

A traced graph is the path a program took at one point. Each decision it took from a number is a
:class:`Decision` (``left op right`` came out ``outcome``); :class:`BranchGuard` keeps a graph's
decisions beside it, in :data:`diffexplore.plan.guards`, and re-checks them on the values of every
primal sweep (:func:`diffexplore.sweeps.primal_sweep`), warning with a :class:`BranchWarning` that names
the condition and the point where one would come out differently.
"""

from __future__ import annotations

import operator
import warnings
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np

from .formula import formula
from .graph import Node, free_variables, nodes
from .plan import Plan, guards, op_arguments

__all__ = ["Decision", "BranchGuard", "BranchWarning", "TraceWarning", "branch_decisions", "COMPARISONS",
           "INTEGER_PARTS", "MIRRORED", "describe_point", "DOMAIN_ERRORS"]

#: The exceptions a numeric implementation raises outside its domain.
DOMAIN_ERRORS = (ValueError, ZeroDivisionError, OverflowError, FloatingPointError)


class TraceWarning(UserWarning):
    """Something about a trace a reader should know (a value left the graph through ``float()``, or a
    decision cannot be re-checked)."""


class BranchWarning(TraceWarning):
    """A traced graph was evaluated where one of the program's decisions would come out differently."""


COMPARISONS: dict[str, Callable] = {"<": operator.lt, "<=": operator.le, ">": operator.gt,
                                     ">=": operator.ge, "==": operator.eq, "!=": operator.ne}
INTEGER_PARTS: dict[str, Callable] = {"int": np.trunc, "round": np.round, "floor": np.floor,
                                       "ceil": np.ceil}
MIRRORED = {"<": ">", "<=": ">=", ">": "<", ">=": "<=", "==": "==", "!=": "!="}


@dataclass(frozen=True)
class Decision:
    """One decision a traced program took from a number.

    ``op`` is a comparison (``<``, ``<=``, ``>``, ``>=``, ``==``, ``!=``: ``left op right`` was
    ``outcome``), an integer part (``int``, ``round``, ``floor``, ``ceil``: ``op(left)`` was ``outcome``)
    or ``float`` (the number ``outcome`` left the graph as a constant). ``site`` is where in the program
    the decision was taken (``file.py:12 in func``).
    """

    left: Node
    op: str
    right: Node | None
    outcome: Any
    site: str

    def holds(self, left_value: Any, right_value: Any = None) -> Any:
        """Whether the decision comes out the same for these values (elementwise for arrays)."""
        if self.op in COMPARISONS:
            return COMPARISONS[self.op](np.real(left_value), np.real(right_value)) == self.outcome
        if self.op in INTEGER_PARTS:
            return INTEGER_PARTS[self.op](np.real(left_value)) == self.outcome
        return left_value == self.outcome

    def condition(self, limit: int = 40) -> str:
        """The decision as text, e.g. ``x*x < 1`` (long operands shortened to their operation, ``abs(…)``).

        >>> import diffexplore as dx
        >>> x = dx.variable("x")
        >>> Decision(dx.abs(x - 1), "<", dx.constant(0.5), True, "").condition()
        'abs(x - 1) < 0.5'
        """
        left = _brief(self.left, limit)
        if self.op in COMPARISONS:
            return f"{left} {self.op} {_brief(self.right, limit)}"
        return f"{self.op}({left})"

    def __str__(self) -> str:
        return f"{self.condition()} -> {self.outcome!r}   ({self.site})"


def _brief(node: Node, limit: int) -> str:
    """A node's formula, or (when longer than ``limit``) its top operation with its arguments elided."""
    text = formula(node, max_length=limit + 1)
    if len(text) <= limit:
        return text
    rule = node.rule
    if rule.infix and len(node.args) == 2:
        parts = []
        for a in node.args:
            part = formula(a, max_length=limit // 2 + 1)
            parts.append(part if len(part) <= limit // 2 and not a.rule.infix else "(…)")
        return f"{parts[0]}{rule.infix}{parts[1]}"
    return f"{rule.name}(…)"


# ---- the guard: re-check the decisions after every primal sweep ------------------------------------------


class BranchGuard:
    """The decisions a traced graph depends on, re-checked on the values of every primal sweep.

    Registered in :data:`diffexplore.plan.guards` under the graph's root; called with the primal
    value of every node of the graph (and, if the evaluator passes it, the point).
    """

    def __init__(self, root: Node, decisions: list[Decision], point: dict[str, Any]):
        self.decisions = list(decisions)
        self.point = dict(point)
        operands = [d.left for d in decisions] + [d.right for d in decisions if d.right is not None]
        in_graph = set(nodes(root))
        outside = [n for n in dict.fromkeys(operands) if n not in in_graph]
        # The operands the graph does not compute are evaluated from the same variables by a small plan.
        self._plan = Plan(outside) if outside else None
        graph_names = {v.name for v in free_variables(root)}
        self.unverifiable: list[Decision] = []
        if {v.name for v in free_variables(*operands)} - graph_names:   # one walk; per decision only if so
            self.unverifiable = [d for d in decisions
                                 if {v.name for v in free_variables(*_operands(d))} - graph_names]

    def __call__(self, primals: Mapping[Node, Any], point: Mapping[str, Any] | None = None,
                 part: Node | None = None) -> None:
        """Warn if a decision would flip at these values; ``part`` is the traced graph's root when it is
        a part of a larger graph being evaluated. (The guard keeps no reference to its root: it is the
        value of a weak mapping keyed by that root.)"""
        names = {n.attr[0]: v for n, v in primals.items() if n.rule.name == "var"}
        if point:
            for name, value in point.items():
                names.setdefault(name, value)
        values = dict(primals)
        try:
            self._evaluate_outside(values, names)
        except DOMAIN_ERRORS as exc:
            warnings.warn(f"a branch condition of this traced graph cannot be evaluated at "
                          f"{describe_point(names)} ({exc}); the traced program takes another path or "
                          "fails there. Trace it again at this point.", BranchWarning, stacklevel=4)
            return
        flipped = []
        for d in self.decisions:
            if d.left not in values or (d.right is not None and d.right not in values):
                continue                       # depends on a variable this evaluation did not give
            left = values[d.left]
            right = values[d.right] if d.right is not None else None
            same = d.holds(left, right)
            if not np.all(same):
                flipped.append((d, same, left, right))
        if flipped:
            message = _flip_message(flipped, names, self.point)
            if part is not None:
                message = (f"this graph contains {_brief(part, 40)}, the graph of a traced program (or "
                           "the same expression built another way: equal nodes are shared); " + message)
            warnings.warn(message, BranchWarning, stacklevel=4)

    def _evaluate_outside(self, values: dict, names: dict) -> None:
        p = self._plan
        if p is None:
            return
        slots: list = [values.get(n) for n in p.order]
        for i, value in p.constants:
            slots[i] = value
        for i, name, _shape in p.variables:
            if name not in names:
                return                         # cannot be checked at this point: skip these decisions
            slots[i] = names[name]
        with np.errstate(divide="raise", invalid="raise", over="raise"):
            for op in p.ops:
                if slots[op[3]] is None:
                    slots[op[3]] = op[0](*[slots[j] for j in op_arguments(op)])
        values.update(zip(p.order, slots, strict=True))


def _operands(d: Decision) -> list[Node]:
    return [d.left] if d.right is None else [d.left, d.right]


def describe_point(names: Mapping[str, Any], first: Any = None) -> str:
    parts = []
    for name, value in names.items():
        if np.ndim(value) and first is not None:
            value = np.asarray(value)[first]
        parts.append(f"{name}={_short(value)}")
    return ", ".join(parts) if parts else "this point"


def _short(value: Any) -> str:
    if np.ndim(value):
        return f"array{np.shape(value)}"
    return f"{value:.6g}" if isinstance(value, (float, np.floating)) else repr(value)


def _flip_message(flipped: list, names: Mapping[str, Any], traced_at: Mapping[str, Any]) -> str:
    first_index = None
    _d, same, _left, _right = flipped[0]
    if np.ndim(same):
        bad = np.argwhere(~np.asarray(same))
        first_index = tuple(bad[0])
        where = f"at {len(bad)} of {np.size(same)} points, first at {describe_point(names, first_index)}"
    else:
        where = f"at {describe_point(names)}"
    count = "a decision" if len(flipped) == 1 else f"{len(flipped)} decisions"
    lines = [f"the traced graph is only valid on its own branch, and {where} {count} would come out "
             "differently:"]
    for d, _same, left, right in flipped[:3]:
        if first_index is not None:
            left = np.asarray(left)[first_index] if np.ndim(left) else left
            right = np.asarray(right)[first_index] if np.ndim(right) else right
        here = _short(left) if right is None else f"{_short(left)} {d.op} {_short(right)}"
        lines.append(f"  {d.condition()} was {d.outcome!r} when traced at {describe_point(traced_at)} "
                     f"({d.site}); here: {here}")
    if len(flipped) > 3:
        lines.append(f"  ... and {len(flipped) - 3} more")
    lines.append("Trace the function again at this point (dx.trace) to get the graph of that path.")
    return "\n".join(lines)


def branch_decisions(f: Node) -> list[Decision]:
    """The decisions a traced graph depends on, in the order the program took them ([] for other graphs).

    >>> import diffexplore as dx
    >>> g = dx.trace(lambda x: x * x if x < 1 else x, x=0.5)
    >>> [str(d).split("   ")[0] for d in branch_decisions(g)]
    ['x < 1 -> True']
    """
    guard = guards.get(f)
    return list(guard.decisions) if isinstance(guard, BranchGuard) else []
