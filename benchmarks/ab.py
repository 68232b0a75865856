"""Measure: diffexplore's own ``make bench`` rows A/B, the base tree (A) against the current tree (B), in
one run: interleaved rounds, a fresh process per measurement, medians, and a verdict per row (B/A at most
1.10: ok; above: slower). Written to benchmarks/AB.md and printed.

    .venv/bin/python benchmarks/ab.py --base HEAD~1            # a git revision (a temporary worktree)
    .venv/bin/python benchmarks/ab.py --base /work/base         # a directory holding another checkout
    .venv/bin/python benchmarks/ab.py --base HEAD --quick       # fewer rounds, to try it out
    .venv/bin/python benchmarks/ab.py --base X --current Y      # B from another checkout, not this one
    .venv/bin/python benchmarks/ab.py --base X --cases scalar,mlp   # some of the cases only

The cases: scalar (the warm scalar MLP rows), first-touch (the first build and dx.grad of the scalar
MLP, 9 fresh processes per child), scale (five graph families at 10^2 to 10^5 nodes), symbolic, batch,
mlp, million-<family> (the scaling rows at 10^6 nodes: chain, logistic, product, transcendental, mlp), and
million-operations (bench_million.py's calls at 10^6 nodes, each in a process of its own, a call stopped
after 30 s of CPU time). By default 5 rounds, 3 for the million-<family> cases (each of their children
builds a 10^6-node graph and takes 20 s or more), 1 for million-operations (--operations-rounds; its 13
processes take about 4 minutes a side), and 2 more rounds for a light case that shows a slower row
(--confirm): about 30 minutes on 2 shared cores, more when neighbours load them; leave cases out with
--cases. --quick: 3 rounds, 1 at 10^6 nodes, no confirmation, million-operations at a tenth of its sizes.
The report states the worst row's B/A against the target (no row more than 10% slower). Exit status 0; 2
if a case failed on a side; 1 with --strict if a row is slower.

Every round runs every case once for A and once for B (which side goes first alternates), each time in a
fresh child process whose ``PYTHONPATH`` is that tree, so ``import diffexplore`` takes that tree's
package; the child prints ``diffexplore.__file__`` and the run stops if it is not the tree's. The
workloads are the bench scripts' own (their functions are imported from this directory, the same code for
both sides) where those use diffexplore's public API only; the symbolic and batch workloads are repeated
here, because importing bench_symbolic.py or bench_batch.py would also import from
``diffexplore.sympy_bridge``. Only diffexplore's rows are measured: micrograd, PyTorch, autograd, SymPy
and the NumPy floor run the same code in both trees. Times are CPU seconds of the child process (common.py
explains why); a row's value in one child is itself a median of a few calls where the call is short.
"""

from __future__ import annotations

import argparse
import gc
import json
import math
import os
import shlex
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
MARK = "AB-RESULT "
LIMIT = 1.10                       # B/A above this: "slower"
LIGHT_SIZES = (10**2, 10**3, 10**4, 10**5)
BATCH_POINTS = 10**6              # bench_batch.POINTS
BATCH_LOGISTIC_STEPS = 10         # bench_batch.LOGISTIC_STEPS
KEEP: list = []                   # big graphs kept alive until the child exits


# ---- the cases, run in the child process (diffexplore already imported from the tree) -------------------


def cpu(function: Callable[[], object]) -> tuple[float, object]:
    start = time.process_time()
    result = function()
    return time.process_time() - start, result


def total(values) -> float:
    """A number that stands for a result (a sum of a gradient's values), to check that A and B agree."""
    if isinstance(values, dict):
        values = list(values.values())
    if isinstance(values, (list, tuple)):
        return float(sum(total(v) for v in values))
    import numpy as np
    return float(np.sum(values))


