"""Measure: the reverse-mode gradient of a 784-512-512-10 tanh MLP with softmax cross-entropy on a batch
of 256, by diffexplore and by the hand-written NumPy backprop of the same network (the floor), and by
HIPS autograd and PyTorch where they are installed. Prints a Markdown table and writes benchmarks/mlp.md.

Every method computes the loss and the gradient of all six parameter arrays in float64 from the same
numbers; the gradients are checked against the floor before anything is timed. Methods are timed in
turn, round after round (so a burst of load on the shared machine hits all of them). Each call is
timed twice over: by the CPU time of this process (what the work costs; time spent waiting for a core
that a neighbour holds is not counted) and by the wall clock; the table gives the medians of both and
their ratios to the floor. BLAS and PyTorch run on one thread unless OPENBLAS_NUM_THREADS /
OMP_NUM_THREADS say otherwise, so that CPU time is the time of one core and every method gets the same.

    .venv/bin/python benchmarks/bench_mlp.py              # the table, and benchmarks/mlp.md
    .venv/bin/python benchmarks/bench_mlp.py --profile    # plus cProfile of diffexplore's sweep
    OPENBLAS_NUM_THREADS=2 OMP_NUM_THREADS=2 .venv/bin/python benchmarks/bench_mlp.py   # two threads
"""

from __future__ import annotations

import argparse
import cProfile
import io
import os
import platform
import pstats
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path

for _variable in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_variable, "1")       # before NumPy loads its BLAS

import numpy as np  # noqa: E402
from tabulate import tabulate  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))          # run from a checkout without installing

import diffexplore as dx  # noqa: E402
from diffexplore.nn import mlp  # noqa: E402

SIZES = (784, 512, 512, 10)
BATCH = 256
NAMES = ("W1", "b1", "W2", "b2", "W3", "b3")


def problem(seed: int = 0) -> tuple[dict[str, np.ndarray], np.ndarray, np.ndarray]:
    """Parameters (W: N(0, 1/fan-in), b: N(0, 0.1²)), inputs (784, 256) and one-hot targets (10, 256)."""
    rng = np.random.default_rng(seed)
    parameters = mlp(SIZES, BATCH).initial_parameters(seed)
    x = rng.normal(size=(SIZES[0], BATCH))
    targets = dx.one_hot(rng.integers(0, SIZES[-1], size=BATCH), SIZES[-1], axis=0)
    return parameters, x, targets


def numpy_backprop(parameters: dict, x: np.ndarray, targets: np.ndarray) -> tuple[float, dict]:
    """The floor: forward and backward written out by hand, reusing z for tanh' = 1 − z²."""
    W1, b1, W2, b2, W3, b3 = (parameters[n] for n in NAMES)
    z1 = np.tanh(W1 @ x + b1)
    z2 = np.tanh(W2 @ z1 + b2)
    s3 = W3 @ z2 + b3
    shifted = s3 - s3.max(axis=0, keepdims=True)
    log_probs = shifted - np.log(np.exp(shifted).sum(axis=0, keepdims=True))
    loss = -float((targets * log_probs).sum()) / BATCH
    d3 = (np.exp(log_probs) - targets) / BATCH
    d2 = (1.0 - z2 * z2) * (W3.T @ d3)
    d1 = (1.0 - z1 * z1) * (W2.T @ d2)
    return loss, {"W1": d1 @ x.T, "b1": d1.sum(axis=1, keepdims=True),
                  "W2": d2 @ z1.T, "b2": d2.sum(axis=1, keepdims=True),
                  "W3": d3 @ z2.T, "b3": d3.sum(axis=1, keepdims=True)}


