"""Show: ``python -m gallery.build [--out gallery] [--part PART ...]`` regenerates the gallery (run it
from the repository root; ``make gallery`` does)."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

import diffexplore as dx

from . import GALLERY, PARTS, build_gallery


def main(argv: Sequence[str] | None = None) -> int:
    """Parse the arguments, build the parts and print every file written; bad input gives a message."""
    parser = argparse.ArgumentParser(prog="python -m gallery.build",
                                     description="Regenerate the pictures and reports of gallery/.")
    parser.add_argument("--out", default=str(GALLERY), help="output folder (default: the gallery folder)")
    parser.add_argument("--part", action="append", choices=[folder for folder, _module in PARTS],
                        help="only this part (repeatable)")
    args = parser.parse_args(argv)
    try:
        for path in build_gallery(args.out, args.part):
            print(path)
    except dx.DiffexploreError as exc:
        print(f"gallery: {exc}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
