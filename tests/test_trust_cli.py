"""The command line refuses bad option values: every subcommand × every kind of bad value exits with
status 2 and one line on standard error naming the option (never a traceback, never exit 3 "internal
error", never a hang), and writes nothing anywhere: not beside the named path, not in a folder it would
have had to create."""

import subprocess
import sys
from pathlib import Path

import pytest

from diffexplore.cli import main

# (arguments, text the one-line message must contain). "{tmp}" is a fresh empty folder; "{missing}" a
# folder inside it that does not exist.
BAD = [
    # render
    (["render", "x*y", "-o", "/proc/x.svg"], "/proc/x.svg"),
    (["render", "x*y", "-o", "{missing}/x.svg"], "does not exist"),
    (["render", "x*y", "-o", "{tmp}/x.bmp"], "argument -o/--output"),
    (["render", "x*y", "--digits", "-3"], "argument --digits: must be a whole number from 1 to 17"),
    (["render", "x*y", "--digits", "three"], "argument --digits"),
    (["render", "x*y", "--max-nodes", "0"], "argument --max-nodes"),
    (["render", "x*y", "--max-nodes", "1000000000"], "argument --max-nodes"),
    (["render", "x*y", "--at", "x=nan,y=1"], "finite"),
    (["render", "x*y", "--seed", "1+"], "argument --seed"),
    # explore
    (["explore", "x*y", "--at", "x=1,y=2", "-o", "/proc/x.html"], "/proc/x.html"),
    (["explore", "x*y", "--at", "x=1,y=2", "-o", "{missing}/x.html"], "does not exist"),
    (["explore", "x*y", "--at", "x=1,y=2", "--digits", "-3"], "argument --digits"),
    (["explore", "x*y", "--at", "x=1,y=2", "--max-nodes", "-1"], "argument --max-nodes"),
    (["explore", "x*y", "--at", "x=inf,y=2"], "argument --at"),
    (["explore", "x*y", "--at", "x=1,x=2"], "given twice"),
    # steps
    (["steps", "exp(x)", "--at", "x=1", "--plot", "{tmp}/x.txt"], "argument --plot"),
    (["steps", "exp(x)", "--at", "x=1", "--plot", "{missing}/x.png"], "does not exist"),
    (["steps", "exp(x)", "--at", "x=1", "--plot", "/proc/x.png"], "/proc/x.png"),
    (["steps", "exp(x)", "--at", "x=1", "--csv", "{missing}/x.csv"], "argument --csv"),
    (["steps", "exp(x)", "--at", "x=1", "--points", "1"], "argument --points"),
    (["steps", "exp(x)", "--at", "x=1", "--points", "1000000000"], "argument --points"),
    # swell
    (["swell", "logistic", "--timeout", "nan"], "argument --timeout"),
    (["swell", "logistic", "--timeout", "inf"], "argument --timeout"),
    (["swell", "logistic", "--timeout", "-1"], "argument --timeout"),
    (["swell", "logistic", "--timeout", "0"], "argument --timeout"),
    (["swell", "logistic", "--n", "99999999999999999999"], "over the limit of 500,000"),
    (["swell", "logistic", "--n", "1:100000000"], "at most 1,000"),
    (["swell", "product", "--n", "100000", "--no-sympy"], "over the limit"),
    (["swell", "logistic", "--n", "1:3", "--plot", "{missing}/x.png"], "argument --plot"),
    (["swell", "logistic", "--n", "1:3", "--plot", "{tmp}/x.txt"], "argument --plot"),
    (["swell", "logistic", "--n", "1:3", "-o", "{missing}/x.md"], "argument -o/--output"),
    (["swell", "logistic", "--at", "x=nan"], "argument --at"),
    # diff
    (["diff", "x*y", "--wrt", "x", "--timeout", "nan"], "argument --timeout"),
    (["diff", "x*y", "--wrt", "x", "--timeout", "inf"], "argument --timeout"),
    (["diff", "x*y", "--wrt", "x", "--timeout", "-5"], "argument --timeout"),
    (["diff", "x*y", "--wrt", "x", "--order", "-1"], "argument --order"),
    (["diff", "x*y", "--wrt", "x", "--order", "1000"], "argument --order"),
    # trace, grad, demo
    (["trace", "x*y", "--at", "x=1,y=2", "--digits", "-3"], "argument --digits"),
    (["trace", "x*y", "--at", "x=1,y=nan"], "argument --at"),
    (["grad", "x*y", "--at", "x=1,y=inf"], "argument --at"),
    (["demo", "--at", "x=nan"], "argument --at"),
    # cost
    (["cost", "--widths", "0"], "argument --widths"),
    (["cost", "--widths", "1000000000"], "argument --widths"),
    (["cost", "--widths", "3000", "--times"], "--times"),
    (["cost", "--repeats", "0"], "argument --repeats"),
    (["cost", "--widths", "1,2", "--plot", "{tmp}/x.txt"], "argument --plot"),
    (["cost", "--widths", "1,2", "--plot", "{missing}/x.png"], "argument --plot"),
    # tour
    (["tour", "-o", "{missing}/deeper/tour"], "argument -o/--out"),
]


