"""Transform/evaluate: a graph's evaluation plan, made once and shared by every sweep.

A :class:`Plan` is made in one walk over the graph: the topological order, each node's slot, which nodes
depend on a variable, every operation with its argument slots, and the chain-rule terms of every
operation with its local partial resolved as far as the rule table allows (a constant such as add's 1,
one of the values such as mul's other argument, a primitive applied to an argument such as sin's cos, or
a call of the rule's partial). The terms of an operation depend only on its rule, which of its arguments
are active and whether broadcasting made it larger, so operations alike share one tuple of terms: the
walk writes down two small tuples per operation. The sweeps of :mod:`diffexplore.sweeps` are plain loops
over these lists, over numbers (the evaluators) or over nodes (the symbolic differentiator).

Plans of the most recently used graphs are cached while the graph lives (a plan holds its graph, so the
cache is small and bounded). The registry :data:`guards` holds the branch decisions that traced graphs
depend on (kept beside the graph, never on it); the primal sweep checks them for every graph that
contains a traced part.
"""

from __future__ import annotations

import os
import threading
import warnings
import weakref
from collections import OrderedDict
from collections.abc import Sequence
from operator import attrgetter, itemgetter
from typing import Any, NamedTuple

from .graph import PRIMITIVES, Node, as_node, check_variables, gc_paused

__all__ = ["Plan", "plan", "Op", "Term", "CALL", "READ", "CONSTANT", "APPLY", "MANY", "PASS", "PASS_BOTH",
           "PRODUCT", "TERMS", "Terms", "PlanRange", "op_arguments",
           "trivial_partial", "TRIVIAL_PARTIALS", "PASSING", "guards", "PLAN_CACHE_SIZE", "clear_plans"]

#: How a term gets its local partial: call the rule's partial, read a value, use a constant, or apply a
#: primitive's implementation to a value (the partial is that primitive of one of the inputs).
CALL, READ, CONSTANT, APPLY = 0, 1, 2, 3

#: An operation's ``second`` when it has more than two arguments (``first`` is then their slots).
MANY = -1

#: The kinds of a step of :meth:`Plan.backward_steps` ``(slot, kind, j, k, what)``, one step per
#: operation, besides READ (``ū_j += v̄ · value_k``), CONSTANT (``ū_j += v̄ · what``) and APPLY
#: (``ū_j += v̄ · impl(value_k)``, ``what`` being ``(impl on a float, impl)``) for an operation with one
#: term: PASS, a constant partial of exactly 1 (add's, sub's first), whose contribution is the adjoint
#: itself (``g * 1.0`` is ``g`` for every float, signed zeros, infinities and NaN included), so it is
#: passed on without a multiplication; PASS_BOTH, both arguments of an add (``ū_j += v̄``,
#: ``ū_k += v̄``); PRODUCT, both arguments of a product, each reading the other (``ū_j += v̄ · value_k``,
#: ``ū_k += v̄ · value_j``); TERMS, any other operation (a vjp too), swept on its own by the
#: per-operation sweep.
PASS, PASS_BOTH, PRODUCT, TERMS = 4, 5, 6, 7


class Op(NamedTuple):
    """One operation of a plan's ``ops`` (plain tuples in this layout): ``impl`` computes its value
    (None in plans made for the symbolic sweeps only), ``first`` and ``second`` are its arguments' slots
    (``second`` None for one argument; :data:`MANY` for three or more, whose slots ``first`` then
    holds) and ``slot`` its own. Terms address the slots by their position in this tuple (1, 2, 3)."""

    impl: Any
    first: Any
    second: int | None
    slot: int


class Term(NamedTuple):
    """One chain-rule term of an operation: ``adjoint[op[position]] += adjoint[slot] * local`` and
    ``tangent[slot] += local * tangent[op[position]]``. ``local`` is ``values[op[source]]`` (READ),
    the number ``what`` (CONSTANT), ``what(values[op[source]])`` (APPLY: ``what`` is a primitive's
    implementation; ``partial`` builds the same with nodes) or ``what(*argument values, output value)``
    (CALL). ``reduce_to`` is the argument's shape when broadcasting made the result larger, else None.

    Plans keep terms as plain tuples in this layout (the sweeps unpack them in their hot loops), one
    tuple of terms per operation, shared by the operations with the same rule, active arguments and
    broadcasting."""

    position: int
    how: int
    what: Any
    source: int
    reduce_to: tuple | None
    partial: Any


