"""Show: the ``tour`` part of the gallery: the guided tour (``diffexplore tour``) as it ships, its
narration ``tour.md`` with every picture and table it points to.

``tour.md`` and the Markdown and DOT files are byte-for-byte deterministic (every number in them is
computed, none measured); the SVG and PNG files are what Graphviz and matplotlib make of them.
"""

from __future__ import annotations

from pathlib import Path

from diffexplore.reports.tour import run_tour

__all__ = ["make_gallery"]


def make_gallery(outdir: Path) -> list[Path]:
    """Write the tour into ``outdir`` and return the files of that folder."""
    outdir = Path(outdir)
    run_tour(outdir)
    return sorted(p for p in outdir.iterdir() if p.is_file())