def diffexplore_methods(parameters, x, targets) -> dict[str, Callable[[], tuple[float, dict]]]:
    """diffexplore's reverse mode on the network graph: data as constants (parameter gradients only),
    and data as variables (the sweep then also computes ∂E/∂x, one more 512×784 by 512×256 product)."""
    as_constants = mlp(SIZES, BATCH, inputs=x, labels=targets)
    point = as_constants.at(parameters)
    as_variables = mlp(SIZES, BATCH)
    point_with_data = as_variables.at(parameters, x, targets)

    def constants():
        result = dx.reverse(as_constants.loss, point, record=False)
        return result.value, result.gradient

    def variables():
        result = dx.reverse(as_variables.loss, point_with_data, record=False)
        return result.value, result.gradient

    return {"diffexplore reverse (data as constants)": constants,
            "diffexplore reverse (data as variables: also ∂E/∂x)": variables}


def autograd_method(parameters, x, targets):
    """HIPS autograd on the same forward pass written with autograd.numpy, or None if not installed."""
    try:
        import autograd
        import autograd.numpy as anp
    except ImportError:
        return None

    def loss(params):
        z1 = anp.tanh(anp.dot(params["W1"], x) + params["b1"])
        z2 = anp.tanh(anp.dot(params["W2"], z1) + params["b2"])
        s3 = anp.dot(params["W3"], z2) + params["b3"]
        shifted = s3 - anp.max(s3, axis=0, keepdims=True)
        log_probs = shifted - anp.log(anp.sum(anp.exp(shifted), axis=0, keepdims=True))
        return -anp.sum(targets * log_probs) / BATCH

    value_and_grad = autograd.value_and_grad(loss)
    return lambda: value_and_grad(parameters)


def torch_method(parameters, x, targets):
    """PyTorch (float64, CPU) forward + backward, or None if not installed."""
    try:
        import torch
    except ImportError:
        return None
    torch.set_num_threads(int(os.environ["OMP_NUM_THREADS"]))
    tensors = {n: torch.tensor(parameters[n], requires_grad=True) for n in NAMES}
    xt, yt = torch.tensor(x), torch.tensor(targets)

    def run():
        for t in tensors.values():
            t.grad = None
        z1 = torch.tanh(tensors["W1"] @ xt + tensors["b1"])
        z2 = torch.tanh(tensors["W2"] @ z1 + tensors["b2"])
        s3 = tensors["W3"] @ z2 + tensors["b3"]
        loss = -(yt * torch.log_softmax(s3, dim=0)).sum() / BATCH
        loss.backward()
        return loss.item(), {n: t.grad.numpy() for n, t in tensors.items()}

    return run


def check(name: str, method, reference: tuple[float, dict]) -> float:
    """The largest relative difference (norm-wise) of a method's gradient from the floor's."""
    value, gradient = method()
    worst = abs(value - reference[0]) / abs(reference[0])
    for n in NAMES:
        want = reference[1][n]
        worst = max(worst, float(np.linalg.norm(np.asarray(gradient[n]) - want) / np.linalg.norm(want)))
    if worst > 1e-10:
        raise SystemExit(f"{name}: its gradient differs from the hand-written backprop by {worst:.2e}")
    return worst


def machine() -> str:
    cpu = platform.processor() or "unknown CPU"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    versions = [f"Python {platform.python_version()}", f"NumPy {np.__version__}"]
    for module in ("autograd", "torch"):
        try:
            versions.append(f"{module} {__import__(module).__version__}")
        except (ImportError, AttributeError):
            pass
    threads = f"BLAS threads {os.environ['OPENBLAS_NUM_THREADS']}"
    try:
        import torch
        threads += f", torch threads {torch.get_num_threads()}"
    except ImportError:
        pass
    load = ", ".join(f"{v:.2f}" for v in os.getloadavg())
    return (f"{cpu}, {os.cpu_count()} logical cores (shared with other work); {threads}; load average "
            f"{load} at the start; " + ", ".join(versions))


def measure(methods: dict, rounds: int, warmup: int = 2) -> dict[str, dict[str, list[float]]]:
    """CPU and wall-clock seconds of every call, the methods taking turns round after round."""
    for method in methods.values():
        for _ in range(warmup):
            method()
    times = {name: {"cpu": [], "wall": []} for name in methods}
    for _ in range(rounds):
        for name, method in methods.items():
            cpu, wall = time.process_time(), time.perf_counter()
            method()
            times[name]["cpu"].append(time.process_time() - cpu)
            times[name]["wall"].append(time.perf_counter() - wall)
    return times


