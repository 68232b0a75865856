"""``diffexplore diff``: the symbolic derivative of a formula, with its sizes."""

from __future__ import annotations

from . import point, seconds, whole_number

#: The highest derivative order: each order differentiates the last (order 40 of sin(x)*exp(x*x) takes
#: about 10 s, order 100 about 40 s).
MAX_ORDER = 30


def add_parser(sub):
    p = sub.add_parser("diff", help="symbolic derivative as a new graph, with sizes (DAG, tree, simplified)")
    p.add_argument("expr", nargs="?", help='a formula, e.g. "1 + x + exp(sin(x*y))"')
    p.add_argument("--python", metavar="FILE:FUNC", help="trace a Python function (needs --at)")
    p.add_argument("--at", type=point, help="the point to trace a Python function at, e.g. x=1")
    p.add_argument("--wrt", required=True, help="the variable to differentiate by")
    p.add_argument("--order", type=whole_number(0, MAX_ORDER), default=1,
                   help=f"derivative order, 0 to {MAX_ORDER} (default 1)")
    p.add_argument("--raw", action="store_true", help="the raw chain-rule graph, without pruning")
    p.add_argument("--simplify", action="store_true", help="also simplify through SymPy")
    p.add_argument("--timeout", type=seconds, default=10.0,
                   help="SymPy time budget in seconds, above 0 (default 10)")
    p.add_argument("--latex", action="store_true", help="also print LaTeX")
    p.add_argument("--shared", action="store_true", help="print the shared (one line per node) form")
    return p


def run(args) -> int:
    from ..reports.derivative import describe_derivative
    from . import load_function, parse_point
    f = load_function(args.expr, args.python, parse_point(args.at))
    print(describe_derivative(f, args.wrt, order=args.order, prune=not args.raw, simplify=args.simplify,
                              timeout=args.timeout, latex=args.latex, shared=args.shared))
    return 0
