"""``diffexplore cost``: what a full gradient of a W-input function costs each method."""

from __future__ import annotations


def add_parser(sub):
    p = sub.add_parser("cost", help="cost of a full gradient for W inputs: numeric, forward and reverse mode")
    p.add_argument("--function", choices=["product", "dense"], default="product",
                   help="product: x1·x2⋯xW (default); dense: tanh(a1·x1 + … + aW·xW)")
    p.add_argument("--widths", default="1,3,10,30,100,300,1000",
                   help="numbers of inputs W, comma separated (default 1,3,10,30,100,300,1000)")
    p.add_argument("--times", action="store_true",
                   help="also measure each method's time (median of --repeats)")
    p.add_argument("--repeats", type=int, default=3, help="timing repeats (default 3)")
    p.add_argument("--plot", metavar="PNG", help="draw operations (and times) against W into this image")
    return p


def run(args) -> int:
    from ..errors import DiffexploreError
    from ..reports.step_sweep import cost_table
    try:
        widths = [int(w) for w in args.widths.split(",") if w.strip()]
    except ValueError:
        raise DiffexploreError(f"--widths: {args.widths!r} is not a comma-separated list of whole numbers "
                               "(e.g. --widths 1,10,100)") from None
    table = cost_table(widths=widths, function=args.function, measure_times=args.times,
                       repeats=args.repeats, progress=args.times)
    print(table.to_text())
    if args.plot:
        print(f"\nwrote {table.plot(args.plot)}")
    return 0
