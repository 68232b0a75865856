"""Transform/evaluate: a graph's evaluation plan, made once and shared by every sweep.

A :class:`Plan` is made in one walk over the graph: the topological order, each node's slot, which nodes
depend on a variable, the primal operations, and the chain-rule terms of every operation with its local
partial resolved as far as the rule table allows (a constant such as add's 1, one of the values such as
mul's other argument, or a call of the rule's partial). The sweeps of :mod:`diffexplore.sweeps` are plain
loops over these lists, over numbers (the evaluators) or over nodes (the symbolic differentiator).

Plans of the most recently used graphs are cached while the graph lives (a plan holds its graph, so the
cache is small and bounded). The registry :data:`guards` holds the branch decisions that traced graphs
depend on (kept beside the graph, never on it); the primal sweep checks them for every graph that
contains a traced part.
"""

from __future__ import annotations

import threading
import warnings
import weakref
from collections import OrderedDict
from collections.abc import Sequence
from typing import Any, NamedTuple

from .graph import PRIMITIVES, Node, check_variables, gc_paused, numbered_nodes

__all__ = ["Plan", "plan", "Term", "Step", "CALL", "READ", "CONSTANT", "trivial_partial",
           "TRIVIAL_PARTIALS", "guards", "PLAN_CACHE_SIZE", "clear_plans"]

#: How a term gets its local partial: call the rule's partial, read a value, or use a constant.
CALL, READ, CONSTANT = 0, 1, 2


class Term(NamedTuple):
    """One chain-rule term: ``adjoint[arg] += adjoint[slot] * local`` and ``tangent[slot] += local *
    tangent[arg]``. ``local`` is ``what(value[first], value[second], value[slot])`` (``how`` is CALL;
    ``second`` None for one argument, ``first`` None for three or more, whose values come from the
    step's argument slots), ``value[what]`` (READ: a partial that returns one of its inputs) or the
    number ``what`` (CONSTANT). ``reduce_to`` is the argument's shape when broadcasting made the result
    larger, else None; ``position`` is the argument's position.

    The plan keeps terms as plain tuples in this layout (the sweeps unpack them in their hot loops);
    this class names the fields for readers and for code that is not hot.
    """

    slot: int
    arg: int
    how: int
    what: Any
    first: int | None
    second: int | None
    reduce_to: tuple | None
    position: int


class Step(NamedTuple):
    """One operation in a plan's ``partial_steps`` (plain tuples in this layout): its ``slot``, its
    argument slots, its elementwise ``terms`` (a tuple of :class:`Term`), or None and the ``node`` whose
    rule's vjp/jvp the sweeps call (``node`` None: nothing to differentiate)."""

    slot: int
    args: tuple
    terms: tuple | None
    node: Node | None


class Plan:
    """The evaluation plan of one or more roots, made in one walk over the graph.

    - ``order`` (topological) and ``index`` (node -> slot); ``roots``: the roots' slots;
    - ``constants`` ``(slot, value)`` and ``variables`` ``(slot, name, shape)``;
    - ``active[slot]``: whether the node depends on a variable (of ``wrt``, when a plan is made for
      derivatives with respect to some of the variables only: partials nobody asked for are never
      evaluated, such as a power's partial in its exponent where the base is negative);
    - ``ops``: ``(slot, impl, argument slots, arity)`` for every operation, in order (made only for
      plans that evaluate: ``evaluation=False`` skips them for the symbolic sweeps);
    - ``partial_steps``: a :class:`Step` for every operation, in order: the chain-rule terms of each
      active argument whose partial is not zero;
    - ``backward_terms``: every term in the order the backward sweep uses them, for the flat sweep
      (None when the graph has an operation the terms cannot express).
    """

    __slots__ = ("order", "index", "roots", "ops", "constants", "variables", "active", "partial_steps",
                 "_backward_terms", "_absorbed", "_constants_finite", "__weakref__")

    def __init__(self, roots: Sequence[Node], evaluation: bool = True, wrt: Sequence[str] | None = None):
        with gc_paused():       # a plan allocates a few small tuples per node and no cycles
            self._make(roots, evaluation, None if wrt is None else frozenset(wrt))

    def _make(self, roots: Sequence[Node], evaluation: bool, wrt: frozenset | None) -> None:
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
                    active[i] = wrt is None or node.attr[0] in wrt
                continue
            idx = tuple(map(slot_of, args))
            any_active = False
            for j in idx:
                if active[j]:
                    any_active = True
                    break
            active[i] = any_active
            if evaluation:
                impl = _bind_attr(rule.impl, node.attr) if rule.has_attr else rule.impl
                ops.append((i, impl, idx, len(idx)))
            template = templates.get(rule, _NOT_YET)
            if template is _NOT_YET:
                template = templates[rule] = _term_template(rule)
            if template is None or len(idx) > 2:
                partial_steps.append(_partial_step(i, node, idx, active, any_active, template))
            elif not any_active:
                partial_steps.append((i, idx, (), None))
            else:      # _partial_step inlined for one or two arguments: the common case, once per node
                first = idx[0]
                second = idx[1] if len(idx) == 2 else None
                shape = node.shape
                terms = []
                for pos, how, what in template:
                    j = idx[pos]
                    if active[j]:
                        if how == READ:
                            what = idx[what] if what < len(idx) else i
                        arg_shape = args[pos].shape
                        terms.append((i, j, how, what, first, second,
                                      arg_shape if arg_shape != shape else None, pos))
                partial_steps.append((i, idx, tuple(terms), None))
        check_variables([order[i] for i, _, _ in variables])      # one shape per name
        self.constants = constants
        self.variables = variables
        self.ops = ops
        self.active = active
        self.partial_steps = partial_steps
        self._backward_terms = _NOT_YET
        self._absorbed = None
        self._constants_finite = None

    def constants_finite(self, is_finite) -> bool:
        """Whether every constant is finite by ``is_finite`` (made on first use)."""
        if self._constants_finite is None:
            self._constants_finite = all(is_finite(value) for _i, value in self.constants)
        return self._constants_finite

    def absorbing_arguments(self, passing: frozenset) -> tuple:
        """The slots of the arguments of every operation not named in ``passing`` (made on first use:
        the values an overflow could vanish through)."""
        if self._absorbed is None:
            order = self.order
            slots = {j for i, idx, _terms, _node in self.partial_steps
                     if order[i].rule.name not in passing for j in idx}
            self._absorbed = tuple(sorted(slots))
        return self._absorbed

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

    def dense_steps(self) -> list:
        """A step for every operation with a term for *every* argument, active or not, a zero partial
        being the constant 0: the chain rule exactly as a textbook writes it (the raw symbolic
        derivative), where ``partial_steps`` leaves out what cannot contribute."""
        steps = []
        templates: dict = {}
        for i, idx, _terms, _node in self.partial_steps:
            node = self.order[i]
            rule = node.rule
            template = templates.get(rule)
            if template is None:
                template = templates[rule] = _term_template(rule, dense=True)
            steps.append(_partial_step(i, node, idx, None, True, template))
        return steps


