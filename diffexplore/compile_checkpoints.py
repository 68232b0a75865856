"""Transform: a compiled gradient that follows a checkpointing schedule (used by :mod:`.compile`).

The program's lines (:mod:`diffexplore.compile_lines`) are cut by the operations they belong to: a
forward line to the operation it evaluates, a reverse line to the step of the backward sweep that wrote
it. Each ``("advance", a, b)`` of a :class:`~diffexplore.checkpoint.Schedule` becomes a function running
the forward lines of operations a … b-1 and returning the values live at cut b (a dict by name); each
``("reverse", a, b)`` a function running those forward lines again and then the reverse lines of the
same operations, reading the values live at cut a and the adjoints carried from the segments reversed
before it (a dict it updates, dropping each entry after its last reader). A driver runs the actions in
order and keeps only the snapshots between segments. The lines are the plain program's, run in the same
order, so the gradient is the plain compiled gradient to the last bit.

>>> import diffexplore as dx
>>> c = dx.compile("sin(sin(sin(sin(x))))", checkpoints=2)
>>> c.gradient({"x": 1.0}) == dx.compile("sin(sin(sin(sin(x))))").gradient({"x": 1.0})
True
>>> c.recomputed_ops
2
"""

from __future__ import annotations

import builtins
from collections.abc import Callable
from typing import Any

from .checkpoint import Schedule
from .compile_lines import Program, plain
from .plan import Plan

__all__ = ["CheckpointedProgram"]

_ADVANCE, _SNAPSHOT, _RESTORE, _REVERSE, _FREE = range(5)
_CODES = {"advance": _ADVANCE, "snapshot": _SNAPSHOT, "restore": _RESTORE, "reverse": _REVERSE,
          "free": _FREE}


