"""Build: the core array primitives, one rule-table block each.

The matrix product (``matmul``, ``a @ b``), shape plumbing (``transpose``, ``reshape``,
``concatenate``), reductions (``sum``, ``mean``) and indexing (``take``, i.e. ``a[index]``, with its
adjoint ``_untake``), plus ``one_hot`` for class labels. Elementwise functions and ``+ - * / **`` need
nothing here: they broadcast already (``graph.apply``), and the reverse sweep sums a broadcast adjoint
back with ``rules.sum_to``.

Each block gives the numeric implementation (NumPy), the output shape (checked when the node is built,
with a :class:`~diffexplore.errors.ShapeError` naming both shapes) and a vector-Jacobian product
``vjp``, written with diffexplore's own functions, so the same rule computes numbers in the evaluators
and builds array nodes in :func:`diffexplore.gradient_graph`. Every primitive here is linear, so its
Jacobian-vector product comes from ``define(..., linear=...)``: the primitive applied to the tangent
(``matmul`` is bilinear: one term per factor). ``concatenate`` is the exception: it is linear in its two
arguments *jointly*, not in each separately, so it keeps a written jvp. Linear maps come in adjoint
pairs so the symbolic derivative stays closed: ``take``/``_untake`` are each other's vjp.
"""

from __future__ import annotations

import builtins
import math
from collections.abc import Sequence
from typing import Any

import numpy as np

from ..errors import DiffexploreError, ShapeError
from ..graph import Node
from ..rules import broadcast_to, define, equal, maximum, select, sum_to
from .helpers import as_shape, attr_type, kept, normalise_axes, reduced, shape_of

__all__ = ["matmul", "transpose", "reshape", "sum", "mean", "max", "min", "prod", "concatenate", "take",
           "one_hot", "Index"]


def _scalar(value: Any) -> Any:
    """A 0-d result as a Python number (the evaluators keep scalars as floats)."""
    return value.item() if isinstance(value, (np.ndarray, np.generic)) and value.ndim == 0 else value


def _reshaped(a: Any, shape: tuple) -> Any:
    """``a`` in ``shape``, with no reshape node when it has that shape already."""
    return a if shape_of(a) == tuple(shape) else reshape(a, shape)


# ---- matmul ------------------------------------------------------------------------------------------


def _as_matrices(sa: tuple, sb: tuple) -> tuple[tuple, tuple]:
    """NumPy's matmul promotion: a vector on the left is a row, a vector on the right a column."""
    return (sa if len(sa) >= 2 else (1,) + sa), (sb if len(sb) >= 2 else sb + (1,))


def _matmul_shape(sa: tuple, sb: tuple) -> tuple:
    if not sa or not sb:
        raise ShapeError(f"matmul: shapes {sa} and {sb}: both sides need at least one axis "
                         "(for a scalar factor use *)")
    ma, mb = _as_matrices(sa, sb)
    if ma[-1] != mb[-2]:
        raise ShapeError(f"matmul: shapes {sa} and {sb} do not fit: the left's last axis ({ma[-1]}) must "
                         f"equal the right's {'first' if len(sb) == 1 else 'second-to-last'} axis ({mb[-2]})")
    try:
        batch = tuple(np.broadcast_shapes(ma[:-2], mb[:-2]))
    except ValueError:
        raise ShapeError(f"matmul: the batch axes of shapes {sa} and {sb} do not broadcast") from None
    return batch + ((ma[-2],) if len(sa) >= 2 else ()) + ((mb[-1],) if len(sb) >= 2 else ())


def _swap_last(a: Any) -> Any:
    n = len(shape_of(a))
    return transpose(a, tuple(range(n - 2)) + (n - 1, n - 2))


def _matmul_vjp(g, a, b, out, needed=(True, True)):
    """(g bᵀ, aᵀ g), with vectors promoted and batch axes summed back. ``needed`` (an evaluator may
    pass it) skips the product of an argument that needs no cotangent, such as constant data."""
    sa, sb = shape_of(a), shape_of(b)
    ma, mb = _as_matrices(sa, sb)
    a2, b2 = _reshaped(a, ma), _reshaped(b, mb)
    batch = tuple(np.broadcast_shapes(ma[:-2], mb[:-2]))
    g2 = _reshaped(g, batch + (ma[-2], mb[-1]))
    grad_a = grad_b = None
    if needed[0]:
        grad_a = matmul(g2, _swap_last(b2))
        grad_a = _reshaped(grad_a if shape_of(grad_a) == ma else sum_to(grad_a, attr=ma), sa)
    if needed[1]:
        grad_b = matmul(_swap_last(a2), g2)
        grad_b = _reshaped(grad_b if shape_of(grad_b) == mb else sum_to(grad_b, attr=mb), sb)
    return grad_a, grad_b


