"""Show/measure: expression-swell reports, symbolic trees vs shared DAGs vs forward and reverse AD.

:func:`swell` builds each member of a family of functions (:mod:`diffexplore.reports.families`) and
measures, per size n:

- the function's size as a shared DAG and as a tree (no sharing; counted over the DAG, never expanded:
  exact up to 4,300 digits, the most a file holds, beyond that in floating point with an exact power of
  ten, so no longer integer is ever made) and its number of operations;
- the symbolic derivative's size: the pruned ``dx.diff(f, v)`` for every input v (one shared DAG and
  as trees), and ``dx.gradient_graph(f)`` (every partial at once, reverse accumulation on nodes);
- SymPy's ``diff`` (``count_ops``, summed over the inputs) and ``cse`` of those derivatives (``count_ops``
  of the replacements plus the reduced expressions), each in a forked process under a time budget: a
  cell that runs out says ``timeout`` and the report goes on (larger sizes of that step say ``skipped``).
  These two steps call ``sympy.diff``, ``sympy.cse`` and ``sympy.count_ops`` directly, inside the forked
  process that :func:`~diffexplore.sympy_bridge.run_with_timeout` starts;
- forward- and reverse-mode operation counts for the full gradient (:func:`operation_counts`);
- optionally measured times (median of a few runs) of ``dx.grad`` by forward, reverse and symbolic
  methods and of the SymPy steps. Times never go into the deterministic outputs: ask for
  ``include="sizes"`` (or ``timings=False``) to get text that is the same on every run.

The report prints as a terminal table, Markdown, CSV or JSON and plots sizes and times against n on
log scales.
"""

from __future__ import annotations

import csv
import io
import json
import math
import statistics
import sys
import timeit
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from tabulate import tabulate
from tqdm import tqdm

from ..derivatives import grad
from ..errors import DiffexploreError, SizeLimitError, SympyTimeout
from ..evaluate import memory as measure_memory
from ..graph import Node, free_variables, gc_paused, nodes
from ..output_paths import check_output_path, plot_extensions
from ..sizes import (
    EXACT_DIGITS,
    TREE_WORK_LIMIT,
    TreeCount,
    exact_or_text,
    format_count,
    log10_count,
    tree_count,
)
from ..symbolic import diff, gradient_graph
from ..sympy_bridge import run_with_timeout, sympy_cse_size, sympy_diff_size
from . import families
from .operation_counts import OperationCounts, operation_counts

if TYPE_CHECKING:
    from matplotlib.figure import Figure

__all__ = ["swell", "SwellReport", "Column", "COLUMNS", "OperationCounts", "operation_counts",
           "parse_sizes", "format_seconds", "FORMATS", "MAX_SIZES", "MAX_WORK",
           "LONG_RUN_SECONDS"]

FORMATS = ("table", "md", "csv", "json")

#: The most sizes (rows) one report measures.
MAX_SIZES = 1000
#: The largest member a report builds, in f's DAG nodes × inputs: every input gets its own derivative,
#: each up to a few times f's DAG, so this bounds the derivative graphs built (about 700 bytes a node).
#: It is reached at logistic n = 166,665, product n = 500, mlp n = 157. The logistic row at the limit
#: takes about half a minute of CPU and 0.9 GB, at n = 10⁵ (300,003 nodes) about 15 s and 0.6 GB.
MAX_WORK = 500_000
#: A timing run longer than this is reported once instead of as the median of several runs.
LONG_RUN_SECONDS = 0.5


@dataclass(frozen=True)
class Column:
    """One column of the report: its key (CSV/JSON), header (tables), group and meaning."""

    key: str
    header: str
    group: str      # "size"; "sympy" (SymPy sizes, deterministic unless a cell runs out); "time"
    meaning: str


COLUMNS: list[Column] = [
    Column("n", "n", "size", "the size parameter of the family"),
    Column("formula", "f", "size", "the function of this row"),
    Column("inputs", "inputs", "size", "input variables: the length of the gradient"),
    Column("f_dag", "f DAG", "size", "distinct nodes of f as a shared DAG"),
    Column("f_tree", "f tree", "size",
           "nodes of f written out as a tree (no sharing), counted exactly up to 4,300 digits, beyond that "
           "in floating point (about 10 significant digits)"),
    Column("f_ops", "f ops", "size", "operation nodes of f: the work of one evaluation"),
    Column("diff_dag", "diff DAG", "size",
           "nodes of the pruned symbolic derivatives dx.diff(f, v), one per input, as one shared DAG "
           "(including the nodes of f they reuse)"),
    Column("diff_tree", "diff tree", "size",
           "the same derivatives written out as trees (summed over inputs)"),
    Column("grad_dag", "grad DAG", "size",
           "nodes of dx.gradient_graph(f): every partial at once by reverse accumulation on nodes, shared"),
    Column("sympy_diff_ops", "SymPy diff", "sympy",
           "sympy.count_ops of sympy.diff(f, v), summed over inputs"),
    Column("sympy_cse_ops", "SymPy cse", "sympy",
           "count_ops after sympy.cse of those derivatives (replacements plus reduced expressions)"),
    Column("forward_ops", "forward ops", "size",
           "forward mode, full gradient (one sweep per input): per sweep, f ops primal evaluations plus "
           "one multiply-add per edge that carries a nonzero tangent"),
    Column("reverse_ops", "reverse ops", "size",
           "reverse mode, full gradient: f ops primal evaluations plus one multiply-add per edge of the "
           "adjoint sweep"),
    Column("forward_mem", "forward mem", "memory",
           "values forward mode holds at its peak (one lean sweep: each value and tangent freed after its "
           "last use; the tangent along every input at once)"),
    Column("reverse_mem", "reverse mem", "memory",
           "values reverse mode holds at its peak: the tape (every value a local partial reads) and the "
           "adjoints (dx.memory)"),
    Column("sqrt_mem", "reverse √n mem", "memory",
           "the same with ⌈√n⌉ checkpoints (dx.memory(f, at, checkpoints='sqrt')): snapshots, one "
           "segment's tape, adjoints"),
    Column("sympy_diff_s", "SymPy diff time", "time", "seconds of the sympy.diff calls"),
    Column("sympy_cse_s", "SymPy cse time", "time", "seconds of the sympy.cse call"),
    Column("forward_s", "forward time", "time", "median seconds of dx.grad(f, at, method='forward')"),
    Column("reverse_s", "reverse time", "time", "median seconds of dx.grad(f, at, method='reverse')"),
    Column("symbolic_s", "symbolic time", "time",
           "median seconds of dx.grad(f, at, method='symbolic') (dx.diff per input, then evaluation)"),
]
_BY_KEY = {c.key: c for c in COLUMNS}
_SYMPY_STEPS = ("diff", "cse")


