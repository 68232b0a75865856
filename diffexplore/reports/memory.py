"""Show/measure: what each method holds in memory as a family grows, and the time–memory trade-off.

:func:`memory_report` measures, for each size n of a family (those of :mod:`diffexplore.reports.families`,
or a formula in n), the values evaluation, forward mode, reverse mode and reverse mode with √n checkpoints
hold at their peak and store for later (:func:`diffexplore.memory`, lean sweeps), and for one size sweeps
the checkpoint budget: evenly spaced snapshots and Griewank and Walther's binomial schedules, each a point
(operations run again, values stored), beside the binomial bound (the fewest operations run again with s
snapshots). Tables as text, Markdown, CSV or JSON; :meth:`MemoryReport.plot` draws both panels.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tabulate import tabulate

from ..checkpoint import binomial_advances, schedule
from ..errors import DiffexploreError
from ..evaluate import memory
from ..graph import free_variables
from ..output_paths import check_output_path, plot_extensions
from ..plan import plan
from . import families

__all__ = ["memory_report", "MemoryTable", "TradePoint", "FORMATS", "MAX_TRADE_OPS"]

FORMATS = ("table", "md", "csv", "json")
#: The largest graph (operations) whose budget is swept: a binomial schedule with one snapshot runs
#: n²/2 operations again.
MAX_TRADE_OPS = 5_000

#: key -> (header, what the column holds)
COLUMNS = {
    "n": ("n", "the size parameter of the family"),
    "ops": ("ops", "operations of f"),
    "evaluate_peak": ("evaluate peak", "values a lean evaluation holds at its peak"),
    "forward_peak": ("forward peak", "values forward mode holds at its peak (value and tangent of what is "
                                     "still live; the tangent along every input)"),
    "reverse_stored": ("reverse stored", "values reverse mode stores for its backward sweep: the tape"),
    "reverse_peak": ("reverse peak", "values reverse mode holds at its peak: the tape, adjoints"),
    "sqrt_stored": ("√n stored", "with ⌈√n⌉ checkpoints: the values of the snapshots"),
    "sqrt_peak": ("√n peak", "with ⌈√n⌉ checkpoints: snapshots, one segment's tape and adjoints"),
    "sqrt_recomputed": ("√n recomputed", "with ⌈√n⌉ checkpoints: operations run again (at most n)"),
}


@dataclass(frozen=True)
class TradePoint:
    """One checkpoint budget at the trade-off size: its label, the snapshots held at most, the values
    stored and held at the peak, and the operations run again."""

    label: str
    kind: str
    checkpoints: int
    stored: int
    peak: int
    recomputed: int


@dataclass
class MemoryTable:
    """Rows (one per size, keys of :data:`COLUMNS`) and the trade-off at size ``trade_n`` (its ``ops``
    operations): ``trade`` the measured budgets, ``bound`` (s, fewest operations run again, values held)
    for ``bound_units`` units: s − 1 snapshot values plus ``bound_working``, the values the reversal of one
    step holds (measured: the peak of the binomial schedule with one snapshot, which keeps no value)."""

    family: str
    description: str
    rows: list[dict[str, int]]
    trade_n: int | None = None
    trade_ops: int = 0
    trade: list[TradePoint] = field(default_factory=list)
    bound: list[tuple[int, int, int]] = field(default_factory=list)
    bound_units: int = 0
    bound_working: int = 0

    def column(self, key: str) -> list[int]:
        return [row[key] for row in self.rows]

    def _trade_rows(self) -> list[list[str]]:
        return [[p.label, str(p.checkpoints), str(p.stored), str(p.peak), str(p.recomputed)]
                for p in self.trade]

    _TRADE_HEADERS = ["schedule", "snapshots", "stored", "peak", "recomputed ops"]

    def to_text(self) -> str:
        lines = [f"memory: {self.family} ({self.description})", "",
                 tabulate([[str(row[k]) for k in COLUMNS] for row in self.rows],
                          headers=[h for h, _ in COLUMNS.values()], tablefmt="simple", disable_numparse=True,
                          colalign=["right"] * len(COLUMNS))]
        if self.trade:
            lines += ["", f"trade-off at n = {self.trade_n} ({self.trade_ops} operations): values stored "
                          "against operations run again", "",
                      tabulate(self._trade_rows(), headers=self._TRADE_HEADERS, tablefmt="simple",
                               disable_numparse=True, colalign=["left"] + ["right"] * 4)]
        return "\n".join(lines)

    def __str__(self) -> str:
        return self.to_text()

    def to_markdown(self) -> str:
        lines = [f"## Memory: {self.family}", "", f"{self.description}.", "",
                 tabulate([[str(row[k]) for k in COLUMNS] for row in self.rows],
                          headers=[h for h, _ in COLUMNS.values()], tablefmt="github", disable_numparse=True),
                 ""]
        if self.trade:
            lines += [f"Trade-off at n = {self.trade_n} ({self.trade_ops} operations), sweeping the budget:",
                      "", tabulate(self._trade_rows(), headers=self._TRADE_HEADERS, tablefmt="github",
                                   disable_numparse=True), ""]
        lines += ["Columns (values counted once each, inputs not counted; stored: what is kept for the "
                  "backward sweep, peak: everything held at once):", ""]
        lines += [f"- **{header}**: {meaning}." for header, meaning in list(COLUMNS.values())[1:]]
        return "\n".join(lines) + "\n"

    def _repr_markdown_(self) -> str:
        return self.to_markdown()

    def to_csv(self) -> str:
        buffer = io.StringIO()
        writer = csv.DictWriter(buffer, fieldnames=list(COLUMNS), lineterminator="\n")
        writer.writeheader()
        writer.writerows(self.rows)
        return buffer.getvalue()

    def to_json(self) -> str:
        return json.dumps({"family": self.family, "description": self.description, "columns": list(COLUMNS),
                           "rows": self.rows, "trade_n": self.trade_n, "trade_ops": self.trade_ops,
                           "trade": [p.__dict__ for p in self.trade],
                           "bound": [{"snapshots": s, "recomputed": r, "peak": v} for s, r, v in self.bound]},
                          indent=2, ensure_ascii=False)

    def render(self, fmt: str = "table") -> str:
        if fmt not in FORMATS:
            raise DiffexploreError(f"unknown format {fmt!r}; formats: {', '.join(FORMATS)}")
        writers = {"table": self.to_text, "md": self.to_markdown, "csv": self.to_csv, "json": self.to_json}
        text = writers[fmt]()
        return text if text.endswith("\n") else text + "\n"

    def write(self, path: str | Path, fmt: str = "table") -> Path:
        path = Path(path)
        try:
            path.write_text(self.render(fmt), encoding="utf-8")
        except OSError as exc:
            raise DiffexploreError(f"cannot write {str(path)!r}: {exc.strerror or exc}") from None
        return path

    def plot(self, path: str | Path) -> Path:
        """Memory against n for each method (left) and the trade-off at ``trade_n`` (right): the values
        held at the peak against operations run again, evenly spaced snapshots and binomial schedules
        measured, the binomial bound drawn."""
        from matplotlib.backends.backend_agg import FigureCanvasAgg
        from matplotlib.figure import Figure

        path = check_output_path(path, plot_extensions(), "plot")
        figure = Figure(figsize=(13, 5.6), layout="constrained")
        FigureCanvasAgg(figure)
        left, right = figure.subplots(1, 2)
        ns = self.column("n")
        series = [("evaluate_peak", "evaluation", "tab:blue", "-", "o"),
                  ("forward_peak", "forward mode", "tab:brown", "-", "^"),
                  ("reverse_peak", "reverse mode, peak", "black", "-", "v"),
                  ("reverse_stored", "reverse mode, stored (tape)", "black", "--", "v"),
                  ("sqrt_peak", "reverse, √n checkpoints, peak", "tab:green", "-", "s"),
                  ("sqrt_stored", "reverse, √n checkpoints, stored (snapshots)", "tab:green", "--", "s")]
        for key, label, colour, style, marker in series:
            left.plot(ns, [max(v, 0.5) for v in self.column(key)], color=colour, linestyle=style,
                      marker=marker, markersize=5, label=label)
        left.set(xscale="log", yscale="log", xlabel="n", ylabel="values held (log scale)",
                 title="memory against n (lean sweeps, dx.memory)")
        left.grid(True, alpha=0.3)
        left.legend(fontsize=8, loc="upper left")
        if self.trade:
            if self.bound:
                right.plot([r for _s, r, _v in self.bound], [v for _s, _r, v in self.bound], color="gray",
                           linestyle=":", linewidth=1.5, marker=".",
                           label=f"binomial bound (Griewank–Walther): fewest operations run again with s\n"
                                 f"snapshots reversing one step at a time ({self.bound_units} steps; s − 1 "
                                 f"values + the {self.bound_working} of a step's reversal)")
            styles = {"store-all": ("black", "*", 12), "even": ("tab:green", "o", 7),
                      "binomial": ("tab:red", "s", 6)}
            labels = {"store-all": "no checkpoints (the tape)", "even": "K snapshots evenly spaced",
                      "binomial": "binomial (revolve), s snapshots"}
            for kind in ("store-all", "even", "binomial"):
                points = [p for p in self.trade if p.kind == kind]
                if points:
                    colour, marker, size = styles[kind]
                    right.plot([p.recomputed for p in points], [p.peak for p in points], linestyle="none",
                               marker=marker, markersize=size, color=colour, markerfacecolor="none",
                               label=labels[kind])
                    for p in points:
                        right.annotate(p.label, (p.recomputed, p.peak), fontsize=7, xytext=(4, 3),
                                       textcoords="offset points")
            right.set_xscale("symlog", linthresh=1)
            right.set_yscale("log")
            right.set(xlabel="operations run again", ylabel="values held at the peak (log scale)",
                      title=f"trade-off at n = {self.trade_n} ({self.trade_ops} operations)")
            right.grid(True, alpha=0.3)
            right.legend(fontsize=8, loc="upper right")
        else:
            right.set_axis_off()
        figure.suptitle(f"What reverse mode remembers: {self.family} ({self.description})", fontsize=11)
        try:
            figure.savefig(path, dpi=110)
        except OSError as exc:
            raise DiffexploreError(f"cannot write the plot to {str(path)!r}: {exc.strerror or exc}") from None
        return path


def _row(f: Any, point: Mapping[str, Any], n: int) -> dict[str, int]:
    names = [v.name for v in free_variables(f)]
    evaluation = memory(f, point, method="evaluate")
    forward = memory(f, point, method="forward", seed={name: 1.0 for name in names}) if names else evaluation
    reverse = memory(f, point)
    root = memory(f, point, checkpoints="sqrt")
    return {"n": n, "ops": reverse.ops, "evaluate_peak": evaluation.peak_values,
            "forward_peak": forward.peak_values, "reverse_stored": reverse.stored_values,
            "reverse_peak": reverse.peak_values, "sqrt_stored": root.stored_values,
            "sqrt_peak": root.peak_values, "sqrt_recomputed": root.recomputed_ops}


def _budgets(ops: int) -> list[Any]:
    """Evenly spaced K (1, 2, 3, 4, 6, 8, 12, … up to the operations) and binomial s = 1 … 6."""
    ks, k = [], 2
    while k < ops:
        ks.append(k)
        k = k + 1 if k < 4 else k * 2
    return [None, "sqrt"] + ks + [("binomial", s) for s in range(1, 7) if s < ops]


def _trade(f: Any, point: Mapping[str, Any]) -> tuple[list[TradePoint], list[tuple[int, int, int]], int, int]:
    points, seen = [], set()
    p = plan(f)
    for budget in _budgets(len(p.ops)):
        m = memory(f, point, checkpoints=budget)
        kind = m.schedule.kind if m.schedule is not None else "store-all"
        if budget == "sqrt":
            label = f"√n: K={m.checkpoints}"
            kind = "even"
        elif kind == "binomial":
            label = f"s={budget[1]}"
        elif kind == "even":
            label = f"K={m.checkpoints}"
        else:
            label = "store all"
        key = (kind if kind != "even" else "even", m.stored_values, m.recomputed_ops)
        if key in seen:
            continue
        seen.add(key)
        points.append(TradePoint(label, kind, m.checkpoints, m.stored_values, m.peak_values,
                                 m.recomputed_ops))
    units = len(schedule(p, ("binomial", 1)).cuts) - 1
    working = memory(f, point, checkpoints=("binomial", 1)).peak_values
    bound = [(s, binomial_advances(units, s), s - 1 + working) for s in range(1, min(units, 64) + 1)
             if s == 1 or binomial_advances(units, s - 1) > 0]
    return points, bound, units, working


def memory_report(family: Any, sizes: Iterable[int] | None = None, *, at: Mapping[str, float] | None = None,
                  trade_n: int | None = None) -> MemoryTable:
    """What evaluation, forward mode, reverse mode and reverse mode with √n checkpoints hold for each size
    of a family (a name of :data:`~diffexplore.reports.families.FAMILIES`, a formula in n, ...), and the
    trade-off of the checkpoint budget at ``trade_n`` (default: the largest size; 0: none).

    >>> r = memory_report("nested-sin", [4, 16], trade_n=0)
    >>> r.column("evaluate_peak"), r.column("reverse_stored"), r.column("sqrt_stored")
    ([2, 2], [3, 15], [1, 3])
    """
    chosen = families.get(family, at=at)
    sizes = chosen.check_sizes(list(sizes) if sizes is not None else list(chosen.default_sizes))
    rows = []
    for n in sizes:
        f = chosen.build(n)
        rows.append(_row(f, {**chosen.point(n), **dict(at or {})}, n))
    table = MemoryTable(family=chosen.name, description=chosen.description, rows=rows)
    trade_n = max(sizes) if trade_n is None else trade_n
    if trade_n:
        f = chosen.build(trade_n)
        ops = len(plan(f).ops)
        if ops > MAX_TRADE_OPS:
            raise DiffexploreError(f"the trade-off sweeps the budget at n = {trade_n}, a graph of {ops:,} "
                                   f"operations; at most {MAX_TRADE_OPS:,} (binomial schedules with one "
                                   "snapshot run n²/2 operations again): give a smaller --trade")
        table.trade_n, table.trade_ops = trade_n, ops
        table.trade, table.bound, table.bound_units, table.bound_working = _trade(
            f, {**chosen.point(trade_n), **dict(at or {})})
    return table