matmul = define(
    "matmul", 2, np.matmul, None, public=False, shape=_matmul_shape,
    vjp=_matmul_vjp, linear=True, infix="@", precedence=2, label="@", jax="matmul", torch="matmul",
    doc="The matrix product ``a @ b`` (NumPy's matmul: vectors promoted, batch axes broadcast).")


# ---- transpose and reshape ---------------------------------------------------------------------------


TransposeAttr = attr_type("TransposeAttr", "axes")


def _transpose_shape(sa: tuple, attr) -> tuple:
    if sorted(attr.axes) != list(range(len(sa))):
        raise ShapeError(f"transpose: axes {attr.axes} are not a permutation of the {len(sa)} axes of "
                         f"shape {sa}")
    return tuple(sa[i] for i in attr.axes)


_transpose = define(
    "transpose", 1, lambda a, attr: np.transpose(a, attr.axes), None, public=False, has_attr=True,
    shape=_transpose_shape, linear=True,
    jax=lambda jax, a, attr: jax.numpy.transpose(a, attr.axes),
    torch=lambda torch, a, attr: torch.permute(a, attr.axes),
    vjp=lambda g, a, out, attr: (transpose(g, tuple(np.argsort(attr.axes).tolist())),),
    doc="Permute the axes (``attr.axes``: the permutation).")


def transpose(a: Any, axes: Sequence[int] | None = None) -> Any:
    """Permute the axes of ``a`` (reverse them by default); ``node.T`` is the same.

    >>> import diffexplore as dx
    >>> W = dx.variable("W", shape=(3, 4))
    >>> dx.transpose(W).shape, W.T is dx.transpose(W)
    ((4, 3), True)
    """
    ndim = len(shape_of(a))
    perm = tuple(reversed(range(ndim))) if axes is None else tuple(int(i) % ndim if ndim else int(i)
                                                                   for i in axes)
    if perm == tuple(range(ndim)) and isinstance(a, Node):
        return a
    return _transpose(a, attr=TransposeAttr(perm))


