"""Show: one function's value and gradient by every method, side by side, with their differences."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from tabulate import tabulate

from ..derivatives import grad
from ..evaluate import evaluate
from ..graph import Node

__all__ = ["compare_methods", "MethodComparison"]

ALL_METHODS = ("reverse", "forward", "symbolic", "numeric")


@dataclass
class MethodComparison:
    """Rows: one per (method, variable) with the derivative and its difference from reverse mode."""

    value: float
    rows: list[dict]

    def to_text(self) -> str:
        table = [[r["variable"], r["method"], repr(r["derivative"]), f"{r['difference']:.3g}"]
                 for r in self.rows]
        return (f"value f = {self.value!r}\n\n"
                + tabulate(table, headers=["d/d", "method", "derivative", "minus reverse"],
                           tablefmt="simple", disable_numparse=True))

    def __str__(self) -> str:
        return self.to_text()

    def __repr__(self) -> str:
        from ..render.displays import comparison_text
        return comparison_text(self)

    def _repr_html_(self) -> str:
        from ..render.displays import comparison_html
        return comparison_html(self)


def compare_methods(f: Node, at: Mapping[str, float],
                    methods: Sequence[str] | None = None) -> MethodComparison:
    """Every method's gradient of ``f`` at ``at`` and how far each is from reverse mode.

    >>> import diffexplore as dx
    >>> c = compare_methods(dx.parse("x*y"), {"x": 2.0, "y": 3.0}, methods=["reverse", "forward"])
    >>> [(r["variable"], r["method"], r["derivative"]) for r in c.rows]
    [('x', 'reverse', 3.0), ('x', 'forward', 3.0), ('y', 'reverse', 2.0), ('y', 'forward', 2.0)]
    """
    methods = list(methods or ALL_METHODS)
    gradients = {m: grad(f, at, method=m) for m in methods}
    reference = gradients.get("reverse") or grad(f, at, method="reverse")
    rows = []
    for name in reference:
        for m in methods:
            value = float(gradients[m][name])
            rows.append({"variable": name, "method": m, "derivative": value,
                         "difference": value - float(reference[name])})
    return MethodComparison(value=float(evaluate(f, at)), rows=rows)
