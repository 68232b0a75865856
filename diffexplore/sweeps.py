"""Transform/evaluate: the sweeps over a plan, each written once.

- :func:`primal_sweep`: every node's value at a point (and the one place where the branch decisions of
  traced graphs are checked);
- :func:`forward_sweep`: the tangent of every node, ``v̇ = Σ ∂v/∂u · u̇`` (a jvp for whole-array
  operations);
- :func:`backward_sweep`: the adjoint of every node, ``ū += v̄ · ∂v/∂u`` (a vjp for whole-array
  operations), summing a broadcast contribution back to its argument's shape.

The forward and backward sweeps run over an *algebra*: :data:`NUMBERS` (the evaluators: values are
numbers and arrays) or :class:`NodeAlgebra` (the symbolic differentiator: each node's "value" is the node
itself, so the same rules build derivative graphs, pruned or raw). :func:`backward_numbers` is the backward
sweep specialised to numbers, its local partials worked out inline: the cost of a gradient; a property
test holds it equal to the general sweep.
"""

from __future__ import annotations

import inspect
import itertools
import math
import operator
import threading
import weakref
from collections.abc import Mapping, Sequence
from contextlib import nullcontext
from typing import Any

import numpy as np

from .errors import DOMAIN_ERRORS, DomainError, MissingValueError, RuleError, ShapeError
from .graph import Node, as_node, constant, numbered_nodes
from .plan import APPLY, CONSTANT, MANY, PASS, PASS_BOTH, PRODUCT, READ, Plan, guards, op_arguments
from .prune import Folder
from .rules import sum_to

__all__ = ["primal_sweep", "forward_sweep", "backward_sweep", "backward_numbers", "backward_flat", "NUMBERS",
           "NodeAlgebra",
           "missing_rule", "domain_error", "DOMAIN_ERRORS", "is_finite", "check_values", "check_tangents",
           "check_adjoints", "guard_derived", "DerivedGuard", "all_finite"]



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
    try:
        found = list(map(at.__getitem__, p.variable_names()))
    except KeyError:
        names = p.variable_names()
        missing = next(name for name in names if name not in at)
        raise MissingValueError(f"no value for variable {missing!r} (the graph's variables: "
                                f"{', '.join(sorted(set(names)))})") from None
    for i, value in zip(p.variable_slots, found, strict=True):
        values[i] = value
    for i, name, shape in p.shaped_variables():
        if np.shape(values[i]) != shape:
            raise ShapeError(f"variable {name!r} is declared with shape {shape} but its value has "
                             f"shape {np.shape(values[i])}")
    return values


def primal_sweep(p: Plan, at: Mapping[str, Any], check: bool = True) -> list:
    """Every node's value at the point ``at`` (normalised by :func:`~diffexplore.inputs.as_point`);
    ``check=False`` skips the branch guards (for a caller that checked the source graph's already).

    A value that leaves the float range or a NaN made from numbers is a :class:`DomainError` naming the
    node, for floats as for arrays; an operation given a NaN or an infinity gives NaN (NaN in, NaN out)."""
    values = leaf_values(p, at)
    ops = p.ops
    p.sweeps += 1
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
            for impl, first, second, i in (ops if not start else itertools.islice(ops, start, None)):
                if second is None:
                    values[i] = impl(values[first])
                elif second != MANY:
                    values[i] = impl(values[first], values[second])
                else:
                    values[i] = impl(*[values[j] for j in first])
        return None
    except DOMAIN_ERRORS as exc:
        position = next(k for k in range(start, len(ops)) if ops[k][3] == i)
        op = ops[position]
        args = [values[j] for j in op_arguments(op)]
        if all(is_finite(a) for a in args):
            raise domain_error(p, op[3], exc) from None
        values[op[3]] = _propagated(op[0], args)
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


def _values_finite(p: Plan, values: list) -> bool:
    """Whether the outputs are finite and, for a graph evaluated at floats, every argument of an
    operation that can absorb an infinity is too (NumPy raises where arrays overflow)."""
    for r in p.roots:
        if not is_finite(values[r]):
            return False
    if type(values[p.roots[0]]) is not float:
        return True
    for j in p.absorbing_arguments():
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


