"""Build: the one NumPy lowering table, for the NumPy functions a traced program calls that are not one
primitive each.

The tracer (:mod:`diffexplore.trace`) maps a NumPy function first through the rule table's ``numpy``
facet (``np.exp`` is the primitive ``exp``, ``np.where`` is ``select``); what is left is a composition,
written here once with diffexplore's own functions: ``np.clip(a, lo, hi)`` is
``minimum(maximum(a, lo), hi)``, ``np.dot`` is a matrix product or a product by the operands' number of
axes, ``np.einsum`` is transposes, reshapes, a ``matmul`` (or a broadcast product) and sums, ``np.mean``
is the ``mean`` primitive with NumPy's ``axis`` and ``keepdims``. Each entry takes NumPy's arguments as
NumPy does and refuses the options diffexplore does not model (``out=``, ``dtype=``, ``where=``...) by
name. The functions work on numbers, graph nodes and tracing values alike (they only call the rule
table's functions), so a lowering computes when given arrays and builds nodes when given nodes.

>>> import numpy as np
>>> import diffexplore as dx
>>> A, x = dx.variable("A", shape=(2, 3)), dx.variable("x", shape=(3,))
>>> print(LOWERINGS[np.einsum]("ij,j->i", A, x))
A @ x
>>> LOWERINGS[np.clip](np.array([-2.0, 0.5, 3.0]), 0.0, 1.0)
array([0. , 0.5, 1. ])
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from .arrays import concatenate, matmul, max, mean, min, prod, reshape, sum, transpose
from .errors import DiffexploreError, ShapeError
from .graph import shape_of
from .rules import abs as absolute
from .rules import (
    broadcast_to,
    div,
    exp,
    log,
    log1p,
    maximum,
    minimum,
    mul,
    neg,
    not_equal,
    power,
    sqrt,
    sub,
)

__all__ = ["LOWERINGS", "numpy_name", "einsum", "dot"]

#: NumPy function (or ufunc) -> its composition of primitives, called with NumPy's own arguments.
LOWERINGS: dict[Any, Callable] = {}

_NO_VALUE = getattr(np, "_NoValue", None)
_COMPARISON_OPS = frozenset({"greater", "greater_equal", "less", "less_equal", "equal", "not_equal"})


def lowers(*functions: Any) -> Callable:
    """Register the decorated composition as the lowering of each NumPy function given."""
    def register(composition: Callable) -> Callable:
        for function in functions:
            LOWERINGS[function] = composition
        return composition
    return register


def numpy_name(function: Any) -> str:
    """How a NumPy function is written in a program: ``np.sum``, ``np.linalg.norm``.

    >>> numpy_name(np.linalg.inv), numpy_name(np.cumsum)
    ('np.linalg.inv', 'np.cumsum')
    """
    name = getattr(function, "__name__", repr(function))
    module = getattr(function, "__module__", None) or "numpy"
    if isinstance(function, np.ufunc) or module == "numpy" or module.startswith("numpy._"):
        return f"np.{name}"
    if module.startswith("numpy."):
        return f"np.{module[len('numpy.'):]}.{name}"
    return f"{module}.{name}"


def _refuse(function: str, **options: Any) -> None:
    """Refuse the options of a NumPy call that diffexplore does not model, naming them."""
    given = [k for k, v in options.items()
             if v is not None and v is not _NO_VALUE and not (k == "dtype" and np.dtype(v) == np.float64)
             and not (k == "order" and v in ("C", "K", "A")) and not (k == "optimize" and v in (False, True))]
    if given:
        raise DiffexploreError(f"{function}: the option(s) {', '.join(given)} are not supported in a traced "
                               "program; call it with the array, axis and keepdims only")


def _permuted(a: Any, perm: Sequence[int]) -> Any:
    """``a`` with its axes permuted, with no node when the permutation is the identity."""
    perm = tuple(perm)
    return a if perm == tuple(range(len(perm))) else transpose(a, perm)


def _reshaped(a: Any, shape: Sequence[int]) -> Any:
    """``a`` in ``shape``, with no node when it has that shape already."""
    shape = tuple(int(n) for n in shape)
    return a if shape_of(a) == shape else reshape(a, shape)


def _axes(axis: Any, ndim: int, function: str) -> tuple[int, ...]:
    """NumPy's ``axis`` as sorted non-negative axes (``None``: all)."""
    if axis is None:
        return tuple(range(ndim))
    items = (axis,) if isinstance(axis, (int, np.integer)) else tuple(axis)
    for ax in items:
        if not -ndim <= int(ax) < ndim:
            raise ShapeError(f"{function}: axis {ax} is out of range for {ndim} axes")
    return tuple(sorted(int(ax) % ndim for ax in items))


