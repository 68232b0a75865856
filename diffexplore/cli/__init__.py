"""Show: the command line, a thin shell over the Python API.

Each subcommand lives in its own module of this package with ``add_parser(subparsers)`` and
``run(args) -> int``; :func:`main` finds them, parses the arguments with :mod:`argparse` and turns every
:class:`~diffexplore.errors.DiffexploreError` into a message on standard error and exit status 2, never a
traceback.

Every option that takes a value is checked when it is parsed, by the ``type=`` functions below (a
number in its range, a point, an output file whose folder exists and whose extension is known): a bad
value stops the command before any work, with one line naming the option, what was wrong and what is
allowed, and exit status 2.
"""

from __future__ import annotations

import argparse
import importlib
import math
import os
import pkgutil
import sys
from collections.abc import Callable, Sequence
from pathlib import Path

from ..errors import DiffexploreError
from ..output_paths import check_output_path, plot_extensions

__all__ = ["main", "parse_point", "load_function", "whole_number", "seconds", "point", "output_file",
           "plot_file", "new_folder", "digits", "max_nodes", "write_text", "MAX_DIGITS", "MAX_SECONDS",
           "MAX_DRAWN_NODES"]

#: Significant digits a float64 has (17 print it exactly).
MAX_DIGITS = 17
#: The longest time budget an option accepts: one day.
MAX_SECONDS = 86_400.0
#: The largest --max-nodes: Graphviz lays out a 10,000-node drawing in minutes, larger ones take hours.
MAX_DRAWN_NODES = 10_000


class UsageError(Exception):
    """A bad command line, found by argparse: reported in one line with exit status 2."""


class _Parser(argparse.ArgumentParser):
    """argparse with its errors as one line (``diffexplore render: argument --digits: ...``) instead of
    the usage text and a second line; --help still prints the usage."""

    def error(self, message: str):
        raise UsageError(f"{self.prog}: {message} (see {self.prog} --help)")


def _type(name: str, check: Callable[[str], object]) -> Callable[[str], object]:
    """An argparse ``type=``: ``check`` raises DiffexploreError or ValueError with the message, which
    argparse prints after the option's name."""
    def convert(text: str) -> object:
        try:
            return check(text)
        except (DiffexploreError, ValueError) as exc:
            raise argparse.ArgumentTypeError(str(exc)) from None
    convert.__name__ = name
    return convert


def whole_number(low: int, high: int | None = None, what: str = "a whole number") -> Callable:
    """A ``type=`` for an integer in [low, high].

    >>> whole_number(1, 17)("5")
    5
    >>> whole_number(1, 17)("-3")
    Traceback (most recent call last):
    ...
    argparse.ArgumentTypeError: must be a whole number from 1 to 17, got '-3'
    """
    allowed = f"from {low:,} to {high:,}" if high is not None else f"of {low:,} or more"

    def check(text: str) -> int:
        try:
            value = int(text.strip().replace("_", ""))
        except ValueError:
            raise ValueError(f"must be {what} {allowed}, got {text!r}") from None
        if value < low or (high is not None and value > high):
            raise ValueError(f"must be {what} {allowed}, got {text!r}")
        return value
    return _type("whole number", check)


