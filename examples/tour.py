"""The guided tour as a script: python examples/tour.py [OUTDIR] (the same as `diffexplore tour`)."""

import sys

from diffexplore.reports.tour import run_tour

if __name__ == "__main__":
    print(run_tour(sys.argv[1] if len(sys.argv) > 1 else "tour"))
