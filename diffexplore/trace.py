"""Build: ordinary Python functions to graphs, by running them on tracing values.

:func:`trace` calls a Python function with a :class:`Tracer` in place of each argument. A tracer carries
two things: the graph node that computes it and its number at the trace point. Arithmetic and the
library's functions record nodes (and compute the numbers with the same rule-table implementations the
evaluators use); comparisons, ``bool``, ``int`` and ``float`` use the numbers, so ``if`` and ``while``
run exactly as they would on floats. The result is the graph of the path the program actually took,
a plain :class:`~diffexplore.graph.Node` that every evaluator, differentiator and drawing accepts.

That graph is only valid on its own path. Every decision the program took from a number is recorded as
a :class:`Decision` (``left op right`` came out ``outcome``) and kept beside the graph, in
:data:`diffexplore.plan.guards` (:mod:`diffexplore.branches`): after each primal sweep of the graph the
decisions are re-checked on the new values, and a :class:`BranchWarning` names the condition and the
point where one would flip.

Conventions (README, "Programs with branches and loops"):

- Python's ``max(a, b)`` and ``min(a, b)`` compare, so on tracers they are branches (recorded
  decisions); a tie keeps the first argument, as ``dx.maximum`` does. ``dx.maximum``, ``dx.relu`` and
  ``dx.abs`` are primitives, valid on both sides of their kink (subgradients: relu'(0) = abs'(0) = 0).
- ``abs(t)`` of a tracer is the ``abs`` primitive (no decision): its graph is valid everywhere.
- ``int(t)``, ``round(t)``, ``math.floor(t)`` record that the integer part stays the same.
- ``float(t)`` (and so ``math.exp(t)`` and other :mod:`math` functions) turns a tracer into a plain number:
  the derivative stops there. It is recorded and warned about (:class:`TraceWarning`).
- NumPy's ufuncs on tracers (``np.exp(t)``, ``np.maximum(t, 0)``) map to the rule table, by each
  primitive's ``numpy`` facet; one with no primitive is an error that says how to define it.
"""

from __future__ import annotations

import importlib.util
import inspect
import re
import sys
import warnings
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import numpy as np

from .branches import (
    COMPARISONS,
    DOMAIN_ERRORS,
    INTEGER_PARTS,
    MIRRORED,
    BranchGuard,
    BranchWarning,
    Decision,
    TraceWarning,
    branch_decisions,
    describe_point,
)
from .errors import DiffexploreError, DomainError
from .formula import formula
from .graph import PRIMITIVES, Node, Primitive, apply, constant, variable
from .inputs import as_point
from .plan import guards
from .rules import facet_index

__all__ = ["trace", "trace_file", "Tracer", "Decision", "BranchGuard", "BranchWarning", "TraceWarning",
           "branch_decisions"]


class _Recording:
    """The state of one trace: the point, and the decisions in the order the program took them."""

    def __init__(self, point: dict[str, Any]):
        self.point = point
        self.decisions: list[Decision] = []

    def value_of(self, node: Node) -> Any:
        """The number of a graph node that entered the program from outside (a constant or an input)."""
        if node.is_constant:
            return node.value
        if node.is_variable and node.name in self.point:
            return self.point[node.name]
        raise DiffexploreError(
            f"the traced function used the graph node {formula(node, max_length=60)!r}, which has no "
            "number at the trace point; compute with the function's arguments (and numbers) instead")

    def record(self, decision: Decision) -> None:
        self.decisions.append(decision)


def _call_site() -> str:
    """``file.py:line in function`` of the innermost frame outside this module."""
    frame = sys._getframe(1)
    here = __file__
    while frame is not None and frame.f_code.co_filename == here:
        frame = frame.f_back
    if frame is None:  # pragma: no cover - there is always a caller
        return "?"
    return f"{Path(frame.f_code.co_filename).name}:{frame.f_lineno} in {frame.f_code.co_name}"


_NUMBER_TYPES = (int, float, complex, np.number, np.ndarray)


