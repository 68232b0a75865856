"""Measure: instructions, not seconds, for an A/B of diffexplore's core workloads on a noisy machine.

A shared machine runs whole processes 1.3-1.6 times slower now and then, so timed A/B rows of a few
percent cannot be resolved there (``ab.py`` says how spread its pairs were). Valgrind's callgrind counts
the instructions a process executes: the same count for the same code and inputs, whatever the machine
is doing. Each workload runs twice per tree under callgrind (``PYTHONHASHSEED=0``): its set-up alone, and
its set-up plus ``reps`` repetitions; the difference over ``reps`` is the instructions of one repetition.

    .venv/bin/python benchmarks/ab_count.py --base /path/to/other/checkout [--only chain_grad,...]

Writes a Markdown table (A and B in millions of instructions per repetition, B/A) to
``benchmarks/AB_instructions.md``. Each process imports diffexplore under valgrind (~40 s), so a run takes
about 15 minutes on two cores.
"""

from __future__ import annotations

import argparse
import os
import re
import subprocess
import sys
import tempfile
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent


# ---- the workloads (run in the child: set-up, then the measured work) ---------------------------------


def _chain(dx, n: int):
    f = dx.variable("x")
    for _ in range(n):
        f = f * 1.0000001
    return f


LOGISTIC_RATE = 2.5    # |dl/dx| shrinks like 0.5^n; at 3.7 or 4 it grows until it overflows (DomainError)


def _logistic(dx, n: int):
    """The logistic map l = r·l·(1 − l), ``n`` steps at r = 2.5, so its derivative stays finite."""
    x = dx.variable("x")
    f = x
    for _ in range(n):
        f = LOGISTIC_RATE * f * (1.0 - f)
    return f


def _scalar_mlp(dx, widths=(16, 32, 32, 1)):
    """A tanh network written with scalar operations, its squared error against a target."""
    layer = [dx.variable(f"x{i}") for i in range(widths[0])]
    parameters = {}
    for depth, width in enumerate(widths[1:], start=1):
        outputs = []
        for j in range(width):
            total = dx.variable(f"b{depth}_{j}")
            parameters[f"b{depth}_{j}"] = 0.01 * j
            for i, value in enumerate(layer):
                name = f"W{depth}_{j}_{i}"
                parameters[name] = ((i * 7 + j * 3) % 11 - 5) / 25.0
                total = total + dx.variable(name) * value
            outputs.append(dx.tanh(total) if depth < len(widths) - 1 else total)
        layer = outputs
    loss = (layer[0] - dx.variable("target")) ** 2
    point = {**parameters, **{f"x{i}": 0.1 * i - 0.5 for i in range(widths[0])}, "target": 0.3}
    return loss, point


def workload(name: str, dx, np):
    """``(setup, work)``: set-up made once, then the work to repeat."""
    if name == "chain_build":
        return None, lambda state: _chain(dx, 20_000)
    if name in ("chain_evaluate", "chain_grad"):
        f = _chain(dx, 20_000)
        dx.evaluate(f, {"x": 0.3})
        if name == "chain_evaluate":
            return f, lambda f: dx.evaluate(f, {"x": 0.3})
        return f, lambda f: dx.grad(f, {"x": 0.3})
    if name == "logistic_first_grad":
        return None, lambda state: dx.grad(_logistic(dx, 3_000), {"x": 0.3})
    if name == "logistic_diff":
        return None, lambda state: dx.diff(_logistic(dx, 3_000), "x")
    if name == "logistic_forward":
        f = _logistic(dx, 3_000)
        dx.evaluate(f, {"x": 0.3})
        return f, lambda f: dx.grad(f, {"x": 0.3}, method="forward")
    if name == "mlp_build_grad":
        return None, lambda state: dx.grad(*_scalar_mlp(dx))
    if name == "mlp_compiled_gradient":
        loss, point = _scalar_mlp(dx)
        compiled = dx.compile(loss)
        compiled.gradient(point)
        return (compiled, point), lambda state: state[0].gradient(state[1])
    if name == "batch_grad":
        f = dx.parse("1 + x + exp(sin(x*y))")
        at = {"x": np.linspace(0.0, 1.0, 100_000), "y": np.linspace(1.0, 2.0, 100_000)}
        dx.grad(f, at)
        return (f, at), lambda state: dx.grad(*state)
    if name == "array_mlp_grad":
        rng = np.random.default_rng(0)
        x = dx.variable("X", shape=(64, 32))
        w1, w2 = dx.variable("W1", shape=(32, 64)), dx.variable("W2", shape=(64, 10))
        loss = dx.mean(dx.tanh(x @ w1) @ w2 ** 2.0)
        at = {"X": rng.normal(size=(64, 32)), "W1": rng.normal(size=(32, 64)),
              "W2": rng.normal(size=(64, 10))}
        dx.grad(loss, at)
        return (loss, at), lambda state: dx.grad(*state)
    raise SystemExit(f"unknown workload {name!r}")


