"""Measure: importing programs. What ``dx.from_jax`` and ``dx.from_torch`` add to the framework's own
tracing: the conversion of a jaxpr (from ``jax.make_jaxpr``) or a torch.fx graph (from
``torch.fx.symbolic_trace``) to diffexplore nodes, against the time of that tracing itself.

JAX: a function of 3000 steps l = sin(l)·l + 0.5, a jaxpr of 9000 equations. JAX caches ``make_jaxpr``
per function object, so every round makes a fresh function: ``jax.make_jaxpr(f)(1.0)`` is timed first,
then ``dx.from_jax(f, 1.0)`` on the same function, whose own ``make_jaxpr`` is then a cache hit (a lookup
of about a millisecond, left in: the conversion is measured directly, slightly over).

PyTorch: a ResNet block (two 3×3 Conv2d with BatchNorm2d and ReLU, a skip connection; 8 channels, input
1×8×16×16, float64, eval mode). ``from_torch`` traces the module itself and has no entry point for a
traced GraphModule, so its conversion is measured as from_torch − symbolic_trace within each round.

Each round takes turns (trace, then import); results are dropped and garbage collected outside the
timed calls, so freeing one round's graph is not charged to the next.
"""

from __future__ import annotations

import gc
import statistics
import time
import warnings
from collections.abc import Callable

import numpy as np
from common import Section, Target, milliseconds, ratio
from tabulate import tabulate

import diffexplore as dx

JAX_STEPS = 3000
TORCH_SAMPLE_SECONDS = 0.05


def _timed(function: Callable[[], object], repeat: int = 1) -> float:
    """CPU seconds per call of ``repeat`` calls; the results are kept until the clock stops."""
    kept = []
    gc.collect()
    start = time.process_time()
    for _ in range(repeat):
        kept.append(function())
    seconds = (time.process_time() - start) / repeat
    del kept
    gc.collect()
    return seconds


def _jax_function() -> Callable:
    """A fresh function object every call (JAX caches make_jaxpr per function)."""
    import jax.numpy as jnp

    def f(x):
        l = x  # noqa: E741
        for _ in range(JAX_STEPS):
            l = jnp.sin(l) * l + 0.5  # noqa: E741
        return l

    return f


def measure_jax(rounds: int) -> tuple[float, float, int]:
    """Median CPU seconds of make_jaxpr and of the conversion after it, and the jaxpr's equations."""
    import jax

    equations = len(jax.make_jaxpr(_jax_function())(1.0).jaxpr.eqns)
    dx.from_jax(_jax_function(), 1.0)                   # warm-up (and the float32 note, once)
    trace, convert = [], []
    for _ in range(rounds):
        f = _jax_function()
        trace.append(_timed(lambda f=f: jax.make_jaxpr(f)(1.0)))
        convert.append(_timed(lambda f=f: dx.from_jax(f, 1.0)))   # make_jaxpr(f) is now cached
    return statistics.median(trace), statistics.median(convert), equations


def _resnet_block():
    import torch
    from torch import nn

    class Block(nn.Module):
        def __init__(self, channels: int = 8):
            super().__init__()
            self.conv1 = nn.Conv2d(channels, channels, 3, padding=1, bias=False)
            self.bn1 = nn.BatchNorm2d(channels)
            self.conv2 = nn.Conv2d(channels, channels, 3, padding=1, bias=False)
            self.bn2 = nn.BatchNorm2d(channels)

        def forward(self, x):
            y = torch.relu(self.bn1(self.conv1(x)))
            y = self.bn2(self.conv2(y))
            return torch.relu(y + x)

    torch.manual_seed(0)
    block = Block().double().eval()
    with torch.no_grad():                   # running statistics that are not the identity
        for bn in (block.bn1, block.bn2):
            bn.running_mean.uniform_(-0.5, 0.5)
            bn.running_var.uniform_(0.5, 1.5)
    return block, torch.randn(1, 8, 16, 16, dtype=torch.float64)


def measure_torch(rounds: int) -> tuple[float, float, int, float]:
    """Median CPU seconds of symbolic_trace and of the conversion after it (from_torch − trace, per
    round), the fx graph's nodes, and the imported graph's largest difference from the module."""
    import torch

    block, x = _resnet_block()
    traced = torch.fx.symbolic_trace(block)
    imported = dx.from_torch(block, x)
    with torch.no_grad():
        expected = block(x).numpy()
    error = float(np.max(np.abs(dx.evaluate(imported.output, imported.point) - expected)))
    nodes = len(traced.graph.nodes)
    del imported
    trace_once = lambda: torch.fx.symbolic_trace(block)  # noqa: E731
    import_once = lambda: dx.from_torch(block, x)  # noqa: E731
    repeat = max(1, int(TORCH_SAMPLE_SECONDS / max(_timed(import_once), 1e-6)))
    trace, convert = [], []
    for _ in range(rounds):
        traced_seconds = _timed(trace_once, repeat)
        imported_seconds = _timed(import_once, repeat)
        trace.append(traced_seconds)
        convert.append(imported_seconds - traced_seconds)
    return statistics.median(trace), statistics.median(convert), nodes, error


def run(rounds: int = 9) -> Section:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        jax_trace, jax_convert, equations = measure_jax(rounds)
        torch_trace, torch_convert, fx_nodes, error = measure_torch(rounds)
    jax_ratio, torch_ratio = jax_convert / jax_trace, torch_convert / torch_trace
    rows = [[f"JAX: {JAX_STEPS} steps of sin(l)·l + 0.5 ({equations} equations)", "jax.make_jaxpr",
             milliseconds(jax_trace), milliseconds(jax_convert), ratio(jax_ratio)],
            [f"PyTorch: ResNet block, 8 channels, 1×8×16×16 ({fx_nodes} fx nodes)",
             "torch.fx.symbolic_trace", milliseconds(torch_trace), milliseconds(torch_convert),
             ratio(torch_ratio)]]
    table = tabulate(rows, headers=["program", "framework's trace", "trace CPU ms",
                                    "diffexplore conversion CPU ms", "conversion ÷ trace"],
                     tablefmt="github", disable_numparse=True)
    section = Section(
        "Importing programs: JAX and PyTorch",
        "What dx.from_jax and dx.from_torch add to the framework's own tracing: the conversion of a jaxpr "
        "or a torch.fx graph to diffexplore nodes, against jax.make_jaxpr or torch.fx.symbolic_trace "
        f"itself. CPU medians of {rounds} rounds, trace and import taking turns. JAX: a fresh function "
        "every round (make_jaxpr is cached per function), traced, then from_jax on it (its make_jaxpr a "
        "cache hit, left in the conversion's time). PyTorch: conversion = from_torch − symbolic_trace per "
        f"round (from_torch traces the module itself); the imported block matches the module's output "
        f"to {error:.0e}.",
        tables=[table])
    section.targets.append(Target(
        "JAX import: the conversion after make_jaxpr at most make_jaxpr's own time",
        f"{ratio(jax_ratio)} make_jaxpr's time", jax_ratio <= 1.0))
    section.targets.append(Target(
        "PyTorch import: the conversion after symbolic_trace at most symbolic_trace's own time",
        f"{ratio(torch_ratio)} symbolic_trace's time", torch_ratio <= 1.0))
    return section


if __name__ == "__main__":
    section = run()
    print(section.intro, "\n")
    print("\n\n".join(section.tables))
    for target in section.targets:
        print(f"{target.text}: {target.measured} ({'met' if target.met else 'not met'})")
