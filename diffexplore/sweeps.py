"""Transform/evaluate: the sweeps over a plan, each written once.

- :func:`primal_sweep`: every node's value at a point (and the one place where the branch decisions of
  traced graphs are checked);
- :func:`forward_sweep`: the tangent of every node, ``v̇ = Σ ∂v/∂u · u̇`` (a jvp for whole-array
  operations);
- :func:`backward_sweep`: the adjoint of every node, ``ū += v̄ · ∂v/∂u`` (a vjp for whole-array
  operations), summing a broadcast contribution back to its argument's shape.

The forward and backward sweeps run over an *algebra*: :data:`NUMBERS` (the evaluators: values are
numbers and arrays) or :class:`NodeAlgebra` (the symbolic differentiator: each node's "value" is the node
itself, so the same rules build derivative graphs, pruned or raw). :func:`backward_flat` is the backward
sweep specialised to numbers on graphs of elementwise operations of one or two arguments: one flat loop
over the plan's terms, the cost of a gradient; a property test holds it equal to the general sweep.
"""

from __future__ import annotations

import inspect
import itertools
import math
import operator
import threading
import weakref
from collections.abc import Mapping
from contextlib import nullcontext
from typing import Any

import numpy as np

from .errors import DOMAIN_ERRORS, DomainError, MissingValueError, RuleError, ShapeError
from .graph import Node, as_node, constant, numbered_nodes
from .plan import CONSTANT, READ, Plan, guards
from .prune import Folder
from .rules import sum_to

__all__ = ["primal_sweep", "forward_sweep", "backward_sweep", "backward_flat", "NUMBERS", "NodeAlgebra",
           "missing_rule", "domain_error", "DOMAIN_ERRORS", "is_finite", "check_values", "check_tangents",
           "check_adjoints", "guard_derived", "DerivedGuard"]



def domain_error(p: Plan, i: int, exc: Exception, what: str = "evaluating") -> DomainError:
    """The error for a failure at slot ``i``, naming the node and its operation."""
    node = p.order[i]
    reason = str(exc) or type(exc).__name__
    if isinstance(exc, OverflowError) or "overflow" in reason or "range" in reason:
        verdict = "The result leaves the range of floating-point numbers (about ±1.8e308)."
    else:
        verdict = f"The operation {node.rule.name!r} is not defined there."
    return DomainError(f"{what} {_node_text(p, i)} failed: {reason}. {verdict}")


def _node_text(p: Plan, i: int) -> str:
    """A node as errors name it: ``node #3 (mul(x, x))``."""
    from .formula import formula
    node = p.order[i]
    args = ", ".join(formula(a, max_length=40) for a in node.args)
    return f"node #{i} ({node.rule.name}({args}))"


def missing_rule(rule, which: str) -> RuleError:
    """The error for a primitive that has no derivative rule (``which``: the one the sweep needs)."""
    which = "partials" if rule.elementwise else which
    return RuleError(f"the primitive {rule.name!r} has no derivative rule ({which}); "
                     "give it partials=... or vjp=/jvp= when defining it")


# ---- the primal sweep ----------------------------------------------------------------------------------


def leaf_values(p: Plan, at: Mapping[str, Any]) -> list:
    """A value list with the constants and the variables' values filled in (checked against shapes)."""
    values: list = [None] * len(p.order)
    for i, value in p.constants:
        values[i] = value
    for i, name, shape in p.variables:
        try:
            value = at[name]
        except KeyError:
            known = ", ".join(sorted({nm for _, nm, _ in p.variables}))
            raise MissingValueError(f"no value for variable {name!r} (the graph's variables: {known})"
                                    ) from None
        if shape and np.shape(value) != shape:
            raise ShapeError(f"variable {name!r} is declared with shape {shape} but its value has "
                             f"shape {np.shape(value)}")
        values[i] = value
    return values


def primal_sweep(p: Plan, at: Mapping[str, Any], check: bool = True) -> list:
    """Every node's value at the point ``at`` (normalised by :func:`~diffexplore.inputs.as_point`);
    ``check=False`` skips the branch guards (for a caller that checked the source graph's already).

    A value that leaves the float range or a NaN made from numbers is a :class:`DomainError` naming the
    node, for floats as for arrays; an operation given a NaN or an infinity gives NaN (NaN in, NaN out)."""
    values = leaf_values(p, at)
    ops = p.ops
    start = 0
    while start is not None:
        start = _run_ops(p, ops, start, values)
    if not _values_finite(p, values):
        check_values(p, values)
    if guards and check:
        check_guards(p, values, at)
    return values