def all_finite(items: Sequence) -> bool:
    """Whether every item is finite (None counts as finite: a zero tangent or adjoint).

    Floats are added up first: a finite sum proves every term finite (an infinity or a NaN cannot
    cancel), so only an infinite sum (or anything but floats) needs a look at each item.

    >>> all_finite([1.0, None, 2.5]), all_finite([1e308, 1e308]), all_finite([1.0, float("nan")])
    (True, True, False)
    """
    try:
        total = sum(filter(None, items), 0.0)
        if isinstance(total, float) and math.isfinite(total):
            return True
    except (TypeError, ValueError):
        pass
    return all(item is None or is_finite(item) for item in items)


def inputs_finite(p: Plan, values: list) -> bool:
    """Whether every variable's value and every constant of a swept plan is finite."""
    return p.constants_finite(is_finite) and all_finite(p.variable_values(values))


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
    for op in p.ops:
        value = values[op[3]]
        if not is_finite(value) and all(is_finite(values[j]) for j in op_arguments(op)):
            raise _overflow(p, op[3], f"gave {_nonfinite(value)} from finite arguments")


def _overflow(p: Plan, i: int, what: str, evaluating: str = "evaluating") -> DomainError:
    return DomainError(f"{evaluating} {_node_text(p, i)} {what}: the result leaves the range of "
                       "floating-point numbers (about ±1.8e308), so it is not a number to trust")


def check_tangents(p: Plan, values: list, tangents: list) -> None:
    """After a forward sweep: a root's tangent that is not finite, from finite inputs, seeds and values,
    is a :class:`DomainError` naming the first operation whose tangent overflowed."""
    if all_finite([tangents[r] for r in p.roots]):
        return
    if not inputs_finite(p, values) or not all(tangents[i] is None or is_finite(tangents[i])
                                               for i, _n, _s in p.variables):
        return
    check_values(p, values)         # an intermediate value that overflowed without showing in f
    for op in p.ops:
        t = tangents[op[3]]
        if t is not None and not is_finite(t) and all_finite([tangents[j] for j in op_arguments(op)]):
            raise _overflow(p, op[3], f"has tangent {_nonfinite(t)} from finite tangents",
                            "differentiating")


def check_adjoints(p: Plan, values: list, adjoints: list, root: int) -> None:
    """After a backward sweep: a variable's adjoint that is not finite, from finite inputs, seed and
    values, is a :class:`DomainError` naming the operation where the adjoints overflowed (found by
    sweeping again with a record of every contribution)."""
    if all_finite(p.variable_values(adjoints)):
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
    def number(value: Any) -> Any:
        """A constant partial as this algebra computes with it."""
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
        self.constants: dict = {}

    def number(self, value: Any) -> Node:
        """A constant partial as a node (made once per value and sweep)."""
        node = self.constants.get(value)
        if node is None:
            node = self.constants[value] = constant(value)
        return node

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


def local_partial(values: list, op: tuple, how: int, what: Any, source: int, partial: Any) -> Any:
    """The local partial of one chain-rule term (a :class:`~diffexplore.plan.Term`) of the operation
    ``op`` at the sweep's values (APPLY's ``partial``, which builds nodes too, is what is called here)."""
    if how == READ:
        return values[op[source]]
    if how == CONSTANT:
        return what
    _impl, first, second, i = op
    if second is None:
        return partial(values[first], values[i])
    if second != MANY:
        return partial(values[first], values[second], values[i])
    return partial(*[values[j] for j in first], values[i])


def algebra_partial(values: list, op: tuple, how: int, what: Any, source: int, partial: Any,
                    algebra: Any) -> Any:
    """:func:`local_partial` in an algebra: a constant as the algebra's number, a computed partial folded
    (over nodes, the pruning identities apply to it)."""
    if how == CONSTANT:
        return algebra.number(what)
    local = local_partial(values, op, how, what, source, partial)
    return algebra.fold(local) if algebra.folds else local


