"""Show: the traces part of ``gallery/`` (the worked example's trace, step sweeps, gradient costs).

Every text file here is deterministic (same bytes on every run); measured times go only into the
files named ``cost_timings.*``.
"""

from __future__ import annotations

from pathlib import Path

from ..graph import Node, variable
from ..rules import exp, sin
from .gallery import GalleryFolder
from .steps import cost_table, step_sweep
from .traces import trace_table

__all__ = ["make_gallery", "WORKED_EXAMPLE", "logistic_map"]

#: The classic worked example of the AD literature (Griewank & Walther; Baydin et al. 2018).
WORKED_EXAMPLE = "log(x1) + x1*x2 - sin(x2)"


def logistic_map(steps: int = 4) -> Node:
    """``steps`` applications of the logistic map x ↦ 4x(1 − x), starting from the variable x.

    >>> from diffexplore import evaluate
    >>> evaluate(logistic_map(1), {"x": 0.5})
    1.0
    """
    x = variable("x")
    value = x
    for _ in range(steps):
        value = 4 * value * (1 - value)
    return value


def make_gallery(outdir: Path, timings: bool = True) -> list[Path]:
    """Write the traces part of the gallery into ``outdir`` and return the files written.

    ``timings=False`` leaves out the measured cost (the ``cost_timings.*`` files, ~10 s).

    >>> import tempfile
    >>> with tempfile.TemporaryDirectory() as folder:
    ...     [p.name for p in make_gallery(Path(folder), timings=False)][:3]
    ['worked_example_trace.md', 'worked_example_trace.tex', 'steps_exp.md']
    """
    folder = GalleryFolder(outdir)
    outdir, written, write = folder.path, folder.written, folder.write

    table = trace_table(WORKED_EXAMPLE, {"x1": 2.0, "x2": 5.0}, seed="x1")
    write("worked_example_trace.md", "# Evaluation trace of the worked example\n\n" + table.to_markdown())
    write("worked_example_trace.tex", table.to_latex())

    x = variable("x")
    sweeps = [
        ("steps_exp", exp(x), {"x": 1.0}, "exp(x)"),
        ("steps_sin", sin(x), {"x": 1.0}, "sin(x)"),
        ("steps_logistic", logistic_map(4), {"x": 0.2}, "4 steps of the logistic map x ↦ 4x(1 − x)"),
    ]
    for name, f, at, label in sweeps:
        sweep = step_sweep(f, at, label=label)
        write(f"{name}.md", f"# Finite-difference error study: {label}\n\n" + sweep.to_markdown()
              + f"\n![error against step]({name}.png)\n")
        written.append(sweep.plot(outdir / f"{name}.png"))

    counts = ["# Cost of a full gradient: passes and operations\n"]
    for k, function in enumerate(("product", "dense")):
        counts.append(cost_table(function=function).to_markdown(explain=k == 0))
    write("cost.md", "\n".join(counts) + "\nMeasured times: [cost_timings.md](cost_timings.md).\n")

    if not timings:
        return written
    timed = cost_table(function="product", measure_times=True, repeats=3)
    write("cost_timings.md", "# Cost of a full gradient: measured times\n\n" + timed.timings_markdown()
          + "\n![operations and times against W](cost_timings.png)\n")
    written.append(timed.plot(outdir / "cost_timings.png"))
    return written
