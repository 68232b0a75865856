"""Show: regenerate everything in ``gallery/`` (``make gallery``), one part per feature.

Each part is a module with ``make_gallery(outdir: Path) -> list[Path]`` that writes into its own
subfolder. Text outputs (DOT, Markdown, CSV, JSON) are deterministic, so a test can tell when the
checked-in gallery is stale; measured times go only into files whose names contain ``timings`` and
into images.
"""

from __future__ import annotations

import importlib
from pathlib import Path

__all__ = ["PARTS", "build_gallery", "GalleryFolder"]

#: (subfolder, module) for every part of the gallery, in the order of the argument it illustrates.
PARTS = [
    ("views", "diffexplore.render.gallery"),
    ("traces", "diffexplore.reports.traces_gallery"),
    ("swell", "diffexplore.reports.swell_gallery"),
    ("dynamic", "diffexplore.reports.dynamic_gallery"),
    ("nn", "diffexplore.reports.nn_gallery"),
    ("explorer", "diffexplore.reports.explorer_gallery"),
]


class GalleryFolder:
    """One gallery part's output folder: writes text files into it and remembers what it wrote."""

    def __init__(self, outdir: str | Path):
        self.path = Path(outdir)
        self.path.mkdir(parents=True, exist_ok=True)
        self.written: list[Path] = []

    def write(self, name: str, text: str) -> Path:
        path = self.path / name
        path.write_text(text, encoding="utf-8")
        self.written.append(path)
        return path


def build_gallery(outdir: str | Path = "gallery", parts: list[str] | None = None) -> list[Path]:
    """Write every gallery part (or the named ones) under ``outdir`` and return the files written."""
    outdir = Path(outdir)
    written: list[Path] = []
    for folder, module_name in PARTS:
        if parts and folder not in parts:
            continue
        try:
            module = importlib.import_module(module_name)
        except ModuleNotFoundError as exc:
            if exc.name == module_name:
                continue          # that part is not built yet
            raise
        target = outdir / folder
        target.mkdir(parents=True, exist_ok=True)
        written.extend(module.make_gallery(target))
    return written