# ---- products: matmul, dot, einsum, inner, outer ---------------------------------------------------------


@lowers(np.matmul)
def _matmul(a: Any, b: Any, **options: Any) -> Any:
    _refuse("np.matmul", **options)
    return matmul(a, b)


@lowers(np.dot)
def dot(a: Any, b: Any, out: Any = None) -> Any:
    """NumPy's ``dot`` by the operands' axes: a product with a scalar, an inner product of vectors, a
    matrix product (``matmul``) up to two axes, and for more axes the sum over the last axis of ``a`` and
    the second-to-last of ``b`` (an einsum).

    >>> dot(np.ones((2, 3)), np.ones(3))
    array([3., 3.])
    """
    _refuse("np.dot", out=out)
    na, nb = len(shape_of(a)), len(shape_of(b))
    if na == 0 or nb == 0:
        return mul(a, b)
    if nb == 1 or (na <= 2 and nb == 2):
        return matmul(a, b)
    letters = "abcdefghijklmnopqrstuvwx"             # y: b's last axis; z: the axis summed over
    left, right = letters[:na - 1], letters[na - 1:na + nb - 3]
    return einsum(f"{left}z,{right}zy->{left}{right}y", a, b)


@lowers(np.inner)
def _inner(a: Any, b: Any) -> Any:
    na, nb = len(shape_of(a)), len(shape_of(b))
    if na == 0 or nb == 0:
        return mul(a, b)
    if na == nb == 1:
        return matmul(a, b)
    left, right = "abcdefghij"[:na - 1], "klmnopqrst"[:nb - 1]
    return einsum(f"{left}z,{right}z->{left}{right}", a, b)


@lowers(np.outer)
def _outer(a: Any, b: Any, out: Any = None) -> Any:
    _refuse("np.outer", out=out)
    return mul(_reshaped(a, (math.prod(shape_of(a)), 1)), _reshaped(b, (math.prod(shape_of(b)),)))


def _parse_einsum(subscripts: str, count: int) -> tuple[list[str], str]:
    text = subscripts.replace(" ", "")
    if "." in text:
        raise DiffexploreError(f"np.einsum({subscripts!r}): '...' is not supported in a traced program; "
                               "name every axis with a letter")
    inputs_text, arrow, output = text.partition("->")
    inputs = inputs_text.split(",")
    if len(inputs) != count:
        raise DiffexploreError(f"np.einsum({subscripts!r}) names {len(inputs)} operand(s) but was given "
                               f"{count}")
    if not arrow:                        # implicit mode: the letters that appear once, in order
        letters = "".join(inputs)
        output = "".join(sorted(c for c in set(letters) if letters.count(c) == 1))
    for part in inputs + [output]:
        if not all(c.isalpha() for c in part):
            raise DiffexploreError(f"np.einsum({subscripts!r}): subscripts must be letters")
        if len(set(part)) != len(part):
            raise DiffexploreError(f"np.einsum({subscripts!r}): a letter repeated within {part!r} (a "
                                   "diagonal) is not supported in a traced program")
    unknown = set(output) - set("".join(inputs))
    if unknown:
        raise DiffexploreError(f"np.einsum({subscripts!r}): the output letter(s) {''.join(sorted(unknown))} "
                               "appear in no operand")
    return inputs, output


def _summed_out(a: Any, letters: str, keep: str) -> tuple[Any, str]:
    """``a`` summed over its letters not in ``keep``, and the letters left."""
    axes = tuple(i for i, c in enumerate(letters) if c not in keep)
    if not axes:
        return a, letters
    return sum(a, axis=axes), "".join(c for c in letters if c in keep)


