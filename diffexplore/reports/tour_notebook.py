"""Show: the tour as a Jupyter notebook (``examples/tour.ipynb``), written from the tour's own settings.

The notebook has the stops of :mod:`.tour` in order, each a Markdown cell (its heading and what to look
at) and code cells that make the same pictures through the public API: the drawings with the render
options the tour writes to files (:data:`.tour.DRAWINGS`), the same step sweep, swell report, trace
table and cost table, and at the end the explorer. In a notebook every result displays itself, so
the cells end with the result, not with a call that writes a file. ``python -m
diffexplore.reports.tour_notebook [PATH]`` writes the notebook without outputs; a test checks that the
checked-in one is what this module writes.

>>> cells = notebook_cells()
>>> cells[0][0], sum(kind == "code" for kind, _ in cells) > 10
('markdown', True)
"""

from __future__ import annotations

import inspect
import json
import sys
from pathlib import Path

from .families import SEED
from .tour import (
    COST_WIDTHS,
    DRAWINGS,
    MEMORY_SIZES,
    MEMORY_TRADE,
    SIMPLIFY_STEPS,
    SWELL_SIZES,
    TRACED_AT,
    newton_sqrt,
)

__all__ = ["notebook_cells", "notebook_json", "write_notebook", "NOTEBOOK_PATH"]

#: Where the notebook lives in the repository.
NOTEBOOK_PATH = Path("examples") / "tour.ipynb"
#: The graph each drawing of :data:`.tour.DRAWINGS` is made of, as notebook code.
_GRAPHS = {"seed": ("f", "at"), "mlp": ("net.loss", "net_at"), "cnn": ("cnn.loss", "cnn_at")}


def _render(name: str) -> str:
    """The notebook code drawing ``name`` of :data:`.tour.DRAWINGS` (the tour's options, in order).

    >>> _render("4-reverse")
    "dx.render(f, at=at, views=('adjoint',))"
    """
    graph, options = DRAWINGS[name]
    f, at = _GRAPHS[graph]
    written = "".join(f", {key}={value!r}" for key, value in options.items())
    return f"dx.render({f}, at={at}{written})"


def _range(sizes: range) -> str:
    return f"range({sizes.start}, {sizes.stop})"