def case_scalar(inner: int) -> dict:
    """bench_scalar.py's diffexplore worker: the 16-64-64-1 scalar MLP, a new input every call."""
    import bench_scalar
    found = bench_scalar.worker("diffexplore", inner)
    times = {name.removeprefix("diffexplore: "): statistics.median(samples)
             for name, samples in found["times"].items()}
    times["dx.compile (once, not in the compiled row)"] = found["facts"]["compile_seconds"]
    checks = {name: total(gradient) for name, gradient in found["gradients"].items()}
    return {"times": times, "checks": checks}


def scale_graph(dx, family: str, n: int, inner: int, times: dict, ratios: dict, checks: dict,
                million: bool = False) -> None:
    """bench_scale.run for one graph: build it and evaluate it the first time (which plans it), then
    evaluate and grad (reverse) on the planned graph, medians of ``inner`` samples. bench_scale takes the
    median of 3 new graphs for build and first evaluate; here it is 5 up to 10^3 nodes, 3 at 10^4 and 1
    from 10^5 on (every child is one more sample, and the big graphs are most of a child's time)."""
    import bench_scale
    from common import measure
    build, point_of = bench_scale.FAMILIES[family]
    point = point_of(n)
    label = f"{family} 10^{round(math.log10(n))}"
    built, first = [], []
    f = None
    for salt in range(5 if n <= 10**3 else 3 if n <= 10**4 else 1):
        f = None
        bench_scale.flush_plan_cache()
        gc.collect()
        seconds, f = cpu(lambda s=salt: build(n, s))
        built.append(seconds)
        first.append(cpu(lambda g=f: dx.evaluate(g, point))[0])
    got = measure({"evaluate": lambda g=f: dx.evaluate(g, point), "grad": lambda g=f: dx.grad(g, point)},
                  inner, warmup=1, sample_seconds=0.0 if million else 0.02)
    times[f"{label}: build"] = statistics.median(built)
    times[f"{label}: first evaluate (plans it)"] = statistics.median(first)
    times[f"{label}: evaluate"] = got["evaluate"]
    times[f"{label}: grad (reverse)"] = got["grad"]
    ratios[f"{label}: grad ÷ evaluate"] = got["grad"] / got["evaluate"]
    checks[label] = total(dx.grad(f, point)) + float(dx.evaluate(f, point))
    if million and family in ("chain", "logistic"):     # the rest of bench_scale._million at 10^6 nodes
        gc.collect()               # (bench_scale collects before each; nothing is garbage in between)
        if family == "chain":      # the logistic map's size is not timed there either
            times[f"{label}: size"] = cpu(lambda: dx.size(f))[0]
        times[f"{label}: grad (forward)"] = cpu(lambda: dx.grad(f, point, method="forward"))[0]
        seconds, derivative = cpu(lambda: dx.diff(f, "x"))
        times[f"{label}: diff (symbolic)"] = seconds
        KEEP.append(derivative)
    if million:
        KEEP.append(f)             # freed by the child's exit, not one node at a time


def case_scale(inner: int) -> dict:
    """bench_scale.py's graphs of 10^2 to 10^5 nodes (chain, logistic map, product, transcendental chain,
    scalar MLP)."""
    import bench_scale

    import diffexplore as dx
    times, ratios, checks = {}, {}, {}
    for family in bench_scale.FAMILIES:
        for n in LIGHT_SIZES:
            scale_graph(dx, family, n, inner, times, ratios, checks)
            bench_scale.flush_plan_cache()
    return {"times": times, "ratios": ratios, "checks": checks}


def case_million(family: str) -> Callable[[int], dict]:
    def run(inner: int) -> dict:
        import diffexplore as dx
        times, ratios, checks = {}, {}, {}
        scale_graph(dx, family, 10**6, inner, times, ratios, checks, million=True)
        return {"times": times, "ratios": ratios, "checks": checks}
    run.__doc__ = f"bench_scale.py at 10^6 nodes, the {family} (its rows in both of bench_scale's tables)."
    return run