def op_arguments(op: tuple) -> tuple:
    """The argument slots of an operation of a plan's ``ops``."""
    _impl, first, second, _slot = op
    if second is None:
        return (first,)
    return first if second == MANY else (first, second)


class Plan:
    """The evaluation plan of one or more roots, made in one walk over the graph.

    - ``order`` (topological) and ``index`` (node -> slot); ``roots``: the roots' slots;
    - ``constants`` ``(slot, value)``, ``variable_slots`` and ``variables`` ``(slot, name, shape)``
      (made on first use); a name with two shapes is refused;
    - ``active[slot]``: whether the node depends on a variable (of ``wrt``, when a plan is made for
      derivatives with respect to some of the variables only: partials nobody asked for are never
      evaluated, such as a power's partial in its exponent where the base is negative);
    - ``ops``: an :class:`Op` for every operation, in order (``evaluation=False``, for the symbolic
      sweeps, leaves out the implementations);
    - ``terms``: for every operation, the tuple of its chain-rule :class:`Term` (one per active argument
      whose partial is not zero; empty when no argument is active), or None for an operation whose
      rule's vjp/jvp the sweeps call (or that has no derivative rule: the sweeps then say so);
    - ``sweeps``: how many times the plan has been swept (primal and backward sweeps over numbers).
    """

    __slots__ = ("order", "_index", "roots", "ops", "terms", "constants", "variable_slots", "_variables",
                 "active", "_absorbed", "_constants_finite", "_variables_getter", "_variable_names",
                 "_shaped", "_steps", "sweeps", "__weakref__")

    def __init__(self, roots: Sequence[Node], evaluation: bool = True, wrt: Sequence[str] | None = None):
        with gc_paused():       # a plan allocates a few small tuples per node and no cycles
            self._make(roots, evaluation, None if wrt is None else frozenset(wrt))

    def _make(self, roots: Sequence[Node], evaluation: bool, wrt: frozenset | None) -> None:
        """Number the graph's nodes and write down its operations and terms in one walk (:func:`walk`)."""
        flat = _flat_roots(roots)
        order, root_slots, active, constants, variable_slots, names, ops, terms, absorbing = walk(
            flat, PRIMITIVES["var"], PRIMITIVES["const"], wrt, evaluation, _rule_facts, _bind_attr, _terms,
            _NOT_YET, MANY, Node)
        self.order = order
        self._index = None
        self.roots = root_slots
        self.constants = constants
        if len(set(names)) < len(names):            # a name with two shapes
            check_variables([order[i] for i in variable_slots])
        self.variable_slots = variable_slots
        self._variable_names = names
        self._variables = None
        self.ops = ops
        self.terms = terms
        self.active = active
        self._absorbed = absorbing
        self._constants_finite = None
        self._variables_getter = None
        self._shaped = None
        self._steps = _NOT_YET
        self.sweeps = 0

    @property
    def index(self) -> dict:
        """node -> slot (made from the order on first use: sweeps go by slots, and never need it)."""
        if self._index is None:
            self._index = dict(zip(self.order, range(len(self.order)), strict=True))
        return self._index

    def constants_finite(self, is_finite) -> bool:
        """Whether every constant is finite by ``is_finite`` (made on first use)."""
        if self._constants_finite is None:
            self._constants_finite = all(is_finite(value) for _i, value in self.constants)
        return self._constants_finite

    @property
    def variables(self) -> list:
        """``(slot, name, shape)`` of every variable, in order (made on first use)."""
        if self._variables is None:
            order = self.order
            self._variables = [(i, name, order[i].shape)
                               for i, name in zip(self.variable_slots, self.variable_names(), strict=True)]
        return self._variables

    def variable_values(self, values: list) -> tuple:
        """The entries of a slot list (values, tangents, adjoints) at the variables, in order."""
        getter = self._variables_getter
        if getter is None:
            slots = self.variable_slots
            if len(slots) == 1:
                getter = (lambda values, slot=slots[0]: (values[slot],))
            else:
                getter = itemgetter(*slots) if slots else (lambda values: ())
            self._variables_getter = getter
        return getter(values)

    def variable_names(self) -> list:
        """The variables' names, in order."""
        return self._variable_names

    def shaped_variables(self) -> list:
        """``(slot, name, shape)`` of the variables that are arrays (made on first use)."""
        if self._shaped is None:
            shapes = map(_shape_of, map(self.order.__getitem__, self.variable_slots))
            self._shaped = [variable for variable in self.variables if variable[2]] if any(shapes) else []
        return self._shaped

    def absorbing_arguments(self) -> list:
        """The slots of the arguments of every operation not named in :data:`PASSING` (with repeats):
        the values an overflow could vanish through."""
        return self._absorbed

    def backward_steps(self) -> list | None:
        """The backward sweep spelled out (:meth:`fused_steps`), made on first use, for a plan swept twice
        before (``sweeps``: evaluations and gradients) to sweep backward: one loop, no operation tuples
        or terms to unpack. None when more than a quarter of the steps are TERMS steps (divisions,
        powers, array operations): the sweep over the operations is then faster, and the plan holds no
        second list."""
        if self._steps is _NOT_YET:
            with gc_paused():          # many small tuples, no cycles
                steps, unfused = self._make_steps()
            self._steps = None if 4 * unfused > len(steps) else steps
        return self._steps

    def fused_steps(self) -> list:
        """One step ``(slot, kind, j, k, what)`` per operation with terms (or a vjp), in reverse order,
        its argument slots resolved and its terms fused into one of the kinds of :data:`PRODUCT` and its
        neighbours (the terms' ``fused``); a TERMS step's ``what`` is its operation as a
        :class:`PlanRange`."""
        return self._make_steps()[0]

    def _make_steps(self) -> tuple[list, int]:
        """The steps of :meth:`fused_steps`, and how many of them are TERMS steps."""
        steps: list = []
        add = steps.append
        unfused = 0
        last = _NOT_YET          # runs of operations alike share one tuple of terms: unpacked once
        positions = range(len(self.ops) - 1, -1, -1)
        for position, op, terms in zip(positions, reversed(self.ops), reversed(self.terms), strict=True):
            if terms is not last:
                if not terms:
                    if terms is None:
                        add(_terms_step(self, position))
                        unfused += 1
                    continue
                last = terms
                kind, j, k, what = terms.fused
            if kind != TERMS:
                add((op[3], kind, op[j], op[k], what))
            else:
                add(_terms_step(self, position))
                unfused += 1
        return steps, unfused

    @property
    def partial_steps(self) -> list:
        """Every operation as ``(slot, argument slots, terms, node)``, with each term spelled out as
        ``(slot, argument slot, how, what, first, second, reduce_to, position)`` (READ's ``what`` a slot,
        APPLY given as the CALL of its partial, ``first``/``second`` the argument slots of a partial of
        one or two arguments), and ``node`` set where ``terms`` is None: for code that writes each step
        out (the compiler) rather than sweeping."""
        steps = []
        for op, terms in zip(self.ops, self.terms, strict=True):
            i = op[3]
            idx = op_arguments(op)
            if terms is None:
                steps.append((i, idx, None, self.order[i]))
                continue
            first, second = op[1], op[2]
            spelled = []
            for position, how, what, source, reduce_to, partial in terms:
                if how == READ:
                    what = op[source]
                elif how == APPLY:
                    how, what = CALL, partial
                spelled.append((i, op[position], how, what, first, second, reduce_to, position - 1))
            steps.append((i, idx, tuple(spelled), None))
        return steps

    def dense_terms(self) -> list:
        """The terms of every operation with one for *every* argument, active or not, a zero partial
        being the constant 0: the chain rule exactly as a textbook writes it (the raw symbolic
        derivative), where ``terms`` leaves out what cannot contribute. None, as in ``terms``, for the
        operations the sweeps handle by their rule (vjp/jvp, or more than two arguments)."""
        dense = []
        shared: dict = {}
        for op in self.ops:
            node = self.order[op[3]]
            key = (node.rule, node.shape) + tuple(a.shape for a in node.args)
            found = shared.get(key, _NOT_YET)
            if found is _NOT_YET:
                template = _term_template(node.rule, dense=True)
                found = shared[key] = (None if template is None
                                       else _terms(template, node, (True,) * len(node.args)))
            dense.append(found)
        return dense


