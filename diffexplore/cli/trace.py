"""``diffexplore trace``: the evaluation trace of a formula (primal, tangent and adjoint lines)."""

from __future__ import annotations

from . import digits, point


def add_parser(sub):
    p = sub.add_parser("trace",
                       help="evaluation trace: primal, tangent and adjoint lines, as textbooks print them")
    p.add_argument("expr", nargs="?", help='a formula, e.g. "log(x1) + x1*x2 - sin(x2)"')
    p.add_argument("--python", metavar="FILE:FUNC", help="trace a Python function instead of a formula")
    p.add_argument("--at", type=point, required=True,
                   help="the point, e.g. x1=2,x2=5 (its order numbers the inputs)")
    p.add_argument("--seed", help="the input whose tangent is 1 in the forward sweep (default: the first)")
    p.add_argument("--format", choices=["table", "md", "latex"], default="table",
                   help="terminal table (default), Markdown or LaTeX")
    p.add_argument("--order", choices=["levels", "evaluation"], default="levels",
                   help="number operations level by level as the literature does (default) "
                        "or in dx.nodes order")
    p.add_argument("--digits", type=digits, default=5,
                   help="significant digits of the numbers, 1 to 17 (default 5)")
    return p


def run(args) -> int:
    from ..reports.trace_table import trace_table
    from . import load_function, parse_point
    point = parse_point(args.at)
    f = load_function(args.expr, args.python, point)
    table = trace_table(f, point, seed=args.seed, order=args.order, digits=args.digits)
    text = {"table": table.to_text, "md": table.to_markdown, "latex": table.to_latex}[args.format]()
    print(text.rstrip("\n"))
    return 0