def _run_ops(p: Plan, ops: list, start: int, values: list) -> int | None:
    """Run the operations from position ``start``; None when done, else the position to go on from
    after an operation that failed on a NaN or infinite argument (its value is then NaN)."""
    i = -1
    try:
        with np.errstate(divide="raise", invalid="raise", over="raise"):
            for i, impl, idx, arity in (ops if not start else itertools.islice(ops, start, None)):
                if arity == 2:
                    values[i] = impl(values[idx[0]], values[idx[1]])
                elif arity == 1:
                    values[i] = impl(values[idx[0]])
                else:
                    values[i] = impl(*[values[j] for j in idx])
        return None
    except DOMAIN_ERRORS as exc:
        position = next(k for k in range(start, len(ops)) if ops[k][0] == i)
        _i, impl, idx, _arity = ops[position]
        args = [values[j] for j in idx]
        if all(is_finite(a) for a in args):
            raise domain_error(p, i, exc) from None
        values[i] = _propagated(impl, args)
        return position + 1


def _propagated(impl: Any, args: list) -> Any:
    """An operation's value at NaN or infinite arguments: what NumPy gives without its warnings, or NaN
    where Python's math refuses (math.sin(inf))."""
    with np.errstate(all="ignore"):
        try:
            return impl(*args)
        except DOMAIN_ERRORS:
            shapes = [np.shape(a) for a in args]
            shape = np.broadcast_shapes(*shapes) if shapes else ()
            return float("nan") if not shape else np.full(shape, np.nan)


#: Operations that carry an infinite argument into an infinite or NaN value (or refuse it): an overflow
#: inside a formula can vanish only through another operation (1/inf = 0, exp(-inf) = 0, tanh(inf) = 1,
#: a comparison, a selection, any primitive defined outside this list), whose arguments are checked.
PASSING = frozenset({"add", "sub", "mul", "neg", "log", "log1p", "sin", "cos", "tan", "sqrt", "sinh",
                     "cosh", "abs", "stop_gradient"})


def _values_finite(p: Plan, values: list) -> bool:
    """Whether the outputs are finite and, for a graph evaluated at floats, every argument of an
    operation that can absorb an infinity is too (NumPy raises where arrays overflow)."""
    for r in p.roots:
        if not is_finite(values[r]):
            return False
    if type(values[p.roots[0]]) is not float:
        return True
    for j in p.absorbing_arguments(PASSING):
        value = values[j]
        if type(value) is float and not math.isfinite(value):
            return False
    return True


# ---- non-finite numbers: NaN and inf propagate, so the outputs tell whether to look for their source ----


def is_finite(value: Any) -> bool:
    """Whether a number, or every entry of an array, is finite (anything else counts as finite)."""
    if type(value) is float:
        return math.isfinite(value)
    try:
        return bool(np.isfinite(value).all())
    except TypeError:
        return True


def inputs_finite(p: Plan, values: list) -> bool:
    """Whether every variable's value and every constant of a swept plan is finite."""
    return p.constants_finite(is_finite) and all(is_finite(values[i]) for i, _name, _shape in p.variables)


def _nonfinite(value: Any) -> str:
    """How a non-finite value is shown in an error: ``inf``, ``nan`` or ``an array with inf/nan``."""
    if isinstance(value, np.ndarray) and value.ndim:
        return "an array holding " + ("nan" if np.isnan(value).any() else "inf")
    return str(value)


def check_values(p: Plan, values: list) -> None:
    """Raise a :class:`DomainError` naming the first operation whose value is not finite though its
    arguments are (an overflow, or a NaN made from numbers), unless an input is itself not finite: NaN
    in, NaN out. The evaluators call this only when an output is not finite, so it costs nothing on the
    way to a finite result."""
    if not inputs_finite(p, values):
        return
    for i, _impl, idx, _arity in p.ops:
        value = values[i]
        if not is_finite(value) and all(is_finite(values[j]) for j in idx):
            raise _overflow(p, i, f"gave {_nonfinite(value)} from finite arguments")


def _overflow(p: Plan, i: int, what: str, evaluating: str = "evaluating") -> DomainError:
    return DomainError(f"{evaluating} {_node_text(p, i)} {what}: the result leaves the range of "
                       "floating-point numbers (about ±1.8e308), so it is not a number to trust")


