"""Show: the ``dynamic`` part of the gallery: traced programs drawn at two points side by side, and a
README with the derivatives of every example of ``examples/dynamic.py`` against analytic references.

Each drawing holds two reverse-mode views, one per point, of the graphs the same Python function
produced there; the titles list the decisions the program took. The DOT and Markdown files are
byte-for-byte deterministic; the SVG and PNG files are what Graphviz makes of the DOT text.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Callable, Mapping
from dataclasses import replace
from pathlib import Path

from tabulate import tabulate

import diffexplore as dx
from diffexplore.branches import COMPARISONS
from diffexplore.graph import apply, variable
from diffexplore.render.dot import to_drawing
from diffexplore.render.labels import format_value, short_names
from diffexplore.render.views import ADJOINT_EDGE, adjoint_view
from diffexplore.trace import branch_decisions, load_python_function

__all__ = ["make_gallery", "side_by_side", "path_lines", "in_names", "example", "EXAMPLES_FILE", "PAIRS"]

#: The examples file of the repository (the gallery is built from a checkout).
EXAMPLES_FILE = Path(__file__).resolve().parents[2] / "examples" / "dynamic.py"
#: Drawings: file stem -> (function name in the examples, its title, the two points).
PAIRS = {
    "piecewise_two_points": ("piecewise", "piecewise(x)", ({"x": 0.5}, {"x": 4.0})),
    "newton_sqrt_two_points": ("newton_sqrt", "Newton's method for √x", ({"x": 1.21}, {"x": 16.0})),
}


def example(name: str) -> Callable:
    """A function of ``examples/dynamic.py``."""
    return load_python_function(f"{EXAMPLES_FILE}:{name}")


def in_names(operand: dx.Node, names: Mapping[dx.Node, str]) -> str:
    """A decision's operand as a formula in which every node of the drawing is written by its short
    name (a variable by its own name), so each decision reads in the drawing's own terms.

    >>> import diffexplore as dx
    >>> x = dx.variable("x")
    >>> in_names(dx.abs(dx.sin(x) - x), {dx.sin(x): "c"})
    'abs(c - x)'
    """
    rebuilt: dict[dx.Node, dx.Node] = {}
    for n in dx.nodes(operand):
        if n in names and not n.is_variable and not n.is_constant:
            rebuilt[n] = variable(names[n])
        elif not n.args:
            rebuilt[n] = n
        else:
            rebuilt[n] = apply(n.rule, *[rebuilt[a] for a in n.args], attr=n.attr)
    return dx.formula(rebuilt[operand])


def path_lines(f: dx.Node, names: Mapping[dx.Node, str] | None = None, limit: int = 10) -> list[str]:
    """The decisions a traced graph depends on, in the order taken, each with its own operands: written
    with the drawing's short names when ``names`` are given, else as (shortened) formulas. Repeated
    identical lines are counted (``… → False ×4``).

    >>> import diffexplore as dx
    >>> path_lines(dx.trace(lambda x: x * x if x < 1 else x, x=0.5))
    ['x < 1 → True']
    """
    grouped: list[list] = []                 # [text, count]
    for d in branch_decisions(f):
        if names is not None and d.op in COMPARISONS:
            condition = f"{in_names(d.left, names)} {d.op} {in_names(d.right, names)}"
        else:
            condition = d.condition(limit=24)
        text = f"{condition} → {d.outcome!r}"
        if grouped and grouped[-1][0] == text:
            grouped[-1][1] += 1
        else:
            grouped.append([text, 1])
    lines = [text if count == 1 else f"{text} ×{count}" for text, count in grouped]
    if len(lines) > limit:
        lines = lines[: limit - 1] + [f"… ({len(lines) - limit + 1} more)"]
    return lines or ["no decisions: the graph is valid everywhere"]


def side_by_side(name: str, graphs: list[tuple[dx.Node, Mapping[str, float]]], digits: int = 4) -> dx.Drawing:
    """One drawing: a reverse-mode view of each (traced graph, point), left to right."""
    views = []
    for k, (f, point) in enumerate(graphs):
        result = dx.reverse(f, point)
        names = short_names(dx.nodes(f))
        view = adjoint_view(f, names, result, point, digits)
        at = ", ".join(f"{key} = {format_value(value, digits)}" for key, value in point.items())
        gradient = ", ".join(f"∂f/∂{key} = {format_value(value, digits)}"
                             for key, value in result.gradient.items())
        operations = dx.size(f).ops
        text = dx.formula(f, max_length=41)
        value = f"f = {text} = " if len(text) <= 40 else "f = "
        title = (f"{name} traced at {at}: {operations} operation{'s' if operations != 1 else ''}",
                 *[f"took {line}" for line in path_lines(f, names)],
                 f"{value}{format_value(result.value, digits)}; {gradient}",
                 f"each box: v and v̄ = ∂f/∂v (red); edge labels: {ADJOINT_EDGE}")
        views.append(replace(view, name=f"point{k + 1}", title=title))
    return to_drawing(views)


def make_gallery(outdir: Path) -> list[Path]:
    """Write the dynamic-programs part into ``outdir``: two drawings (DOT, SVG, PNG) and a README."""
    outdir = Path(outdir)
    outdir.mkdir(parents=True, exist_ok=True)
    written: list[Path] = []
    for stem, (name, title, points) in PAIRS.items():
        function = example(name)
        drawing = side_by_side(title, [(dx.trace(function, point), point) for point in points])
        for extension in ("dot", "svg", "png"):
            written.append(dx.write_drawing(drawing, outdir / f"{stem}.{extension}"))
    readme = outdir / "README.md"
    readme.write_text(readme_text(), encoding="utf-8")
    written.append(readme)
    return written


# ---- the README: what to look at, and the numbers ------------------------------------------------------


def _reference_rows() -> list[list[str]]:
    """Each example at a few points: graph size, decisions, reverse-mode derivative, analytic reference."""
    cases = [
        ("newton_sqrt", {"x": 2.0}, "x", lambda p: 1 / (2 * math.sqrt(p["x"])), "1/(2√x)"),
        ("newton_sqrt", {"x": 16.0}, "x", lambda p: 1 / (2 * math.sqrt(p["x"])), "1/(2√x)"),
        ("newton_sqrt", {"x": 1e8}, "x", lambda p: 1 / (2 * math.sqrt(p["x"])), "1/(2√x)"),
        ("kepler", {"m": 1.0, "e": 0.5}, "m", _kepler_dm, "1/(1 − e·cos E)"),
        ("kepler", {"m": 0.3, "e": 0.9}, "m", _kepler_dm, "1/(1 − e·cos E)"),
        ("piecewise", {"x": 0.5}, "x", lambda p: 2 * p["x"], "2x"),
        ("piecewise", {"x": 4.0}, "x", lambda p: 1 / math.sqrt(p["x"]), "1/√x"),
        ("kinks", {"x": 0.0, "y": 2.0}, "x", lambda p: 1.0, "y − 1 (max tie keeps x·y)"),
        ("taylor_sin", {"x": 0.5}, "x", lambda p: math.cos(p["x"]), "cos x"),
        ("taylor_sin", {"x": 6.0}, "x", lambda p: math.cos(p["x"]), "cos x"),
        ("normal_cdf", {"x": 0.3}, "x", lambda p: math.exp(-p["x"] ** 2 / 2) / math.sqrt(2 * math.pi),
         "φ(x) (user primitive erf)"),
    ]
    rows = []
    for name, point, wrt, reference, formula_text in cases:
        f = dx.trace(example(name), point)
        got = dx.grad(f, point)[wrt]
        want = reference(point)
        at = ", ".join(f"{k}={v:g}" for k, v in point.items())
        rows.append([name, at, str(dx.size(f).ops), str(len(branch_decisions(f))), f"∂f/∂{wrt}",
                     f"{got:.10g}", formula_text, f"{want:.10g}", f"{abs(got - want) / abs(want):.1e}"])
    return rows


def _kepler_dm(point: Mapping[str, float]) -> float:
    anomaly = point["m"]
    for _ in range(200):                      # the same equation, solved on floats
        anomaly = point["m"] + point["e"] * math.sin(anomaly)
    return 1 / (1 - point["e"] * math.cos(anomaly))


def _check_rows() -> tuple[list[list[str]], str]:
    """check_grads on two user primitives (largest differences) and the message for a wrong rule."""
    erf = example("erf")
    softplus = dx.primitive(lambda x: math.log1p(math.exp(-abs(x))) + max(x, 0.0), name="softplus",
                            partials=[lambda x, out: dx.sigmoid(x)])
    wrong = dx.primitive(lambda x: math.log1p(math.exp(-abs(x))) + max(x, 0.0), name="softplus_wrong",
                         partials=[lambda x, out: dx.sigmoid(x) * (1 + 0.01)])
    rows = []
    for label, fn, at in (("erf", erf, 0.7), ("softplus", softplus, -1.2)):
        result = dx.check_grads(fn, at, modes=("forward", "reverse", "symbolic"), order=2)
        worst1 = max(e for (_m, k), e in result.errors.items() if k == 1)
        worst2 = max(e for (_m, k), e in result.errors.items() if k == 2)
        rows.append([label, f"{at:g}", "passed", f"{worst1:.1e}", f"{worst2:.1e}"])
    try:
        dx.check_grads(wrong, 0.3)
        message = "(not caught)"
    except dx.GradientCheckError as exc:
        message = str(exc)
    return rows, message


def readme_text() -> str:
    """The README of ``gallery/dynamic``."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", dx.TraceWarning)   # kinks' max(x*y, 0) ties are traced on purpose
        references = tabulate(_reference_rows(), tablefmt="github", disable_numparse=True,
                              headers=["function", "point", "ops", "decisions", "derivative", "traced graph",
                                       "reference", "value", "relative difference"])
    checks, message = _check_rows()
    check_table = tabulate(checks, tablefmt="github", disable_numparse=True,
                           headers=["user primitive", "at", "check_grads (forward, reverse, symbolic)",
                                    "largest difference, order 1", "order 2"])
    return f"""# Dynamic programs and user primitives

Regenerate with `.venv/bin/python -m gallery.build --part dynamic`. The functions are in
`examples/dynamic.py`; each drawing is one Python function traced at two points.

## `piecewise_two_points.svg` / `.png` / `.dot`

`piecewise(x)` returns `x**2` when `x < 1` and `2*sqrt(x) - 1` otherwise. Traced at x = 0.5 the graph is
x² (left); traced at x = 4 it is 2·√x − 1 (right). The `if` is not in either graph: the trace ran it
on the number and kept only the branch taken (the title's "took x < 1 → …"). Each graph is right on its
own side: ∂f/∂x = 2x = 1 on the left, 1/√x = 0.5 on the right. Evaluating the left graph at x = 3
gives 9 with a `BranchWarning` naming `x < 1` and the point.

## `newton_sqrt_two_points.*`

`newton_sqrt(x)` runs Newton's method on y² = x, starting from y = x (or 1 when x ≤ 1), until a step
changes y by less than 1e-12 relative. At x = 1.21 the start is close to the root and five steps
suffice; at x = 16 it takes seven, so the right graph is taller: the number of loop trips is decided
while the program runs. In both graphs x is used by every step, so its adjoint is a sum over those
uses, and it equals 1/(2√x) (0.4545 and 0.125) to the last digit. Follow the adjoints down the chain
of iterates: they shrink to ~1e-27 and below, because at convergence an iterate hardly depends on the
one before it (∂y_next/∂y = (1 − x/y²)/2 ≈ 0); the derivative flows through the direct edges from x.

## Every example against its analytic reference (reverse mode on the traced graph)

{references}

`ops` is the traced graph's number of operations and `decisions` the comparisons it depends on; both
change with the point for the loops and the recursion (`taylor_sin` sums terms until one is below
1e-17). The Kepler reference solves E = m + e·sin E on floats and differentiates implicitly.

## User primitives

`erf` (in `examples/dynamic.py`) and `softplus` are declared with `dx.primitive(partials=[...])`; the
partial is written with diffexplore's functions, so it gives numbers in forward and reverse mode and a
graph in symbolic mode. `check_grads` compares each mode with central differences (order 1) and
second differences (order 2):

{check_table}

A rule that is 1% off (`softplus_wrong`, partial 1.01·sigmoid(x)) is caught:

```
{message}
```
"""