class Tracer:
    """A value of a traced program: ``node`` (the graph that computes it) and ``value`` (its number).

    Make tracers with :func:`trace`, not directly.

    >>> import diffexplore as dx
    >>> def f(x):
    ...     print(x)
    ...     return x * x
    >>> g = dx.trace(f, x=3.0)
    Tracer x = 3.0
    >>> print(g)
    x*x
    """

    __slots__ = ("node", "value", "recording")
    __hash__ = object.__hash__          # identity, as for nodes (``==`` is a recorded comparison)

    def __init__(self, node: Node, value: Any, recording: _Recording):
        self.node = node
        self.value = value
        self.recording = recording

    def __repr__(self) -> str:
        return f"Tracer {formula(self.node, max_length=60)} = {self.value!r}"

    @property
    def shape(self) -> tuple:
        """The shape of the node it records (what dx.sum's ``axis`` and the like refer to)."""
        return self.node.shape

    def __format__(self, spec: str) -> str:
        return format(self.value, spec)

    # ---- arithmetic records nodes ---------------------------------------------------------------------
    def __dx_apply__(self, rule, args: tuple, attr: Any) -> Tracer:
        """Apply a primitive to arguments of which at least one is a tracer (called by ``graph.apply``)."""
        arg_nodes, arg_values = [], []
        for a in args:
            if isinstance(a, Tracer):
                arg_nodes.append(a.node)
                arg_values.append(a.value)
            elif isinstance(a, Node):
                arg_nodes.append(a)
                arg_values.append(self.recording.value_of(a))
            else:
                c = constant(a)
                arg_nodes.append(c)
                arg_values.append(c.value)
        if len(args) != rule.arity:
            raise DiffexploreError(f"{rule.name} takes {rule.arity} argument(s), got {len(args)}")
        node = apply(rule, *arg_nodes, attr=attr)
        return Tracer(node, _compute(rule, arg_values, attr), self.recording)

    def _operator(self, name: str, left: Any, right: Any) -> Any:
        if not isinstance(left, (Tracer, Node, *_NUMBER_TYPES)) or \
                not isinstance(right, (Tracer, Node, *_NUMBER_TYPES)):
            return NotImplemented
        return self.__dx_apply__(PRIMITIVES[name], (left, right), None)

    def __add__(self, other): return self._operator("add", self, other)
    def __radd__(self, other): return self._operator("add", other, self)
    def __sub__(self, other): return self._operator("sub", self, other)
    def __rsub__(self, other): return self._operator("sub", other, self)
    def __mul__(self, other): return self._operator("mul", self, other)
    def __rmul__(self, other): return self._operator("mul", other, self)
    def __truediv__(self, other): return self._operator("div", self, other)
    def __rtruediv__(self, other): return self._operator("div", other, self)
    def __pow__(self, other): return self._operator("pow", self, other)
    def __rpow__(self, other): return self._operator("pow", other, self)
    def __neg__(self): return self.__dx_apply__(PRIMITIVES["neg"], (self,), None)
    def __pos__(self): return self
    def __abs__(self): return self.__dx_apply__(PRIMITIVES["abs"], (self,), None)

    # ---- decisions use the numbers and are recorded ---------------------------------------------------
    def _compare(self, op: str, other: Any) -> Any:
        if not isinstance(other, (Tracer, Node, *_NUMBER_TYPES)):
            return NotImplemented
        if isinstance(other, Tracer):
            right_node, right_value = other.node, other.value
        elif isinstance(other, Node):
            right_node, right_value = other, self.recording.value_of(other)
        else:
            right_node = constant(other)
            right_value = right_node.value
        outcome = COMPARISONS[op](self.value, right_value)
        if np.ndim(outcome):
            raise DiffexploreError(
                f"comparing array values ({formula(self.node, max_length=40)} {op} ...) in a traced "
                "program is ambiguous; trace scalar functions, or use dx.maximum / dx.step")
        outcome = bool(outcome)
        self.recording.record(Decision(self.node, op, right_node, outcome, _call_site()))
        return outcome

    def __lt__(self, other): return self._compare("<", other)
    def __le__(self, other): return self._compare("<=", other)
    def __gt__(self, other): return self._compare(">", other)
    def __ge__(self, other): return self._compare(">=", other)
    def __eq__(self, other): return self._compare("==", other)
    def __ne__(self, other): return self._compare("!=", other)

    def __bool__(self) -> bool:
        return self._compare("!=", 0.0)

    def _integer_part(self, op: str) -> int:
        if np.ndim(self.value):
            raise DiffexploreError(f"{op}() of an array value in a traced program is not defined")
        result = int(INTEGER_PARTS[op](np.real(self.value)))
        self.recording.record(Decision(self.node, op, None, result, _call_site()))
        return result

    def __int__(self) -> int: return self._integer_part("int")
    def __trunc__(self) -> int: return self._integer_part("int")
    def __floor__(self) -> int: return self._integer_part("floor")
    def __ceil__(self) -> int: return self._integer_part("ceil")

    def __round__(self, ndigits: int | None = None) -> int:
        if ndigits is not None:
            raise DiffexploreError("round(value, ndigits) of a traced value is not supported; round(value) "
                                   "(an integer, recorded as a decision) is")
        return self._integer_part("round")

    def __float__(self) -> float:
        site = _call_site()
        warnings.warn(
            f"float() of the traced value {formula(self.node, max_length=40)} at {site} (math.* functions "
            "call it) makes it a plain number: the derivative does not flow through it. Use dx.exp, "
            "dx.sin, ... instead of math.exp, math.sin, ...", TraceWarning, stacklevel=2)
        self.recording.record(Decision(self.node, "float", None, float(self.value), site))
        return float(self.value)

    # ---- NumPy functions map to the rule table --------------------------------------------------------
    def __array_ufunc__(self, ufunc, method, *inputs, **kwargs):
        if method != "__call__" or kwargs:
            return NotImplemented
        if ufunc.__name__ in _UFUNCCOMPARISONS:
            left, right = inputs
            op = _UFUNCCOMPARISONS[ufunc.__name__]
            if isinstance(left, Tracer):
                return left._compare(op, right)
            return right._compare(MIRRORED[op], left)
        if ufunc is np.positive:
            return inputs[0]
        rule = _numpy_primitives().get(ufunc)
        if rule is None:
            name = ufunc.__name__
            raise DiffexploreError(
                f"np.{name} has no rule in diffexplore's rule table, so a traced program cannot call it; "
                f"add it with dx.define({name!r}, {ufunc.nin}, impl, partials, numpy=np.{name}) or "
                f"@dx.primitive(partials=[...], numpy=np.{name})")
        return self.__dx_apply__(rule, inputs, None)