_NOT_YET = object()


def _term_template(rule, dense: bool = False) -> tuple | None:
    """For an elementwise rule with partials: ``(position, how, what)`` for each nonzero partial (for
    ``READ``, ``what`` is the input's position, the arity meaning the output); ``dense`` keeps the
    zero partials too, as the constant 0. None for a rule whose steps are whole-array vjp/jvp calls
    or which has no partials."""
    if not rule.elementwise or rule.partials is None:
        return None
    template = []
    for pos, partial in enumerate(rule.partials):
        if partial is not None:
            how, what = TRIVIAL_PARTIALS.get(partial, (CALL, partial))
            template.append((pos, how, what))
        elif dense:
            template.append((pos, CONSTANT, 0.0))
    return tuple(template)


def _partial_step(i: int, node: Node, idx: tuple, active: list | None, any_active: bool,
                  template: tuple | None) -> tuple:
    """One :class:`Step` of a plan (``active`` None: every argument counts)."""
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
        if active is not None and not active[j]:
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
_plans_lock = threading.Lock()
PLAN_CACHE_SIZE = 8


def plan(roots: Node | Sequence[Node], wrt: Sequence[str] | None = None) -> Plan:
    """The cached plan of a graph (one topological order per graph, reused by every sweep); ``wrt``
    names the variables whose derivatives are wanted (default: all of them).

    >>> import diffexplore as dx
    >>> x = dx.variable("x")
    >>> p = plan(x * x + 1)
    >>> [n.op for n in p.order], p.active
    (['var', 'mul', 'const', 'add'], [True, True, False, True])
    >>> plan(x * x + 1) is p
    True
    """
    if isinstance(roots, Node):
        key = roots if wrt is None else (roots, tuple(wrt))
        cached = _plans.get(key)
        if cached is None:
            cached = Plan([roots], wrt=wrt)
            with _plans_lock:
                _plans[key] = cached
                if len(_plans) > PLAN_CACHE_SIZE:
                    _plans.popitem(last=False)
        else:
            with _plans_lock:
                if key in _plans:
                    _plans.move_to_end(key)
        return cached
    return Plan(list(roots), wrt=wrt)


def clear_plans() -> None:
    """Forget every cached plan (and so stop keeping their graphs alive)."""
    _plans.clear()


class GuardRegistry(weakref.WeakKeyDictionary):
    """node -> the check of the latest trace that produced it, keeping the checks of earlier traces
    that produced the same node too (hash-consing shares it): a node two programs share is checked
    against both, so tracing a second program never switches off the first one's guard."""

    def __init__(self):
        super().__init__()
        self.earlier: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()

    def __setitem__(self, node: Node, check: Any) -> None:
        previous = self.get(node)
        if previous is not None and previous is not check and node.args:
            self.earlier.setdefault(node, []).append(previous)
        super().__setitem__(node, check)

    def pop(self, node: Node, *default: Any) -> Any:
        """Remove the latest check; the earlier traces' checks stay (except on a leaf, which every graph
        shares: a bare variable keeps only its latest trace's check)."""
        previous = super().pop(node, *default)
        if node.args and previous is not None and (not default or previous is not default[0]):
            self.earlier.setdefault(node, []).append(previous)
        return previous

    def forget(self, node: Node) -> None:
        """Remove every check of ``node`` (the latest and the earlier traces')."""
        super().pop(node, None)
        self.earlier.pop(node, None)

    def checks(self, node: Node) -> list:
        """Every check registered for ``node``, the latest first."""
        latest = self.get(node)
        return ([latest] if latest is not None else []) + self.earlier.get(node, [])

    def guarded(self) -> list[Node]:
        """Every node with a check."""
        return list({**dict.fromkeys(self.keys()), **dict.fromkeys(self.earlier.keys())})

    def __bool__(self) -> bool:
        return bool(len(self)) or bool(len(self.earlier))


#: Checks run after every primal sweep of a graph that contains one of the keys: node -> callable
#: (primals_by_node, point). dx.trace registers here the branch decisions a traced graph depends on.
guards: GuardRegistry = GuardRegistry()
