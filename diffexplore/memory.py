"""Transform/evaluate: what each sweep holds in memory, measured on lean sweeps.

Evaluation needs a value only until its last use; forward mode carries a tangent beside each value and
needs it no longer; reverse mode must keep, from the forward sweep until the backward sweep reaches it,
every value that a local partial reads (the *tape*). The lean sweeps here run the plan's operations and
the shared sweeps of :mod:`diffexplore.sweeps` one operation at a time, free each value after its last
use in plan order, and count what they actually hold at every moment in a :class:`Ledger`: the numbers
of a :class:`MemoryReport` come from the sweeps themselves, not from a formula.

What is counted: the values the sweeps compute (intermediate values, tangents, adjoints, snapshots),
each value once however many holders share it, and its bytes once per buffer (8 for a float, ``nbytes``
for an array, a view counted as the array it views). The inputs (variables' values, constants, the seed
tangents) are held by the caller and the graph whatever the sweep does, and are not counted.

Which values a partial reads is read off the rule table: a term that reads one value (mul's other
argument, exp's output) or applies a primitive to one (sin's cos(a)) needs that value; a partial or
vjp that the sweep calls needs the arguments its code loads (tanh's ``1 - out**2`` needs only its
output, matmul's vjp only its two arguments); a callable whose code cannot be read needs them all.

:class:`LeanSweep` runs the actions of a checkpointing schedule (:mod:`diffexplore.checkpoint`):
advance without a tape, snapshot, restore, free, and reverse a range (evaluate it with its tape, then
sweep it backward). Plain reverse mode is the schedule of one action: reverse everything.

>>> import diffexplore as dx
>>> x = dx.variable("x")
>>> f = dx.exp(dx.exp(dx.exp(x)))
>>> dx.memory(f, {"x": 0.1}, method="evaluate").peak_values
2
>>> m = dx.memory(f, {"x": 0.1}, method="reverse")
>>> m.stored_values, m.recomputed_ops
(3, 0)
"""

from __future__ import annotations

import dis
import inspect
import weakref
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from .errors import DiffexploreError
from .plan import APPLY, CALL, MANY, READ, Plan, PlanRange, guards, op_arguments
from .sweeps import (
    DOMAIN_ERRORS,
    backward_numbers,
    domain_error,
    forward_sweep,
    inputs_finite,
    is_finite,
    leaf_values,
    primal_sweep,
)

__all__ = ["MemoryReport", "Ledger", "LeanSweep", "LeanFallback", "PlanRange", "Analysis", "analysis",
           "reads", "measure_evaluate", "measure_forward", "METHODS"]

#: The methods :func:`diffexplore.memory` measures.
METHODS = ("evaluate", "forward", "reverse")


@dataclass(frozen=True)
class MemoryReport:
    """What one sweep held, measured while it ran.

    - ``peak_values``, ``peak_bytes``: the most values (and bytes) held at one moment: intermediate
      values, tangents, adjoints, snapshots and the tape, each value once;
    - ``stored_values``, ``stored_bytes``: what reverse mode keeps for its backward sweep: the tape
      (every value a local partial reads, kept from the forward sweep until the backward sweep has used
      it), or with checkpoints the snapshots (the values at the cuts from which the forward sweep is run
      again; the tape of the one segment being reversed counts in the peak). 0 for evaluation and
      forward mode, which keep nothing for later;
    - ``recomputed_ops``: operations evaluated again (each time after the first);
    - ``checkpoints``: the most snapshots held at once, the one at the inputs included (it holds no
      computed value); 0 without checkpoints.

    ``method`` and ``ops`` (the operations of the plan) say what was measured; ``schedule`` is the
    checkpointing :class:`~diffexplore.checkpoint.Schedule` that was run (None without one).
    """

    peak_values: int
    peak_bytes: int
    stored_values: int
    stored_bytes: int
    recomputed_ops: int
    checkpoints: int
    method: str = "reverse"
    ops: int = 0
    schedule: Any = field(default=None, repr=False, compare=False)

    def __repr__(self) -> str:
        from .render.displays import memory_text
        return memory_text(self)

    def _repr_html_(self) -> str:
        from .render.displays import memory_html
        return memory_html(self)

    def as_row(self) -> dict[str, int | str]:
        """The numbers as a flat dict (for tables, CSV and JSON)."""
        return {"method": self.method, "ops": self.ops, "peak_values": self.peak_values,
                "peak_bytes": self.peak_bytes, "stored_values": self.stored_values,
                "stored_bytes": self.stored_bytes, "recomputed_ops": self.recomputed_ops,
                "checkpoints": self.checkpoints}