def _numpy_primitives() -> dict[Any, Primitive]:
    """The rule table by NumPy function: each primitive's ``numpy`` facet -> the primitive.

    >>> _numpy_primitives()[np.sin]
    <primitive sin/1>
    """
    return facet_index(_numpy_facet)


def _numpy_facet(rule: Primitive) -> Any:
    return rule.numpy


_UFUNCCOMPARISONS = {"less": "<", "less_equal": "<=", "greater": ">", "greater_equal": ">=",
                      "equal": "==", "not_equal": "!="}


def _compute(rule, values: list, attr: Any) -> Any:
    """The number of one operation, by the rule table's implementation (as the evaluators compute it)."""
    try:
        with np.errstate(divide="raise", invalid="raise", over="raise"):
            if rule.has_attr:
                return rule.impl(*values, attr=attr)
            return rule.impl(*values)
    except DOMAIN_ERRORS as exc:
        shown = ", ".join(repr(v) for v in values)
        raise DomainError(f"while tracing, {rule.name}({shown}) at {_call_site()} failed: "
                          f"{exc or type(exc).__name__}. The operation {rule.name!r} is not defined there."
                          ) from None


# ---- tracing -----------------------------------------------------------------------------------------


def trace(fn: Callable, at: Mapping[str, Any] | None = None, /, **values: Any) -> Node:
    """The graph of the path ``fn`` takes at a point: ``trace(fn, x=1.0, y=2.0)`` or ``trace(fn, at)``.

    ``fn`` is called with a tracer for each named argument (by keyword); its ``if``/``while`` use the
    numbers, its arithmetic records nodes. The decisions it took are re-checked whenever the graph is
    evaluated (a :class:`BranchWarning` names a condition that would flip).

    >>> import diffexplore as dx
    >>> def piecewise(x):
    ...     if x < 1:
    ...         return x * x
    ...     return 2 * dx.sqrt(x) - 1
    >>> left, right = dx.trace(piecewise, x=0.5), dx.trace(piecewise, x=4.0)
    >>> print(left, "|", right)
    x*x | 2*sqrt(x) - 1
    >>> dx.grad(left, {"x": 0.5}), dx.grad(right, {"x": 4.0})
    ({'x': 1.0}, {'x': 0.5})
    """
    if not callable(fn):
        raise DiffexploreError(f"trace needs a function, got {type(fn).__name__}")
    given = dict(at or {})
    given.update(values)
    point = as_point(given)
    recording = _Recording(point)
    positional, keywords = _arguments(fn, point, recording)
    result = fn(*positional, **keywords)
    root = _result_node(fn, result)
    _attach_guard(root, recording)
    return root


