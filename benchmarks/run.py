"""Measure: every benchmark in one run (``make bench``), written to benchmarks/RESULTS.md with
the machine's details, every target's measured ratio and a verdict, and a plot of how the interpreters
scale (benchmarks/scaling.png).

    .venv/bin/python benchmarks/run.py            # everything (about 5 minutes on 2 shared cores)
    .venv/bin/python benchmarks/run.py --quick    # fewer rounds, for trying it out
    .venv/bin/python benchmarks/run.py --skip-mlp # without bench_mlp.py (the array MLP benchmark)

The parts: bench_scalar.py (a scalar MLP against micrograd and PyTorch), bench_scale.py (10^2 to 10^6
nodes, the cheap gradient principle), bench_symbolic.py (dx.diff against a reverse gradient, and SymPy),
bench_batch.py (the gradient at 10^6 points against sympy.lambdify), bench_imports.py (dx.from_jax and
dx.from_torch against make_jaxpr and symbolic_trace); and bench_mlp.py (an array MLP
against hand-written NumPy backprop, HIPS autograd and PyTorch) when it is present.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import time
from pathlib import Path

import common  # noqa: F401  (sets BLAS threads before NumPy loads)
import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
from common import Section, machine  # noqa: E402
from tabulate import tabulate  # noqa: E402

HERE = Path(__file__).resolve().parent


def targets_table(sections: list[Section]) -> str:
    rows = []
    for section in sections:
        for target in section.targets:
            rows.append([target.text, target.measured, "met" if target.met else "**not met**"])
    return tabulate(rows, headers=["target", "measured", "verdict"], tablefmt="github",
                    disable_numparse=True)


def plot_scaling(section: Section, path: Path) -> Path:
    """Time per node against graph size (log-log), and grad ÷ evaluate against the 3× target."""
    figure, (per_node, cost) = plt.subplots(1, 2, figsize=(11, 5.2), constrained_layout=True)
    styles = {"chain": "-", "logistic": "--", "product": ":"}
    colours = {"build": "tab:gray", "first": "tab:purple", "evaluate": "tab:blue", "grad": "tab:red"}
    labels = {"build": "build the graph", "first": "first evaluate (plans)", "evaluate": "evaluate",
              "grad": "grad (reverse)"}
    for family, points in section.data.items():
        sizes = [p["nodes"] for p in points]
        for key, colour in colours.items():
            per_node.plot(sizes, [p[key] / p["nodes"] * 1e6 for p in points], styles[family], color=colour,
                          marker="o", markersize=3, label=f"{labels[key]}, {family}")
        cost.plot(sizes, [p["grad"] / p["evaluate"] for p in points], styles[family], color="tab:red",
                  marker="o", markersize=3, label=family)
    per_node.set(xscale="log", yscale="log", xlabel="graph nodes", ylabel="µs per node (CPU)",
                 title="Time per node stays flat: linear in the graph")
    per_node.legend(fontsize=7, ncol=3, loc="upper center", bbox_to_anchor=(0.5, -0.2))
    cost.axhline(3.0, color="black", linewidth=0.8, linestyle="-.", label="target: 3×")
    cost.set(xscale="log", ylim=(0, 4), xlabel="graph nodes", ylabel="grad time ÷ evaluate time",
             title="Cheap gradient principle")
    cost.legend(fontsize=8, loc="upper center", bbox_to_anchor=(0.5, -0.2), ncol=4)
    figure.savefig(path, dpi=110)
    plt.close(figure)
    return path


def run_mlp(rounds: int) -> str:
    """bench_mlp.py (owned by the arrays work) in a child process; its own file is benchmarks/mlp.md."""
    script = HERE / "bench_mlp.py"
    if not script.exists():
        return "bench_mlp.py is not present."
    done = subprocess.run([sys.executable, str(script), "--rounds", str(rounds)], capture_output=True,
                          text=True)
    if done.returncode != 0:
        return f"bench_mlp.py failed (exit {done.returncode}): {done.stderr.strip().splitlines()[-1:]}"
    verdict = [line for line in done.stdout.splitlines() if line.startswith("Target")]
    return ("The array MLP (784-512-512-10, batch 256) against hand-written NumPy backprop, HIPS autograd "
            "and PyTorch is measured by bench_mlp.py in this run; its table is in [mlp.md](mlp.md). "
            + (verdict[0] if verdict else ""))


def ab_section() -> list[str]:
    """The latest A/B reports against a base revision (``make bench-ab`` and ``ab_count.py``), if any."""
    lines = []
    counted = HERE / "AB_instructions.md"
    timed = HERE / "AB.md"
    if counted.exists() or timed.exists():
        lines += ["## A/B against a base revision", ""]
    if counted.exists():
        body = counted.read_text(encoding="utf-8").split("\n", 2)[2].strip()
        lines += ["Instructions per repetition (`benchmarks/ab_count.py`, deterministic): "
                  f"[AB_instructions.md]({counted.name})", "", body, ""]
    if timed.exists():
        verdict = [line for line in timed.read_text(encoding="utf-8").splitlines()
                   if line.startswith("- Verdict")]
        lines += [f"CPU time, interleaved fresh processes (`make bench-ab`): [AB.md]({timed.name}). "
                  + (verdict[0].removeprefix("- ") if verdict else ""), ""]
    return lines


def checks_section() -> list[str]:
    """What the non-finite checks cost: instructions (``ab_count.py --out AB_checks_instructions.md``)
    and CPU time (``bench_checks.py``) against a revision made before them, if they have been measured."""
    counted = HERE / "AB_checks_instructions.md"
    isolated = HERE / "AB_checks_isolated.md"
    timed = HERE / "checks_cost.md"
    if not (counted.exists() or isolated.exists() or timed.exists()):
        return []
    lines = ["## Cost of the non-finite checks", "",
             "Every evaluator refuses an overflow or NaN made by an operation (a DomainError naming the "
             "node). It checks only its outputs (the value, the tangents of the roots, the adjoints of the "
             "variables) and scans for the culprit only when one of them is not finite, so a finite result "
             "should cost about what it did before the checks. A = a revision before the checks, B = this "
             "tree; the workloads are the same code on both sides, every number finite. A tree against a "
             "revision before the checks also measures the commits in between; the isolated count compares "
             "the commit that added the checks with its parent, nothing else.", ""]
    for path, what in ((counted, "Instructions per repetition, valgrind's callgrind (`benchmarks/ab_count.py "
                                 "--base A --out benchmarks/AB_checks_instructions.md`), deterministic"),
                       (isolated, "The checks alone, instructions per repetition (`ab_count.py --base "
                                  "PARENT --current COMMIT`)"),
                       (timed, "CPU time, fresh processes taking turns (`benchmarks/bench_checks.py "
                               "--base A`)")):
        if path.exists():
            heading, _, body = path.read_text(encoding="utf-8").partition("\n")
            lines += [f"{what}: [{path.name}]({path.name}). {heading.removeprefix('# ')}.", "",
                      body.strip(), ""]
    return lines


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer rounds (results are noisier)")
    parser.add_argument("--skip-mlp", action="store_true", help="do not run bench_mlp.py")
    parser.add_argument("--out", type=Path, default=HERE / "RESULTS.md")
    args = parser.parse_args(argv)
    started = time.time()
    details = machine()
    import bench_batch
    import bench_imports
    import bench_scalar
    import bench_scale
    import bench_symbolic
    quick = args.quick
    sections = []
    for name, part in [("scalar MLP", lambda: bench_scalar.run(rounds=5 if quick else 10)),
                       ("scaling", lambda: bench_scale.run(rounds=3 if quick else 9)),
                       ("symbolic", lambda: bench_symbolic.run(rounds=3 if quick else 7)),
                       ("batch", lambda: bench_batch.run(rounds=3 if quick else 9)),
                       ("imports", lambda: bench_imports.run(rounds=3 if quick else 9))]:
        print(f"[{time.time() - started:5.0f} s] {name} ...", flush=True)
        sections.append(part())
    plot = plot_scaling(sections[1], HERE / "scaling.png")
    if not args.skip_mlp:
        print(f"[{time.time() - started:5.0f} s] array MLP (bench_mlp.py) ...", flush=True)
    mlp = "" if args.skip_mlp else run_mlp(rounds=5 if quick else 15)
    minutes = (time.time() - started) / 60
    lines = [
        "# diffexplore benchmarks: speed and scale",
        "",
        f"Machine: {details}.",
        "",
        f"Produced by `make bench` (`.venv/bin/python benchmarks/run.py`) in {minutes:.1f} minutes"
        f"{' with --quick' if quick else ''}. All times are CPU time of the measuring process; ratios come "
        "from this one run, medians over rounds in which the methods take turns.",
        "",
        "## Targets",
        "",
        targets_table(sections),
        "",
    ]
    for section in sections:
        lines += [f"## {section.title}", "", section.intro, ""]
        for table in section.tables:
            lines += [table, ""]
        for target in section.targets:
            if target.note:
                verdict = "met" if target.met else "not met"
                lines += [f"Why the target \"{target.text}\" is {verdict}: {target.note}", ""]
        lines += [note + "\n" for note in section.notes]
        if section is sections[1]:
            lines += [f"![time per node and grad ÷ evaluate against graph size]({plot.name})", ""]
    if mlp:
        lines += ["## Array MLP", "", mlp, ""]
    lines += checks_section()
    lines += ab_section()
    text = "\n".join(lines).rstrip() + "\n"
    args.out.write_text(text, encoding="utf-8")
    print(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
