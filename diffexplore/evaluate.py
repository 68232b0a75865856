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

from .checkpoint import reverse_checkpointed
from .errors import DiffexploreError, ShapeError
from .graph import Node
from .inputs import as_graph, as_point
from .memory import METHODS as MEMORY_METHODS
from .memory import LeanFallback, MemoryReport, measure_evaluate, measure_forward
from .plan import Plan, plan
from .sweeps import all_finite, backward_sweep, check_adjoints, check_tangents, forward_sweep, primal_sweep

__all__ = ["evaluate", "forward", "reverse", "memory", "ForwardResult", "ReverseResult", "reverse_planned",
           "adjoint_sweep", "tangent_sweep", "seed_slots", "root_seed", "zero_like", "gradient_by_name",
           "measure_reverse"]


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
    _memory: Any = field(default=None, repr=False, compare=False)

    @property
    def memory(self) -> MemoryReport:
        """What a lean forward-mode sweep holds (measured on first use: a sweep that frees each value
        and tangent after its last use; ``primals`` and ``tangents`` here are full records)."""
        if type(self._memory) is tuple:           # (plan, point, seeds): not measured yet
            self._memory = measure_forward(*self._memory)
        return self._memory

    def __repr__(self) -> str:
        from .render.displays import forward_text
        return forward_text(self)

    def _repr_html_(self) -> str:
        from .render.displays import forward_html
        return forward_html(self)


def seed_slots(p: Plan, seed: Mapping[str, Any] | str | None) -> dict[int, Any]:
    """The tangent of each seeded variable by slot (a graph of one variable needs no seed)."""
    names = p.variable_names()
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
    point = as_point(at)
    values = primal_sweep(p, point)
    slots = seed_slots(p, seed)
    tangents = tangent_sweep(p, values, slots)
    root = p.roots[0]
    zero = zero_like
    return ForwardResult(
        value=values[root], tangent=tangents[root] if tangents[root] is not None else zero(values[root]),
        primals=dict(zip(p.order, values, strict=True)),
        tangents={n: (t if t is not None else zero(v))
                  for n, v, t in zip(p.order, values, tangents, strict=True)},
        seed={p.order[i].attr[0]: t for i, t in slots.items()}, order=p.order,
        _memory=(p, point, slots))


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
    _memory: Any = field(default=None, repr=False, compare=False)

    @property
    def memory(self) -> MemoryReport:
        """What reverse mode held, measured on a lean sweep (each value freed after its last use, the
        tape kept until the backward sweep has read it; with checkpoints, the checkpointed sweep that
        computed ``gradient``). Measured on first use when no checkpoints were asked for."""
        if type(self._memory) is tuple:           # (plan, point, seed): not measured yet
            self._memory = measure_reverse(*self._memory)
        return self._memory

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
    """The output's adjoint: ``seed`` if given (integers made floats, as the first multiplication by a
    partial would), else 1 (ones for an array-valued batch of points).

    >>> root_seed(2.0, 3), root_seed(2.0, np.array([1, 2])).dtype
    (3.0, dtype('float64'))
    """
    if seed is not None:
        if isinstance(seed, (bool, int, np.integer, np.bool_)):
            return float(seed)
        if isinstance(seed, np.ndarray) and seed.dtype.kind in "biu":
            return seed.astype(float)
        return seed
    if isinstance(value, np.ndarray) and value.ndim:
        return np.ones_like(value)
    return 1.0


def reverse(f: Node, at: Mapping[str, Any], seed: Any = None, record: bool = True,
            checkpoints: Any = None) -> ReverseResult:
    """Reverse mode (backpropagation): every primal, then every adjoint in one backward sweep.

    ``seed`` is the output's adjoint (1 by default; for an array-valued batch of points, ones).
    ``checkpoints`` trades memory for time (:mod:`diffexplore.checkpoint`): ``None`` stores every value
    the partials read, an int K keeps K snapshots evenly spaced, ``"sqrt"`` ⌈√n⌉ of them, and
    ``("binomial", s)`` follows Griewank and Walther's revolve with s snapshots; the value and gradient
    are those of the checkpointed sweep and ``memory`` what it held. ``record`` keeps the full records
    (every primal, adjoint and partial, for display) beside it; ``record=False`` keeps what the lean
    sweep left (the inputs, the value and the variables' adjoints).

    >>> import diffexplore as dx
    >>> x, y = dx.variables("x y")
    >>> r = dx.reverse(x * y + x, {"x": 2.0, "y": 3.0})
    >>> r.value, r.gradient
    (8.0, {'x': 4.0, 'y': 2.0})
    >>> r.memory.stored_values, dx.reverse(x * y + x, {"x": 2.0, "y": 3.0}, checkpoints=1).gradient
    (0, {'x': 4.0, 'y': 2.0})
    """
    if not isinstance(f, Node):
        f = as_graph(f)
    return reverse_planned(plan(f), as_point(at), seed, record, checkpoints)


