"""The adjoint view and the explorer mark what reverse mode remembers: the values it stores (the tape), or
with checkpoints the snapshots and the nodes computed again. The marks are one line per node, pinned by
golden DOT files (regenerate with UPDATE_GOLDEN=1 after an intended change)."""

import os
import re
from pathlib import Path

import pytest

import diffexplore as dx

GOLDEN = Path(__file__).parent / "golden"
SEED = "1 + x + exp(sin(x*y))"
CHAIN = "sin(sin(sin(sin(sin(x)))))"
CASES = {"seed_adjoint_memory": (SEED, {"x": 1.0, "y": 2.0}, {"memory": True}),
         "chain_adjoint_checkpoints": (CHAIN, {"x": 1.0}, {"checkpoints": 2})}


@pytest.mark.parametrize("name", sorted(CASES))
def test_memory_marks_equal_the_golden_dot_files(name):
    formula, at, options = CASES[name]
    source = dx.to_dot(formula, at=at, views="adjoint", **options)
    path = GOLDEN / f"{name}.dot"
    if os.environ.get("UPDATE_GOLDEN"):
        path.write_text(source, encoding="utf-8")
    assert source == path.read_text(encoding="utf-8")


def marked(source: str, mark: str) -> set[str]:
    return {node for node, label in re.findall(r"^\s*adjoint_(\w+) \[label=<(.*)>", source, flags=re.M)
            if mark in label}


def test_the_tape_is_what_the_local_partials_read():
    source = dx.to_dot(SEED, at={"x": 1.0, "y": 2.0}, views="adjoint", memory=True)
    # x*y's partials read x and y (inputs); sin reads x*y; exp reads its own output
    assert marked(source, "stored for the backward sweep") == {"e", "h"}
    assert "memory: ■" in source


def test_checkpoints_mark_the_snapshot_and_the_segment_computed_again():
    source = dx.to_dot(CHAIN, at={"x": 1.0}, views="adjoint", checkpoints=2)
    assert marked(source, "checkpoint") == {"d"}
    # the segment before the snapshot is run again up to and including the snapshot's own operation
    assert marked(source, "run again 1×") == {"b", "c", "d"}


def test_the_marks_count_every_operation_run_again():
    for checkpoints in (2, 3, "sqrt", ("binomial", 2)):
        source = dx.to_dot(CHAIN, at={"x": 1.0}, views="adjoint", checkpoints=checkpoints)
        counted = sum(int(k) for k in re.findall(r"run again (\d+)×", source))
        assert counted == dx.memory(CHAIN, {"x": 1.0}, checkpoints=checkpoints).recomputed_ops, checkpoints


def test_the_default_drawing_has_no_marks():
    assert "memory:" not in dx.to_dot(SEED, at={"x": 1.0, "y": 2.0}, views="adjoint")


def test_the_explorer_marks_the_stored_values_in_its_adjoint_view():
    page = dx.explore(CHAIN, {"x": 1.0}, checkpoints=2)
    assert "checkpoint (snapshot)" in page.html and "run again" in page.html
    assert "stored for the backward sweep" in dx.explore(SEED, {"x": 1.0, "y": 2.0}, memory=True).html


def test_the_command_line_marks_memory_in_render_and_refuses_bad_checkpoints(capsys):
    from diffexplore.cli import main
    assert main(["render", CHAIN, "--at", "x=1", "--views", "adjoint", "--checkpoints", "2"]) == 0
    assert "checkpoint (snapshot)" in capsys.readouterr().out
    assert main(["render", SEED, "--at", "x=1,y=2", "--views", "adjoint", "--memory"]) == 0
    assert "stored for the backward sweep" in capsys.readouterr().out
    assert main(["render", CHAIN, "--at", "x=1", "--checkpoints", "binomial:0"]) == 2
    assert "at least one snapshot" in capsys.readouterr().err
