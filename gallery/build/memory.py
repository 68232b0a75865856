"""Show: the ``memory`` part of the gallery: what evaluation, forward and reverse mode hold as a chain
grows, checkpointing's time–memory trade-off beside the binomial bound, and the adjoint view marking what
reverse mode stores and what checkpoints keep and compute again.

The Markdown and DOT files are deterministic (every number is a count of values held or operations
run, none measured in time); the plots are what matplotlib and Graphviz make of them.
"""

from __future__ import annotations

from pathlib import Path

import diffexplore as dx
from diffexplore.reports.memory import memory_report

from . import GalleryFolder

__all__ = ["make_gallery", "REPORTS"]

#: (family, sizes, the size whose checkpoint budget is swept, what the report shows)
REPORTS = [
    ("nested-sin", (2, 4, 8, 16, 32, 64, 128, 256), 64,
     "a chain: evaluation holds 2 values and forward mode 4 whatever n, reverse mode stores n − 1 (each "
     "sin's partial reads its argument); ⌈√n⌉ checkpoints store about √n for less than one extra forward "
     "sweep, and the binomial schedules meet Griewank and Walther's bound exactly"),
    ("logistic", (2, 4, 8, 16, 32, 64), 32,
     "not a chain (each step uses the previous term twice): the cuts hold one value between steps and "
     "two inside one, and the checkpoints go to the narrow ones; the binomial schedules' units are the "
     "steps (about 3 operations each), and they lie on the bound counted in those units"),
]
#: The drawings: (file stem, formula, point, render options).
DRAWINGS = [
    ("seed_adjoint_memory", "1 + x + exp(sin(x*y))", {"x": 1.0, "y": 2.0}, {"memory": True}),
    ("chain_adjoint_checkpoints", "sin(sin(sin(sin(sin(sin(x))))))", {"x": 1.0}, {"checkpoints": 3}),
]


def make_gallery(outdir: Path) -> list[Path]:
    """Write the memory reports and drawings into ``outdir`` and return the files written."""
    folder = GalleryFolder(outdir)
    outdir, written, write = folder.path, folder.written, folder.write
    index = ["# What reverse mode remembers", "",
             "Memory of each method, measured on lean sweeps that free every value after its last use "
             "(`dx.memory`), and the trade-off of checkpointing (`dx.grad(f, at, checkpoints=...)`). "
             "Regenerate with `.venv/bin/python -m gallery.build --part memory`; the same report at the "
             "command line: `diffexplore memory nested-sin --n 2,4,8,16,32,64,128,256 --trade 64 "
             "--plot memory.png`.", ""]
    for family, sizes, trade, shows in REPORTS:
        report = memory_report(family, sizes, trade_n=trade)
        report.plot(outdir / f"{family}.png")
        written.append(outdir / f"{family}.png")
        write(f"{family}.md", report.to_markdown() + f"\n![memory of {family}]({family}.png)\n")
        index += [f"## {family}", "", f"{shows[0].upper()}{shows[1:]}.", "",
                  f"![memory against n and the trade-off]({family}.png)", "",
                  f"Tables: [{family}.md]({family}.md)", ""]
    index += ["## Marked in the adjoint view", ""]
    for stem, formula, at, options in DRAWINGS:
        drawing = dx.render(formula, at=at, views="adjoint", **options)
        for suffix in (".dot", ".svg", ".png"):
            written.append(dx.write_drawing(drawing, outdir / f"{stem}{suffix}"))
        option = ", ".join(f"{k}={v!r}" for k, v in options.items())
        index += [f"`dx.render({formula!r}, at={at}, views='adjoint', {option})`:", "",
                  f"![{stem}]({stem}.svg)", ""]
    write("README.md", "\n".join(index))
    return written
