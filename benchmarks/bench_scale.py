"""Measure: how the interpreters scale, and the cheap gradient principle (a reverse-mode gradient costs a
small constant times the function itself), on graphs of 10^2 to 10^6 nodes:

- ``chain``: f = x·c·c·…·c (a 10^6-deep chain, where recursive engines fail);
- ``logistic``: l_k = r·l_{k-1}·(1 − l_{k-1}) at r = 2.5, three nodes a step, every value used twice;
- ``product``: x1·x2·…·xn, n inputs (reverse mode gets all n partials from one sweep), at
  x_i = 1 + 10⁻⁸·(i mod 10^5);
- ``transcendental``: l_k = sin(l_{k-1})·l_{k-1} + 0.5, three nodes a step (sin, mul, add), from l_0 = x;
- ``mlp``: a square scalar MLP w-w-w-1 (w inputs as constants, two hidden ReLU layers of width w, a linear
  output, squared error against 0.5), every weight and bias a variable: 6w² + 8w + 5 nodes, w chosen
  per size (3, 12, 40, 128, 408 for 10^2 … 10^6 nodes), the gradient taken by all 2w² + 3w + 1 of them.

Every number a benchmark computes must be finite: an overflow is a ``dx.DomainError``. So the logistic map
runs at r = 2.5 (its derivative shrinks like 0.5^n; at r = 4 it grows like 2^n and overflows after about
1,000 steps), and the product's inputs stay so close to 1 that 10^5 of them multiply to about e^50 (at
1 + 10⁻⁶·i they overflowed at 10^5 nodes). The graphs are the same as with r = 4: same nodes, same
operations. The transcendental chain goes to its fixed point (about 2.25), where its derivative shrinks
like 0.63^k; the MLP's weights are uniform in ±1/√(fan-in).

For every graph: the time to build it, the first evaluation (which plans the graph: one walk), then
``dx.evaluate`` and ``dx.grad`` (reverse) on the planned graph, and their ratio. PyTorch's ratio on the
transcendental chain (0-d tensors, backward ÷ forward) in a child process. Also: micrograd on a deep
chain, and the other operations at 10^6 nodes (size, forward mode, symbolic derivative).

    .venv/bin/python benchmarks/bench_scale.py --quick          # up to 10^5 nodes
    .venv/bin/python benchmarks/bench_scale.py --torch 100,1000 # PyTorch's times alone, as JSON
"""

from __future__ import annotations

import argparse
import gc
import json
import math
import random
import statistics
import subprocess
import sys
import time

from common import Section, Target, measure, milliseconds, ratio
from tabulate import tabulate

import diffexplore as dx

SIZES = (10**2, 10**3, 10**4, 10**5, 10**6)
TORCH_SIZES = (10**2, 10**3, 10**4, 10**5)      # PyTorch's transcendental chain (its ratio only)


def chain(nodes: int, salt: int = 0) -> dx.Node:
    """x·c·c·…·c with ``nodes`` nodes (x, c and the products)."""
    f = dx.variable("x")
    c = dx.constant(0.9999999 - 1e-15 * salt)       # a new salt makes a graph never built before
    for _ in range(nodes - 2):
        f = f * c
    return f


LOGISTIC_RATE = 2.5      # the derivative of l_k shrinks like 0.5^k, so grad stays finite at 10^6 nodes