# ---- one row -----------------------------------------------------------------------------------------


def _tree_cell(key: str, order: list[Node], roots: list[Node]) -> tuple[int | TreeCount, str | None]:
    """A tree count: exact (an int) when a file can hold it (:data:`~diffexplore.sizes.EXACT_DIGITS`
    digits) and counting it stays within :data:`~diffexplore.sizes.TREE_WORK_LIMIT`, otherwise the
    floating-point estimate (a :class:`~diffexplore.sizes.TreeCount`), with a note when only the budget
    kept it from being exact."""
    count = tree_count(order, roots, max_work=TREE_WORK_LIMIT, max_digits=EXACT_DIGITS)
    if count.exact is not None:
        return count.exact, None
    if count.log10 - count.error >= EXACT_DIGITS:
        return count, None
    return count, (f"{_BY_KEY[key].header} estimated: counting it exactly needs more than the budget "
                   f"of {format_count(TREE_WORK_LIMIT, separators=True)} bits of additions "
                   f"({len(order):,} DAG nodes); in floating point it is {count.text(4)}")


def _structure(f: Node) -> tuple[dict[str, Any], list[str]]:
    """The size columns of one row, and notes on tree counts left estimated."""
    names = [v.name for v in free_variables(f)]
    with gc_paused():
        order = nodes(f)
        f_tree, f_note = _tree_cell("f_tree", order, [f])
        derivatives = [diff(f, name) for name in names]
        derivative_order = nodes(derivatives)
        diff_tree, diff_note = _tree_cell("diff_tree", derivative_order, derivatives)
        grad_dag = len(nodes(list(gradient_graph(f).values()))) if names else len(derivative_order)
    counts = operation_counts(f)
    cells = {"inputs": len(names), "f_dag": len(order), "f_tree": f_tree,
             "f_ops": sum(1 for node in order if node.args), "diff_dag": len(derivative_order),
             "diff_tree": diff_tree, "grad_dag": grad_dag,
             "forward_ops": counts.forward, "reverse_ops": counts.reverse}
    return cells, [note for note in (f_note, diff_note) if note]


_SYMPY_FUNCTIONS = {"diff": sympy_diff_size, "cse": sympy_cse_size}


def _sympy_cell(step: str, f: Node, timeout: float | None) -> tuple[Any, Any, str | None]:
    """(size, seconds, note) of one SymPy step; size and seconds are ``"timeout"``/``"error"`` on failure."""
    names = [v.name for v in free_variables(f)]
    try:
        (ops, seconds), _ = run_with_timeout(_SYMPY_FUNCTIONS[step], (f, names), timeout)
    except SympyTimeout:
        return "timeout", "timeout", None
    except DiffexploreError as exc:
        return "error", "error", f"SymPy {step} failed: {exc}"
    return ops, seconds, None


def _median_seconds(call: Callable[[], Any], repeats: int) -> float:
    """Median seconds per call over ``repeats`` runs of a loop long enough (~2 ms) to time reliably; a
    call longer than :data:`LONG_RUN_SECONDS` is timed once."""
    timer = timeit.Timer(call)
    once = max(timer.timeit(number=1), 1e-9)
    if once > LONG_RUN_SECONDS:
        return once
    number = max(1, min(10_000, int(0.002 / once)))
    return statistics.median(timer.repeat(repeat=repeats, number=number)) / number


def _timing_cells(f: Node, point: Mapping[str, float], repeats: int) -> tuple[dict[str, Any], list[str]]:
    cells: dict[str, Any] = {}
    notes = []
    for method in ("forward", "reverse", "symbolic"):
        try:
            cells[f"{method}_s"] = _median_seconds(lambda m=method: grad(f, point, method=m), repeats)
        except DiffexploreError as exc:
            cells[f"{method}_s"] = "error"
            notes.append(f"{method} timing failed: {exc}")
    return cells, notes


def _memory_cells(f: Node, point: Mapping[str, float]) -> tuple[dict[str, Any], list[str]]:
    """Peak values held by forward mode (the tangent along every input at once), reverse mode and
    reverse mode with √n checkpoints, on lean sweeps at ``point``."""
    names = [v.name for v in free_variables(f)]
    forward = dict(method="forward", seed={name: 1.0 for name in names}) if names else dict(method="evaluate")
    runs = {"forward_mem": forward, "reverse_mem": dict(method="reverse"),
            "sqrt_mem": dict(method="reverse", checkpoints="sqrt")}
    cells: dict[str, Any] = {}
    notes = []
    for key, options in runs.items():
        try:
            cells[key] = measure_memory(f, point, **options).peak_values
        except DiffexploreError as exc:
            cells[key] = "error"
            notes.append(f"{_BY_KEY[key].header} failed: {exc}")
    return cells, notes