def case_first_touch(inner: int) -> dict:
    """bench_scalar.py's first touch of diffexplore: ``inner`` fresh processes (they inherit this child's
    PYTHONPATH, so they import the same tree), each timing its first build and first dx.grad."""
    import bench_scalar
    found = []
    for _ in range(inner):
        one = bench_scalar.spawn_first_touch("diffexplore")
        expected = Path(os.environ["PYTHONPATH"]).resolve() / "diffexplore" / "__init__.py"
        if one is None or Path(one["where"]).resolve() != expected:
            raise SystemExit(f"the first-touch process imported {one and one['where']}, not {expected}")
        found.append(one)
    times = {"first build": statistics.median(r["build"] for r in found),
             "first dx.grad": statistics.median(r["gradient"] for r in found),
             "first build + dx.grad": statistics.median(r["build"] + r["gradient"] for r in found)}
    return {"times": times, "checks": {"gradient sum": found[0]["check"]}}


QUICK_VARIABLE = "DIFFEXPLORE_AB_QUICK"     # set by the parent with --quick: bench_million at a tenth
OUTCOMES = {"done": 1.0, "refused": 2.0, "capped": 3.0, "memory": 4.0, "crashed": 5.0}
MILLION_CAP = 30.0                 # CPU seconds of one call of the 10^6-node operations, in A/B


def case_million_operations(inner: int) -> dict:
    """bench_million.py's calls (size, to_dot, explore, compile, diff, gradient_graph), each in a fresh
    process of its own that inherits this child's PYTHONPATH; a call stopped at the CPU cap has no time row
    (its outcome is checked instead: the same on both sides). Every process builds its graph: one build row
    per graph, the median of its processes."""
    import bench_million
    times, checks, builds = {}, {}, {}
    quick = os.environ.get(QUICK_VARIABLE) == "1"
    expected = Path(os.environ["PYTHONPATH"]).resolve() / "diffexplore" / "__init__.py"
    for measurement in bench_million.MEASUREMENTS:
        measurement = bench_million.scaled(measurement, quick)
        found = bench_million.spawn(measurement, MILLION_CAP, 6.0)
        if "file" in found and Path(found["file"]).resolve() != expected:
            raise SystemExit(f"bench_million's child imported {found['file']}, not {expected}")
        graph = f"{measurement.family} 10^{round(math.log10(measurement.nodes))}"
        checks[f"{graph}: {measurement.name}: outcome"] = OUTCOMES[found["outcome"]]
        if "build" in found:
            builds.setdefault(f"{graph}: build", []).append(found["build"])
        if found["outcome"] in ("done", "refused"):
            times[f"{graph}: {measurement.name}"] = found["seconds"]
    times.update({name: statistics.median(values) for name, values in builds.items()})
    return {"times": times, "checks": checks}


def case_symbolic(inner: int) -> dict:
    """bench_symbolic.run's four diffexplore rows on the 10,000-step logistic map, new graphs each call."""
    import bench_symbolic
    from common import measure

    import diffexplore as dx

    methods, _planned, _measured = bench_symbolic.diffexplore_methods(inner)
    times = measure(methods, inner, warmup=1, sample_seconds=0.0)
    small = bench_symbolic.logistic(50)
    checks = {"logistic 50 steps": float(dx.evaluate(dx.diff(small, "x"), {"x": 0.3}))}
    return {"times": times, "checks": checks}


def case_batch(inner: int) -> dict:
    """bench_batch.run's diffexplore rows: the gradient at 10^6 points (same seeds and points)."""
    import numpy as np
    from common import measure

    import diffexplore as dx
    rng = np.random.default_rng(0)
    term = dx.variable("x")
    for _ in range(BATCH_LOGISTIC_STEPS):                # bench_batch.logistic
        term = 4 * term * (1 - term)
    cases = [("1 + x + exp(sin(x*y))", dx.parse("1 + x + exp(sin(x*y))"),
              {"x": rng.uniform(-2, 2, BATCH_POINTS), "y": rng.uniform(-2, 2, BATCH_POINTS)}),
             (f"logistic map, {BATCH_LOGISTIC_STEPS} steps", term,
              {"x": rng.uniform(0.01, 0.99, BATCH_POINTS)})]
    times, checks = {}, {}
    for label, f, point in cases:
        start = time.process_time()
        compiled = dx.compile(f)
        compiled.gradient(point)
        times[f"{label}: dx.compile + first gradient (preparation)"] = time.process_time() - start
        methods = {f"{label}: compiled gradient": lambda c=compiled, p=point: c.gradient(p),
                   f"{label}: dx.grad interpreter (reverse)": lambda f=f, p=point: dx.grad(f, p)}
        times.update(measure(methods, inner, warmup=1, sample_seconds=0.0))
        checks.update({name: total(method()) for name, method in methods.items()})
    return {"times": times, "checks": checks}