def logistic(nodes: int, salt: int = 0) -> dx.Node:
    """The logistic map at r = 2.5, three nodes a step."""
    term = dx.variable("x")
    r = LOGISTIC_RATE - 1e-15 * salt
    for _ in range(max(1, (nodes - 3) // 3)):
        term = r * term * (1 - term)
    return term


def product(nodes: int, salt: int = 0) -> dx.Node:
    """x0·x1·…, (nodes + 1) // 2 variables."""
    inputs = [dx.variable(f"x{i}") for i in range((nodes + 1) // 2)]
    term = inputs[0] * (1.0 + 1e-15 * salt)
    for x in inputs[1:]:
        term = term * x
    return term


def product_point(nodes: int) -> dict[str, float]:
    """x_i = 1 + 10⁻⁸·(i mod 10^5): each block of 10^5 inputs multiplies to about e^50, so the product of
    half a million stays finite."""
    return {f"x{i}": 1.0 + 1e-8 * (i % 100_000) for i in range((nodes + 1) // 2)}


TRANSCENDENTAL_SHIFT = 0.5


def transcendental(nodes: int, salt: int = 0) -> dx.Node:
    """l_k = sin(l_{k-1})·l_{k-1} + 0.5 from l_0 = x: three nodes a step (sin, mul, add)."""
    term = dx.variable("x")
    shift = dx.constant(TRANSCENDENTAL_SHIFT + 1e-15 * salt)
    for _ in range(max(1, (nodes - 2) // 3)):
        term = dx.sin(term) * term + shift
    return term


def mlp_nodes(width: int) -> int:
    """Graph nodes of the square scalar MLP of :func:`scalar_mlp` at ``width``."""
    return 6 * width * width + 8 * width + 5


def mlp_width(nodes: int) -> int:
    """The width whose MLP has the number of nodes closest to ``nodes``."""
    return min(range(1, 2000), key=lambda w: abs(mlp_nodes(w) - nodes))


def mlp_layers(width: int) -> tuple[int, ...]:
    """Layer sizes: w inputs, two hidden ReLU layers of w, one linear output."""
    return (width, width, width, 1)


def mlp_parameter_names(width: int) -> list[str]:
    """Every weight and bias, layer by layer, neuron by neuron: b<layer>_<neuron> and
    w<layer>_<neuron>_<input>."""
    names = []
    sizes = mlp_layers(width)
    for li, (n_in, n_out) in enumerate(zip(sizes[:-1], sizes[1:], strict=True)):
        for ni in range(n_out):
            names.append(f"b{li}_{ni}")
            names.extend(f"w{li}_{ni}_{wi}" for wi in range(n_in))
    return names


def scalar_mlp(nodes: int, salt: int = 0) -> dx.Node:
    """A w-w-w-1 scalar ReLU MLP with squared error against 0.5 (micrograd's neuron: act = b + w0·z0 + …),
    its inputs constants (seeded normal numbers), every weight and bias a variable."""
    width = mlp_width(nodes)
    rng = random.Random(0)
    z = [dx.constant(rng.gauss(0.0, 1.0) + 1e-15 * salt) for _ in range(width)]
    sizes = mlp_layers(width)
    last = len(sizes) - 2
    for li, (n_in, n_out) in enumerate(zip(sizes[:-1], sizes[1:], strict=True)):
        layer = []
        for ni in range(n_out):
            act = dx.variable(f"b{li}_{ni}")
            for wi in range(n_in):
                act = act + dx.variable(f"w{li}_{ni}_{wi}") * z[wi]
            layer.append(act if li == last else dx.relu(act))
        z = layer
    return (z[0] - 0.5) ** 2


def mlp_point(nodes: int) -> dict[str, float]:
    """Weights uniform in ±1/√(fan-in), biases 0.1 (seeded)."""
    width = mlp_width(nodes)
    rng = random.Random(1)
    bound = 1.0 / math.sqrt(width)
    return {name: 0.1 if name.startswith("b") else rng.uniform(-bound, bound)
            for name in mlp_parameter_names(width)}


FAMILIES = {"chain": (chain, lambda n: {"x": 0.3}),
            "logistic": (logistic, lambda n: {"x": 0.3}),
            "product": (product, product_point),
            "transcendental": (transcendental, lambda n: {"x": 0.3}),
            "mlp": (scalar_mlp, mlp_point)}


def flush_plan_cache() -> None:
    """Plan a few tiny graphs, so that the cache of recent plans lets go of the big graphs measured before
    (freeing a million nodes takes a second, which belongs to no measurement)."""
    for k in range(10):
        dx.evaluate(dx.variable("flush") + k, {"flush": 0.0})


def micrograd_chain(depth: int) -> str:
    """What micrograd does with a chain of ``depth`` multiplications (its topological sort recurses)."""
    try:
        from micrograd.engine import Value
    except ImportError:
        return "not installed"
    value = Value(0.3)
    for _ in range(depth):
        value = value * 0.9999999
    try:
        value.backward()
    except RecursionError:
        return f"RecursionError (Python's recursion limit is {sys.getrecursionlimit()})"
    return "works"


# ---- PyTorch's ratio on the transcendental chain (a child process) --------------------------------------


def torch_transcendental(sizes: list[int], rounds: int) -> dict:
    """PyTorch on 0-d float64 tensors: the transcendental chain's forward pass (which records the graph)
    and ``backward()``, CPU seconds of each round after one warm-up, per size."""
    try:
        import torch
    except ImportError:
        return {"installed": False}
    torch.set_num_threads(1)
    found: dict = {"installed": True, "version": torch.__version__.split("+")[0], "sizes": {}}
    for n in sizes:
        forward, backward = [], []
        for k in range(rounds + 1):
            x = torch.tensor(0.3, dtype=torch.float64, requires_grad=True)
            start = time.process_time()
            term = x
            for _ in range(max(1, (n - 2) // 3)):
                term = torch.sin(term) * term + TRANSCENDENTAL_SHIFT
            middle = time.process_time()
            term.backward()
            end = time.process_time()
            if k:
                forward.append(middle - start)
                backward.append(end - middle)
            gradient = float(x.grad)
            del term, x
        found["sizes"][str(n)] = {"forward": statistics.median(forward),
                                  "backward": statistics.median(backward), "gradient": gradient}
    return found


def run_torch(sizes: list[int], rounds: int) -> dict:
    """:func:`torch_transcendental` in a fresh process (PyTorch's objects stay out of this heap)."""
    done = subprocess.run([sys.executable, __file__, "--torch", ",".join(map(str, sizes)), "--rounds",
                           str(rounds)], capture_output=True, text=True)
    if done.returncode != 0:
        return {"installed": False, "error": (done.stderr.strip().splitlines() or ["no output"])[-1]}
    return json.loads(done.stdout)


# ---- diffexplore ---------------------------------------------------------------------------------------


def measure_graph(family: str, n: int, rounds: int) -> dict:
    """Build (median of 3 new graphs, 1 at 10^6 nodes), first evaluate (plans it), then evaluate and grad
    on the planned graph, medians of ``rounds`` samples taking turns."""
    build, point_of = FAMILIES[family]
    point = point_of(n)
    built, first = [], []
    f = None
    for salt in range(3 if n < 10**6 else 1):    # a new graph each time: nothing is reused
        f = None
        flush_plan_cache()    # the last graphs are freed now, not inside the next measurement
        gc.collect()
        start = time.process_time()
        f = build(n, salt)
        built.append(time.process_time() - start)
        start = time.process_time()
        dx.evaluate(f, point)
        first.append(time.process_time() - start)
    times = measure({"evaluate": lambda: dx.evaluate(f, point), "grad": lambda: dx.grad(f, point)},
                    rounds, warmup=1)
    return {"nodes": dx.size(f).dag_nodes, "build": statistics.median(built),
            "first": statistics.median(first), "evaluate": times["evaluate"], "grad": times["grad"],
            "inputs": len(point)}


def scaling_table(data: dict) -> str:
    """One row per graph: build, first evaluate, evaluate, grad, grad ÷ evaluate, grad per node."""
    rows = []
    for family, points in data.items():
        for p in points:
            rows.append([family, f"{p['nodes']:,}", f"{p['inputs']:,}", milliseconds(p["build"]),
                         milliseconds(p["first"]), milliseconds(p["evaluate"]), milliseconds(p["grad"]),
                         ratio(p["grad"] / p["evaluate"]), f"{p['grad'] / p['nodes'] * 1e9:.0f}"])
    return tabulate(rows, headers=["graph", "nodes", "variables", "build ms", "first evaluate ms (plans it)",
                                   "evaluate ms", "grad ms", "grad ÷ evaluate", "grad ns/node"],
                    tablefmt="github", disable_numparse=True)


def torch_table(torch: dict, data: dict) -> str:
    """PyTorch's forward and backward on the transcendental chain beside diffexplore's ratio."""
    ours = {p["nodes"]: p for p in data.get("transcendental", [])}
    rows = []
    for n, p in torch["sizes"].items():
        nodes = transcendental_nodes(int(n))
        mine = ours.get(nodes)
        rows.append([f"{nodes:,}", milliseconds(p["forward"]), milliseconds(p["backward"]),
                     ratio(p["backward"] / p["forward"]),
                     ratio(mine["grad"] / mine["evaluate"]) if mine else "",
                     ratio(mine["grad"] / (mine["build"] + mine["first"])) if mine else ""])
    return tabulate(rows, headers=["transcendental chain, nodes", f"PyTorch {torch['version']} forward ms",
                                   "backward ms", "PyTorch backward ÷ forward", "diffexplore grad ÷ evaluate",
                                   "diffexplore grad ÷ (build + first evaluate)"],
                    tablefmt="github", disable_numparse=True)


def transcendental_nodes(n: int) -> int:
    """Nodes of :func:`transcendental` (x, 0.5 and three a step)."""
    return 2 + 3 * max(1, (n - 2) // 3)


def family_targets(data: dict, sizes: tuple[int, ...], torch: dict) -> list[Target]:
    """One target per family: grad ÷ evaluate at most 3× at every size measured."""
    targets = []
    span = f"10^{round(math.log10(sizes[0]))} to 10^{round(math.log10(sizes[-1]))} nodes"
    short = "" if sizes[-1] >= 10**6 else " (--quick: not measured at 10^6 nodes)"
    for family, points in data.items():
        worst = max(points, key=lambda p: p["grad"] / p["evaluate"])
        cost = worst["grad"] / worst["evaluate"]
        over = [p for p in points if p["grad"] / p["evaluate"] > 3]
        measured = f"at most {ratio(cost)} (at {worst['nodes']:,} nodes){short}"
        if family == "transcendental" and torch.get("installed"):
            spread = [p["backward"] / p["forward"] for p in torch["sizes"].values()]
            measured += f"; PyTorch backward ÷ forward {min(spread):.2f}–{max(spread):.2f}×"
        note = ""
        if over:
            where = ", ".join(f"{p['nodes']:,}" for p in over)
            note = (f"grad ÷ evaluate is above 3× at {where} nodes. "
                    "dx.grad makes the forward sweep (what evaluate does) and then the reverse sweep, so "
                    f"the reverse sweep alone costs about {cost - 1:.1f}× evaluate there. "
                    + REASONS.get(family, "").format(inputs=f"{worst['inputs']:,}"))
        elif short:
            note = "not measured at 10^6 nodes (--quick)."
        targets.append(Target(f"reverse ÷ evaluate at most 3×, {family}, {span}", measured,
                              not over and not short, note.strip()))
    return targets


REASONS = {
    "transcendental": "Per step evaluate makes three operations (sin, ×, +); the reverse sweep works out "
                      "and adds the local partials of all three (sin's is a cos, the product's two are "
                      "products, the sum's are ones).",
    "mlp": "The gradient has an entry for every variable ({inputs} here), each adjoint checked to be finite "
           "and put into the result by name: work that evaluate, which returns one number, does not do.",
    "product": "The gradient has an entry for every variable ({inputs} here), each adjoint checked to be "
               "finite and put into the result by name: work that evaluate, which returns one number, does "
               "not do.",
}


def run(rounds: int = 5, sizes: tuple[int, ...] = SIZES, torch_sizes: tuple[int, ...] = TORCH_SIZES,
        million: bool = True) -> Section:
    """Every family at every size, PyTorch's ratio in a child process; the RESULTS.md section."""
    data: dict = {}
    for family in FAMILIES:
        for n in sizes:
            data.setdefault(family, []).append(measure_graph(family, n, rounds))
            flush_plan_cache()
    torch = run_torch(list(torch_sizes), rounds)
    section = Section(
        f"Scaling and the cheap gradient principle (10^2 to 10^{round(math.log10(sizes[-1]))} nodes)",
        "CPU time; `evaluate` and `grad` (reverse mode) are medians on a graph that has been planned "
        "(the plan, one walk over the graph, is made by the first evaluation and kept while the graph "
        f"lives); medians of {rounds} samples, short calls timed in groups. Build and first evaluate: "
        "medians of 3 new graphs (one at 10^6 nodes). The logistic map runs at "
        f"r = {LOGISTIC_RATE} (l_k = r·l_{{k-1}}·(1 − l_{{k-1}})), where its derivative stays finite; the "
        "product is evaluated at x_i = 1 + 10⁻⁸·(i mod 10^5), where it stays finite too (an overflow is a "
        "DomainError). The transcendental chain is l_k = sin(l_{k-1})·l_{k-1} + 0.5 from l_0 = x = 0.3. "
        "The MLP is a square scalar MLP w-w-w-1 (w constant inputs, two hidden ReLU layers of width w, "
        "micrograd's neuron act = b + w0·z0 + …, squared error against 0.5), every weight and bias a "
        "variable, w chosen per size so that its 6w² + 8w + 5 nodes come closest to the size ("
        + ", ".join(f"w = {mlp_width(n)}" for n in sizes) + "); its gradient is by all of them.",
        tables=[scaling_table(data)], data={"families": data, "torch": torch})
    section.targets.extend(family_targets(data, sizes, torch))
    if torch.get("installed"):
        section.tables.append(torch_table(torch, data))
        section.notes.append(
            "PyTorch's forward pass records the graph as it computes (its tape), so its backward ÷ forward "
            "compares a sweep with a build; diffexplore's grad ÷ evaluate compares two sweeps over a graph "
            "already planned, a stricter ratio. The last column puts diffexplore on PyTorch's footing: "
            "its reverse sweep ÷ building and first evaluating the graph.")
    else:
        section.notes.append(f"PyTorch's ratio: not measured ({torch.get('error', 'not installed')}).")
    depth = 10_000
    section.notes.append(f"micrograd on a chain of {depth:,} multiplications: {micrograd_chain(depth)}; "
                         "diffexplore's traversals are loops over lists, so the 10^6-node chain above works.")
    if million:
        section.tables.append(_million())
        section.notes.append(
            "The size of the 10^6-node logistic map is not timed in this table but in the 10^6-node "
            "section below, with its memory: its tree count (the expression written out without sharing) "
            "is an exact integer of about 100,000 digits.")
    return section


def _million() -> str:
    """Every operation once on the 10^6-node chain and the 10^6-node logistic map."""
    rows = []
    for family in ("chain", "logistic"):
        build = FAMILIES[family][0]
        flush_plan_cache()
        gc.collect()
        start = time.process_time()
        f = build(10**6)
        timings = {"build": time.process_time() - start}
        actions = [("size", dx.size if family == "chain" else None),
                   ("first evaluate", lambda g: dx.evaluate(g, {"x": 0.3})),
                   ("evaluate", lambda g: dx.evaluate(g, {"x": 0.3})),
                   ("grad (reverse)", lambda g: dx.grad(g, {"x": 0.3})),
                   ("grad (forward)", lambda g: dx.grad(g, {"x": 0.3}, method="forward")),
                   ("diff (symbolic)", lambda g: dx.diff(g, "x"))]
        for name, action in actions:
            if action is None:
                timings[name] = None
                continue
            gc.collect()
            start = time.process_time()
            result = action(f)
            timings[name] = time.process_time() - start
            del result
        rows.append([family] + ["see the 10^6-node section" if seconds is None else f"{seconds:.2f}"
                                for seconds in timings.values()])
        del f
    return tabulate(rows, headers=["10^6 nodes", "build s", "size s", "first evaluate s", "evaluate s",
                                   "grad (reverse) s", "grad (forward) s", "diff s"],
                    tablefmt="github", disable_numparse=True)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="up to 10^5 nodes, 3 rounds")
    parser.add_argument("--rounds", type=int, default=None)
    parser.add_argument("--torch", help="PyTorch's transcendental chain at these sizes (comma-separated), "
                                        "printed as JSON")
    args = parser.parse_args(argv)
    if args.torch:
        print(json.dumps(torch_transcendental([int(n) for n in args.torch.split(",")], args.rounds or 5)))
        return 0
    if args.quick:
        section = run(args.rounds or 3, sizes=SIZES[:-1], torch_sizes=TORCH_SIZES[:-1], million=False)
    else:
        section = run(args.rounds or 5)
    print("\n\n".join(section.tables))
    for target in section.targets:
        print(f"{target.text}: {target.measured} ({'met' if target.met else 'not met'}) {target.note}")
    print("\n".join(section.notes))
    return 0


if __name__ == "__main__":
    sys.exit(main())