def _resolve_shape(sa: tuple, shape: Sequence[int]) -> tuple:
    shape = tuple(int(n) for n in ((shape,) if isinstance(shape, (int, np.integer)) else shape))
    size = math.prod(sa)
    if shape.count(-1) > 1:
        raise ShapeError(f"reshape: at most one -1 in the new shape, got {shape}")
    if -1 in shape:
        known = math.prod(n for n in shape if n != -1)
        if known == 0 or size % known:
            raise ShapeError(f"reshape: cannot reshape shape {sa} ({size} elements) to {shape}")
        shape = tuple(size // known if n == -1 else n for n in shape)
    if math.prod(shape) != size or builtins.any(n < 0 for n in shape):
        raise ShapeError(f"reshape: cannot reshape shape {sa} ({size} elements) to {shape} "
                         f"({math.prod(shape)} elements)")
    return shape


ReshapeAttr = attr_type("ReshapeAttr", "shape")

_reshape = define(
    "reshape", 1, lambda a, attr: np.reshape(a, attr.shape), None, public=False, has_attr=True,
    shape=lambda sa, attr: _resolve_shape(sa, attr.shape), linear=True,
    jax=lambda jax, a, attr: jax.numpy.reshape(a, attr.shape),
    torch=lambda torch, a, attr: torch.reshape(a, attr.shape),
    vjp=lambda g, a, out, attr: (_reshaped(g, shape_of(a)),),
    doc="The same elements in a new shape (``attr.shape``).")


def reshape(a: Any, shape: int | Sequence[int]) -> Any:
    """The elements of ``a`` in a new shape (one entry may be -1: inferred).

    >>> import diffexplore as dx
    >>> dx.reshape(dx.variable("x", shape=(2, 6)), (3, -1)).shape
    (3, 4)
    """
    return _reshape(a, attr=ReshapeAttr(_resolve_shape(shape_of(a), shape)))


# ---- reductions: sum and mean ------------------------------------------------------------------------

ReduceAttr = attr_type("ReduceAttr", "axis keepdims", quiet={"keepdims": False})


def _reduce_shape(sa: tuple, attr) -> tuple:
    return kept(sa, attr.axis) if attr.keepdims else reduced(sa, attr.axis)


def _torch_reduction(function_name: str) -> Any:
    """A reduction in PyTorch over ``attr.axis`` (no axes: the value itself; PyTorch reads ``dim=()``
    as every axis). ``prod`` takes one axis at a time."""
    def reduce(torch, a, attr):
        if not attr.axis:
            return a
        function = getattr(torch, function_name)
        if function_name != "prod":
            return function(a, dim=attr.axis, keepdim=attr.keepdims)
        for axis in sorted(attr.axis, reverse=True):
            a = function(a, dim=axis, keepdim=attr.keepdims)
        return a
    return reduce


def _jax_reduction(function_name: str) -> Any:
    return lambda jax, a, attr: getattr(jax.numpy, function_name)(a, axis=attr.axis, keepdims=attr.keepdims)


def _spread(g: Any, a: Any, attr) -> Any:
    """A reduction's adjoint: ``g`` back to the shape of ``a``, the same on every reduced element."""
    shape = shape_of(a)
    if shape_of(g):
        g = _reshaped(g, kept(shape, attr.axis))
    return g if shape_of(g) == shape else broadcast_to(g, attr=shape)


def _count(shape: tuple, axes: tuple) -> int:
    return math.prod(shape[i] for i in axes)


_sum = define(
    "sum", 1, lambda a, attr: _scalar(np.sum(a, axis=attr.axis, keepdims=attr.keepdims)), None,
    public=False, has_attr=True, shape=_reduce_shape, linear=True,
    jax=_jax_reduction("sum"), torch=_torch_reduction("sum"),
    vjp=lambda g, a, out, attr: (_spread(g, a, attr),),
    doc="The sum over ``attr.axis``.")

_mean = define(
    "mean", 1, lambda a, attr: _scalar(np.mean(a, axis=attr.axis, keepdims=attr.keepdims)), None,
    public=False, has_attr=True, shape=_reduce_shape, linear=True,
    jax=_jax_reduction("mean"), torch=_torch_reduction("mean"),
    vjp=lambda g, a, out, attr: (_spread(g, a, attr) * (1.0 / _count(shape_of(a), attr.axis)),),
    doc="The mean over ``attr.axis``.")


def sum(a: Any, axis: int | Sequence[int] | None = None, keepdims: bool = False) -> Any:
    """The sum of the elements of ``a`` over ``axis`` (all axes by default), as NumPy's ``sum``.

    >>> import diffexplore as dx
    >>> dx.sum(dx.variable("x", shape=(2, 3)), axis=0).shape
    (3,)
    >>> dx.sum(np.array([[1.0, 2.0], [3.0, 4.0]]), axis=1)
    array([3., 7.])
    """
    return _sum(a, attr=ReduceAttr(normalise_axes(axis, shape_of(a), "sum"), bool(keepdims)))


def mean(a: Any, axis: int | Sequence[int] | None = None, keepdims: bool = False) -> Any:
    """The mean of the elements of ``a`` over ``axis`` (all axes by default), as NumPy's ``mean``.

    >>> import diffexplore as dx
    >>> dx.mean(np.array([[1.0, 2.0], [3.0, 4.0]]))
    2.5
    """
    return _mean(a, attr=ReduceAttr(normalise_axes(axis, shape_of(a), "mean"), bool(keepdims)))


# ---- reductions that choose or multiply: max, min, prod -------------------------------------------------


def _chosen(a: Any, out: Any, attr) -> Any:
    """Where ``a`` holds its reduction's value, each of k ties weighted 1/k (the gradient is split evenly,
    as JAX and PyTorch split it); NaN where the value is NaN (a NaN has no place to go)."""
    at = _reshaped(out, kept(shape_of(a), attr.axis)) if not attr.keepdims else out
    hit = equal(a, at)
    count = sum(hit, axis=attr.axis, keepdims=True)
    return select(count, hit / maximum(count, 1.0), float("nan"))


def _chooser(name: str, numpy_function: Any) -> Any:
    return define(
        name, 1, lambda a, attr: _scalar(numpy_function(a, axis=attr.axis, keepdims=attr.keepdims)), None,
        public=False, has_attr=True, shape=_reduce_shape,
        jax=_jax_reduction(name), torch=_torch_reduction("a" + name),
        vjp=lambda g, a, out, attr: (_spread(g, a, attr) * _chosen(a, out, attr),),
        jvp=lambda tangents, a, out, attr: sum(as_shape(tangents[0], a) * _chosen(a, out, attr),
                                               axis=attr.axis, keepdims=attr.keepdims),
        doc=f"The {name}imum over ``attr.axis`` (its gradient split evenly among ties).")


_max = _chooser("max", np.max)
_min = _chooser("min", np.min)


def _prod_partial(a: Any, out: Any, attr) -> Any:
    """∂prod/∂a_i = prod / a_i (a zero entry is a domain error, reported naming the node)."""
    return (_reshaped(out, kept(shape_of(a), attr.axis)) if not attr.keepdims else out) / a


_prod = define(
    "prod", 1, lambda a, attr: _scalar(np.prod(a, axis=attr.axis, keepdims=attr.keepdims)), None,
    public=False, has_attr=True, shape=_reduce_shape,
    jax=_jax_reduction("prod"), torch=_torch_reduction("prod"),
    vjp=lambda g, a, out, attr: (_spread(g, a, attr) * _prod_partial(a, out, attr),),
    jvp=lambda tangents, a, out, attr: sum(as_shape(tangents[0], a) * _prod_partial(a, out, attr),
                                           axis=attr.axis, keepdims=attr.keepdims),
    doc="The product over ``attr.axis`` (its derivative divides by each factor: zeros are refused).")


def max(a: Any, axis: int | Sequence[int] | None = None, keepdims: bool = False) -> Any:
    """The largest element of ``a`` over ``axis`` (all axes by default), as NumPy's ``max``; its gradient
    goes to the largest elements, split evenly among ties.

    >>> import diffexplore as dx
    >>> a = dx.variable("a", shape=(2, 3))
    >>> dx.grad(dx.max(a), {"a": np.array([[1.0, 5.0, 2.0], [5.0, 0.0, 1.0]])})["a"]
    array([[0. , 0.5, 0. ],
           [0.5, 0. , 0. ]])
    """
    return _max(a, attr=ReduceAttr(normalise_axes(axis, shape_of(a), "max"), bool(keepdims)))


def min(a: Any, axis: int | Sequence[int] | None = None, keepdims: bool = False) -> Any:
    """The smallest element of ``a`` over ``axis`` (all axes by default), as NumPy's ``min``.

    >>> import diffexplore as dx
    >>> dx.min(np.array([[1.0, 5.0], [-2.0, 0.0]]), axis=1)
    array([ 1., -2.])
    """
    return _min(a, attr=ReduceAttr(normalise_axes(axis, shape_of(a), "min"), bool(keepdims)))


def prod(a: Any, axis: int | Sequence[int] | None = None, keepdims: bool = False) -> Any:
    """The product of the elements of ``a`` over ``axis`` (all axes by default), as NumPy's ``prod``.

    >>> import diffexplore as dx
    >>> a = dx.variable("a", shape=(3,))
    >>> dx.grad(dx.prod(a), {"a": np.array([2.0, 3.0, 4.0])})["a"]
    array([12.,  8.,  6.])
    """
    return _prod(a, attr=ReduceAttr(normalise_axes(axis, shape_of(a), "prod"), bool(keepdims)))


# ---- indexing: take and its adjoint ------------------------------------------------------------------


class Index:
    """A NumPy index (ints, slices, integer arrays, ``...``, ``None``) made hashable for a node's attr.

    >>> Index((0, slice(1, None)))
    [0, 1:]
    """

    __slots__ = ("key", "numpy", "advanced")

    def __init__(self, index: Any):
        items = index if isinstance(index, tuple) else (index,)
        key, numpy_items, advanced = [], [], False
        for item in items:
            if isinstance(item, Node):
                raise DiffexploreError("an index must be numbers, not a graph node (indices are not "
                                       "differentiable); for a soft selection multiply by dx.one_hot(...)")
            if isinstance(item, (bool, np.bool_)):
                raise DiffexploreError(f"a single boolean is not an index, got {item!r}")
            if isinstance(item, (int, np.integer)):
                key.append(("int", int(item)))
                numpy_items.append(int(item))
            elif isinstance(item, slice):
                parts = tuple(None if v is None else int(v) for v in (item.start, item.stop, item.step))
                key.append(("slice",) + parts)
                numpy_items.append(slice(*parts))
            elif item is Ellipsis:
                key.append(("ellipsis",))
                numpy_items.append(Ellipsis)
            elif item is None:
                key.append(("newaxis",))
                numpy_items.append(None)
            else:
                array = np.asarray(item)
                if array.dtype == bool:
                    arrays = np.nonzero(array)
                elif array.dtype.kind in "iu":
                    arrays = (array.astype(np.intp),)
                else:
                    raise DiffexploreError(f"an index array must hold integers or booleans, got dtype "
                                           f"{array.dtype}; allowed: ints, slices, integer/boolean arrays, "
                                           "..., None")
                for arr in arrays:
                    arr.setflags(write=False)
                    key.append(("array", arr.shape, tuple(arr.ravel().tolist())))
                    numpy_items.append(arr)
                advanced = True
        self.key = tuple(key)
        self.numpy = tuple(numpy_items)
        self.advanced = advanced

    def __hash__(self) -> int:
        return hash(self.key)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Index) and self.key == other.key

    def __repr__(self) -> str:
        parts = []
        for k in self.key:
            if k[0] == "int":
                parts.append(str(k[1]))
            elif k[0] == "slice":
                start, stop, step = ("" if v is None else str(v) for v in k[1:])
                parts.append(f"{start}:{stop}" + (f":{step}" if step else ""))
            elif k[0] == "ellipsis":
                parts.append("...")
            elif k[0] == "newaxis":
                parts.append("None")
            else:
                values = list(k[2])
                parts.append(str(values) if len(values) <= 8 else f"array{k[1]}")
        return "[" + ", ".join(parts) + "]"