# ---- counting what is held ------------------------------------------------------------------------------


def _buffer(value: Any) -> tuple[Any, int]:
    """The object that owns a value's memory and its size in bytes (a view: the array it views)."""
    if isinstance(value, np.ndarray):
        while isinstance(value.base, np.ndarray):
            value = value.base
        return value, value.nbytes
    if isinstance(value, complex):
        return value, 16
    if isinstance(value, np.generic):
        return value, value.nbytes
    return value, 8


class _Tally:
    """Values held by key, each counted once however many holders share it, and their bytes once per
    buffer, with the peaks as they happen."""

    def __init__(self):
        self.values = 0
        self.bytes = 0
        self.peak_values = 0
        self.peak_bytes = 0
        self._keys: dict = {}          # key -> holders
        self._buffers: dict = {}       # id(buffer) -> [holders, nbytes, buffer]

    def hold(self, key: tuple, value: Any) -> None:
        held = self._keys.get(key)
        self._keys[key] = 1 if held is None else held + 1
        if held is None:
            self.values += 1
        buffer, size = _buffer(value)
        entry = self._buffers.get(id(buffer))
        if entry is None:
            self._buffers[id(buffer)] = [1, size, buffer]
            self.bytes += size
        else:
            entry[0] += 1
        if self.values > self.peak_values:
            self.peak_values = self.values
        if self.bytes > self.peak_bytes:
            self.peak_bytes = self.bytes

    def drop(self, key: tuple, value: Any) -> None:
        held = self._keys[key] - 1
        if held:
            self._keys[key] = held
        else:
            del self._keys[key]
            self.values -= 1
        buffer, _size = _buffer(value)
        entry = self._buffers[id(buffer)]
        entry[0] -= 1
        if not entry[0]:
            del self._buffers[id(buffer)]
            self.bytes -= entry[1]


class Ledger(_Tally):
    """The values a sweep holds, by key (``("v", slot)`` a primal value, ``("t", slot)`` a tangent,
    ``("a", slot)`` an adjoint), each counted once however many holders share it, and their bytes once
    per buffer; the peaks are kept as they happen. ``stored`` counts the values kept for the backward
    sweep (the tape, or the snapshots) the same way."""

    def __init__(self):
        super().__init__()
        self.stored = _Tally()

    def store(self, key: tuple, value: Any) -> None:
        """Count a value as kept for the backward sweep (a snapshot or the tape)."""
        self.stored.hold(key, value)

    def unstore(self, key: tuple, value: Any) -> None:
        self.stored.drop(key, value)


# ---- what the backward sweep reads ----------------------------------------------------------------------

_LOADS = ("LOAD_FAST", "LOAD_DEREF", "LOAD_CLOSURE", "DELETE_FAST", "STORE_FAST")
_READS: dict = {}


def reads(function: Any, count: int) -> tuple[bool, ...]:
    """Which of the first ``count`` positional parameters ``function``'s code uses (all of them when
    its code cannot be read: a builtin, a wrapper taking ``*args``, a ``functools.partial``).

    >>> reads(lambda a, out: 1.0 - out ** 2.0, 2)
    (False, True)
    >>> reads(print, 2)
    (True, True)
    """
    key = (function, count)
    try:
        found = _READS.get(key)
    except TypeError:              # an unhashable callable
        found, key = None, None
    if found is not None:
        return found
    code = getattr(getattr(function, "__func__", function), "__code__", None)
    every = (True,) * count
    if code is None or code.co_flags & (inspect.CO_VARARGS | inspect.CO_VARKEYWORDS) or \
            code.co_argcount < count or {"locals", "vars"} & set(code.co_names):
        found = every
    else:
        names = code.co_varnames[:count]
        used = set(code.co_cellvars) & set(names)
        for instruction in dis.get_instructions(code):
            if instruction.opname.startswith(_LOADS):
                argval = instruction.argval
                used.update(argval if isinstance(argval, tuple) else (argval,))
        found = tuple(name in used for name in names)
    if key is not None:
        _READS[key] = found
    return found