def reverse_planned(p: Plan, point: dict, seed: Any = None, record: bool = False,
                    checkpoints: Any = None) -> ReverseResult:
    """:func:`reverse` on a planned graph (its first root) at a point normalised by ``as_point``."""
    if checkpoints is not None:
        return _checkpointed(p, point, seed, record, checkpoints)
    root = p.roots[0]
    shape = p.order[root].shape
    if shape != () and seed is None:
        raise ShapeError(f"reverse mode needs a scalar output, but f has shape {shape}; "
                         "pass seed= (an array of that shape) or reduce f with dx.sum")
    values = primal_sweep(p, point)
    adjoints, recorded = adjoint_sweep(p, values, root, root_seed(values[root], seed), record)
    return ReverseResult(value=values[root], gradient=gradient_by_name(p, values, adjoints),
                         order=p.order, _values=values, _adjoints=adjoints, _partials=recorded,
                         _memory=(p, point, seed))


def _checkpointed(p: Plan, point: dict, seed: Any, record: bool, checkpoints: Any) -> ReverseResult:
    """Reverse mode by a checkpointing schedule; the full records beside it when ``record``."""
    values, adjoints, report = _lean_reverse(p, point, seed, checkpoints)
    root = p.roots[0]
    result = ReverseResult(value=values[root], gradient=gradient_by_name(p, values, adjoints),
                           order=p.order, _values=values, _adjoints=adjoints, _partials=[], _memory=report)
    if record:
        full = reverse_planned(p, point, seed, record=True)
        result._values, result._adjoints, result._partials = full._values, full._adjoints, full._partials
    return result


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
    found = p.variable_values(adjoints)
    if type(None) not in set(map(type, found)):
        return dict(zip(p.variable_names(), found, strict=True))
    gradient = {}
    for (i, name, _shape), a in zip(p.variables, found, strict=True):
        gradient[name] = a if a is not None else zero_like(values[i])
    return gradient


# ---- memory --------------------------------------------------------------------------------------------


def _lean_reverse(p: Plan, point: dict, seed: Any, checkpoints: Any, check: bool = True
                  ) -> tuple[list, list, MemoryReport]:
    """The lean (checkpointed) reverse sweep: ``(values, adjoints, report)``. Where it meets a NaN, an
    infinity or a domain error, the plain sweeps give NaN or the error naming the node (the report is
    then not a measurement: every count 0); a finite result there means the lean sweep failed for
    another reason, which is raised."""
    root = p.roots[0]
    shape = p.order[root].shape
    if shape != () and seed is None:
        raise ShapeError(f"reverse mode needs a scalar output, but f has shape {shape}; "
                         "pass seed= (an array of that shape) or reduce f with dx.sum")
    try:
        return reverse_checkpointed(p, point, lambda value: root_seed(value, seed), checkpoints, check)
    except LeanFallback as failed:
        plain = reverse_planned(p, point, seed)
        if failed.__cause__ is not None and all_finite([plain.value, *plain.gradient.values()]):
            raise failed.__cause__ from None
        report = MemoryReport(peak_values=0, peak_bytes=0, stored_values=0, stored_bytes=0,
                              recomputed_ops=0, checkpoints=0, method="reverse", ops=len(p.ops))
        return plain._values, plain._adjoints, report


def measure_reverse(p: Plan, point: dict, seed: Any = None, checkpoints: Any = None) -> MemoryReport:
    """What a lean reverse-mode sweep of a plan holds, storing everything or by a checkpointing
    schedule (measured even where the gradient overflows: the memory does not depend on it)."""
    return _lean_reverse(p, point, seed, checkpoints, check=False)[2]


def memory(f: Node | str, at: Mapping[str, Any], method: str = "reverse", checkpoints: Any = None,
           seed: Any = None) -> MemoryReport:
    """What a sweep of ``f`` at ``at`` holds, measured on a lean run (:mod:`diffexplore.memory`):
    ``method`` is ``"evaluate"``, ``"forward"`` (``seed``: the tangent direction, as for
    :func:`forward`) or ``"reverse"`` (``seed``: the output's adjoint; ``checkpoints``: ``None`` stores
    every value its partials read, an int K keeps K snapshots evenly spaced, ``"sqrt"`` ⌈√n⌉ of them,
    ``("binomial", s)`` Griewank and Walther's revolve with s snapshots).

    >>> import diffexplore as dx
    >>> f = dx.parse("sin(sin(sin(sin(x))))")
    >>> [dx.memory(f, {"x": 1.0}, method=m).peak_values for m in ("evaluate", "forward", "reverse")]
    [2, 4, 6]
    >>> m = dx.memory(f, {"x": 1.0}, checkpoints=2)
    >>> m.stored_values, m.recomputed_ops, m.checkpoints
    (1, 2, 2)
    """
    if method not in MEMORY_METHODS:
        raise DiffexploreError(f"unknown method {method!r}; methods: {', '.join(MEMORY_METHODS)}")
    if checkpoints is not None and method != "reverse":
        raise DiffexploreError(f"checkpoints apply to reverse mode only, not to method {method!r}")
    if not isinstance(f, Node):
        f = as_graph(f)
    p = plan(f)
    point = as_point(at)
    if method == "evaluate":
        return measure_evaluate(p, point)
    if method == "forward":
        return measure_forward(p, point, seed_slots(p, seed))
    return measure_reverse(p, point, seed, checkpoints)