def check_tangents(p: Plan, values: list, tangents: list) -> None:
    """After a forward sweep: a root's tangent that is not finite, from finite inputs, seeds and values,
    is a :class:`DomainError` naming the first operation whose tangent overflowed."""
    if all(tangents[r] is None or is_finite(tangents[r]) for r in p.roots):
        return
    if not inputs_finite(p, values) or not all(tangents[i] is None or is_finite(tangents[i])
                                               for i, _n, _s in p.variables):
        return
    check_values(p, values)         # an intermediate value that overflowed without showing in f
    for i, idx, _terms, _node in p.partial_steps:
        t = tangents[i]
        if t is not None and not is_finite(t) and all(tangents[j] is None or is_finite(tangents[j])
                                                      for j in idx):
            raise _overflow(p, i, f"has tangent {_nonfinite(t)} from finite tangents", "differentiating")


def check_adjoints(p: Plan, values: list, adjoints: list, root: int) -> None:
    """After a backward sweep: a variable's adjoint that is not finite, from finite inputs, seed and
    values, is a :class:`DomainError` naming the operation where the adjoints overflowed (found by
    sweeping again with a record of every contribution)."""
    if all(adjoints[i] is None or is_finite(adjoints[i]) for i, _n, _s in p.variables):
        return
    seed = adjoints[root]
    if not inputs_finite(p, values) or (seed is not None and not is_finite(seed)):
        return
    check_values(p, values)
    again: list = [None] * len(values)
    again[root] = seed
    record: list = []
    backward_sweep(p, values, again, record=record)
    for i, pos, _j, local, contribution in record:
        if local is not None and not is_finite(local):
            raise _overflow(p, i, f"has local partial {_nonfinite(local)} in argument {pos}",
                            "differentiating")
        if not is_finite(contribution):
            raise _overflow(p, i, f"passes {_nonfinite(contribution)} back to argument {pos} (adjoint × "
                            "local partial)", "differentiating")
    for j, a in enumerate(again):
        if a is not None and not is_finite(a):
            raise _overflow(p, j, f"has adjoint {_nonfinite(a)}, the sum of finite contributions",
                            "differentiating")


def check_guards(p: Plan, values: list, at: Mapping[str, Any]) -> None:
    """Re-check the branch decisions of every traced part of the graph on this sweep's values: the one
    place every evaluation path goes through (the derivative operators and compiled programs of a traced
    graph sweep it first).

    A traced part is a node with a guard that no other guarded node of the graph contains: a traced
    graph's own guard covers every decision on its path, including those of shared subexpressions that
    are the roots of other traces (hash-consing shares them)."""
    primals = None
    roots = [p.order[r] for r in p.roots]
    for node in _outermost_guarded(p):
        for check in guards.checks(node):
            if primals is None:
                primals = dict(zip(p.order, values, strict=True))
            if node in roots:
                check(primals, at)
            else:
                check(primals, at, part=node)


class DerivedGuard:
    """The guard of a graph derived from one with traced parts (a symbolic derivative of it): evaluating
    the derivative checks the source's branch decisions by sweeping the source at the same point, so a
    derivative is valid exactly where its source is. Not re-entered while it runs (the source may
    contain the derivative's root: hash-consing shares nodes)."""

    _running = threading.local()         # the guards running in this thread (each enters once)

    def __init__(self, source: Node):
        self.source = source

    def __call__(self, primals: Mapping, at: Mapping[str, Any], part: Node | None = None) -> None:
        running = self._running.__dict__.setdefault("guards", set())
        if id(self) in running:
            return
        from .plan import plan
        p = plan(self.source)
        if any(name not in at for _i, name, _shape in p.variables):
            return      # a point that does not give the source's inputs: the graph is used on its own
        running.add(id(self))
        try:
            check_guards(p, primal_sweep(p, at, check=False), at)
        finally:
            running.discard(id(self))


def guard_derived(source: Node, derived: list[Node]) -> None:
    """Register the derivatives of ``source`` to check its branch decisions, if it has traced parts
    (leaves and nodes with a guard of their own are left alone: they are shared too widely)."""
    if not guards:
        return
    from .plan import plan
    if not _outermost_guarded(plan(source)):
        return
    for node in derived:
        if node.args and node not in guards:
            guards[node] = DerivedGuard(source)


_outermost: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


def _outermost_guarded(p: Plan) -> list[Node]:
    """The guarded nodes of a plan that no other guarded node of it contains (cached per plan and set
    of guarded nodes)."""
    guarded = [n for n in guards.guarded() if n in p.index]
    if len(guarded) <= 1:
        return guarded
    key = frozenset(guarded)
    cached = _outermost.get(p)
    if cached is not None and cached[0] == key:
        return cached[1]
    inner: set = set()
    for g in guarded:
        if g not in inner:
            inner.update(n for n in numbered_nodes(g)[0] if n is not g and n in key)
    outermost = [g for g in guarded if g not in inner]
    _outermost[p] = (key, outermost)
    return outermost


