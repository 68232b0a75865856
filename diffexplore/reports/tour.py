"""Show: a guided tour of the argument, computed by diffexplore and written into one folder.

numerical -> symbolic (the swell is the tree's, readable output) -> forward mode (exact, unlike
differences) -> reverse mode -> what reverse mode remembers (its memory, and checkpointing) ->
"automatic?" (rules per primitive, your own primitives, loops, and branches: where a traced graph stops
being valid) -> the layered network as a special case. Each stop
writes its pictures (SVG, PNG and the DOT text) and tables, and narration whose every number is computed
here, into ``tour.md``. Stops 1-4 use the seed example; the others name the function they use.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Callable
from pathlib import Path

from tabulate import tabulate

from ..branches import BranchWarning
from ..derivatives import grad
from ..errors import DotNotFound
from ..evaluate import evaluate, forward
from ..formula import formula
from ..graph import Node, nodes, size
from ..parse import parse
from ..symbolic import diff
from .families import SEED, logistic, seed_example, small_cnn, textbook_mlp

__all__ = ["run_tour", "SEED", "STOPS", "FORWARD_POINTS", "LOGISTIC_SIZES", "SIMPLIFY_STEPS",
           "piecewise", "newton_sqrt", "exact_derivative", "DRAWINGS", "SWELL_SIZES", "COST_WIDTHS"]

#: The tour's drawings, by file name: the graph drawn (``seed``: the seed example; ``mlp`` and ``cnn``:
#: the networks of stop 7) and the options of ``dx.render``. The notebook (``tour_notebook``) draws these.
DRAWINGS = {
    "2-symbolic": ("seed", {"wrt": "x", "views": ("original", "symbolic")}),
    "3-forward": ("seed", {"views": ("tangent",), "seed": "x"}),
    "4-reverse": ("seed", {"views": ("adjoint",)}),
    "5-memory-adjoints": ("seed", {"views": ("adjoint",), "memory": True}),
    "7-mlp-adjoints": ("mlp", {"views": ("adjoint",)}),
    "7-cnn-adjoints": ("cnn", {"views": ("adjoint",)}),
}
#: Steps n of the logistic map in the swell report of stop 2, and the widths W of stop 4's cost table.
SWELL_SIZES = range(1, 9)
COST_WIDTHS = (1, 10, 100)

#: Points of the seed example where forward mode and differences are compared with the exact derivative.
FORWARD_POINTS = ({"x": 1.0, "y": 2.0}, {"x": 0.3, "y": -1.7}, {"x": 2.5, "y": 0.4})
#: Steps n of the logistic map in the table of tree against DAG sizes.
LOGISTIC_SIZES = (1, 2, 4, 6, 8)
#: Steps of the logistic map whose derivative is shown before and after simplification (and its point).
SIMPLIFY_STEPS = 2
SIMPLIFY_POINT = {"x": 0.3}
#: Where the piecewise function is traced, and where its graph is then evaluated (the other side).
TRACED_AT = {"x": 0.5}
OTHER_SIDE = {"x": 3.0}


def _draw(f: Node, at: dict, out: Path, name: str, notes: list[str]) -> str:
    """Render drawing ``name`` of :data:`DRAWINGS` to DOT text, SVG and PNG; without ``dot`` the DOT text
    is still written and the tour goes on."""
    from ..render import render, write_drawing
    path = out / name
    drawing = render(f, at=at, **DRAWINGS[name][1])
    write_drawing(drawing, path.with_suffix(".dot"))
    try:
        write_drawing(drawing, path.with_suffix(".svg"))
        write_drawing(drawing, path.with_suffix(".png"))
        return f"![{path.stem}]({path.with_suffix('.svg').name})"
    except DotNotFound as exc:
        notes.append(str(exc))
        return f"(DOT source: `{path.with_suffix('.dot').name}`)"


def _error(value: float) -> str:
    return "0" if value == 0 else f"{value:.1e}"


def exact_derivative(f: Node, at: dict[str, float], wrt: str, digits: int = 40):
    """∂f/∂wrt at ``at`` from SymPy's derivative evaluated with ``digits`` digits (a SymPy Float), the
    reference the floating-point derivatives are measured against.

    >>> f, at = seed_example()
    >>> f"{float(exact_derivative(f, at, 'x')):.12f}"
    '-1.066233735992'
    """
    import sympy as sp

    from ..sympy_bridge import to_sympy
    expr = to_sympy(f)
    symbols = {s.name: s for s in expr.free_symbols}
    values = {symbols[name]: sp.Float(value, digits) for name, value in at.items() if name in symbols}
    return sp.diff(expr, symbols[wrt]).evalf(digits, subs=values)


def _numerical(out: Path, notes: list[str]) -> str:
    from .step_sweep import step_sweep
    f, at = seed_example()
    sweep = step_sweep(f, at, wrt="x")
    sweep.plot(out / "1-numerical-steps.png")
    central = grad(f, at, method="numeric", scheme="central")["x"]
    exact = grad(f, at)["x"]
    return ("## 1. Numerical differences\n\n"
            f"f(x, y) = {SEED} at x = 1, y = 2. A central difference gives ∂f/∂x ≈ {central:.12f}, "
            f"{abs(central - exact):.1e} away from reverse mode's value. Shrinking the step does not help "
            "for ever: below the best step round-off wins (the left arm of the V), above it truncation does. "
            "And a gradient of W inputs costs W + 1 or 2W evaluations of f.\n\n"
            "![step sweep](1-numerical-steps.png)\n\n" + sweep.to_markdown() + "\n")


def _symbolic(out: Path, notes: list[str]) -> str:
    from ..sympy_bridge import simplify
    from .swell import swell
    f, at = seed_example()
    raw, pruned = diff(f, "x", prune=False), diff(f, "x")
    shared = [n for n in nodes(pruned) if n in set(nodes(f)) and not n.is_constant]
    picture = _draw(f, at, out, "2-symbolic", notes)
    report = swell("logistic", SWELL_SIZES, sympy=False, timings=False, progress=False)
    report.plot(out / "2-swell-logistic.png")
    (out / "2-swell-logistic.md").write_text(report.to_markdown(), encoding="utf-8")

    rows = []
    for n in LOGISTIC_SIZES:
        g = logistic(n)
        d = diff(g, "x")
        reused = len(set(nodes(d)) & {m for m in nodes(g) if not m.is_constant})
        rows.append([n, size(g).dag_nodes, size(g).tree_nodes, size(d).dag_nodes, reused, size(d).tree_nodes])
    last, before = rows[-1], rows[-2]
    steps = LOGISTIC_SIZES[-1] - LOGISTIC_SIZES[-2]
    per_step = (last[3] - before[3]) / steps
    factor = (last[5] / before[5]) ** (1 / steps)
    table = tabulate(rows, headers=["steps n", "f: DAG nodes", "f: tree nodes", "∂f/∂x: DAG nodes",
                                    "of them nodes of f", "∂f/∂x: tree nodes"], tablefmt="github")

    member = logistic(SIMPLIFY_STEPS)
    derivative = diff(member, "x")
    simple = simplify(derivative)
    value_before = evaluate(derivative, SIMPLIFY_POINT)
    value_after = evaluate(simple, SIMPLIFY_POINT)
    seed_simple = simplify(raw)
    return ("## 2. Symbolic differentiation\n\n"
            "The rules of calculus, applied node by node, emit a new graph for the derivative. Raw, as "
            f"the chain rule writes it: `{formula(raw)}` ({size(raw).dag_nodes} nodes); pruned of unit "
            f"factors and zero terms: `{formula(pruned)}` ({size(pruned).dag_nodes} nodes, of which "
            f"{len(shared)} are operations and inputs of f itself: "
            + ", ".join(f"`{formula(n)}`" for n in shared) + "; they are drawn grey). The constant 1 of "
            "the pruned derivative is the seed ∂x/∂x = 1, carried to f through the unit partials of "
            "1 + x.\n\n" + picture + "\n\n"
            "### The swell is the tree's, not the DAG's\n\n"
            "Written as a tree (a formula), the derivative cannot reuse anything: each use of a "
            "subexpression is a fresh copy, computed again wherever it is used. Built on f's own "
            "graph, the derivative is a DAG that points at the nodes f has already evaluated. For the "
            "logistic map l₀ = x, lₖ = 4·lₖ₋₁·(1 − lₖ₋₁), f = lₙ:\n\n" + table + "\n\n"
            f"From n = {LOGISTIC_SIZES[-2]} to {LOGISTIC_SIZES[-1]} the derivative's DAG grows by "
            f"{per_step:g} nodes per step and its tree by a factor of {factor:.2f} per step. So the "
            "article's claim that symbolic differentiation makes a derivative graph much more complex than "
            "f and \"does not efficiently reuse previous compute\" is a claim about the tree: the DAG that "
            "`dx.diff` builds reuses f's nodes and adds a bounded number of nodes per operation of f, "
            "as the sweeps of automatic differentiation do.\n\n"
            "![swell](2-swell-logistic.png)\n\nTable: [2-swell-logistic.md](2-swell-logistic.md)\n\n"
            "### Human-readable output\n\n"
            "What symbolic differentiation is for is a formula a person can read, and that takes one more "
            f"pass: `dx.simplify` (through SymPy). The derivative of {SIMPLIFY_STEPS} steps of the logistic "
            f"map, as built: `{formula(derivative)}` ({size(derivative).tree_nodes} nodes as a tree); "
            f"simplified: `{formula(simple)}` ({size(simple).tree_nodes} nodes as a tree). At "
            f"x = {SIMPLIFY_POINT['x']:g} both evaluate to {value_before:.12g} (difference "
            f"{_error(abs(value_before - value_after))}). The raw derivative "
            f"of the seed example simplifies to `{formula(seed_simple)}`.\n")


def _forward(out: Path, notes: list[str]) -> str:
    from .trace_table import trace_table
    f, at = seed_example()
    picture = _draw(f, at, out, "3-forward", notes)
    table = trace_table(f, at, seed="x")
    (out / "3-trace.md").write_text(table.to_markdown(), encoding="utf-8")
    rows = []
    worst_forward, best_central = 0.0, math.inf
    for point in FORWARD_POINTS:
        exact = exact_derivative(f, point, "x")
        tangent = forward(f, point, seed="x").tangent
        central = grad(f, point, method="numeric", scheme="central")["x"]
        one_sided = grad(f, point, method="numeric", scheme="forward")["x"]
        errors = [float(abs(v - exact)) for v in (tangent, central, one_sided)]
        worst_forward, best_central = max(worst_forward, errors[0]), min(best_central, errors[1])
        rows.append([f"x = {point['x']:g}, y = {point['y']:g}", f"{tangent:.16g}", *map(_error, errors)])
    headers = ["point", "forward mode ∂f/∂x", "its error", "central difference error",
               "forward difference error"]
    comparison = tabulate(rows, headers=headers, tablefmt="github", disable_numparse=True)
    return ("## 3. Forward mode\n\n"
            "Every node carries its value and its tangent v̇ = ∂v/∂x, pushed forward along the edges, "
            "whose labels are the local partials ∂v/∂u. One sweep gives the derivative by one input: a "
            "gradient of W inputs needs W sweeps.\n\n" + picture + "\n\nThe same sweep as a straight-line "
            "program: [3-trace.md](3-trace.md)\n\n"
            "### Exact, unlike differences\n\n"
            "Forward mode costs about what differences cost (one sweep per input), but it is not an "
            "approximation: it applies the exact rules to the numbers, so its only error is the rounding "
            "of each operation. Against SymPy's derivative evaluated with 40 digits:\n\n" + comparison
            + f"\n\nForward mode is within {_error(worst_forward)} of the exact value at every point; the "
            f"best central difference here is {_error(best_central)} away (steps chosen by the library).\n")


def _reverse(out: Path, notes: list[str]) -> str:
    from .step_sweep import cost_table
    f, at = seed_example()
    picture = _draw(f, at, out, "4-reverse", notes)
    costs = cost_table(widths=COST_WIDTHS, function="product")
    (out / "4-cost.md").write_text(costs.to_markdown(), encoding="utf-8")
    g = grad(f, at)
    return ("## 4. Reverse mode (backpropagation)\n\n"
            "One sweep down from f gives every adjoint v̄ = ∂f/∂v. Where a value feeds several "
            "operations (x feeds 1 + x and x·y) its adjoint is the sum of what each use sends back. "
            f"∂f/∂x = {g['x']:.6f}, ∂f/∂y = {g['y']:.6f}, both from one sweep.\n\n" + picture + "\n\n"
            "What that buys for W inputs, on the product x1·x2⋯xW (operation counts): "
            "[4-cost.md](4-cost.md)\n\n" + costs.to_markdown(explain=False) + "\n")


#: The chain of the memory stop: n sines, measured at these n; the trade-off at the last.
MEMORY_SIZES = (4, 16, 64, 256)
MEMORY_TRADE = 64


def _memory(out: Path, notes: list[str]) -> str:
    from ..checkpoint import binomial_advances
    from ..evaluate import memory
    from .memory import memory_report
    f, at = seed_example()
    picture = _draw(f, at, out, "5-memory-adjoints", notes)
    report = memory_report("nested-sin", MEMORY_SIZES, trade_n=MEMORY_TRADE)
    report.plot(out / "5-memory.png")
    (out / "5-memory.md").write_text(report.to_markdown(), encoding="utf-8")
    n = MEMORY_TRADE
    chain = parse("x")
    for _ in range(n):
        chain = _sin(chain)
    plain = memory(chain, {"x": 0.7})
    root = memory(chain, {"x": 0.7}, checkpoints="sqrt")
    binomial = memory(chain, {"x": 0.7}, checkpoints=("binomial", 3))
    evaluation = memory(chain, {"x": 0.7}, method="evaluate")
    rows = [[str(row["n"]), str(row["evaluate_peak"]), str(row["forward_peak"]), str(row["reverse_stored"]),
             str(row["sqrt_stored"]), str(row["sqrt_recomputed"])] for row in report.rows]
    table = tabulate(rows, headers=["n sines", "evaluation holds", "forward mode holds",
                                    "reverse mode stores", "with √n checkpoints", "operations run again"],
                     tablefmt="github", disable_numparse=True)
    return ("## 5. What reverse mode remembers\n\n"
            "Reverse mode's price is memory. The backward sweep needs, at every operation, the local "
            "partials, and they read the values of the forward sweep: sin's partial cos(a) its argument, "
            "exp's its own output, a product the other factor. So every such value is kept from the "
            "forward sweep until the backward sweep comes back to it (the tape), where evaluation and "
            "forward mode keep only what is still to be used. Marked in the seed example (■), the values "
            "the local partials read:\n\n" + picture + "\n\n"
            "Measured on lean sweeps (each value freed after its last use, `dx.memory`), on a chain of n "
            "sines:\n\n" + table + "\n\n"
            f"At n = {n}, evaluation never holds more than {evaluation.peak_values} values, reverse mode "
            f"stores {plain.stored_values} and holds {plain.peak_values} at its peak. Checkpointing trades "
            f"this for time: keep {root.checkpoints} snapshots evenly spaced (⌈√{n}⌉), run each segment "
            f"forward again when the backward sweep reaches it, and reverse mode stores "
            f"{root.stored_values} values, holds {root.peak_values} at its peak and runs "
            f"{root.recomputed_ops} operations again (less than one extra forward sweep of {n}). Griewank "
            "and Walther's binomial schedule goes further down: with s = 3 snapshots it holds "
            f"{binomial.peak_values} values for {binomial.recomputed_ops} operations run again, the fewest "
            f"there are ({binomial_advances(n, 3)}: s snapshots reverse C(s + r, s) steps evaluating none "
            "more than r times). `dx.grad(f, at, checkpoints='sqrt')` gives the same gradient to the last "
            "bit.\n\n![memory against n and the trade-off](5-memory.png)\n\n"
            "The tables: [5-memory.md](5-memory.md)\n")


def _sin(node: Node) -> Node:
    from ..rules import sin
    return sin(node)


def newton_sqrt(a):
    """√a by Newton's method, until a step changes the root by less than 1e-12 relative."""
    root = a
    while abs(root * root - a) > 1e-12 * a:
        root = (root + a / root) / 2
    return root


