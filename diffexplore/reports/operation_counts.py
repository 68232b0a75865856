"""Measure: the work of a full gradient by forward and reverse mode, counted the way the sweeps do it.

:func:`operation_counts` walks a graph once and counts the primal operations and the multiply-adds of
every forward sweep (one per input) and of the one backward sweep: the O(W) against O(1) sweeps that the
swell and cost reports print.
"""

from __future__ import annotations

from dataclasses import dataclass

from ..graph import Node, nodes

__all__ = ["OperationCounts", "operation_counts"]


@dataclass(frozen=True)
class OperationCounts:
    """The work of the full gradient, counted the way the evaluators of :mod:`diffexplore.evaluate` do it.

    ``primal``: operation nodes (one evaluation each per primal sweep). ``tangent_steps``: multiply-adds
    v̇ += ∂v/∂u·u̇ over all forward sweeps (one sweep per input; an edge counts in the sweep of input w
    when u depends on w, since the evaluator skips zero tangents). ``adjoint_steps``: multiply-adds
    ū += v̄·∂v/∂u in the one backward sweep. Each step includes evaluating the local partial ∂v/∂u from
    its rule; edges whose partial is zero by rule (``sign``, ``step``) are not steps.
    """

    inputs: int
    primal: int
    tangent_steps: int
    adjoint_steps: int

    @property
    def forward(self) -> int:
        """Forward mode: one primal plus one tangent sweep per input."""
        return self.inputs * self.primal + self.tangent_steps

    @property
    def reverse(self) -> int:
        """Reverse mode: one primal sweep plus one adjoint sweep."""
        return self.primal + self.adjoint_steps


def _counts_as_step(node: Node, pos: int) -> bool:
    partials = node.rule.partials
    return partials is None or partials[pos] is not None


def operation_counts(f: Node) -> OperationCounts:
    """Count the steps of forward mode (all inputs) and reverse mode on ``f``.

    >>> import diffexplore as dx
    >>> c = operation_counts(dx.parse("x*y + sin(x)"))
    >>> (c.inputs, c.primal, c.tangent_steps, c.adjoint_steps, c.forward, c.reverse)
    (2, 3, 6, 5, 12, 8)
    """
    order = nodes(f)
    inputs = [n for n in order if n.is_variable]
    bit = {v: 1 << k for k, v in enumerate(inputs)}
    depends: dict[Node, int] = {}        # bitset of the inputs a node depends on
    reached: dict[Node, int] = {}        # bitset of the inputs whose tangent sweep reaches the node
    primal = tangent_steps = 0
    for n in order:
        if not n.args:
            depends[n] = reached[n] = bit.get(n, 0)
            continue
        primal += 1
        depends_on = reaches = 0
        for pos, a in enumerate(n.args):
            depends_on |= depends[a]
            if reached[a] and _counts_as_step(n, pos):
                reaches |= reached[a]
                tangent_steps += reached[a].bit_count()
        depends[n], reached[n] = depends_on, reaches
    adjoint_steps = 0
    has_adjoint = {f}
    for n in reversed(order):
        if n not in has_adjoint:
            continue
        for pos, a in enumerate(n.args):
            if depends[a] and _counts_as_step(n, pos):
                adjoint_steps += 1
                has_adjoint.add(a)
    return OperationCounts(len(inputs), primal, tangent_steps, adjoint_steps)