# ---- algebras: what the forward and backward sweeps compute with ---------------------------------------


class NumberAlgebra:
    """Numbers and arrays: products and sums as they are, a broadcast contribution summed back with
    ``sum_to``; domain errors are raised (NumPy's included) and reported naming the node."""

    folds = False
    mul = staticmethod(operator.mul)
    add = staticmethod(operator.add)

    @staticmethod
    def fold(value: Any) -> Any:
        return value

    @staticmethod
    def reduce(value: Any, shape: tuple) -> Any:
        return sum_to(value, attr=shape)

    @staticmethod
    def errstate(p: Plan, values: list):
        """Raise (a domain error is reported naming the node), unless an input is NaN or infinite: then
        NaN propagates (NaN in, NaN out)."""
        if inputs_finite(p, values):
            return np.errstate(divide="raise", invalid="raise", over="raise")
        return np.errstate(all="ignore")


NUMBERS = NumberAlgebra()


class NodeAlgebra:
    """Nodes: each product and sum builds a node. ``prune=True`` applies the identities of
    :mod:`diffexplore.prune` to the new nodes (never to the nodes in ``keep``, those of f); ``prune=False``
    keeps every term exactly as the chain rule emits it."""

    folds = True

    def __init__(self, prune: bool, keep: set[Node] | dict):
        self.prune = prune
        self.folder = Folder(keep) if prune else None
        self.keep = keep
        # Products and sums of nodes (the sweeps turn a partial that is a plain number into a constant).
        self.mul = self.folder.mul if prune else operator.mul
        self.add = self.folder.add if prune else operator.add

    def fold(self, node: Any) -> Node:
        if not self.prune:
            return as_node(node)
        if type(node) is Node and node in self.keep:      # a node of f: nothing to fold
            return node
        return self.folder.fold(node)

    def reduce(self, value: Node, shape: tuple) -> Node:
        if value.shape == shape:
            return value
        reduced = sum_to(value, attr=shape)
        return self.fold(reduced) if self.prune else reduced

    @staticmethod
    def errstate(p: Plan, values: list):
        return nullcontext()


def call_partial(values: list, i: int, idx: tuple, partial: Any, first: int | None,
                 second: int | None) -> Any:
    """A rule's local partial of one chain-rule term (a :class:`~diffexplore.plan.Term` whose ``how`` is
    CALL) at the sweep's values: called on the arguments' values and the output's."""
    if second is not None:
        return partial(values[first], values[second], values[i])
    if first is not None:
        return partial(values[first], values[i])
    return partial(*[values[k] for k in idx], values[i])


# ---- the forward (tangent) sweep -----------------------------------------------------------------------


def forward_sweep(p: Plan, values: list, tangents: list, algebra: Any = NUMBERS,
                  steps: list | None = None) -> list:
    """Fill ``tangents`` (seeded at the variables; None is a zero tangent) through every operation of the
    plan in order: an elementwise operation sums local partial × argument tangent, a whole-array
    operation calls its rule's jvp. ``steps`` defaults to the plan's lean steps."""
    mul, add, fold, folds = algebra.mul, algebra.add, algebra.fold, algebra.folds
    i = -1
    try:
        with algebra.errstate(p, values):
            for i, idx, terms, node in (p.partial_steps if steps is None else steps):
                if terms:
                    total = None
                    for _i, j, how, what, first, second, _reduce, _pos in terms:
                        t = tangents[j]
                        if t is None:
                            continue
                        if how == READ:
                            local = values[what]
                        elif how == CONSTANT:
                            local = constant(what) if folds else what
                        else:
                            local = call_partial(values, i, idx, what, first, second)
                            if folds:
                                local = fold(local)
                        contribution = mul(local, t)
                        total = contribution if total is None else add(total, contribution)
                    tangents[i] = total
                elif node is not None:
                    ts = tuple([tangents[j] for j in idx])
                    if all(t is None for t in ts):
                        continue
                    rule = node.rule
                    if rule.jvp is None:
                        raise missing_rule(rule, "jvp")
                    argv = [values[j] for j in idx]
                    if rule.has_attr:
                        out = rule.jvp(ts, *argv, values[i], attr=node.attr)
                    else:
                        out = rule.jvp(ts, *argv, values[i])
                    tangents[i] = fold(out) if folds and out is not None else out
    except DOMAIN_ERRORS as exc:
        raise domain_error(p, i, exc, "differentiating") from None
    return tangents