def _torch_index(torch: Any, index: Index, device: Any) -> tuple:
    """An :class:`Index` for PyTorch: its integer arrays as tensors on ``device``."""
    return tuple(torch.as_tensor(item, device=device) if isinstance(item, np.ndarray) else item
                 for item in index.numpy)


def _torch_untake(torch, g, attr):
    out = torch.zeros(attr.shape, dtype=g.dtype, device=g.device)
    index = _torch_index(torch, attr.index, g.device)
    if not attr.index.advanced:
        out[index] = g
        return out
    if builtins.all(isinstance(item, torch.Tensor) for item in index):
        return out.index_put(index, torch.broadcast_to(g, out[index].shape), accumulate=True)
    raise DiffexploreError(f"_untake: the index {attr.index!r} mixes integer arrays with slices; its "
                           "PyTorch form (index_put with accumulation) takes integer arrays only")


def _take_shape(sa: tuple, attr: Index) -> tuple:
    try:
        return np.broadcast_to(np.empty((), dtype=np.int8), sa)[attr.numpy].shape
    except (IndexError, ValueError, TypeError) as exc:
        raise ShapeError(f"take: the index {attr!r} does not fit shape {sa}: {exc}") from None


UntakeAttr = attr_type("UntakeAttr", "index shape")


def _untake_impl(g, attr):
    out = np.zeros(attr.shape, dtype=np.result_type(g, np.float64))
    if attr.index.advanced:
        np.add.at(out, attr.index.numpy, g)          # repeated indices add up
    else:
        out[attr.index.numpy] = g
    return out


