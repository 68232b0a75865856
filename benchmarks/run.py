"""Measure: every benchmark in one run (``make bench``), written to benchmarks/RESULTS.md with
the machine's details, every target's measured ratio and a verdict, and a plot of how the interpreters
scale (benchmarks/scaling.png).

    .venv/bin/python benchmarks/run.py                 # everything (about 30 minutes on 2 shared cores)
    .venv/bin/python benchmarks/run.py --quick         # fewer rounds, graphs up to 10^5 nodes
    .venv/bin/python benchmarks/run.py --skip-mlp      # without bench_mlp.py (the array MLP benchmark)
    .venv/bin/python benchmarks/run.py --parts scalar,million --out /tmp/r.md   # some parts only

The parts: bench_scalar.py (a scalar MLP against micrograd and PyTorch, warm and first touch),
bench_scale.py (10^2 to 10^6 nodes, the cheap gradient principle on five families, PyTorch's ratio),
bench_million.py (size, to_dot, explore, compile, diff and gradient_graph of 10^6-node graphs: time and
peak memory), bench_symbolic.py (dx.diff against a reverse gradient, and SymPy), bench_batch.py (the
gradient at 10^6 points against sympy.lambdify), bench_imports.py (dx.from_jax and dx.from_torch against
make_jaxpr and symbolic_trace), bench_memory.py (a deep array MLP with and without √depth checkpoints,
beside torch's checkpoint_sequential), bench_export.py (the gradient at 10^6 points through the exports:
compiled NumPy, JAX and torch.compile, against hand-written JAX and lambdify); and bench_mlp.py (an array
MLP against hand-written NumPy backprop, HIPS autograd and PyTorch) when it is present.
"""

from __future__ import annotations

import argparse
import re
import subprocess
import sys
import time
from collections.abc import Callable
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


FAMILY_STYLES = {"chain": "-", "logistic": "--", "product": ":", "transcendental": "-.",
                 "mlp": (0, (5, 1, 1, 1, 1, 1))}
FAMILY_COLOURS = {"chain": "tab:blue", "logistic": "tab:orange", "product": "tab:green",
                  "transcendental": "tab:red", "mlp": "tab:purple"}


def plot_scaling(section: Section, path: Path) -> Path:
    """Time per node against graph size (log-log), and grad ÷ evaluate against the 3× target, with
    PyTorch's backward ÷ forward on the transcendental chain."""
    figure, (per_node, cost) = plt.subplots(1, 2, figsize=(12, 5.8), constrained_layout=True)
    colours = {"build": "tab:gray", "first": "tab:purple", "evaluate": "tab:blue", "grad": "tab:red"}
    labels = {"build": "build the graph", "first": "first evaluate (plans it)", "evaluate": "evaluate",
              "grad": "grad (reverse)"}
    families = section.data["families"]
    highest = 4.0
    for family, points in families.items():
        sizes = [p["nodes"] for p in points]
        style = FAMILY_STYLES.get(family, "-")
        for key, colour in colours.items():
            per_node.plot(sizes, [p[key] / p["nodes"] * 1e6 for p in points], linestyle=style, color=colour,
                          marker="o", markersize=3, label=f"{labels[key]}, {family}")
        ratios = [p["grad"] / p["evaluate"] for p in points]
        highest = max(highest, *ratios)
        cost.plot(sizes, ratios, linestyle=style, color=FAMILY_COLOURS.get(family, "tab:red"), marker="o",
                  markersize=3, label=f"diffexplore, {family}")
    torch = section.data.get("torch", {})
    if torch.get("installed"):
        from bench_scale import transcendental_nodes
        sizes = [transcendental_nodes(int(n)) for n in torch["sizes"]]
        ratios = [p["backward"] / p["forward"] for p in torch["sizes"].values()]
        highest = max(highest, *ratios)
        cost.plot(sizes, ratios, linestyle="-.", color="black", marker="x", markersize=5,
                  label="PyTorch backward ÷ forward, transcendental")
    per_node.set(xscale="log", yscale="log", xlabel="graph nodes", ylabel="µs per node (CPU)",
                 title="Time per node against graph size")
    per_node.legend(fontsize=6, ncol=4, loc="upper center", bbox_to_anchor=(0.5, -0.15))
    cost.axhline(3.0, color="black", linewidth=0.8, linestyle=":", label="target: 3×")
    cost.set(xscale="log", ylim=(0, highest * 1.1), xlabel="graph nodes", ylabel="grad time ÷ evaluate time",
             title="Cheap gradient principle")
    cost.legend(fontsize=7, loc="upper center", bbox_to_anchor=(0.5, -0.15), ncol=2)
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
        report = timed.read_text(encoding="utf-8").splitlines()
        verdict = [line.removeprefix("- ") for line in report
                   if line.startswith(("- Verdict", "- Worst row"))]
        commits = [found.group(0) for line in report if line.startswith(("- A (base)", "- B (current)"))
                   for found in [re.search(r"commit [0-9a-f]+", line)] if found]
        lines += [f"CPU time, interleaved fresh processes (`make bench-ab`): [AB.md]({timed.name}), "
                  f"measured A = {' against B = '.join(commits)}. " + " ".join(verdict), ""]
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


