"""``diffexplore steps``: the finite-difference error study (error against step h, best step)."""

from __future__ import annotations

from . import output_file, plot_file, point, whole_number, write_text

#: The most steps of one sweep (each step evaluates f a few times per scheme).
MAX_POINTS = 10_000


def add_parser(sub):
    p = sub.add_parser("steps", help="finite-difference error against step size: best steps, V-shaped plot")
    p.add_argument("expr", nargs="?", help='a formula, e.g. "exp(x)"')
    p.add_argument("--python", metavar="FILE:FUNC", help="trace a Python function instead of a formula")
    p.add_argument("--at", type=point, required=True, help="the point, e.g. x=1")
    p.add_argument("--wrt", help="the variable to differentiate (needed when f has several)")
    p.add_argument("--scheme", action="append", choices=["forward", "central", "complex"],
                   help="schemes to sweep (repeatable; default: all three)")
    p.add_argument("--points", type=whole_number(2, MAX_POINTS), default=61,
                   help=f"number of steps from 1e-1 to 1e-16, 2 to {MAX_POINTS:,} (default 61)")
    p.add_argument("--plot", metavar="PNG", type=plot_file,
                   help="draw error against step into this image (.png, .svg, .pdf, …; its folder must "
                        "exist)")
    p.add_argument("--csv", metavar="CSV", type=output_file(["csv"]),
                   help="write every step's derivative and error to this file (its folder must exist)")
    return p


def run(args) -> int:
    import numpy as np

    from ..numeric import SCHEMES
    from ..reports.step_sweep import step_sweep
    from . import load_function, parse_point
    point = parse_point(args.at)
    f = load_function(args.expr, args.python, point)
    sweep = step_sweep(f, point, wrt=args.wrt, schemes=args.scheme or SCHEMES,
                       steps=np.logspace(-1, -16, args.points))
    print(sweep.to_text())
    if args.csv:
        print(f"\nwrote {write_text(args.csv, sweep.to_csv())}")
    if args.plot:
        sweep.plot(args.plot)
        print(f"{'' if args.csv else chr(10)}wrote {args.plot}")
    return 0