@lowers(np.einsum)
def einsum(subscripts: str, *operands: Any, optimize: Any = False, **options: Any) -> Any:
    """NumPy's ``einsum`` for one or two operands, as sums, transposes, reshapes and a ``matmul`` (a
    broadcast product when nothing is contracted): ``'ij,jk->ik'`` is ``a @ b``, ``'ik,jk->ij'`` is
    ``a @ b.T``, ``'bij,bjk->bik'`` a batched ``a @ b``, ``'i,i->'`` ``a @ b``.

    >>> float(einsum("i,i->", np.array([1.0, 2.0]), np.array([3.0, 4.0])))
    11.0
    """
    _refuse("np.einsum", optimize=optimize, **options)
    if not isinstance(subscripts, str) or not 1 <= len(operands) <= 2:
        raise DiffexploreError("np.einsum in a traced program takes a subscripts string and one or two "
                               "operands")
    inputs, output = _parse_einsum(subscripts, len(operands))
    sizes: dict[str, int] = {}
    for letters, operand in zip(inputs, operands, strict=True):
        shape = shape_of(operand)
        if len(shape) != len(letters):
            raise ShapeError(f"np.einsum({subscripts!r}): operand {letters!r} has shape {shape}")
        for c, n in zip(letters, shape, strict=True):
            if sizes.setdefault(c, n) != n:
                raise ShapeError(f"np.einsum({subscripts!r}): axis {c!r} has lengths {sizes[c]} and {n}")
    if len(operands) == 1:
        a, letters = _summed_out(operands[0], inputs[0], output)
        return _permuted(a, [letters.index(c) for c in output])
    (a, la), (b, lb) = (_summed_out(operands[0], inputs[0], output + inputs[1]),
                        _summed_out(operands[1], inputs[1], output + inputs[0]))
    batch = [c for c in output if c in la and c in lb]
    contracted = [c for c in la if c in lb and c not in output]
    left = [c for c in la if c not in lb]
    right = [c for c in lb if c not in la]
    batch_shape = tuple(sizes[c] for c in batch)
    if not contracted:
        a2 = _reshaped(_permuted(a, [la.index(c) for c in batch + left]),
                       batch_shape + tuple(sizes[c] for c in left) + (1,) * len(right))
        b2 = _permuted(b, [lb.index(c) for c in batch + right])
        if batch and left:
            b2 = _reshaped(b2, batch_shape + (1,) * len(left) + tuple(sizes[c] for c in right))
        product = mul(a2, b2)
    else:
        a_vector = not batch and not left
        b_vector = not batch and not right
        size_left = math.prod(sizes[c] for c in left)
        size_right = math.prod(sizes[c] for c in right)
        size_summed = math.prod(sizes[c] for c in contracted)
        a2 = _permuted(a, [la.index(c) for c in batch + left + contracted])
        a2 = _reshaped(a2, (size_summed,) if a_vector else batch_shape + (size_left, size_summed))
        b2 = _permuted(b, [lb.index(c) for c in batch + contracted + right])
        b2 = _reshaped(b2, (size_summed,) if b_vector else batch_shape + (size_summed, size_right))
        product = _reshaped(matmul(a2, b2),
                            batch_shape + tuple(sizes[c] for c in left) + tuple(sizes[c] for c in right))
    order = batch + left + right
    return _permuted(product, [order.index(c) for c in output])


# ---- reductions with axis and keepdims -------------------------------------------------------------------


def _reduction(reduce: Callable, function: str) -> Callable:
    def lowered(a: Any, axis: Any = None, dtype: Any = None, out: Any = None, keepdims: Any = False,
                **options: Any) -> Any:
        _refuse(function, dtype=dtype, out=out, **options)
        keepdims = False if keepdims is _NO_VALUE else bool(keepdims)
        if not shape_of(a) and axis is None:
            return a                      # a scalar (or a batch of scalar points): nothing to reduce
        return reduce(a, axis=axis, keepdims=keepdims)
    lowered.__name__ = function
    return lowered


LOWERINGS[np.sum] = _reduction(sum, "np.sum")
LOWERINGS[np.mean] = _reduction(mean, "np.mean")
LOWERINGS[np.prod] = _reduction(prod, "np.prod")


def _chooser(reduce: Callable, function: str) -> Callable:
    def lowered(a: Any, axis: Any = None, out: Any = None, keepdims: Any = False, **options: Any) -> Any:
        _refuse(function, out=out, **options)
        keepdims = False if keepdims is _NO_VALUE else bool(keepdims)
        if not shape_of(a) and axis is None:
            return a
        return reduce(a, axis=axis, keepdims=keepdims)
    lowered.__name__ = function
    return lowered


LOWERINGS[np.max] = LOWERINGS[np.amax] = _chooser(max, "np.max")
LOWERINGS[np.min] = LOWERINGS[np.amin] = _chooser(min, "np.min")


