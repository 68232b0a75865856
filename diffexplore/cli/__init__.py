"""Show: the command line, a thin shell over the Python API.

Each subcommand lives in its own module of this package with ``add_parser(subparsers)`` and
``run(args) -> int``; :func:`main` finds them, parses the arguments with :mod:`argparse` and turns every
:class:`~diffexplore.errors.DiffexploreError` into a message on standard error and exit status 2, never a
traceback.
"""

from __future__ import annotations

import argparse
import importlib
import os
import pkgutil
import sys
from collections.abc import Sequence

from ..errors import DiffexploreError

__all__ = ["main", "parse_point", "load_function"]


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
        try:
            point[name] = float(value)
        except ValueError:
            raise DiffexploreError(
                f"--at: the value of {name!r} is {value.strip()!r}, not a number") from None
    return point


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
    parser = argparse.ArgumentParser(
        prog="diffexplore",
        description="Explore symbolic versus automatic differentiation on one shared expression graph.")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for module in _commands():
        command = module.add_parser(sub)
        command.set_defaults(run=module.run)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "run", None):
        parser.print_help()
        return 1
    try:
        return int(args.run(args) or 0)
    except DiffexploreError as exc:
        print(f"diffexplore {args.command}: {exc}", file=sys.stderr)
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
