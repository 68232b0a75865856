"""Measure: the gradient at 10^6 points through the exports, side by side in one run.

diffexplore's NumPy-compiled gradient (``dx.compile(f).gradient``), diffexplore's own reverse sweep in
jax.numpy under ``jax.jit`` (``dx.compile(f, backend="jax")``), ``jax.jit(jax.vmap(jax.grad(...)))`` of
``dx.to_jax(f)`` and of the same function written by hand in jax.numpy, ``sympy.lambdify(cse=True)`` of
SymPy's derivative, and autograd through ``torch.compile`` (inductor) of ``dx.to_torch(f)``. Two
functions: the seed example 1 + x + exp(sin(x·y)) and the logistic map of 10 steps. Compile time and
warm-up are excluded (every method runs once first); JAX results are ``block_until_ready`` before the
clock stops; CPU medians with the methods taking turns. Everyone works in float64 (JAX with x64 on).

The machine's memory-bandwidth bound for the work: each method must read the inputs and write the
gradient, 8 bytes a value; at the bandwidth of a large NumPy copy (bytes read + written ÷ time) that
takes ``bytes ÷ bandwidth`` at the least, and ``bound ÷ time`` says how close each method gets.
"""

from __future__ import annotations

import time

import numpy as np
import sympy
from common import Section, Target, measure, milliseconds, ratio
from tabulate import tabulate

import diffexplore as dx
from diffexplore.sympy_bridge import symbol, to_sympy

POINTS = 10**6
LOGISTIC_STEPS = 10
HAND = "hand-written jax.jit(jax.vmap(jax.grad(f)))"
LAMBDIFY = "SymPy diff + lambdify(cse=True)"
EXPORTS = ("diffexplore: compile(backend='jax') under jit", "diffexplore: jit(vmap(grad(to_jax(f))))")