def piecewise(x):
    """x² left of 1 and 2√x − 1 from 1 on: a program with a branch."""
    from ..rules import sqrt
    if x < 1:
        return x * x
    return 2 * sqrt(x) - 1


def _automatic(out: Path, notes: list[str]) -> str:
    from ..primitives import check_grads, primitive
    from ..rules import exp, log
    from ..trace import trace

    @primitive(partials=[lambda a, out: 1 - exp(-out)], name="softplus_tour", label="softplus")
    def softplus_tour(a):
        return math.log1p(math.exp(a)) if isinstance(a, float) else log(1 + exp(a))

    x = parse("x")
    check = check_grads(softplus_tour(x * x), {"x": 0.7})

    traced = trace(newton_sqrt, a=2.0)
    slope = grad(traced, {"a": 2.0})["a"]

    branch = trace(piecewise, TRACED_AT)
    derivative = diff(branch, "x")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", BranchWarning)
        wrong_value = evaluate(branch, OTHER_SIDE)
    guard = next((str(w.message) for w in caught if issubclass(w.category, BranchWarning)), "(no warning)")
    there, here = OTHER_SIDE["x"], TRACED_AT["x"]
    right_value = piecewise(there)
    return ("## 6. Automatic?\n\n"
            "Both modes only need, for every primitive, its local partials: that table is what a framework "
            "ships. A function the table lacks is one block with its own rule; here softplus, declared "
            "with its partial 1 − e^(−softplus) and used in softplus(x·x), checked against finite "
            f"differences: {check}.\n\n"
            "### Loops\n\n"
            "The graph is recorded while the program runs, so a loop is unrolled into the operations it "
            f"actually did: Newton's iteration for √2 traced into {size(traced).ops} operations gives "
            f"d√a/da = {slope:.15f} (exactly 1/(2√2) = {1 / (2 * math.sqrt(2)):.15f}).\n\n"
            "### Branches: a traced graph is valid on one side\n\n"
            "An `if` is decided on the number at hand, and the graph keeps only the side taken. "
            f"`piecewise(x)` returns x·x when x < 1 and 2√x − 1 otherwise; traced at x = {here:g} its graph "
            f"is `{formula(branch)}` and its symbolic derivative `{formula(derivative)}`, right for x < 1 "
            f"only. Evaluated at x = {there:g}, on the other side, the graph gives {wrong_value:g} where the "
            f"program gives {right_value:.4f}: differentiating the formula of a program without its "
            "branches gives a formula that is silently wrong elsewhere. The graph therefore keeps the "
            "decisions it depends on, and evaluating it where one flips warns (`dx.BranchWarning`):\n\n"
            f"```\n{guard}\n```\n")


