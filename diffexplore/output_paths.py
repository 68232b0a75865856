"""Show: where a picture, page or report may be written, checked before any work is done.

Every writer (the command line's ``-o``/``--plot`` options and the ``plot(path)``/``save(path)``
methods of the reports) goes through :func:`check_output_path`: the folder must exist (none is
created: a typo must not write a file at the file system root), be a folder and be writable, and the
file's extension must be one the writer knows.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from pathlib import Path

from .errors import DiffexploreError

__all__ = ["check_output_path", "plot_extensions"]


def check_output_path(path: str | Path, extensions: Iterable[str] | None = None, what: str = "write") -> Path:
    """``path`` as a Path if it can be written, else a DiffexploreError naming the file and what is
    allowed (``extensions``: without the dot, any when None; ``what``: the verb of the message).

    >>> try:
    ...     check_output_path("/no/such/folder/plot.png", ["png"], "plot")
    ... except DiffexploreError as error:
    ...     print(str(error).split(": ")[1])
    the folder '/no/such/folder' does not exist (create it first)
    """
    text = str(path)
    if not text.strip():
        raise DiffexploreError("the file name is empty")
    path = Path(path)
    if extensions is not None:
        allowed = sorted(extensions)
        if path.suffix.lstrip(".").lower() not in allowed:
            extension = path.suffix or "(none)"
            raise DiffexploreError(f"cannot {what} to {text!r}: unknown extension {extension!r}; "
                                   f"allowed: {', '.join('.' + e for e in allowed)}")
    folder = path.parent
    if not folder.is_dir():
        reason = "is not a folder" if folder.exists() else "does not exist (create it first)"
        raise DiffexploreError(f"cannot {what} to {text!r}: the folder {str(folder)!r} {reason}")
    if path.is_dir():
        raise DiffexploreError(f"cannot {what} to {text!r}: it is a folder")
    if not os.access(folder, os.W_OK):
        raise DiffexploreError(f"cannot {what} to {text!r}: the folder {str(folder)!r} is not writable")
    _try_writing(path, text, what)
    return path


def _try_writing(path: Path, text: str, what: str) -> None:
    """Open the file for writing before any work is done (a folder can refuse files that os.access
    allows, as /proc does); a file that did not exist is removed again."""
    existed = path.exists()
    try:
        with open(path, "ab"):
            pass
    except OSError as exc:
        raise DiffexploreError(f"cannot {what} to {text!r}: {exc.strerror or exc}") from None
    if not existed:
        path.unlink(missing_ok=True)


def plot_extensions() -> list[str]:
    """The file extensions Matplotlib writes (png, svg, pdf, ...)."""
    from matplotlib.backend_bases import FigureCanvasBase
    return sorted(FigureCanvasBase.get_supported_filetypes())