@lowers(np.linalg.norm)
def _norm(x: Any, ord: Any = None, axis: Any = None, keepdims: bool = False) -> Any:
    if ord is not None and ord != 2 and ord != "fro":
        raise DiffexploreError(f"np.linalg.norm(..., ord={ord!r}) is not supported in a traced program; the "
                               "Euclidean norm (ord=None) is")
    if ord == 2 and (axis is None and len(shape_of(x)) == 2):
        raise DiffexploreError("np.linalg.norm(matrix, ord=2) (the spectral norm) is not supported in a "
                               "traced program; ord=None (Frobenius) is")
    return sqrt(sum(mul(x, x), axis=axis, keepdims=keepdims))


# ---- elementwise compositions (ufuncs that are not one primitive) ---------------------------------------


def _ufunc(function: str, composition: Callable) -> Callable:
    def lowered(*args: Any, **options: Any) -> Any:
        _refuse(function, **options)
        return composition(*args)
    lowered.__name__ = function
    return lowered


def _truth(a: Any) -> Any:
    """1.0 where ``a`` is true, else 0.0: a comparison as it is, anything else compared with 0."""
    node = getattr(a, "node", a)
    if getattr(node, "op", None) in _COMPARISON_OPS or isinstance(a, (bool, np.bool_)):
        return a
    if isinstance(a, np.ndarray) and a.dtype == bool:
        return a + 0.0
    return not_equal(a, 0.0)


LOWERINGS[np.square] = _ufunc("np.square", lambda a: mul(a, a))
LOWERINGS[np.reciprocal] = _ufunc("np.reciprocal", lambda a: div(1.0, a))
LOWERINGS[np.exp2] = _ufunc("np.exp2", lambda a: power(2.0, a))
LOWERINGS[np.log2] = _ufunc("np.log2", lambda a: div(log(a), math.log(2.0)))
LOWERINGS[np.log10] = _ufunc("np.log10", lambda a: div(log(a), math.log(10.0)))
LOWERINGS[np.fabs] = _ufunc("np.fabs", absolute)
LOWERINGS[np.float_power] = _ufunc("np.float_power", power)
LOWERINGS[np.hypot] = _ufunc("np.hypot", lambda a, b: sqrt(mul(a, a) + mul(b, b)))
LOWERINGS[np.logaddexp] = _ufunc(
    "np.logaddexp", lambda a, b: maximum(a, b) + log1p(exp(neg(absolute(sub(a, b))))))
LOWERINGS[np.logical_and] = LOWERINGS[np.bitwise_and] = _ufunc(
    "np.logical_and", lambda a, b: mul(_truth(a), _truth(b)))
LOWERINGS[np.logical_or] = LOWERINGS[np.bitwise_or] = _ufunc(
    "np.logical_or", lambda a, b: maximum(_truth(a), _truth(b)))
LOWERINGS[np.logical_not] = LOWERINGS[np.invert] = _ufunc("np.logical_not", lambda a: sub(1.0, _truth(a)))


@lowers(np.clip)
def _clip(a: Any, a_min: Any = _NO_VALUE, a_max: Any = _NO_VALUE, out: Any = None, *, min: Any = _NO_VALUE,
          max: Any = _NO_VALUE, **options: Any) -> Any:
    """``minimum(maximum(a, lo), hi)``: the gradient flows to ``a`` inside [lo, hi] (ends included)."""
    _refuse("np.clip", out=out, **options)
    low = a_min if a_min is not _NO_VALUE else min
    high = a_max if a_max is not _NO_VALUE else max
    if low is not _NO_VALUE and low is not None:
        a = maximum(a, low)
    if high is not _NO_VALUE and high is not None:
        a = minimum(a, high)
    return a


# ---- shape plumbing: joining, reshaping, transposing -------------------------------------------------------


def _expanded(a: Any, axis: int) -> Any:
    shape = shape_of(a)
    ndim = len(shape) + 1
    if not -ndim <= axis < ndim:
        raise ShapeError(f"expand_dims: axis {axis} is out of range for {ndim} axes")
    axis %= ndim
    return reshape(a, shape[:axis] + (1,) + shape[axis:])


@lowers(np.concatenate)
def _concatenate(arrays: Sequence[Any], axis: int | None = 0, out: Any = None, **options: Any) -> Any:
    _refuse("np.concatenate", out=out, **options)
    arrays = list(arrays)
    if axis is None:
        arrays, axis = [_reshaped(a, (math.prod(shape_of(a)),)) for a in arrays], 0
    return concatenate(arrays, axis=axis)


