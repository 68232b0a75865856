"""``diffexplore grad``: the value and gradient of a formula by every method, side by side."""

from __future__ import annotations

from . import point


def add_parser(sub):
    p = sub.add_parser("grad", help="value and gradient by reverse, forward, symbolic and numeric methods")
    p.add_argument("expr", nargs="?", help='a formula, e.g. "1 + x + exp(sin(x*y))"')
    p.add_argument("--python", metavar="FILE:FUNC", help="trace a Python function instead of a formula")
    p.add_argument("--at", type=point, required=True, help="the point, e.g. x=1,y=2")
    p.add_argument("--method", action="append", choices=["reverse", "forward", "symbolic", "numeric"],
                   help="methods to show (repeatable; default: all)")
    return p


def run(args) -> int:
    from ..reports.compare import compare_methods
    from . import load_function, parse_point
    point = parse_point(args.at)
    f = load_function(args.expr, args.python, point)
    print(compare_methods(f, point, methods=args.method).to_text())
    return 0
