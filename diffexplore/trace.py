"""Build: ordinary Python functions to graphs, by running them on tracing values.

:func:`trace` calls a Python function with a :class:`Tracer` in place of each argument. A tracer carries
two things: the graph node that computes it and its number at the trace point. Arithmetic and the
library's functions record nodes (and compute the numbers with the same rule-table implementations the
evaluators use); the truth of a comparison (``if``, ``while``), ``int`` and ``float`` use the numbers,
so the program runs exactly as it would on floats. The result is the graph of the path the program
actually took, a plain :class:`~diffexplore.graph.Node` that every evaluator, differentiator and drawing
accepts.

That graph is only valid on its own path. Every decision the program took from a number is recorded as
a :class:`Decision` (``left op right`` came out ``outcome``) and kept beside the graph, in
:data:`diffexplore.plan.guards` (:mod:`diffexplore.branches`): after each primal sweep of the graph the
decisions are re-checked on the new values, and a :class:`BranchWarning` names the condition and the
point where one would flip.

Conventions (README, "Programs with branches and loops"):

- A comparison (``t > 0``, ``np.less(a, b)``) is a :class:`Comparison`: a node of the rule table's
  comparison (1.0/0.0, derivative zero). Used as a number (``np.where(t > 0, t, 0)``, ``(t > 0) * t``)
  it stays a node and the graph is valid on both sides; asked for its truth (``if``, ``while``, ``and``,
  ``bool``) it answers from the numbers and the answer is recorded as a decision.
- Python's ``max(a, b)`` and ``min(a, b)`` compare, so on tracers they are branches (recorded
  decisions); a tie keeps the first argument, as ``dx.maximum`` does. ``dx.maximum``, ``dx.relu`` and
  ``dx.abs`` are primitives, valid on both sides of their kink (subgradients: relu'(0) = abs'(0) = 0).
- ``abs(t)`` of a tracer is the ``abs`` primitive (no decision): its graph is valid everywhere.
- ``int(t)``, ``round(t)``, ``math.floor(t)`` record that the integer part stays the same.
- ``float(t)`` (and so ``math.exp(t)`` and other :mod:`math` functions) turns a tracer into a plain number:
  the derivative stops there. It is recorded and warned about (:class:`TraceWarning`).
- NumPy on tracers: ufuncs (``np.exp(t)``) and array functions (``np.where``) map to the rule table by
  each primitive's ``numpy`` facet where one primitive is the function; compositions (``np.clip``,
  ``np.dot``, ``np.einsum``, ``np.mean(axis=, keepdims=)``...) come from the one lowering table,
  :mod:`diffexplore.numpy_lowering`. ``@``, indexing (``take``) and the ndarray methods (``.sum()``,
  ``.T``, ``.reshape()``...) work as on arrays. A NumPy function with neither is an error that says how
  to define it.
- An array value gives an array variable; ``trace(f, batch=True, x=array)`` gives scalar variables
  evaluated over a batch of points (a decision must then come out the same at every point).
- A call of JAX or PyTorch that rejects a tracer is an error naming the call and the import that takes
  such code (``dx.from_jax`` / ``dx.from_torch``): :func:`foreign_rejection`.
"""

from __future__ import annotations

import importlib.util
import inspect
import linecache
import math
import re
import sys
import warnings
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import numpy as np