def _seconds(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise ValueError(f"must be a number of seconds, got {text!r}") from None
    if not math.isfinite(value) or not 0 < value <= MAX_SECONDS:
        raise ValueError(f"must be a number of seconds above 0 and at most {MAX_SECONDS:g} (one day), "
                         f"got {text!r}")
    return value


#: ``type=`` for a time budget: a finite number of seconds in (0, one day].
seconds = _type("seconds", _seconds)
#: ``type=`` for significant digits: 1 to 17.
digits = whole_number(1, MAX_DIGITS)
#: ``type=`` for --max-nodes: 1 to :data:`MAX_DRAWN_NODES`.
max_nodes = whole_number(1, MAX_DRAWN_NODES)


def parse_point(text: str | None) -> dict[str, float]:
    """``"x=1,y=2.5"`` as ``{"x": 1.0, "y": 2.5}``, with an error naming the bad part.

    >>> parse_point("x1=2, x2=5")
    {'x1': 2.0, 'x2': 5.0}
    """
    point: dict[str, float] = {}
    if not text:
        return point
    for part in text.split(","):
        part = part.strip()
        if not part:
            continue
        name, sep, value = part.partition("=")
        name = name.strip()
        if not sep or not name.isidentifier():
            raise DiffexploreError(f"--at: {part!r} is not of the form name=value (e.g. --at x=1,y=2)")
        if name in point:
            raise DiffexploreError(f"--at: {name!r} is given twice")
        try:
            number = float(value)
        except ValueError:
            raise DiffexploreError(
                f"--at: the value of {name!r} is {value.strip()!r}, not a number") from None
        if not math.isfinite(number):
            raise DiffexploreError(f"--at: the value of {name!r} is {value.strip()!r}; give a finite number")
        point[name] = number
    return point


def _point(text: str) -> str:
    try:
        parse_point(text)                   # checked here; run() parses it again
    except DiffexploreError as exc:         # argparse names the option already
        raise ValueError(str(exc).removeprefix("--at: ")) from None
    return text


#: ``type=`` for --at: checks ``name=value,...`` (the text is kept; run() calls :func:`parse_point`).
point = _type("point", _point)


def _seed(text: str) -> str:
    if "=" in text:
        parse_point(text)
    elif not text.strip().isidentifier():
        raise ValueError(f"{text!r} is neither a variable name (x) nor values (x=1,y=0.5)")
    return text


#: ``type=`` for --seed: a variable name or ``name=value,...``.
seed = _type("seed", _seed)


def output_file(extensions: Sequence[str] | None = None) -> Callable:
    """A ``type=`` for a file to write: its folder must exist (none is created) and be writable, and
    its extension be one of ``extensions`` (any when None).

    >>> try:
    ...     output_file(["svg", "png"])("/no/such/folder/f.svg")
    ... except argparse.ArgumentTypeError as error:
    ...     print(str(error).split(": ")[1])
    the folder '/no/such/folder' does not exist (create it first)
    """
    def check(text: str) -> Path:
        return check_output_path(text, extensions)
    return _type("file", check)


def plot_file(text: str) -> Path:
    """A ``type=`` for a plot: a file Matplotlib can write (by extension) in an existing folder."""
    return output_file(plot_extensions())(text)


def _new_folder(text: str) -> Path:
    path = Path(text)
    if not text.strip():
        raise ValueError("the folder name is empty")
    if path.exists() and not path.is_dir():
        raise ValueError(f"{text!r} is a file, not a folder")
    if not path.exists():
        check_output_path(path)
    return path


#: ``type=`` for an output folder: it may be new, but its parent must exist.
new_folder = _type("folder", _new_folder)


def write_text(path: str | Path, text: str) -> Path:
    """Write ``text`` (UTF-8) to ``path``, with an error naming the file if the system refuses."""
    path = Path(path)
    try:
        path.write_text(text, encoding="utf-8")
    except OSError as exc:
        raise DiffexploreError(f"cannot write {str(path)!r}: {exc.strerror or exc}") from None
    return path


def load_function(expr: str | None, python: str | None, point: dict):
    """The graph a subcommand works on: a formula string, or a Python function traced at ``point``
    (``--python FILE:FUNC``)."""
    if python:
        from ..trace import trace_file
        return trace_file(python, point)
    if expr is None:
        raise DiffexploreError("give a formula (e.g. \"1 + x + exp(sin(x*y))\") or --python FILE:FUNC")
    from ..parse import parse
    return parse(expr)


def _commands():
    package = importlib.import_module(__name__)
    names = sorted(m.name for m in pkgutil.iter_modules(package.__path__) if not m.name.startswith("_"))
    return [importlib.import_module(f"{__name__}.{n}") for n in names]


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog="diffexplore",
        description="Explore symbolic versus automatic differentiation on one shared expression graph.")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for module in _commands():
        command = module.add_parser(sub)
        command.set_defaults(run=module.run)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except UsageError as exc:
        print(exc, file=sys.stderr)
        return 2
    if not getattr(args, "run", None):
        parser.print_help()
        return 1
    try:
        return int(args.run(args) or 0)
    except DiffexploreError as exc:
        print(f"diffexplore {args.command}: {exc}", file=sys.stderr)
        return 2
    except MemoryError:
        print(f"diffexplore {args.command}: out of memory; try a smaller input", file=sys.stderr)
        return 2
    except BrokenPipeError:
        return 0
    except KeyboardInterrupt:
        print(f"diffexplore {args.command}: interrupted", file=sys.stderr)
        return 130
    except Exception as exc:               # a bug, not bad input: say so briefly (DIFFEXPLORE_DEBUG shows it)
        if os.environ.get("DIFFEXPLORE_DEBUG"):
            raise
        print(f"diffexplore {args.command}: internal error ({type(exc).__name__}: {exc}). "
              "Please report it; run with DIFFEXPLORE_DEBUG=1 for the traceback.", file=sys.stderr)
        return 3


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