# ---- a range of a plan, seen by the sweeps as a plan ----------------------------------------------------


class PlanRange:
    """Operations ``start`` to ``stop`` of a plan, which the sweeps of :mod:`diffexplore.sweeps` take
    for a plan (everything but the operations and their terms is the whole plan's): the lean sweeps
    call the shared forward and backward sweeps on one operation at a time, and a TERMS step of
    :meth:`Plan.backward_steps` is one."""

    __slots__ = ("plan", "ops", "terms", "sweeps")

    def __init__(self, p: Plan, start: int, stop: int):
        self.plan = p
        self.ops = p.ops[start:stop]
        self.terms = p.terms[start:stop]
        self.sweeps = 0

    def backward_steps(self) -> None:
        return None

    def __getattr__(self, name: str) -> Any:
        return getattr(self.plan, name)


_NOT_YET = object()
_shape_of = attrgetter("shape")

#: Operations that carry an infinite argument into an infinite or NaN value (or refuse it): an overflow
#: inside a formula can vanish only through another operation (1/inf = 0, exp(-inf) = 0, tanh(inf) = 1,
#: a comparison, a selection, any primitive defined outside this list), whose arguments the evaluators
#: check.
PASSING = frozenset({"add", "sub", "mul", "neg", "log", "log1p", "sin", "cos", "tan", "sqrt", "sinh",
                     "cosh", "abs", "stop_gradient"})