class _Progress(tqdm):
    """tqdm without its monitor thread: the SymPy steps fork, and forking a threaded process is unsafe."""

    monitor_interval = 0


# ---- the report --------------------------------------------------------------------------------------


def _ratio_text(growth: Mapping[str, Any]) -> str:
    """A growth ratio with 3 decimals, or as a power of ten when it is astronomically large."""
    if growth["log10_ratio"] is None:
        return ""
    if growth["ratio"] is not None and growth["log10_ratio"] < 15:
        return f"{growth['ratio']:.3f}"
    exponent = math.floor(growth["log10_ratio"])
    mantissa = 10 ** (growth["log10_ratio"] - exponent)
    if round(mantissa, 1) >= 10:
        mantissa, exponent = mantissa / 10, exponent + 1
    return f"{mantissa:.1f}e+{exponent}"


def format_seconds(seconds: Any) -> str:
    """A time with 4 significant digits in a readable unit (other cell values as they are).

    >>> format_seconds(1.23456e-5), format_seconds(0.5), format_seconds(2.0), format_seconds("timeout")
    ('12.35 µs', '500 ms', '2 s', 'timeout')
    """
    if not isinstance(seconds, float):
        return str(seconds)
    if seconds < 1e-3:
        return f"{seconds * 1e6:.4g} µs"
    if seconds < 1:
        return f"{seconds * 1e3:.4g} ms"
    return f"{seconds:.4g} s"


#: Above 10^this a size panel plots log10 of the counts on a linear axis (floats end near 1.8e308).
_LOG_AXIS_ABOVE = 300


def _log10s(values: Iterable[Any]) -> list[float]:
    """log10 of each positive number cell, computed in log space for integers of any length (and
    estimated counts); text cells (``timeout``, ``skipped``) and values a log axis cannot show become NaN.

    >>> [round(v, 3) for v in _log10s([100, 6 * 2 ** 5000 - 5, "skipped", 0, 0.01, TreeCount(None, 1e5)])]
    [2.0, 1505.928, nan, nan, -2.0, 100000.0]
    """
    out = []
    for v in values:
        if isinstance(v, TreeCount):
            out.append(v.log10)
        elif isinstance(v, bool) or not isinstance(v, (int, float)) or not v > 0:
            out.append(math.nan)
        else:
            out.append(log10_count(v) if isinstance(v, int) else math.log10(v))
    return out


def _cell(value: Any, group: str) -> str:
    """A table cell: times in a readable unit, counts in full or as a power of ten (2.1e+602)."""
    if group == "time":
        return format_seconds(value)
    return _count_text(value)


def _count_text(value: Any) -> str:
    """A count cell as text: exact in full or as a power of ten, an estimate from its log10."""
    if isinstance(value, TreeCount):
        return value.text()
    if isinstance(value, int) and not isinstance(value, bool):
        return format_count(value)
    return "" if value is None else str(value)


def _is_count(value: Any) -> bool:
    return isinstance(value, TreeCount) or (isinstance(value, int) and not isinstance(value, bool))


def _as_estimate(value: int | TreeCount) -> TreeCount:
    return value if isinstance(value, TreeCount) else TreeCount(value, log10_count(value))


def _difference(a: int | TreeCount, b: int | TreeCount) -> int | TreeCount | None:
    """b − a: exact for two exact counts, else in log space (None when b is not clearly the larger,
    where floating point cannot tell the difference).

    >>> _difference(3, 10), _difference(TreeCount(None, 20.0), TreeCount(None, 30.0)).text(6)
    (7, '1.00000e+30')
    """
    if isinstance(a, int) and isinstance(b, int):
        return b - a
    low, high = _as_estimate(a), _as_estimate(b)
    gap = high.log10 - low.log10
    error = low.error + high.error
    if gap <= 2 * error + 1e-9:
        return None
    shrink = -math.expm1(-gap * math.log(10))          # 1 − 10^−gap, the share of b that is left
    return TreeCount(None, high.log10 + math.log10(shrink), error=error / shrink + 1e-15)


