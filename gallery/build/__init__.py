"""Show: regenerate this repository's ``gallery/`` through diffexplore's public API, one part per feature.

Not part of the library: ``make gallery`` runs ``python -m gallery.build --out gallery`` from the
repository root. Each part is a module of this package with ``make_gallery(outdir: Path) -> list[Path]``
that writes into its own subfolder. Text outputs (DOT, Markdown, CSV, JSON, HTML, LaTeX) are
deterministic, so ``tests/test_gallery.py`` can tell when the checked-in gallery is stale; measured
times go only into files whose names contain ``timings`` and into images.

>>> [folder for folder, _module in PARTS]
['views', 'traces', 'swell', 'memory', 'dynamic', 'nn', 'explorer', 'tour', 'imports', 'notebook']
"""

from __future__ import annotations

import importlib
from pathlib import Path

__all__ = ["PARTS", "GALLERY", "build_gallery", "GalleryFolder"]

#: The checked-in gallery: the folder that holds this package.
GALLERY = Path(__file__).resolve().parent.parent

#: (subfolder, module) for every part of the gallery, in the order of the argument it illustrates.
PARTS = [
    ("views", "gallery.build.views"),
    ("traces", "gallery.build.traces"),
    ("swell", "gallery.build.swell"),
    ("memory", "gallery.build.memory"),
    ("dynamic", "gallery.build.dynamic"),
    ("nn", "gallery.build.nn"),
    ("explorer", "gallery.build.explorer"),
    ("tour", "gallery.build.tour"),
    ("imports", "gallery.build.imports"),
    ("notebook", "gallery.build.notebook"),
]


class GalleryFolder:
    """One gallery part's output folder: writes text files into it and remembers what it wrote.

    >>> import tempfile
    >>> with tempfile.TemporaryDirectory() as name:
    ...     folder = GalleryFolder(name)
    ...     folder.write("a.md", "# A\\n").name, len(folder.written)
    ('a.md', 1)
    """

    def __init__(self, outdir: str | Path):
        self.path = Path(outdir)
        self.path.mkdir(parents=True, exist_ok=True)
        self.written: list[Path] = []

    def write(self, name: str, text: str) -> Path:
        """Write ``text`` (UTF-8) to the file ``name`` of this folder and return its path."""
        path = self.path / name
        path.write_text(text, encoding="utf-8")
        self.written.append(path)
        return path


def build_gallery(outdir: str | Path = GALLERY, parts: list[str] | None = None) -> list[Path]:
    """Write every gallery part (or the named ones) under ``outdir`` and return the files written."""
    known = [folder for folder, _module in PARTS]
    unknown = sorted(set(parts or ()) - set(known))
    if unknown:
        raise ValueError(f"unknown gallery part(s) {', '.join(unknown)}; parts: {', '.join(known)}")
    outdir = Path(outdir)
    written: list[Path] = []
    for folder, module_name in PARTS:
        if parts and folder not in parts:
            continue
        target = outdir / folder
        target.mkdir(parents=True, exist_ok=True)
        written.extend(importlib.import_module(module_name).make_gallery(target))
    return written
