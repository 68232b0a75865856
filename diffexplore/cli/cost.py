"""``diffexplore cost``: what a full gradient of a W-input function costs each method."""

from __future__ import annotations

from . import _type, plot_file, whole_number

#: The largest W: counting builds a graph of about 2W nodes; timing runs W forward sweeps of it.
MAX_WIDTH = 100_000
#: The largest W with --times: differences and forward mode take ~W² operations (W = 3,000 took 78 s on
#: a busy 2-CPU machine, so W = 1,000 about 9 s).
MAX_TIMED_WIDTH = 1_000
#: The most timing repeats.
MAX_REPEATS = 100


def _widths(text: str) -> list[int]:
    try:
        widths = [int(w) for w in text.split(",")]
    except ValueError:
        message = f"{text!r} is not a comma-separated list of whole numbers (e.g. --widths 1,10,100)"
        raise ValueError(message) from None
    if not widths or not all(1 <= w <= MAX_WIDTH for w in widths):
        raise ValueError(f"{text!r}: each width W (number of inputs) must be from 1 to {MAX_WIDTH:,}")
    return widths


def add_parser(sub):
    p = sub.add_parser("cost", help="cost of a full gradient for W inputs: numeric, forward and reverse mode")
    p.add_argument("--function", choices=["product", "dense"], default="product",
                   help="product: x1·x2⋯xW (default); dense: tanh(a1·x1 + … + aW·xW)")
    p.add_argument("--widths", type=_type("widths", _widths), default="1,3,10,30,100,300,1000",
                   help=f"numbers of inputs W, comma separated, each 1 to {MAX_WIDTH:,} ({MAX_TIMED_WIDTH:,} "
                        "with --times; default 1,3,10,30,100,300,1000)")
    p.add_argument("--times", action="store_true",
                   help="also measure each method's time (median of --repeats)")
    p.add_argument("--repeats", type=whole_number(1, MAX_REPEATS), default=3,
                   help=f"timing repeats, 1 to {MAX_REPEATS} (default 3)")
    p.add_argument("--plot", metavar="PNG", type=plot_file,
                   help="draw operations (and times) against W into this image (its folder must exist)")
    return p


def run(args) -> int:
    from ..errors import DiffexploreError
    from ..reports.step_sweep import cost_table
    if args.times and max(args.widths) > MAX_TIMED_WIDTH:
        raise DiffexploreError(f"--widths: with --times each W must be at most {MAX_TIMED_WIDTH:,} (forward "
                               f"mode then runs W sweeps over the graph), got {max(args.widths):,}")
    table = cost_table(widths=args.widths, function=args.function, measure_times=args.times,
                       repeats=args.repeats, progress=args.times)
    print(table.to_text())
    if args.plot:
        table.plot(args.plot)
        print(f"\nwrote {args.plot}")
    return 0