def _walk_in_python(roots: list, var_rule: Any, const_rule: Any, wrt: frozenset | None, evaluation: bool,
                    rule_facts: Any, bind_attr: Any, make_terms: Any, not_yet: Any, many: int,
                    node_type: type = Node) -> tuple:
    """The planning walk: one depth-first walk (arguments left to right) in which each node is numbered
    when its arguments are, and its operation and chain-rule terms are written down at once. Returns
    ``(order, root_slots, active, constants, variable_slots, variable_names, ops, terms, absorbing)``, the
    lists a :class:`Plan` keeps. ``_planwalk.walk`` is the same walk compiled (reading the fields of nodes of
    ``node_type`` from their slots), used when it was built (:data:`walk` is the one in use).

    >>> import diffexplore as dx
    >>> x = dx.variable("x")
    >>> order, roots, active, *_ = _walk_in_python([x * x + 1], PRIMITIVES["var"], PRIMITIVES["const"],
    ...     None, True, _rule_facts, _bind_attr, _terms, _NOT_YET, MANY)
    >>> [node.op for node in order], roots, active
    (['var', 'mul', 'const', 'add'], [3], [True, True, False, True])
    """
    index: dict = {}               # node -> slot, in slot order (the order is its keys)
    slot_of = index.__getitem__
    active: list = []
    mark = active.append
    constants: list = []
    variable_slots: list = []
    variable_names: list = []
    ops: list = []
    add_op = ops.append
    terms: list = []
    add_terms = terms.append
    absorbing: list = []           # arguments of the operations an infinity can vanish through
    facts: dict = {}               # rule -> _RuleFacts; per plan: rules may change between plans
    shared: dict = {}              # (rule, activity, broadcasting) -> its operations' terms
    # Every node is met as an argument (the roots as the arguments of the walk itself): a leaf is
    # numbered at once, an operation pushed and numbered when its arguments are.
    stack: list = []                      # the operations being walked
    resume: list = []                     # beside each, where its parent's arguments go on
    push, pop, push_resume, pop_resume = stack.append, stack.pop, resume.append, resume.pop
    every_variable = wrt is None
    i = -1                                # the slot of the node numbered last
    arguments = iter(roots)               # the arguments being met
    while True:
        for arg in arguments:
            if arg in index:
                continue
            if arg.args:
                push(arg)
                push_resume(arguments)
                arguments = iter(arg.args)
                break
            i += 1
            index[arg] = i
            rule = arg.rule
            if rule is var_rule:
                name = arg.attr[0]
                variable_slots.append(i)
                variable_names.append(name)
                mark(every_variable or name in wrt)
            else:
                if rule is const_rule:
                    constants.append((i, arg.value))
                mark(False)
        else:
            if not stack:
                break
            node = pop()
            arguments = pop_resume()
            i += 1
            index[node] = i
            rule = node.rule
            args = node.args
            try:
                known = facts[rule]
            except KeyError:
                known = facts[rule] = rule_facts(rule, evaluation)
            template, absorbs, impl, by_activity, binary = known
            if impl is None and evaluation:
                impl = bind_attr(rule.impl, node.attr)
            shape = node.shape
            if binary:
                a, b = args
                first = index[a]
                second = index[b]
                add_op((impl, first, second, i))
                if absorbs:
                    absorbing += (first, second)
                k = active[first] + 2 * active[second]    # which arguments are active: 0 to 3
                mark(k > 0)
                if shape and k and template is not None:   # arrays: broadcasting decides too
                    key = (rule, k, None if a.shape == shape else a.shape,
                           None if b.shape == shape else b.shape)
                    found = shared.get(key)
                    if found is None:
                        found = shared[key] = make_terms(template, node, (k & 1, k & 2))
                else:                       # scalars: by activity, in the rule's own small table
                    found = by_activity[k]
                    if found is not_yet:
                        found = by_activity[k] = make_terms(template, node, (k & 1, k & 2))
            elif len(args) == 1:
                a = args[0]
                first = index[a]
                add_op((impl, first, None, i))
                if absorbs:
                    absorbing.append(first)
                k = active[first]
                mark(k)
                if shape and k and template is not None:
                    key = (rule, None if a.shape == shape else a.shape)
                    found = shared.get(key)
                    if found is None:
                        found = shared[key] = make_terms(template, node, (True,))
                else:
                    found = by_activity[k]
                    if found is not_yet:
                        found = by_activity[k] = make_terms(template, node, (True,))
            else:
                slots = tuple(map(slot_of, args))
                add_op((impl, slots, many, i))
                if absorbs:
                    absorbing += slots
                any_active = any(map(active.__getitem__, slots))
                mark(any_active)
                found = None if any_active else ()
            add_terms(found)
    return list(index), [index[r] for r in roots], active, constants, variable_slots, variable_names, ops, \
        terms, absorbing