@dataclass
class SwellReport:
    """An expression-swell report: one row per size, columns as in :data:`COLUMNS`.

    ``include`` in the output methods is ``"all"``, ``"sizes"`` (only the deterministic columns: the
    same text on every run) or ``"times"`` (n and the measured times).
    """

    family: str
    description: str
    rows: list[dict[str, Any]]
    keys: list[str]
    timeout: float | None = None
    notes: list[str] = field(default_factory=list)

    def column(self, key: str) -> list[Any]:
        """The values of one column, in row order."""
        return [row.get(key) for row in self.rows]

    def columns(self, include: str = "all") -> list[Column]:
        """The columns an output shows."""
        if include not in ("all", "sizes", "times"):
            raise DiffexploreError(f"include must be 'all', 'sizes' or 'times', got {include!r}")
        chosen = []
        for key in self.keys:
            group = _BY_KEY[key].group
            if (include == "all" or key in ("n", "formula") or (include == "sizes" and group != "time")
                    or (include == "times" and group == "time")):
                chosen.append(_BY_KEY[key])
        return chosen

    def _table(self, include: str) -> tuple[list[str], list[list[str]]]:
        columns = self.columns(include)
        headers = [c.header for c in columns]
        body = [[_cell(row[c.key], c.group) for c in columns] for row in self.rows]
        return headers, body

    def _aligns(self, include: str) -> tuple[str, ...]:
        return tuple("left" if c.key == "formula" else "right" for c in self.columns(include))

    def _parts(self, include: str) -> list[str]:
        """``"all"`` prints as two tables (sizes and memory, then times), so neither is too wide to read."""
        if include != "all":
            return [include]
        return ["sizes", "times"] if any(_BY_KEY[k].group == "time" for k in self.keys) else ["sizes"]

    def to_text(self, include: str = "all") -> str:
        """Tables for the terminal (sizes, then times when they were measured).

        >>> text = swell("product", [2, 3], sympy=False, timings=False, memory=False).to_text()
        >>> print(text.splitlines()[0])
        expression swell: product (f = x₁·x₂·…·xₙ (n inputs))
        >>> for line in text.splitlines()[2:]:
        ...     print(" ".join(line.split()))
        n inputs f DAG f tree f ops diff DAG diff tree grad DAG forward ops reverse ops
        --- -------- ------- -------- ------- ---------- ----------- ---------- ------------- -------------
        2 2 3 3 1 2 2 2 4 3
        3 3 5 5 2 6 9 6 11 6
        """
        lines = [f"expression swell: {self.family} ({self.description})"]
        for part in self._parts(include):
            headers, body = self._table(part)
            lines += ["", tabulate(body, headers=headers, tablefmt="simple", disable_numparse=True,
                                   colalign=self._aligns(part))]
        lines += [f"note: {note}" for note in self.notes]
        return "\n".join(lines)

    def __str__(self) -> str:
        return self.to_text()

    def growth(self) -> list[dict[str, Any]]:
        """For each measured size column: its values at the last two sizes n0 < n1, their difference, their
        ratio and the exponent k with ratio = (n1/n0)^k (about 1 for linear growth, 2 for quadratic; for
        exponential growth k is large and keeps rising with n).

        Ratios and exponents are computed in log space, so they work for counts of any length;
        ``log10_ratio`` is always there, ``ratio`` is None when it does not fit a float.

        >>> g = swell("logistic", [3, 4], sympy=False, timings=False).growth()
        >>> [(r["header"], r["difference"], r["ratio"], r["exponent"]) for r in g][:2]
        [('f DAG', 3, 1.25, 0.78), ('f tree', 48, 2.116, 2.61)]
        >>> g = swell("logistic", [1, 2000], sympy=False, timings=False).growth()
        >>> g[1]["header"], format_count(g[1]["to"]), round(g[1]["log10_ratio"], 3), g[1]["exponent"]
        ('f tree', '6.9e+602', 601.993, 182.37)
        """
        if len(self.rows) < 2:
            return []
        before, last = self.rows[-2], self.rows[-1]
        n0, n1 = before["n"], last["n"]
        out = []
        for c in self.columns("sizes"):
            a, b = before.get(c.key), last.get(c.key)
            if c.key in ("n", "formula", "inputs") or not all(_is_count(v) for v in (a, b)):
                continue
            exponent = log10_ratio = ratio = None
            if _as_estimate(a).log10 > -math.inf and _as_estimate(b).log10 > -math.inf:
                log10_ratio = _as_estimate(b).log10 - _as_estimate(a).log10
                ratio = round(10 ** log10_ratio, 3) if log10_ratio < 300 else None
                if 0 < n0 < n1:
                    exponent = round(log10_ratio / math.log10(n1 / n0), 2)
            out.append({"key": c.key, "header": c.header, "from": a, "to": b, "difference": _difference(a, b),
                        "ratio": ratio, "log10_ratio": log10_ratio, "exponent": exponent})
        return out

    def _reverse_ratio(self) -> str | None:
        ratios = [row["reverse_ops"] / row["f_ops"] for row in self.rows if row.get("f_ops")]
        if not ratios:
            return None
        low, high = min(ratios), max(ratios)
        spread = f"{low:.3f}" if round(low, 3) == round(high, 3) else f"between {low:.3f} and {high:.3f}"
        return f"reverse ops / f ops: {spread}"

    def _growth_markdown(self) -> list[str]:
        growth = self.growth()
        if not growth:
            return []
        n0, n1 = self.rows[-2]["n"], self.rows[-1]["n"]
        table = [[g["header"], _count_text(g["from"]), _count_text(g["to"]), _count_text(g["difference"]),
                  _ratio_text(g), "" if g["exponent"] is None else f"{g['exponent']:.2f}"] for g in growth]
        lines = [f"Growth from n = {n0} to n = {n1}. The exponent k solves ratio = ({n1}/{n0})^k: about 1 "
                 "for linear growth, 2 for quadratic; exponential growth gives a large k that keeps rising "
                 "with n.", "",
                 tabulate(table, headers=["measure", f"n = {n0}", f"n = {n1}", "difference", "ratio", "k"],
                          tablefmt="pipe", disable_numparse=True,
                          colalign=("left", "right", "right", "right", "right", "right")), ""]
        ratio = self._reverse_ratio()
        return lines + ([ratio + ".", ""] if ratio else [])

    def to_markdown(self, include: str = "all") -> str:
        """A Markdown section: the table(s), the growth over the last step and what each column means."""
        lines = [f"## Expression swell: {self.family}", "", f"{self.description}.", ""]
        for part in self._parts(include):
            headers, body = self._table(part)
            if part == "times":
                lines += ["Measured times (median of a few runs on the machine that made this report):", ""]
            lines += [tabulate(body, headers=headers, tablefmt="pipe", disable_numparse=True,
                               colalign=self._aligns(part)), ""]
            if part == "sizes":
                lines += self._growth_markdown()
        lines += ["Columns:", ""]
        lines += [f"- **{c.header}**: {c.meaning}." for c in self.columns(include) if c.key != "n"]
        if any(c.group != "size" for c in self.columns(include)) and self.timeout is not None:
            lines += [f"- SymPy steps run in a separate process with a budget of {self.timeout:g} s per "
                      "cell; `timeout` marks a cell that ran out, `skipped` a larger size of the same step."]
        if self.notes:
            lines += ["", "Notes:", ""] + [f"- {note}" for note in self.notes]
        return "\n".join(lines) + "\n"

    def _repr_markdown_(self) -> str:
        return self.to_markdown()

    def _records(self, include: str) -> list[dict[str, Any]]:
        columns = self.columns(include)
        return [{c.key: (float(f"{row[c.key]:.4g}") if isinstance(row[c.key], float)
                         else exact_or_text(row[c.key])) for c in columns} for row in self.rows]

    def to_csv(self, include: str = "all") -> str:
        """CSV with the column keys as header; times in seconds (4 significant digits); counts exact, or
        with 6 significant digits (``5.94039e+301030``) beyond 4,300 digits.

        >>> print(swell("nested-sin", [1, 2], sympy=False, timings=False).to_csv(), end="")
        n,inputs,f_dag,f_tree,f_ops,diff_dag,diff_tree,grad_dag,forward_ops,reverse_ops,forward_mem,reverse_mem,sqrt_mem
        1,1,2,2,1,2,2,2,2,2,2,3,3
        2,1,3,3,2,5,6,5,4,4,4,4,4
        """
        buffer = io.StringIO()
        keys = [c.key for c in self.columns(include)]
        writer = csv.DictWriter(buffer, fieldnames=keys, lineterminator="\n")
        writer.writeheader()
        writer.writerows(self._records(include))
        return buffer.getvalue()

    def to_json(self, include: str = "all") -> str:
        """JSON: the family, what each column means, and the rows (times in seconds; counts as exact
        integers, or as text with 6 significant digits, ``"5.94039e+301030"``, beyond 4,300 digits)."""
        document = {"family": self.family, "description": self.description,
                    "columns": {c.key: c.meaning for c in self.columns(include)},
                    "rows": self._records(include), "notes": self.notes}
        if any(c.group != "size" for c in self.columns(include)):
            document["sympy_budget_seconds"] = self.timeout
        return json.dumps(document, indent=2, ensure_ascii=False) + "\n"

    def render(self, fmt: str = "table", include: str = "all") -> str:
        """The report in one of :data:`FORMATS` (``table``, ``md``, ``csv``, ``json``)."""
        writers = {"table": lambda: self.to_text(include) + "\n", "md": lambda: self.to_markdown(include),
                   "csv": lambda: self.to_csv(include), "json": lambda: self.to_json(include)}
        if fmt not in writers:
            raise DiffexploreError(f"unknown format {fmt!r}; formats: {', '.join(FORMATS)}")
        return writers[fmt]()

    def write(self, path: str | Path, fmt: str = "table", include: str = "all") -> Path:
        """Write :meth:`render`'s text to a file (UTF-8), with an error naming the file if that fails."""
        path = Path(path)
        text = self.render(fmt, include)
        try:
            path.write_text(text, encoding="utf-8")
        except OSError as exc:
            reason = exc.strerror or exc
            raise DiffexploreError(f"cannot write the report to {str(path)!r}: {reason}") from None
        return path

    def plot(self, path: str | Path | None = None, logx: bool = False) -> Figure:
        """Sizes (and times, when measured) against n on log scales: a Matplotlib ``Figure`` (pyplot and
        its backend are left alone), also written to ``path`` (.png, .svg, .pdf) when one is given.

        Trees are solid lines, shared DAGs dashed, AD operation counts dotted; series with identical
        values are drawn once with both names.
        """
        if path is not None:
            path = check_output_path(path, plot_extensions(), "plot")
        return _plot(self, path, logx=logx)

    def __repr__(self) -> str:
        from ..render.displays import swell_text
        return swell_text(self)

    def _repr_mimebundle_(self, include=None, exclude=None):
        """Jupyter: the sizes table with the plot under it (HTML), the Markdown report, the plot as PNG."""
        from ..render.displays import plot_bundle
        headers, rows = self._table(self._parts("all")[0])
        return plot_bundle(f"{self.family}: {self.description}", headers, rows, self.to_markdown(),
                           self.plot(), repr(self), self.notes)


