"""Transform/evaluate: checkpointing schedules for reverse mode, and the checkpointed reverse sweep.

Reverse mode stores every value its partials read (the tape) from the forward sweep until the backward
sweep reaches it. Checkpointing keeps only a few *snapshots* (the values live at a cut of the plan) and
runs the forward sweep again from the nearest snapshot, segment by segment, as the backward sweep comes
back: memory for time. A :class:`Schedule` is plain data, independent of the numbers: the cuts of the plan
into units, and a list of actions over operation positions:

- ``("advance", a, b)``: evaluate operations a … b-1 without a tape (from the values at cut a);
- ``("snapshot", k)``: keep the values live at cut k (``live[k]`` names their slots);
- ``("restore", k)``: continue from the snapshot at cut k;
- ``("reverse", a, b)``: evaluate operations a … b-1 keeping their tape, then sweep them backward;
- ``("free", k)``: drop the snapshot at cut k.

The schedules: ``None`` (store everything: one action, reverse it all), an int K (K snapshots, the one at
the inputs included, evenly spaced over the tape), ``"sqrt"`` (K = ⌈√T⌉ for a tape of T values: ⌈√n⌉ on a
chain of n operations) and ``("binomial", s)``: Griewank and Walther's revolve, which reverses
β(s, r) = C(s + r, s) units with s snapshots while evaluating no unit more than r times before its
reversal, the fewest evaluations there are (:func:`binomial_advances`).

Cuts fall at *narrow* points: on a chain every cut holds one value; on any other graph each snapshot goes
to the cut with the fewest live entries near its even position, and revolve's units are the segments
between the narrowest cuts (between the cuts no wider than the median cut when there are fewer than √n
of those). A schedule's ``description`` says how it was chosen.
The schedule is data so that other sweeps (a compiled gradient) can follow it too.

>>> import diffexplore as dx
>>> from diffexplore.plan import plan
>>> s = schedule(plan(dx.parse("sin(sin(sin(sin(x))))")), 2)
>>> s.actions
(('snapshot', 0), ('advance', 0, 2), ('snapshot', 2), ('reverse', 2, 4), ('free', 2), ('restore', 0), \
('reverse', 0, 2), ('free', 0))
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from .errors import DiffexploreError
from .memory import LeanFallback, LeanSweep, MemoryReport, analysis
from .plan import Plan
from .sweeps import all_finite, is_finite

__all__ = ["Schedule", "schedule", "revolve", "beta", "repetitions", "binomial_advances",
           "reverse_checkpointed", "memory_marks", "describe_checkpoints"]


def beta(s: int, r: int) -> int:
    """β(s, r) = C(s + r, s): the most units s snapshots reverse with no unit evaluated more than r
    times before its reversal (Griewank and Walther). β(s, -1) = 0.

    >>> beta(2, 3), beta(3, 2), beta(1, 4)
    (10, 10, 5)
    """
    return 0 if r < 0 else math.comb(s + r, s)


def repetitions(units: int, s: int) -> int:
    """The r with β(s, r − 1) < units ≤ β(s, r): the evaluations of the busiest unit before its reversal
    in an optimal schedule."""
    r = 0
    while beta(s, r) < units:
        r += 1
    return r


def binomial_advances(units: int, s: int) -> int:
    """The fewest unit evaluations before reversal (advances) that reverse ``units`` units with ``s``
    snapshots: r·units − β(s + 1, r − 1) for β(s, r − 1) < units ≤ β(s, r) (Griewank and Walther, 2000).

    >>> binomial_advances(3, 1), binomial_advances(10, 2), binomial_advances(6, 5)
    (3, 20, 5)
    """
    if units <= 1:
        return 0
    if s < 1:
        raise DiffexploreError("a schedule needs at least one snapshot (the one at the inputs)")
    r = repetitions(units, s)
    return r * units - beta(s + 1, r - 1)


def _best_split(units: int, s: int) -> int:
    """Where to take the next snapshot in ``units`` units with ``s`` snapshots (s ≥ 2): the smallest
    m minimising m + T(units − m, s − 1) + T(m, s), T the fewest advances (a convex function of m, so
    a binary search finds it)."""
    def cost(m: int) -> int:
        return m + binomial_advances(units - m, s - 1) + binomial_advances(m, s)

    low, high = 1, units - 1
    while low < high:
        middle = (low + high) // 2
        if cost(middle + 1) - cost(middle) >= 0:
            high = middle
        else:
            low = middle + 1
    return low


def revolve(units: int, s: int) -> list[tuple]:
    """The actions of an optimal binomial schedule over ``units`` units with ``s`` snapshots (the one
    at unit 0 included), in units: ``advance``, ``snapshot``, ``restore``, ``reverse`` and ``free``.

    >>> revolve(3, 2)
    [('snapshot', 0), ('advance', 0, 1), ('snapshot', 1), ('advance', 1, 2), ('reverse', 2, 3), \
('restore', 1), ('reverse', 1, 2), ('free', 1), ('restore', 0), ('reverse', 0, 1), ('free', 0)]
    """
    if s < 1:
        raise DiffexploreError("a schedule needs at least one snapshot (the one at the inputs)")
    actions: list[tuple] = [("snapshot", 0)]
    current: list = [0]                        # the unit whose start the values are at (None: spent)
    tasks: list[tuple] = [("free", 0), ("reverse", 0, units, s)]

    def restore(start: int) -> None:
        if current[0] != start:
            actions.append(("restore", start))
            current[0] = start

    while tasks:
        task = tasks.pop()
        if task[0] == "free":
            actions.append(task)
            continue
        if task[0] == "restore":
            restore(task[1])
            continue
        _, start, end, snaps = task
        restore(start)
        if end - start == 1:
            actions.append(("reverse", start, end))
            current[0] = None
            continue
        if snaps == 1:                     # only the snapshot at start: run forward from it each time
            for last in range(end - 1, start - 1, -1):
                restore(start)
                if last > start:
                    actions.append(("advance", start, last))
                actions.append(("reverse", last, last + 1))
                current[0] = None
            continue
        split = start + _best_split(end - start, snaps)
        actions.append(("advance", start, split))
        actions.append(("snapshot", split))
        current[0] = split
        tasks += [("reverse", start, split, snaps), ("restore", start), ("free", split),
                  ("reverse", split, end, snaps - 1)]
    return actions


@dataclass(frozen=True)
class Schedule:
    """A checkpointing schedule for one plan, as plain data: ``kind`` (``"store-all"``, ``"even"`` or
    ``"binomial"``), ``snapshots`` (the budget, the one at the inputs included), ``cuts`` (the unit
    boundaries, operation positions from 0 to the number of operations), ``actions`` over operation
    positions (see the module), ``live`` (cut -> the slots a snapshot there keeps) and ``description``
    (how the schedule was chosen)."""

    kind: str
    snapshots: int
    cuts: tuple
    actions: tuple
    live: dict = field(repr=False)
    description: str = ""

    def evaluations(self, ops: int) -> list[int]:
        """How many times each operation is evaluated by the schedule (1 everywhere: nothing recomputed)."""
        counts = [0] * ops
        for action in self.actions:
            if action[0] in ("advance", "reverse"):
                for k in range(action[1], action[2]):
                    counts[k] += 1
        return counts

    @property
    def recomputed_ops(self) -> int:
        """Operations evaluated again, each time after the first (from the actions, without numbers)."""
        return sum(c - 1 for c in self.evaluations(self.cuts[-1]) if c > 1)

    def __repr__(self) -> str:
        from .render.displays import schedule_text
        return schedule_text(self)

    def _repr_html_(self) -> str:
        from .render.displays import schedule_html
        return schedule_html(self)


def _store_all(p: Plan) -> Schedule:
    n = len(p.ops)
    return Schedule(kind="store-all", snapshots=0, cuts=(0, n), actions=(("reverse", 0, n),), live={},
                    description=f"no checkpoints: the tape of all {n} operations is kept")


def _median(values: list[int]) -> int:
    return sorted(values)[len(values) // 2] if values else 0


def _units(widths: list[int], n: int) -> tuple[list[int], str]:
    """Revolve's units on a graph that is not a chain, and how they were chosen: the segments between
    the narrowest cuts (each snapshot then holds the fewest values: on the logistic map, the cuts between
    its steps), when there are at least √n of them; else between the cuts no wider than the median.

    >>> _units([0, 1, 2, 1, 2, 2, 1, 2, 2, 1], 9)
    ([0, 1, 3, 6, 9], '4 units between the cuts holding 1 entry (the narrowest)')
    """
    interior = widths[1:n]
    narrowest = min(interior)
    cuts = [c for c in range(1, n) if widths[c] == narrowest]
    if len(cuts) + 1 >= math.isqrt(n):
        entries = "1 entry" if narrowest == 1 else f"{narrowest} entries"
        return [0] + cuts + [n], f"{len(cuts) + 1} units between the cuts holding {entries} (the narrowest)"
    narrow = _median(interior)
    cuts = [0] + [c for c in range(1, n) if widths[c] <= narrow] + [n]
    return cuts, f"{len(cuts) - 1} units between the cuts holding at most {narrow} entries (the median cut)"


def _even_cuts(p: Plan, k: int) -> list[int]:
    """k − 1 interior cuts, spread evenly over the tape (in entries; over the operations when the tape is
    empty), each at the narrowest cut near its even position."""
    info = analysis(p)
    n = info.n
    order = p.order
    weights = [sum(int(np.prod(order[j].shape)) if order[j].shape else 1 for j in tape) for tape in info.tape]
    if not any(weights):
        weights = [1] * n
    cumulative = np.cumsum([0] + weights)          # cumulative[c]: tape entries before cut c
    total = cumulative[-1]
    targets = []
    for j in range(1, k):
        share = total * j / k
        after = int(np.searchsorted(cumulative, share, side="left"))
        before = max(after - 1, 0)        # the cut whose tape before it is nearest the even share
        nearest = before if share - cumulative[before] <= cumulative[min(after, n)] - share else after
        targets.append(min(max(nearest, 1), n - 1))
    bounds = [0] + targets + [n]
    widths = info.widths
    cuts: list[int] = []
    for j, target in enumerate(targets):
        low = max((bounds[j] + target) // 2 + 1, cuts[-1] + 1 if cuts else 1)
        high = min((target + bounds[j + 2] + 1) // 2, n - 1)
        if low > high:
            if target > (cuts[-1] if cuts else 0):
                cuts.append(target)
            continue
        best = min(range(low, high + 1), key=lambda c: (widths[c], abs(c - target)))
        cuts.append(best)
    return sorted(set(cuts))


def _is_chain(p: Plan) -> bool:
    return all(c <= 1 for c in analysis(p).counts[1:-1])


def schedule(p: Plan, checkpoints: Any) -> Schedule:
    """The schedule for ``checkpoints`` (None, an int K ≥ 1, ``"sqrt"`` or ``("binomial", s)``) on a
    plan. A budget of one snapshot (the inputs) runs the forward sweep again from the inputs for every
    segment; a budget at least the number of operations stores everything."""
    n = len(p.ops)
    if checkpoints is None:
        return _store_all(p)
    info = analysis(p)
    chain = _is_chain(p)
    shape_text = (f"a chain of {n} operations (every cut holds one value)" if chain else
                  f"{n} operations, not a chain (cuts hold {min(info.counts[1:-1] or [0])} to "
                  f"{max(info.counts[1:-1] or [0])} values)")
    if isinstance(checkpoints, tuple | list) and len(checkpoints) == 2 and checkpoints[0] == "binomial":
        s = _budget(checkpoints[1], "('binomial', s)")
        interior = info.widths[1:n]
        if chain or not interior:
            cuts = list(range(n + 1))
            how = "every operation a unit"
        else:
            cuts, how = _units(info.widths, n)
        units = len(cuts) - 1
        r = repetitions(units, s)
        actions = _in_operations(revolve(units, s), cuts)
        description = (f"binomial (revolve) with {s} snapshots over {shape_text}; {how}: "
                       f"β({s}, {r}) = {beta(s, r)} ≥ {units} units, so no unit is evaluated more than "
                       f"{r} times before its reversal ({binomial_advances(units, s)} advances, the fewest)")
        return _made(p, "binomial", s, cuts, actions, description)
    if checkpoints == "sqrt":
        tape = len({j for t in info.tape for j in t})
        k = max(1, math.ceil(math.sqrt(max(tape, 1))))
        label = f"sqrt: ⌈√{tape}⌉ = {k} snapshots for a tape of {tape} values"
    elif isinstance(checkpoints, int | np.integer) and not isinstance(checkpoints, bool):
        k = _budget(checkpoints, "checkpoints=K")
        label = f"{k} snapshots"
    else:
        raise DiffexploreError(f"checkpoints must be None, a positive int, 'sqrt' or ('binomial', s); got "
                               f"{checkpoints!r}")
    if n <= 1 or k >= n or k == 1:
        store = _store_all(p)
        why = ("only the one at the inputs: a single segment, whose tape is everything" if k == 1 else
               f"not fewer than the {n} operations")
        return Schedule(kind="store-all", snapshots=0, cuts=store.cuts, actions=store.actions, live={},
                        description=f"{label}: {why}, so everything is stored")
    cuts = [0] + _even_cuts(p, k) + [n]
    actions = _in_operations(revolve(len(cuts) - 1, len(cuts) - 1), cuts)
    where = ", ".join(str(c) for c in cuts[1:-1])
    description = (f"{label}, evenly spaced over the tape of {shape_text}; cuts before operations {where}"
                   + ("" if chain else " (each the narrowest cut near its even position)")
                   + "; each segment is run forward again once as the backward sweep reaches it")
    return _made(p, "even", len(cuts) - 1, cuts, actions, description)


def _budget(value: Any, what: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int | np.integer) or value < 1:
        raise DiffexploreError(f"{what} needs a positive number of snapshots (the one at the inputs "
                               f"included), got {value!r}")
    return int(value)


def _in_operations(actions: list[tuple], cuts: list[int]) -> list[tuple]:
    """Actions over units rewritten over operation positions."""
    return [(a[0],) + tuple(cuts[u] for u in a[1:]) for a in actions]


def _made(p: Plan, kind: str, snapshots: int, cuts: list[int], actions: list[tuple], description: str
          ) -> Schedule:
    info = analysis(p)
    taken = sorted({a[1] for a in actions if a[0] == "snapshot"})
    return Schedule(kind=kind, snapshots=snapshots, cuts=tuple(cuts), actions=tuple(actions),
                    live=info.live(taken), description=description)


# ---- the checkpointed reverse sweep ---------------------------------------------------------------------


def reverse_checkpointed(p: Plan, point: Mapping[str, Any], seed_of: Callable[[Any], Any],
                         checkpoints: Any = None, check: bool = True) -> tuple[list, list, MemoryReport]:
    """Reverse mode on a plan following a schedule (``checkpoints`` as for :func:`schedule`, or a
    :class:`Schedule`), measured: ``(values, adjoints, report)``, the lists holding what is left at the
    end (the inputs and the output's value; the variables' adjoints). ``seed_of(value)`` gives the
    output's adjoint from its value. A value the lean sweep does not handle itself (a NaN or an
    infinity, a domain error) raises :class:`~diffexplore.memory.LeanFallback`: the plain sweeps then
    give NaN or the error naming the node; so does a value or gradient that is not finite, unless
    ``check`` is False (measuring memory only)."""
    root = p.roots[0]
    plan_schedule = checkpoints if isinstance(checkpoints, Schedule) else schedule(p, checkpoints)
    sweep = LeanSweep(p, point, tape_is_stored=plan_schedule.kind == "store-all")
    info = sweep.info
    if info.produced[root] < 0:                  # f is an input: nothing to sweep
        sweep.seed(seed_of(sweep.values[root]))
    for action in plan_schedule.actions:
        kind = action[0]
        if kind == "reverse":
            start, stop = action[1], action[2]
            if start <= info.produced[root] < stop:
                sweep.pending_seed = seed_of
            sweep.reverse(start, stop)
        elif kind == "advance":
            sweep.advance(action[1], action[2])
        elif kind == "snapshot":
            sweep.snapshot(action[1], plan_schedule.live.get(action[1], ()))
        elif kind == "restore":
            sweep.restore(action[1])
        else:
            sweep.free(action[1])
    if check and (not is_finite(sweep.values[root]) or not all_finite(p.variable_values(sweep.adjoints))):
        raise LeanFallback()
    return sweep.values, sweep.adjoints, sweep.report("reverse", plan_schedule)


# ---- what to mark in drawings ---------------------------------------------------------------------------


def memory_marks(p: Plan, checkpoints: Any = None) -> dict[int, str]:
    """slot -> ``"stored"`` (on the tape: a local partial reads it; without checkpoints),
    ``"checkpoint"`` (kept by a snapshot), ``"↻ run again k×"`` (evaluated k more times) or both,
    ``"checkpoint; ↻ run again k×"`` (a snapshot's value that the segment before it computes again),
    for the slots reverse mode treats specially under ``checkpoints``; computed from the schedule,
    without numbers."""
    plan_schedule = checkpoints if isinstance(checkpoints, Schedule) else schedule(p, checkpoints)
    info = analysis(p)
    marks: dict[int, str] = {}
    if plan_schedule.kind == "store-all":
        for tape in info.tape:
            for j in tape:
                marks[j] = "stored"
        return marks
    for k, count in enumerate(plan_schedule.evaluations(len(p.ops))):
        if count > 1:
            marks[p.ops[k][3]] = f"↻ run again {count - 1}×"
    for slots in plan_schedule.live.values():
        for j in slots:
            again = marks.get(j, "")
            marks[j] = f"checkpoint; {again}" if again.startswith("↻") else "checkpoint"
    return marks


def describe_checkpoints(checkpoints: Any) -> str:
    """A short label for a checkpoints argument: ``store all``, ``K = 4``, ``√n``, ``binomial s = 3``."""
    if checkpoints is None:
        return "store all"
    if checkpoints == "sqrt":
        return "√n"
    if isinstance(checkpoints, tuple | list):
        return f"binomial s = {checkpoints[1]}"
    return f"K = {checkpoints}"
