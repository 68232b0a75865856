"""Show: the ``traces`` part of the gallery (the worked example's trace, step sweeps, gradient costs).

Every text file here is deterministic (same bytes on every run); measured times go only into the
files named ``cost_timings.*``.
"""

from __future__ import annotations

from pathlib import Path

import diffexplore as dx

from . import GalleryFolder

__all__ = ["make_gallery", "WORKED_EXAMPLE"]

#: The classic worked example of the AD literature (Griewank & Walther; Baydin et al. 2018).
WORKED_EXAMPLE = "log(x1) + x1*x2 - sin(x2)"


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

    table = dx.trace_table(WORKED_EXAMPLE, {"x1": 2.0, "x2": 5.0}, seed="x1")
    write("worked_example_trace.md", "# Evaluation trace of the worked example\n\n" + table.to_markdown())
    write("worked_example_trace.tex", table.to_latex())

    x = dx.variable("x")
    sweeps = [
        ("steps_exp", dx.exp(x), {"x": 1.0}, "exp(x)"),
        ("steps_sin", dx.sin(x), {"x": 1.0}, "sin(x)"),
        ("steps_logistic", dx.families.logistic(4), {"x": 0.2}, "4 steps of the logistic map x ↦ 4x(1 − x)"),
    ]
    for name, f, at, label in sweeps:
        sweep = dx.step_sweep(f, at, label=label)
        write(f"{name}.md", f"# Finite-difference error study: {label}\n\n" + sweep.to_markdown()
              + f"\n![error against step]({name}.png)\n")
        sweep.plot(outdir / f"{name}.png")
        written.append(outdir / f"{name}.png")

    counts = ["# Cost of a full gradient: passes and operations\n"]
    for k, function in enumerate(("product", "dense")):
        counts.append(dx.cost_table(function=function).to_markdown(explain=k == 0))
    write("cost.md", "\n".join(counts) + "\nMeasured times: [cost_timings.md](cost_timings.md).\n")

    if not timings:
        return written
    timed = dx.cost_table(function="product", measure_times=True, repeats=3)
    write("cost_timings.md", "# Cost of a full gradient: measured times\n\n" + timed.timings_markdown()
          + "\n![operations and times against W](cost_timings.png)\n")
    timed.plot(outdir / "cost_timings.png")
    written.append(outdir / "cost_timings.png")
    return written