# ---- the plot ---------------------------------------------------------------------------------------


# key -> (legend label, colour, line style, marker): trees solid, shared DAGs dashed, AD operations dotted.
_SIZE_SERIES = {
    "f_tree": ("f as a tree", "tab:red", "-", "o"),
    "diff_tree": ("derivative as a tree (dx.diff)", "tab:orange", "-", "o"),
    "sympy_diff_ops": ("SymPy diff (count_ops)", "tab:pink", "-", "D"),
    "sympy_cse_ops": ("SymPy diff after cse", "tab:purple", "--", "D"),
    "f_dag": ("f as a DAG", "tab:blue", "--", "s"),
    "diff_dag": ("derivative DAG (dx.diff)", "tab:cyan", "--", "s"),
    "grad_dag": ("gradient DAG (dx.gradient_graph)", "tab:green", "--", "o"),
    "forward_ops": ("forward-mode operations", "tab:brown", ":", "^"),
    "reverse_ops": ("reverse-mode operations", "black", ":", "v"),
}
_TIME_SERIES = {
    "sympy_diff_s": ("SymPy diff", "tab:pink", "-", "D"),
    "sympy_cse_s": ("SymPy cse", "tab:purple", "--", "D"),
    "symbolic_s": ("symbolic: dx.diff + evaluate", "tab:orange", "-", "o"),
    "forward_s": ("forward mode (dx.grad)", "tab:brown", ":", "^"),
    "reverse_s": ("reverse mode (dx.grad)", "black", ":", "v"),
}