class Analysis:
    """What the lean sweeps need to know of a plan, worked out once: ``produced[slot]`` (the position
    in ``ops`` of the operation that computes it, -1 for a leaf), ``last_read[slot]`` (the last
    operation that reads it, -1 for none), ``tape[k]`` (the computed slots the backward step of
    operation k reads) and ``widths[k]`` (the entries of the values live at cut k, before operation k:
    computed before it and read at or after it, or the output)."""

    __slots__ = ("produced", "last_read", "tape", "widths", "counts", "root", "n", "_live", "__weakref__")

    def __init__(self, p: Plan):
        n_slots = len(p.order)
        ops = p.ops
        self.n = len(ops)
        self.root = p.roots[0] if p.roots else -1
        produced = [-1] * n_slots
        last_read = [-1] * n_slots
        for k, op in enumerate(ops):
            produced[op[3]] = k
            for j in op_arguments(op):
                last_read[j] = k
        self.produced = produced
        self.last_read = last_read
        self.tape = [tuple(j for j in _tape(p, op, terms) if produced[j] >= 0)
                     for op, terms in zip(ops, p.terms, strict=True)]
        # widths: the live values at each cut, in entries (a value of shape (256, 2048) weighs 524288)
        delta = [0] * (self.n + 2)
        count = [0] * (self.n + 2)
        order = p.order
        for slot, k in enumerate(produced):
            if k < 0:
                continue
            until = self.n if slot == self.root else last_read[slot]
            if until <= k:
                continue
            weight = int(np.prod(order[slot].shape)) if order[slot].shape else 1
            delta[k + 1] += weight
            delta[until + 1] -= weight
            count[k + 1] += 1
            count[until + 1] -= 1
        widths, counts, running, many = [], [], 0, 0
        for k in range(self.n + 1):
            running += delta[k]
            many += count[k]
            widths.append(running)
            counts.append(many)
        self.widths = widths
        self.counts = counts
        self._live: dict = {}

    def live(self, cuts) -> dict[int, tuple]:
        """The slots live at each of ``cuts`` (computed before the cut, read at or after it, or the
        output), in one walk over the plan."""
        wanted = sorted(set(cuts) - set(self._live))
        if wanted:
            live: set = set()
            position = 0
            produced, last_read, root = self.produced, self.last_read, self.root
            ending: dict = {}
            for slot, k in enumerate(produced):
                if k >= 0:
                    until = self.n if slot == root else last_read[slot]
                    if until > k:
                        ending.setdefault(k, []).append(slot)
            for cut in wanted:
                while position < cut:
                    live.update(ending.get(position, ()))
                    position += 1
                self._live[cut] = tuple(sorted(
                    s for s in live if (self.n if s == root else last_read[s]) >= cut))
                live = set(self._live[cut])
        return {cut: self._live[cut] for cut in cuts}


def _tape(p: Plan, op: tuple, terms: tuple | None) -> list[int]:
    """The slots the backward step of one operation reads (leaves included)."""
    if terms is None:
        node = p.order[op[3]]
        rule = node.rule
        idx = op_arguments(op)
        if rule.elementwise:
            if rule.partials is None:
                return []
            needed: set = set()
            for pos, j in enumerate(idx):
                if rule.partials[pos] is not None and p.active[j]:
                    needed.update(_called(rule.partials[pos], idx, op[3], 0))
            return sorted(needed)
        if rule.vjp is None:
            return []
        return sorted(set(_called(rule.vjp, idx, op[3], 1)))
    found: list[int] = []
    for _position, how, _what, source, _reduce, partial in terms:
        if how in (READ, APPLY):
            found.append(op[source])
        elif how == CALL:
            found.extend(_called(partial, op_arguments(op), op[3], 0))
    return sorted(set(found))


def _called(function: Any, arguments: tuple, out: int, skip: int) -> list[int]:
    """The slots among ``arguments`` and ``out`` that a callable taking ``skip`` leading parameters
    (the vjp's cotangent) and then the arguments' values and the output's reads."""
    slots = list(arguments) + [out]
    used = reads(function, skip + len(slots))[skip:]
    return [slot for slot, wanted in zip(slots, used, strict=True) if wanted]


_analyses: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


def analysis(p: Plan) -> Analysis:
    """The cached :class:`Analysis` of a plan."""
    found = _analyses.get(p)
    if found is None:
        found = _analyses[p] = Analysis(p)
    return found


class LeanFallback(Exception):
    """A lean sweep met a value it does not handle itself (a domain error, NaN or infinity): the plain
    sweeps give the result, or the error naming the node."""


# ---- the lean sweep -------------------------------------------------------------------------------------


