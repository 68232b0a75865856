"""The checked-in gallery is what `make gallery` (`python -m gallery.build`) makes now: its text sources
(DOT, Markdown, CSV, JSON, HTML, LaTeX) are regenerated and compared byte for byte; images and timing
files are not compared."""

import importlib
from pathlib import Path

import pytest

from gallery.build import PARTS

GALLERY = Path(__file__).resolve().parent.parent / "gallery"
TEXT = {".dot", ".md", ".csv", ".json", ".html", ".tex"}


def sources(folder: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(folder.iterdir())
            if p.suffix in TEXT and "timings" not in p.name}


@pytest.mark.slow
@pytest.mark.dot
@pytest.mark.parametrize("part, module_name", PARTS, ids=[p for p, _ in PARTS])
def test_checked_in_gallery_part_is_fresh(part, module_name, tmp_path):
    module = importlib.import_module(module_name)
    module.make_gallery(tmp_path)
    fresh, checked_in = sources(tmp_path), sources(GALLERY / part)
    assert sorted(fresh) == sorted(checked_in), f"gallery/{part}: files differ; run make gallery"
    stale = [name for name in fresh if fresh[name] != checked_in[name]]
    assert not stale, f"gallery/{part} is stale ({', '.join(stale)}); run make gallery and commit it"


def test_gallery_index_names_every_part():
    index = (GALLERY / "README.md").read_text(encoding="utf-8")
    for part, _ in PARTS:
        assert f"{part}/" in index