try:
    from ._planwalk import walk as compiled_walk
except ImportError:        # not built (installed without a C compiler): the same walk runs in Python
    compiled_walk = None

_python_asked = os.environ.get("DIFFEXPLORE_PURE_PYTHON", "0") not in ("", "0")
#: The planning walk in use: the compiled one when it was built, unless ``DIFFEXPLORE_PURE_PYTHON`` is
#: set (to anything but empty or 0) when diffexplore is imported.
walk = _walk_in_python if compiled_walk is None or _python_asked else compiled_walk


def _flat_roots(roots: Sequence) -> list[Node]:
    """The roots as a list of nodes (numbers become constants)."""
    return [r if type(r) is Node else as_node(r) for r in roots]


def _rule_facts(rule, evaluation: bool) -> tuple:
    """What a plan needs of a rule, looked up once per plan: its term template, whether an infinite
    argument can vanish through it (not in :data:`PASSING`), its implementation (None when each node
    binds its own attribute, or the plan evaluates nothing), and a table of the terms of its scalar
    operations by which arguments are active (0: none, 1: the first, 2: the second, 3: both), filled as
    they are met (no terms without an active argument; None, the sweeps' call of the rule's vjp, for a
    rule without a template), and whether its operations have two arguments."""
    impl = None if rule.has_attr or not evaluation else rule.impl
    template = _term_template(rule)
    by_activity = [(), _NOT_YET, _NOT_YET, _NOT_YET] if template is not None else [(), None, None, None]
    return (template, rule.name not in PASSING, impl, by_activity, rule.arity == 2)


def _term_template(rule, dense: bool = False) -> tuple | None:
    """For an elementwise rule of one or two arguments with partials: ``(position, how, what, partial)``
    for each nonzero partial (for ``READ`` and ``APPLY``, the input read is given by its argument
    position, the arity meaning the output); ``dense`` keeps the zero partials too, as the constant 0.
    None for a rule whose steps are whole-array vjp/jvp calls, which has no partials or more arguments."""
    if not rule.elementwise or rule.partials is None or rule.arity > 2:
        return None
    template = []
    for pos, partial in enumerate(rule.partials):
        if partial is not None:
            how, what = TRIVIAL_PARTIALS.get(partial, (CALL, partial))
            template.append((pos, how, what, partial))
        elif dense:
            template.append((pos, CONSTANT, 0.0, None))
    return tuple(template)


class Terms(tuple):
    """The terms of an operation (a tuple of :class:`Term`), with ``fused``: the kind of its backward
    step and where its slots and partial come from, ``(kind, position of j, position of k, what)``, as
    :meth:`Plan.backward_steps` spells it out (:data:`TERMS`: the terms one by one)."""

    fused: tuple


