"""Transform/evaluate: the derivative operators, above the evaluators.

:func:`grad`, :func:`jacobian` and :func:`hessian` choose a method and call the cores: forward and
reverse sweeps (:mod:`diffexplore.evaluate`), symbolic derivative graphs (:mod:`diffexplore.symbolic`)
and finite differences (:mod:`diffexplore.numeric`). Each is a few lines over those; nothing below
this module calls back up into it.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

import numpy as np

from .callables import graph_of, outputs_of
from .errors import DiffexploreError, ShapeError
from .evaluate import (
    adjoint_sweep,
    gradient_by_name,
    reverse_planned,
    root_seed,
    seed_slots,
    tangent_sweep,
    zero_like,
)
from .graph import Node, free_variables
from .inputs import as_point, resolve_wrt
from .numeric import difference, numeric
from .plan import Plan, plan
from .sweeps import primal_sweep
from .symbolic import diff, gradient_graph

__all__ = ["grad", "jacobian", "hessian", "graph_of", "METHODS", "HESSIAN_METHODS"]

METHODS = ("reverse", "forward", "symbolic", "numeric")
HESSIAN_METHODS = ("forward-over-reverse", "reverse-over-reverse", "symbolic", "numeric")
#: The options each method of :func:`grad` takes.
OPTIONS = {"reverse": ("checkpoints",), "forward": (), "symbolic": (), "numeric": ("scheme", "step")}


def _check_method(method: str, options: Mapping[str, Any]) -> None:
    if method not in OPTIONS:
        raise DiffexploreError(f"unknown method {method!r}; methods: {', '.join(METHODS)}")
    unknown = [k for k in options if k not in OPTIONS[method]]
    if unknown:
        allowed = ", ".join(OPTIONS[method]) or "none"
        raise DiffexploreError(f"method {method!r} takes no option {', '.join(map(repr, unknown))} "
                               f"(its options: {allowed})")


def grad(f: Node | str | Callable, at: Mapping[str, Any], method: str = "reverse",
         wrt: Sequence[str] | str | None = None, **options: Any) -> dict[str, Any]:
    """The gradient of ``f`` by variable name, by one of the methods ``reverse`` (one backward sweep),
    ``forward`` (one sweep per variable), ``symbolic`` (evaluating the derivative graphs of
    :func:`diffexplore.diff`) or ``numeric`` (finite differences; ``scheme=``, ``step=``). ``f`` is a
    graph, a formula string or a Python function of named arguments (traced at ``at`` first). Reverse
    mode takes ``checkpoints=`` (None, K, ``"sqrt"``, ``("binomial", s)``: see
    :func:`diffexplore.reverse`): the same gradient, fewer values stored, some operations run again.

    >>> import diffexplore as dx
    >>> f = dx.parse("1 + x + exp(sin(x*y))")
    >>> g = dx.grad(f, {"x": 1.0, "y": 2.0}, method="forward")
    >>> round(g["x"], 12), round(g["y"], 12)
    (-1.066233735992, -1.033116867996)
    >>> dx.grad(lambda t: t * t if t < 1 else 3 * t, {"t": 0.5})
    {'t': 1.0}
    """
    if not isinstance(f, Node):
        f = graph_of(f, at, call="grad")
    if options or method not in OPTIONS:
        _check_method(method, options)
    if f.shape:
        raise ShapeError(f"grad needs a scalar f, but f has shape {f.shape}; reduce it (dx.sum, dx.mean), "
                         "or use dx.forward (a tangent of f's shape) or dx.reverse with seed=")
    p = plan(f)
    point = as_point(at)
    checkpoints = options.get("checkpoints")
    if method == "reverse" and wrt is None:    # every variable, in order of first appearance
        return reverse_planned(p, point, checkpoints=checkpoints).gradient
    names = resolve_wrt(p.variable_names(), wrt)
    if method == "reverse":          # a plan in which only these variables are active
        gradient = reverse_planned(plan(f, wrt=names) if len(names) < len(p.variables) else p,
                                   point, checkpoints=checkpoints).gradient
        return {n: gradient[n] for n in names}
    if method == "forward":
        values = primal_sweep(p, point)
        return {n: _forward_directional(p, values, n) for n in names}
    if method == "symbolic":
        # One plan over all the derivative graphs (they share most nodes), evaluated in one sweep; it is
        # not cached, so many inputs do not push the plans of other graphs out of the cache.
        derivatives = plan([diff(f, n) for n in names])
        # f itself first: the derivative exists only where f does (and its traced branches are checked).
        primal_sweep(p, point)
        values = primal_sweep(derivatives, point, check=False)
        return {n: _per_point(values[slot], p, point, n)
                for n, slot in zip(names, derivatives.roots, strict=True)}
    return numeric(f, point, wrt=names, **options)


def _per_point(value: Any, p: Plan, point: dict, name: str) -> Any:
    """A scalar variable's derivative at a batch of points has one entry per point, even where the
    derivative graph is a constant (as the sweeps give it)."""
    shape = next(s for _, n, s in p.variables if n == name)
    if shape or np.ndim(value):
        return value
    batch = [np.shape(point[n]) for _, n, s in p.variables if not s and n in point and np.ndim(point[n])]
    return np.full(np.broadcast_shapes(*batch), value) if batch else value


def _forward_directional(p: Plan, values: list, name: str) -> Any:
    """∂f/∂name by forward sweeps: one for a scalar variable, one per element for an array variable."""
    return _forward_columns(p, values, name)[0]


def _forward_columns(p: Plan, values: list, name: str) -> list:
    """∂root/∂name for every root of the plan by forward sweeps: one sweep for a scalar variable, one per
    element for an array variable (forward mode's cost grows with the input count)."""
    shape = next(s for _, n, s in p.variables if n == name)
    if not shape:
        tangents = tangent_sweep(p, values, seed_slots(p, name))
        return [tangents[r] if tangents[r] is not None else zero_like(values[r]) for r in p.roots]
    results = [np.zeros(shape) for _ in p.roots]
    for k in np.ndindex(*shape):
        basis = np.zeros(shape)
        basis[k] = 1.0
        tangents = tangent_sweep(p, values, seed_slots(p, {name: basis}))
        for result, r in zip(results, p.roots, strict=True):
            result[k] = 0.0 if tangents[r] is None else tangents[r]
    return results


def jacobian(outputs: Sequence[Node | str | Callable] | Node | str | Callable, at: Mapping[str, Any],
             method: str = "reverse", wrt: Sequence[str] | str | None = None) -> np.ndarray:
    """The Jacobian of several scalar outputs: rows are outputs, columns the variables ``wrt`` (default:
    the variables of all outputs in order of first appearance; an array variable gives one column per
    entry, row-major). Forward mode fills it column by column (one sweep per input), reverse mode row by
    row (one sweep per output). ``outputs`` is a list of graphs, formulas or Python functions (each
    traced at ``at``), or one of them (one row), or an import (one row per output).

    >>> import diffexplore as dx
    >>> x, y = dx.variables("x y")
    >>> dx.jacobian([x * y, x + y], {"x": 2.0, "y": 3.0}, method="forward")
    array([[3., 2.],
           [1., 1.]])
    """
    _check_method(method, {})
    outputs = outputs_of(outputs, at, call="jacobian")
    return _jacobian(outputs, as_point(at), method, wrt, check=True)


def _jacobian(outputs: list[Node], point: dict, method: str, wrt: Sequence[str] | str | None,
              check: bool) -> np.ndarray:
    for k, out in enumerate(outputs):
        if out.shape:
            raise ShapeError(f"jacobian takes scalar outputs, but output {k} has shape {out.shape}; "
                             "reduce it (dx.sum) or list its entries")
    p = plan(outputs)
    names = resolve_wrt(p.variable_names(), wrt)
    shapes = {name: shape for _, name, shape in p.variables}
    arrays = [n for n in names if shapes[n]]
    if arrays and any(np.ndim(point[n]) for _, n, s in p.variables if not s and n in point):
        raise ShapeError(f"jacobian with respect to the array variable {arrays[0]!r} at a batch of points "
                         "(a scalar variable holds an array): give one point")
    if method == "reverse" and len(names) < len(p.variables):
        p = plan(outputs, wrt=names)
    values = primal_sweep(p, point, check=check)
    rows: list[list] = [[None] * len(names) for _ in outputs]
    if method == "forward":
        for c, name in enumerate(names):
            for r, column in enumerate(_forward_columns(p, values, name)):
                rows[r][c] = column
    elif method == "reverse":
        for r, root in enumerate(p.roots):
            adjoints, _ = adjoint_sweep(p, values, root, root_seed(values[root]))
            gradient = gradient_by_name(p, values, adjoints)
            for c, name in enumerate(names):
                rows[r][c] = gradient[name]
    else:
        for r, out in enumerate(outputs):
            gradient = grad(out, point, method=method, wrt=None)
            for c, name in enumerate(names):
                rows[r][c] = gradient.get(name, np.zeros(shapes[name]) if shapes[name] else 0.0)
    if arrays:     # one column per entry of each variable, in the variables' order (row-major entries)
        return np.array([np.concatenate([np.ravel(entry) for entry in row]) for row in rows])
    return np.array(rows)


def hessian(f: Node | str | Callable, at: Mapping[str, Any], method: str = "forward-over-reverse",
            wrt: Sequence[str] | None = None) -> np.ndarray:
    """The matrix of second derivatives (scalar variables), by differentiating the gradient graph again:

    ``forward-over-reverse`` (forward sweeps through the symbolic gradient graph, one per variable),
    ``reverse-over-reverse`` (a backward sweep per gradient entry), ``symbolic`` (``diff`` of each
    gradient entry, evaluated) or ``numeric`` (central differences of the reverse-mode gradient).

    >>> import diffexplore as dx
    >>> dx.hessian(dx.parse("x**2 * y"), {"x": 1.0, "y": 3.0})
    array([[6., 2.],
           [2., 0.]])
    """
    if method not in HESSIAN_METHODS:
        raise DiffexploreError(f"unknown hessian method {method!r}; methods: {', '.join(HESSIAN_METHODS)}")
    f = graph_of(f, at, call="hessian")
    if f.shape:
        raise ShapeError(f"hessian needs a scalar f, but f has shape {f.shape}")
    variables = free_variables(f)
    names = resolve_wrt([v.name for v in variables], wrt)
    arrays = [v for v in variables if v.shape and v.name in names]
    if arrays:
        raise ShapeError(f"hessian is taken with respect to scalar variables; {arrays[0].name!r} has shape "
                         f"{arrays[0].shape} (pass wrt= the scalar ones, or write its entries as scalar "
                         "variables)")
    point = as_point(at)
    dtype = complex if any(np.iscomplexobj(point.get(n)) for n in names) else float
    primal_sweep(plan(f), point)       # f first: it must be defined here (and its traced branches hold)
    gradient = gradient_graph(f, wrt=names)
    rows = [gradient[n] for n in names]
    if method in ("forward-over-reverse", "reverse-over-reverse"):
        # Columns only for the variables the gradient still depends on; the others are zero.
        present = ([v.name for v in free_variables(rows) if v.name in names]
                   if any(not r.is_constant for r in rows) else [])
        out = np.zeros((len(names), len(names)), dtype=dtype)
        if present:
            mode = "forward" if method == "forward-over-reverse" else "reverse"
            block = _jacobian(rows, point, mode, present, check=False)
            for k, c in enumerate(present):
                out[:, names.index(c)] = block[:, k]
        return out
    if method == "symbolic":
        return np.array([[_value(diff(r, c), point) for c in names] for r in rows])
    out = np.zeros((len(names), len(names)), dtype=dtype)
    for i, r in enumerate(rows):
        for j, c in enumerate(names):
            if c in [v.name for v in free_variables(r)]:
                out[i, j] = difference(r, point, c, "central")
    return out


def _value(f: Node, point: dict) -> Any:
    """The value of a derivative graph whose source's branches were checked already."""
    p = Plan([f])
    return primal_sweep(p, point, check=False)[p.roots[0]]
