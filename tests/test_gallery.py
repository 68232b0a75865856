"""The checked-in gallery is what `make gallery` (`python -m gallery.build`) makes now: its text sources
(DOT, Markdown, CSV, JSON, HTML, LaTeX) are regenerated and compared byte for byte; images and timing
files are not compared."""

import importlib
import re
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


def test_every_render_command_of_the_index_reproduces_its_picture(tmp_path):
    """A `diffexplore render` command listed beside a picture draws that picture: the same DOT text as
    the checked-in one (so a listed option such as --at cannot add values the picture does not show)."""
    import shlex

    from diffexplore.cli import main

    index = (GALLERY / "README.md").read_text(encoding="utf-8")
    checked = 0
    for line in index.splitlines():
        cells = line.split(" | ")
        if len(cells) < 3 or "diffexplore render" not in cells[1]:
            continue
        picture = re.search(r"\]\(([\w/.-]+)\.png\)", cells[0]).group(1)
        command = next(c for c in re.findall(r"`([^`]+)`", cells[1]) if c.startswith("diffexplore render"))
        if "--python" in command:
            continue                          # listed as how to trace one side, not as the picture's command
        args = shlex.split(command)[1:]
        out = tmp_path / "drawn.dot"
        args[args.index("-o") + 1] = str(out)
        assert main(args) == 0, command
        checked_in = (GALLERY / f"{picture}.dot").read_text(encoding="utf-8")
        assert out.read_text(encoding="utf-8") == checked_in, command
        checked += 1
    assert checked >= 2