def fill(args: list[str], tmp: Path) -> list[str]:
    return [a.replace("{tmp}", str(tmp)).replace("{missing}", str(tmp / "missing")) for a in args]


def everything_under(folder: Path) -> list[Path]:
    return sorted(folder.rglob("*"))


@pytest.mark.parametrize("args, message", BAD, ids=[" ".join(a) for a, _ in BAD])
def test_a_bad_option_value_exits_2_with_one_line_and_writes_nothing(args, message, tmp_path, capsys):
    status = main(fill(args, tmp_path))
    captured = capsys.readouterr()
    assert status == 2, captured.err
    assert captured.err.count("\n") == 1 and captured.err.endswith("\n"), captured.err
    assert captured.err.startswith(f"diffexplore {args[0]}: "), captured.err
    assert message in captured.err
    assert "internal error" not in captured.err and "Traceback" not in captured.err
    assert everything_under(tmp_path) == []
    assert not any(Path(p).exists() for p in ("/proc/x.svg", "/proc/x.html", "/proc/x.png"))


def test_an_existing_file_is_not_a_tour_folder(tmp_path, capsys):
    (tmp_path / "taken").write_text("", encoding="utf-8")
    assert main(["tour", "-o", str(tmp_path / "taken")]) == 2
    assert "is a file, not a folder" in capsys.readouterr().err


@pytest.mark.parametrize("args", [
    ["swell", "logistic", "--timeout", "nan"],
    ["steps", "exp(x)", "--at", "x=1", "--plot", "/tmp/x.unknown-extension"],
    ["render", "x*y", "-o", "/proc/x.svg"],
])
def test_as_a_separate_process_there_is_no_traceback(args):
    """The same refusals end to end: exit status 2, one line, no traceback."""
    result = subprocess.run([sys.executable, "-m", "diffexplore", *args], capture_output=True, text=True,
                            timeout=120)
    assert result.returncode == 2
    assert result.stderr.count("\n") == 1 and "Traceback" not in result.stderr
    assert not Path("/tmp/x.unknown-extension").exists()


def test_good_values_still_work(tmp_path, capsys):
    svg, page, plot = tmp_path / "f.svg", tmp_path / "f.html", tmp_path / "steps.png"
    assert main(["render", "x*y", "--at", "x=1,y=2", "--digits", "17", "-o", str(svg)]) == 0
    assert main(["explore", "x*y", "--at", "x=1,y=2", "--max-nodes", "10000", "-o", str(page)]) == 0
    assert main(["steps", "exp(x)", "--at", "x=1", "--points", "2", "--plot", str(plot)]) == 0
    assert main(["diff", "x*y", "--wrt", "x", "--order", "0", "--timeout", "0.5"]) == 0
    assert main(["cost", "--widths", "1,2", "--repeats", "1"]) == 0
    capsys.readouterr()
    assert svg.read_text(encoding="utf-8").startswith("<?xml") and page.stat().st_size > 10_000
    assert plot.read_bytes()[:4] == b"\x89PNG"


@pytest.mark.parametrize("args, option", [
    (["explore", "x*y", "--at", "x=1,y=2", "-o", "{tmp}/page.svg"], "-o/--output"),
    (["steps", "sin(x)", "--at", "x=1", "--csv", "{tmp}/table.png"], "--csv"),
    (["steps", "sin(x)", "--at", "x=1", "--csv", "/proc/table.csv"], "--csv"),
    (["render", "x*y", "-o", "/proc/drawing.svg"], "-o/--output"),
    (["cost", "--widths", "1,,2"], "--widths"),
])
def test_a_file_that_cannot_be_written_or_has_the_wrong_kind_is_refused_before_any_work(args, option,
                                                                                      tmp_path, capsys):
    args = [a.replace("{tmp}", str(tmp_path)) for a in args]
    assert main(args) == 2
    err = capsys.readouterr().err.strip()
    assert f"argument {option}" in err and len(err.splitlines()) == 1 and "Traceback" not in err
    assert not any(tmp_path.iterdir())
