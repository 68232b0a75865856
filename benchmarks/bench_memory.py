"""Measure: what reverse mode remembers on a deep array MLP, with and without √depth checkpoints, beside
PyTorch's torch.utils.checkpoint.checkpoint_sequential on the same network.

The network: DEPTH tanh layers of width WIDTH on a batch of BATCH samples (float64; softmax cross-entropy
on the last layer's logits), so that one layer's activations (WIDTH × BATCH) outweigh its weights
(WIDTH × WIDTH) eight times. diffexplore's gradient is taken without checkpoints (dx.grad as users call
it) and with checkpoints=⌈√DEPTH⌉ snapshots; both gradients are checked equal first. Measured:

- bytes stored for the backward sweep (dx.memory: the tape without checkpoints, the snapshots with);
- peak memory of one gradient by tracemalloc (NumPy reports its buffers to it), in this process;
- CPU time (medians, the two taking turns round after round);
- peak RSS (VmHWM of /proc/self/status, reset after the set-up) of fresh processes, for diffexplore
  and for PyTorch (torch.utils.checkpoint.checkpoint_sequential with ⌈√DEPTH⌉ segments against a plain
  backward), since tracemalloc does not see torch's allocator.

    .venv/bin/python benchmarks/bench_memory.py              # the tables, and benchmarks/memory.md
    .venv/bin/python benchmarks/bench_memory.py --rounds 3
"""

from __future__ import annotations

import argparse
import json
import math
import os
import subprocess
import sys
import time
import tracemalloc
from pathlib import Path

import common  # noqa: F401  (sets BLAS threads before NumPy loads)
import numpy as np  # noqa: E402
from common import Section, Target, machine, measure, milliseconds, ratio  # noqa: E402
from tabulate import tabulate  # noqa: E402

import diffexplore as dx  # noqa: E402

HERE = Path(__file__).resolve().parent
DEPTH, WIDTH, BATCH = 32, 256, 2048
SEGMENTS = math.ceil(math.sqrt(DEPTH))          # √depth checkpoints: 6 for 32 layers
MIB = 2 ** 20


def network(depth: int = DEPTH, width: int = WIDTH, batch: int = BATCH, seed: int = 0):
    """The diffexplore network (data as constants: the gradient is the parameters') and its point."""
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(width, batch))
    labels = rng.integers(0, width, size=batch)
    net = dx.nn.mlp([width] * (depth + 1), batch, inputs=x, labels=labels)
    return net, net.at(net.initial_parameters(seed)), x, labels


def peak_rss_kib() -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1])
    raise RuntimeError("no VmHWM in /proc/self/status")


def rss_kib() -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    raise RuntimeError("no VmRSS in /proc/self/status")


def reset_peak_rss() -> bool:
    """Reset VmHWM to the current RSS (Linux ≥ 4.0: write 5 to /proc/self/clear_refs)."""
    try:
        Path("/proc/self/clear_refs").write_text("5")
        return True
    except OSError:
        return False


def child(library: str, checkpointed: bool, rounds: int) -> dict:
    """In a fresh process: set up, take one gradient, reset the peak RSS, take another (its peak above the
    RSS before it), then time ``rounds`` more."""
    net, at, x, labels = network()
    if library == "diffexplore":
        checkpoints = SEGMENTS if checkpointed else None
        gradient = (lambda: dx.grad(net.loss, at, checkpoints=checkpoints))
    else:
        import torch
        torch.set_num_threads(1)
        torch.manual_seed(0)
        layers = []
        for k in range(1, DEPTH + 1):
            linear = torch.nn.Linear(WIDTH, WIDTH, dtype=torch.float64)
            with torch.no_grad():           # the same parameters (W of shape (out, in), b of (out, 1))
                linear.weight.copy_(torch.from_numpy(at[f"W{k}"]))
                linear.bias.copy_(torch.from_numpy(at[f"b{k}"][:, 0]))
            layers.append(linear)
            if k < DEPTH:
                layers.append(torch.nn.Tanh())
        model = torch.nn.Sequential(*layers)
        inputs = torch.from_numpy(np.ascontiguousarray(x.T))
        targets = torch.from_numpy(labels)

        from torch.utils.checkpoint import checkpoint_sequential

        def gradient():
            model.zero_grad(set_to_none=True)
            if checkpointed:
                logits = checkpoint_sequential(model, SEGMENTS, inputs.requires_grad_(True),
                                               use_reentrant=False)
            else:
                logits = model(inputs)
            torch.nn.functional.cross_entropy(logits, targets).backward()
    gradient()                      # a first gradient: lazy imports, thread pools, the autograd engine
    base = rss_kib()
    reset = reset_peak_rss()
    before = peak_rss_kib()
    gradient()
    peak = peak_rss_kib() - (base if reset else before)
    times = []
    for _ in range(rounds):
        start = time.process_time()
        gradient()
        times.append(time.process_time() - start)
    return {"peak_kib": peak, "seconds": float(np.median(times)), "reset": reset}


