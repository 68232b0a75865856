"""``diffexplore demo``: the main job of ``make demo``, the seed example by every method."""

from __future__ import annotations

from . import point

SEED = "1 + x + exp(sin(x*y))"


def add_parser(sub):
    p = sub.add_parser("demo", help="the seed example 1 + x + exp(sin(x*y)) by every method")
    p.add_argument("--at", type=point, default="x=1,y=2", help="the point (default x=1,y=2)")
    return p


def run(args) -> int:
    from ..parse import parse
    from ..reports.compare import compare_methods
    from ..symbolic import diff
    from . import parse_point
    point = parse_point(args.at)
    f = parse(SEED)
    print(f"f(x, y) = {SEED}   at {', '.join(f'{k} = {v:g}' for k, v in point.items())}\n")
    print(compare_methods(f, point).to_text())
    print("\nsymbolic derivatives (pruned):")
    for name in ("x", "y"):
        print(f"  df/d{name} = {diff(f, name)}")
    return 0
