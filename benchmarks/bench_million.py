"""Measure: what the drawings, the explorer, compile and the symbolic derivatives do with a 10^6-node graph,
in time and memory: dx.size (the size table), dx.to_dot (a view that large is drawn as a summary),
dx.explore (of a 10^5-node graph), dx.compile, dx.diff and dx.gradient_graph (against the time to build
the graph).

Every measurement runs in a fresh child process of its own: it imports diffexplore, builds the graph (CPU
time: "build"), notes its resident memory, and makes one call (CPU time). Its peak resident memory is the
child's high-water mark, ``VmHWM`` in /proc/self/status (the interpreter, the graph and the call
together). Not ``ru_maxrss`` (of RUSAGE_SELF in the child, or RUSAGE_CHILDREN / ``os.wait4`` in the
parent): Linux counts into it the parent's resident memory at the fork, so a child of a large parent
would report the parent's size; ``ru_maxrss`` is used only for a child that dies before it can report.
A call that raises (a ``SizeLimitError``, say) is recorded
with its message; so is a call stopped at the CPU cap (a profiling timer in the child) or at the memory cap
(an address-space limit that keeps the shared machine safe). The graphs are bench_scale.py's:

- ``logistic``: the logistic map at r = 2.5, one variable, an exponentially large expression tree;
- ``mlp``: the square scalar MLP w-w-w-1 with every weight and bias a variable (w = 408 at 10^6 nodes,
  334,153 variables).

    .venv/bin/python benchmarks/bench_million.py            # 10^6 nodes (10^5 for explore)
    .venv/bin/python benchmarks/bench_million.py --quick    # 10^5 nodes (10^4 for explore), lower caps
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import signal
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

HERE = Path(__file__).resolve().parent
MIB = 2**20


@dataclass
class Measurement:
    """One child process: an operation on a graph of one family and size."""

    operation: str
    family: str
    nodes: int
    label: str = ""

    @property
    def name(self) -> str:
        return self.label or self.operation


#: What is measured, in order (nodes are scaled down by --quick).
MEASUREMENTS = [
    Measurement("size", "logistic", 10**6, "dx.size"),
    Measurement("size", "mlp", 10**6, "dx.size"),
    Measurement("to_dot", "logistic", 10**6, "dx.to_dot"),
    Measurement("to_dot", "mlp", 10**6, "dx.to_dot"),
    Measurement("to_dot_one", "mlp", 10**6, "dx.to_dot, wrt=w0_0_0"),
    Measurement("explore", "logistic", 10**5, "dx.explore"),
    Measurement("explore", "mlp", 10**5, "dx.explore"),
    Measurement("compile", "logistic", 10**6, "dx.compile"),
    Measurement("compile", "mlp", 10**6, "dx.compile"),
    Measurement("diff", "logistic", 10**6, "dx.diff"),
    Measurement("diff", "mlp", 10**6, "dx.diff, wrt=w0_0_0"),
    Measurement("gradient_graph", "logistic", 10**6, "dx.gradient_graph"),
    Measurement("gradient_graph", "mlp", 10**6, "dx.gradient_graph"),
]

FIRST_VARIABLE = {"logistic": "x", "mlp": "w0_0_0"}


# ---- the child ---------------------------------------------------------------------------------------------


class CapReached(Exception):
    """The call used up its CPU seconds."""


def resident_mib() -> float:
    """This process's resident memory now, MiB."""
    with open("/proc/self/statm") as statm:
        return int(statm.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / MIB


def peak_mib() -> float:
    """This process's high-water mark of resident memory (its own, not its parent's), MiB."""
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    return float("nan")



def operation(name: str, family: str):
    """The call of a measurement, and what to say about its result (or a function that says it, called
    after the clock stops)."""
    import diffexplore as dx
    wrt = FIRST_VARIABLE[family]

    def size(f, point):
        s = dx.size(f)              # the summary: tree counts past 10^15 in log space, as tables show them
        return f"{s.dag_nodes:,} DAG nodes, tree {s.tree.text()}, depth {s.depth:,}"

    def to_dot(f, point, **options):
        text = dx.to_dot(f, **options)
        return f"{len(text.encode('utf-8')):,} bytes of DOT"

    def explore(f, point):
        page = dx.explore(f, point)
        return f"page {len(page.html.encode('utf-8')) / MIB:.1f} MB"

    def compile_(f, point):
        compiled = dx.compile(f)
        compiled.value_and_gradient(point)     # Python compiles the program's parts on their first call
        forward, reverse = compiled.lines
        return f"{forward:,} forward and {reverse:,} reverse lines, called once"

    def diff(f, point):
        derivative = dx.diff(f, wrt)
        return lambda: f"derivative: {len(dx.nodes(derivative)):,} nodes"

    def gradient_graph(f, point):
        graphs = dx.gradient_graph(f)

        def describe():
            count, together = len(graphs), len(dx.nodes(*graphs.values()))
            return f"{count:,} partial{'s' if count != 1 else ''}, {together:,} nodes together"
        return describe

    return {"size": size, "to_dot": to_dot, "to_dot_one": lambda f, point: to_dot(f, point, wrt=wrt),
            "explore": explore, "compile": compile_, "diff": diff, "gradient_graph": gradient_graph}[name]


def child(name: str, family: str, nodes: int, cap: float, memory_cap: float) -> dict:
    """Build the graph, then make the one call under the caps; what happened, as a dict."""
    limit = int(memory_cap * 2**30)
    resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
    sys.path.append(str(HERE.parent))     # after PYTHONPATH: a checkout given there is the one imported
    # diffexplore before bench_scale, whose common.py puts this checkout first on sys.path
    import diffexplore as dx

    sys.path.insert(0, str(HERE))
    import bench_scale
    build, point_of = bench_scale.FAMILIES[family]
    call = operation(name, family)
    base = resident_mib()
    start = time.process_time()
    f = build(nodes)
    built = time.process_time() - start
    point = point_of(nodes)
    found = {"build": built, "base": base, "before": resident_mib(), "nodes": len(dx.nodes(f)),
             "file": dx.__file__}

    def stop(signum, frame):
        raise CapReached()

    signal.signal(signal.SIGPROF, stop)
    signal.setitimer(signal.ITIMER_PROF, cap, 1.0)      # again every second, should the first be swallowed
    start = time.process_time()
    try:
        found.update(outcome="done", result=call(f, point))
    except CapReached:
        found.update(outcome="capped", result=f"stopped after {cap:.0f} s of CPU time")
    except dx.DiffexploreError as exc:          # before MemoryError: a SizeLimitError is both
        found.update(outcome="refused", result=f"{type(exc).__name__}: {exc}")
    except MemoryError:
        found.update(outcome="memory", result=f"MemoryError: over the {memory_cap:.0f} GB cap")
    finally:
        found["seconds"] = time.process_time() - start
        signal.setitimer(signal.ITIMER_PROF, 0)
        found["peak"] = peak_mib()
    if callable(found.get("result")):           # described after the clock: counting a result's nodes
        found["result"] = found["result"]()     # is not part of making it
    return found


# ---- the parent --------------------------------------------------------------------------------------------


def spawn(measurement: Measurement, cap: float, memory_cap: float) -> dict:
    """One measurement in a fresh process (its peak resident memory from ``os.wait4`` only if it died
    before reporting its own)."""
    command = [sys.executable, __file__, "--child", measurement.operation, measurement.family,
               str(measurement.nodes), "--cap", str(cap), "--memory-cap", str(memory_cap)]
    deadline = time.time() + 4 * cap + 900
    with tempfile.TemporaryFile("w+") as out, tempfile.TemporaryFile("w+") as err:
        process = subprocess.Popen(command, stdout=out, stderr=err, text=True)
        while True:
            pid, status, usage = os.wait4(process.pid, os.WNOHANG)
            if pid:
                break
            if time.time() > deadline:
                process.kill()
                pid, status, usage = os.wait4(process.pid, 0)
                break
            time.sleep(0.2)
        process.returncode = os.waitstatus_to_exitcode(status)
        out.seek(0)
        err.seek(0)
        lines = out.read().splitlines()
        error = err.read().strip().splitlines()
    found = json.loads(lines[-1]) if process.returncode == 0 and lines else {
        "outcome": "crashed", "result": f"exit {process.returncode}: {(error or ['no output'])[-1]}"}
    found.setdefault("peak", usage.ru_maxrss * 1024 / MIB)     # Linux reports KiB
    return found


@dataclass
class Limits:
    """A target: CPU seconds and peak memory, or a multiple of the build time."""

    text: str
    seconds: float | None = None
    mebibytes: float | None = None
    of_build: float | None = None
    refusal_ok: bool = False
    page_mebibytes: float | None = None


TARGETS = {
    "size": Limits("dx.size (the size table) of a 10^6-node graph: at most 5 s and 1 GB", 5, 1024),
    "to_dot": Limits("dx.to_dot (the render summary) of a 10^6-node graph: at most 5 s and 1 GB", 5, 1024),
    "explore": Limits("dx.explore of a 10^5-node graph: page at most 20 MB, at most 30 s", 30,
                      page_mebibytes=20),
    "compile": Limits("dx.compile of a 10^6-node graph: at most 60 s and 4 GB, or a clear refusal", 60,
                      4096, refusal_ok=True),
    "diff": Limits("dx.diff at 10^6 nodes: at most 2× the time to build f", of_build=2),
    "gradient_graph": Limits("dx.gradient_graph at 10^6 nodes: at most 2× the time to build f", of_build=2),
}


def verdict(limits: Limits, found: dict) -> tuple[bool, str]:
    """Whether one measurement meets its target, and if not, why."""
    outcome = found["outcome"]
    if outcome == "refused":
        return limits.refusal_ok, "refused" + ("" if limits.refusal_ok else " (the target asks for a result)")
    if outcome != "done":
        return False, found["result"]
    why = []
    if limits.seconds is not None and found["seconds"] > limits.seconds:
        why.append(f"{found['seconds']:.1f} s > {limits.seconds:g} s")
    if limits.mebibytes is not None and found["peak"] > limits.mebibytes:
        why.append(f"peak {found['peak']:,.0f} MB > {limits.mebibytes:,.0f} MB")
    if limits.of_build is not None and found["seconds"] > limits.of_build * found["build"]:
        why.append(f"{found['seconds'] / found['build']:.2f}× the build > {limits.of_build:g}×")
    if limits.page_mebibytes is not None and "page" in found["result"]:
        page = float(found["result"].split()[1])
        if page > limits.page_mebibytes:
            why.append(f"page {page:.1f} MB > {limits.page_mebibytes:g} MB")
    return not why, "; ".join(why)


def scaled(measurement: Measurement, quick: bool) -> Measurement:
    """The measurement at a tenth of its size with --quick."""
    if not quick:
        return measurement
    return Measurement(measurement.operation, measurement.family, measurement.nodes // 10, measurement.label)


def run(quick: bool = False, cap: float | None = None, memory_cap: float = 6.0, only: str | None = None):
    """Every measurement in its own process; the RESULTS.md section."""
    sys.path.insert(0, str(HERE))
    from common import Section, Target
    from tabulate import tabulate
    cap = cap or (30.0 if quick else 60.0)
    rows, results = [], []
    for measurement in MEASUREMENTS:
        if only and measurement.operation not in only.split(","):
            continue
        measurement = scaled(measurement, quick)
        found = spawn(measurement, cap, memory_cap)
        results.append((measurement, found))
        base = measurement.operation.removesuffix("_one")
        met, why = verdict(TARGETS[base], found)
        done = found["outcome"] in ("done", "refused")
        rows.append([measurement.name, measurement.family, f"{found.get('nodes', measurement.nodes):,}",
                     f"{found['build']:.2f}" if "build" in found else "", call_seconds(found),
                     f"{found['seconds'] / found['build']:.2f}×" if done and "build" in found else "",
                     f"{found['peak']:,.0f}", f"{found['before']:,.0f}" if "before" in found else "",
                     found["result"], "met" if met else "**not met**"])
    table = tabulate(rows, headers=["call", "graph", "nodes", "build s", "call s", "call ÷ build",
                                    "peak RSS MB", "RSS before the call MB", "result", "its target"],
                     tablefmt="github", disable_numparse=True)
    section = Section(
        "10^6 nodes: size tables, drawings, the explorer, compile and symbolic derivatives",
        "Each row is one fresh process: it imports diffexplore, builds the graph (CPU seconds: build), "
        "then makes one call (CPU seconds: call). Peak RSS is the process's high-water mark of resident "
        "memory (VmHWM): interpreter, graph and call together, which is what the "
        "memory targets are judged on; \"RSS before the call\" is the interpreter and the graph alone. "
        f"Each call is stopped after {cap:.0f} s of CPU time, and a process may use at most "
        f"{memory_cap:.0f} GB of address space (the machine is shared); a call that raises is recorded "
        "with its message. The graphs are bench_scale.py's logistic map (r = 2.5, one variable) and its "
        "square scalar MLP (every weight and bias a variable). "
        + ("With --quick every size is a tenth of the target's." if quick else ""),
        tables=[table])
    section.targets.extend(targets(results, quick, Target))
    section.notes.append(
        "dx.to_dot(f) with its default views leaves the symbolic view out above 200,000 node-derivatives "
        "(f's nodes × variables) and says so in a note; the row with wrt=w0_0_0 is the same call with one "
        "variable. Build is the Python loop that makes f, with Python's cyclic collector on (its "
        "default).")
    section.data["million"] = [(m.__dict__, found) for m, found in results]
    return section


def call_seconds(found: dict) -> str:
    """The call's CPU seconds, or how long it ran before it was stopped."""
    if "seconds" not in found:
        return ""
    if found["outcome"] in ("done", "refused"):
        return f"{found['seconds']:.2f}"
    return f"{found['seconds']:.1f} (stopped)"


def targets(results: list, quick: bool, target_class) -> list:
    """One target per operation: met if every graph measured for it meets it."""
    made = []
    for key, limits in TARGETS.items():
        mine = [(m, found) for m, found in results if m.operation.removesuffix("_one") == key]
        if not mine:
            continue
        verdicts = [(m, found, *verdict(limits, found)) for m, found in mine]
        measured = "; ".join(f"{m.family} ({m.name}): " + summary(found) for m, found, _, _ in verdicts)
        if quick:
            measured += " (--quick: a tenth of the size)"
        failing = [f"{m.family} ({m.name}): {why}" for m, _, met, why in verdicts if not met]
        made.append(target_class(limits.text, measured, not failing and not quick, "; ".join(failing)))
    return made


def summary(found: dict) -> str:
    """A measurement in a few words: time, ÷ build, peak memory, or what stopped it."""
    if found["outcome"] == "refused":
        return f"refused in {found['seconds']:.2f} s ({found['result'].split(':')[0]})"
    if found["outcome"] != "done":
        return found["result"]
    text = (f"{found['seconds']:.2f} s ({found['seconds'] / found['build']:.2f}× build), "
            f"{found['peak']:,.0f} MB")
    if found["result"].startswith("page"):
        text += f", {found['result']}"
    return text


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="a tenth of the sizes, a 30 s cap")
    parser.add_argument("--cap", type=float, default=None, help="CPU seconds a call may take")
    parser.add_argument("--memory-cap", type=float, default=6.0, help="GB of address space a child may use")
    parser.add_argument("--only", help="some operations only (comma-separated)")
    parser.add_argument("--child", nargs=3, metavar=("OPERATION", "FAMILY", "NODES"), help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        name, family, nodes = args.child
        print(json.dumps(child(name, family, int(nodes), args.cap or 60.0, args.memory_cap)), flush=True)
        os._exit(0)             # not freeing the graph node by node: nothing is measured after this
    section = run(args.quick, args.cap, args.memory_cap, args.only)
    print("\n\n".join(section.tables))
    for target in section.targets:
        print(f"{target.text}: {target.measured} ({'met' if target.met else 'not met'}) {target.note}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
