"""Transform/evaluate: numbers through the graph.

:func:`evaluate` computes primal values; :func:`forward` carries a tangent v̇ = ∂v/∂w beside every
primal (one sweep per seed direction); :func:`reverse` computes every primal, then every adjoint
v̄ = ∂f/∂v in one backward sweep, recording the local partial ∂u/∂v on every edge it used.
:func:`grad` and :func:`jacobian` are built on those two cores.

The work per graph is planned once (topological order, argument positions, which nodes depend on a
variable) and cached while the graph lives; the sweeps are plain loops over lists. Scalars stay Python
floats (``math``), arrays and batches of points go through NumPy.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from .errors import DiffexploreError, DomainError, MissingValueError, ShapeError
import weakref
from collections import OrderedDict

from .graph import Node, _check_variables, gc_paused, nodes
from .rules import sum_to

__all__ = ["evaluate", "forward", "reverse", "grad", "jacobian", "ForwardResult", "ReverseResult",
           "Plan", "plan", "as_point"]


class Plan:
    """The evaluation plan of one or more roots: order, argument positions, activity, leaf slots."""

    __slots__ = ("order", "index", "roots", "ops", "constants", "variables", "active", "partial_steps",
                 "__weakref__")

    def __init__(self, roots: Sequence[Node]):
        order = nodes(*roots)
        index = {n: i for i, n in enumerate(order)}
        self.order = order
        self.index = index
        self.roots = [index[r] for r in roots]
        self.constants = [(i, n.value) for i, n in enumerate(order) if n.rule.name == "const"]
        self.variables = [(i, n.attr[0], n.shape) for i, n in enumerate(order) if n.rule.name == "var"]
        _check_variables([order[i] for i, _, _ in self.variables])      # one shape per name
        active = [False] * len(order)
        for i, _name, _shape in self.variables:
            active[i] = True
        ops = []
        partial_steps = []
        for i, n in enumerate(order):
            if not n.args:
                continue
            rule = n.rule
            idx = tuple(index[a] for a in n.args)
            active[i] = any(active[j] for j in idx)
            impl = rule.impl
            if rule.has_attr:
                impl = _bind_attr(impl, n.attr)
            ops.append((i, impl, idx, len(idx)))
            if rule.elementwise:
                if rule.partials is None:
                    if any(active[j] for j in idx):
                        partial_steps.append((i, idx, None, n))   # the sweeps raise RuleError naming it
                        continue
                    terms = None
                else:
                    terms = tuple(
                        (pos, j, rule.partials[pos],
                         n.shape != n.args[pos].shape and n.args[pos].shape)
                        for pos, j in enumerate(idx) if active[j] and rule.partials[pos] is not None)
                partial_steps.append((i, idx, terms, None))
            else:
                partial_steps.append((i, idx, None, n))
        self.ops = ops
        self.active = active
        self.partial_steps = partial_steps


def _bind_attr(impl, attr):
    return lambda *args: impl(*args, attr=attr)


# The plans of the most recently used graphs (a plan holds its graph, so the cache is small and bounded).
_plans: OrderedDict = OrderedDict()
PLAN_CACHE_SIZE = 8


def plan(roots: Node | Sequence[Node]) -> Plan:
    """The cached plan of a graph (one topological order per graph, reused by every sweep)."""
    if isinstance(roots, Node):
        cached = _plans.get(roots)
        if cached is None:
            with gc_paused():
                cached = _plans[roots] = Plan([roots])
            if len(_plans) > PLAN_CACHE_SIZE:
                _plans.popitem(last=False)
        else:
            _plans.move_to_end(roots)
        return cached
    with gc_paused():
        return Plan([r for r in roots])


def as_point(at: Mapping[str, Any] | None) -> dict[str, Any]:
    """Normalise a point: numbers to Python floats (or complex), lists to NumPy arrays."""
    if at is None:
        return {}
    if not isinstance(at, Mapping):
        raise DiffexploreError(f"a point must be a mapping of variable names to values, got {at!r}")
    point = {}
    for name, value in at.items():
        if isinstance(value, (bool, int, float, np.integer, np.floating)):
            point[name] = float(value)
        elif isinstance(value, (complex, np.complexfloating)):
            point[name] = complex(value)
        elif isinstance(value, (list, tuple, np.ndarray)):
            arr = np.asarray(value)
            if arr.dtype.kind not in "fc":
                arr = arr.astype(np.float64)
            point[name] = arr
        else:
            point[name] = value
    return point


def _leaf_values(p: Plan, at: dict[str, Any]) -> list:
    values: list = [None] * len(p.order)
    for i, value in p.constants:
        values[i] = value
    for i, name, shape in p.variables:
        try:
            value = at[name]
        except KeyError:
            known = ", ".join(sorted({nm for _, nm, _ in p.variables}))
            raise MissingValueError(f"no value for variable {name!r} (the graph's variables: {known})") from None
        if shape and np.shape(value) != shape:
            raise ShapeError(f"variable {name!r} is declared with shape {shape} but its value has "
                             f"shape {np.shape(value)}")
        values[i] = value
    return values


def _domain_error(p: Plan, i: int, exc: Exception, what: str = "evaluating") -> DomainError:
    from .formula import formula
    node = p.order[i]
    reason = str(exc) or type(exc).__name__
    args = ", ".join(formula(a, max_length=40) for a in node.args)
    return DomainError(f"{what} node #{i} ({node.rule.name}({args})) failed: {reason}. "
                       f"The operation {node.rule.name!r} is not defined there.")


_ERRORS = (ValueError, ZeroDivisionError, OverflowError, FloatingPointError)

#: Checks run after every primal sweep whose root is a key: root -> callable(primals_by_node). dx.trace
#: registers the branch decisions a traced graph depends on here (kept beside the graph, not on it).
guards: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


def _primal_sweep(p: Plan, at: dict[str, Any]) -> list:
    values = _leaf_values(p, at)
    i = -1
    try:
        with np.errstate(divide="raise", invalid="raise", over="raise"):
            for i, impl, idx, arity in p.ops:
                if arity == 2:
                    values[i] = impl(values[idx[0]], values[idx[1]])
                elif arity == 1:
                    values[i] = impl(values[idx[0]])
                else:
                    values[i] = impl(*[values[j] for j in idx])
    except _ERRORS as exc:
        raise _domain_error(p, i, exc) from None
    if guards:
        for r in p.roots:
            check = guards.get(p.order[r])
            if check is not None:
                check(dict(zip(p.order, values)), at)
    return values


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
        f = _as_graph(f)
    p = plan(f)
    return _primal_sweep(p, as_point(at))[p.roots[0]]


def _as_graph(f: Any) -> Node:
    if isinstance(f, str):
        from .parse import parse
        return parse(f)
    from .graph import constant
    return constant(f)


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


def _tangent_sweep(p: Plan, values: list, seed_tangents: dict[int, Any]) -> list:
    tangents: list = [None] * len(values)
    for i, t in seed_tangents.items():
        tangents[i] = t
    i = -1
    try:
        with np.errstate(divide="raise", invalid="raise", over="raise"):
            for i, idx, terms, node in p.partial_steps:
                if node is None:
                    if terms is None:
                        continue
                    out = values[i]
                    total = None
                    for pos, j, partial, _reduce in terms:
                        t = tangents[j]
                        if t is None:
                            continue
                        if len(idx) == 2:
                            contribution = partial(values[idx[0]], values[idx[1]], out) * t
                        elif len(idx) == 1:
                            contribution = partial(values[idx[0]], out) * t
                        else:
                            contribution = partial(*[values[k] for k in idx], out) * t
                        total = contribution if total is None else total + contribution
                    tangents[i] = total
                else:
                    ts = [tangents[j] for j in idx]
                    if all(t is None for t in ts):
                        continue
                    rule = node.rule
                    if rule.jvp is None:
                        raise _missing_rule(rule, "jvp")
                    argv = [values[j] for j in idx]
                    if rule.has_attr:
                        tangents[i] = rule.jvp(tuple(ts), *argv, values[i], attr=node.attr)
                    else:
                        tangents[i] = rule.jvp(tuple(ts), *argv, values[i])
    except _ERRORS as exc:
        raise _domain_error(p, i, exc, "differentiating") from None
    return tangents


def _missing_rule(rule, which: str):
    from .errors import RuleError
    return RuleError(f"the primitive {rule.name!r} has no derivative rule ({which}); "
                     f"give it partials=... or vjp=/jvp= when defining it")


def _seed_slots(p: Plan, seed: Mapping[str, Any] | str | None) -> dict[int, Any]:
    names = [name for _, name, _ in p.variables]
    if seed is None:
        if len(names) != 1:
            raise DiffexploreError(f"forward mode needs a seed direction when the graph has "
                                   f"{len(names)} variables ({', '.join(names)}); e.g. seed={{'x': 1.0}}")
        seed = {names[0]: 1.0}
    elif isinstance(seed, str):
        seed = {seed: 1.0}
    unknown = [k for k in seed if k not in names]
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
        f = _as_graph(f)
    p = plan(f)
    values = _primal_sweep(p, as_point(at))
    slots = _seed_slots(p, seed)
    tangents = _tangent_sweep(p, values, slots)
    root = p.roots[0]
    zero = _zero_like
    return ForwardResult(
        value=values[root], tangent=tangents[root] if tangents[root] is not None else zero(values[root]),
        primals=dict(zip(p.order, values)),
        tangents={n: (t if t is not None else zero(v)) for n, v, t in zip(p.order, values, tangents)},
        seed={p.order[i].attr[0]: t for i, t in slots.items()}, order=p.order)


def _zero_like(value):
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
        return dict(zip(self.order, self._values))

    @property
    def adjoints(self) -> dict:
        return {n: (a if a is not None else _zero_like(v))
                for n, v, a in zip(self.order, self._values, self._adjoints)}

    @property
    def partials(self) -> dict:
        order = self.order
        return {(order[i], pos): value for i, pos, _j, value, _c in self._partials}

    @property
    def contributions(self) -> list:
        order = self.order
        return [(order[j], order[i], c) for i, _pos, j, _v, c in self._partials]


def _backward_sweep(p: Plan, values: list, root: int, seed: Any, record: bool) -> tuple[list, list]:
    adjoints: list = [None] * len(values)
    adjoints[root] = seed
    recorded: list = []
    i = -1
    try:
        with np.errstate(divide="raise", invalid="raise", over="raise"):
            for i, idx, terms, node in reversed(p.partial_steps):
                g = adjoints[i]
                if g is None:
                    continue
                out = values[i]
                if node is None:
                    if terms is None:
                        continue
                    for pos, j, partial, reduce_to in terms:
                        if len(idx) == 2:
                            local = partial(values[idx[0]], values[idx[1]], out)
                        elif len(idx) == 1:
                            local = partial(values[idx[0]], out)
                        else:
                            local = partial(*[values[k] for k in idx], out)
                        contribution = g * local
                        if reduce_to is not False:
                            contribution = sum_to(contribution, attr=reduce_to or ())
                        if record:
                            recorded.append((i, pos, j, local, contribution))
                        previous = adjoints[j]
                        adjoints[j] = contribution if previous is None else previous + contribution
                else:
                    rule = node.rule
                    if rule.vjp is None:
                        raise _missing_rule(rule, "vjp")
                    argv = [values[j] for j in idx]
                    if rule.has_attr:
                        cotangents = rule.vjp(g, *argv, out, attr=node.attr)
                    else:
                        cotangents = rule.vjp(g, *argv, out)
                    for pos, j in enumerate(idx):
                        c = cotangents[pos]
                        if c is None or not p.active[j]:
                            continue
                        if record:
                            recorded.append((i, pos, j, None, c))
                        previous = adjoints[j]
                        adjoints[j] = c if previous is None else previous + c
    except _ERRORS as exc:
        raise _domain_error(p, i, exc, "differentiating") from None
    return adjoints, recorded


def _root_seed(value, seed):
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
        f = _as_graph(f)
    p = plan(f)
    if f.shape != () and seed is None:
        raise ShapeError(f"reverse mode needs a scalar output, but f has shape {f.shape}; "
                         "pass seed= (an array of that shape) or reduce f with dx.sum")
    values = _primal_sweep(p, as_point(at))
    root = p.roots[0]
    adjoints, recorded = _backward_sweep(p, values, root, _root_seed(values[root], seed), record)
    return ReverseResult(value=values[root], gradient=_gradient(p, values, adjoints),
                         order=p.order, _values=values, _adjoints=adjoints, _partials=recorded)


def _gradient(p: Plan, values: list, adjoints: list) -> dict:
    gradient = {}
    for i, name, _shape in p.variables:
        a = adjoints[i]
        gradient[name] = a if a is not None else _zero_like(values[i])
    return gradient


# ---- built on the cores ------------------------------------------------------------------------------

METHODS = ("reverse", "forward", "symbolic", "numeric")


def _check_wrt(p: Plan, wrt) -> list[str]:
    names = [name for _, name, _ in p.variables]
    if wrt is None:
        return names
    if isinstance(wrt, str):
        wrt = wrt.replace(",", " ").split()
    unknown = [w for w in wrt if w not in names]
    if unknown:
        raise DiffexploreError(f"cannot differentiate with respect to {unknown}: not variables of the "
                               f"graph (its variables: {', '.join(names) or 'none'})")
    return list(wrt)


def grad(f: Node, at: Mapping[str, Any], method: str = "reverse", wrt: Sequence[str] | str | None = None,
         **options: Any) -> dict[str, Any]:
    """The gradient of ``f`` by variable name, by one of the methods ``reverse`` (one backward sweep),
    ``forward`` (one sweep per variable), ``symbolic`` (evaluating the derivative graphs of
    :func:`diffexplore.diff`) or ``numeric`` (finite differences; ``scheme=``, ``step=``).

    >>> import diffexplore as dx
    >>> f = dx.parse("1 + x + exp(sin(x*y))")
    >>> g = dx.grad(f, {"x": 1.0, "y": 2.0}, method="forward")
    >>> round(g["x"], 12), round(g["y"], 12)
    (-1.066233735992, -1.033116867996)
    """
    if not isinstance(f, Node):
        f = _as_graph(f)
    p = plan(f)
    names = _check_wrt(p, wrt)
    point = as_point(at)
    if method == "reverse":
        gradient = reverse(f, point, record=False).gradient
        return {n: gradient[n] for n in names}
    if method == "forward":
        return {n: _forward_directional(p, point, n) for n in names}
    if method == "symbolic":
        from .symbolic import diff
        return {n: evaluate(diff(f, n), point) for n in names}
    if method == "numeric":
        from .numeric import numeric
        return numeric(f, point, wrt=names, **options)
    raise DiffexploreError(f"unknown method {method!r}; methods: {', '.join(METHODS)}")


def _forward_directional(p: Plan, point: dict, name: str, values: list | None = None) -> Any:
    if values is None:
        values = _primal_sweep(p, point)
    shape = next(s for _, n, s in p.variables if n == name)
    if not shape:
        slots = {i: 1.0 for i, n, _ in p.variables if n == name}
        t = _tangent_sweep(p, values, slots)[p.roots[0]]
        return t if t is not None else _zero_like(values[p.roots[0]])
    # An array variable: one sweep per element (forward mode's cost grows with the input count).
    result = np.zeros(shape)
    for k in np.ndindex(*shape):
        basis = np.zeros(shape)
        basis[k] = 1.0
        slots = {i: basis for i, n, _ in p.variables if n == name}
        t = _tangent_sweep(p, values, slots)[p.roots[0]]
        result[k] = 0.0 if t is None else t
    return result


def jacobian(outputs: Sequence[Node], at: Mapping[str, Any], method: str = "reverse",
             wrt: Sequence[str] | str | None = None) -> np.ndarray:
    """The Jacobian of several scalar outputs: rows are outputs, columns the variables ``wrt`` (default:
    the variables of all outputs in order of first appearance). Forward mode fills it column by column
    (one sweep per input), reverse mode row by row (one sweep per output).

    >>> import diffexplore as dx
    >>> x, y = dx.variables("x y")
    >>> dx.jacobian([x * y, x + y], {"x": 2.0, "y": 3.0}, method="forward")
    array([[3., 2.],
           [1., 1.]])
    """
    outputs = [o if isinstance(o, Node) else _as_graph(o) for o in outputs]
    p = plan(outputs)
    names = _check_wrt(p, wrt)
    point = as_point(at)
    values = _primal_sweep(p, point)
    rows: list[list] = [[None] * len(names) for _ in outputs]
    if method == "forward":
        for c, name in enumerate(names):
            slots = {i: 1.0 for i, n, _ in p.variables if n == name}
            tangents = _tangent_sweep(p, values, slots)
            for r, root in enumerate(p.roots):
                t = tangents[root]
                rows[r][c] = t if t is not None else _zero_like(values[root])
    elif method == "reverse":
        for r, root in enumerate(p.roots):
            adjoints, _ = _backward_sweep(p, values, root, _root_seed(values[root], None), False)
            gradient = _gradient(p, values, adjoints)
            for c, name in enumerate(names):
                rows[r][c] = gradient[name]
    elif method in ("symbolic", "numeric"):
        for r, out in enumerate(outputs):
            gradient = grad(out, point, method=method, wrt=None)
            for c, name in enumerate(names):
                rows[r][c] = gradient.get(name, 0.0)
    else:
        raise DiffexploreError(f"unknown method {method!r}; methods: {', '.join(METHODS)}")
    return np.array(rows)
