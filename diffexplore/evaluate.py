"""Transform/evaluate: numbers through the graph.

:func:`evaluate` computes primal values; :func:`forward` carries a tangent v̇ = ∂v/∂w beside every
primal (one sweep per seed direction); :func:`reverse` computes every primal, then every adjoint
v̄ = ∂f/∂v in one backward sweep, recording the local partial ∂u/∂v on every edge it used. The work per
graph is planned once (:mod:`diffexplore.plan`) and the sweeps are those of :mod:`diffexplore.sweeps`;
the derivative operators ``grad``, ``jacobian`` and ``hessian`` (:mod:`diffexplore.derivatives`) are built
on these two cores.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from .errors import DiffexploreError, ShapeError
from .graph import Node
from .inputs import as_graph, as_point
from .plan import Plan, plan
from .sweeps import backward_sweep, check_adjoints, check_tangents, forward_sweep, primal_sweep

__all__ = ["evaluate", "forward", "reverse", "ForwardResult", "ReverseResult", "reverse_planned",
           "adjoint_sweep", "tangent_sweep", "seed_slots", "root_seed", "zero_like", "gradient_by_name"]


def evaluate(f: Node, at: Mapping[str, Any] | None = None) -> Any:
    """The value of ``f`` at a point (floats give a float; arrays of points give an array).

    >>> import diffexplore as dx
    >>> x, y = dx.variables("x y")
    >>> dx.evaluate(x * y + 1, {"x": 2.0, "y": 3.0})
    7.0
    >>> dx.evaluate(x * x, {"x": [1.0, 2.0, 3.0]})
    array([1., 4., 9.])
    """
    if not isinstance(f, Node):
        f = as_graph(f)
    p = plan(f)
    return primal_sweep(p, as_point(at))[p.roots[0]]


# ---- forward mode ------------------------------------------------------------------------------------


@dataclass
class ForwardResult:
    """Forward mode at one point: ``value``, ``tangent`` (of the root), and per node ``primals`` and
    ``tangents`` (dicts keyed by node; a node the seed does not reach has tangent 0)."""

    value: Any
    tangent: Any
    primals: dict
    tangents: dict
    seed: dict
    order: list

    def __repr__(self) -> str:
        from .render.displays import forward_text
        return forward_text(self)

    def _repr_html_(self) -> str:
        from .render.displays import forward_html
        return forward_html(self)


def seed_slots(p: Plan, seed: Mapping[str, Any] | str | None) -> dict[int, Any]:
    """The tangent of each seeded variable by slot (a graph of one variable needs no seed)."""
    names = [name for _, name, _ in p.variables]
    if seed is None:
        if len(names) != 1:
            raise DiffexploreError(f"forward mode needs a seed direction when the graph has "
                                   f"{len(names)} variables ({', '.join(names)}); e.g. seed={{'x': 1.0}}")
        seed = {names[0]: 1.0}
    elif isinstance(seed, str):
        seed = {seed: 1.0}
    known = set(names)
    unknown = [k for k in seed if k not in known]
    if unknown:
        raise DiffexploreError(f"seed names {unknown} are not variables of the graph ({', '.join(names)})")
    slots = {}
    for i, name, _shape in p.variables:
        if name in seed:
            value = seed[name]
            slots[i] = float(value) if isinstance(value, (int, np.integer)) else value
    return slots


def forward(f: Node, at: Mapping[str, Any], seed: Mapping[str, Any] | str | None = None) -> ForwardResult:
    """Forward mode: the primal and tangent of every node for a seed direction.

    ``seed`` maps variable names to their tangent (``"x"`` is short for ``{"x": 1.0}``; a graph of one
    variable needs no seed).

    >>> import diffexplore as dx
    >>> x, y = dx.variables("x y")
    >>> r = dx.forward(x * y, {"x": 2.0, "y": 3.0}, seed="x")
    >>> r.value, r.tangent
    (6.0, 3.0)
    """
    if not isinstance(f, Node):
        f = as_graph(f)
    p = plan(f)
    values = primal_sweep(p, as_point(at))
    slots = seed_slots(p, seed)
    tangents = tangent_sweep(p, values, slots)
    root = p.roots[0]
    zero = zero_like
    return ForwardResult(
        value=values[root], tangent=tangents[root] if tangents[root] is not None else zero(values[root]),
        primals=dict(zip(p.order, values, strict=True)),
        tangents={n: (t if t is not None else zero(v))
                  for n, v, t in zip(p.order, values, tangents, strict=True)},
        seed={p.order[i].attr[0]: t for i, t in slots.items()}, order=p.order)


def tangent_sweep(p: Plan, values: list, seeds: Mapping[int, Any]) -> list:
    """Every node's tangent (None where the seed does not reach) for tangents seeded by slot."""
    tangents: list = [None] * len(values)
    for i, t in seeds.items():
        tangents[i] = t
    forward_sweep(p, values, tangents)
    check_tangents(p, values, tangents)
    return tangents


