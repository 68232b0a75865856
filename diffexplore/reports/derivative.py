"""Show: a symbolic derivative as text, with its sizes before and after simplification."""

from __future__ import annotations

from ..errors import SympyTimeout
from ..formula import formula, let_form
from ..graph import Node, size
from ..symbolic import diff
from ..sympy_bridge import latex as to_latex
from ..sympy_bridge import simplify as sympy_simplify

__all__ = ["describe_derivative"]

FORMULA_LIMIT = 2000


def _sizes(node: Node) -> str:
    s = size(node)
    return (f"{s.dag_nodes} DAG nodes, tree size {s.tree.text()}, {s.ops} operations, "
            f"depth {s.depth}")


def describe_derivative(f: Node, wrt: str, order: int = 1, prune: bool = True, simplify: bool = False,
                        timeout: float | None = 10.0, latex: bool = False, shared: bool = False) -> str:
    """The derivative's formula and sizes (and, on request, SymPy's simplified form and LaTeX).

    >>> import diffexplore as dx
    >>> print(describe_derivative(dx.parse("x*sin(x)"), "x"))
    f          = x*sin(x)
                 3 DAG nodes, tree size 4, 2 operations, depth 2
    df/dx      = sin(x) + x*cos(x)
                 5 DAG nodes, tree size 7, 4 operations, depth 3
    """
    d = diff(f, wrt, order=order, prune=prune)
    name = f"d{'^' + str(order) if order > 1 else ''}f/d{wrt}{'^' + str(order) if order > 1 else ''}"
    label = name + (" (raw)" if not prune else "")
    width = max(len(label), 10)
    lines = [f"{'f':<{width}} = {formula(f, max_length=FORMULA_LIMIT)}", " " * (width + 3) + _sizes(f),
             f"{label:<{width}} = {formula(d, max_length=FORMULA_LIMIT)}", " " * (width + 3) + _sizes(d)]
    if shared:
        lines += ["", "shared form:", let_form(d)]
    if simplify:
        try:
            simple = sympy_simplify(d, timeout=timeout)
            lines += [f"{'simplified':<{width}} = {formula(simple, max_length=FORMULA_LIMIT)}",
                      " " * (width + 3) + _sizes(simple)]
            d = simple
        except SympyTimeout as exc:
            lines.append(f"{'simplified':<{width}} = timeout ({exc})")
    if latex:
        lines.append(f"{'LaTeX':<{width}} = {to_latex(d)}")
    return "\n".join(lines)