class CheckpointedProgram:
    """The segment functions and the driver of one program under one schedule: ``run(at)`` gives
    ``(value, gradient)``; ``sources`` maps each segment function's name to its source."""

    def __init__(self, program: Program, p: Plan, plan_schedule: Schedule, wrt: list[str]):
        self.program = program
        self.schedule = plan_schedule
        self.wrt = wrt
        self.position = {op[3]: k for k, op in enumerate(p.ops)}     # an operation's slot -> its position
        self.slots = [op[3] for op in p.ops]
        self.owner = self._owners()
        self.forward_line = {program.targets[k]: k for k in range(program.forward)}
        self.reverse_lines = self._reverse_lines()
        self.last_reader = self._last_readers()
        self.result_reads = self._result_reads()
        self.sources: dict[str, str] = {}
        self.numbers: dict[str, dict[int, int]] = {}    # a function's file name -> its line -> program line
        self.namespace: dict[str, Any] = dict(program.namespace)
        self.actions = self._compile_actions()

    # ---- which lines belong where -----------------------------------------------------------------

    def _owners(self) -> list[int]:
        """The operation position each line belongs to (-1: a variable's line)."""
        program, position = self.program, self.position
        owner = [position.get(program.targets[k], -1) for k in range(program.forward)]
        starts = program.step_starts
        if not starts:                           # no steps: the lines settle the results (the last segment)
            return owner + [0] * (len(program.texts) - program.forward)
        bounds = [start for _slot, start in starts[1:]] + [len(program.texts)]
        for (slot, start), stop in zip(starts, bounds, strict=True):
            owner.extend([position[slot]] * (stop - start))
        return owner

    def _reverse_lines(self) -> dict[int, list[int]]:
        """Operation position -> its reverse lines, in program order."""
        found: dict[int, list[int]] = {}
        for k in range(self.program.forward, len(self.program.texts)):
            found.setdefault(self.owner[k], []).append(k)
        return found

    def _last_readers(self) -> dict[int, int]:
        """A forward value's id -> the latest operation position whose lines read it."""
        last: dict[int, int] = {}
        for k, reads in enumerate(self.program.reads):
            for r in reads:
                if self.owner[k] > last.get(r, -1):
                    last[r] = self.owner[k]
        return last

    def _result_reads(self) -> tuple:
        program = self.program
        reads: tuple = program.value[2]
        for name in self.wrt:
            reads += program.gradient[name][2]
        return tuple(dict.fromkeys(reads))

    def live(self, cut: int) -> list[int]:
        """The forward values made before ``cut`` that lines of operations at or after it read."""
        position = self.position
        return sorted(r for r, last in self.last_reader.items()
                      if r in position and position[r] < cut <= last)

    def _segment(self, start: int, stop: int, reverse: bool) -> list[int]:
        lines = [self.forward_line[slot] for slot in self.slots[start:stop]]
        if reverse:
            for k in range(stop - 1, start - 1, -1):
                lines.extend(self.reverse_lines.get(k, ()))
        return lines

    # ---- the functions ----------------------------------------------------------------------------

    def _compile_actions(self) -> list[tuple]:
        """The actions as (code, function, cut), each distinct segment's function compiled once."""
        reverses = [a for a in self.schedule.actions if a[0] == "reverse"]
        carried = self._carried(reverses)
        made: dict[tuple, Callable] = {}
        actions = []
        for action in self.schedule.actions:
            code = _CODES[action[0]]
            if code in (_ADVANCE, _REVERSE):
                key = action
                if key not in made:
                    made[key] = (self._advance(*action[1:]) if code == _ADVANCE else
                                 self._reverse(*action[1:], *carried[action]))
                actions.append((code, made[key], None))
            else:
                actions.append((code, None, action[1]))
        self._results_function = self._results()
        return actions

    def _carried(self, reverses: list[tuple]) -> dict[tuple, tuple[set, set, set]]:
        """For each reverse action: the values it takes from the carried dict, those it pops (their last
        reader) and those it puts there (read by a later reverse segment or by the results)."""
        program = self.program
        needed_later = {r for r in self.result_reads if r not in program.inputs}
        found: dict[tuple, tuple[set, set, set]] = {}
        for action in reversed(reverses):
            start, stop = action[1], action[2]
            lines = self._segment(start, stop, True)
            defined = {program.targets[k] for k in lines}
            puts = defined & needed_later
            takes = {r for k in lines for r in program.reads[k]
                     if r not in defined and r not in program.inputs and self.position.get(r, stop) >= start}
            pops = takes - needed_later
            found[action] = (takes, pops, puts)
            needed_later = (needed_later - defined) | takes
        return found

    def _advance(self, start: int, stop: int) -> Callable:
        out = self.live(stop)
        lines = self._segment(start, stop, False)
        return self._function(f"advance_{start}_{stop}", lines, start, (), (), out)

    def _reverse(self, start: int, stop: int, takes: set, pops: set, puts: set) -> Callable:
        lines = self._segment(start, stop, True)
        return self._function(f"reverse_{start}_{stop}", lines, start, sorted(takes),
                              sorted(pops), sorted(puts))

    def _function(self, name: str, lines: list[int], start: int, takes: list, pops: list, out: list
                  ) -> Callable:
        """A segment's function ``name(at, live, carried)``: the variables' values from ``at``, the values
        made before ``start`` from ``live``, ``takes`` from ``carried`` (``pops`` removed from it); an
        advance returns the values ``out`` as a dict, a reverse puts them in ``carried``."""
        program = self.program
        names, targets = program.names, program.targets
        defined = {targets[k] for k in lines}
        body = [f"def {name}(at, live, carried):"]
        outer = dict.fromkeys(r for k in lines for r in program.reads[k] if r not in defined)
        if name.startswith("advance"):
            outer.update(dict.fromkeys(r for r in out if r not in defined))
        for r in outer:
            if r in program.inputs:
                body.append(f"    {names[r]} = at[{program.inputs[r]!r}]")
            elif r in self.position and self.position[r] < start:
                body.append(f"    {names[r]} = live[{names[r]!r}]")
            elif r in pops:
                body.append(f"    {names[r]} = carried.pop({names[r]!r})")
            else:
                body.append(f"    {names[r]} = carried[{names[r]!r}]")
        kept = set(out)
        last = {r: q for q, k in enumerate(lines) for r in program.reads[k]}
        numbers = self.numbers[_filename(name)] = {}
        for q, k in enumerate(lines):
            body.append(f"    {names[targets[k]]} = {plain(program.texts[k])}")
            numbers[len(body)] = k
            done = sorted({r for r in program.reads[k] if last[r] == q and r not in kept})
            if done:
                body.append(f"    del {', '.join(names[r] for r in done)}")
        entries = ", ".join(f"{names[r]!r}: {names[r]}" for r in out)
        if name.startswith("advance"):
            body.append(f"    return {{{entries}}}")
        elif out:
            body.append(f"    carried.update({{{entries}}})")
        return self._exec(name, "\n".join(body) + "\n")

    def _results(self) -> Callable:
        """``results(at, carried)``: the value and the gradient dict, from the carried values."""
        program = self.program
        body = ["def results(at, carried):"]
        for r in self.result_reads:
            source = f"at[{program.inputs[r]!r}]" if r in program.inputs else f"carried[{program.names[r]!r}]"
            body.append(f"    {program.names[r]} = {source}")
        gradient = ", ".join(f"{name!r}: {plain(program.gradient[name][0])}" for name in self.wrt)
        body.append(f"    return {plain(program.value[0])}, {{{gradient}}}")
        return self._exec("results", "\n".join(body) + "\n")

    def _exec(self, name: str, source: str) -> Callable:
        self.sources[name] = source
        exec(builtins.compile(source, _filename(name), "exec"), self.namespace)
        return self.namespace[name]

    def program_line(self, traceback: Any) -> tuple[str, int] | None:
        """Where the innermost segment line of a traceback is (``line 7 of reverse_2_4``) and the program
        line it runs, or None."""
        found = None
        while traceback is not None:
            numbers = self.numbers.get(traceback.tb_frame.f_code.co_filename)
            if numbers is not None and traceback.tb_lineno in numbers:
                name = traceback.tb_frame.f_code.co_name
                found = (f"line {traceback.tb_lineno} of {name}", numbers[traceback.tb_lineno])
            traceback = traceback.tb_next
        return found

    # ---- running it -------------------------------------------------------------------------------

    def run(self, at: dict[str, Any]) -> tuple[Any, dict[str, Any]]:
        """The value and the gradient at ``at``, the actions run in order: only the snapshots (and the
        adjoints still to be used) are kept between segments."""
        live: dict | None = {}
        snapshots: dict[int, dict] = {}
        carried: dict[str, Any] = {}
        for code, function, cut in self.actions:
            if code == _ADVANCE:
                live = function(at, live, carried)
            elif code == _REVERSE:
                function(at, live, carried)
                live = None
            elif code == _SNAPSHOT:
                snapshots[cut] = live
            elif code == _RESTORE:
                live = snapshots[cut]
            else:
                del snapshots[cut]
        return self._results_function(at, carried)


def _filename(name: str) -> str:
    return f"<diffexplore.compile: {name} (checkpointed)>"