WORKLOADS = ("chain_build", "chain_evaluate", "chain_grad", "logistic_first_grad", "logistic_diff",
             "logistic_forward", "mlp_build_grad", "mlp_compiled_gradient", "batch_grad", "array_mlp_grad")
REPS = 3


def child(name: str, reps: int) -> None:
    import numpy as np

    import diffexplore as dx
    state, work = workload(name, dx, np)
    for _ in range(reps):
        work(state)


# ---- the parent: callgrind runs for each tree, workload and repetition count ---------------------------


def count(tree: Path, name: str, reps: int) -> int:
    """Instructions of one child process, counted by callgrind."""
    env = {**os.environ, "PYTHONPATH": str(tree), "PYTHONHASHSEED": "0", "OPENBLAS_NUM_THREADS": "1"}
    with tempfile.TemporaryDirectory() as scratch:
        run = subprocess.run(["valgrind", "--tool=callgrind", f"--callgrind-out-file={scratch}/out",
                              sys.executable, __file__, "--child", name, "--reps", str(reps)],
                             capture_output=True, text=True, env=env, cwd=scratch)
    found = re.search(r"Collected : (\d+)", run.stderr)
    if run.returncode or not found:
        raise SystemExit(f"{name} in {tree} failed:\n{run.stderr[-2000:]}")
    return int(found.group(1))


def revision(tree: Path) -> str:
    """The commit a checkout is at (and whether its package has changes not committed)."""
    head = subprocess.run(["git", "-C", str(tree), "rev-parse", "--short", "HEAD"], capture_output=True,
                          text=True).stdout.strip() or "not a git checkout"
    changed = subprocess.run(["git", "-C", str(tree), "status", "--porcelain", "diffexplore"],
                             capture_output=True, text=True).stdout.strip()
    return f"commit {head}" + (", with uncommitted changes" if changed else "")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--base", help="another checkout of the repository (A)")
    parser.add_argument("--current", default=str(ROOT), help="this checkout (B)")
    parser.add_argument("--only", help="comma-separated workloads (default: all)")
    parser.add_argument("--out", default=str(HERE / "AB_instructions.md"))
    parser.add_argument("--child", help=argparse.SUPPRESS)
    parser.add_argument("--reps", type=int, default=REPS, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        child(args.child, args.reps)
        return 0
    if not args.base:
        parser.error("--base is required")
    names = args.only.split(",") if args.only else list(WORKLOADS)
    trees = {"A": Path(args.base).resolve(), "B": Path(args.current).resolve()}
    from common import build_in_place
    for side, tree in trees.items():
        print(f"{side}: {tree} plans with {build_in_place(tree)}", flush=True)
    jobs = [(side, name, reps) for name in names for side in trees for reps in (0, REPS)]
    with ThreadPoolExecutor(max_workers=2) as pool:
        counts = dict(zip(jobs, pool.map(lambda job: count(trees[job[0]], job[1], job[2]), jobs),
                          strict=True))
    from tabulate import tabulate
    rows = []
    for name in names:
        per = {side: (counts[(side, name, REPS)] - counts[(side, name, 0)]) / REPS for side in trees}
        ratio = per["B"] / per["A"]
        rows.append([name, f"{per['A'] / 1e6:.1f}", f"{per['B'] / 1e6:.1f}", f"{ratio:.3f}",
                     "ok" if ratio <= 1.10 else "**more**"])
    table = tabulate(rows, headers=["workload", "A: M instructions", "B: M instructions", "B/A", "verdict"],
                     tablefmt="github", disable_numparse=True)
    revisions = {side: revision(tree) for side, tree in trees.items()}
    text = (f"# Instructions per repetition, A = {trees['A']} ({revisions['A']}) against "
            f"B = {trees['B']} ({revisions['B']})\n\n"
            f"Counted by valgrind's callgrind (PYTHONHASHSEED=0), {REPS} repetitions minus the set-up alone; "
            "deterministic for the same code and inputs. Verdict: B/A <= 1.10 is ok.\n\n" + table + "\n")
    Path(args.out).write_text(text)
    print(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