_LEGEND_TITLES = {True: "solid: trees (no sharing)   dashed: shared DAGs   dotted: AD operations",
                  False: "solid: symbolic   dashed: after cse   dotted: automatic differentiation"}


def _draw(axes, report: SwellReport, series: dict, ns: list[int], log_values: bool = False) -> None:
    """One line per series; series with the same values are drawn once, their labels joined by '='.
    ``log_values``: draw log10 of each value (computed in log space) instead of the value."""
    drawn: dict[tuple, list[str]] = {}
    styles: dict[tuple, tuple] = {}
    for key, (label, colour, style, marker) in series.items():
        if key not in report.keys:
            continue
        values = tuple(report.column(key))
        if all(math.isnan(v) for v in _log10s(values)):
            continue                        # only text cells (timeout, skipped, error): nothing to draw
        drawn.setdefault(values, []).append(label)
        styles.setdefault(values, (colour, style, marker))
    for values, labels in drawn.items():
        colour, style, marker = styles[values]
        hollow = marker in "oD^" and style != "-"       # a ring: a near-equal series below stays visible
        logs = _log10s(values)
        axes.plot(ns, logs if log_values else [10 ** v for v in logs], color=colour, linestyle=style,
                  marker=marker,
                  markersize=8 if hollow else 5, markerfacecolor="none" if hollow else colour,
                  linewidth=1.8, label=" = ".join(labels))


def _plot(report: SwellReport, path: Path | None, logx: bool) -> Figure:
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure
    from matplotlib.ticker import FixedLocator, NullLocator, ScalarFormatter

    ns = report.column("n")
    timed = any(_BY_KEY[k].group == "time" for k in report.keys)
    figure = Figure(figsize=(13.5, 6.2) if timed else (7.5, 6.2), layout="constrained")
    FigureCanvasAgg(figure)
    panels = figure.subplots(1, 2 if timed else 1, squeeze=False)[0]
    huge = max((v for key in _SIZE_SERIES if key in report.keys for v in _log10s(report.column(key))
                if not math.isnan(v)), default=0.0) > _LOG_AXIS_ABOVE
    _draw(panels[0], report, _SIZE_SERIES, ns, log_values=huge)
    panels[0].set_title("sizes and operation counts")
    panels[0].set_ylabel("log₁₀ of the count" if huge else "count (log scale)")
    if timed:
        _draw(panels[1], report, _TIME_SERIES, ns)
        for key, marker in (("sympy_diff_s", "x"), ("sympy_cse_s", "+")):
            if key not in report.keys or not report.timeout:
                continue
            out = [n for n, v in zip(ns, report.column(key), strict=True) if v == "timeout"]
            if out:
                label = f"{_TIME_SERIES[key][0]}: timeout ({report.timeout:g} s)"
                panels[1].plot(out, [report.timeout] * len(out), linestyle="none", marker=marker,
                               markersize=11, color=_TIME_SERIES[key][1], label=label)
        panels[1].set_title("measured times (this machine)")
        panels[1].set_ylabel("seconds (log scale)")
    for axes in panels:
        if not (huge and axes is panels[0]):
            axes.set_yscale("log")
        axes.set_xlabel("n")
        if logx:
            axes.set_xscale("log", base=2)
        if len(ns) <= 16:
            axes.xaxis.set_major_locator(FixedLocator(ns))
            axes.xaxis.set_minor_locator(NullLocator())
            axes.xaxis.set_major_formatter(ScalarFormatter())
        axes.grid(True, which="major", alpha=0.35)
        axes.legend(loc="upper center", bbox_to_anchor=(0.5, -0.13), ncol=2, fontsize=9, frameon=False,
                    title=_LEGEND_TITLES[axes is panels[0]], title_fontsize=9)
    figure.suptitle(f"Expression swell: {report.family}  ({report.description})", fontsize=12)
    if path is None:
        return figure
    try:
        figure.savefig(path, dpi=110)
    except OSError as exc:
        raise DiffexploreError(f"cannot write the plot to {str(path)!r}: {exc.strerror or exc}") from None
    return figure


# ---- the entry point ---------------------------------------------------------------------------------


