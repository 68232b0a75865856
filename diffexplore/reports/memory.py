"""Show/measure: what each method holds in memory as a family grows, and the time–memory trade-off.

:func:`memory_report` measures, for each size n of a family (those of :mod:`diffexplore.reports.families`,
or a formula in n), the values evaluation, forward mode, reverse mode and reverse mode with √n checkpoints
hold at their peak and store for later (:func:`diffexplore.memory`, lean sweeps), and for one size sweeps
the checkpoint budget: evenly spaced snapshots and Griewank and Walther's binomial schedules, each a point
(operations run again, values stored), beside the binomial bound (the fewest operations run again with s
snapshots), counted in the same units. Tables as text, Markdown, CSV or JSON; :meth:`MemoryTable.plot`
draws both panels (a Matplotlib ``Figure``); in a notebook the report displays its tables with the plot.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from tabulate import tabulate

from ..checkpoint import revolve, schedule
from ..errors import DiffexploreError
from ..evaluate import memory
from ..graph import free_variables
from ..memory import analysis
from ..output_paths import check_output_path, plot_extensions
from ..plan import plan
from . import families

if TYPE_CHECKING:
    from matplotlib.figure import Figure

__all__ = ["memory_report", "binomial_bound", "MemoryTable", "TradePoint", "FORMATS", "MAX_TRADE_OPS"]

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
    operations): ``trade`` the measured budgets, and ``bound``, Griewank and Walther's bound in the same
    units: for s = 1, 2, … snapshots, (s, the fewest operations run again, the values held) over the
    ``bound_units`` units the binomial schedules use (the segments between their cuts: one operation each
    on a chain), each unit counted as its operations; held: s − 1 snapshots of ``bound_snapshot`` values
    (the cuts' width) plus ``bound_working``, the values the reversal of one unit holds (measured: the
    peak of the binomial schedule with one snapshot, which keeps no value)."""

    family: str
    description: str
    rows: list[dict[str, int]]
    trade_n: int | None = None
    trade_ops: int = 0
    trade: list[TradePoint] = field(default_factory=list)
    bound: list[tuple[int, int, int]] = field(default_factory=list)
    bound_units: int = 0
    bound_working: int = 0
    bound_snapshot: int = 1

    def column(self, key: str) -> list[int]:
        return [row[key] for row in self.rows]

    def _trade_rows(self) -> list[list[str]]:
        return [[p.label, str(p.checkpoints), str(p.stored), str(p.peak), str(p.recomputed)]
                for p in self.trade]

    _TRADE_HEADERS = ["schedule", "snapshots", "stored", "peak", "recomputed ops"]

    def tables(self) -> tuple[list[str], list[list[str]], list[str], list[list[str]]]:
        """The sizes table and the trade-off table as ``(headers, rows, trade headers, trade rows)``."""
        return ([h for h, _ in COLUMNS.values()], [[str(row[k]) for k in COLUMNS] for row in self.rows],
                list(self._TRADE_HEADERS), self._trade_rows())

    def trade_heading(self) -> str:
        """What the trade-off table holds, in one line."""
        return (f"trade-off at n = {self.trade_n} ({self.trade_ops} operations): values stored "
                "against operations run again")

    def to_text(self) -> str:
        lines = [f"memory: {self.family} ({self.description})", "",
                 tabulate([[str(row[k]) for k in COLUMNS] for row in self.rows],
                          headers=[h for h, _ in COLUMNS.values()], tablefmt="simple", disable_numparse=True,
                          colalign=["right"] * len(COLUMNS))]
        if self.trade:
            lines += ["", self.trade_heading(), "",
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

    def __repr__(self) -> str:
        from ..render.displays import memory_table_text
        return memory_table_text(self)

    def _repr_mimebundle_(self, include=None, exclude=None):
        """Jupyter: the tables with the plot under them (HTML), the Markdown report, the plot as PNG."""
        from ..render.displays import memory_table_bundle
        return memory_table_bundle(self)

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

    def plot(self, path: str | Path | None = None) -> Figure:
        """Memory against n for each method (left) and the trade-off at ``trade_n`` (right): the values
        held at the peak against operations run again, evenly spaced snapshots and binomial schedules
        measured, the binomial bound drawn in the same units. A Matplotlib ``Figure`` (pyplot and its
        backend are left alone), also written to ``path`` (.png, .svg, .pdf) when one is given."""
        if path is not None:
            path = check_output_path(path, plot_extensions(), "plot")
        return _plot(self, path)


# ---- the plot ---------------------------------------------------------------------------------------

#: Resolution of the plot's file (and of the drawing on which its labels are placed).
PLOT_DPI = 110

#: key -> (legend label, colour, line style, marker) of memory against n: peaks solid, stored dashed.
_SERIES = {
    "evaluate_peak": ("evaluation, peak", "tab:blue", "-", "o"),
    "forward_peak": ("forward mode, peak", "tab:brown", "-", "^"),
    "reverse_peak": ("reverse mode, peak", "black", "-", "v"),
    "reverse_stored": ("reverse mode, stored (the tape)", "black", "--", "v"),
    "sqrt_peak": ("reverse, √n checkpoints, peak", "tab:green", "-", "s"),
    "sqrt_stored": ("reverse, √n checkpoints, stored (snapshots)", "tab:green", "--", "s"),
}
#: kind -> (legend label, colour, marker, size) of the trade-off's measured schedules.
_KINDS = {"store-all": ("no checkpoints: the whole tape", "black", "*", 13),
          "even": ("K snapshots evenly spaced (each segment's tape kept while it is reversed)", "tab:green",
                   "o", 8),
          "binomial": ("binomial (revolve), s snapshots: measured", "tab:red", "s", 8)}
#: Offsets (points) tried in turn for a point's label, the first that overlaps nothing is used: beside
#: the point, then farther out in eight directions, joined to the point by a thin line.
_OFFSETS = [(5, 3, "left"), (5, -10, "left"), (-5, 3, "right"), (-5, -10, "right")] + [
    (round(dx * distance), round(dy * distance), "left" if dx > 0.3 else "right" if dx < -0.3 else "center")
    for distance in (18, 30, 42)
    for dx, dy in ((-1, 0.5), (-1, -0.8), (0, 1), (0, -1.3), (1, 0.5), (1, -0.8), (-0.7, 1), (-0.7, -1.3))]


def _plain(value: float, _position: Any = None) -> str:
    """A tick label as a plain number: 0, 0.5, 6, 60, 1,000.

    >>> [_plain(v) for v in (0, 0.5, 6.0, 60.0, 1000.0, 20000.0)]
    ['0', '0.5', '6', '60', '1,000', '20,000']
    """
    return f"{value:,.0f}" if value >= 1 or value == 0 else f"{value:g}"


def _plain_log_axis(axis: Any) -> None:
    """Log-scale ticks at 1, 2, 5 × 10^k labelled as plain numbers, no labels on the minor ticks."""
    from matplotlib.ticker import FuncFormatter, LogLocator, NullFormatter
    axis.set_major_locator(LogLocator(base=10, subs=(1.0, 2.0, 5.0)))
    axis.set_major_formatter(FuncFormatter(_plain))
    axis.set_minor_formatter(NullFormatter())


def _label_points(axes: Any, figure: Any, placed: list[tuple[float, float, str]],
                  avoid: list[tuple[float, float]] = ()) -> None:
    """Each point's label beside it, at the first offset where it overlaps no other label, no marker and
    none of the points of ``avoid`` (a curve's)."""
    renderer = figure.canvas.get_renderer()
    markers = []
    for x, y, _text in placed:
        px, py = axes.transData.transform((x, y))
        markers.append((px - 6, py - 6, px + 6, py + 6))
    taken = []
    for x, y in avoid:
        px, py = axes.transData.transform((x, y))
        taken.append((px - 2, py - 2, px + 2, py + 2))

    def free(area: tuple, own: int) -> bool:
        others = taken + markers[:own] + markers[own + 1:]
        return not any(area[0] < t[2] and t[0] < area[2] and area[1] < t[3] and t[1] < area[3]
                       for t in others)

    for own, (x, y, text) in enumerate(placed):
        for number, (dx, dy, align) in enumerate(_OFFSETS):
            line = {"arrowprops": {"arrowstyle": "-", "color": "gray", "linewidth": 0.6,
                                   "shrinkA": 1, "shrinkB": 5}} if number >= 4 else {}
            label = axes.annotate(text, (x, y), xytext=(dx, dy), textcoords="offset points", fontsize=8,
                                  ha=align, annotation_clip=False, **line)
            label.set_in_layout(False)
            box = label.get_window_extent(renderer)
            area = (box.x0 - 1, box.y0 - 1, box.x1 + 1, box.y1 + 1)
            if free(area, own):
                taken.append(area)
                break
            label.remove()
        else:                              # nowhere free: beside the point
            label = axes.annotate(text, (x, y), xytext=_OFFSETS[0][:2], textcoords="offset points",
                                  fontsize=8, annotation_clip=False)
            label.set_in_layout(False)
            taken.append(label.get_window_extent(renderer).extents)


def _plot(table: MemoryTable, path: Path | None) -> Figure:
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure
    from matplotlib.ticker import FixedLocator, FuncFormatter, NullLocator

    figure = Figure(figsize=(14, 7.2), dpi=PLOT_DPI, layout="constrained")
    FigureCanvasAgg(figure)
    left, right = figure.subplots(1, 2)
    ns = table.column("n")
    for key, (label, colour, style, marker) in _SERIES.items():
        left.plot(ns, [max(v, 0.5) for v in table.column(key)], color=colour, linestyle=style,
                  marker=marker, markersize=5, label=label)
    left.set(xscale="log", yscale="log", xlabel="n (size of the family)", ylabel="values held (log scale)",
             title="memory against n (lean sweeps, dx.memory)")
    if len(ns) <= 16:
        left.xaxis.set_major_locator(FixedLocator(ns))
        left.xaxis.set_minor_locator(NullLocator())
        left.xaxis.set_major_formatter(FuncFormatter(_plain))
    else:
        _plain_log_axis(left.xaxis)
    _plain_log_axis(left.yaxis)
    left.grid(True, which="major", alpha=0.3)
    left.legend(loc="upper center", bbox_to_anchor=(0.5, -0.1), ncol=2, fontsize=9, frameon=False,
                title="solid: held at the peak   dashed: stored for the backward sweep", title_fontsize=9)
    figure.suptitle(f"What reverse mode remembers: {table.family} ({table.description})", fontsize=12)
    if table.trade:
        placed = _trade_panel(right, table)
        figure.canvas.draw()           # the layout first, so that labels are placed where they are drawn
        _label_points(right, figure, placed, [(r, v) for _s, r, v in table.bound])
    else:
        right.set_axis_off()
    if path is None:
        return figure
    try:
        figure.savefig(path, dpi=PLOT_DPI)
    except OSError as exc:
        raise DiffexploreError(f"cannot write the plot to {str(path)!r}: {exc.strerror or exc}") from None
    return figure


def _trade_panel(axes: Any, table: MemoryTable) -> list[tuple[float, float, str]]:
    """Values held at the peak against operations run again: the measured schedules and the bound; the
    points to label, as ``(x, y, label)``."""
    from matplotlib.ticker import FuncFormatter, NullFormatter, SymmetricalLogLocator
    if table.bound:
        unit = (f"over {table.bound_units} units of one operation" if table.bound_units == table.trade_ops
                else f"over {table.bound_units} units (the segments between the schedules' cuts, "
                     f"{table.trade_ops / table.bound_units:.2g} operations each on average)")
        snapshot = f"{table.bound_snapshot} value{'s' if table.bound_snapshot != 1 else ''}"
        axes.plot([r for _s, r, _v in table.bound], [v for _s, _r, v in table.bound], color="gray",
                  linestyle=":", linewidth=1.5, marker=".", markersize=4, zorder=1,
                  label=f"binomial bound (Griewank–Walther), s = 1, 2, 3, …: the fewest operations run "
                        f"again with s snapshots,\n{unit};\nheld: s − 1 snapshots of {snapshot} + the "
                        f"{table.bound_working} values of one unit's reversal")
    placed = []
    for kind, (label, colour, marker, size) in _KINDS.items():
        points = [p for p in table.trade if p.kind == kind]
        if points:
            axes.plot([p.recomputed for p in points], [p.peak for p in points], linestyle="none",
                      marker=marker, markersize=size, color=colour, markerfacecolor="none",
                      markeredgewidth=1.5, label=label, zorder=2)
            placed += [(p.recomputed, p.peak, p.label) for p in points]
    axes.set_xscale("symlog", linthresh=1, linscale=0.5)
    axes.set_yscale("log")
    axes.xaxis.set_major_locator(SymmetricalLogLocator(base=10, linthresh=1))
    axes.xaxis.set_major_formatter(FuncFormatter(_plain))
    axes.xaxis.set_minor_formatter(NullFormatter())
    _plain_log_axis(axes.yaxis)
    axes.set(xlabel="operations run again (0, then log scale)", ylabel="values held at the peak (log scale)",
             title=f"trade-off at n = {table.trade_n} ({table.trade_ops} operations)")
    axes.grid(True, which="major", alpha=0.3)
    axes.legend(loc="upper center", bbox_to_anchor=(0.5, -0.1), ncol=1, fontsize=9, frameon=False)
    axes.margins(x=0.08, y=0.12)
    return placed


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


def _trade(f: Any, point: Mapping[str, Any]) -> tuple[list[TradePoint], list[tuple[int, int, int]], int,
                                                         int, int]:
    """The measured budgets and the bound: ``(points, bound, units, working, snapshot)``."""
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
    bound, units, snapshot = binomial_bound(p)
    working = memory(f, point, checkpoints=("binomial", 1)).peak_values
    bound = [(s, recomputed, (s - 1) * snapshot + working) for s, recomputed in bound]
    return points, bound, units, working, snapshot


def binomial_bound(p: Any, most: int = 64) -> tuple[list[tuple[int, int]], int, int]:
    """Griewank and Walther's bound in the units of the plan's binomial schedules, counted in operations:
    ``([(s, fewest operations run again with s snapshots), ...], units, values a snapshot holds)`` for
    s = 1, 2, … up to ``most`` or until nothing is run again. The units are the segments between the
    schedules' cuts (:func:`~diffexplore.checkpoint.schedule`); the fewest unit evaluations are revolve's
    (:func:`~diffexplore.checkpoint.revolve`, β(s, r) = C(s + r, s)), each evaluation of a unit costing its
    operations: on a chain, every unit one operation, exactly ``binomial_advances(n, s)``.

    >>> from diffexplore.checkpoint import binomial_advances
    >>> bound, units, snapshot = binomial_bound(plan(families.nested_sin(10)))
    >>> bound[:3], units, snapshot
    ([(1, 45), (2, 20), (3, 15)], 10, 1)
    >>> all(recomputed == binomial_advances(10, s) for s, recomputed in bound)
    True
    """
    cuts = schedule(p, ("binomial", 1)).cuts
    sizes = [b - a for a, b in zip(cuts, cuts[1:], strict=False)]
    units = len(sizes)
    widths = analysis(p).widths
    snapshot = min((widths[c] for c in cuts[1:-1]), default=0)
    bound = []
    for s in range(1, min(units, most) + 1):
        evaluations = [0] * (units + 1)          # a difference array over the units
        for action in revolve(units, s):
            if action[0] in ("advance", "reverse"):
                evaluations[action[1]] += 1
                evaluations[action[2]] -= 1
        running, recomputed = 0, 0
        for unit, size in enumerate(sizes):
            running += evaluations[unit]
            recomputed += size * (running - 1)
        bound.append((s, recomputed))
        if recomputed == 0:
            break
    return bound, units, snapshot


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
        table.trade, table.bound, table.bound_units, table.bound_working, table.bound_snapshot = _trade(
            f, {**chosen.point(trade_n), **dict(at or {})})
    return table

