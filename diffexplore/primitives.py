"""Build: user-defined primitives with their own derivative rules, and the gradient checker.

:func:`primitive` turns a numeric function and its partial(s) into a rule-table entry through the same
door the built-in primitives use (:func:`diffexplore.rules.define`). The partials have the built-in form,
``partial(*args, out) -> ∂out/∂arg_i``, written with diffexplore's functions (``dx.exp``, operators), so
one rule gives numbers in forward and reverse mode and derivative graphs in :func:`diffexplore.diff`.
The new operation is an opaque function node everywhere else: ``to_sympy`` gives an undefined SymPy
``Function`` of that name (or the user's ``sympy=`` mapping), drawings show its ``label``, and formula
strings may call it by name.

:func:`check_grads` compares forward, reverse and symbolic derivatives (first and second order) against
finite differences of the function's values, and on a mismatch finds the primitive whose rule is wrong by
checking each node's partials against finite differences of that primitive's own implementation.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from .derivatives import grad, hessian
from .errors import DiffexploreError, RuleError
from .evaluate import evaluate, forward
from .graph import PRIMITIVES, Node, free_variables, nodes, variable
from .inputs import as_graph, as_point
from .numeric import EPS, default_step, numeric
from .rules import FUNCTIONS, define

__all__ = ["primitive", "check_grads", "GradCheck", "GradientCheckError"]


def primitive(fn: Callable | None = None, /, *, partials: Sequence[Callable | None] | Callable | None = None,
              name: str | None = None, sympy: Any = None, numpy: Any = None, latex: str | None = None,
              label: str | None = None, public: bool = True, jax: Any = None, torch: Any = None) -> Callable:
    """Declare a new primitive from a numeric function and its partial derivative(s).

    ``partials[i](*args, out)`` is ∂out/∂arg_i (one callable may stand for the only partial); write it
    with diffexplore's functions so it works on numbers and on graph nodes. ``sympy`` maps it to SymPy
    as the rule table does (a SymPy function name, or ``callable(sympy_module, *args)``); by default it
    becomes an undefined SymPy function of the primitive's name. ``numpy`` is the NumPy ufunc that is
    this primitive (a traced program's ``np.xxx(t)`` then records it), ``latex`` its name in LaTeX trace
    tables, ``label`` its drawing label; ``public`` lets formula strings call it. ``jax`` and ``torch``
    are its forms in those frameworks (a function name in ``jax.numpy``/``torch``, or
    ``callable(framework_module, *args)``), used by ``dx.to_jax``/``dx.to_torch``; without them the exports
    wrap its NumPy implementation and its partials (a host round trip, see the README). Without ``partials``
    every derivative that reaches the primitive raises a :class:`~diffexplore.errors.RuleError` naming
    it. Declaring a name again replaces an earlier user primitive (built-in names are refused).

    >>> import math
    >>> import diffexplore as dx
    >>> @dx.primitive(partials=[lambda x, out: dx.sigmoid(x)], label="softplus")
    ... def softplus(x):
    ...     return math.log1p(math.exp(-abs(x))) + max(x, 0.0)
    >>> round(softplus(0.0), 12)                  # numbers in, number out
    0.69314718056
    >>> x = dx.variable("x")
    >>> print(dx.diff(softplus(3 * x), "x"))      # nodes in, node out; the derivative uses the rule
    sigmoid(3*x)*3
    """
    if fn is None:
        return lambda function: primitive(function, partials=partials, name=name, sympy=sympy,
                                          numpy=numpy, latex=latex, label=label, public=public, jax=jax,
                                          torch=torch)
    if not callable(fn):
        raise DiffexploreError(f"dx.primitive needs a function, got {type(fn).__name__}")
    name = name or fn.__name__
    if not name.isidentifier():
        raise DiffexploreError(f"a primitive's name must be an identifier, got {name!r}; pass name=...")
    arity = _arity(fn, name)
    if callable(partials):
        partials = [partials]
    if partials is None:
        partials = [_missing_partial(name, i) for i in range(arity)]
    elif len(partials) != arity:
        raise DiffexploreError(f"primitive {name!r} takes {arity} argument(s), so it needs {arity} "
                               f"partial(s); got {len(partials)}")
    existing = PRIMITIVES.get(name)
    if existing is not None:
        if not existing.user_defined:
            raise DiffexploreError(f"{name!r} is a built-in primitive; give your primitive another name "
                                   "(name=...)")
        del PRIMITIVES[name]                    # a redefinition (a re-run cell, a reloaded file)
        FUNCTIONS.pop(name, None)
    function = define(name, arity, _numeric(fn), list(partials), public=public, sympy=sympy, numpy=numpy,
                      latex=latex, label=label, user_defined=True, checked=True, jax=jax, torch=torch,
                      doc=fn.__doc__ or f"The user primitive ``{name}``.")
    function.__wrapped__ = fn
    function.__module__ = getattr(fn, "__module__", function.__module__)
    return function


def _arity(fn: Callable, name: str) -> int:
    try:
        parameters = inspect.signature(fn).parameters.values()
    except (TypeError, ValueError):
        raise DiffexploreError(f"cannot read the arguments of {name!r}; wrap it in a def with named "
                               "arguments") from None
    positional = [p for p in parameters if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)
                  and p.default is p.empty]
    if not positional or any(p.kind is p.VAR_POSITIONAL for p in parameters):
        raise DiffexploreError(f"primitive {name!r} must take a fixed number (1 or more) of positional "
                               "arguments")
    return len(positional)


def _missing_partial(name: str, position: int) -> Callable:
    def missing(*args):
        raise RuleError(f"the primitive {name!r} has no derivative rule, so nothing can be differentiated "
                        f"through it (argument {position}); declare it with "
                        "dx.primitive(partials=[lambda x, out: ...])")
    missing.missing_rule = True
    return missing


def _numeric(fn: Callable) -> Callable:
    """The implementation: ``fn`` itself, applied element by element when it only takes scalars."""
    def impl(*args):
        try:
            return fn(*args)
        except TypeError:
            if not any(isinstance(a, np.ndarray) for a in args):
                raise
            dtype = np.result_type(*[np.asarray(a).dtype for a in args], np.float64)
            return np.vectorize(fn, otypes=[dtype])(*args)
    return impl


# ---- the gradient checker ------------------------------------------------------------------------------

MODES = ("forward", "reverse", "symbolic")
_HESSIAN_METHODS = {"forward": "forward-over-reverse", "reverse": "reverse-over-reverse",
                    "symbolic": "symbolic"}


class GradientCheckError(DiffexploreError, AssertionError):
    """A derivative disagrees with finite differences (names the primitive, the argument and both numbers)."""


@dataclass
class GradCheck:
    """A passed check: the finite-difference reference and each mode's largest absolute difference."""

    point: dict
    order: int
    reference: dict                       # {"x": ∂f/∂x, ...} by central differences
    errors: dict = field(default_factory=dict)   # {("forward", 1): max |difference|, ...}

    def __str__(self) -> str:
        worst = ", ".join(f"{mode} order {k}: {e:.2g}" for (mode, k), e in self.errors.items())
        return f"gradient check passed at {self.point} (largest differences: {worst})"

    def __repr__(self) -> str:
        from .render.displays import check_text
        return check_text(self)


def check_grads(f: Node | Callable | str, at: Mapping[str, Any] | Sequence[float] | float,
                modes: Sequence[str] = ("forward", "reverse"), order: int = 1,
                rtol: float | None = None, atol: float | None = None) -> GradCheck:
    """Check derivatives against central finite differences; raise :class:`GradientCheckError` naming the
    primitive, argument and both numbers at the first wrong rule.

    ``f`` is a graph, a formula string, a primitive (``at`` then gives its arguments: a number, a
    sequence or a mapping by parameter name) or a Python function (traced at ``at``). ``modes`` are any
    of ``forward``, ``reverse``, ``symbolic``; ``order=2`` also checks the Hessian (forward-over-reverse,
    reverse-over-reverse, symbolic) against second differences. Tolerances compare
    ``|rule - difference| <= atol + rtol·|difference|``; defaults 1e-6 and 1e-6·max(1, |f|) for order 1,
    1e-4 and 1e-4·max(1, |f|) for order 2 (finite differences are that accurate here).

    >>> import diffexplore as dx
    >>> str(check_grads("x * sin(y)", {"x": 1.0, "y": 2.0}, order=2)).startswith("gradient check passed")
    True
    """
    graph, point = _as_graph(f, at)
    unknown = [m for m in modes if m not in MODES]
    if unknown or not modes:
        raise DiffexploreError(f"unknown mode(s) {unknown}; modes: {', '.join(MODES)}")
    if order not in (1, 2):
        raise DiffexploreError(f"order must be 1 or 2, got {order}")
    names = [v.name for v in free_variables(graph)]
    scale = max(1.0, float(np.max(np.abs(evaluate(graph, point)))))
    reference = numeric(graph, point, scheme="central")
    result = GradCheck(point=point, order=order, reference=reference)
    tolerance = (1e-6 if rtol is None else rtol, 1e-6 * scale if atol is None else atol)
    for mode in modes:
        got = _gradient(graph, point, mode)
        worst = 0.0
        for name in names:
            if not _close(got[name], reference[name], *tolerance):
                raise GradientCheckError(_explain(graph, point, mode, name, got[name], reference[name],
                                                  tolerance))
            worst = max(worst, float(np.max(np.abs(np.subtract(got[name], reference[name])))))
        result.errors[(mode, 1)] = worst
    if order == 2:
        tolerance = (1e-4 if rtol is None else rtol, 1e-4 * scale if atol is None else atol)
        want = second_differences(graph, point, names)
        for mode in modes:
            got = _hessian(graph, point, mode, names)
            for (i, j), value in np.ndenumerate(got):
                if not _close(value, want[i, j], *tolerance):
                    raise GradientCheckError(
                        f"check_grads, mode {mode!r} order 2: ∂²f/∂{names[i]}∂{names[j]} is {value!r} but "
                        f"second differences give {want[i, j]!r} at {_point_text(point)}. "
                        + _second_order_hint(graph, point))
            result.errors[(mode, 2)] = float(np.max(np.abs(got - want))) if got.size else 0.0
    return result


def _as_graph(f: Any, at: Any) -> tuple[Node, dict]:
    if isinstance(f, Node):
        return f, as_point(at)
    if isinstance(f, str) or hasattr(f, "__dx_graph__"):
        return as_graph(f), as_point(at)
    rule = getattr(f, "rule", None)
    if rule is not None:                                  # a primitive: f(x0, x1, ...) at its arguments
        parameters = _parameter_names(f, rule)
        if isinstance(at, Mapping):
            point = as_point(at)
        else:
            values = [at] if np.ndim(at) == 0 else list(at)
            if len(values) != rule.arity:
                raise DiffexploreError(f"{rule.name} takes {rule.arity} argument(s); at gives {len(values)}")
            point = as_point(dict(zip(parameters, values, strict=True)))
        return f(*[variable(p) for p in parameters]), point
    if callable(f):
        from .trace import trace
        point = as_point(at)
        return trace(f, point), point
    raise DiffexploreError(f"check_grads checks a graph, a formula, a primitive or a Python function; got "
                           f"{type(f).__name__}")


def _parameter_names(f: Callable, rule) -> list[str]:
    wrapped = getattr(f, "__wrapped__", None)
    if wrapped is not None:
        names = [p.name for p in inspect.signature(wrapped).parameters.values()][: rule.arity]
        if len(names) == rule.arity and len(set(names)) == len(names):
            return names
    return [f"a{i}" for i in range(rule.arity)]


def _close(got: Any, want: Any, rtol: float, atol: float) -> bool:
    return bool(np.all(np.abs(np.subtract(got, want)) <= atol + rtol * np.abs(want)))


def _gradient(graph: Node, point: dict, mode: str) -> dict:
    try:
        return grad(graph, point, method=mode)
    except RuleError as exc:          # e.g. a partial that only works on numbers, met by the symbolic mode
        culprit = _partials_rejecting_nodes(graph)
        if culprit:
            raise GradientCheckError(culprit) from exc
        raise


def _hessian(graph: Node, point: dict, mode: str, names: list[str]) -> np.ndarray:
    try:
        return hessian(graph, point, method=_HESSIAN_METHODS[mode], wrt=names)
    except RuleError as exc:
        culprit = _partials_rejecting_nodes(graph)
        if culprit:
            raise GradientCheckError(culprit) from exc
        raise


def second_differences(graph: Node, point: dict, names: list[str]) -> np.ndarray:
    """The Hessian by central second differences of f's values, step ε^(1/4)·max(1, |x|) (error ~1e-8).

    >>> import diffexplore as dx
    >>> h = second_differences(dx.parse("x**3 * y"), {"x": 1.0, "y": 2.0}, ["x", "y"])
    >>> np.round(h, 6).tolist()
    [[12.0, 3.0], [3.0, 0.0]]
    """
    steps = {}
    for name in names:
        x0 = point[name]
        h = EPS ** 0.25 * max(1.0, abs(x0))
        steps[name] = (x0 + h) - x0

    def at(**shifts):
        shifted = dict(point)
        for name, delta in shifts.items():
            shifted[name] = point[name] + delta
        return evaluate(graph, shifted)

    out = np.zeros((len(names), len(names)))
    center = evaluate(graph, point)
    for i, a in enumerate(names):
        ha = steps[a]
        out[i, i] = (at(**{a: ha}) - 2 * center + at(**{a: -ha})) / (ha * ha)
        for j in range(i):
            b = names[j]
            hb = steps[b]
            mixed = (at(**{a: ha, b: hb}) - at(**{a: ha, b: -hb})
                     - at(**{a: -ha, b: hb}) + at(**{a: -ha, b: -hb})) / (4 * ha * hb)
            out[i, j] = out[j, i] = mixed
    return out


# ---- finding the wrong rule ------------------------------------------------------------------------------


def _explain(graph: Node, point: dict, mode: str, name: str, got: Any, want: Any, tolerance) -> str:
    head = (f"check_grads, mode {mode!r}: ∂f/∂{name} is {got!r} but central differences give {want!r} "
            f"at {_point_text(point)}.")
    wrong = wrong_rules(graph, point, *tolerance)
    if not wrong:
        return head + " No single primitive's partial disagrees with its own finite difference here."
    node, position, rule_value, difference = wrong[0]
    args = ", ".join(f"{v:.6g}" for v in _argument_values(graph, point, node))
    more = f" ({len(wrong) - 1} more node(s) disagree)" if len(wrong) > 1 else ""
    return (f"{head} The rule of primitive {node.op!r}, argument {position}, gives {rule_value!r} at "
            f"{node.op}({args}), but a finite difference of its function gives {difference!r}{more}.")


def wrong_rules(graph: Node, point: Mapping[str, Any], rtol: float = 1e-6,
                atol: float = 1e-6) -> list[tuple[Node, int, float, float]]:
    """Every (node, argument, rule's partial, finite difference of the primitive's function) that disagree,
    user primitives first; nodes sitting on a kink (one-sided differences disagree) are skipped.

    >>> import diffexplore as dx
    >>> bad = dx.primitive(lambda x: x ** 3, name="cube_wrong", partials=[lambda x, out: 2 * x ** 2])
    >>> found = wrong_rules(bad(dx.variable("x")), {"x": 1.0})
    >>> [(n.op, pos, rule, round(fd, 6)) for n, pos, rule, fd in found]
    [('cube_wrong', 0, 2.0, 3.0)]
    """
    primals = forward(graph, point, seed={}).primals
    wrong = []
    for node in nodes(graph):
        rule = node.rule
        if not node.args or not rule.elementwise or rule.partials is None:
            continue
        args = [primals[a] for a in node.args]
        if any(np.ndim(a) or isinstance(a, complex) for a in args):
            continue
        for position, partial in enumerate(rule.partials):
            if getattr(partial, "missing_rule", False):
                continue
            rule_value = 0.0 if partial is None else float(partial(*args, primals[node]))
            difference = _local_difference(rule.impl, args, position, atol)
            if difference is not None and not _close(rule_value, difference, rtol, atol):
                wrong.append((node, position, rule_value, difference))
    wrong.sort(key=lambda item: not item[0].rule.user_defined)
    return wrong


def _local_difference(impl: Callable, args: list, position: int, atol: float) -> float | None:
    """Central difference of one primitive in one argument; None at a kink (one-sided ones disagree)."""
    x0 = args[position]
    h = default_step("central", x0)
    h = (x0 + h) - x0

    def at(delta):
        shifted = list(args)
        shifted[position] = x0 + delta
        return float(impl(*shifted))

    try:
        center, up, down = at(0.0), at(h), at(-h)
    except (ValueError, ZeroDivisionError, OverflowError, TypeError):
        return None
    forward_slope, backward_slope = (up - center) / h, (center - down) / h
    if abs(forward_slope - backward_slope) > 1e-3 * (1.0 + abs(forward_slope)):
        return None                                       # a kink: no derivative to compare with
    return (up - down) / (2 * h)


def _argument_values(graph: Node, point: dict, node: Node) -> list:
    primals = forward(graph, point, seed={}).primals
    return [primals[a] for a in node.args]


def _partials_rejecting_nodes(graph: Node) -> str | None:
    """The first user primitive whose partial fails on graph nodes (it was written with math.*)."""
    for node in nodes(graph):
        rule = node.rule
        if not rule.user_defined or rule.partials is None:
            continue
        for position, partial in enumerate(rule.partials):
            if partial is None or getattr(partial, "missing_rule", False):
                continue
            try:
                partial(*node.args, node)
            except RuleError as exc:
                return (f"the partial of primitive {rule.name!r}, argument {position}, works on numbers "
                        f"but not on graph nodes ({exc}); write it with diffexplore's functions "
                        "(dx.exp, dx.sin, operators) so symbolic differentiation can use it")
    return None


def _second_order_hint(graph: Node, point: dict) -> str:
    """Why first derivatives can pass while second ones fail: a partial that is right as a number but
    builds a different graph on nodes (for example one that branches on its argument)."""
    primals = forward(graph, point, seed={}).primals
    for node in nodes(graph):
        rule = node.rule
        if not rule.user_defined or rule.partials is None:
            continue
        for position, partial in enumerate(rule.partials):
            if partial is None or getattr(partial, "missing_rule", False):
                continue
            as_number = partial(*[primals[a] for a in node.args], primals[node])
            as_graph = evaluate(partial(*node.args, node), point)
            if not _close(as_graph, as_number, 1e-9, 1e-12):
                return (f"The partial of primitive {rule.name!r}, argument {position}, gives {as_number!r} "
                        f"on numbers but its graph evaluates to {as_graph!r}.")
    return "Every partial is consistent on numbers and nodes; the second derivative of a rule may be wrong."


def _point_text(point: Mapping[str, Any]) -> str:
    return ", ".join(f"{k}={v:.6g}" if isinstance(v, float) else f"{k}={v!r}" for k, v in point.items())