def _layered(out: Path, notes: list[str]) -> str:
    from ..render.labels import short_names
    from .backprop import delta_report
    net, at, textbook = textbook_mlp()
    mlp_picture = _draw(net.loss, at, out, "7-mlp-adjoints", notes)
    cnn, cnn_at = small_cnn()
    cnn_picture = _draw(cnn.loss, cnn_at, out, "7-cnn-adjoints", notes)
    names = short_names(nodes(net.loss))      # the names the drawing uses (the same topological order)
    report = delta_report(net, at, textbook, names, mlp_picture="7-mlp-adjoints.svg",
                          cnn_picture="7-cnn-adjoints.svg")
    report = report.replace("\n## ", "\n#### ").removeprefix("# ")
    return ("## 7. The layered network\n\n"
            "The textbook equations δ^(l−1) = φ'(s^(l−1)) ⊙ (W^(l))ᵀ δ^(l), ∂E/∂W = δ zᵀ are what reverse "
            "mode computes on a layered network: the adjoints of the pre-activations are the δs. Nothing "
            "special is needed for units outside the layered picture (convolution, pooling, dropout, "
            "batch normalisation): each is one more block in the rule table.\n\n"
            "The layered network's reverse sweep, one box per array operation (values and adjoints as "
            "shape and norm); the table below names its pre-activation nodes:\n\n" + mlp_picture + "\n\n"
            "A small convolutional network through conv2d, batch_norm, relu, max_pool2d, dropout and "
            "concatenate, the same sweep:\n\n" + cnn_picture + "\n\n### " + report + "\n")


