"""``diffexplore explore``: an interactive HTML page that plays the forward and reverse sweeps step by
step."""

from __future__ import annotations

import sys

from . import MAX_DRAWN_NODES, digits, max_nodes, output_file, point, seed, write_text
from .memory import add_memory_options


def add_parser(sub):
    from ..explorer import DETAIL_NODES, MAX_EXPLORE_NODES, WINDOW_LINES
    from ..render import DEFAULT_MAX_NODES, DERIVATIVES
    p = sub.add_parser("explore",
                       help="interactive HTML page: step through the forward and reverse sweeps in a browser")
    p.add_argument("expr", nargs="?", help='a formula, e.g. "1 + x + exp(sin(x*y))"')
    p.add_argument("--python", metavar="FILE:FUNC", help="trace a Python function instead of a formula")
    p.add_argument("--at", type=point, required=True,
                   help="the point, e.g. x=1,y=2 (its order numbers the inputs)")
    p.add_argument("--wrt", help="variable(s) of the symbolic view, e.g. x or x,y (default: all)")
    p.add_argument("--seed", type=seed, help="the forward-mode seed selected at first: a variable (x) or "
                                             "values (x=1,y=0.5); default: --wrt, else the first input")
    p.add_argument("--derivative", choices=DERIVATIVES, default="pruned",
                   help="symbolic view: pruned diff (default), raw chain rule, or the gradient graph")
    p.add_argument("--max-nodes", type=max_nodes, default=DEFAULT_MAX_NODES,
                   help=f"views with more nodes become a size table (default {DEFAULT_MAX_NODES}, "
                        f"at most {MAX_DRAWN_NODES:,})")
    p.add_argument("--digits", type=digits, default=4,
                   help="significant digits of numbers, 1 to 17 (default 4)")
    p.add_argument("--order", choices=["levels", "evaluation"], default="levels",
                   help="trace table numbering: level by level (default) or in dx.nodes order")
    p.add_argument("-o", "--output", metavar="FILE.html", type=output_file(["html", "htm"]),
                   help="write the page here, into an existing folder (default: the HTML on standard "
                        f"output). Graphs of more than {DETAIL_NODES:,} nodes get a level of detail "
                        f"(the page says so): it steps through the first and last {WINDOW_LINES:,} lines of "
                        f"each sweep, collapses the lines between into one step and draws the original view "
                        f"only; graphs of more than {MAX_EXPLORE_NODES:,} nodes are refused")
    add_memory_options(p)
    return p


def run(args) -> int:
    from ..explorer import explore
    from . import load_function, parse_point
    point = parse_point(args.at)
    f = load_function(args.expr, args.python, point)
    seed = parse_point(args.seed) if args.seed and "=" in args.seed else args.seed
    page = explore(f, point, wrt=args.wrt, seed=seed, derivative=args.derivative, max_nodes=args.max_nodes,
                   digits=args.digits, order=args.order, memory=args.memory, checkpoints=args.checkpoints)
    for note in page.notes:
        print(f"diffexplore explore: {note}", file=sys.stderr)
    if not args.output:
        sys.stdout.write(page.html)
        return 0
    print(write_text(args.output, page.html))
    return 0
