"""``diffexplore tour``: the argument from finite differences to backpropagation, on the seed example."""

from __future__ import annotations

from . import new_folder


def add_parser(sub):
    p = sub.add_parser("tour", help="run the guided tour and write its pictures, tables and narration")
    p.add_argument("-o", "--out", type=new_folder, default="tour",
                   help="output folder, created if needed inside an existing one (default ./tour)")
    return p


def run(args) -> int:
    from ..errors import DiffexploreError
    from ..reports.tour import run_tour
    try:
        path = run_tour(args.out)
    except OSError as exc:
        reason = exc.strerror or exc
        raise DiffexploreError(f"cannot write the tour into {str(args.out)!r}: {reason}") from None
    print(f"wrote {path} (open it in a Markdown viewer; pictures beside it)")
    return 0
