"""Transform: a compiled program's lines laid out as Python functions (used by :mod:`.compile`).

Each function of a compiled program (``value``, ``gradient``, ``value_and_gradient``) runs the lines its
results need, in order. Up to :data:`CHUNK_LINES` lines it is one Python function, each value named as
the program names it (``v4_bar``) and deleted after its last use (``free``).

A longer program is split into parts of at most CHUNK_LINES lines, because Python's compiler needs time
and memory for every line of a function it compiles (about 9 KB a line: one function of a million lines
would need gigabytes). The main function puts the variables' values in a list ``s``, then calls the
parts in turn: each part is a function of the values it reads from ``s`` (``loaded``) that returns the
values later parts read, which the main function stores in ``s``. Inside a part the values take turns in
a few local names (``r1``, ``r2``, ...), so a value is freed when its name is reused (``del`` lines and one
name per value would make Python's compiler several times slower). A part is written without any
position in the program, so parts that do the same (the steps of a loop) have the same source, which is
compiled once.
"""

from __future__ import annotations

from typing import Any, NamedTuple

from .compile_lines import Expr, Program, plain

__all__ = ["CHUNK_LINES", "Layout", "Part"]

#: The most lines one function of a compiled program has; longer programs are split into parts.
CHUNK_LINES = 2000
#: The most names one line of a part's source lists.
_NAMES_A_LINE = 16

_FORWARD = "    # forward sweep: the value of every node of f, in evaluation order"
_REVERSE = "    # reverse sweep: adjoints v_bar = df/dv, from f back to the variables"


class Part(NamedTuple):
    """One part of a function split into parts."""

    source: str                 # def part(loaded): ...
    numbers: dict[int, int]     # the program line each source line runs, by line number
    loaded: list[int]           # the slots of s it reads
    filled: slice               # the slots of s it fills