def case_mlp(inner: int) -> dict:
    """bench_mlp.py's diffexplore rows: the 784-512-512-10 tanh MLP, batch 256, checked against the
    hand-written backprop first."""
    import bench_mlp
    parameters, x, targets = bench_mlp.problem()
    methods = bench_mlp.diffexplore_methods(parameters, x, targets)
    reference = bench_mlp.numpy_backprop(parameters, x, targets)
    for name, method in methods.items():
        bench_mlp.check(name, method, reference)      # stops the child if the gradient is wrong
    found = bench_mlp.measure(methods, inner)
    times = {name.removeprefix("diffexplore "): statistics.median(by_clock["cpu"])
             for name, by_clock in found.items()}
    checks = {name: float(method()[0]) for name, method in methods.items()}
    return {"times": times, "checks": checks}


@dataclass
class Case:
    name: str
    part: str                  # the RESULTS.md section its rows belong to
    run: Callable[[int], dict]
    inner: int                 # samples within one child process (a median of them is its value)
    heavy: bool = False        # 10^6-node graphs: fewer rounds (--heavy-rounds)
    own_rounds: bool = False   # its rounds are --operations-rounds (bench_million: minutes per process)


CASES = [
    Case("scalar", "scalar MLP (bench_scalar)", case_scalar, 7),
    Case("scale", "scaling 10^2..10^5 (bench_scale)", case_scale, 5),
    Case("symbolic", "symbolic, 10,000-step logistic map (bench_symbolic)", case_symbolic, 3),
    Case("batch", "batch gradient at 10^6 points (bench_batch)", case_batch, 3),
    Case("mlp", "array MLP 784-512-512-10 (bench_mlp)", case_mlp, 5),
    Case("million-chain", "scaling 10^6, chain (bench_scale)", case_million("chain"), 3, heavy=True),
    Case("million-logistic", "scaling 10^6, logistic (bench_scale)", case_million("logistic"), 3,
         heavy=True),
    Case("first-touch", "scalar MLP, first touch (bench_scalar)", case_first_touch, 9),
    Case("million-product", "scaling 10^6, product (bench_scale)", case_million("product"), 3, heavy=True),
    Case("million-transcendental", "scaling 10^6, transcendental (bench_scale)",
         case_million("transcendental"), 3, heavy=True),
    Case("million-mlp", "scaling 10^6, scalar MLP (bench_scale)", case_million("mlp"), 3, heavy=True),
    Case("million-operations", "10^6 nodes: size, to_dot, explore, compile, diff (bench_million)",
         case_million_operations, 1, heavy=True, own_rounds=True),
]
BY_NAME = {case.name: case for case in CASES}


def worker(case_name: str, tree: Path, inner: int) -> int:
    """The child: import diffexplore (from PYTHONPATH, which is ``tree``), check where it came from, run
    one case, print its times as one JSON line."""
    for variable in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
        os.environ.setdefault(variable, "1")           # before diffexplore imports NumPy
    import diffexplore as dx
    expected = (tree / "diffexplore" / "__init__.py").resolve()
    print(f"diffexplore.__file__ = {dx.__file__}", flush=True)
    if Path(dx.__file__).resolve() != expected:
        print(f"diffexplore came from {dx.__file__}, not from {expected}", file=sys.stderr)
        return 3
    sys.path.insert(0, str(HERE))          # the bench scripts (after diffexplore: common.py puts its own
    case = BY_NAME[case_name]              # checkout first on sys.path, which must not decide the import)
    result = case.run(inner)
    foreign = sorted(name for name, module in sys.modules.items()
                     if name.split(".")[0] == "diffexplore" and getattr(module, "__file__", None)
                     and not Path(module.__file__).resolve().is_relative_to(tree / "diffexplore"))
    if foreign:
        print(f"diffexplore modules from outside {tree}: {foreign}", file=sys.stderr)
        return 3
    result["file"] = dx.__file__
    print(MARK + json.dumps(result), flush=True)
    return 0


