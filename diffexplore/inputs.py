"""Build: what a user hands to the evaluators, normalised once for all of them.

A function to differentiate may be a graph node or a formula string (:func:`as_graph`); a point maps
variable names to numbers or arrays (:func:`as_point`); ``wrt`` names the variables to differentiate by
(:func:`resolve_wrt`). Python callables are traced above the evaluators (by the derivative operators and
the show stage), never here.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from .errors import DiffexploreError
from .graph import Node, constant
from .parse import parse

__all__ = ["as_graph", "as_point", "resolve_wrt"]


def as_graph(f: Any) -> Node:
    """A node as it is, a formula string parsed, an imported program its output, a number as a constant.

    >>> import diffexplore as dx
    >>> as_graph("x*y") is dx.parse("x*y"), as_graph(2).op
    (True, 'const')
    """
    if isinstance(f, Node):
        return f
    if isinstance(f, str):
        return parse(f)
    imported = getattr(f, "__dx_graph__", None)        # an import from JAX or PyTorch: its output
    if imported is not None:
        try:
            return imported()
        except TypeError as exc:
            raise DiffexploreError(str(exc)) from None
    if callable(f):
        name = getattr(f, "__name__", "the function")
        raise DiffexploreError(f"{name}() is a Python function, not a graph: trace it at a point first "
                               f"(dx.trace({name}, x=...)), or give the point to a function that traces "
                               "(dx.grad(fn, at), dx.render(fn, at=...))")
    try:
        return constant(f)
    except TypeError as exc:
        raise DiffexploreError(f"expected a graph, a formula string, a Python function or a number; "
                               f"{exc}") from None


_FLOAT = {float}


def as_point(at: Mapping[str, Any] | None) -> dict[str, Any]:
    """Normalise a point: numbers to Python floats (or complex), lists to NumPy arrays.

    >>> as_point({"x": 1, "y": [1, 2]})
    {'x': 1.0, 'y': array([1., 2.])}
    """
    if at is None:
        return {}
    if not isinstance(at, Mapping):
        raise DiffexploreError(f"a point must be a mapping of variable names to values, got {at!r}")
    if set(map(type, at.values())) <= _FLOAT:          # the common case, copied in one step
        return dict(at)
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


def resolve_wrt(names: Sequence[str], wrt: Sequence[str] | str | None) -> list[str]:
    """The variables to differentiate by: all of ``names`` (a graph's variables, in order) when ``wrt``
    is None, else ``wrt`` (a list, or a string of names separated by spaces or commas), each checked.

    >>> resolve_wrt(["x", "y"], None), resolve_wrt(["x", "y"], "y, x")
    (['x', 'y'], ['y', 'x'])
    >>> resolve_wrt(["x"], "z")  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    diffexplore.errors.DiffexploreError: cannot differentiate with respect to 'z': not a variable of f ...
    """
    names = list(names)
    if wrt is None:
        return names
    if isinstance(wrt, str):
        wrt = wrt.replace(",", " ").split()
    known = set(names)
    unknown = [w for w in wrt if w not in known]
    if unknown:
        raise DiffexploreError(f"cannot differentiate with respect to {', '.join(map(repr, unknown))}: not "
                               "a variable of f (none of the variables of the graph; its variables: "
                               f"{', '.join(names) or 'none'})")
    return list(wrt)
