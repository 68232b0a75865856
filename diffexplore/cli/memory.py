"""``diffexplore memory``: what evaluation, forward and reverse mode hold as a family grows, checkpointing's
time–memory trade-off, and a plot of both."""

from __future__ import annotations

import argparse
import sys

from . import _type, output_file, plot_file, point, whole_number
from .swell import _sizes


def _checkpoints(text: str):
    """``--checkpoints``: K (a whole number of snapshots), ``sqrt``, or ``binomial:s``."""
    text = text.strip()
    if text == "sqrt":
        return "sqrt"
    kind, _, count = text.partition(":")
    try:
        number = int((count if kind == "binomial" else kind).replace("_", ""))
    except ValueError:
        raise ValueError(f"must be a number of snapshots K, sqrt or binomial:S, got {text!r}") from None
    if number < 1:
        raise ValueError(f"needs at least one snapshot (the one at the inputs), got {text!r}")
    return ("binomial", number) if kind == "binomial" else number


#: ``type=`` for --checkpoints (render, explore): K, sqrt or binomial:S.
checkpoints = _type("checkpoints", _checkpoints)


def add_memory_options(p: argparse.ArgumentParser) -> None:
    """--memory and --checkpoints: the adjoint view's memory marks (render, explore)."""
    p.add_argument("--memory", action="store_true",
                   help="mark in the adjoint view the values reverse mode stores for its backward sweep")
    p.add_argument("--checkpoints", type=checkpoints, metavar="K|sqrt|binomial:S",
                   help="mark instead the checkpoints of that schedule and the nodes it computes again")


def add_parser(sub) -> argparse.ArgumentParser:
    from ..reports.families import FAMILIES
    from ..reports.memory import FORMATS
    p = sub.add_parser(
        "memory", help="what reverse mode remembers: memory of each method against n, and checkpointing",
        description="The values evaluation, forward mode, reverse mode and reverse mode with √n checkpoints "
                    "hold (measured on lean sweeps) for each size n of a family, and the trade-off of "
                    "the checkpoint budget at one size: values held against operations run again, with "
                    "Griewank and Walther's binomial bound.",
        epilog="examples:\n"
               "  diffexplore memory nested-sin --n 2,4,8,16,32,64,128 --plot memory.png\n"
               "  diffexplore memory logistic --n 1:20 --trade 20 --format md\n"
               "  diffexplore memory \"sin(x)**n\" --n 1:8 --trade 0",
        formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("family", help=f"a family ({', '.join(FAMILIES)}) or a formula in which n is the size")
    p.add_argument("--n", metavar="SIZES", type=_type("sizes", _sizes),
                   help="sizes: a range 1:12 (inclusive), a list 2,4,8 or one number (default: the family's)")
    p.add_argument("--trade", type=whole_number(0, 100_000), metavar="N",
                   help="the size whose checkpoint budget is swept (default: the largest of --n; 0: none)")
    p.add_argument("--at", type=point, help="values overriding the family's point, e.g. x=0.3")
    p.add_argument("--format", choices=FORMATS, default="table", help="output format (default table)")
    p.add_argument("-o", "--output", metavar="FILE", type=output_file(),
                   help="write the report here (its folder must exist) instead of standard output")
    p.add_argument("--plot", metavar="FILE", type=plot_file,
                   help="plot memory against n and the trade-off (.png, .svg, .pdf; its folder must exist)")
    return p


def run(args) -> int:
    from ..reports.memory import memory_report
    from . import parse_point
    report = memory_report(args.family, args.n, at=parse_point(args.at), trade_n=args.trade)
    if args.output:
        report.write(args.output, args.format)
    else:
        sys.stdout.write(report.render(args.format))
    if args.plot:
        report.plot(args.plot)
        print(f"plot: {args.plot}", file=sys.stderr)
    return 0
