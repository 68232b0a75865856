"""Measure: what every benchmark shares. Timing (CPU time of this process, methods taking turns round after
round, medians), the machine's details, and a small record of each result for RESULTS.md.

CPU time, not wall-clock time: the machine is shared, and time spent waiting for a core that a neighbour
holds is not work. BLAS and PyTorch are held to one thread (set before NumPy loads), so every method gets
the same single core.
"""

from __future__ import annotations

import os

for _variable in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_variable, "1")

import platform  # noqa: E402
import statistics  # noqa: E402
import subprocess  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402
from collections.abc import Callable  # noqa: E402
from dataclasses import dataclass, field  # noqa: E402
from pathlib import Path  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))          # run from a checkout without installing

import numpy as np  # noqa: E402


def build_in_place(tree: Path) -> str:
    """Build a checkout's compiled planning walk, where it has one, next to its sources: a tree measured
    through PYTHONPATH is not installed, so nothing else builds it, and without it the tree would plan with
    its Python walk. Says which walk the tree plans with."""
    if not (tree / "diffexplore" / "_planwalk.c").is_file():
        return "its Python walk (the tree has no compiled one)"
    run = subprocess.run([sys.executable, "setup.py", "-q", "build_ext", "--inplace"], cwd=tree,
                         capture_output=True, text=True)
    if run.returncode:
        raise SystemExit(f"{tree}: building diffexplore/_planwalk.c failed:\n{run.stderr[-2000:]}")
    return "the compiled walk (built in place)"


@dataclass
class Target:
    """One speed target: what was asked, the measured ratio, whether it was met and why (not)."""

    text: str
    measured: str
    met: bool
    note: str = ""


@dataclass
class Section:
    """A part of RESULTS.md: a heading, an explanation, Markdown tables, and the targets it decides."""

    title: str
    intro: str
    tables: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    targets: list[Target] = field(default_factory=list)
    data: dict = field(default_factory=dict)      # numbers for the plot


def cpu_seconds(function: Callable[[], object], repeat: int = 1) -> float:
    """CPU seconds of ``repeat`` calls of ``function``, divided by ``repeat``."""
    start = time.process_time()
    for _ in range(repeat):
        function()
    return (time.process_time() - start) / repeat


def calls_per_sample(function: Callable[[], object], sample_seconds: float = 0.02) -> int:
    """How many calls make one timing sample last about ``sample_seconds`` (short calls are timed in
    groups, so the clock's resolution and the loop do not count). 0 seconds: one call, not tried first."""
    if sample_seconds <= 0:
        return 1
    seconds = cpu_seconds(function)
    return max(1, min(10_000, int(sample_seconds / max(seconds, 1e-7))))


def measure(methods: dict[str, Callable[[], object]], rounds: int, warmup: int = 1,
            sample_seconds: float = 0.02) -> dict[str, float]:
    """Median CPU seconds per call of every method, the methods taking turns round after round (so a
    burst of load on the shared machine hits all of them alike)."""
    for method in methods.values():
        for _ in range(warmup):
            method()
    repeats = {name: calls_per_sample(method, sample_seconds) for name, method in methods.items()}
    samples: dict[str, list[float]] = {name: [] for name in methods}
    for _ in range(rounds):
        for name, method in methods.items():
            samples[name].append(cpu_seconds(method, repeats[name]))
    return {name: statistics.median(values) for name, values in samples.items()}


def milliseconds(seconds: float) -> str:
    """A time in ms with about four significant digits."""
    ms = seconds * 1e3
    if ms >= 100:
        return f"{ms:.0f}"
    if ms >= 10:
        return f"{ms:.1f}"
    if ms >= 1:
        return f"{ms:.2f}"
    return f"{ms:.3g}"


def ratio(value: float) -> str:
    return f"{value:.3g}×"


def versions() -> list[str]:
    found = [f"Python {platform.python_version()}", f"NumPy {np.__version__}"]
    for module in ("sympy", "micrograd", "torch", "autograd"):
        try:
            imported = __import__(module)
            found.append(f"{module} {getattr(imported, '__version__', 'installed')}")
        except ImportError:
            found.append(f"{module} not installed")
    return found


def machine() -> str:
    """CPU model, cores, memory, load, and the versions of Python and the libraries measured."""
    cpu = platform.processor() or "unknown CPU"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    memory = ""
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal"):
                memory = f", {int(line.split()[1]) / 2**20:.0f} GiB memory"
                break
    except OSError:
        pass
    load = ", ".join(f"{v:.2f}" for v in os.getloadavg())
    return (f"{cpu}, {os.cpu_count()} logical cores{memory} (shared with other work; load average {load} "
            f"at the start); BLAS threads {os.environ['OPENBLAS_NUM_THREADS']}; {platform.system()} "
            f"{platform.release()}; " + ", ".join(versions()))
