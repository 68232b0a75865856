"""Build: the callbacks of primitives defined outside the package, checked on every call.

A rule written by a user can return what no sweep expects: a list, a string, an array of the wrong
shape (which NumPy would silently broadcast into a wrong gradient), or raise a ``TypeError`` from deep
inside a sweep. :func:`checked_rule` wraps a rule's partials, vjp and jvp so that each result is a
number, an array or a node of the shape the chain rule needs, and any failure that is not a domain error
becomes a :class:`~diffexplore.errors.RuleError` naming the primitive and the argument. The built-in
rules are trusted (tested against the whole rule table) and run unwrapped: these checks cost a call
each, which the hot loops of the sweeps do not pay for them.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

import numpy as np

from .errors import DOMAIN_ERRORS, DiffexploreError, RuleError
from .graph import Node, shape_of

__all__ = ["checked_impl", "checked_partial", "checked_vjp", "checked_jvp"]


_NUMBER_TYPES = (int, float, complex, np.number)


def _result_shape(name: str, what: str, value: Any, args: tuple = ()) -> tuple:
    """The shape of a rule's result, refusing anything that is not a number (int, float, complex), a
    NumPy array or a node; a node given numbers, or a complex number given real ones, is refused too."""
    if isinstance(value, Node):
        if args and not any(isinstance(a, Node) for a in args):
            raise RuleError(f"the {what} of primitive {name!r} returned a graph node for numbers; given "
                            "numbers, a rule returns a number or an array")
        return value.shape
    if isinstance(value, np.ndarray) and value.dtype.kind in "biufc":
        kind = value.dtype.kind
    elif isinstance(value, _NUMBER_TYPES) and not isinstance(value, (bool, np.bool_)):
        kind = "c" if isinstance(value, (complex, np.complexfloating)) else "f"
    else:
        raise RuleError(f"the {what} of primitive {name!r} returned {type(value).__name__} "
                        f"{_short(value)}; a rule returns a number, a NumPy array or a node")
    if kind == "c" and args and not any(np.iscomplexobj(a) for a in args if not isinstance(a, Node)):
        raise RuleError(f"the {what} of primitive {name!r} returned the complex {_short(value)} for real "
                        "arguments")
    return np.shape(value)


def _short(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def _call(name: str, what: str, rule: Callable, args: tuple, kwargs: dict) -> Any:
    """Call a rule; a failure other than a domain error (reported by the sweep) names the primitive."""
    try:
        return rule(*args, **kwargs)
    except DiffexploreError:
        raise
    except DOMAIN_ERRORS:
        raise
    except Exception as exc:
        hint = (" (a rule given graph nodes must build nodes: write it with diffexplore's functions, "
                "dx.exp and operators, not math's)" if any(isinstance(a, Node) for a in args) else "")
        raise RuleError(f"the {what} of primitive {name!r} raised {type(exc).__name__}: {exc}{hint}"
                        ) from exc


def checked_partial(name: str, position: int, partial: Callable) -> Callable:
    """``partial(*args, out)`` whose result must fit the output's shape (broadcasting into it).

    >>> twice = checked_partial("p", 0, lambda a, out: [2.0 * a])
    >>> try:
    ...     twice(1.0, 1.0)
    ... except RuleError as error:
    ...     print(str(error)[:72])
    the partial with respect to argument 0 of primitive 'p' returned list [2
    """
    what = f"partial with respect to argument {position}"

    def checked(*args, **kwargs):
        result = _call(name, what, partial, args, kwargs)
        shape, out_shape = _result_shape(name, what, result, args), shape_of(args[-1])
        if shape != out_shape and _broadcast(shape, out_shape) != out_shape:
            raise RuleError(f"the {what} of primitive {name!r} has shape {shape}, but its output has "
                            f"shape {out_shape}: an elementwise partial has the output's shape (or "
                            "broadcasts to it)")
        _check_finite(name, what, result, args)
        return result
    return functools.wraps(partial)(checked)


def _check_finite(name: str, what: str, result: Any, args: tuple) -> None:
    """A rule's number that is not finite at finite arguments: the derivative does not exist there (a
    ValueError, which the sweeps report as a DomainError naming the node)."""
    if isinstance(result, Node):
        return
    numbers = [a for a in args if not isinstance(a, Node)]
    with np.errstate(all="ignore"):
        if np.all(np.isfinite(result)) or not all(np.all(np.isfinite(a)) for a in numbers):
            return
    if len(numbers) < len(args):          # building a derivative graph: the rule gave a constant
        raise RuleError(f"the {what} of primitive {name!r} gave the constant {_short(result)}; a "
                        "derivative graph holds finite constants only")
    raise ValueError(f"the {what} of primitive {name!r} is {_short(result)} at finite arguments: the "
                     "derivative is not a number there")


def checked_impl(name: str, impl: Callable, shape: Callable | None, has_attr: bool) -> Callable:
    """A user primitive's function whose value must be a number or an array of the output's shape (the
    arguments' broadcast shape for an elementwise primitive, else ``shape(*argument shapes)``)."""
    def checked(*args, **kwargs):
        result = _call(name, "function", impl, args, kwargs)
        got = _result_shape(name, "function", result, args)
        arg_shapes = [np.shape(a) for a in args]
        if shape is None:
            expected = _broadcast(*arg_shapes) if arg_shapes else ()
        else:
            expected = tuple(shape(*arg_shapes, **kwargs) if has_attr else shape(*arg_shapes))
        if expected is not None and got != expected:
            raise RuleError(f"the function of primitive {name!r} returned shape {got} for arguments of "
                            f"shape{'s' if len(arg_shapes) > 1 else ''} {', '.join(map(str, arg_shapes))}; "
                            f"its output has shape {expected}")
        return result
    return functools.wraps(impl)(checked)


def checked_vjp(name: str, vjp: Callable) -> Callable:
    """``vjp(g, *args, out)`` whose cotangents have their arguments' shapes (None: zero)."""
    def checked(g, *args_and_out, **kwargs):
        result = _call(name, "vjp", vjp, (g, *args_and_out), kwargs)
        args = args_and_out[:-1]
        if not isinstance(result, (tuple, list)) or len(result) != len(args):
            raise RuleError(f"the vjp of primitive {name!r} returned {_short(result)}; it returns one "
                            f"cotangent per argument ({len(args)}), None for a zero one")
        for position, (cotangent, arg) in enumerate(zip(result, args, strict=True)):
            if cotangent is None:
                continue
            what = f"vjp's cotangent for argument {position}"
            shape = _result_shape(name, what, cotangent, args_and_out)
            if shape != shape_of(arg):
                raise RuleError(f"the {what} of primitive {name!r} has shape {shape}, but the argument "
                                f"has shape {shape_of(arg)}")
        return result
    return functools.wraps(vjp)(checked)


def checked_jvp(name: str, jvp: Callable) -> Callable:
    """``jvp(tangents, *args, out)`` whose tangent has the output's shape (None: zero)."""
    def checked(tangents, *args_and_out, **kwargs):
        result = _call(name, "jvp", jvp, (tangents, *args_and_out), kwargs)
        if result is not None:
            shape, out_shape = _result_shape(name, "jvp", result, args_and_out), shape_of(args_and_out[-1])
            if shape != out_shape:
                raise RuleError(f"the jvp of primitive {name!r} has shape {shape}, but its output has "
                                f"shape {out_shape}")
        return result
    return functools.wraps(jvp)(checked)


def _broadcast(*shapes: tuple) -> tuple | None:
    try:
        return np.broadcast_shapes(*shapes)
    except ValueError:
        return None
