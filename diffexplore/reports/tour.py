"""Show: a guided tour of the argument, run on the seed example and written into one folder.

numerical -> symbolic -> forward mode -> reverse mode -> "automatic?" (rules per primitive, your own
primitives, programs with branches) -> the layered network as a special case. Each stop writes its
pictures and tables and one paragraph of narration into ``tour.md``.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from pathlib import Path

from ..derivatives import grad
from ..errors import DotNotFound
from ..formula import formula
from ..graph import Node, size
from ..parse import parse
from ..symbolic import diff
from .families import SEED, seed_example, textbook_mlp

__all__ = ["run_tour", "SEED", "STOPS"]


def _draw(f: Node, path: Path, notes: list[str], **options) -> str:
    """Render to SVG (and PNG); without ``dot`` the DOT text is written and the tour goes on."""
    from ..render import render, write_drawing
    drawing = render(f, **options)
    try:
        write_drawing(drawing, path.with_suffix(".svg"))
        write_drawing(drawing, path.with_suffix(".png"))
        return f"![{path.stem}]({path.with_suffix('.svg').name})"
    except DotNotFound as exc:
        notes.append(str(exc))
        return f"(DOT source: `{path.with_suffix('.dot').name}`)"


def _numerical(out: Path, notes: list[str]) -> str:
    from .step_sweep import step_sweep
    f, at = seed_example()
    sweep = step_sweep(f, at, wrt="x")
    sweep.plot(out / "1-numerical-steps.png")
    central = grad(f, at, method="numeric", scheme="central")["x"]
    exact = grad(f, at)["x"]
    return ("## 1. Numerical differences\n\n"
            f"f(x, y) = {SEED} at x = 1, y = 2. A central difference gives ∂f/∂x ≈ {central:.12f}, "
            f"{abs(central - exact):.1e} away from the exact value. Shrinking the step does not help for "
            "ever: below the best step round-off wins (the left arm of the V), above it truncation does. "
            "And a gradient of W inputs costs W + 1 or 2W evaluations of f.\n\n"
            "![step sweep](1-numerical-steps.png)\n\n" + sweep.to_markdown() + "\n")


def _symbolic(out: Path, notes: list[str]) -> str:
    from .swell import swell
    f, at = seed_example()
    raw, pruned = diff(f, "x", prune=False), diff(f, "x")
    picture = _draw(f, out / "2-symbolic", notes, at=at, wrt="x", views=("original", "symbolic"))
    report = swell("logistic", range(1, 9), sympy=False, timings=False, progress=False)
    report.plot(out / "2-swell-logistic.png")
    (out / "2-swell-logistic.md").write_text(report.to_markdown(), encoding="utf-8")
    return ("## 2. Symbolic differentiation\n\n"
            "The rules of calculus, applied node by node, emit a new graph for the derivative. Raw, as "
            f"the chain rule writes it: `{formula(raw)}` ({size(raw).dag_nodes} nodes); pruned of unit "
            f"factors and zero terms: `{formula(pruned)}` ({size(pruned).dag_nodes} nodes, sharing "
            "sin(xy) and exp(sin(xy)) with f).\n\n" + picture + "\n\n"
            "Written out as a tree the derivative swells: for the logistic map the derivative's DAG grows "
            "by a constant number of nodes per step while its tree doubles.\n\n"
            "![swell](2-swell-logistic.png)\n\nTable: [2-swell-logistic.md](2-swell-logistic.md)\n")


def _forward(out: Path, notes: list[str]) -> str:
    from .trace_table import trace_table
    f, at = seed_example()
    picture = _draw(f, out / "3-forward", notes, at=at, views=("tangent",), seed="x")
    table = trace_table(f, at, seed="x")
    (out / "3-trace.md").write_text(table.to_markdown(), encoding="utf-8")
    return ("## 3. Forward mode\n\n"
            "Every node carries its value and its tangent v̇ = ∂v/∂x, pushed forward with the local "
            "partials on the edges. One sweep gives the derivative by one input: a gradient of W inputs "
            "needs W sweeps.\n\n" + picture + "\n\nThe same sweep as a straight-line program: "
            "[3-trace.md](3-trace.md)\n")


def _reverse(out: Path, notes: list[str]) -> str:
    from .step_sweep import cost_table
    f, at = seed_example()
    picture = _draw(f, out / "4-reverse", notes, at=at, views=("adjoint",))
    costs = cost_table(widths=(1, 10, 100), function="product")
    (out / "4-cost.md").write_text(costs.to_markdown(), encoding="utf-8")
    g = grad(f, at)
    return ("## 4. Reverse mode (backpropagation)\n\n"
            "One sweep down from f gives every adjoint v̄ = ∂f/∂v. Where a value feeds several "
            f"operations (x feeds 1 + x and x·y) its adjoint is the sum of what each use sends back. "
            f"∂f/∂x = {g['x']:.6f}, ∂f/∂y = {g['y']:.6f}, both from one sweep.\n\n" + picture + "\n\n"
            "What that buys for W inputs (operation counts): [4-cost.md](4-cost.md)\n\n"
            + costs.to_markdown(explain=False) + "\n")


def _automatic(out: Path, notes: list[str]) -> str:
    from ..primitives import check_grads, primitive
    from ..rules import exp, log
    from ..trace import trace

    @primitive(partials=[lambda a, out: 1 - exp(-out)], name="softplus_tour", label="softplus")
    def softplus_tour(a):
        return math.log1p(math.exp(a)) if isinstance(a, float) else log(1 + exp(a))

    x = parse("x")
    check = check_grads(softplus_tour(x * x), {"x": 0.7})

    def newton_sqrt(a):
        root = a
        while abs(root * root - a) > 1e-12 * a:
            root = (root + a / root) / 2
        return root

    traced = trace(newton_sqrt, a=2.0)
    slope = grad(traced, {"a": 2.0})["a"]
    return ("## 5. Automatic?\n\n"
            "Both modes only need, for every primitive, its local partials: that table is what a framework "
            "ships. A function the table lacks is one block with its own rule; here softplus, "
            f"checked against finite differences: {check}.\n\n"
            "And because the graph is recorded while the program runs, loops and branches need nothing "
            f"special: Newton's iteration for √2 traced into {size(traced).ops} operations gives "
            f"d√a/da = {slope:.15f} (exactly 1/(2√2) = {1 / (2 * math.sqrt(2)):.15f}).\n")


def _layered(out: Path, notes: list[str]) -> str:
    from .backprop import delta_report
    net, at, textbook = textbook_mlp()
    report = delta_report(net, at, textbook).replace("\n## ", "\n#### ").removeprefix("# ")
    return ("## 6. The layered network\n\n"
            "The textbook equations δ^(l−1) = φ'(s^(l−1)) ⊙ (W^(l))ᵀ δ^(l), ∂E/∂W = δ zᵀ are what reverse "
            "mode computes on a layered network: the adjoints of the pre-activations are the δs. Nothing "
            "special is needed for units outside the layered picture (convolution, pooling, dropout, "
            "batch normalisation): each is one more block in the rule table.\n\n### " + report + "\n")


STOPS: list[Callable[[Path, list[str]], str]] = [_numerical, _symbolic, _forward, _reverse, _automatic,
                                                  _layered]


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
            "Every picture and table below was computed by diffexplore on one function, "
            f"f(x, y) = {SEED}.\n\n" + "\n".join(sections))
    if notes:
        text += "\n## Notes\n\n" + "\n".join(f"- {n}" for n in dict.fromkeys(notes)) + "\n"
    path = out / "tour.md"
    path.write_text(text, encoding="utf-8")
    return path