def _untake_shape(sg: tuple, attr) -> tuple:
    expected = _take_shape(attr.shape, attr.index)
    if np.broadcast_shapes(sg, expected) != expected:
        raise ShapeError(f"_untake: a cotangent of shape {sg} does not fit the selection of shape {expected}")
    return tuple(attr.shape)


_take = define(
    "take", 1, lambda a, attr: _scalar(np.asarray(a)[attr.numpy]), None, public=False, has_attr=True,
    shape=_take_shape, linear=True, jax=lambda jax, a, attr: jax.numpy.asarray(a)[attr.numpy],
    torch=lambda torch, a, attr: a[_torch_index(torch, attr, a.device)],
    vjp=lambda g, a, out, attr: (_untake(g, attr=UntakeAttr(attr, shape_of(a))),),
    doc="``a[index]`` (``attr``: the :class:`Index`).")

_untake = define(
    "_untake", 1, _untake_impl, None, public=False, has_attr=True, shape=_untake_shape, label="untake",
    jax=lambda jax, g, attr: jax.numpy.zeros(attr.shape, jax.numpy.result_type(g, 0.0)).at[
        attr.index.numpy].add(g),
    torch=_torch_untake,
    linear=True, vjp=lambda g, c, out, attr: (_take(g, attr=attr.index),),
    doc="The adjoint of take: zeros of ``attr.shape`` with ``c`` added at ``attr.index``.")