# ---- the forward (tangent) sweep -----------------------------------------------------------------------


def forward_sweep(p: Plan, values: list, tangents: list, algebra: Any = NUMBERS,
                  terms: list | None = None) -> list:
    """Fill ``tangents`` (seeded at the variables; None is a zero tangent) through every operation of the
    plan in order: an elementwise operation sums local partial × argument tangent, a whole-array
    operation calls its rule's jvp. ``terms`` defaults to the plan's lean terms (``p.dense_terms()``
    gives the raw chain rule)."""
    mul, add = algebra.mul, algebra.add
    dense = terms is not None
    numbers = algebra is NUMBERS        # constants and applied primitives inline, as backward_numbers
    i = -1
    try:
        with algebra.errstate(p, values):
            for op, op_terms in zip(p.ops, p.terms if terms is None else terms, strict=True):
                i = op[3]
                if op_terms:
                    total = None
                    for position, how, what, source, _reduce, partial in op_terms:
                        t = tangents[op[position]]
                        if t is None:
                            continue
                        if how == READ:
                            local = values[op[source]]
                        elif numbers and how == CONSTANT:
                            local = what
                        elif numbers and how == APPLY:
                            local = what(values[op[source]])
                        else:
                            local = algebra_partial(values, op, how, what, source, partial, algebra)
                        contribution = mul(local, t)
                        total = contribution if total is None else add(total, contribution)
                    tangents[i] = total
                elif op_terms is None:
                    tangents[i] = _whole_tangent(p, op, values, tangents, algebra, dense)
    except DOMAIN_ERRORS as exc:
        raise domain_error(p, i, exc, "differentiating") from None
    return tangents


def _whole_tangent(p: Plan, op: tuple, values: list, tangents: list, algebra: Any, dense: bool) -> Any:
    """The tangent of an operation the plan gives no terms: its rule's jvp, or the terms of an
    elementwise rule of more than two arguments."""
    idx = op_arguments(op)
    ts = tuple([tangents[j] for j in idx])
    if all(t is None for t in ts):
        return None
    rule = p.order[op[3]].rule
    if rule.elementwise:
        total = None
        for pos, j, local in _elementwise_terms(p, op, values, algebra, dense):
            if ts[pos] is None:
                continue
            contribution = algebra.mul(local, tangents[j])
            total = contribution if total is None else algebra.add(total, contribution)
        return total
    if rule.jvp is None:
        raise missing_rule(rule, "jvp")
    argv = [values[j] for j in idx]
    if rule.has_attr:
        out = rule.jvp(ts, *argv, values[op[3]], attr=p.order[op[3]].attr)
    else:
        out = rule.jvp(ts, *argv, values[op[3]])
    return algebra.fold(out) if algebra.folds and out is not None else out


def _elementwise_terms(p: Plan, op: tuple, values: list, algebra: Any, dense: bool) -> list:
    """``(position, argument slot, local partial)`` for each active argument (each argument when
    ``dense``, a zero partial as 0) of an elementwise operation of more than two arguments."""
    rule = p.order[op[3]].rule
    if rule.partials is None:
        raise missing_rule(rule, "partials")
    found = []
    argv = [values[j] for j in op_arguments(op)]
    for pos, j in enumerate(op_arguments(op)):
        partial = rule.partials[pos]
        if partial is None:
            if dense:
                found.append((pos, j, constant(0.0) if algebra.folds else 0.0))
        elif dense or p.active[j]:
            local = partial(*argv, values[op[3]])
            found.append((pos, j, algebra.fold(local) if algebra.folds else local))
    return found


# ---- the backward (adjoint) sweep ----------------------------------------------------------------------


