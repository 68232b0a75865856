"""The command line: every subcommand answers --help, the demo shows every method, bad input never
gives a traceback."""

import subprocess
import sys

import pytest

from diffexplore.cli import build_parser, main


def run(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "diffexplore", *args], capture_output=True, text=True,
                          timeout=300)


def test_every_subcommand_has_help(capsys):
    parser = build_parser()
    commands = parser._subparsers._group_actions[0].choices
    expected = {"demo", "grad", "diff", "render", "swell", "trace", "steps", "tour", "explore"}
    assert expected <= set(commands)
    assert "gallery" not in commands        # the repository's gallery is built by `python -m gallery.build`
    for name in commands:
        with pytest.raises(SystemExit) as exit_:
            main([name, "--help"])
        assert exit_.value.code == 0


def test_demo_prints_the_seed_gradient_by_every_method():
    result = run("demo")
    assert result.returncode == 0
    for method in ("reverse", "forward", "symbolic", "numeric"):
        assert method in result.stdout
    assert "-1.0662337359916694" in result.stdout          # 1 + e^{sin 2} cos 2 * 2, reverse mode


@pytest.mark.parametrize("args, message", [
    (["grad", "log(x)", "--at", "x=-1"], "log"),
    (["grad", "x +* y", "--at", "x=1,y=2"], "column"),
    (["grad", "sine(x)", "--at", "x=1"], "known functions"),
    (["grad", "x*y", "--at", "x=1"], "'y'"),
    (["grad", "x", "--at", "x=one"], "not a number"),
    (["diff", "x*y", "--wrt", "x", "--python", "nofile.py:f", "--at", "x=1"], "nofile.py"),
])
def test_bad_input_gets_a_message_not_a_traceback(args, message):
    result = run(*args)
    assert result.returncode == 2
    assert "Traceback" not in result.stderr
    assert message in result.stderr


def test_diff_prints_sizes_and_simplified_form():
    result = run("diff", "x*sin(x)", "--wrt", "x", "--simplify")
    assert result.returncode == 0
    assert "DAG nodes" in result.stdout and "simplified" in result.stdout
