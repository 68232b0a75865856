"""Transform/evaluate: numbers through the graph.

:func:`evaluate` computes primal values; :func:`forward` carries a tangent v̇ = ∂v/∂w beside every
primal (one sweep per seed direction); :func:`reverse` computes every primal, then every adjoint
v̄ = ∂f/∂v in one backward sweep, recording the local partial ∂u/∂v on every edge it used.
:func:`grad` and :func:`jacobian` are built on those two cores.

The work per graph is planned once, in one walk (topological order, argument positions, which nodes
depend on a variable, which local partials are plain numbers or one of the values) and cached while the
graph lives; the sweeps are plain loops over lists, and the backward sweep of an elementwise graph is one
flat loop over its edges. Nothing is recursive and nothing grows faster than the graph. Scalars stay
Python floats (``math``), arrays and batches of points go through NumPy.
"""

from __future__ import annotations

import inspect
import warnings
import weakref
from collections import OrderedDict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from .errors import DiffexploreError, DomainError, MissingValueError, ShapeError
from .graph import PRIMITIVES, Node, _check_variables, gc_paused, numbered_nodes
from .rules import sum_to

__all__ = ["evaluate", "forward", "reverse", "grad", "jacobian", "ForwardResult", "ReverseResult",
           "Plan", "plan", "as_point"]


class Plan:
    """The evaluation plan of one or more roots, made in one walk over the graph.

    - ``order`` (topological) and ``index`` (node -> slot); ``roots``: the roots' slots;
    - ``constants`` ``(slot, value)`` and ``variables`` ``(slot, name, shape)``;
    - ``active[slot]``: whether the node depends on a variable;
    - ``ops``: ``(slot, impl, argument slots, arity)`` for every operation, in order;
    - ``partial_steps``: ``(slot, argument slots, terms, node)`` for every operation, in order. An
      elementwise operation has ``node`` None and one term for each active argument whose partial is
      not zero: ``(slot, argument slot j, how, what, first, second, reduce_to, position)``, meaning
      ``adjoint[j] += adjoint[slot] * local`` where ``local`` is ``what(value[first], value[second],
      value[slot])`` (``how`` is ``CALL``; ``second`` None for one argument, ``first`` None for three or
      more, whose values come from the argument slots), ``value[what]`` (``READ``: a partial that
      returns one of its inputs, like mul's) or the number ``what`` (``CONSTANT``: add's 1, sub's -1);
      ``reduce_to`` is the argument's shape when broadcasting made the result larger, else None. Any
      other operation has ``terms`` None and its ``node``, whose rule's vjp/jvp the sweeps call (or
      which raises the missing-rule error);
    - ``backward_terms``: every term in the order the backward sweep uses them, for the lean sweep
      (None when the graph has an operation the terms cannot express).
    """

    __slots__ = ("order", "index", "roots", "ops", "constants", "variables", "active", "partial_steps",
                 "_backward_terms", "__weakref__")

    def __init__(self, roots: Sequence[Node]):
        with gc_paused():       # a plan allocates a few small tuples per node and no cycles
            self._make(roots)

    def _make(self, roots: Sequence[Node]) -> None:
        order, index = numbered_nodes(*roots)
        self.order = order
        self.index = index
        self.roots = [index[r] for r in roots]
        slot_of = index.__getitem__
        active = [False] * len(order)
        constants: list = []
        variables: list = []
        ops: list = []
        partial_steps: list = []
        templates: dict = {}           # rule -> its partials' term template (per plan: rules may change)
        for i, node in enumerate(order):
            args = node.args
            rule = node.rule
            if not args:
                if rule.name == "const":
                    constants.append((i, node.value))
                elif rule.name == "var":
                    variables.append((i, node.attr[0], node.shape))
                    active[i] = True
                continue
            idx = tuple(map(slot_of, args))
            any_active = False
            for j in idx:
                if active[j]:
                    any_active = True
                    break
            active[i] = any_active
            impl = _bind_attr(rule.impl, node.attr) if rule.has_attr else rule.impl
            ops.append((i, impl, idx, len(idx)))
            template = templates.get(rule)
            if template is None:
                template = templates[rule] = _term_template(rule)
            partial_steps.append(_partial_step(i, node, idx, active, any_active, template))
        _check_variables([order[i] for i, _, _ in variables])      # one shape per name
        self.constants = constants
        self.variables = variables
        self.ops = ops
        self.active = active
        self.partial_steps = partial_steps
        self._backward_terms = _NOT_YET

    @property
    def backward_terms(self) -> list | None:
        """The terms of every step in backward-sweep order (made on first use), or None."""
        if self._backward_terms is _NOT_YET:
            flat: list | None = []
            for _i, idx, terms, node in reversed(self.partial_steps):
                if node is not None or len(idx) > 2:
                    flat = None
                    break
                if terms:
                    flat.extend(terms)
            self._backward_terms = flat
        return self._backward_terms