def _terms(template: tuple, node: Node, actives: list) -> tuple:
    """The terms of an operation like ``node`` whose arguments are active as ``actives`` says."""
    arity = len(node.args)
    terms = []
    for pos, how, what, partial in template:
        if not actives[pos]:
            continue
        source = 0
        if how == READ:
            source, what = _op_position(what, arity), None
        elif how == APPLY:
            rule, k = what
            source, what = _op_position(k, arity), rule.impl
        arg_shape = node.args[pos].shape
        terms.append((pos + 1, how, what, source, arg_shape if arg_shape != node.shape else None, partial))
    if not terms:
        return ()
    found = Terms(terms)
    found.fused = _fused_step(found)
    return found


def _op_position(k: int, arity: int) -> int:
    """The position in an :class:`Op` of input ``k`` of a partial (``k`` = arity: the output)."""
    return 3 if k >= arity else k + 1


def _terms_step(p: Plan, position: int) -> tuple:
    """The TERMS step of the operation at ``position``: the operation itself, as a one-operation plan
    for the per-operation sweep."""
    i = p.ops[position][3]
    return (i, TERMS, i, i, PlanRange(p, position, position + 1))


def _is_one(how: int, what: Any) -> bool:
    """Whether a term's partial is the constant 1.0."""
    return how == CONSTANT and type(what) is float and what == 1.0


def _fused_step(terms: tuple) -> tuple:
    """The kind of an operation's backward step and where its slots and partial come from:
    ``(kind, position of j, position of k, what)``, positions in the operation's tuple (3, its own slot,
    where a kind reads no second slot)."""
    if any(reduce_to is not None for _p, _h, _w, _s, reduce_to, _partial in terms):
        return (TERMS, 3, 3, None)
    if len(terms) == 1:
        ((position, how, what, source, _reduce_to, _partial),) = terms
        if _is_one(how, what):
            return (PASS, position, 3, None)
        if how == READ:
            return (READ, position, source, None)
        if how == APPLY:       # (on a float, the impl itself for one that makes no distinction)
            return (APPLY, position, source, (getattr(what, "scalar", what), what))
        if how == CONSTANT:
            return (CONSTANT, position, 3, what)
        return (TERMS, 3, 3, None)
    (p1, how1, what1, source1, _r1, _f1), (p2, how2, what2, source2, _r2, _f2) = terms
    if _is_one(how1, what1) and _is_one(how2, what2):
        return (PASS_BOTH, p1, p2, None)
    if how1 == READ and how2 == READ and source1 == p2 and source2 == p1:
        return (PRODUCT, p1, p2, None)
    return (TERMS, 3, 3, None)


# ---- partials that ignore the numbers -----------------------------------------------------------------
# Many local partials do not compute anything: add's are 1, sub's are 1 and -1, mul's are the other
# argument, exp's is its own output; others are one primitive of an input (sin's is cos(a), relu's is
# step(a)). The plan resolves these once, so the sweeps read a value or call one implementation instead
# of calling a function for every edge (the single largest cost of a backward sweep over Python floats).


class _StandIn:
    """An argument that supports no arithmetic at all: a partial given stand-ins that returns a number
    or one of the stand-ins never looks at the numbers. A primitive applied to a stand-in gives an
    :class:`_Applied` (the primitives hand arguments with ``__dx_apply__`` to them, as tracers)."""

    __slots__ = ()

    def __dx_apply__(self, rule, args, attr):
        if attr is None and len(args) == 1 and args[0] is self and not rule.has_attr:
            return _Applied(rule, self)
        raise TypeError("not a primitive of one input")


class _Applied:
    """A primitive applied to a stand-in: what a partial such as ``lambda a, out: cos(a)`` returns."""

    __slots__ = ("rule", "argument")

    def __init__(self, rule, argument: _StandIn):
        self.rule = rule
        self.argument = argument


def trivial_partial(partial, arity: int) -> tuple[int, Any] | None:
    """``(CONSTANT, number)``, ``(READ, k)`` (it returns its k-th input; k = arity is the output) or
    ``(APPLY, (rule, k))`` (it returns one primitive of its k-th input) for a partial that does no
    arithmetic of its own, else None.

    >>> trivial_partial(lambda a, b, out: b, 2), trivial_partial(lambda a, b, out: -1.0, 2)
    ((1, 1), (2, -1.0))
    >>> import diffexplore as dx
    >>> trivial_partial(lambda a, out: dx.cos(a), 1)
    (3, (<primitive cos/1>, 0))
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
        if type(result) is _Applied and result.argument is stand_in and result.rule.elementwise:
            return (APPLY, (result.rule, k))
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