def bandwidth(megabytes: int = 400, rounds: int = 5) -> float:
    """Bytes a second a large NumPy copy moves (each byte read once and written once), the median."""
    source = np.ones(megabytes * 2**20 // 8)
    target = np.empty_like(source)
    times = []
    for _ in range(rounds):
        start = time.perf_counter()
        np.copyto(target, source)
        times.append(time.perf_counter() - start)
    return 2 * source.nbytes / float(np.median(times))


def seed_by_hand(jnp):
    return lambda x, y: 1 + x + jnp.exp(jnp.sin(x * y))


def logistic_by_hand(jnp):
    def f(x):
        for _ in range(LOGISTIC_STEPS):
            x = 4 * x * (1 - x)
        return x
    return f


def logistic(steps: int) -> dx.Node:
    term = dx.variable("x")
    for _ in range(steps):
        term = 4 * term * (1 - term)
    return term


def contenders(f: dx.Node, by_hand, point: dict[str, np.ndarray]) -> tuple[dict, dict]:
    """The methods to time (each returns the gradient as a list of arrays, ready) and their one-time
    preparation seconds (compiling, jit's first call)."""
    import jax
    import jax.numpy as jnp
    import torch
    names = [v.name for v in dx.free_variables(f)]
    arrays = [point[n] for n in names]
    on_device = [jnp.asarray(a) for a in arrays]
    argnums = tuple(range(len(names)))
    methods, prepared = {}, {}

    def ready(values):
        return [v.block_until_ready() for v in values]

    def prepare(name, make):
        start = time.process_time()
        method = make()
        method()                                           # compiles (jit, torch.compile) and warms up
        prepared[name] = time.process_time() - start
        methods[name] = method

    def numpy_compiled():
        c = dx.compile(f)

        def gradient():
            found = c.gradient(point)
            return [found[n] for n in names]
        return gradient
    prepare("diffexplore: compile(f) (NumPy)", numpy_compiled)

    def jax_compiled():
        jitted = jax.jit(dx.compile(f, backend="jax").gradient)
        device_point = dict(zip(names, on_device, strict=True))

        def gradient():
            found = jitted(device_point)
            return ready([found[n] for n in names])
        return gradient
    prepare(EXPORTS[0], jax_compiled)

    def exported():
        jitted = jax.jit(jax.vmap(jax.grad(dx.to_jax(f), argnums=argnums)))
        return lambda: ready(jitted(*on_device))
    prepare(EXPORTS[1], exported)

    def hand_written():
        jitted = jax.jit(jax.vmap(jax.grad(by_hand(jnp), argnums=argnums)))
        return lambda: ready(jitted(*on_device))
    prepare(HAND, hand_written)

    def lambdified():
        symbols = [symbol(n) for n in names]
        expression = to_sympy(f)
        gradient = sympy.lambdify(symbols, [sympy.diff(expression, s) for s in symbols], "numpy", cse=True)
        return lambda: [np.broadcast_to(g, (POINTS,)) for g in gradient(*arrays)]
    prepare(LAMBDIFY, lambdified)

    def torch_compiled():
        compiled = torch.compile(dx.to_torch(f))
        tensors = [torch.as_tensor(a) for a in arrays]

        def gradient():
            inputs = [t.detach().requires_grad_() for t in tensors]
            return list(torch.autograd.grad(compiled(*inputs).sum(), inputs))
        return gradient
    try:
        prepare("dx.to_torch(f): torch.compile (inductor) + autograd", torch_compiled)
    except Exception as exc:          # no C++ compiler: reported, the rest still measured
        prepared["torch.compile failed"] = float("nan")
        print(f"torch.compile failed: {exc}")
    return methods, prepared


def run(rounds: int = 9) -> Section:
    import jax
    rng = np.random.default_rng(0)
    cases = [("1 + x + exp(sin(x*y))", dx.parse("1 + x + exp(sin(x*y))"), seed_by_hand,
              {"x": rng.uniform(-2, 2, POINTS), "y": rng.uniform(-2, 2, POINTS)}),
             (f"logistic map, {LOGISTIC_STEPS} steps", logistic(LOGISTIC_STEPS), logistic_by_hand,
              {"x": rng.uniform(0.01, 0.99, POINTS)})]
    speed = bandwidth()
    rows = []
    worst_export = 0.0
    lambdify_ratios = []
    with jax.enable_x64(True):
        for label, f, by_hand, point in cases:
            methods, prepared = contenders(f, by_hand, point)
            results = {name: [np.asarray(g) for g in method()] for name, method in methods.items()}
            reference = results[LAMBDIFY]
            times = measure(methods, rounds, warmup=1, sample_seconds=0.0)
            moved = 8 * POINTS * 2 * len(point)              # read the inputs, write the gradient
            floor = moved / speed
            for name in EXPORTS:
                worst_export = max(worst_export, times[name] / times[HAND])
            lambdify_ratios.append(times[EXPORTS[0]] / times[LAMBDIFY])
            for name, seconds in times.items():
                error = max(float(np.max(np.abs(g - r) / np.maximum(1.0, np.abs(r))))
                            for g, r in zip(results[name], reference, strict=True))
                rows.append([label, name, milliseconds(seconds), ratio(seconds / times[HAND]),
                             ratio(seconds / times[LAMBDIFY]), f"{floor / seconds:.2f}",
                             f"{prepared[name]:.3g}", f"{error:.0e}"])
            rows.append([label, "memory-bandwidth bound", milliseconds(floor), ratio(floor / times[HAND]),
                         ratio(floor / times[LAMBDIFY]), "1", "", ""])
    table = tabulate(rows, headers=["function", "method", "CPU ms per call", "÷ hand-written JAX",
                                    "÷ lambdify(cse)", "bound ÷ time", "preparation s",
                                    "difference from lambdify(cse)"],
                     tablefmt="github", disable_numparse=True)
    section = Section(
        f"Exports: batch gradient at {POINTS:,} points",
        f"The whole gradient at {POINTS:,} points in one call, through each way out of diffexplore, CPU "
        f"medians of {rounds} rounds (JAX's and torch's threads counted; results ready before the clock "
        "stops; compile time and warm-up excluded and shown as preparation). The memory-bandwidth bound "
        f"is the time to read the inputs and write the gradient at {speed / 1e9:.1f} GB/s (a 400 MB NumPy "
        "copy on this machine); 'bound ÷ time' is how close a method gets to it (1 = at the bound).",
        tables=[table])
    section.targets.append(Target(
        "the JAX export (compile(backend='jax') under jit, and jit(vmap(grad(to_jax(f))))) within 1.1× "
        "of the hand-written jax.jit(jax.vmap(jax.grad(f)))",
        f"at most {worst_export:.3f}× the hand-written JAX function's time "
        f"(compile(backend='jax') ÷ lambdify(cse): {', '.join(f'{r:.2f}×' for r in lambdify_ratios)})",
        worst_export <= 1.1,
        "XLA fuses the exported operations into the same loops as the hand-written function's: both are "
        "the same jax.numpy operations after tracing."))
    return section


if __name__ == "__main__":
    section = run(rounds=5)
    print("\n\n".join(section.tables))
    print(section.targets)