_NOT_YET = object()


def _term_template(rule) -> tuple | None:
    """For an elementwise rule with partials: ``(position, how, what)`` for each nonzero partial (see
    :class:`Plan`; for ``READ``, ``what`` is the input's position, the arity meaning the output).
    None for a rule whose steps are whole-array vjp/jvp calls or which has no partials."""
    if not rule.elementwise or rule.partials is None:
        return None
    template = []
    for pos, partial in enumerate(rule.partials):
        if partial is not None:
            how, what = TRIVIAL_PARTIALS.get(partial, (CALL, partial))
            template.append((pos, how, what))
    return tuple(template)


def _partial_step(i: int, node: Node, idx: tuple, active: list, any_active: bool,
                  template: tuple | None) -> tuple:
    """One entry of ``Plan.partial_steps`` (see :class:`Plan`)."""
    if template is None:
        if not node.rule.elementwise:
            return (i, idx, None, node)
        # No derivative rule: the sweeps raise RuleError naming it (if the node is active).
        return (i, idx, None, node if any_active else None)
    arity = len(idx)
    first = idx[0] if arity <= 2 else None
    second = idx[1] if arity == 2 else None
    shape = node.shape
    args = node.args
    terms = []
    for pos, how, what in template:
        j = idx[pos]
        if not active[j]:
            continue
        if how == READ:
            what = idx[what] if what < arity else i       # the input's slot (the last input is the output)
        arg_shape = args[pos].shape
        reduce_to = arg_shape if arg_shape != shape else None
        terms.append((i, j, how, what, first, second, reduce_to, pos))
    return (i, idx, tuple(terms), None)


# ---- partials that ignore the numbers -----------------------------------------------------------------
# Many local partials do not compute anything: add's are 1, sub's are 1 and -1, mul's are the other
# argument, exp's is its own output. The plan resolves these once, so the sweeps read a value instead of
# calling a function for every edge (the single largest cost of a backward sweep over Python floats).

#: How a term gets its local partial: call the rule's partial, read a value, or use a constant.
CALL, READ, CONSTANT = 0, 1, 2


class _StandIn:
    """An argument that supports no arithmetic at all: a partial given stand-ins that returns a number
    or one of the stand-ins never looks at the numbers."""

    __slots__ = ()


def trivial_partial(partial, arity: int) -> tuple[int, Any] | None:
    """``(CONSTANT, number)`` or ``(READ, k)`` (it returns its k-th input; k = arity is the output) for a
    partial that ignores the numbers, else None.

    >>> trivial_partial(lambda a, b, out: b, 2), trivial_partial(lambda a, b, out: -1.0, 2)
    ((1, 1), (2, -1.0))
    >>> trivial_partial(lambda a, out: 2.0 * a, 1) is None
    True
    """
    inputs = [_StandIn() for _ in range(arity + 1)]
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            result = partial(*inputs)
    except Exception:
        return None
    if type(result) is float:
        return (CONSTANT, result)
    for k, stand_in in enumerate(inputs):
        if result is stand_in:
            return (READ, k)
    return None


def _classify_core_partials() -> dict:
    """The trivial partials of the rule table as it is when this module loads (the core primitives).
    Later and user-defined primitives, and partials replaced afterwards, are always called."""
    found = {}
    for rule in PRIMITIVES.values():
        for partial in rule.partials or ():
            if partial is not None:
                kind = trivial_partial(partial, rule.arity)
                if kind is not None:
                    found[partial] = kind
    return found


TRIVIAL_PARTIALS: dict = _classify_core_partials()


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
            cached = _plans[roots] = Plan([roots])
            if len(_plans) > PLAN_CACHE_SIZE:
                _plans.popitem(last=False)
        else:
            _plans.move_to_end(roots)
        return cached
    return Plan(list(roots))


