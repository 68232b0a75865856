"""``diffexplore tour``: the argument from finite differences to backpropagation, on the seed example."""

from __future__ import annotations


def add_parser(sub):
    p = sub.add_parser("tour", help="run the guided tour and write its pictures, tables and narration")
    p.add_argument("-o", "--out", default="tour", help="output folder (default ./tour)")
    return p


def run(args) -> int:
    from ..reports.tour import run_tour
    path = run_tour(args.out)
    print(f"wrote {path} (open it in a Markdown viewer; pictures beside it)")
    return 0