def _arguments(fn: Callable, point: dict, recording: _Recording) -> tuple[list, dict]:
    """A tracer for each value, matched to ``fn``'s parameters (errors name the parameters)."""
    def tracer(name):
        value = point[name]
        return Tracer(variable(name, np.shape(value)), value, recording)

    name = getattr(fn, "__name__", "the function")
    try:
        parameters = inspect.signature(fn).parameters.values()
    except (TypeError, ValueError):       # no signature (a builtin): pass every value by keyword
        return [], {n: tracer(n) for n in point}
    takes_any = any(p.kind is p.VAR_KEYWORD for p in parameters)
    named = [p for p in parameters if p.kind not in (p.VAR_POSITIONAL, p.VAR_KEYWORD)]
    missing = [p.name for p in named if p.default is p.empty and p.name not in point]
    if missing:
        raise DiffexploreError(
            f"{name}() needs a value for {', '.join(missing)}: give it, e.g. "
            f"trace({name}, {missing[0]}=1.0) (on the command line --at {missing[0]}=1)")
    known = {p.name for p in named}
    extra = [n for n in point if n not in known]
    if extra and not takes_any:
        raise DiffexploreError(f"{name}() has no parameter {', '.join(map(repr, extra))}; "
                               f"its parameters: {', '.join(p.name for p in named) or 'none'}")
    positional_only = [p.name for p in named if p.kind is p.POSITIONAL_ONLY]
    positional = [tracer(n) for n in positional_only if n in point]
    keywords = {n: tracer(n) for n in point if n not in positional_only}
    return positional, keywords


def _result_node(fn: Callable, result: Any) -> Node:
    if isinstance(result, Tracer):
        return result.node
    if isinstance(result, Node):
        return result
    if isinstance(result, (int, float, complex, np.number)) and not isinstance(result, bool):
        return constant(result)
    name = getattr(fn, "__name__", "the function")
    raise DiffexploreError(f"{name}() returned {type(result).__name__}; a traced function must return "
                           "one number (computed from its arguments)")


def _attach_guard(root: Node, recording: _Recording) -> None:
    if not recording.decisions:
        guards.pop(root, None)             # this graph (perhaps traced before) depends on no decision
        return
    guard = BranchGuard(root, recording.decisions, recording.point)
    guards[root] = guard
    unverifiable = [d for d in guard.unverifiable if d.op != "float"]   # float() warned already
    if unverifiable:
        listed = "; ".join(d.condition() for d in unverifiable[:3])
        warnings.warn(f"the traced graph does not use every input its decisions depend on ({listed}); "
                      "give those inputs a value too when you evaluate it elsewhere, or the decisions "
                      "on them cannot be checked",
                      TraceWarning, stacklevel=3)


def trace_file(spec: str, point: Mapping[str, Any]) -> Node:
    """Trace ``FUNC`` of the Python file ``FILE`` (``spec`` is ``"FILE:FUNC"``) at ``point``.

    Every failure (a bad spec, a missing file or function, an exception in the program) is a
    :class:`~diffexplore.errors.DiffexploreError` that says what was wrong.

    >>> trace_file("no_such_file.py:f", {"x": 1.0})
    Traceback (most recent call last):
    ...
    diffexplore.errors.DiffexploreError: --python no_such_file.py:f: there is no file no_such_file.py
    """
    fn = load_python_function(spec)
    try:
        return trace(fn, point)
    except DiffexploreError as exc:
        raise type(exc)(f"--python {spec}: {exc}") from None
    except Exception as exc:
        raise DiffexploreError(f"--python {spec}: tracing {fn.__name__} at {describe_point(point)} "
                               f"failed with {type(exc).__name__}: {exc}") from None


def load_python_function(spec: str) -> Callable:
    """The function ``FUNC`` of ``"FILE:FUNC"``, loading ``FILE`` as a module."""
    path_text, sep, func_name = spec.rpartition(":")
    if not sep or not path_text or not func_name.isidentifier():
        raise DiffexploreError(f"--python expects FILE:FUNC, e.g. examples/dynamic.py:newton_sqrt; "
                               f"got {spec!r}")
    path = Path(path_text)
    if not path.is_file():
        raise DiffexploreError(f"--python {spec}: there is no file {path_text}")
    module_name = "_diffexplore_user_" + re.sub(r"\W", "_", str(path.resolve()))
    module_spec = importlib.util.spec_from_file_location(module_name, path)
    if module_spec is None or module_spec.loader is None:
        raise DiffexploreError(f"--python {spec}: {path_text} cannot be loaded as Python (is it a .py file?)")
    module = importlib.util.module_from_spec(module_spec)
    sys.modules[module_name] = module
    try:
        module_spec.loader.exec_module(module)
    except Exception as exc:
        del sys.modules[module_name]
        raise DiffexploreError(f"--python {spec}: running {path_text} failed with "
                               f"{type(exc).__name__}: {exc}") from None
    fn = getattr(module, func_name, None)
    if not callable(fn):
        functions = sorted(n for n, v in vars(module).items()
                           if inspect.isfunction(v) and v.__module__ == module_name and not n.startswith("_"))
        raise DiffexploreError(f"--python {spec}: {path_text} defines no function {func_name!r}; "
                               f"its functions: {', '.join(functions) or 'none'}")
    return fn