class Layout:
    """The lines one function of a program runs (``kind``: "value", "gradient" or
    "value_and_gradient") and how they are split into parts. ``checks=False`` leaves out the lines of
    f that the gradient does not use but that could raise on a point outside f's domain.

    >>> import diffexplore as dx
    >>> from diffexplore.plan import plan
    >>> from diffexplore.compile_lines import write_program
    >>> f = dx.parse("x*y + 1")
    >>> print(Layout(write_program(plan(f), f, ["x", "y"]), "gradient", free=True).single()[0])
    def gradient(at):
        # forward sweep: the value of every node of f, in evaluation order
        v1 = at['x']
        v2 = at['y']
        return {'x': v2, 'y': v1}
    <BLANKLINE>
    """

    def __init__(self, program: Program, kind: str, free: bool, checks: bool = True):
        self.program = program
        self.kind = kind
        self.free = free
        self.value, self.gradient, self.result_reads, extra = _results(program, kind)
        if not checks:                 # (a framework's semantics: nothing raises, so nothing to check)
            extra = []
        self.lines = _needed(program, self.result_reads, extra)
        self.chunk = CHUNK_LINES
        self.parts = 1
        self.inputs: list[int] = []             # (split into parts:) the variables' values, in s first
        self.body: list[int] = []               # the other lines
        self.slots: dict[int, int] = {}         # the values in s, by value id
        if len(self.lines) > self.chunk:
            self._split()

    # ---- one function -------------------------------------------------------------------------------

    def single(self) -> tuple[str, dict[int, int]]:
        """The whole function as one Python function, each value deleted after its last use, and the
        program line each of its source lines runs (by line number)."""
        program = self.program
        names, targets, texts = program.names, program.targets, program.texts
        freed: dict[int, list[int]] = {}
        if self.free:
            kept = set(program.inputs) | set(self.result_reads)
            for r, q in _last_uses(program, self.lines).items():
                if r not in kept:
                    freed.setdefault(q, []).append(r)
        body = [f"def {self.kind}(at):", _FORWARD]
        numbers: dict[int, int] = {}
        reverse_started = False
        for q, k in enumerate(self.lines):
            if not reverse_started and k >= program.forward:
                body.append(_REVERSE)
                reverse_started = True
            body.append(f"    {names[targets[k]]} = {plain(texts[k])}")
            numbers[len(body)] = k
            if q in freed:
                body.append(f"    del {', '.join(names[r] for r in sorted(freed[q]))}")
        body.append(f"    return {self._return(plain)}")
        return "\n".join(body) + "\n", numbers

    # ---- parts --------------------------------------------------------------------------------------

    def _split(self) -> None:
        """The parts: the lines other than the variables' (whose values the main function puts in
        ``s`` first), CHUNK_LINES at a time; a slot of ``s`` for each variable, each value that a later
        part reads and each value of the results, in the order they are made (a part fills a slice)."""
        targets, inputs = self.program.targets, self.program.inputs
        self.inputs = [targets[k] for k in self.lines if targets[k] in inputs]
        self.body = [k for k in self.lines if targets[k] not in inputs]
        self.parts = max(1, -(-len(self.body) // self.chunk))
        last_use = _last_uses(self.program, self.body)
        last_use.update(dict.fromkeys(self.result_reads, self.parts * self.chunk))
        self.slots = {r: slot for slot, r in enumerate(self.inputs)}
        for q, k in enumerate(self.body):
            target = targets[k]
            if last_use[target] // self.chunk > q // self.chunk:
                self.slots[target] = len(self.slots)

    def main(self, parts: list[str]) -> tuple[str, dict[int, int]]:
        """The main function, calling the parts (named ``parts``, one for each) and returning
        ``results(s)``, and the part each of its lines calls (by line number)."""
        body = [f"def {self.kind}(at):", f"    s = [None] * {len(self.slots)}"]
        if self.inputs:
            body.append(f"    s[0:{len(self.inputs)}] = inputs(at)")
        numbers: dict[int, int] = {}
        for part, name in enumerate(parts):
            body.append(f"    s[stores[{part}]] = {name}(loads[{part}](s))")
            numbers[len(body)] = part
        body.append("    return results(s)")
        return "\n".join(body) + "\n", numbers

    def input_names(self) -> list[str]:
        """The names of the variables whose values the main function puts in ``s``, in slot order."""
        return [self.program.inputs[r] for r in self.inputs]

    def results(self) -> tuple[Any, list[tuple[str, Any]]]:
        """Where the main function finds the results: the value and each gradient entry as ``("slot",
        slot)`` or ``("constant", value)`` (the value None for the gradient)."""
        namespace = self.program.namespace

        def where(expression: Expr) -> tuple[str, Any]:
            text, _kind, reads, number = expression
            if reads:
                return "slot", self.slots[reads[0]]
            return "constant", number if number is not None else namespace[text]

        value = where(self.value) if self.value is not None else None
        return value, [(name, where(e)) for name, e in self.gradient]

    def part(self, part: int) -> Part:
        """Part ``part`` (from 0): its source (``def part(loaded):``), the program line each source line
        runs, the slots it loads and the slice of slots it fills."""
        program = self.program
        targets, texts = program.targets, program.texts
        start = part * self.chunk
        stop = len(self.body) if part == self.parts - 1 else start + self.chunk
        lines = self.body[start:stop]
        loaded, stored = self._crossing(lines)
        names = self._registers(lines, loaded, stored) if self.free else self._own_names(lines, loaded)
        by_name = {program.names[r]: name for r, name in names.items()}
        body = ["def part(loaded):"]
        if start == 0:
            body.append(_FORWARD)
        if loaded:
            body += _listed([names[r] for r in loaded], "{} = loaded", comma=len(loaded) == 1)
        numbers: dict[int, int] = {}
        reverse_started = start > 0 and self.body[start - 1] >= program.forward
        for k in lines:
            if not reverse_started and k >= program.forward:
                body.append(_REVERSE)
                reverse_started = True
            body.append(f"    {names[targets[k]]} = {texts[k].format_map(by_name)}")
            numbers[len(body)] = k
        if stored:
            body += _listed([names[r] for r in stored], "return {}", comma=len(stored) == 1)
        else:
            body.append("    return ()")
        filled = slice(self.slots[stored[0]], self.slots[stored[-1]] + 1) if stored else slice(0, 0)
        return Part("\n".join(body) + "\n", numbers, [self.slots[r] for r in loaded], filled)

    def _crossing(self, lines: list[int]) -> tuple[list[int], list[int]]:
        """The values some lines read from ``s`` (the variables' and those made before the lines), and
        the values they make that later parts or the results read."""
        targets, reads, slots = self.program.targets, self.program.reads, self.slots
        inputs = self.program.inputs
        first = targets[lines[0]] if lines else len(self.program.names)
        loaded = {r for k in lines for r in reads[k] if r < first or r in inputs}
        stored = [targets[k] for k in lines if targets[k] in slots]
        return sorted(loaded, key=slots.__getitem__), stored

    def _own_names(self, lines: list[int], loaded: list[int]) -> dict[int, str]:
        """Each value of a part by its name in the program (``free=False``: nothing is reused)."""
        names, targets = self.program.names, self.program.targets
        own = {r: names[r] for r in loaded}
        for k in lines:
            own[targets[k]] = names[targets[k]]
        return own

    def _registers(self, lines: list[int], loaded: list[int], kept: list[int]) -> dict[int, str]:
        """The values of a part take turns in the names ``r1``, ``r2``, ...: a name is given to the next
        value after its value's last read (the line that reads it last may reuse it for its own value).
        The values the part returns keep theirs."""
        targets, reads = self.program.targets, self.program.reads
        last_read: dict[int, int] = {}
        for q, k in enumerate(lines):
            for r in reads[k]:
                last_read[r] = q
        last_read.update(dict.fromkeys(kept, len(lines)))
        names = [f"r{n}" for n in range(1, len(loaded) + len(lines) + 1)]
        register = dict(zip(loaded, names[:len(loaded)], strict=True))
        unused: list[str] = []
        count = len(loaded)
        for q, k in enumerate(lines):
            for r in reads[k]:
                if last_read[r] == q:
                    last_read[r] = -1                  # (read twice by this line: freed once)
                    unused.append(register[r])
            target = targets[k]
            if unused:
                name = register[target] = unused.pop()
            else:
                name = register[target] = names[count]
                count += 1
            if target not in last_read:                # nothing reads it
                unused.append(name)
        return register

    def _return(self, fill) -> str:
        """The return expression: the value, the gradient as a dict, or both."""
        listed = "{" + ", ".join(f"{name!r}: {fill(e[0])}" for name, e in self.gradient) + "}"
        if self.value is None:
            return listed
        return fill(self.value[0]) if self.kind == "value" else f"{fill(self.value[0])}, {listed}"


def _last_uses(program: Program, lines: list[int]) -> dict[int, int]:
    """The position (in ``lines``) of each value's last use; a value nothing uses, its own line's."""
    targets, reads = program.targets, program.reads
    last_use: dict[int, int] = {}
    for q, k in enumerate(lines):
        last_use[targets[k]] = q
        for r in reads[k]:
            last_use[r] = q
    return last_use


def _listed(names: list[str], statement: str, comma: bool) -> list[str]:
    """A statement listing many names (``{}`` in ``statement``), :data:`_NAMES_A_LINE` names a line."""
    if len(names) <= _NAMES_A_LINE:
        return ["    " + statement.format(", ".join(names) + ("," if comma else ""))]
    rows = [", ".join(names[at:at + _NAMES_A_LINE]) for at in range(0, len(names), _NAMES_A_LINE)]
    return ("    " + statement.format("(" + ",\n     ".join(rows) + ")")).split("\n")


def _results(program: Program, kind: str) -> tuple[Expr | None, list, tuple, list[int]]:
    """A function's results (the value, and the gradient's entries), the values they read and the lines
    it runs besides those its results need: the gradient runs every line of f that can fail, so that a
    point outside f's domain still raises."""
    value = program.value if kind != "gradient" else None
    gradient = list(program.gradient.items()) if kind != "value" else []
    reads = list(value[2]) if value is not None else []
    for _name, expression in gradient:
        reads += expression[2]
    return value, gradient, tuple(reads), program.can_fail if kind == "gradient" else []


def _needed(program: Program, result_reads: tuple, extra: list[int]) -> list[int]:
    """The lines the results need (and the lines ``extra``), in program order."""
    targets, reads = program.targets, program.reads
    needed = bytearray(len(program.names))
    for r in result_reads:
        needed[r] = 1
    for k in extra:
        needed[targets[k]] = 1
    lines = []
    for k in range(len(targets) - 1, -1, -1):
        if needed[targets[k]]:
            lines.append(k)
            for r in reads[k]:
                needed[r] = 1
    lines.reverse()
    return lines
