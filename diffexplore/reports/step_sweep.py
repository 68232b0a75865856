"""Show/measure: the finite-difference error study and the cost of a full gradient.

:func:`step_sweep` runs each difference scheme of :mod:`diffexplore.numeric` over steps h from 1e-1 down
to 1e-16 and measures its absolute error against the reverse-mode derivative. The errors trace a V: on
the right truncation (slope 1 for forward differences, slope 2 for central ones), on the left round-off
(≈ ε|f|/h, cancellation in f(x+h) − f(x)). The complex step has no subtraction, so once its truncation
(slope 2) falls below ε it stays at machine precision however small h gets.

:func:`cost_table` counts what a full gradient of a function of W inputs costs each method: W + 1 or 2W
evaluations for differences, W forward-mode sweeps, one reverse sweep; with each pass costing O(W)
operations that is the O(W²) versus O(W) argument. Times are measured only on request and belong in
files named ``*timings*``.
"""

from __future__ import annotations

import csv
import io
import math
import statistics
import textwrap
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
from tabulate import tabulate

from ..callables import graph_of
from ..derivatives import grad
from ..errors import DiffexploreError
from ..evaluate import evaluate
from ..evaluate import memory as measure_memory
from ..formula import formula
from ..graph import Node, free_variables, size, variable
from ..inputs import as_point
from ..numeric import EPS, SCHEMES, default_step, difference
from ..output_paths import check_output_path, plot_extensions

if TYPE_CHECKING:
    from matplotlib.figure import Figure

__all__ = ["step_sweep", "StepSweep", "DEFAULT_STEPS", "ERROR_FLOOR", "cost_table", "CostTable",
           "COST_FUNCTIONS", "COST_METHODS"]

#: 61 steps, four per decade, from 1e-1 down to 1e-16.
DEFAULT_STEPS = np.logspace(-1, -16, 61)
#: Errors of exactly 0 are drawn at this height on the log axis (and the legend says so).
ERROR_FLOOR = 1e-17

_SCHEME_NAMES = {"forward": "forward difference", "central": "central difference", "complex": "complex step"}
_SCHEME_COLORS = {"forward": "tab:blue", "central": "tab:orange", "complex": "tab:green"}


def _e(value: float) -> str:
    """An error for a legend: 0 when exactly 0, otherwise two significant digits."""
    return "0" if value == 0 else f"{value:.1e}"


def _g(value: float | None, digits: int = 4) -> str:
    """A number to ``digits`` significant digits ("" for None, "n/a" for an undefined value)."""
    if value is None:
        return ""
    if isinstance(value, float) and math.isnan(value):
        return "n/a"
    return f"{value:.{digits}g}"


# ---- the step sweep -----------------------------------------------------------------------------------


