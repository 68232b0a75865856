"""Build: small helpers shared by the array primitives of :mod:`diffexplore.arrays`.

Shapes of nodes and numbers alike (a rule computes numbers in the evaluators and builds nodes in the
symbolic differentiator, so it asks :func:`shape_of` instead of ``.shape``), axis arguments checked and
normalised as NumPy does, and hashable attribute tuples (a node's ``attr``) that print as keyword
arguments, so formula text reads like a call: ``conv2d(x, w, stride=2)``.
"""

from __future__ import annotations

import collections
import sys
from collections.abc import Sequence
from typing import Any

import numpy as np

from ..errors import ShapeError
from ..graph import ArrayValue, shape_of
from ..rules import broadcast_to

__all__ = ["shape_of", "attr_type", "as_shape", "normalise_axes", "kept", "reduced"]


_PAIRS = frozenset({"stride", "padding", "kernel_size"})


def _compact(field: str, value: Any) -> str:
    """A pair of equal ints as one int (``stride=2`` for (2, 2)), a mask by how much it keeps."""
    if field in _PAIRS and len(value) == 2 and value[0] == value[1]:
        return str(value[0])
    if isinstance(value, ArrayValue):
        return f"{int(np.count_nonzero(value.array))}/{value.array.size}"
    return repr(value)


def attr_type(name: str, fields: str, quiet: dict | None = None) -> type:
    """A hashable attribute tuple that prints as ``field=value, ...`` (formula text reads like a call);
    fields holding their ``quiet`` value (a default) are not printed.

    >>> Pool = attr_type("Pool", "kernel_size stride padding", quiet={"padding": 0})
    >>> Pool((2, 2), (1, 2), 0)
    kernel_size=2, stride=(1, 2)
    """
    caller = sys._getframe(1).f_globals.get("__name__", __name__)   # it pickles as the caller's attribute
    cls = collections.namedtuple(name, fields, module=caller)
    quiet = quiet or {}

    def text(self) -> str:
        shown = [(k, v) for k, v in zip(self._fields, self, strict=True) if k not in quiet or quiet[k] != v]
        return ", ".join(f"{k}={_compact(k, v)}" for k, v in shown)

    cls.__repr__ = text
    return cls


def as_shape(value: Any, like: Any) -> Any:
    """``value`` broadcast to the shape of ``like`` if it is smaller (a tangent of a broadcast input);
    ``None`` (a zero tangent) stays ``None``.

    >>> as_shape(1.0, np.zeros(3))
    array([1., 1., 1.])
    """
    if value is None or shape_of(value) == shape_of(like):
        return value
    return broadcast_to(value, attr=shape_of(like))


def normalise_axes(axis: int | Sequence[int] | None, shape: tuple, op: str) -> tuple[int, ...]:
    """NumPy's ``axis`` argument as sorted non-negative axes (``None``: all of them); an axis out of
    range or repeated raises a :class:`~diffexplore.errors.ShapeError` naming ``op``.

    >>> normalise_axes(-1, (2, 3, 4), "sum"), normalise_axes(None, (2, 3), "sum")
    ((2,), (0, 1))
    """
    ndim = len(shape)
    if axis is None:
        return tuple(range(ndim))
    try:
        axes = (axis,) if isinstance(axis, (int, np.integer)) else tuple(axis)
    except TypeError:
        axes = (axis,)
    out = []
    for ax in axes:
        if isinstance(ax, (bool, np.bool_)) or not isinstance(ax, (int, np.integer)):
            raise ShapeError(f"{op}: axis must be a whole number or a tuple of them, got {axis!r}")
        if not -ndim <= int(ax) < ndim:
            raise ShapeError(f"{op}: axis {ax} is out of range for shape {shape} "
                             f"(allowed: {-ndim} to {ndim - 1})")
        out.append(int(ax) % ndim)
    if len(set(out)) != len(out):
        raise ShapeError(f"{op}: axis {axis} repeats an axis")
    return tuple(sorted(out))


def kept(shape: tuple, axes: tuple) -> tuple:
    """``shape`` with the reduced ``axes`` kept as length 1 (NumPy's keepdims).

    >>> kept((2, 3, 4), (0, 2))
    (1, 3, 1)
    """
    return tuple(1 if i in axes else n for i, n in enumerate(shape))


def reduced(shape: tuple, axes: tuple) -> tuple:
    """``shape`` without the reduced ``axes``.

    >>> reduced((2, 3, 4), (0, 2))
    (3,)
    """
    return tuple(n for i, n in enumerate(shape) if i not in axes)