def parse_sizes(text: str) -> list[int]:
    """Sizes from ``"1:12"`` (inclusive), ``"1:12:2"`` (a step), ``"2,4,8"`` or ``"5"``; sorted, once each.

    >>> parse_sizes("1:4"), parse_sizes("8,2,4"), parse_sizes("1:9:4")
    ([1, 2, 3, 4], [2, 4, 8], [1, 5, 9])
    """
    allowed = "write a range 1:12 (inclusive, optionally 1:12:2), a list 2,4,8 or one number"
    text = (text or "").strip()
    try:
        if ":" in text:
            parts = [int(p) for p in text.split(":")]
            if len(parts) not in (2, 3):
                raise ValueError
            start, stop, step = parts[0], parts[1], parts[2] if len(parts) == 3 else 1
            if step < 1 or stop < start:
                raise DiffexploreError(f"--n {text!r}: a range goes up from start to stop with a step of 1 "
                                       f"or more; {allowed}")
            count = (stop - start) // step + 1
            if count > MAX_SIZES:
                raise SizeLimitError(f"--n {text!r} has {format_count(count, separators=True)} sizes; a "
                                       f"report measures at most {MAX_SIZES:,} (use a step: 1:10000:100)")
            sizes = list(range(start, stop + 1, step))
        else:
            sizes = [int(p) for p in text.split(",")]
    except ValueError:
        raise DiffexploreError(f"--n {text!r} is not a list of sizes; {allowed}") from None
    if any(n < 0 for n in sizes):
        raise DiffexploreError(f"--n {text!r}: sizes are whole numbers 0 or more; {allowed}")
    if len(set(sizes)) > MAX_SIZES:
        raise SizeLimitError(f"--n {text!r} has {len(set(sizes)):,} sizes; a report measures at most "
                               f"{MAX_SIZES:,}")
    return sorted(set(sizes))


@dataclass(frozen=True)
class _Probe:
    n: int
    dag_nodes: int
    inputs: int

    @property
    def work(self) -> int:
        return self.dag_nodes * max(1, self.inputs)


def _build(chosen: families.Family, n: int) -> Node:
    try:
        return chosen.build(n)
    except (OverflowError, RecursionError, MemoryError) as exc:
        raise DiffexploreError(f"family {chosen.name!r} cannot build size n = {format_count(n)} "
                               f"({type(exc).__name__}: {exc})") from None


def _probe(chosen: families.Family, n: int) -> _Probe:
    order = nodes(_build(chosen, n))
    return _Probe(n, len(order), sum(1 for node in order if node.is_variable))


@dataclass(frozen=True)
class _Growth:
    """work(n) ≈ work(P) + a·(n^k − P^k), fitted to the probes at P/4, P/2 and P: the increments between
    doublings grow by 2^k (exact for a·n^k + b, so an offset such as the logistic map's 3n + 3 does not
    bend the estimate)."""

    last: _Probe
    increment: float       # work(P) − work(P/2)
    exponent: float        # k

    @classmethod
    def fit(cls, probes: list[_Probe]) -> _Growth:
        last = probes[-1]
        if len(probes) == 1:
            return cls(last, last.work / 2, 1.0)        # through the origin: work ∝ n
        increment = last.work - probes[-2].work
        exponent = 1.0
        if len(probes) >= 3 and increment > 0:
            earlier = probes[-2].work - probes[-3].work
            exponent = max(0.0, math.log2(increment / earlier)) if earlier > 0 else 1.0
        return cls(last, max(0.0, increment), exponent)

    def _scale(self) -> float:
        return self.increment / (1 - 2 ** -self.exponent) if self.exponent > 0 else 0.0

    def log10_at(self, n: int) -> float:
        """log10 of the predicted work at n >= P (in log space: n may be 10^20)."""
        if self.exponent == 0 or self.increment == 0:
            return math.log10(self.last.work)
        log10_rise = self.exponent * math.log10(n / self.last.n)
        growth = math.log10(self._scale()) + log10_rise + math.log10(max(1e-300, 1 - 10 ** -log10_rise))
        return max(math.log10(self.last.work), growth) + math.log10(1 + 10 ** -abs(
            growth - math.log10(self.last.work)))

    def reaches(self, work: float) -> float | None:
        """The n at which the predicted work reaches ``work`` (None if it never grows)."""
        if self.exponent == 0 or self.increment == 0:
            return None
        return self.last.n * (1 + (work - self.last.work) / self._scale()) ** (1 / self.exponent)


def _too_large(chosen: families.Family, n: int, growth: _Growth, log10_work: float) -> SizeLimitError:
    last = growth.last
    reach = growth.reaches(MAX_WORK)
    plural = "s" if last.inputs != 1 else ""
    return SizeLimitError(
        f"family {chosen.name!r} at n = {format_count(n, separators=True)} is too large to measure: f's DAG "
        f"nodes × inputs would be about {_power_text(log10_work)} (at n = {last.n:,}: {last.dag_nodes:,} "
        f"nodes × {last.inputs:,} input{plural}), over the limit of {MAX_WORK:,} (one derivative per "
        f"input, each a few times f's size, must fit in memory and time)"
        + ("" if reach is None else f"; it reaches the limit near n = {int(reach):,}"))


def _power_text(log10: float) -> str:
    """An estimate given by its log10: a rounded whole number below a million, else 3.4e+12."""
    if log10 < 6:
        return f"{round(10 ** log10):,}"
    exponent = math.floor(log10)
    return f"{10 ** (log10 - exponent):.1f}e+{exponent}"


