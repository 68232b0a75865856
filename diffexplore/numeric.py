"""Transform/evaluate: finite differences, the reference every other method is checked against.

Three schemes, each one evaluation of f (or two) per input:

- ``forward``  (f(x+h) − f(x))/h, truncation error O(h); default h = √ε·max(1, |x|) ≈ 1.5e-8;
- ``central``  (f(x+h) − f(x−h))/2h, truncation error O(h²); default h = ∛ε·max(1, |x|) ≈ 6.1e-6;
- ``complex``  Im f(x+ih)/h, no subtraction so no cancellation; default h = 1e-20.

The steps balance truncation against round-off (ε is the float64 machine epsilon). Each step is made
exactly representable (h = (x+h) − x) so the division uses the step actually taken.
"""

from __future__ import annotations

import sys
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from .errors import DiffexploreError
from .evaluate import evaluate
from .graph import Node
from .inputs import as_graph, as_point, resolve_wrt
from .plan import plan

__all__ = ["numeric", "default_step", "difference", "SCHEMES"]

SCHEMES = ("forward", "central", "complex")
EPS = sys.float_info.epsilon


def default_step(scheme: str, x: Any = 1.0) -> Any:
    """The library's default step for a scheme at the point ``x`` (relative to max(1, |x|)).

    >>> default_step("central")
    6.055454452393343e-06
    """
    scale = np.maximum(1.0, np.abs(np.real(x)))
    if np.ndim(scale) == 0:
        scale = float(scale)
    if scheme == "forward":
        return EPS ** 0.5 * scale
    if scheme == "central":
        return EPS ** (1 / 3) * scale
    if scheme == "complex":
        return 1e-20 * scale
    raise DiffexploreError(f"unknown scheme {scheme!r}; schemes: {', '.join(SCHEMES)}")


def difference(f: Node, point: dict, name: str, scheme: str, step: Any = None, index=None,
               f0: Any = None) -> Any:
    """One finite-difference derivative of ``f`` along variable ``name`` (element ``index`` of an array).

    ``f0`` is f at ``point`` when the caller has it already (forward differences then cost one
    evaluation per input, W + 1 for a whole gradient)."""
    x = point[name]
    x0 = x if index is None else x[index]
    h = default_step(scheme, x0) if step is None else step

    def at(delta):
        shifted = dict(point)
        if index is None:
            shifted[name] = x + delta
        else:
            arr = np.array(x, dtype=np.result_type(x, delta))
            arr[index] = arr[index] + delta
            shifted[name] = arr
        return evaluate(f, shifted)

    if scheme == "complex":
        if np.iscomplexobj(x):
            raise DiffexploreError(f"the complex-step scheme reads the derivative from the imaginary part, "
                                   f"so it needs a real point; {name} is complex (use scheme='central', "
                                   "which differentiates analytic functions at complex points)")
        return _plain(np.imag(at(1j * h)) / h)
    h = (x0 + h) - x0                       # the step actually representable at x0
    if scheme == "forward":
        return _plain((at(h) - (evaluate(f, point) if f0 is None else f0)) / h)
    if scheme == "central":
        return _plain((at(h) - at(-h)) / (2 * h))
    raise DiffexploreError(f"unknown scheme {scheme!r}; schemes: {', '.join(SCHEMES)}")


def _plain(value: Any) -> Any:
    """A Python number for a 0-d result (complex stays complex), an array as it is."""
    if np.ndim(value) != 0:
        return value
    return complex(value) if np.iscomplexobj(value) else float(value)


def numeric(f: Node, at: Mapping[str, Any], scheme: str = "central", step: Any = None,
            wrt: Sequence[str] | str | None = None) -> dict[str, Any]:
    """The gradient by finite differences, by variable name.

    >>> import diffexplore as dx
    >>> x = dx.variable("x")
    >>> g = dx.numeric(dx.exp(x), {"x": 1.0}, scheme="complex")
    >>> abs(g["x"] - 2.718281828459045) < 1e-15
    True
    """
    if scheme not in SCHEMES:
        raise DiffexploreError(f"unknown scheme {scheme!r}; schemes: {', '.join(SCHEMES)}")
    if not isinstance(f, Node):
        f = as_graph(f)
    p = plan(f)
    names = resolve_wrt(p.variable_names(), wrt)
    point = as_point(at)
    shapes = {name: shape for _, name, shape in p.variables}
    f0 = evaluate(f, point)                     # also raises the missing-variable error
    result = {}
    for name in names:
        if shapes[name]:
            out = np.zeros(shapes[name], dtype=complex if np.iscomplexobj(point[name]) else float)
            for k in np.ndindex(*shapes[name]):
                out[k] = difference(f, point, name, scheme, step, index=k, f0=f0)
            result[name] = out
        else:
            result[name] = difference(f, point, name, scheme, step, f0=f0)
    return result