from .arrays import take
from .branches import (
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
from .numpy_lowering import LOWERINGS, numpy_name
from .plan import guards
from .rules import facet_index

__all__ = ["trace", "trace_file", "Tracer", "Comparison", "foreign_rejection", "Decision", "BranchGuard",
           "BranchWarning", "TraceWarning", "branch_decisions"]


class _Recording:
    """The state of one trace: the point, and the decisions in the order the program took them."""

    def __init__(self, point: dict[str, Any], batch: bool = False):
        self.point = point
        self.batch = batch
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

    # ---- comparisons are nodes; decisions use the numbers and are recorded -----------------------------
    def _compare(self, op: str, other: Any) -> Any:
        """``self op other`` as a :class:`Comparison`: a node of the rule table's comparison (1.0 where it
        holds, derivative zero), which records a decision only when the program asks for its truth."""
        if not isinstance(other, (Tracer, Node, *_NUMBER_TYPES)):
            return NotImplemented
        result = self.__dx_apply__(PRIMITIVES[_COMPARISON_RULES[op]], (self, other), None)
        return Comparison(result.node, result.value, self.recording, self.node, op, result.node.args[1])

    def __lt__(self, other): return self._compare("<", other)
    def __le__(self, other): return self._compare("<=", other)
    def __gt__(self, other): return self._compare(">", other)
    def __ge__(self, other): return self._compare(">=", other)
    def __eq__(self, other): return self._compare("==", other)
    def __ne__(self, other): return self._compare("!=", other)

    def __bool__(self) -> bool:
        return bool(self._compare("!=", 0.0))

    def _one_outcome(self, outcome: Any, what: str) -> Any:
        """The single outcome of a decision: a number, or the same answer at every point of a batch."""
        if np.size(outcome) == 1:
            return np.asarray(outcome).reshape(()).item()
        outcome = np.asarray(outcome)
        if not self.recording.batch:
            raise DiffexploreError(
                f"{what} on array values, used as a truth value (if, while, and, or, int), is ambiguous; "
                "select with np.where(condition, a, b) (valid on both sides), or trace with batch=True "
                "to evaluate scalar variables over a batch of points")
        first = outcome.flat[0]
        if not np.all(outcome == first):
            differs = int(np.count_nonzero(outcome != first))
            raise DiffexploreError(
                f"the points of the batch take different paths at {what} ({differs} of {outcome.size} "
                "points differ from the first); trace them one at a time, or select with np.where")
        return first.item()

    def _integer_part(self, op: str) -> int:
        result = int(self._one_outcome(INTEGER_PARTS[op](np.real(self.value)),
                                       f"{op}({formula(self.node, max_length=40)})"))
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

    # ---- arrays: the matrix product, indexing, the ndarray methods ---------------------------------------
    def __matmul__(self, other):
        if not isinstance(other, (Tracer, Node, *_NUMBER_TYPES)):
            return NotImplemented
        return self.__dx_apply__(PRIMITIVES["matmul"], (self, other), None)

    def __rmatmul__(self, other):
        if not isinstance(other, (Tracer, Node, *_NUMBER_TYPES)):
            return NotImplemented
        return self.__dx_apply__(PRIMITIVES["matmul"], (other, self), None)

    def __and__(self, other): return LOWERINGS[np.logical_and](self, other)
    def __rand__(self, other): return LOWERINGS[np.logical_and](other, self)
    def __or__(self, other): return LOWERINGS[np.logical_or](self, other)
    def __ror__(self, other): return LOWERINGS[np.logical_or](other, self)
    def __invert__(self): return LOWERINGS[np.logical_not](self)

    @property
    def ndim(self) -> int:
        return len(self.node.shape)

    @property
    def size(self) -> int:
        return math.prod(self.node.shape)

    @property
    def dtype(self) -> np.dtype:
        return np.result_type(self.value)

    def __len__(self) -> int:
        if not self.node.shape:
            raise TypeError(f"len() of the scalar traced value {formula(self.node, max_length=40)}")
        return self.node.shape[0]

    def __iter__(self):
        return (self[i] for i in range(len(self)))

    def __getitem__(self, index: Any) -> Tracer:
        items = index if isinstance(index, tuple) else (index,)
        for item in items:
            listed = item if isinstance(item, list) else [item]
            if any(isinstance(i, Tracer) for i in listed):
                raise DiffexploreError(
                    f"the index {item!r} of {formula(self.node, max_length=40)} is computed from traced "
                    "values; an index is not differentiable: use int(...) (recorded as a decision) for a "
                    "position, or np.where(condition, a, b) instead of a boolean mask")
        return take(self, index)

    def __setitem__(self, index: Any, value: Any) -> None:
        raise DiffexploreError(
            "a traced value cannot be changed in place (t[...] = v); build the new array instead, with "
            "np.where(mask, v, t) or np.concatenate([...])")

    def __array__(self, dtype: Any = None, copy: Any = None) -> np.ndarray:
        raise DiffexploreError(
            f"np.array/np.asarray of the traced value {formula(self.node, max_length=40)} would turn it into "
            "numbers and lose its graph; a traced value works as an array already (drop the conversion), "
            "and np.stack([...]) joins a list of traced values")

    @property
    def T(self) -> Tracer:
        """The transpose (axes reversed), as ``ndarray.T``."""
        return LOWERINGS[np.transpose](self)

    def transpose(self, *axes: Any) -> Tracer:
        if len(axes) == 1 and (axes[0] is None or not isinstance(axes[0], (int, np.integer))):
            axes = axes[0]
        return LOWERINGS[np.transpose](self, axes or None)

    def reshape(self, *shape: Any, order: str = "C") -> Tracer:
        if len(shape) == 1 and not isinstance(shape[0], (int, np.integer)):
            shape = shape[0]
        return LOWERINGS[np.reshape](self, shape, order=order)

    def sum(self, axis: Any = None, dtype: Any = None, out: Any = None, keepdims: bool = False) -> Tracer:
        return LOWERINGS[np.sum](self, axis=axis, dtype=dtype, out=out, keepdims=keepdims)

    def mean(self, axis: Any = None, dtype: Any = None, out: Any = None, keepdims: bool = False) -> Tracer:
        return LOWERINGS[np.mean](self, axis=axis, dtype=dtype, out=out, keepdims=keepdims)

    def prod(self, axis: Any = None, dtype: Any = None, out: Any = None, keepdims: bool = False) -> Tracer:
        return LOWERINGS[np.prod](self, axis=axis, dtype=dtype, out=out, keepdims=keepdims)

    def max(self, axis: Any = None, out: Any = None, keepdims: bool = False) -> Tracer:
        return LOWERINGS[np.max](self, axis=axis, out=out, keepdims=keepdims)

    def min(self, axis: Any = None, out: Any = None, keepdims: bool = False) -> Tracer:
        return LOWERINGS[np.min](self, axis=axis, out=out, keepdims=keepdims)

    def dot(self, other: Any) -> Tracer:
        return LOWERINGS[np.dot](self, other)

    def clip(self, min: Any = None, max: Any = None) -> Tracer:
        return LOWERINGS[np.clip](self, min, max)

    def squeeze(self, axis: Any = None) -> Tracer:
        return LOWERINGS[np.squeeze](self, axis)

    def ravel(self, order: str = "C") -> Tracer:
        return LOWERINGS[np.ravel](self, order)

    flatten = ravel

    def copy(self) -> Tracer:
        return self

    def astype(self, dtype: Any, **options: Any) -> Tracer:
        if np.dtype(dtype).kind not in "fc":
            raise DiffexploreError(f"astype({np.dtype(dtype)}) of a traced value: the derivative does not "
                                   "flow through integers or booleans; use int(t) for a decision")
        return self

    # ---- NumPy functions map to the rule table, or to the lowering table --------------------------------
    def __array_ufunc__(self, ufunc, method, *inputs, **kwargs):
        name = ufunc.__name__
        if method == "reduce" and name in _UFUNC_REDUCTIONS:
            reduction = LOWERINGS[_UFUNC_REDUCTIONS[name]]
            axis = kwargs.pop("axis", 0) if len(inputs) < 2 else inputs[1]
            return reduction(inputs[0], axis=axis, **kwargs)
        if method != "__call__":
            raise DiffexploreError(f"np.{name}.{method} is not supported on traced values; np.{name}(...) "
                                   "and the reductions np.sum/np.prod/np.max/np.min are")
        if name in _UFUNCCOMPARISONS and not kwargs:
            left, right = inputs
            op = _UFUNCCOMPARISONS[name]
            if isinstance(left, Tracer):
                return left._compare(op, right)
            return right._compare(MIRRORED[op], left)
        if ufunc is np.positive:
            return inputs[0]
        rule = _numpy_primitives().get(ufunc)
        if rule is not None and not kwargs:
            return self.__dx_apply__(rule, inputs, None)
        lowering = LOWERINGS.get(ufunc)
        if lowering is not None:
            return lowering(*inputs, **kwargs)
        if rule is not None:
            raise DiffexploreError(f"np.{name}(..., {', '.join(f'{k}=' for k in kwargs)}): options are not "
                                   f"supported on traced values; call np.{name} with its arguments only")
        raise _no_rule(ufunc, ufunc.nin)

    def __array_function__(self, func, types, args, kwargs):
        rule = _numpy_primitives().get(func)
        if rule is not None and not kwargs and len(args) == rule.arity:
            return self.__dx_apply__(rule, args, None)
        lowering = LOWERINGS.get(func)
        if lowering is not None:
            return lowering(*args, **kwargs)
        if rule is not None:
            raise DiffexploreError(f"{numpy_name(func)} on traced values takes {rule.arity} argument(s) "
                                   f"(the primitive {rule.name}) and no options; got {len(args)} and "
                                   f"{sorted(kwargs) or 'none'}")
        raise _no_rule(func, None)


class Comparison(Tracer):
    """A comparison of traced values (``t > 0``, ``np.less(a, b)``): a node of the rule table's
    comparison (1.0 where it holds, else 0.0; derivative zero), so it selects in ``np.where`` and
    multiplies like a number, and the graph stays valid on both sides. Only when the program asks for
    its truth (``if``, ``while``, ``and``, ``bool``) is the answer taken from the numbers and recorded
    as a decision.

    >>> import diffexplore as dx
    >>> print(dx.trace(lambda x: np.where(x > 0, x, 0.1 * x), x=-2.0))       # a node: valid everywhere
    select(greater(x, 0), x, 0.1*x)
    >>> print(dx.trace(lambda x: x if x > 0 else 0.1 * x, x=-2.0))           # a decision: x > 0 is False
    0.1*x
    """

    __slots__ = ("left", "op", "right")

    def __init__(self, node: Node, value: Any, recording: _Recording, left: Node, op: str, right: Node):
        super().__init__(node, value, recording)
        self.left, self.op, self.right = left, op, right

    def __bool__(self) -> bool:
        outcome = bool(self._one_outcome(np.not_equal(self.value, 0.0),
                                         Decision(self.left, self.op, self.right, None, "").condition()))
        self.recording.record(Decision(self.left, self.op, self.right, outcome, _call_site()))
        return outcome


def _no_rule(function: Any, arity: int | None) -> DiffexploreError:
    """The error for a NumPy function with no primitive and no lowering: its name, and how to add it."""
    written = numpy_name(function)
    name = getattr(function, "__name__", "f")
    return DiffexploreError(
        f"{written} has no rule in diffexplore's rule table, so a traced program cannot call it; "
        f"add it with dx.define({name!r}, {arity if arity is not None else 'arity'}, impl, partials, "
        f"numpy={written}) or @dx.primitive(partials=[...], numpy={written}), or write it with the NumPy "
        "functions diffexplore follows (README, \"Bring your own function\")")


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
_COMPARISON_RULES = {op: name for name, op in _UFUNCCOMPARISONS.items()}
_UFUNC_REDUCTIONS = {"add": np.sum, "multiply": np.prod, "maximum": np.max, "minimum": np.min}


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


def trace(fn: Callable, at: Mapping[str, Any] | None = None, /, *, batch: bool = False,
          **values: Any) -> Node:
    """The graph of the path ``fn`` takes at a point: ``trace(fn, x=1.0, y=2.0)`` or ``trace(fn, at)``.

    ``fn`` is called with a tracer for each named argument (by keyword); its ``if``/``while`` use the
    numbers, its arithmetic records nodes. The decisions it took are re-checked whenever the graph is
    evaluated (a :class:`BranchWarning` names a condition that would flip). An array value gives an
    array variable; with ``batch=True`` every variable is a scalar and the arrays are batches of points
    (``grad`` then gives one gradient per point; a decision must come out the same at every point).

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
    >>> dx.grad(dx.trace(lambda x: x ** 3, batch=True, x=[1.0, 2.0]), {"x": [1.0, 2.0]})["x"]
    array([ 3., 12.])
    """
    if not callable(fn):
        raise DiffexploreError(f"trace needs a function, got {type(fn).__name__}")
    given = dict(at or {})
    given.update(values)
    point = as_point(given)
    if batch:
        _check_batch(point)
    recording = _Recording(point, batch=bool(batch))
    positional, keywords = _arguments(fn, point, recording)
    try:
        result = fn(*positional, **keywords)
    except DiffexploreError:
        raise
    except Exception as exc:
        message = foreign_rejection(fn, point, exc)
        if message is None:
            raise
        raise DiffexploreError(message) from exc
    root = _result_node(fn, result)
    _attach_guard(root, recording)
    return root


def _check_batch(point: dict) -> None:
    """The values of a batch trace broadcast together (each point of the batch has every value)."""
    try:
        np.broadcast_shapes(*(np.shape(v) for v in point.values()))
    except ValueError:
        shapes = ", ".join(f"{name}: {np.shape(v)}" for name, v in point.items())
        raise DiffexploreError(f"trace(batch=True): the batches of values do not broadcast together "
                               f"({shapes}); give each variable one value per point") from None


def _arguments(fn: Callable, point: dict, recording: _Recording) -> tuple[list, dict]:
    """A tracer for each value, matched to ``fn``'s parameters (errors name the parameters)."""
    def tracer(name):
        value = point[name]
        return Tracer(variable(name, () if recording.batch else np.shape(value)), value, recording)

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
    if isinstance(result, np.ndarray) and result.dtype == object:
        raise DiffexploreError(f"{name}() returned a NumPy array of objects (np.array([...]) of traced "
                               "values, or an array of numbers operated on by them one by one); build it "
                               "with np.stack([...]) instead")
    raise DiffexploreError(f"{name}() returned {type(result).__name__}; a traced function must return "
                           "one number or array (computed from its arguments)")


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


# ---- operations of other frameworks -------------------------------------------------------------------

#: The frameworks whose operations take only their own arrays, and the import that takes their code.
_FRAMEWORKS = {"jax": ("JAX", "dx.from_jax"), "jaxlib": ("JAX", "dx.from_jax"),
               "torch": ("PyTorch", "dx.from_torch")}
_FRAMEWORK_WORDS = (("abstract array", "jax"), ("jax", "jax"), ("must be Tensor", "torch"),
                    ("torch", "torch"))


def foreign_rejection(fn: Callable, point: Mapping[str, Any], exc: BaseException) -> str | None:
    """What to say when an operation of JAX or PyTorch rejected a tracer while ``fn`` was traced (the
    call in the user's code that failed, and the import that takes such code); None for other errors.

    >>> def f(x):
    ...     return x + "a"                # a mistake of the program, not another framework's call
    >>> try:
    ...     trace(f, x=1.0)
    ... except TypeError as exc:
    ...     print(foreign_rejection(f, {"x": 1.0}, exc))
    None
    """
    frames = []
    tb = exc.__traceback__
    while tb is not None:
        frames.append(tb.tb_frame)
        tb = tb.tb_next
    user = [f for f in frames if _frame_root(f) not in _FRAMEWORKS and not _internal(f)]
    framework = next((_frame_root(f) for f in frames if _frame_root(f) in _FRAMEWORKS), None)
    site = user[-1] if user else None
    line = linecache.getline(site.f_code.co_filename, site.f_lineno).strip() if site is not None else ""
    called = _framework_names(line, site) if site is not None else []
    text = str(exc)
    if framework is None and isinstance(exc, TypeError) and "Tracer" in text:
        framework = next((root for word, root in _FRAMEWORK_WORDS if word in text), None)
    if framework is None and called:
        framework = called[0][1]
    if framework is None:
        return None
    called = [(name, root) for name, root in called if _FRAMEWORKS[root] == _FRAMEWORKS[framework]]
    label, route = _FRAMEWORKS[framework]
    failed = re.search(r"<function (\w+)|^(\w+)\(\)", text)
    callee = next((name for name, _root in called
                   if failed and name.rsplit(".", 1)[-1].lower() == (failed[1] or failed[2]).lower()),
                  called[0][0] if called else None)
    where = ""
    if site is not None:
        place = f"{Path(site.f_code.co_filename).name}:{site.f_lineno} in {site.f_code.co_name}"
        shown = f" in `{line}`" if line else ""
        where = f"{callee}{shown} ({place})" if callee else f"the call{shown} ({place})"
    first_line = text.strip().splitlines()[0][:160] if text.strip() else type(exc).__name__
    name = getattr(fn, "__name__", "the function")
    return (f"tracing {name}() at {describe_point(point)}: {where or 'a call'} rejected diffexplore's "
            f"tracing value ({type(exc).__name__}: {first_line}). This is {label} code, which computes on "
            f"its own arrays only: import its graph with {route}({name}, ...example arguments) instead of "
            "dx.trace (dx.trace follows Python, NumPy and dx.* functions)")


def _frame_root(frame: Any) -> str:
    return str(frame.f_globals.get("__name__", "")).split(".")[0]


def _internal(frame: Any) -> bool:
    """A frame of diffexplore itself, NumPy or the standard library (not the user's code)."""
    return _frame_root(frame) in ("diffexplore", "numpy", "importlib", "functools", "contextlib")


def _framework_names(line: str, frame: Any) -> list[tuple[str, str]]:
    """The dotted names in ``line`` that resolve, in ``frame``, to something of JAX or PyTorch
    (``jnp.sin``, ``torch.sin``, an ``nn.Module``), each with its framework; calls in the order they
    run (the one whose argument list closes first runs first), names that are not called last."""
    found = []
    for match in re.finditer(r"[A-Za-z_][\w.]*", line):
        parts = match[0].strip(".").split(".")
        if parts[0] in frame.f_locals:
            value = frame.f_locals[parts[0]]
        elif parts[0] in frame.f_globals:
            value = frame.f_globals[parts[0]]
        else:
            continue
        for part in parts[1:]:
            value = getattr(value, part, None)
        if inspect.ismodule(value):
            continue                    # a module itself is not the call
        module = getattr(value, "__module__", None)
        module = module if isinstance(module, str) else type(value).__module__
        root = module.split(".")[0]
        if root in _FRAMEWORKS:
            found.append((_call_end(line, match.end()), ".".join(parts), root))
    return [(name, root) for _end, name, root in sorted(found)]


def _call_end(line: str, after: int) -> int:
    """Where the argument list opening at ``after`` closes (the line's length if none opens there)."""
    rest = line[after:]
    if not rest.lstrip().startswith("("):
        return len(line)
    depth = 0
    for i in range(after, len(line)):
        depth += {"(": 1, ")": -1}.get(line[i], 0)
        if depth == 0 and line[i] == ")":
            return i
    return len(line)


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