def fresh(library: str, checkpointed: bool, rounds: int) -> dict:
    command = [sys.executable, __file__, "--child", library, "--checkpointed", str(int(checkpointed)),
               "--rounds", str(rounds)]
    # Every large buffer is its own mapping, returned when freed (glibc would otherwise raise its mmap
    # threshold after the first frees and keep later buffers in its heap): RSS then follows what is live.
    environment = {**os.environ, "MALLOC_MMAP_THRESHOLD_": "131072"}
    done = subprocess.run(command, capture_output=True, text=True, env=environment)
    if done.returncode != 0:
        return {"error": (done.stderr.strip().splitlines() or ["no output"])[-1]}
    return json.loads(done.stdout.strip().splitlines()[-1])


def traced_peak(function) -> int:
    tracemalloc.start()
    try:
        function()
        return tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


def run(rounds: int = 5, processes: bool = True) -> Section:
    net, at, _x, _labels = network()
    plain = dx.grad(net.loss, at)
    checked = dx.grad(net.loss, at, checkpoints=SEGMENTS)
    worst = max(float(np.max(np.abs(plain[n] - checked[n]))) for n in plain)
    stored_plain = dx.memory(net.loss, at)
    stored_checked = dx.memory(net.loss, at, checkpoints=SEGMENTS)
    peak_plain = traced_peak(lambda: dx.grad(net.loss, at))
    peak_checked = traced_peak(lambda: dx.grad(net.loss, at, checkpoints=SEGMENTS))
    times = measure({"plain": lambda: dx.grad(net.loss, at),
                     "checkpointed": lambda: dx.grad(net.loss, at, checkpoints=SEGMENTS)},
                    rounds=rounds, sample_seconds=0)
    stored_ratio = stored_checked.stored_bytes / stored_plain.stored_bytes
    peak_ratio = peak_checked / peak_plain
    time_ratio = times["checkpointed"] / times["plain"]
    activation = WIDTH * BATCH * 8 / MIB
    rows = [["stored for the backward sweep (dx.memory)", f"{stored_plain.stored_bytes / MIB:.0f} MiB "
             f"({stored_plain.stored_values} values)", f"{stored_checked.stored_bytes / MIB:.0f} MiB "
             f"({stored_checked.stored_values} values)", ratio(stored_ratio), "≤ 0.25×"],
            ["peak held by the lean sweep (dx.memory)", f"{stored_plain.peak_bytes / MIB:.0f} MiB",
             f"{stored_checked.peak_bytes / MIB:.0f} MiB",
             ratio(stored_checked.peak_bytes / stored_plain.peak_bytes), ""],
            ["peak of one dx.grad (tracemalloc)", f"{peak_plain / MIB:.0f} MiB",
             f"{peak_checked / MIB:.0f} MiB", ratio(peak_ratio), "≤ 0.5×"],
            ["CPU time of one dx.grad (median)", milliseconds(times["plain"]) + " ms",
             milliseconds(times["checkpointed"]) + " ms", ratio(time_ratio), "≤ 1.5×"],
            ["operations run again", "0", f"{stored_checked.recomputed_ops} of {stored_checked.ops}", "", ""]]
    table = tabulate(rows, headers=["diffexplore", "no checkpoints", f"checkpoints={SEGMENTS}", "ratio",
                                    "target"], tablefmt="github", disable_numparse=True)
    tables = [table]
    notes = []
    if processes:
        fresh_rows = []
        for library in ("diffexplore", "torch"):
            without = fresh(library, False, rounds)
            with_ = fresh(library, True, rounds)
            if "error" in without or "error" in with_:
                failure = without.get("error") or with_.get("error")
                notes.append(f"{library} in fresh processes failed: {failure}")
                continue
            what = ("dx.grad, checkpoints=" + str(SEGMENTS) if library == "diffexplore"
                    else f"checkpoint_sequential, {SEGMENTS} segments")
            fresh_rows.append([library, what, f"{without['peak_kib'] / 1024:.0f} MiB",
                               f"{with_['peak_kib'] / 1024:.0f} MiB",
                               ratio(with_["peak_kib"] / without["peak_kib"]),
                               milliseconds(without["seconds"]) + " ms",
                               milliseconds(with_["seconds"]) + " ms",
                               ratio(with_["seconds"] / without["seconds"])])
        tables.append(tabulate(fresh_rows, headers=["library", "checkpointed by", "peak RSS, plain",
                                                    "peak RSS, checkpointed", "ratio", "CPU, plain",
                                                    "CPU, checkpointed", "ratio"],
                               tablefmt="github", disable_numparse=True))
    section = Section(
        "Memory: what reverse mode remembers",
        f"A tanh MLP of {DEPTH} layers of width {WIDTH} on a batch of {BATCH} (float64; one layer's "
        f"activations {activation:.0f} MiB, its weights {WIDTH * WIDTH * 8 / MIB:.1f} MiB), its gradient by "
        f"reverse mode without checkpoints and with ⌈√{DEPTH}⌉ = {SEGMENTS} snapshots "
        f"(dx.grad(..., checkpoints={SEGMENTS})); "
        f"the two gradients agree to {worst:.1e} (largest absolute difference). dx.grad without checkpoints "
        "is the ordinary sweep, which keeps every value and adjoint (what the explorer and the records "
        "show); the lean sweep of dx.memory frees each value after its last use. Times: CPU medians of "
        f"{rounds} rounds taking turns. Below, fresh processes (glibc's mmap threshold fixed at 128 KiB, so "
        "that freed buffers leave the RSS): after one gradient, the peak RSS (VmHWM, reset) of the second "
        "above the RSS before it, and CPU medians of the same number of further gradients; "
        "PyTorch runs the same network and parameters, float64, one thread.",
        tables=tables, notes=notes)
    section.targets += [
        Target("Deep MLP, √depth checkpoints: bytes stored for the backward sweep at most 0.25× without",
               f"{ratio(stored_ratio)} ({stored_checked.stored_bytes / MIB:.0f} of "
               f"{stored_plain.stored_bytes / MIB:.0f} MiB)", stored_ratio <= 0.25),
        Target("Deep MLP, √depth checkpoints: peak memory of a gradient (tracemalloc) at most 0.5× without",
               f"{ratio(peak_ratio)} ({peak_checked / MIB:.0f} of {peak_plain / MIB:.0f} MiB)",
               peak_ratio <= 0.5),
        Target("Deep MLP, √depth checkpoints: CPU time of a gradient at most 1.5× without",
               ratio(time_ratio), time_ratio <= 1.5),
    ]
    return section


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--child", choices=("diffexplore", "torch"))
    parser.add_argument("--checkpointed", type=int, default=0)
    parser.add_argument("--out", type=Path, default=HERE / "memory.md")
    args = parser.parse_args(argv)
    if args.child:
        print(json.dumps(child(args.child, bool(args.checkpointed), args.rounds)))
        return 0
    section = run(rounds=args.rounds)
    lines = [f"# {section.title}", "", f"Machine: {machine()}.", "", section.intro, ""]
    lines += [t + "\n" for t in section.tables]
    lines += [n + "\n" for n in section.notes]
    lines += [f"- {t.text}: {t.measured} ({'met' if t.met else 'not met'})" for t in section.targets]
    text = "\n".join(lines) + "\n"
    args.out.write_text(text, encoding="utf-8")
    print(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