class LeanSweep:
    """One lean run over a plan at a point: the values list holds the inputs and whatever the actions
    have computed and not yet freed; ``ledger`` counts what is held. ``tape_is_stored``: the tape of a
    reversed range counts as stored (reverse mode without checkpoints), else only snapshots do."""

    def __init__(self, p: Plan, point: Mapping[str, Any], tape_is_stored: bool = True):
        self.p = p
        self.point = point
        self.info = analysis(p)
        self.values = leaf_values(p, point)
        self.adjoints: list = [None] * len(self.values)
        self.ledger = Ledger()
        self.snapshots: dict[int, dict] = {}
        self.held: set = set()             # computed slots in the values list
        self.evaluations = 0
        self.most_snapshots = 0
        self.tape_is_stored = tape_is_stored
        self.pending_seed: Any = None      # makes the output's adjoint from its value, once computed
        self.finite_inputs = inputs_finite(p, self.values)
        if guards and any(node in p.index for node in guards.guarded()):
            primal_sweep(p, point)         # the traced branch decisions are checked on a full sweep

    # -- values ---------------------------------------------------------------------------------------

    def _errstate(self):
        if self.finite_inputs:
            return np.errstate(divide="raise", invalid="raise", over="raise")
        return np.errstate(all="ignore")

    def _evaluate(self, op: tuple) -> None:
        impl, first, second, i = op
        values = self.values
        try:
            if second is None:
                value = impl(values[first])
            elif second != MANY:
                value = impl(values[first], values[second])
            else:
                value = impl(*[values[j] for j in first])
        except DOMAIN_ERRORS as exc:
            arguments = [values[j] for j in op_arguments(op)]
            if all(is_finite(a) for a in arguments) and self.finite_inputs:
                raise domain_error(self.p, i, exc) from None
            raise LeanFallback() from exc
        values[i] = value
        self.held.add(i)
        self.ledger.hold(("v", i), value)
        self.evaluations += 1

    def _free(self, slot: int) -> None:
        value = self.values[slot]
        self.values[slot] = None
        self.held.discard(slot)
        self.ledger.drop(("v", slot), value)

    def advance(self, start: int, stop: int) -> None:
        """Evaluate operations ``start`` to ``stop`` without a tape, each value freed after its last
        use (the output is kept)."""
        ops, last_read, root, produced = self.p.ops, self.info.last_read, self.info.root, self.info.produced
        with self._errstate():
            for k in range(start, stop):
                op = ops[k]
                self._evaluate(op)
                for j in op_arguments(op):
                    if last_read[j] <= k and produced[j] >= 0 and j != root and j in self.held:
                        self._free(j)
                i = op[3]
                if last_read[i] < 0 and i != root:
                    self._free(i)

    def snapshot(self, cut: int, slots: tuple) -> None:
        """Keep the values live at ``cut`` (they must be at hand)."""
        kept = {}
        for slot in slots:
            value = self.values[slot]
            kept[slot] = value
            self.ledger.hold(("v", slot), value)
            self.ledger.store(("v", slot), value)
        self.snapshots[cut] = kept
        self.most_snapshots = max(self.most_snapshots, len(self.snapshots))

    def restore(self, cut: int) -> None:
        """Make the values at ``cut`` the current ones (everything else computed is freed)."""
        kept = self.snapshots[cut]
        for slot in list(self.held):
            if slot not in kept and slot != self.info.root:
                self._free(slot)
        for slot, value in kept.items():
            if slot not in self.held:
                self.values[slot] = value
                self.held.add(slot)
                self.ledger.hold(("v", slot), value)

    def free(self, cut: int) -> None:
        """Drop the snapshot at ``cut``."""
        for slot, value in self.snapshots.pop(cut).items():
            self.ledger.drop(("v", slot), value)
            self.ledger.unstore(("v", slot), value)

    def seed(self, seed: Any) -> None:
        root = self.info.root
        self.adjoints[root] = seed
        self.ledger.hold(("a", root), seed)

    def reverse(self, start: int, stop: int) -> None:
        """Evaluate operations ``start`` to ``stop`` from the values at ``start``, keeping the tape of
        the range, then sweep them backward, each adjoint and tape value freed after its last use."""
        p, info = self.p, self.info
        ops, produced, tape, root = p.ops, info.produced, info.tape, info.root
        last_read: dict = {}          # the last read inside the range (later operations are done)
        for k in range(start, stop):
            for j in op_arguments(ops[k]):
                last_read[j] = k
        last_tape: dict = {}          # the first operation of the range whose backward step reads it
        for k in range(stop - 1, start - 1, -1):
            for j in tape[k]:
                last_tape[j] = k
        for slot in list(self.held):   # live at start only for operations reversed already
            if slot not in last_read and slot not in last_tape and slot != root:
                self._free(slot)
        ledger = self.ledger
        stored = self.tape_is_stored
        with self._errstate():
            for k in range(start, stop):
                op = ops[k]
                self._evaluate(op)
                for j in op_arguments(op):
                    if last_read.get(j) == k and produced[j] >= 0 and j not in last_tape and j != root \
                            and j in self.held:
                        self._free(j)
                i = op[3]
                if i not in last_read and i not in last_tape and i != root:
                    self._free(i)
        if self.pending_seed is not None:
            self.seed(self.pending_seed(self.values[root]))
            self.pending_seed = None
        if stored:
            for j in last_tape:
                ledger.store(("v", j), self.values[j])
        adjoints = self.adjoints
        frees: dict = {}
        for j, k in last_tape.items():
            frees.setdefault(k, []).append(j)
        try:
            with self._errstate():
                for k in range(stop - 1, start - 1, -1):
                    op = ops[k]
                    i = op[3]
                    g = adjoints[i]
                    if g is not None:
                        before = {j: adjoints[j] for j in op_arguments(op)}
                        backward_numbers(PlanRange(p, k, k + 1), self.values, adjoints)
                        for j, old in before.items():
                            new = adjoints[j]
                            if new is not old:
                                if old is not None:
                                    ledger.drop(("a", j), old)
                                ledger.hold(("a", j), new)
                        adjoints[i] = None
                        ledger.drop(("a", i), g)
                    for j in frees.get(k, ()):
                        if stored:
                            ledger.unstore(("v", j), self.values[j])
                        if j != root and j in self.held:
                            self._free(j)
                    if i != root and i in self.held:
                        self._free(i)
        except DiffexploreError:
            raise
        except Exception as exc:
            raise LeanFallback() from exc

    def forward(self, tangents: list) -> None:
        """Evaluate every operation with its tangent (forward mode), each value and tangent freed after
        its last use."""
        p, info = self.p, self.info
        last_read, root, produced = info.last_read, info.root, info.produced
        ledger = self.ledger
        with self._errstate():
            for k, op in enumerate(p.ops):
                self._evaluate(op)
                i = op[3]
                try:
                    forward_sweep(PlanRange(p, k, k + 1), self.values, tangents)
                except DiffexploreError:
                    raise
                except Exception as exc:
                    raise LeanFallback() from exc
                if tangents[i] is not None:
                    ledger.hold(("t", i), tangents[i])
                for j in op_arguments(op):
                    if last_read[j] <= k and produced[j] >= 0 and j != root and j in self.held:
                        if tangents[j] is not None:
                            ledger.drop(("t", j), tangents[j])
                            tangents[j] = None
                        self._free(j)
                if last_read[i] < 0 and i != root:
                    self._free(i)

    def report(self, method: str, schedule: Any = None) -> MemoryReport:
        ledger = self.ledger
        n = len(self.p.ops)
        return MemoryReport(peak_values=ledger.peak_values, peak_bytes=ledger.peak_bytes,
                            stored_values=ledger.stored.peak_values, stored_bytes=ledger.stored.peak_bytes,
                            recomputed_ops=max(0, self.evaluations - n), checkpoints=self.most_snapshots,
                            method=method, ops=n, schedule=schedule)


# ---- measuring each method ------------------------------------------------------------------------------


def measure_evaluate(p: Plan, point: Mapping[str, Any]) -> MemoryReport:
    """The memory of a lean evaluation of the plan at a point (each value freed after its last use)."""
    sweep = LeanSweep(p, point)
    try:
        sweep.advance(0, len(p.ops))
    except LeanFallback:
        primal_sweep(p, point)           # raises the error naming the node, or NaN in, NaN out
    if not is_finite(sweep.values[sweep.info.root] if sweep.info.root >= 0 else 0.0):
        primal_sweep(p, point)
    return sweep.report("evaluate")


def measure_forward(p: Plan, point: Mapping[str, Any], seeds: Mapping[int, Any]) -> MemoryReport:
    """The memory of a lean forward-mode sweep (values and tangents freed after their last use) for
    tangents seeded by slot."""
    sweep = LeanSweep(p, point)
    tangents: list = [None] * len(sweep.values)
    for slot, tangent in seeds.items():
        tangents[slot] = tangent
    try:
        sweep.forward(tangents)
    except LeanFallback:
        primal_sweep(p, point)
    return sweep.report("forward")