# ---- the parent: trees, interleaved rounds, the table -------------------------------------------------


@dataclass
class Side:
    key: str                   # "A" or "B"
    tree: Path
    label: str
    times: dict[str, dict[str, list[float]]] = field(default_factory=dict)    # case -> row -> samples
    ratios: dict[str, dict[str, list[float]]] = field(default_factory=dict)
    checks: dict[str, dict[str, float]] = field(default_factory=dict)
    files: set[str] = field(default_factory=set)
    failed: dict[str, str] = field(default_factory=dict)


def git(tree: Path, *args: str) -> str:
    done = subprocess.run(["git", "-C", str(tree), *args], capture_output=True, text=True)
    return done.stdout.strip() if done.returncode == 0 else ""


def describe(tree: Path) -> str:
    commit = git(tree, "rev-parse", "--short", "HEAD")
    if not commit:
        return str(tree)
    changed = git(tree, "status", "--porcelain", "--untracked-files=no", "--", "diffexplore")
    state = f", {len(changed.splitlines())} changed files in diffexplore/" if changed else ""
    return f"{tree} (commit {commit}{state})"


def child(case: Case, side: Side, inner: int, timeout: float) -> None:
    environment = dict(os.environ)
    environment["PYTHONPATH"] = str(side.tree)
    environment["PYTHONHASHSEED"] = "0"
    for variable in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
        environment[variable] = "1"
    command = [sys.executable, str(Path(__file__).resolve()), "--worker", case.name, "--tree",
               str(side.tree), "--inner", str(inner)]
    try:
        done = subprocess.run(command, capture_output=True, text=True, env=environment, timeout=timeout,
                              cwd=tempfile.gettempdir())
    except subprocess.TimeoutExpired:
        side.failed[case.name] = f"no result within {timeout:.0f} s"
        return
    lines = [line for line in done.stdout.splitlines() if line.startswith(MARK)]
    if done.returncode != 0 or not lines:
        tail = (done.stderr.strip().splitlines() or ["(no output)"])[-1]
        side.failed[case.name] = f"exit {done.returncode}: {tail}"
        return
    result = json.loads(lines[-1][len(MARK):])
    side.files.add(result["file"])
    for name, seconds in result["times"].items():
        side.times.setdefault(case.name, {}).setdefault(name, []).append(seconds)
    for name, value in result.get("ratios", {}).items():
        side.ratios.setdefault(case.name, {}).setdefault(name, []).append(value)
    side.checks.setdefault(case.name, result.get("checks", {}))


def agree(a: float, b: float) -> bool:
    if math.isnan(a) or math.isnan(b):
        return math.isnan(a) and math.isnan(b)
    if math.isinf(a) or math.isinf(b):
        return a == b
    return abs(a - b) <= 1e-9 * max(1.0, abs(a), abs(b))


@dataclass
class Row:
    """One row of the table: its samples in A and in B, in the order of the rounds."""

    case: Case
    kind: str                  # "times" (seconds) or "ratios"
    name: str
    a: list[float]
    b: list[float]

    @property
    def ratio(self) -> float:
        return statistics.median(self.b) / statistics.median(self.a)

    @property
    def paired(self) -> list[float]:
        """B/A within each round (A and B of one round ran next to each other)."""
        return [y / x for x, y in zip(self.a, self.b, strict=False)]