def profile(method, runs: int = 5) -> str:
    profiler = cProfile.Profile()
    profiler.enable()
    for _ in range(runs):
        method()
    profiler.disable()
    out = io.StringIO()
    pstats.Stats(profiler, stream=out).sort_stats("tottime").print_stats(8)
    return out.getvalue()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=15, help="timed rounds (default 15)")
    parser.add_argument("--profile", action="store_true", help="print cProfile of diffexplore's sweep")
    parser.add_argument("--out", type=Path, default=ROOT / "benchmarks" / "mlp.md", help="Markdown output")
    args = parser.parse_args(argv)

    parameters, x, targets = problem()
    floor = "hand-written NumPy backprop (floor)"
    methods: dict[str, Callable | None] = {floor: lambda: numpy_backprop(parameters, x, targets)}
    methods.update(diffexplore_methods(parameters, x, targets))
    methods["HIPS autograd"] = autograd_method(parameters, x, targets)
    methods["PyTorch (float64, CPU)"] = torch_method(parameters, x, targets)
    available = {name: m for name, m in methods.items() if m is not None}

    reference = numpy_backprop(parameters, x, targets)
    agreement = {name: check(name, m, reference) for name, m in available.items()}
    times = measure(available, args.rounds)
    medians = {name: {clock: statistics.median(values) for clock, values in by_clock.items()}
               for name, by_clock in times.items()}
    rows = []
    for name, method in methods.items():
        if method is None:
            rows.append([name, "not installed", "", "", "", ""])
            continue
        cpu, wall = medians[name]["cpu"], medians[name]["wall"]
        rows.append([name, f"{cpu * 1e3:.1f}", f"{cpu / medians[floor]['cpu']:.2f}×", f"{wall * 1e3:.1f}",
                     f"{wall / medians[floor]['wall']:.2f}×", f"{agreement[name]:.0e}"])
    table = tabulate(rows, headers=["method", "CPU ms", "CPU ÷ floor", "wall ms", "wall ÷ floor",
                                    "gradient vs floor"], tablefmt="github", disable_numparse=True)
    ratio = medians["diffexplore reverse (data as constants)"]["cpu"] / medians[floor]["cpu"]
    verdict = "met" if ratio <= 1.3 else "not met"
    text = "\n".join([
        "# Reverse-mode gradient of a 784-512-512-10 tanh MLP (softmax cross-entropy, batch 256)",
        "",
        "Loss and the gradient of all six parameter arrays, float64, forward and backward pass per call; "
        f"medians of {args.rounds} rounds (methods timed in turn), after 2 warm-up calls each; CPU time "
        "of this process and wall-clock time.",
        "",
        table,
        "",
        f"Target (diffexplore within 1.3× of the hand-written backprop, data as constants, CPU medians): "
        f"{verdict} ({ratio:.2f}×).",
        "",
        "Where diffexplore's extra time goes: the sweep calls each operation's vector-Jacobian product "
        "with every argument, and the core does not yet tell it which arguments need a cotangent, so the "
        "first layer's W1 @ x also computes W1ᵀ·s̄ for the data x (a 784×512 by 512×256 product the "
        "floor never makes) and throws it away; that is why the two diffexplore rows cost the same. "
        "The per-call overhead of the core (plan cached per graph, a Python loop over ~20 array "
        "operations) is well under a millisecond.",
        "",
        f"Machine: {machine()}.",
        "",
        "Regenerate: `.venv/bin/python benchmarks/bench_mlp.py` (add `--profile` for where diffexplore's "
        "time goes).",
        "",
    ])
    print(text)
    args.out.write_text(text, encoding="utf-8")
    if args.profile:
        print(profile(available["diffexplore reverse (data as constants)"]))
    return 0


if __name__ == "__main__":
    sys.exit(main())