@dataclass
class StepSweep:
    """Absolute errors of finite differences of ``function`` along ``wrt`` over ``steps``.

    ``errors[scheme]`` is an array aligned with ``steps`` (NaN where the step vanishes at x: x + h == x);
    ``best[scheme]`` the (step, error) with the smallest error; ``default_step[scheme]`` the step the
    library uses and ``default_error[scheme]`` its error; ``reference`` the reverse-mode derivative;
    ``value`` f at the point (it sets the round-off: f(x + h) − f(x) loses about ε·|f(x)| to rounding).
    """

    function: str
    wrt: str
    point: dict
    reference: float
    steps: np.ndarray
    derivatives: dict[str, np.ndarray]
    errors: dict[str, np.ndarray]
    best: dict[str, tuple[float, float]]
    default_step: dict[str, float]
    default_error: dict[str, float]
    value: float = math.nan

    @property
    def schemes(self) -> list[str]:
        return list(self.errors)

    def _rows(self) -> list[list[str]]:
        return [[_SCHEME_NAMES.get(s, s), _g(self.best[s][0], 2), _g(self.best[s][1], 3),
                 _g(self.default_step[s], 3), _g(self.default_error[s], 3)] for s in self.schemes]

    _HEADERS = ["scheme", "best step h", "error at best h", "library default h", "error at default h"]

    def _title(self) -> str:
        at = ", ".join(f"{k} = {v:g}" for k, v in self.point.items())
        return (f"d/d{self.wrt} of {self.function} at {at}: reverse mode gives {self.reference!r}; "
                f"{len(self.steps)} steps h from {self.steps.max():g} to {self.steps.min():g}")

    def to_text(self) -> str:
        """The best-step summary as a terminal table."""
        return self._title() + "\n\n" + tabulate(self._rows(), headers=self._HEADERS, tablefmt="simple",
                                                 disable_numparse=True)

    def __str__(self) -> str:
        return self.to_text()

    def to_markdown(self) -> str:
        """The best-step summary as Markdown (absolute errors against reverse mode)."""
        return (f"{self._title()}\n\n"
                + tabulate(self._rows(), headers=self._HEADERS, tablefmt="github", disable_numparse=True)
                + "\n")

    def to_csv(self) -> str:
        """Every step and every scheme's derivative and absolute error (17 significant digits)."""
        out = io.StringIO()
        writer = csv.writer(out, lineterminator="\n")
        writer.writerow(["h"] + [f"{s}_{kind}" for s in self.schemes for kind in ("derivative", "error")])
        for k, h in enumerate(self.steps):
            writer.writerow([repr(float(h))] + [repr(float(a[k])) for s in self.schemes
                                                for a in (self.derivatives[s], self.errors[s])])
        return out.getvalue()

    def plot(self, path: str | Path | None = None, title: str | None = None) -> Figure:
        """Error against step (log-log), one line per scheme, best and default steps marked: a Matplotlib
        ``Figure`` (pyplot and its backend are left alone), also written to ``path`` when one is given
        (an image format Matplotlib writes, in an existing folder; otherwise an error)."""
        if path is not None:
            path = check_output_path(path, plot_extensions(), "plot")
        fig = _figure(figsize=(8, 5.2), dpi=130)
        ax = fig.subplots()
        h = self.steps
        floored = False
        for s in self.schemes:
            err = self.errors[s]
            finite = ~np.isnan(err)
            zero = finite & (err == 0)
            floored |= bool(zero.any())
            shown = np.where(zero, ERROR_FLOOR, err)
            color = _SCHEME_COLORS.get(s, None)
            step, error = self.best[s]
            label = f"{_SCHEME_NAMES.get(s, s)}: best h = {step:.1e}, error {_e(error)}"
            line, = ax.loglog(h[finite], shown[finite], marker=".", markersize=4, linewidth=1.4,
                              color=color, label=label)
            ax.loglog([step], [max(error, ERROR_FLOOR)], marker="*", markersize=13, color=line.get_color(),
                      markeredgecolor="black", markeredgewidth=0.6, linestyle="none", zorder=5)
            d_step, d_error = self.default_step[s], self.default_error[s]
            if h.min() <= d_step <= h.max():
                ax.loglog([d_step], [max(d_error, ERROR_FLOOR)], marker="o", markersize=9,
                          markerfacecolor="none", markeredgecolor=line.get_color(), markeredgewidth=1.6,
                          linestyle="none", zorder=5)
        self._guides(ax)
        ax.loglog([], [], marker="*", markersize=11, color="gray", markeredgecolor="black",
                  linestyle="none", label="smallest error of each scheme")
        ax.loglog([], [], marker="o", markersize=8, markerfacecolor="none", markeredgecolor="gray",
                  linestyle="none", label=self._default_label())
        if floored:
            ax.loglog([], [], linestyle="none", label=f"an error of exactly 0 is drawn at {ERROR_FLOOR:g}")
        ax.set_xlabel("step h")
        ax.set_ylabel(f"absolute error vs reverse mode  |difference − d/d{self.wrt}|")
        at = ", ".join(f"{k} = {v:g}" for k, v in self.point.items())
        title = title or f"Finite-difference error of d/d{self.wrt} {self.function} at {at}"
        ax.set_title(title, fontsize=11)
        ax.set_xlim(h.min() / 2, h.max() * 2)
        ax.set_ylim(ERROR_FLOOR / 3, None)
        ax.grid(True, which="major", alpha=0.3)
        ax.legend(fontsize=8, loc="upper center", bbox_to_anchor=(0.5, -0.13), ncol=2, frameon=False)
        if path is not None:
            _save(fig, path)
        return fig

    def __repr__(self) -> str:
        from ..render.displays import sweep_text
        return sweep_text(self)

    def _repr_mimebundle_(self, include=None, exclude=None):
        """Jupyter: the best-step table with the error plot under it (HTML), Markdown, the plot as PNG."""
        from ..render.displays import plot_bundle
        return plot_bundle(self._title(), self._HEADERS, self._rows(), self.to_markdown(), self.plot(),
                           repr(self))

    def _default_label(self) -> str:
        off = [f"{s} h = {self.default_step[s]:.0e}, error {_e(self.default_error[s])}"
               for s in self.schemes if not self.steps.min() <= self.default_step[s] <= self.steps.max()]
        text = "library default step"
        return text + (f" (off the axis: {'; '.join(off)})" if off else "")

    def _guides(self, ax) -> None:
        """Faint reference lines in the legend: round-off ε|f(x)|/h (the rounding error of f(x + h) − f(x),
        about ε|f(x)|, divided by h; left out when f(x) = 0), slopes 1 and 2 (under the curves)."""
        if math.isfinite(self.value) and self.value != 0:
            left = np.array([1e-16, 1e-8])
            ax.loglog(left, EPS * abs(self.value) / left, color="dimgray", alpha=0.6, linestyle=":",
                      linewidth=1.4, label="round-off ≈ ε·|f(x)|/h")
        right = np.array([1e-4, 1e-1])
        guides = ((1, "forward", 8, "--", "h"), (2, "central", 60, "-.", "h²"))
        for slope, scheme, below, style, power in guides:
            if scheme not in self.errors:
                continue
            anchor = self.errors[scheme][np.argmin(np.abs(np.log(self.steps / 1e-1)))]
            if not anchor > 0:
                continue
            ax.loglog(right, anchor / below * (right / 1e-1) ** slope, color="gray", alpha=0.6,
                      linestyle=style, linewidth=1.2, label=f"slope {slope}: {scheme} truncation ∝ {power}")