def compare(cases: list[Case], a: Side, b: Side) -> list[Row]:
    rows = []
    for case in cases:
        for kind in ("times", "ratios"):
            of_a, of_b = getattr(a, kind).get(case.name, {}), getattr(b, kind).get(case.name, {})
            for name in list(of_a) + [n for n in of_b if n not in of_a]:
                rows.append(Row(case, kind, name, of_a.get(name, []), of_b.get(name, [])))
    return rows


def table(cases: list[Case], a: Side, b: Side) -> tuple[str, int, int]:
    """The Markdown table, the number of slower rows, and of rows missing on a side or failed cases."""
    from common import milliseconds
    from tabulate import tabulate
    lines, slower, missing = [], 0, 0
    rows = compare(cases, a, b)
    for case in cases:
        for row in (row for row in rows if row.case is case):
            if not row.a or not row.b:
                missing += 1
                lines.append([case.part, row.name, "", "", "", "**missing**", "", ""])
                continue
            shown = (lambda v: f"{v:.3g}×") if row.kind == "ratios" else milliseconds
            verdict = "ok" if row.ratio <= LIMIT else "**slower**"
            slower += verdict != "ok"
            paired = row.paired
            lines.append([case.part, row.name, shown(statistics.median(row.a)),
                          shown(statistics.median(row.b)), f"{row.ratio:.3f}", verdict,
                          f"{min(paired):.2f}–{max(paired):.2f}", f"{len(row.a)}+{len(row.b)}"])
        for side in (a, b):
            if case.name in side.failed:
                missing += 1
                lines.append([case.part, f"failed in {side.key}: {side.failed[case.name]}", "", "", "",
                              "**failed**", "", ""])
    text = tabulate(lines, headers=["part", "row", "A: base ms", "B: current ms", "B/A", "verdict",
                                    "B/A per round (min–max)", "runs A+B"],
                    tablefmt="github", disable_numparse=True)
    return text, slower, missing


def worst_row(cases: list[Case], a: Side, b: Side) -> str:
    """The row with the highest B/A, and whether every row is within the limit."""
    rows = [row for row in compare(cases, a, b) if row.a and row.b]
    if not rows:
        return "no row was measured on both sides."
    worst = max(rows, key=lambda row: row.ratio)
    verdict = "met" if worst.ratio <= LIMIT else "**not met**"
    return (f"{worst.case.part}: {worst.name}, B/A = {worst.ratio:.3f} (target: no row more than "
            f"{(LIMIT - 1) * 100:.0f}% slower, {verdict}).")


def differences(cases: list[Case], a: Side, b: Side) -> list[str]:
    found = []
    for case in cases:
        checks_a, checks_b = a.checks.get(case.name, {}), b.checks.get(case.name, {})
        for name in checks_a.keys() & checks_b.keys():
            if not agree(checks_a[name], checks_b[name]):
                found.append(f"{case.name}: {name} ({checks_a[name]!r} in A, {checks_b[name]!r} in B)")
        found += [f"{case.name}: {name} only in one side" for name in checks_a.keys() ^ checks_b.keys()]
    return found


