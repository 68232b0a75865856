"""``diffexplore gallery``: regenerate the pictures and reports of ``gallery/``."""

from __future__ import annotations


def add_parser(sub):
    p = sub.add_parser("gallery", help="regenerate gallery/ (pictures and reports)")
    p.add_argument("--out", default="gallery", help="output folder (default gallery)")
    p.add_argument("--part", action="append", help="only this part (repeatable): views, traces, swell, ...")
    return p


def run(args) -> int:
    from ..reports.gallery import build_gallery
    for path in build_gallery(args.out, args.part):
        print(path)
    return 0
