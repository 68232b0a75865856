"""Show: a drawing as an object (notebook display) and as a file (SVG, PNG, PDF or DOT text).

:class:`Drawing` is a :class:`graphviz.Digraph` that also carries the notes of rendering (which views
were summarised, and why). In Jupyter it displays itself as SVG with a PNG beside it
(:mod:`.notebook`); without the ``dot`` program it falls back to its DOT text and the install hint
instead of failing. :func:`write_drawing` picks the format from the
file extension and, when ``dot`` is missing, still writes the DOT text and raises
:class:`~diffexplore.errors.DotNotFound` saying how to install Graphviz.
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import graphviz

from ..errors import DiffexploreError, DotNotFound

__all__ = ["Drawing", "write_drawing", "FORMATS", "TEXT_FORMATS", "install_hint", "RASTER_DPI"]

#: Extensions Graphviz renders (through the ``dot`` program) and extensions written as DOT text.
FORMATS = ("svg", "png", "pdf")
TEXT_FORMATS = ("dot", "gv")
#: Resolution of PNG files: sharp enough to read small edge labels.
RASTER_DPI = 144


def install_hint() -> str:
    """How to install the Graphviz ``dot`` program.

    >>> "apt-get install graphviz" in install_hint()
    True
    """
    return ("Graphviz's `dot` program was not found on PATH. Install it with `sudo apt-get install graphviz` "
            "(Debian/Ubuntu; `make setup` does this), `brew install graphviz` (macOS) or "
            "`conda install graphviz`")


class Drawing(graphviz.Digraph):
    """A :class:`graphviz.Digraph` with ``notes``: what rendering summarised and why.

    >>> d = Drawing(notes=["a note"])
    >>> d.notes, isinstance(d, graphviz.Digraph), d.copy().notes
    (['a note'], True, ['a note'])
    """

    def __init__(self, *args, notes=(), **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.notes = list(notes)

    def copy(self) -> Drawing:
        duplicate = super().copy()
        duplicate.notes = list(self.notes)
        return duplicate

    def __repr__(self) -> str:
        from .notebook import drawing_text
        return drawing_text(self)

    def _repr_mimebundle_(self, include=None, exclude=None, **kwargs):
        """Jupyter: SVG scaled to the cell with a PNG beside it; without ``dot``, the DOT text and how to
        install ``dot``."""
        from .notebook import drawing_bundle
        return drawing_bundle(self, repr(self))


#: Seconds Graphviz may take to lay out one drawing (dot's layout is superlinear: a graph whose every
#: level reads one input has long edges everywhere, and 121 such nodes took dot over two minutes).
DOT_TIMEOUT = 60.0


def pipe(drawing: graphviz.Digraph, extension: str, timeout: float = DOT_TIMEOUT) -> bytes:
    """The drawing laid out by Graphviz in a format (``svg``, ``png``, ...), within ``timeout`` seconds:
    past it, a :class:`DiffexploreError` says so (and how to draw less), instead of waiting for ever."""
    if shutil.which("dot") is None:
        raise graphviz.ExecutableNotFound(["dot"])
    try:
        done = subprocess.run(["dot", f"-T{extension}"], input=drawing.source.encode("utf-8"),
                              capture_output=True, timeout=timeout, check=False)
    except subprocess.TimeoutExpired:
        raise DiffexploreError(f"Graphviz did not lay out the drawing within {timeout:g} s; draw fewer "
                               "nodes (max_nodes= / --max-nodes: above it a view becomes a size table)"
                               ) from None
    if done.returncode:
        raise graphviz.CalledProcessError(done.returncode, "dot", output=done.stdout, stderr=done.stderr)
    return done.stdout


def write_drawing(drawing: graphviz.Digraph, path: str | Path, dpi: int = RASTER_DPI) -> Path:
    """Write a drawing to ``path``; the extension picks the format (.svg, .png, .pdf, or .dot/.gv text).

    Without the ``dot`` program the DOT text is written beside ``path`` (same name, ``.dot``) and
    :class:`~diffexplore.errors.DotNotFound` says how to install Graphviz.

    >>> import tempfile, diffexplore as dx
    >>> folder = Path(tempfile.mkdtemp())
    >>> write_drawing(dx.render("x*y"), folder / "f.dot").read_text().startswith("digraph")
    True
    """
    path = Path(path)
    extension = path.suffix.lower().lstrip(".")
    if extension in TEXT_FORMATS:
        path.write_text(drawing.source, encoding="utf-8")
        return path
    if extension not in FORMATS:
        allowed = ", ".join(f".{e}" for e in FORMATS + TEXT_FORMATS)
        raise DiffexploreError(f"cannot write {path.name!r}: unknown extension {path.suffix or '(none)'!r}; "
                               f"allowed: {allowed}")
    source = drawing
    if extension == "png":
        source = drawing.copy()
        source.graph_attr["dpi"] = str(dpi)
    try:
        data = pipe(source, extension)
    except graphviz.ExecutableNotFound:
        dot_path = path.with_suffix(".dot")
        dot_path.write_text(drawing.source, encoding="utf-8")
        raise DotNotFound(f"cannot make {path.name}: {install_hint()}. The DOT text was written to "
                          f"{dot_path}; once Graphviz is installed, run "
                          f"`dot -T{extension} {dot_path} -o {path}`") from None
    except graphviz.CalledProcessError as exc:
        raise DiffexploreError(f"Graphviz failed to render {path.name}: {exc.stderr!r}") from None
    path.write_bytes(data)
    return path