STOPS: list[Callable[[Path, list[str]], str]] = [_numerical, _symbolic, _forward, _reverse, _memory,
                                                  _automatic, _layered]


def run_tour(outdir: str | Path = "tour") -> Path:
    """Run every stop of the tour and write ``tour.md`` (with its pictures) into ``outdir``.

    >>> import tempfile, pathlib
    >>> path = run_tour(pathlib.Path(tempfile.mkdtemp()))
    >>> path.name, "## 4. Reverse mode" in path.read_text()
    ('tour.md', True)
    """
    out = Path(outdir)
    out.mkdir(parents=True, exist_ok=True)
    notes: list[str] = []
    sections = [stop(out, notes) for stop in STOPS]
    text = ("# A tour: from finite differences to backpropagation\n\n"
            "Every picture, table and number below was computed by diffexplore when this file was written. "
            f"Stops 1 to 4 use the seed function f(x, y) = {SEED} at x = 1, y = 2; the other functions are "
            "named where they are used: the logistic map (stop 2), the product x1·x2⋯xW (stop 4), a "
            "chain of sines (stop 5), softplus(x·x), Newton's square root and a piecewise function (stop "
            "6), a tanh MLP and a small convolutional network (stop 7).\n\n" + "\n".join(sections))
    if notes:
        text += "\n## Notes\n\n" + "\n".join(f"- {n}" for n in dict.fromkeys(notes)) + "\n"
    path = out / "tour.md"
    path.write_text(text, encoding="utf-8")
    return path