def zero_like(value: Any) -> Any:
    """The zero of a value's kind: 0.0 for a number, zeros for an array."""
    if isinstance(value, np.ndarray):
        return np.zeros_like(value)
    return 0.0


# ---- reverse mode ------------------------------------------------------------------------------------


@dataclass
class ReverseResult:
    """Reverse mode at one point.

    ``value`` of the root; ``gradient`` by variable name; per node ``primals`` and ``adjoints``
    (v̄ = ∂f/∂v, 0 where f does not depend on v); ``partials[(node, i)]`` the local partial
    ∂node/∂node.args[i] on every edge the backward sweep used (elementwise operations);
    ``contributions`` lists, in the order the sweep made them, each ``(parent, child, amount)``
    added to an adjoint, so fan-out sums can be shown term by term.
    """

    value: Any
    gradient: dict
    order: list
    _values: list = field(repr=False)
    _adjoints: list = field(repr=False)
    _partials: list = field(repr=False)

    @property
    def primals(self) -> dict:
        return dict(zip(self.order, self._values, strict=True))

    @property
    def adjoints(self) -> dict:
        return {n: (a if a is not None else zero_like(v))
                for n, v, a in zip(self.order, self._values, self._adjoints, strict=True)}

    @property
    def partials(self) -> dict:
        order = self.order
        return {(order[i], pos): value for i, pos, _j, value, _c in self._partials}

    @property
    def contributions(self) -> list:
        order = self.order
        return [(order[j], order[i], c) for i, _pos, j, _v, c in self._partials]

    def __repr__(self) -> str:
        from .render.displays import reverse_text
        return reverse_text(self)

    def _repr_html_(self) -> str:
        from .render.displays import reverse_html
        return reverse_html(self)


def root_seed(value: Any, seed: Any = None) -> Any:
    """The output's adjoint: ``seed`` if given, else 1 (ones for an array-valued batch of points)."""
    if seed is not None:
        return seed
    if isinstance(value, np.ndarray) and value.ndim:
        return np.ones_like(value)
    return 1.0


def reverse(f: Node, at: Mapping[str, Any], seed: Any = None, record: bool = True) -> ReverseResult:
    """Reverse mode (backpropagation): every primal, then every adjoint in one backward sweep.

    ``seed`` is the output's adjoint (1 by default; for an array-valued batch of points, ones).

    >>> import diffexplore as dx
    >>> x, y = dx.variables("x y")
    >>> r = dx.reverse(x * y + x, {"x": 2.0, "y": 3.0})
    >>> r.value, r.gradient
    (8.0, {'x': 4.0, 'y': 2.0})
    """
    if not isinstance(f, Node):
        f = as_graph(f)
    return reverse_planned(plan(f), as_point(at), seed, record)


def reverse_planned(p: Plan, point: dict, seed: Any = None, record: bool = False) -> ReverseResult:
    """:func:`reverse` on a planned graph (its first root) at a point normalised by ``as_point``."""
    root = p.roots[0]
    shape = p.order[root].shape
    if shape != () and seed is None:
        raise ShapeError(f"reverse mode needs a scalar output, but f has shape {shape}; "
                         "pass seed= (an array of that shape) or reduce f with dx.sum")
    values = primal_sweep(p, point)
    adjoints, recorded = adjoint_sweep(p, values, root, root_seed(values[root], seed), record)
    return ReverseResult(value=values[root], gradient=gradient_by_name(p, values, adjoints),
                         order=p.order, _values=values, _adjoints=adjoints, _partials=recorded)


def adjoint_sweep(p: Plan, values: list, root: int, seed: Any, record: bool = False) -> tuple[list, list]:
    """Every adjoint from one root's seed back to the variables, and the record of the contributions."""
    adjoints: list = [None] * len(values)
    adjoints[root] = seed
    recorded: list = []
    backward_sweep(p, values, adjoints, record=recorded if record else None)
    check_adjoints(p, values, adjoints, root)
    return adjoints, recorded


def gradient_by_name(p: Plan, values: list, adjoints: list) -> dict:
    """The variables' adjoints by name (zero for a variable the output does not depend on)."""
    gradient = {}
    for i, name, _shape in p.variables:
        a = adjoints[i]
        gradient[name] = a if a is not None else zero_like(values[i])
    return gradient