def _figure(**options) -> Figure:
    """A Matplotlib figure drawn by the Agg canvas, outside pyplot (no backend or global state touched)."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure
    figure = Figure(**options)
    FigureCanvasAgg(figure)
    return figure


def _save(fig: Figure, path: Path, tight: bool = True) -> None:
    """Save a figure, with an error naming the file if the system refuses."""
    try:
        fig.savefig(path, bbox_inches="tight" if tight else None)
    except OSError as exc:
        raise DiffexploreError(f"cannot write the plot to {str(path)!r}: {exc.strerror or exc}") from None


def _choose(f: Node, wrt: str | None) -> str:
    names = [v.name for v in free_variables(f)]
    if wrt is None:
        if len(names) != 1:
            raise DiffexploreError(f"f has {len(names)} variables ({', '.join(names) or 'none'}); "
                                   "choose the one to differentiate with wrt=... (--wrt)")
        return names[0]
    if wrt not in names:
        raise DiffexploreError(f"cannot sweep steps along {wrt!r}: not a variable of f "
                               f"(its variables: {', '.join(names) or 'none'})")
    return wrt


def step_sweep(f: Node | str | Callable, at: Mapping[str, Any], wrt: str | None = None,
               schemes: Sequence[str] = SCHEMES, steps: Sequence[float] | None = None,
               label: str | None = None) -> StepSweep:
    """The absolute error of each finite-difference scheme against reverse mode, over many steps.

    ``steps`` defaults to :data:`DEFAULT_STEPS` (61 steps from 1e-1 to 1e-16); ``wrt`` may be left out
    when f has one variable; ``label`` names f in titles (default: its formula, cut at 60 characters).

    >>> s = step_sweep("exp(x)", {"x": 1.0})
    >>> step, error = s.best["central"]
    >>> 1e-7 <= step <= 1e-4 and error < 1e-9
    True
    >>> s.best["forward"][1] > s.best["central"][1]
    True
    """
    f = graph_of(f, at, call="step_sweep")
    point = as_point(at)
    name = _choose(f, wrt)
    unknown = [s for s in schemes if s not in SCHEMES]
    if unknown:
        raise DiffexploreError(f"unknown scheme(s) {unknown}; schemes: {', '.join(SCHEMES)}")
    reference = grad(f, point, method="reverse", wrt=[name])[name]
    if np.ndim(reference) != 0 or isinstance(reference, complex):
        raise DiffexploreError(f"a step sweep needs a real scalar point; {name} = {point[name]!r}")
    reference = float(reference)
    value = float(np.real(evaluate(f, point)))
    h = np.array(DEFAULT_STEPS if steps is None else steps, dtype=float)
    if h.ndim != 1 or not len(h) or (h <= 0).any():
        raise DiffexploreError("steps must be a non-empty list of positive numbers, "
                               "e.g. np.logspace(-1, -16, 61)")
    derivatives, errors, best, default, default_error = {}, {}, {}, {}, {}
    for scheme in schemes:
        values = np.array([_difference(f, point, name, scheme, float(step)) for step in h])
        err = np.abs(values - reference)
        derivatives[scheme], errors[scheme] = values, err
        if np.isnan(err).all():
            best[scheme] = (math.nan, math.nan)
        else:
            k = int(np.nanargmin(err))
            best[scheme] = (float(h[k]), float(err[k]))
        default[scheme] = float(default_step(scheme, point[name]))
        default_error[scheme] = float(abs(_difference(f, point, name, scheme, None) - reference))
    return StepSweep(function=label or formula(f, max_length=60), wrt=name, point=dict(point),
                     reference=reference, steps=h, derivatives=derivatives, errors=errors, best=best,
                     default_step=default, default_error=default_error, value=value)


def _difference(f: Node, point: dict, name: str, scheme: str, step: float | None) -> float:
    """One difference; NaN when the step vanishes at x (x + h == x, so h = 0 after rounding)."""
    try:
        return float(difference(f, point, name, scheme, step))
    except ZeroDivisionError:
        return math.nan


# ---- the cost of a full gradient ---------------------------------------------------------------------


def _product(inputs: list[Node]) -> Node:
    """x1·x2⋯xW (W − 1 multiplications; for W = 1, 1·x1 so that there is one operation)."""
    f = inputs[0] if len(inputs) > 1 else 1.0 * inputs[0]
    for x in inputs[1:]:
        f = f * x
    return f


def _dense(inputs: list[Node]) -> Node:
    """tanh(a1·x1 + … + aW·xW) with fixed random weights a (seed 0): every input reaches the output."""
    weights = np.random.default_rng(0).uniform(-1, 1, len(inputs)) / math.sqrt(len(inputs))
    total = None
    for a, x in zip(weights, inputs, strict=True):
        term = float(round(a, 6)) * x
        total = term if total is None else total + term
    from ..rules import tanh
    return tanh(total)


#: Test functions of W inputs for :func:`cost_table`: name -> (builder, description).
COST_FUNCTIONS: dict[str, tuple[Callable[[list[Node]], Node], str]] = {
    "product": (_product, "the product x1·x2⋯xW (1·x1 for W = 1)"),
    "dense": (_dense, "tanh(a1·x1 + … + aW·xW) with fixed random weights a"),
}

#: (column name, how many passes over the graph for W inputs, grad method, options)
COST_METHODS = [
    ("numeric forward difference", "function evaluations", lambda w: w + 1, "numeric", {"scheme": "forward"}),
    ("numeric central difference", "function evaluations", lambda w: 2 * w, "numeric", {"scheme": "central"}),
    ("forward mode", "forward sweeps (primal + tangent)", lambda w: w, "forward", {}),
    ("reverse mode", "sweeps (1 primal + 1 adjoint)", lambda w: 2, "reverse", {}),
]


#: The widest W whose memory is measured (forward mode's lean sweep checks its W inputs at each of its
#: ~W operations); wider rows leave the memory columns empty.
MAX_MEMORY_WIDTH = 3_000
#: (column name, dx.memory options): the memory columns of :func:`cost_table`.
MEMORY_METHODS = [
    ("forward mode", {"method": "forward"}),
    ("reverse mode", {"method": "reverse"}),
    ("reverse, √n checkpoints", {"method": "reverse", "checkpoints": "sqrt"}),
]


@dataclass
class CostRow:
    """The cost of one gradient of a W-input function by every method.

    ``graph_ops`` is the number of operation nodes of f (``dx.size(f).ops``); ``passes[method]`` the
    number of passes over the graph; ``operations[method] = passes × graph_ops``; ``seconds[method]``
    the median measured time of one full gradient (empty when not measured); ``memory[method]`` the
    values a lean sweep holds at its peak (``dx.memory``) for forward mode, reverse mode and reverse
    mode with √n checkpoints (the keys of :data:`MEMORY_METHODS`).
    """

    width: int
    graph_ops: int
    passes: dict[str, int]
    operations: dict[str, int]
    seconds: dict[str, float] = field(default_factory=dict)
    memory: dict[str, int] = field(default_factory=dict)


@dataclass
class CostTable:
    """Rows of :class:`CostRow` for several widths W; counts are exact, times only if measured."""

    function: str
    rows: list[CostRow]
    repeats: int = 0

    @property
    def methods(self) -> list[str]:
        return [m for m, *_ in COST_METHODS]

    def _explanation(self) -> str:
        text = (f"Full gradient of f = {self.function}, for W inputs. "
                "Passes: numeric forward difference W + 1 evaluations, central 2W, "
                "forward mode W sweeps (each carries primal and tangent), "
                "reverse mode 2 (one primal sweep, one adjoint sweep). "
                "Operations = passes × operation nodes of f (every pass visits each operation node once), "
                "so differences and forward mode grow as W², reverse mode as W. Memory: the values one "
                "sweep holds at its peak (dx.memory, lean sweeps): a forward sweep only what is still live "
                "(one entry of the gradient per sweep), reverse mode every value a local partial reads and "
                "the W entries of the gradient at once; √n checkpoints cut the first part, not the second.")
        return textwrap.fill(text, width=104)

    def _count_rows(self) -> list[list[str]]:
        rows = []
        for r in self.rows:
            cells = [str(r.width), str(r.graph_ops)]
            for m in self.methods:
                cells += [str(r.passes[m]), str(r.operations[m])]
            if any(row.memory for row in self.rows):
                cells += [str(r.memory.get(m, "")) for m, _ in MEMORY_METHODS]
            rows.append(cells)
        return rows

    def _count_headers(self) -> list[str]:
        short = {"numeric forward difference": "fwd diff", "numeric central difference": "central diff",
                 "forward mode": "fwd mode", "reverse mode": "reverse"}
        headers = ["W", "ops in f"]
        for m in self.methods:
            headers += [f"{short[m]} passes", f"{short[m]} ops"]
        memory = {"forward mode": "fwd mode mem", "reverse mode": "reverse mem",
                  "reverse, √n checkpoints": "reverse √n mem"}
        if any(row.memory for row in self.rows):
            headers += [memory[m] for m, _ in MEMORY_METHODS]
        return headers

    def to_markdown(self, explain: bool = True) -> str:
        """The exact counts (deterministic) as Markdown, after a paragraph defining them (``explain``)."""
        head = self._explanation() if explain else f"f = {self.function}:"
        return (head + "\n\n"
                + tabulate(self._count_rows(), headers=self._count_headers(), tablefmt="github",
                           disable_numparse=True, colalign=["right"] * len(self._count_headers())) + "\n")

    def to_text(self) -> str:
        """Counts, and measured times when there are any, as terminal tables."""
        text = self._explanation() + "\n\n" + tabulate(
            self._count_rows(), headers=self._count_headers(), tablefmt="simple", disable_numparse=True,
            colalign=["right"] * len(self._count_headers()))
        if any(r.seconds for r in self.rows):
            text += "\n\n" + self.timings_text()
        return text

    def __str__(self) -> str:
        return self.to_text()

    def _timing_rows(self) -> tuple[list[str], list[list[str]]]:
        headers = ["W"] + [f"{m} [ms]" for m in self.methods] + ["forward / reverse"]
        rows = []
        for r in self.rows:
            if not r.seconds:
                continue
            ratio = r.seconds["forward mode"] / r.seconds["reverse mode"]
            rows.append([str(r.width)] + [_g(1e3 * r.seconds[m], 3) for m in self.methods] + [_g(ratio, 3)])
        return headers, rows

    def __repr__(self) -> str:
        from ..render.displays import cost_text
        return cost_text(self)

    def _repr_mimebundle_(self, include=None, exclude=None):
        """Jupyter: the counts table with the cost plot under it (HTML), Markdown, the plot as PNG."""
        from ..render.displays import plot_bundle
        return plot_bundle(self._explanation(), self._count_headers(), self._count_rows(), self.to_markdown(),
                           self.plot(), repr(self))

    def timings_text(self) -> str:
        """Measured times (median of ``repeats`` runs) as a terminal table."""
        headers, rows = self._timing_rows()
        return (f"measured time of one full gradient, median of {self.repeats} runs\n"
                + tabulate(rows, headers=headers, tablefmt="simple", disable_numparse=True,
                           colalign=["right"] * len(headers)))

    def timings_markdown(self) -> str:
        """Measured times as Markdown (not deterministic: only for files named ``*timings*``)."""
        headers, rows = self._timing_rows()
        return (f"Measured time of one full gradient of {self.function}, median of {self.repeats} runs "
                "(machine-dependent).\n\n"
                + tabulate(rows, headers=headers, tablefmt="github", disable_numparse=True,
                           colalign=["right"] * len(headers)) + "\n")

    def plot(self, path: str | Path | None = None) -> Figure:
        """Operations (left) and, when measured, times (right) against W, log-log, with W and W² guides:
        a Matplotlib ``Figure`` (pyplot and its backend are left alone), also written to ``path`` when one
        is given (an image format Matplotlib writes, in an existing folder; otherwise an error)."""
        if path is not None:
            path = check_output_path(path, plot_extensions(), "plot")
        timed = [r for r in self.rows if r.seconds]
        panels = 2 if timed else 1
        fig = _figure(figsize=(6.2 * panels, 4.8), dpi=130)
        axes = fig.subplots(1, panels, squeeze=False)
        widths = np.array([r.width for r in self.rows], dtype=float)
        styles = {"numeric forward difference": ("tab:blue", "o"),
                  "numeric central difference": ("tab:cyan", "s"),
                  "forward mode": ("tab:orange", "^"), "reverse mode": ("tab:green", "D")}
        ax = axes[0][0]
        for m in self.methods:
            color, marker = styles[m]
            ax.loglog(widths, [max(r.operations[m], 0.5) for r in self.rows], marker=marker, color=color,
                      label=m, markersize=5)
        ax.set_title("operations per full gradient (passes × ops of f)", fontsize=10)
        self._guides(ax, widths, [r.operations["reverse mode"] for r in self.rows])
        if timed:
            ax = axes[0][1]
            tw = np.array([r.width for r in timed], dtype=float)
            for m in self.methods:
                color, marker = styles[m]
                ax.loglog(tw, [r.seconds[m] for r in timed], marker=marker, color=color, label=m,
                          markersize=5)
            ax.set_title(f"measured time per full gradient (median of {self.repeats})", fontsize=10)
            ax.set_ylabel("seconds")
            self._guides(ax, tw, [r.seconds["reverse mode"] for r in timed])
        for ax in axes[0]:
            ax.set_xlabel("W (number of inputs)")
            ax.grid(True, which="major", alpha=0.3)
            ax.legend(fontsize=8, loc="upper left")
        fig.suptitle(f"Cost of the full gradient of {self.function}", fontsize=11)
        fig.tight_layout()
        if path is not None:
            _save(fig, path, tight=False)
        return fig

    @staticmethod
    def _guides(ax, widths: np.ndarray, reverse: list[float]) -> None:
        """Faint ∝W and ∝W² lines through the reverse-mode value at the largest W / a factor below."""
        top, last = widths.max(), reverse[-1]
        if not last > 0 or len(widths) < 2:
            return
        ref = widths / top
        ax.loglog(widths, last * ref * 0.3, color="gray", alpha=0.5, linestyle=":", linewidth=1.2)
        ax.loglog(widths, last * ref ** 2 * top * 3, color="gray", alpha=0.5, linestyle="--", linewidth=1.2)
        ax.text(widths[-2], last * (widths[-2] / top) * 0.12, "∝ W", color="gray", fontsize=8)
        ax.text(widths[-2], last * (widths[-2] / top) ** 2 * top * 6, "∝ W²", color="gray", fontsize=8)


def cost_table(widths: Sequence[int] = (1, 3, 10, 30, 100, 300, 1000), function: str = "product",
               measure_times: bool = False, repeats: int = 3, progress: bool = False,
               memory: bool = True) -> CostTable:
    """What a full gradient of a W-input function costs each method, for each W in ``widths``.

    ``function`` is a key of :data:`COST_FUNCTIONS`. Counts are exact; with ``measure_times`` each
    method's gradient is also timed (median of ``repeats`` runs); ``memory`` measures the values a
    lean forward sweep, reverse sweep and reverse sweep with √n checkpoints hold at their peak.

    >>> t = cost_table(widths=[4], function="product")
    >>> r = t.rows[0]
    >>> r.graph_ops, r.passes["numeric central difference"], r.passes["reverse mode"]
    (3, 8, 2)
    >>> r.operations["forward mode"], r.operations["reverse mode"]
    (12, 6)
    >>> r.memory
    {'forward mode': 4, 'reverse mode': 6, 'reverse, √n checkpoints': 6}
    """
    if function not in COST_FUNCTIONS:
        raise DiffexploreError(f"unknown cost function {function!r}; functions: {', '.join(COST_FUNCTIONS)}")
    widths = [int(w) for w in widths]
    if not widths or min(widths) < 1:
        raise DiffexploreError(f"widths must be positive integers (the number of inputs W), got {widths}")
    build, description = COST_FUNCTIONS[function]
    items: Any = widths
    if progress:
        from tqdm import tqdm
        items = tqdm(widths, desc=f"cost of gradients ({function})", unit="W")
    rows = []
    for w in items:
        inputs = [variable(f"x{k}") for k in range(1, w + 1)]
        f = build(inputs)
        ops = size(f).ops
        passes = {m: count(w) for m, _what, count, _method, _opts in COST_METHODS}
        operations = {m: p * ops for m, p in passes.items()}
        row = CostRow(width=w, graph_ops=ops, passes=passes, operations=operations)
        point = {x.name: 1.0 + 0.5 * k / w for k, x in enumerate(inputs)}
        if memory and w <= MAX_MEMORY_WIDTH:
            for m, options in MEMORY_METHODS:
                seed = {x.name: 1.0 for x in inputs} if options["method"] == "forward" else None
                row.memory[m] = measure_memory(f, point, seed=seed, **options).peak_values
        if measure_times:
            for m, _what, _count, method, options in COST_METHODS:
                row.seconds[m] = _median_time(partial(grad, f, point, method=method, **options), repeats)
        rows.append(row)
    return CostTable(function=description, rows=rows, repeats=repeats if measure_times else 0)


def _median_time(run: Callable[[], Any], repeats: int) -> float:
    times = []
    for _ in range(max(1, repeats)):
        start = time.perf_counter()
        run()
        times.append(time.perf_counter() - start)
    return statistics.median(times)
