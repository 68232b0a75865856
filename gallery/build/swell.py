"""Show: the ``swell`` part of the gallery: expression-swell reports of the named families, with plots.

Markdown, CSV and JSON files hold only the deterministic columns (sizes and operation counts), so they
are the same bytes on every run; measured times go into the ``*-timings.md`` files and the plots.
"""

from __future__ import annotations

from pathlib import Path

import diffexplore as dx

from . import GalleryFolder

__all__ = ["make_gallery", "REPORTS", "SYMPY_BUDGET"]

#: Seconds per SymPy cell: generous, so that every cell of these reports finishes (the logistic n = 12
#: cells take a few seconds) and the checked-in Markdown does not depend on the machine.
SYMPY_BUDGET = 300.0

#: (family, sizes, log-scale n, what the report shows)
REPORTS = [
    ("logistic", range(1, 13), False,
     "each step uses the previous term twice: the derivative's shared DAG grows by a constant number of "
     "nodes per step, while trees and SymPy's derivative double (and more) each step; reverse mode stays "
     "at a fixed multiple of the function's own operations"),
    ("product", (1, 2, 4, 8, 16, 32, 64), True,
     "n inputs: forward mode needs n sweeps, so its operations grow as n² (k ≈ 2), reverse mode one "
     "sweep, so its operations grow as n (k ≈ 1); per-input symbolic derivatives grow as n² too"),
    ("mlp", range(1, 13), False,
     "a scalar tanh network whose weights and biases are inputs: reverse mode (backpropagation) costs a "
     "fixed multiple of the forward pass, forward mode grows with depth × parameters"),
    ("nested-sin", range(1, 13), False,
     "a chain that uses each term once: no exponential swell, the derivative tree only grows as n², "
     "since each factor cos(sin(…)) repeats the chain below it"),
]


def make_gallery(outdir: Path) -> list[Path]:
    """Write the swell reports into ``outdir`` and return the files written."""
    folder = GalleryFolder(outdir)
    outdir, written, write = folder.path, folder.written, folder.write

    index = ["# Expression swell", "",
             "Each report measures a family of functions f_n: the size of f and of its derivatives, "
             "as trees (no sharing) and as shared DAGs, SymPy's derivative before and after common-"
             "subexpression elimination, and the operations forward and reverse mode need for the full "
             "gradient. Regenerate with `.venv/bin/python -m gallery.build --part swell`; the same "
             "report at the command line: "
             "`diffexplore swell logistic --n 1:12 --plot swell.png --format md`.", ""]
    for family, sizes, logx, shows in REPORTS:
        report = dx.swell(family, sizes, timeout=SYMPY_BUDGET, progress=False)
        picture = outdir / f"{family}.png"
        report.plot(picture, logx=logx)
        written.append(picture)
        links = (f"\n![sizes and times of {family} against n]({family}.png)\n\n"
                 f"Measured times: [{family}-timings.md]({family}-timings.md).\n")
        write(f"{family}.md", report.to_markdown(include="sizes") + links)
        write(f"{family}-timings.md", report.to_markdown(include="times"))
        if family == "logistic":
            write(f"{family}.csv", report.to_csv(include="sizes"))
            write(f"{family}.json", report.to_json(include="sizes"))
        index.append(f"- [{family}]({family}.md): {shows}.")
    write("README.md", "\n".join(index) + "\n")
    return written