def backward_sweep(p: Plan, values: list, adjoints: list, algebra: Any = NUMBERS,
                   record: list | None = None) -> list:
    """Fill ``adjoints`` (seeded at the roots; None is a zero adjoint) through every operation of the
    plan in reverse order: an elementwise operation adds adjoint × local partial to each active
    argument (summed back to the argument's shape after broadcasting), a whole-array operation adds
    its rule's vjp. ``record`` (a list) receives ``(slot, position, argument slot, local partial,
    contribution)`` for every addition, in order."""
    if algebra is NUMBERS and record is None:
        flat = p.backward_steps() if p.sweeps > 1 else None     # a plan used again is worth them
        p.sweeps += 1
        seeded = adjoints[:]
        try:
            with np.errstate(divide="raise", invalid="raise", over="raise"):
                _backward_numbers(p, flat, values, adjoints)
        except _SweepError as failure:
            if inputs_finite(p, values):
                raise domain_error(p, failure.slot, failure.cause, "differentiating") from None
            adjoints[:] = seeded                  # NaN or inf in: sweep again, letting NaN through
            try:
                with np.errstate(all="ignore"):
                    _backward_numbers(p, flat, values, adjoints)
            except _SweepError as again:
                raise domain_error(p, again.slot, again.cause, "differentiating") from None
        return adjoints
    mul, add, reduce = algebra.mul, algebra.add, algebra.reduce
    i = -1
    try:
        with algebra.errstate(p, values):
            for op, op_terms in zip(reversed(p.ops), reversed(p.terms), strict=True):
                i = op[3]
                g = adjoints[i]
                if g is None:
                    continue
                if not op_terms:
                    if op_terms is not None:
                        continue
                    for pos, j, local, c in _whole_cotangents(p, op, values, g, algebra):
                        if record is not None:
                            record.append((i, pos, j, local, c))
                        previous = adjoints[j]
                        adjoints[j] = c if previous is None else add(previous, c)
                    continue
                for position, how, what, source, reduce_to, partial in op_terms:
                    local = (values[op[source]] if how == READ
                             else algebra_partial(values, op, how, what, source, partial, algebra))
                    contribution = mul(g, local)
                    if reduce_to is not None:
                        contribution = reduce(contribution, reduce_to)
                    j = op[position]
                    if record is not None:
                        record.append((i, position - 1, j, local, contribution))
                    previous = adjoints[j]
                    adjoints[j] = contribution if previous is None else add(previous, contribution)
    except DOMAIN_ERRORS as exc:
        raise domain_error(p, i, exc, "differentiating") from None
    return adjoints


def _whole_cotangents(p: Plan, op: tuple, values: list, g: Any, algebra: Any) -> list:
    """``(position, argument slot, local partial or None, contribution)`` for each active argument of an
    operation the plan gives no terms: its rule's vjp, or the terms of an elementwise rule of more than
    two arguments."""
    node = p.order[op[3]]
    rule = node.rule
    idx = op_arguments(op)
    active = p.active
    if rule.elementwise:
        found = []
        for pos, j, local in _elementwise_terms(p, op, values, algebra, False):
            contribution = algebra.mul(g, local)
            if node.args[pos].shape != node.shape:
                contribution = algebra.reduce(contribution, node.args[pos].shape)
            found.append((pos, j, local, contribution))
        return found
    if rule.vjp is None:
        raise missing_rule(rule, "vjp")
    argv = [values[j] for j in idx]
    options = {"attr": node.attr} if rule.has_attr else {}
    if takes_needed(rule.vjp):        # it can skip the cotangents no variable needs
        options["needed"] = tuple([active[j] for j in idx])
    cotangents = rule.vjp(g, *argv, values[op[3]], **options)
    found = []
    for pos, j in enumerate(idx):
        c = cotangents[pos]
        if c is None or not active[j]:
            continue
        found.append((pos, j, None, algebra.fold(c) if algebra.folds else c))
    return found


def _backward_numbers(p: Plan, flat: list | None, values: list, adjoints: list) -> None:
    if flat is None:
        backward_numbers(p, values, adjoints)
    else:
        backward_flat(flat, values, adjoints)


