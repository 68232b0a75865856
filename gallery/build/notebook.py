"""Show: the ``notebook`` part of the gallery: ``examples/tour.ipynb`` executed in a Jupyter kernel and
photographed as nbconvert's HTML in headless Chromium (``tour_notebook.png``, the README's picture).

The kernel is Jupyter's own ``python3`` (this interpreter, run from the repository root, so it imports
this checkout). Only the README is text; the screenshot is an image and is not compared by the tests.
"""

from __future__ import annotations

from pathlib import Path

from diffexplore.explorer.browser import BrowserNotFound, headless_chromium
from diffexplore.reports.tour_notebook import NOTEBOOK_PATH

__all__ = ["make_gallery", "execute_tour", "README"]

ROOT = Path(__file__).resolve().parents[2]
#: The screenshot's window: the top of the notebook (the seed graph, the step sweep's table and plot).
VIEWPORT = {"width": 1100, "height": 1500}

README = """# The tour in a notebook

`tour_notebook.png`: the top of `examples/tour.ipynb` run in a Jupyter kernel and shown as nbconvert's
HTML: the seed example displays as its own graph (SVG, with a PNG beside it for untrusted notebooks),
and the step sweep as its table with the error plot under it. Every result of diffexplore displays
itself this way; see "In a notebook" in the top-level README.

Regenerate with `python -m gallery.build --part notebook` (needs the dev extras: nbclient, ipykernel,
nbconvert; and Chromium for the picture).
"""


def execute_tour():
    """``examples/tour.ipynb`` executed in the ``python3`` kernel, from the repository root."""
    import nbformat
    from nbclient import NotebookClient
    notebook = nbformat.read(ROOT / NOTEBOOK_PATH, as_version=4)
    NotebookClient(notebook, kernel_name="python3", timeout=600,
                   resources={"metadata": {"path": str(ROOT)}}).execute()
    return notebook


def make_gallery(outdir: Path, screenshots: bool = True) -> list[Path]:
    """Write the README and (``screenshots``, with Chromium) the screenshot into ``outdir``.

    >>> import tempfile
    >>> with tempfile.TemporaryDirectory() as folder:
    ...     [p.name for p in make_gallery(Path(folder), screenshots=False)]
    ['README.md']
    """
    outdir = Path(outdir)
    outdir.mkdir(parents=True, exist_ok=True)
    readme = outdir / "README.md"
    readme.write_text(README, encoding="utf-8")
    if not screenshots:
        return [readme]
    from nbconvert import HTMLExporter
    page_file = outdir / "tour.html"
    page_file.write_text(HTMLExporter().from_notebook_node(execute_tour())[0], encoding="utf-8")
    picture = outdir / "tour_notebook.png"
    try:
        with headless_chromium() as browser:
            page = browser.new_page(viewport=VIEWPORT)
            page.goto(page_file.as_uri())
            page.screenshot(path=str(picture))
            page.close()
    except BrowserNotFound:
        return [readme]
    finally:
        page_file.unlink()
    return [readme, picture]