def check_buildable(chosen: families.Family, sizes: Sequence[int]) -> None:
    """Refuse, before building anything large, sizes whose member would exceed :data:`MAX_WORK` (f's
    DAG nodes × inputs). Small members (n = 1, 2, 4, … while they stay under 1/64 of the limit, so
    probing costs little; at most 40 of them) are built and measured, and the work at the largest size
    is extrapolated from the last three (:class:`_Growth`). The report checks each member again once it
    is built.

    >>> try:
    ...     check_buildable(families.get("logistic"), [10 ** 20])
    ... except DiffexploreError as error:
    ...     print(str(error).split(": ", 1)[1].split(" (")[0])
    f's DAG nodes × inputs would be about 3.0e+20
    """
    largest = max(sizes)
    probes: list[_Probe] = []
    n = max(chosen.min_size, 1)
    with gc_paused():
        while n < largest:
            probes.append(_probe(chosen, n))
            if probes[-1].work > MAX_WORK:
                growth = _Growth.fit(probes)
                raise _too_large(chosen, largest, growth, growth.log10_at(largest))
            if (probes[-1].work > MAX_WORK // 64 and len(probes) >= 3) or len(probes) >= 40:
                break
            n *= 2
    if probes:
        growth = _Growth.fit(probes)
        log10_work = growth.log10_at(largest)
        if log10_work > math.log10(MAX_WORK):
            raise _too_large(chosen, largest, growth, log10_work)


def swell(family: Any, sizes: Iterable[int] | None = None, *, at: Mapping[str, float] | None = None,
          timeout: float | None = 10.0, sympy: bool = True, timings: bool = True, repeats: int = 5,
          progress: bool | None = None, memory: bool = True) -> SwellReport:
    """Measure how the derivatives of a family of functions grow with n (see the module docstring).

    ``family``: a name (``logistic``, ``nested-sin``, ``product``, ``power-tower``, ``mlp``), a formula
    containing the size ``n``, a list of formulas, a :class:`~diffexplore.reports.families.Family` or a
    function n -> graph. ``sizes``: the n to measure (default: the family's). ``at``: values overriding
    the family's point for the timings. ``timeout``: seconds per SymPy cell (``None``: no budget).
    ``sympy=False`` / ``timings=False`` / ``memory=False`` leave those columns out (memory: the values
    forward mode, reverse mode and reverse mode with √n checkpoints hold at their peak, measured at the
    family's point by :func:`diffexplore.memory`). ``progress``: a progress bar on
    standard error (default: when it is a terminal).

    >>> import diffexplore as dx
    >>> r = dx.swell("logistic", range(1, 4), sympy=False, timings=False)
    >>> r.column("f_dag"), r.column("f_tree")
    ([6, 9, 12], [7, 19, 43])
    >>> r.column("forward_mem"), r.column("reverse_mem")
    ([6, 6, 6], [6, 8, 10])
    """
    chosen = families.get(family, at=at)
    if timeout is not None and not timeout > 0:
        raise DiffexploreError(f"timeout must be a positive number of seconds (or None for no budget), "
                               f"got {timeout!r}")
    if sizes is not None and hasattr(sizes, "__len__"):
        try:
            count = len(sizes)
        except OverflowError:
            count = math.inf
        if count > MAX_SIZES:
            raise SizeLimitError(f"{format_count(count) if count != math.inf else 'too many'} sizes; a "
                                   f"report measures at most {MAX_SIZES:,}")
    sizes = chosen.check_sizes(list(sizes) if sizes is not None else list(chosen.default_sizes))
    if len(set(sizes)) > MAX_SIZES:
        raise SizeLimitError(f"{len(set(sizes)):,} sizes; a report measures at most {MAX_SIZES:,}")
    check_buildable(chosen, sizes)
    keys = ["n"] + (["formula"] if chosen.label else []) + [
        "inputs", "f_dag", "f_tree", "f_ops", "diff_dag", "diff_tree", "grad_dag"]
    keys += ["sympy_diff_ops", "sympy_cse_ops"] if sympy else []
    keys += ["forward_ops", "reverse_ops"]
    keys += ["forward_mem", "reverse_mem", "sqrt_mem"] if memory else []
    keys += ["sympy_diff_s", "sympy_cse_s"] if sympy and timings else []
    keys += ["forward_s", "reverse_s", "symbolic_s"] if timings else []
    steps_per_size = 1 + (len(_SYMPY_STEPS) if sympy else 0) + (1 if timings else 0)
    if progress is None:
        progress = sys.stderr.isatty()
    rows: list[dict[str, Any]] = []
    notes: list[str] = []
    ran_out: dict[str, int] = {}        # SymPy step -> the size at which it ran out of time
    with _Progress(total=len(sizes) * steps_per_size, desc=f"swell {chosen.name}", unit="step",
                   disable=not progress, leave=False, file=sys.stderr) as bar:
        for n in sizes:
            f = _build(chosen, n)
            work = _Probe(n, len(nodes(f)), len(free_variables(f)))
            if work.work > MAX_WORK:
                raise _too_large(chosen, n, _Growth(work, 0.0, 0.0), math.log10(work.work))
            row: dict[str, Any] = {"n": n}
            if chosen.label:
                row["formula"] = chosen.label(n)
            cells, skipped = _structure(f)
            row.update(cells)
            notes += [f"n = {n}: {note}" for note in skipped]
            if memory:
                cells, failed = _memory_cells(f, {**chosen.point(n), **dict(at or {})})
                row.update(cells)
                notes += [f"n = {n}: {note}" for note in failed]
            bar.update()
            for step in _SYMPY_STEPS if sympy else ():
                if step in ran_out and n > ran_out[step]:
                    ops, seconds = "skipped", "skipped"
                else:
                    ops, seconds, note = _sympy_cell(step, f, timeout)
                    if ops == "timeout":
                        ran_out[step] = n
                    if note:
                        notes.append(f"n = {n}: {note}")
                row[f"sympy_{step}_ops"] = ops
                if timings:
                    row[f"sympy_{step}_s"] = seconds
                bar.update()
            if timings:
                point = {**chosen.point(n), **dict(at or {})}
                cells, failed = _timing_cells(f, point, repeats)
                row.update(cells)
                notes += [f"n = {n}: {note}" for note in failed]
                bar.update()
            rows.append({key: row[key] for key in keys})
    return SwellReport(family=chosen.name, description=chosen.description, rows=rows, keys=keys,
                       timeout=timeout if sympy else None, notes=notes)
