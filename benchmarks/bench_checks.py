"""Measure: what the non-finite checks cost in CPU time. The current tree (B) against a base checkout (A)
made before the evaluators refused overflow and NaN, in fresh processes that take turns (A then B, then B
then A), medians. Written to benchmarks/checks_cost.md (run.py puts it in RESULTS.md) and printed.

    .venv/bin/python benchmarks/bench_checks.py --base /tmp/base              # e.g. a worktree of 18766c6
    .venv/bin/python benchmarks/bench_checks.py --base /tmp/base --rounds 3   # to try it out

The evaluators check only their outputs (the value, the tangents of the roots, the adjoints of the
variables) and look for the node to blame only when one of them is not finite, so on finite results the
checks should cost next to nothing. Two workloads, every number finite on both sides:

- a chain of 10^5 nodes, l = sin(l)·l + 0.5 (33,333 steps of three nodes; its derivative shrinks), planned
  once, then ``dx.evaluate``, ``dx.grad`` (reverse) and ``dx.grad(method="forward")``;
- the seed function 1 + x + exp(sin(x·y)) at 10^6 points: ``dx.grad`` (reverse) and a compiled gradient.

``benchmarks/ab_count.py --base`` counts the instructions of the same comparison (deterministic).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

from ab_count import revision

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
MARK = "CHECKS-RESULT "
CHAIN_STEPS = 33_333          # three nodes a step, with x: 10^5 nodes
POINTS = 10**6
SAMPLES = 9                   # calls timed within one child; its value is their median


def child(samples: int) -> dict:
    """Every row's median CPU seconds in this process (diffexplore from PYTHONPATH)."""
    import numpy as np

    import diffexplore as dx
    chain = dx.variable("x")
    for _ in range(CHAIN_STEPS):
        chain = dx.sin(chain) * chain + 0.5
    at = {"x": 0.3}
    dx.evaluate(chain, at)                      # plans the graph
    rng = np.random.default_rng(0)
    seed = dx.parse("1 + x + exp(sin(x*y))")
    points = {"x": rng.uniform(-2, 2, POINTS), "y": rng.uniform(-2, 2, POINTS)}
    compiled = dx.compile(seed)
    rows = {"chain 10^5 nodes: dx.evaluate": lambda: dx.evaluate(chain, at),
            "chain 10^5 nodes: dx.grad (reverse)": lambda: dx.grad(chain, at),
            "chain 10^5 nodes: dx.grad (forward)": lambda: dx.grad(chain, at, method="forward"),
            "seed at 10^6 points: dx.grad (reverse)": lambda: dx.grad(seed, points),
            "seed at 10^6 points: compiled gradient": lambda: compiled.gradient(points)}
    times: dict[str, list[float]] = {name: [] for name in rows}
    for call in rows.values():                   # one warm-up call each
        call()
    for _ in range(samples):                     # the rows take turns
        for name, call in rows.items():
            start = time.process_time()
            call()
            times[name].append(time.process_time() - start)
    return {"file": dx.__file__, "nodes": dx.size(chain).dag_nodes,
            "times": {name: statistics.median(samples) for name, samples in times.items()}}


def run_child(tree: Path, samples: int) -> dict:
    env = {**os.environ, "PYTHONPATH": str(tree), "PYTHONHASHSEED": "0", "OPENBLAS_NUM_THREADS": "1",
           "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}
    done = subprocess.run([sys.executable, __file__, "--child", "--samples", str(samples)],
                          capture_output=True, text=True, env=env, cwd="/")
    lines = [line for line in done.stdout.splitlines() if line.startswith(MARK)]
    if done.returncode or not lines:
        raise SystemExit(f"the child in {tree} failed:\n{done.stderr[-2000:]}")
    result = json.loads(lines[0].removeprefix(MARK))
    expected = (tree / "diffexplore" / "__init__.py").resolve()
    if Path(result["file"]).resolve() != expected:
        raise SystemExit(f"diffexplore came from {result['file']}, not from {expected}")
    return result


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--base", help="a checkout made before the checks (A)")
    parser.add_argument("--current", default=str(ROOT), help="the checkout with the checks (B)")
    parser.add_argument("--rounds", type=int, default=9, help="child processes per side")
    parser.add_argument("--out", type=Path, default=HERE / "checks_cost.md")
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--samples", type=int, default=SAMPLES, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        print(MARK + json.dumps(child(args.samples)), flush=True)
        return 0
    if not args.base:
        parser.error("--base is required")
    trees = {"A": Path(args.base).resolve(), "B": Path(args.current).resolve()}
    found: dict[str, list[dict]] = {"A": [], "B": []}
    started = time.time()
    for round_number in range(args.rounds):
        order = ("A", "B") if round_number % 2 == 0 else ("B", "A")
        for side in order:
            found[side].append(run_child(trees[side], args.samples))
        print(f"[{time.time() - started:4.0f} s] round {round_number + 1} of {args.rounds}", flush=True)
    from tabulate import tabulate
    rows = []
    for name in found["A"][0]["times"]:
        medians = {side: statistics.median(r["times"][name] for r in found[side]) for side in trees}
        pairs = sorted(b["times"][name] / a["times"][name] for a, b in zip(found["A"], found["B"],
                                                                           strict=True))
        rows.append([name, f"{medians['A'] * 1e3:.1f}", f"{medians['B'] * 1e3:.1f}",
                     f"{medians['B'] / medians['A']:.3f}", f"{pairs[0]:.2f} to {pairs[-1]:.2f}"])
    table = tabulate(rows, headers=["workload", "A: CPU ms", "B: CPU ms", "B/A of the medians",
                                    "B/A of the rounds, lowest to highest"],
                     tablefmt="github", disable_numparse=True)
    import platform
    text = (f"# CPU time with and without the non-finite checks: A = {trees['A']} ({revision(trees['A'])}) "
            f"against B = {trees['B']} ({revision(trees['B'])})\n\n"
            f"{args.rounds} fresh processes per side, taking turns; each process plans its graphs once, "
            f"then times {args.samples} calls of every row (the rows taking turns) and reports their "
            "median CPU time; the table gives the median over the processes. The chain has "
            f"{found['B'][0]['nodes']:,} nodes. Machine: {os.cpu_count()} logical cores, shared with other "
            f"work (load average {', '.join(f'{x:.2f}' for x in os.getloadavg())} at the end), "
            f"Python {platform.python_version()}.\n\n" + table + "\n")
    args.out.write_text(text, encoding="utf-8")
    print(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