PARTS = ("scalar", "scaling", "million", "symbolic", "batch", "imports", "memory", "export", "mlp")


def parts(quick: bool) -> dict[str, Callable[[], Section]]:
    """Every part of the run by name, with its rounds (fewer, and smaller graphs, with --quick)."""
    import bench_batch
    import bench_export
    import bench_imports
    import bench_memory
    import bench_million
    import bench_scalar
    import bench_scale
    return {
        "scalar": lambda: bench_scalar.run(rounds=5 if quick else 10,
                                           first_touch_processes=10 if quick else 30,
                                           first_touch_torch=3 if quick else 10),
        "scaling": lambda: (bench_scale.run(rounds=3, sizes=bench_scale.SIZES[:-1],
                                            torch_sizes=bench_scale.TORCH_SIZES[:-1], million=False)
                            if quick else bench_scale.run(rounds=9)),
        "million": lambda: bench_million.run(quick=quick),
        "symbolic": lambda: bench_symbolic_run(3 if quick else 7),
        "batch": lambda: bench_batch.run(rounds=3 if quick else 9),
        "imports": lambda: bench_imports.run(rounds=3 if quick else 9),
        "memory": lambda: bench_memory.run(rounds=3 if quick else 5),
        "export": lambda: bench_export.run(rounds=3 if quick else 9),
    }


def bench_symbolic_run(rounds: int) -> Section:
    """bench_symbolic.py (imported here: it imports SymPy)."""
    import bench_symbolic
    return bench_symbolic.run(rounds=rounds)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true",
                        help="fewer rounds and processes, graphs up to 10^5 nodes (results are noisier)")
    parser.add_argument("--skip-mlp", action="store_true", help="do not run bench_mlp.py")
    parser.add_argument("--parts", default=",".join(PARTS),
                        help=f"comma-separated, some of: {', '.join(PARTS)} (default: all)")
    parser.add_argument("--out", type=Path, default=HERE / "RESULTS.md")
    args = parser.parse_args(argv)
    chosen = [name for name in args.parts.split(",") if name]
    unknown = [name for name in chosen if name not in PARTS]
    if unknown:
        parser.error(f"unknown parts {unknown}; known: {', '.join(PARTS)}")
    started = time.time()
    details = machine()
    quick = args.quick
    sections: dict[str, Section] = {}
    for name, part in parts(quick).items():
        if name in chosen:
            print(f"[{time.time() - started:5.0f} s] {name} ...", flush=True)
            sections[name] = part()
    plot = None
    if "scaling" in sections:
        plot = plot_scaling(sections["scaling"], args.out.parent / "scaling.png")
    run_array_mlp = "mlp" in chosen and not args.skip_mlp
    if run_array_mlp:
        print(f"[{time.time() - started:5.0f} s] array MLP (bench_mlp.py) ...", flush=True)
    mlp = run_mlp(rounds=5 if quick else 15) if run_array_mlp else ""
    minutes = (time.time() - started) / 60
    left_out = [name for name in PARTS if name not in chosen or (name == "mlp" and args.skip_mlp)]
    lines = [
        "# diffexplore benchmarks: speed and scale",
        "",
        f"Machine: {details}.",
        "",
        f"Produced by `make bench` (`.venv/bin/python benchmarks/run.py`) in {minutes:.1f} minutes"
        f"{' with --quick (fewer rounds, graphs up to 10^5 nodes)' if quick else ''}"
        f"{'; parts left out: ' + ', '.join(left_out) if left_out else ''}. All times are CPU time of the "
        "measuring process; ratios come from this one run, medians over rounds in which the methods take "
        "turns.",
        "",
        "## Targets",
        "",
        targets_table(list(sections.values())),
        "",
    ]
    for name, section in sections.items():
        lines += [f"## {section.title}", "", section.intro, ""]
        for table in section.tables:
            lines += [table, ""]
        for target in section.targets:
            if target.note:
                verdict = "met" if target.met else "not met"
                lines += [f"Why the target \"{target.text}\" is {verdict}: {target.note}", ""]
        lines += [note + "\n" for note in section.notes]
        if name == "scaling" and plot:
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
