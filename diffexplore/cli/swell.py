"""``diffexplore swell``: the expression-swell report of a family of functions (table, md, csv, json)."""

from __future__ import annotations

import argparse
import sys

from . import _type, output_file, plot_file, point, seconds


def _sizes(text: str) -> list[int]:
    from ..errors import DiffexploreError
    from ..reports.swell import parse_sizes
    try:
        return parse_sizes(text)
    except DiffexploreError as exc:      # argparse names the option already: "argument --n: '12:1' ..."
        raise ValueError(str(exc).removeprefix("--n ")) from None


def add_parser(sub) -> argparse.ArgumentParser:
    from ..reports.families import FAMILIES
    from ..reports.swell import FORMATS, MAX_SIZES, MAX_WORK
    p = sub.add_parser(
        "swell", help="how symbolic derivatives swell against forward and reverse mode, as n grows",
        description="Sizes of f, of its symbolic derivatives (as trees and as shared DAGs, ours and "
                    "SymPy's) and forward/reverse-mode operation counts for a family of functions f_n, "
                    "with measured times.",
        epilog="examples:\n"
               "  diffexplore swell logistic --n 1:12 --plot swell.png --format md\n"
               "  diffexplore swell product --n 2,4,8,16 --logx --plot product.png\n"
               "  diffexplore swell \"sin(x)**n * x**n\" --n 1:6\n"
               "  diffexplore swell --iterate \"4*f*(1-f)\" --start x --n 1:10\n"
               "  diffexplore swell --formula \"x*y\" --formula \"exp(sin(x*y))\"",
        formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("family", nargs="?",
                   help=f"a family ({', '.join(FAMILIES)}) or a formula in which n is the size, "
                        "e.g. \"sin(x)**n\"")
    p.add_argument("--formula", action="append", metavar="EXPR",
                   help="a formula (repeatable): one row each, instead of a family")
    p.add_argument("--iterate", metavar="EXPR",
                   help="a recurrence instead of a family: f_n = EXPR with f the previous term, "
                        "e.g. \"sin(f)\"")
    p.add_argument("--start", default="x", metavar="EXPR", help="the start f_0 of --iterate (default x)")
    p.add_argument("--n", metavar="SIZES", type=_type("sizes", _sizes),
                   help=f"sizes: a range 1:12 (inclusive), a list 2,4,8 or one number, at most {MAX_SIZES:,} "
                        f"of them (default: the family's own); members larger than {MAX_WORK:,} DAG nodes × "
                        "inputs are refused")
    p.add_argument("--at", type=point,
                   help="values for the timing runs, e.g. x=0.3 (default: the family's point)")
    p.add_argument("--timeout", type=seconds, default=10.0, metavar="SECONDS",
                   help="time budget of each SymPy cell, above 0 (default 10)")
    p.add_argument("--no-sympy", action="store_true", help="leave out the SymPy columns")
    p.add_argument("--no-timings", action="store_true",
                   help="leave out measured times (the output is then the same on every run)")
    p.add_argument("--format", choices=FORMATS, default="table", help="output format (default table)")
    p.add_argument("-o", "--output", metavar="FILE", type=output_file(),
                   help="write the report here (its folder must exist) instead of standard output")
    p.add_argument("--plot", metavar="FILE", type=plot_file,
                   help="also plot sizes and times against n (.png, .svg, .pdf; its folder must exist)")
    p.add_argument("--logx", action="store_true",
                   help="log scale for n in the plot too (for sizes like 2,4,8)")
    return p


def run(args) -> int:
    from ..reports.families import choose
    from ..reports.swell import swell
    from . import parse_point
    family = choose(args.family, args.formula, args.iterate, args.start)
    report = swell(family, args.n, at=parse_point(args.at), timeout=args.timeout, sympy=not args.no_sympy,
                   timings=not args.no_timings)
    if args.output:
        report.write(args.output, args.format)
    else:
        sys.stdout.write(report.render(args.format))
    if args.plot:
        report.plot(args.plot, logx=args.logx)
        print(f"plot: {args.plot}", file=sys.stderr)
    return 0