class _SweepError(Exception):
    """A domain error inside the sweep over numbers, with the slot of the node where it happened."""

    def __init__(self, slot: int, cause: Exception):
        super().__init__(slot, cause)
        self.slot = slot
        self.cause = cause


def backward_numbers(p: Plan, values: list, adjoints: list) -> None:
    """The backward sweep over numbers: for every operation in reverse order with an adjoint, add
    adjoint × local partial to each active argument's adjoint, by the fused kind of its terms as
    :func:`backward_flat` does (the slots read through the operation here, resolved there: this loop
    is the cost of a first gradient, that one of a plan used again), or term by term with the local
    partial worked out inline. :func:`backward_sweep` over :data:`NUMBERS` with a record does the same
    arithmetic through the algebra, and a property test holds the three equal bit for bit."""
    i = -1
    try:
        for op, terms in zip(reversed(p.ops), reversed(p.terms), strict=True):
            if not terms:
                if terms is None and adjoints[op[3]] is not None:
                    i = op[3]
                    for _pos, j, _local, c in _whole_cotangents(p, op, values, adjoints[i], NUMBERS):
                        previous = adjoints[j]
                        adjoints[j] = c if previous is None else previous + c
                continue
            i = op[3]
            g = adjoints[i]
            if g is None:
                continue
            kind, j, k, what = terms.fused
            j = op[j]
            if kind == PRODUCT:         # the kinds of sums of products first (layers, dot products)
                k = op[k]
                contribution = g * values[k]
                previous = adjoints[j]
                adjoints[j] = contribution if previous is None else previous + contribution
                contribution = g * values[j]
                j = k
            elif kind == PASS_BOTH:
                previous = adjoints[j]
                adjoints[j] = g if previous is None else previous + g
                contribution = g
                j = op[k]
            elif kind == READ:
                contribution = g * values[op[k]]
            elif kind == PASS:
                contribution = g
            elif kind == APPLY:
                on_float, impl = what
                value = values[op[k]]
                contribution = g * (on_float(value) if type(value) is float else impl(value))
            elif kind == CONSTANT:
                contribution = g * what
            else:
                _impl, first, second, i = op
                for position, how, what, source, reduce_to, partial in terms:
                    if how == READ:
                        contribution = g * values[op[source]]
                    elif how == CONSTANT:
                        contribution = g * what
                    elif how == APPLY:
                        contribution = g * what(values[op[source]])
                    elif second is None:
                        contribution = g * partial(values[first], values[i])
                    else:
                        contribution = g * partial(values[first], values[second], values[i])
                    if reduce_to is not None:
                        contribution = sum_to(contribution, attr=reduce_to)
                    j = op[position]
                    previous = adjoints[j]
                    adjoints[j] = contribution if previous is None else previous + contribution
                continue
            previous = adjoints[j]
            adjoints[j] = contribution if previous is None else previous + contribution
    except DOMAIN_ERRORS as exc:
        raise _SweepError(i, exc) from None


def backward_flat(steps: list, values: list, adjoints: list) -> None:
    """:func:`backward_numbers` over a plan's :meth:`~diffexplore.plan.Plan.backward_steps`: the same
    arithmetic in the same order, one operation per step of a single loop."""
    i = -1
    try:
        for i, kind, j, k, what in steps:
            g = adjoints[i]
            if g is None:
                continue
            if kind == READ:
                contribution = g * values[k]
            elif kind == PRODUCT:
                contribution = g * values[k]
                previous = adjoints[j]
                adjoints[j] = contribution if previous is None else previous + contribution
                contribution = g * values[j]
                j = k
            elif kind == PASS:
                contribution = g
            elif kind == APPLY:
                on_float, impl = what
                value = values[k]
                contribution = g * (on_float(value) if type(value) is float else impl(value))
            elif kind == PASS_BOTH:
                previous = adjoints[j]
                adjoints[j] = g if previous is None else previous + g
                contribution = g
                j = k
            elif kind == CONSTANT:
                contribution = g * what
            else:
                backward_numbers(what, values, adjoints)     # a PlanRange of one operation
                continue
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