# ---- the backward (adjoint) sweep ----------------------------------------------------------------------


def backward_sweep(p: Plan, values: list, adjoints: list, algebra: Any = NUMBERS,
                   record: list | None = None) -> list:
    """Fill ``adjoints`` (seeded at the roots; None is a zero adjoint) through every operation of the
    plan in reverse order: an elementwise operation adds adjoint × local partial to each active
    argument (summed back to the argument's shape after broadcasting), a whole-array operation adds
    its rule's vjp. ``record`` (a list) receives ``(slot, position, argument slot, local partial,
    contribution)`` for every addition, in order."""
    if algebra is NUMBERS and p.backward_terms is not None:
        try:
            with NUMBERS.errstate(p, values):
                backward_flat(p.backward_terms, values, adjoints, record)
        except _SweepError as failure:
            raise domain_error(p, failure.slot, failure.cause, "differentiating") from None
        return adjoints
    mul, add, fold, reduce, folds = algebra.mul, algebra.add, algebra.fold, algebra.reduce, algebra.folds
    active = p.active
    i = -1
    try:
        with algebra.errstate(p, values):
            for i, idx, terms, node in reversed(p.partial_steps):
                g = adjoints[i]
                if g is None:
                    continue
                if terms:
                    for _i, j, how, what, first, second, reduce_to, pos in terms:
                        if how == READ:
                            local = values[what]
                        elif how == CONSTANT:
                            local = constant(what) if folds else what
                        else:
                            local = call_partial(values, i, idx, what, first, second)
                            if folds:
                                local = fold(local)
                        contribution = mul(g, local)
                        if reduce_to is not None:
                            contribution = reduce(contribution, reduce_to)
                        if record is not None:
                            record.append((i, pos, j, local, contribution))
                        previous = adjoints[j]
                        adjoints[j] = contribution if previous is None else add(previous, contribution)
                elif node is not None:
                    rule = node.rule
                    if rule.vjp is None:
                        raise missing_rule(rule, "vjp")
                    argv = [values[j] for j in idx]
                    options = {"attr": node.attr} if rule.has_attr else {}
                    if takes_needed(rule.vjp):        # it can skip the cotangents no variable needs
                        options["needed"] = tuple([active[j] for j in idx])
                    cotangents = rule.vjp(g, *argv, values[i], **options)
                    for pos, j in enumerate(idx):
                        c = cotangents[pos]
                        if c is None or not active[j]:
                            continue
                        if folds:
                            c = fold(c)
                        if record is not None:
                            record.append((i, pos, j, None, c))
                        previous = adjoints[j]
                        adjoints[j] = c if previous is None else add(previous, c)
    except DOMAIN_ERRORS as exc:
        raise domain_error(p, i, exc, "differentiating") from None
    return adjoints


class _SweepError(Exception):
    """A domain error inside the flat sweep, with the slot of the node where it happened."""

    def __init__(self, slot: int, cause: Exception):
        super().__init__(slot, cause)
        self.slot = slot
        self.cause = cause


def backward_flat(terms: list, values: list, adjoints: list, record: list | None = None) -> None:
    """The backward sweep over numbers for graphs of elementwise operations of one or two arguments:
    one flat loop over the plan's terms (in backward order), each adding adjoint × local partial to an
    argument's adjoint. The same arithmetic as :func:`backward_sweep` with the local partial worked out
    inline: this loop is the cost of a gradient."""
    i = -1
    try:
        for i, j, how, what, first, second, reduce_to, pos in terms:
            g = adjoints[i]
            if g is None:
                continue
            if how == READ:
                local = values[what]
            elif how == CONSTANT:
                local = what
            elif second is not None:
                local = what(values[first], values[second], values[i])
            else:
                local = what(values[first], values[i])
            contribution = g * local
            if reduce_to is not None:
                contribution = sum_to(contribution, attr=reduce_to)
            if record is not None:
                record.append((i, pos, j, local, contribution))
            previous = adjoints[j]
            adjoints[j] = contribution if previous is None else previous + contribution
    except DOMAIN_ERRORS as exc:
        raise _SweepError(i, exc) from None


_TAKES_NEEDED: dict = {}


def takes_needed(vjp) -> bool:
    """Whether a vjp accepts ``needed=`` (one flag per argument: is its cotangent used?)."""
    takes = _TAKES_NEEDED.get(vjp)
    if takes is None:
        try:
            takes = "needed" in inspect.signature(vjp).parameters
        except (TypeError, ValueError):
            takes = False
        _TAKES_NEEDED[vjp] = takes
    return takes