def resolve_base(base: str, repository: Path) -> tuple[Path, Callable[[], None], str]:
    """A directory (another checkout) as it is, or a git revision checked out into a temporary worktree
    (removed by the returned function)."""
    directory = Path(base).expanduser()
    if (directory / "diffexplore" / "__init__.py").is_file():
        return directory.resolve(), lambda: None, describe(directory.resolve())
    commit = git(repository, "rev-parse", "--verify", "--quiet", f"{base}^{{commit}}")
    if not commit:
        raise SystemExit(f"--base {base!r}: neither a checkout of diffexplore nor a git revision of "
                         f"{repository}")
    holder = Path(tempfile.mkdtemp(prefix="diffexplore-ab-"))
    tree = holder / "base"
    subprocess.run(["git", "-C", str(repository), "worktree", "add", "--detach", "--quiet", str(tree),
                    commit], check=True)

    def remove() -> None:
        subprocess.run(["git", "-C", str(repository), "worktree", "remove", "--force", str(tree)],
                       capture_output=True)
        shutil.rmtree(holder, ignore_errors=True)
        subprocess.run(["git", "-C", str(repository), "worktree", "prune"], capture_output=True)

    return tree.resolve(), remove, f"{base} = commit {commit[:7]} (a temporary git worktree)"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--base",
                        help="A: a directory holding another checkout, or a git revision (HEAD~1)")
    parser.add_argument("--current", type=Path, default=ROOT,
                        help=f"B: the checkout measured against the base (default {ROOT})")
    parser.add_argument("--rounds", type=int, default=None, help="rounds of the light cases (default 5)")
    parser.add_argument("--heavy-rounds", type=int, default=None,
                        help="rounds of the 10^6-node cases (default 3)")
    parser.add_argument("--operations-rounds", type=int, default=1,
                        help="rounds of million-operations (bench_million.py's calls; default 1)")
    parser.add_argument("--confirm", type=int, default=None,
                        help="more rounds for a light case that has a slower row (default 2)")
    parser.add_argument("--quick", action="store_true",
                        help="3 rounds, 1 at 10^6 nodes, no confirmation rounds")
    parser.add_argument("--cases", default=",".join(BY_NAME),
                        help=f"comma-separated, some of: {', '.join(BY_NAME)}")
    parser.add_argument("--timeout", type=float, default=600.0, help="seconds for one child process")
    parser.add_argument("--strict", action="store_true", help="exit 1 if a row is slower")
    parser.add_argument("--out", type=Path, default=HERE / "AB.md")
    parser.add_argument("--raw", type=Path, help="also write every sample, in order, as JSON to this file")
    parser.add_argument("--worker", choices=list(BY_NAME), help=argparse.SUPPRESS)
    parser.add_argument("--tree", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--inner", type=int, default=3, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.worker:
        code = worker(args.worker, args.tree.resolve(), args.inner)
        sys.stdout.flush()
        os._exit(code)         # not freeing 10^6-node graphs one by one: nothing is measured after this

    if not args.base:
        parser.error("--base is required (a directory or a git revision)")
    os.environ[QUICK_VARIABLE] = "1" if args.quick else "0"       # the children inherit it
    rounds = args.rounds or (3 if args.quick else 5)
    heavy_rounds = args.heavy_rounds or (1 if args.quick else 3)
    operations_rounds = args.operations_rounds

    def rounds_of(case: Case) -> int:
        return operations_rounds if case.own_rounds else heavy_rounds if case.heavy else rounds
    confirm = args.confirm if args.confirm is not None else (0 if args.quick else 2)
    unknown = [n for n in args.cases.split(",") if n not in BY_NAME]
    if unknown:
        parser.error(f"unknown cases {unknown}; known: {', '.join(BY_NAME)}")
    cases = [case for case in CASES if case.name in args.cases.split(",")]
    sys.path.insert(0, str(HERE))
    from common import build_in_place, machine
    details = machine()
    current = args.current.expanduser().resolve()
    if not (current / "diffexplore" / "__init__.py").is_file():
        raise SystemExit(f"--current {current}: no diffexplore package there")
    repository = current if git(current, "rev-parse", "--git-dir") else ROOT
    base, remove, base_label = resolve_base(args.base, repository)
    a, b = Side("A", base, base_label), Side("B", current, describe(current))
    started = time.time()

    def one_round(r: int, i: int, case: Case) -> None:
        for side in ((a, b) if (r + i) % 2 == 0 else (b, a)):      # who goes first alternates
            if case.name not in side.failed:
                print(f"[{time.time() - started:5.0f} s] round {r + 1}: {case.name} {side.key}", flush=True)
                child(case, side, case.inner, args.timeout)

    confirmed: list[str] = []
    try:
        for side in (a, b):        # does the tree import at all? (a tree mid-refactor may not)
            walk = build_in_place(side.tree)
            probe = subprocess.run([sys.executable, "-c", "import diffexplore; print(diffexplore.__file__)"],
                                   capture_output=True, text=True, cwd=tempfile.gettempdir(),
                                   env={**os.environ, "PYTHONPATH": str(side.tree)})
            if probe.returncode != 0:
                last = (probe.stderr.strip().splitlines() or [""])[-1]
                raise SystemExit(f"{side.key} ({side.tree}): import diffexplore fails: {last}\n"
                                 "(measure another checkout with --current PATH)")
            print(f"{side.key}: {side.label}; diffexplore.__file__ = {probe.stdout.strip()}; "
                  f"plans with {walk}", flush=True)
        for r in range(max(rounds_of(case) for case in cases)):
            for i, case in enumerate(cases):
                if r < rounds_of(case):
                    one_round(r, i, case)
        flagged = [case for case in cases if not case.heavy and any(
            row.a and row.b and row.ratio > LIMIT for row in compare([case], a, b))]
        confirmed = [case.name for case in flagged] if confirm else []
        for extra in range(confirm):
            for i, case in enumerate(flagged):
                one_round(rounds + extra, i, case)
    finally:
        remove()
    minutes = (time.time() - started) / 60
    text, slower, missing = table(cases, a, b)
    mismatches = differences(cases, a, b)
    command = shlex.join(["benchmarks/ab.py", *(sys.argv[1:] if argv is None else argv)])
    operations = (f"; {operations_rounds} for bench_million's calls" if any(c.own_rounds for c in cases)
                  else "")
    heavy = (f" ({heavy_rounds} for the 10^6-node graphs, each such process taking 20 s or more{operations})"
             if any(case.heavy for case in cases) else "")
    more = (f"; the light cases with a slower row after that got {confirm} more rounds: "
            f"{', '.join(confirmed)}" if confirmed else "")
    lines = [
        "# A/B: diffexplore's `make bench` rows, base (A) against current (B)",
        "",
        f"- A (base): {a.label}; the children imported {', '.join(sorted(a.files)) or 'nothing'}",
        f"- B (current): {b.label}; the children imported {', '.join(sorted(b.files)) or 'nothing'}",
        f"- Machine: {details}. The machine is shared and noisy: neighbours inflate CPU time too, and a "
        "whole child process often runs 1.3 to 1.6 times slower than the next one with the same code, "
        "so a median over a handful of rounds can land either way. Before believing a slower row, "
        "measure the noise of the moment with an A/A run (`--current` set to the base) and re-run that "
        "case with more rounds (`--cases NAME --rounds 9`); the per-round B/A range says how spread "
        "the pairs were.",
        f"- `{command}`, {minutes:.1f} minutes. Each round runs every case once for A and once for B, "
        "each in a fresh process (which goes first alternates), with the same workload code for both; "
        f"values are CPU time in the child, medians over {rounds} rounds{heavy}{more}. Within a child, a "
        "short row is "
        "itself the median of a few calls. Ratio rows (grad ÷ evaluate) show the ratio, not ms. "
        "\"B/A per round\" is the range of B÷A of the processes that ran next to each other.",
        f"- Verdict: B/A (of the medians) ≤ {LIMIT:.2f} is ok, above it slower. {slower} slower, "
        f"{missing} missing or failed, of {len(compare(cases, a, b))} rows.",
        f"- Worst row: {worst_row(cases, a, b)}",
        "- Results of A and B: " + ("the same in every case checked." if not mismatches
                                    else "they differ: " + "; ".join(mismatches)),
        "",
        text,
        "",
    ]
    report = "\n".join(lines)
    if args.raw:
        args.raw.write_text(json.dumps({side.key: {"tree": str(side.tree), "times": side.times,
                                                   "ratios": side.ratios, "failed": side.failed}
                                        for side in (a, b)}, indent=1), encoding="utf-8")
    args.out.write_text(report, encoding="utf-8")
    print(report)
    if missing:
        return 2
    return 1 if slower and args.strict else 0


if __name__ == "__main__":
    sys.exit(main())