def take(a: Any, index: Any) -> Any:
    """``a[index]`` with NumPy's indexing (ints, slices, integer or boolean arrays, ``...``, ``None``);
    ``node[index]`` is the same. Repeated indices add up in the gradient.

    >>> import diffexplore as dx
    >>> x = dx.variable("x", shape=(4, 3))
    >>> x[1:3].shape, x[[0, 0, 2], 1].shape
    ((2, 3), (3,))
    >>> dx.grad(dx.sum(x[[0, 0, 2], 1]), {"x": np.zeros((4, 3))})["x"][:, 1]
    array([2., 0., 1., 0.])
    """
    return _take(a, attr=index if isinstance(index, Index) else Index(index))


def one_hot(labels: Any, num_classes: int, axis: int = -1) -> np.ndarray:
    """Integer class labels as a float array of 0s and 1s, the class axis at ``axis`` (a constant:
    labels are not differentiable).

    >>> one_hot([2, 0], 3)
    array([[0., 0., 1.],
           [1., 0., 0.]])
    >>> one_hot([2, 0], 3, axis=0).shape
    (3, 2)
    """
    labels = np.asarray(labels)
    if labels.dtype.kind not in "iu":
        raise DiffexploreError(f"one_hot: labels must be integers, got dtype {labels.dtype}")
    if labels.size and (labels.min() < 0 or labels.max() >= num_classes):
        raise DiffexploreError(f"one_hot: labels must lie in 0..{num_classes - 1}, got "
                               f"{labels.min()}..{labels.max()}")
    encoded = (labels[..., None] == np.arange(num_classes)).astype(np.float64)
    return np.moveaxis(encoded, -1, axis)


# ---- concatenate -------------------------------------------------------------------------------------


AxisAttr = attr_type("AxisAttr", "axis")


def _concatenate_shape(sa: tuple, sb: tuple, attr) -> tuple:
    axis = attr.axis
    if len(sa) != len(sb) or not sa:
        raise ShapeError(f"concatenate: shapes {sa} and {sb} need the same number (at least 1) of axes")
    if not 0 <= axis < len(sa):
        raise ShapeError(f"concatenate: axis {axis} is out of range for shapes {sa} and {sb}")
    if builtins.any(m != n for i, (m, n) in enumerate(zip(sa, sb, strict=True)) if i != axis):
        raise ShapeError(f"concatenate: shapes {sa} and {sb} differ on an axis other than axis {axis}")
    return tuple(m + n if i == axis else m for i, (m, n) in enumerate(zip(sa, sb, strict=True)))


def _concatenate_vjp(g, a, b, out, attr):
    n = shape_of(a)[attr.axis]
    lead = (slice(None),) * attr.axis
    return take(g, lead + (slice(0, n),)), take(g, lead + (slice(n, None),))


def _concatenate_jvp(tangents, a, b, out, attr):
    """concatenate(ta, tb), a missing tangent as zeros: concatenate is linear in (a, b) jointly, not in
    each separately, so ``linear=True`` (Σ of one term per argument) would not fit."""
    ta, tb = (as_shape(t, v) if t is not None else np.zeros(shape_of(v))
              for t, v in zip(tangents, (a, b), strict=True))
    return _concatenate(ta, tb, attr=attr)


_concatenate = define(
    "concatenate", 2, lambda a, b, attr: np.concatenate([a, b], axis=attr.axis), None, public=False,
    has_attr=True, shape=_concatenate_shape, vjp=_concatenate_vjp, jvp=_concatenate_jvp,
    jax=lambda jax, a, b, attr: jax.numpy.concatenate([a, b], axis=attr.axis),
    torch=lambda torch, a, b, attr: torch.cat([a, b], dim=attr.axis),
    doc="Two arrays joined along ``attr.axis``.")


def concatenate(arrays: Sequence[Any], axis: int = 0) -> Any:
    """Arrays joined along ``axis`` (NumPy's ``concatenate``); more than two are joined pairwise,
    left to right.

    >>> import diffexplore as dx
    >>> a, b = dx.variable("a", shape=(2, 3)), dx.variable("b", shape=(2, 5))
    >>> dx.concatenate([a, b], axis=1).shape
    (2, 8)
    """
    arrays = list(arrays)
    if not arrays:
        raise DiffexploreError("concatenate needs at least one array")
    out = arrays[0]
    for b in arrays[1:]:
        out = _concatenate(out, b, attr=AxisAttr(normalise_axes(axis, shape_of(out), "concatenate")[0]))
    return out