@lowers(np.stack)
def _stack(arrays: Sequence[Any], axis: int = 0, out: Any = None, **options: Any) -> Any:
    _refuse("np.stack", out=out, **options)
    arrays = list(arrays)
    if not arrays:
        raise DiffexploreError("np.stack needs at least one array")
    shapes = {shape_of(a) for a in arrays}
    if len(shapes) > 1:
        raise ShapeError(f"np.stack: all arrays must have the same shape, got {sorted(shapes)}")
    return concatenate([_expanded(a, axis) for a in arrays], axis=axis)


@lowers(np.vstack)
def _vstack(arrays: Sequence[Any], **options: Any) -> Any:
    _refuse("np.vstack", **options)
    rows = [_reshaped(a, (1,) * (2 - len(shape_of(a))) + shape_of(a)) if len(shape_of(a)) < 2 else a
            for a in arrays]
    return concatenate(rows, axis=0)


@lowers(np.hstack)
def _hstack(arrays: Sequence[Any], **options: Any) -> Any:
    _refuse("np.hstack", **options)
    arrays = [_reshaped(a, (1,)) if not shape_of(a) else a for a in arrays]
    return concatenate(arrays, axis=0 if len(shape_of(arrays[0])) == 1 else 1)


@lowers(np.expand_dims)
def _expand_dims(a: Any, axis: int) -> Any:
    return _expanded(a, int(axis))


@lowers(np.squeeze)
def squeeze(a: Any, axis: Any = None) -> Any:
    shape = shape_of(a)
    axes = tuple(i for i, n in enumerate(shape) if n == 1) if axis is None else _axes(axis, len(shape),
                                                                                         "np.squeeze")
    if any(shape[i] != 1 for i in axes):
        raise ShapeError(f"np.squeeze: axis {axis} of shape {shape} does not have length 1")
    return _reshaped(a, tuple(n for i, n in enumerate(shape) if i not in axes))


@lowers(np.reshape)
def _reshape(a: Any, shape: Any = None, order: str = "C", *, newshape: Any = None, copy: Any = None) -> Any:
    _refuse("np.reshape", order=order, copy=copy)
    shape = newshape if shape is None else shape
    return reshape(a, shape)


@lowers(np.ravel)
def _ravel(a: Any, order: str = "C") -> Any:
    _refuse("np.ravel", order=order)
    return _reshaped(a, (math.prod(shape_of(a)),))


@lowers(np.transpose)
def _transpose(a: Any, axes: Sequence[int] | None = None) -> Any:
    ndim = len(shape_of(a))
    perm = tuple(reversed(range(ndim))) if axes is None else tuple(int(i) % ndim for i in axes)
    return _permuted(a, perm)


@lowers(np.swapaxes)
def _swapaxes(a: Any, axis1: int, axis2: int) -> Any:
    ndim = len(shape_of(a))
    perm = list(range(ndim))
    i, j = int(axis1) % ndim, int(axis2) % ndim
    perm[i], perm[j] = perm[j], perm[i]
    return _permuted(a, perm)


@lowers(np.broadcast_to)
def _broadcast_to(a: Any, shape: Any, subok: bool = False) -> Any:
    shape = (int(shape),) if isinstance(shape, (int, np.integer)) else tuple(int(n) for n in shape)
    return a if shape_of(a) == shape else broadcast_to(a, attr=shape)


@lowers(np.copy)
def _copy(a: Any, order: str = "K", subok: bool = False) -> Any:
    return a


# ---- what depends on the shape only ---------------------------------------------------------------------


LOWERINGS[np.shape] = lambda a: shape_of(a)
LOWERINGS[np.ndim] = lambda a: len(shape_of(a))
LOWERINGS[np.size] = lambda a, axis=None: math.prod(shape_of(a)) if axis is None else shape_of(a)[axis]
LOWERINGS[np.zeros_like] = lambda a, dtype=None, **options: np.zeros(shape_of(a), dtype=dtype or np.float64)
LOWERINGS[np.ones_like] = lambda a, dtype=None, **options: np.ones(shape_of(a), dtype=dtype or np.float64)
LOWERINGS[np.full_like] = lambda a, fill_value, dtype=None, **options: np.full(
    shape_of(a), fill_value, dtype=dtype or np.float64)
