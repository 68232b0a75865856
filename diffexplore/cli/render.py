"""``diffexplore render``: draw a formula's views side by side (original | symbolic | adjoint | tangent)."""

from __future__ import annotations

import sys

from . import MAX_DRAWN_NODES, digits, max_nodes, output_file, point, seed
from .memory import add_memory_options

#: The extensions ``-o`` writes (as :func:`diffexplore.render.write_drawing` does).
OUTPUT_EXTENSIONS = ("svg", "png", "pdf", "dot", "gv")


def add_parser(sub):
    from ..render import DEFAULT_MAX_NODES, DERIVATIVES, VIEWS
    p = sub.add_parser("render",
                       help="Graphviz drawing: original graph, symbolic derivative, adjoints, tangents")
    p.add_argument("expr", nargs="?", help='a formula, e.g. "1 + x + exp(sin(x*y))"')
    p.add_argument("--python", metavar="FILE:FUNC", help="trace a Python function instead of a formula")
    p.add_argument("--at", type=point,
                   help="the point, e.g. x=1,y=2 (needed for values, adjoints and tangents)")
    p.add_argument("--wrt", help="variable(s) of the symbolic view, e.g. x or x,y (default: all)")
    p.add_argument("--seed", type=seed, help="the tangent view's direction: a variable (x) or values "
                                             "(x=1,y=0.5); default: --wrt")
    p.add_argument("--views", help=f"comma-separated views among {', '.join(VIEWS)}, or all "
                                   "(default: original,symbolic, and adjoint with --at)")
    p.add_argument("--derivative", choices=DERIVATIVES, default="pruned",
                   help="symbolic view: pruned diff (default), raw chain rule, or the gradient graph")
    p.add_argument("--max-nodes", type=max_nodes, default=DEFAULT_MAX_NODES,
                   help=f"views with more nodes become a size table (default {DEFAULT_MAX_NODES}, "
                        f"at most {MAX_DRAWN_NODES:,})")
    p.add_argument("--digits", type=digits, default=4,
                   help="significant digits of numbers, 1 to 17 (default 4)")
    p.add_argument("-o", "--output", metavar="FILE", type=output_file(OUTPUT_EXTENSIONS),
                   help="write .svg, .png, .pdf or .dot (by extension) into an existing folder; default: DOT "
                        "text on standard output")
    add_memory_options(p)
    return p


def run(args) -> int:
    from ..errors import DiffexploreError
    from ..render import render, write_drawing
    from . import load_function, parse_point
    point = parse_point(args.at)
    f = load_function(args.expr, args.python, point)
    seed = parse_point(args.seed) if args.seed and "=" in args.seed else args.seed
    drawing = render(f, at=point or None, wrt=args.wrt, views=args.views, seed=seed,
                     derivative=args.derivative, max_nodes=args.max_nodes, digits=args.digits,
                     memory=args.memory, checkpoints=args.checkpoints)
    for note in drawing.notes:
        print(f"diffexplore render: {note}", file=sys.stderr)
    if not args.output:
        sys.stdout.write(drawing.source)
        return 0
    try:
        print(write_drawing(drawing, args.output))
    except OSError as exc:
        raise DiffexploreError(f"cannot write {str(args.output)!r}: {exc.strerror or exc}") from None
    return 0