def as_point(at: Mapping[str, Any] | None) -> dict[str, Any]:
    """Normalise a point: numbers to Python floats (or complex), lists to NumPy arrays."""
    if at is None:
        return {}
    if not isinstance(at, Mapping):
        raise DiffexploreError(f"a point must be a mapping of variable names to values, got {at!r}")
    point = {}
    for name, value in at.items():
        if type(value) is float:
            point[name] = value
        elif isinstance(value, (bool, int, float, np.integer, np.floating)):
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
            raise MissingValueError(f"no value for variable {name!r} (the graph's variables: {known})"
                                    ) from None
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
                check(dict(zip(p.order, values, strict=True)), at)
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


def _local_partial(values: list, i: int, idx: tuple, how: int, what: Any, first: int | None,
                   second: int | None) -> Any:
    """The local partial ∂v_i/∂arg of one term at the current values (see :class:`Plan`)."""
    if how == READ:
        return values[what]
    if how == CONSTANT:
        return what
    if second is not None:
        return what(values[first], values[second], values[i])
    if first is not None:
        return what(values[first], values[i])
    return what(*[values[k] for k in idx], values[i])


def _tangent_sweep(p: Plan, values: list, seed_tangents: dict[int, Any]) -> list:
    tangents: list = [None] * len(values)
    for i, t in seed_tangents.items():
        tangents[i] = t
    i = -1
    try:
        with np.errstate(divide="raise", invalid="raise", over="raise"):
            for i, idx, terms, node in p.partial_steps:
                if terms:                  # elementwise: the sum of local partial times argument tangent
                    total = None
                    for _i, j, how, what, first, second, _reduce, _pos in terms:
                        t = tangents[j]
                        if t is None:
                            continue
                        contribution = _local_partial(values, i, idx, how, what, first, second) * t
                        total = contribution if total is None else total + contribution
                    tangents[i] = total
                elif node is not None:     # a whole-array operation: its Jacobian-vector product
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
        f = _as_graph(f)
    p = plan(f)
    values = _primal_sweep(p, as_point(at))
    slots = _seed_slots(p, seed)
    tangents = _tangent_sweep(p, values, slots)
    root = p.roots[0]
    zero = _zero_like
    return ForwardResult(
        value=values[root], tangent=tangents[root] if tangents[root] is not None else zero(values[root]),
        primals=dict(zip(p.order, values, strict=True)),
        tangents={n: (t if t is not None else zero(v))
                  for n, v, t in zip(p.order, values, tangents, strict=True)},
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
        return dict(zip(self.order, self._values, strict=True))

    @property
    def adjoints(self) -> dict:
        return {n: (a if a is not None else _zero_like(v))
                for n, v, a in zip(self.order, self._values, self._adjoints, strict=True)}

    @property
    def partials(self) -> dict:
        order = self.order
        return {(order[i], pos): value for i, pos, _j, value, _c in self._partials}

    @property
    def contributions(self) -> list:
        order = self.order
        return [(order[j], order[i], c) for i, _pos, j, _v, c in self._partials]


def _backward_sweep(p: Plan, values: list, root: int, seed: Any, record: bool) -> tuple[list, list]:
    """Every adjoint, from the root's seed back to the variables (and the record of the contributions)."""
    adjoints: list = [None] * len(values)
    adjoints[root] = seed
    recorded: list = []
    terms = p.backward_terms
    try:
        with np.errstate(divide="raise", invalid="raise", over="raise"):
            if terms is not None:
                _backward_terms(terms, values, adjoints, recorded if record else None)
            else:
                _backward_steps(p, values, adjoints, recorded if record else None)
    except _SweepError as failure:
        raise _domain_error(p, failure.slot, failure.cause, "differentiating") from None
    return adjoints, recorded


class _SweepError(Exception):
    """A domain error inside a sweep, with the slot of the node where it happened."""

    def __init__(self, slot: int, cause: Exception):
        super().__init__(slot, cause)
        self.slot = slot
        self.cause = cause


def _backward_terms(terms: list, values: list, adjoints: list, recorded: list | None) -> None:
    """The lean backward sweep (elementwise operations of one or two arguments): one flat loop over
    the terms, each adding adjoint × local partial to an argument's adjoint. The local partial is
    worked out inline (as :func:`_local_partial` does): this loop is the cost of a gradient."""
    i = -1
    try:
        for i, j, how, what, first, second, reduce_to, pos in terms:
            g = adjoints[i]
            if g is None:
                continue
            if how == READ:
                local = values[what]
            elif how == CONSTANT:
                local = what
            elif second is not None:
                local = what(values[first], values[second], values[i])
            else:
                local = what(values[first], values[i])
            contribution = g * local
            if reduce_to is not None:
                contribution = sum_to(contribution, attr=reduce_to)
            if recorded is not None:
                recorded.append((i, pos, j, local, contribution))
            previous = adjoints[j]
            adjoints[j] = contribution if previous is None else previous + contribution
    except _ERRORS as exc:
        raise _SweepError(i, exc) from None


def _backward_steps(p: Plan, values: list, adjoints: list, recorded: list | None) -> None:
    """The general backward sweep, node by node: elementwise terms, or a whole-array operation's
    vector-Jacobian product."""
    i = -1
    try:
        for i, idx, terms, node in reversed(p.partial_steps):
            g = adjoints[i]
            if g is None:
                continue
            if terms:
                for _i, j, how, what, first, second, reduce_to, pos in terms:
                    local = _local_partial(values, i, idx, how, what, first, second)
                    contribution = g * local
                    if reduce_to is not None:
                        contribution = sum_to(contribution, attr=reduce_to)
                    if recorded is not None:
                        recorded.append((i, pos, j, local, contribution))
                    previous = adjoints[j]
                    adjoints[j] = contribution if previous is None else previous + contribution
            elif node is not None:
                rule = node.rule
                if rule.vjp is None:
                    raise _missing_rule(rule, "vjp")
                argv = [values[j] for j in idx]
                options = {"attr": node.attr} if rule.has_attr else {}
                if _takes_needed(rule.vjp):        # it can skip the cotangents no variable needs
                    options["needed"] = tuple([p.active[j] for j in idx])
                cotangents = rule.vjp(g, *argv, values[i], **options)
                for pos, j in enumerate(idx):
                    c = cotangents[pos]
                    if c is None or not p.active[j]:
                        continue
                    if recorded is not None:
                        recorded.append((i, pos, j, None, c))
                    previous = adjoints[j]
                    adjoints[j] = c if previous is None else previous + c
    except _ERRORS as exc:
        raise _SweepError(i, exc) from None


_TAKES_NEEDED: dict = {}


def _takes_needed(vjp) -> bool:
    """Whether a vjp accepts ``needed=`` (one flag per argument: is its cotangent used?)."""
    takes = _TAKES_NEEDED.get(vjp)
    if takes is None:
        try:
            takes = "needed" in inspect.signature(vjp).parameters
        except (TypeError, ValueError):
            takes = False
        _TAKES_NEEDED[vjp] = takes
    return takes


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
    return _reverse(f, plan(f), as_point(at), seed, record)


def _reverse(f: Node, p: Plan, point: dict, seed: Any, record: bool) -> ReverseResult:
    """:func:`reverse` on a planned graph at a point already normalised by :func:`as_point`."""
    if f.shape != () and seed is None:
        raise ShapeError(f"reverse mode needs a scalar output, but f has shape {f.shape}; "
                         "pass seed= (an array of that shape) or reduce f with dx.sum")
    values = _primal_sweep(p, point)
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
    known = set(names)
    unknown = [w for w in wrt if w not in known]
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
    point = as_point(at)
    if method == "reverse" and wrt is None:    # every variable, in order of first appearance
        return _reverse(f, p, point, None, False).gradient
    names = _check_wrt(p, wrt)
    if method == "reverse":
        gradient = _reverse(f, p, point, None, False).gradient
        return {n: gradient[n] for n in names}
    if method == "forward":
        return {n: _forward_directional(p, point, n) for n in names}
    if method == "symbolic":
        # One plan over all the derivative graphs (they share most nodes), evaluated in one sweep; it is
        # not cached, so many inputs do not push the plans of other graphs out of the cache.
        from .symbolic import diff
        derivatives = plan([diff(f, n) for n in names])
        values = _primal_sweep(derivatives, point)
        return {n: values[slot] for n, slot in zip(names, derivatives.roots, strict=True)}
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