def notebook_cells() -> list[tuple[str, str]]:
    """The notebook's cells, in order, as ``(kind, source)`` with kind ``markdown`` or ``code``."""
    return [
        ("markdown", "# A tour: from finite differences to backpropagation\n\n"
         "The stops and pictures of `diffexplore tour` (which writes them, with the narration, into "
         "`tour/tour.md`), as a notebook: every result below displays itself. Stops 1 to 4 use the seed "
         f"function f(x, y) = {SEED} at x = 1, y = 2. A graph node displays as its own graph."),
        ("code", f"import diffexplore as dx\n\nf = dx.parse({SEED!r})\nat = {{\"x\": 1.0, \"y\": 2.0}}\nf"),
        ("markdown", "## 1. Numerical differences\n\n"
         "Error of forward, central and complex-step differences against reverse mode, for 61 steps h. "
         "Look for the V: round-off on the left, truncation on the right; the star marks each "
         "scheme's best step."),
        ("code", 'sweep = dx.step_sweep(f, at, wrt="x")\nsweep'),
        ("code", 'dx.grad(f, at, method="numeric", scheme="central")["x"] - dx.grad(f, at)["x"]'),
        ("markdown", "## 2. Symbolic differentiation\n\n"
         "The rules applied node by node emit a new graph for the derivative; grey nodes are nodes of f "
         "that the derivative reuses, yellow ones are new."),
        ("code", _render("2-symbolic")),
        ("code", 'dx.diff(f, "x", prune=False)'),
        ("markdown", "### The swell is the tree's, not the DAG's\n\n"
         "The logistic map l₀ = x, lₖ = 4·lₖ₋₁·(1 − lₖ₋₁): written as a tree the derivative doubles "
         "with every step, as a shared DAG it grows by a constant."),
        ("code", f'dx.swell("logistic", {_range(SWELL_SIZES)}, sympy=False, timings=False, progress=False)'),
        ("markdown", "### Human-readable output\n\n"
         f"The derivative of {SIMPLIFY_STEPS} steps of the logistic map, simplified through SymPy."),
        ("code", f'derivative = dx.diff(dx.families.logistic({SIMPLIFY_STEPS}), "x")\n'
                 "dx.latex(dx.simplify(derivative))"),
        ("markdown", "## 3. Forward mode\n\n"
         "Every node carries its value and its tangent v̇ = ∂v/∂x, pushed forward along the edges; one "
         "sweep per input."),
        ("code", _render("3-forward")),
        ("code", 'dx.trace_table(f, at, seed="x")'),
        ("markdown", "## 4. Reverse mode (backpropagation)\n\n"
         "One sweep down from f gives every adjoint v̄ = ∂f/∂v; x feeds two operations, so its adjoint "
         "is a sum. What that buys for W inputs, on the product x1·x2⋯xW:"),
        ("code", _render("4-reverse")),
        ("code", f'dx.cost_table(widths={COST_WIDTHS!r}, function="product")'),
        ("code", "dx.reverse(f, at)"),
        ("markdown", "## 5. What reverse mode remembers\n\n"
         "The backward sweep reads values of the forward sweep (the local partials need them), so reverse "
         "mode keeps them until it comes back: the tape, marked ■. Evaluation keeps only what is still to "
         "be used; checkpoints trade the tape for operations run again."),
        ("code", _render("5-memory-adjoints")),
        ("code", "chain = dx.parse(\"x\")\nfor _ in range(64):\n    chain = dx.sin(chain)\n"
                 "point = {\"x\": 0.7}\n"
                 "(dx.memory(chain, point, method=\"evaluate\"), dx.memory(chain, point),\n"
                 " dx.memory(chain, point, checkpoints=\"sqrt\"))"),
        ("markdown", "Memory against n for each method, and at one n the trade-off as the checkpoint budget "
         "shrinks: evenly spaced snapshots keep a whole segment's tape while it is reversed; Griewank and "
         "Walther's binomial schedules reverse one unit at a time and lie on their bound."),
        ("code", "from diffexplore.reports.memory import memory_report\n\n"
                 f"memory_report(\"nested-sin\", {MEMORY_SIZES!r}, trade_n={MEMORY_TRADE})"),
        ("markdown", "## 6. Automatic?\n\n"
         "A function the rule table lacks is one block with its own partials, checked against finite "
         "differences; loops are unrolled into the operations they did; a branch is decided on the "
         "number at hand, so a traced graph is valid on one side."),
        ("code", "import math\n\n\n"
                 "@dx.primitive(partials=[lambda a, out: 1 - dx.exp(-out)], name=\"softplus_tour\", "
                 "label=\"softplus\")\n"
                 "def softplus(a):\n"
                 "    return math.log1p(math.exp(a)) if isinstance(a, float) else dx.log(1 + dx.exp(a))\n\n\n"
                 "x = dx.variable(\"x\")\n"
                 "dx.check_grads(softplus(x * x), {\"x\": 0.7})"),
        ("code", inspect.getsource(newton_sqrt) + "\n\n"
                 "traced = dx.trace(newton_sqrt, a=2.0)\n"
                 "dx.grad(traced, {\"a\": 2.0})[\"a\"], 1 / (2 * math.sqrt(2))"),
        ("code", "def piecewise(x):\n"
                 "    if x < 1:\n"
                 "        return x * x\n"
                 "    return 2 * dx.sqrt(x) - 1\n\n\n"
                 f"branch = dx.trace(piecewise, x={TRACED_AT['x']!r})\n"
                 "dx.evaluate(branch, {\"x\": 3.0}), piecewise(3.0)      # a BranchWarning says why"),
        ("markdown", "## 7. The layered network\n\n"
         "The textbook equations δ⁽ˡ⁻¹⁾ = φ'(s⁽ˡ⁻¹⁾) ⊙ (W⁽ˡ⁾)ᵀ δ⁽ˡ⁾ are what reverse mode computes on a "
         "layered network: one box per array operation, values and adjoints as shape and norm."),
        ("code", "from diffexplore.reports.families import small_cnn, textbook_mlp\n\n"
                 "net, net_at, textbook = textbook_mlp()\n" + _render("7-mlp-adjoints")),
        ("code", "textbook"),
        ("code", "cnn, cnn_at = small_cnn()\n" + _render("7-cnn-adjoints")),
        ("markdown", "## Explore it yourself\n\n"
         "Both sweeps step by step: press ▶ or the arrow keys, pick the seed, follow the trace table."),
        ("code", 'dx.explore(f, at, wrt="x")'),
    ]


def notebook_json() -> str:
    """The notebook file's text (nbformat 4.5, no outputs, ids from the cells' positions)."""
    cells = []
    for k, (kind, source) in enumerate(notebook_cells()):
        cell = {"cell_type": kind, "id": f"cell-{k:02d}", "metadata": {},
                "source": source.splitlines(keepends=True)}
        if kind == "code":
            cell.update(execution_count=None, outputs=[])
        cells.append(cell)
    document = {"cells": cells,
                "metadata": {"kernelspec": {"display_name": "Python 3", "language": "python",
                                            "name": "python3"},
                             "language_info": {"name": "python"}},
                "nbformat": 4, "nbformat_minor": 5}
    return json.dumps(document, indent=1, ensure_ascii=False) + "\n"


def write_notebook(path: str | Path = NOTEBOOK_PATH) -> Path:
    """Write the notebook to ``path`` and return the path."""
    path = Path(path)
    path.write_text(notebook_json(), encoding="utf-8")
    return path


if __name__ == "__main__":
    print(write_notebook(sys.argv[1] if len(sys.argv) > 1 else NOTEBOOK_PATH))
