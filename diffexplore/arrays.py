"""Build: array primitives, one rule-table block each.

Matrix product, reductions (``sum``, ``mean``), shape plumbing (``transpose``, ``reshape``,
``concatenate``), indexing (``take``, i.e. ``a[index]``), ``log_softmax``, and the neural-network units
that do not fit the layered ``φ(W z + b)`` picture: ``conv2d``, ``max_pool2d``, ``dropout`` and
``batch_norm`` (PyTorch's NCHW / OIHW layout). Elementwise functions and ``+ - * / **`` need nothing
here: they broadcast already (``graph.apply``), and the reverse sweep sums a broadcast adjoint back with
``rules.sum_to``.

Each block gives the numeric implementation (NumPy), the output shape (checked when the node is built,
with a :class:`~diffexplore.errors.ShapeError` naming both shapes), a vector-Jacobian product ``vjp``
and a Jacobian-vector product ``jvp``. The vjp/jvp are written with diffexplore's own functions, so the
same rule computes numbers in the evaluators and builds array nodes in :func:`diffexplore.gradient_graph`.
Linear maps come in adjoint pairs so the symbolic derivative stays closed: ``take``/``_untake``,
``conv2d`` with ``_conv2d_input_grad``/``_conv2d_weight_grad``, ``max_pool2d`` with
``_pool_select``/``_pool_scatter``.
"""

from __future__ import annotations

import builtins
import collections
import math
from collections.abc import Sequence
from typing import Any

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

from .errors import DiffexploreError, ShapeError
from .graph import ArrayValue, Node
from .rules import broadcast_to, define, exp, sqrt, sum_to

__all__ = [
    "matmul", "transpose", "reshape", "sum", "mean", "concatenate", "take", "one_hot", "Index",
    "log_softmax", "softmax_cross_entropy", "conv2d", "max_pool2d", "dropout", "batch_norm",
]


# ---- helpers: shapes of nodes and numbers alike, attributes that print as keyword arguments ----------


def _shape(a: Any) -> tuple:
    """The shape of a node, an array or a number."""
    return a.shape if isinstance(a, (Node, np.ndarray)) else np.shape(a)


_PAIRS = frozenset({"stride", "padding", "kernel_size"})


def _compact(field: str, value: Any) -> str:
    """A pair of equal ints as one int (``stride=2`` for (2, 2)), a mask by how much it keeps."""
    if field in _PAIRS and len(value) == 2 and value[0] == value[1]:
        return str(value[0])
    if isinstance(value, ArrayValue):
        return f"{int(np.count_nonzero(value.array))}/{value.array.size}"
    return repr(value)


def _attr_type(name: str, fields: str, quiet: dict | None = None):
    """A hashable attribute tuple that prints as ``field=value, ...`` (formula text reads like a call);
    fields holding their ``quiet`` value (a default) are not printed."""
    cls = collections.namedtuple(name, fields)
    quiet = quiet or {}
    def text(self) -> str:
        shown = [(k, v) for k, v in zip(self._fields, self, strict=True) if k not in quiet or quiet[k] != v]
        return ", ".join(f"{k}={_compact(k, v)}" for k, v in shown)

    cls.__repr__ = text
    return cls


def _scalar(value: Any) -> Any:
    """A 0-d result as a Python number (the evaluators keep scalars as floats)."""
    return value.item() if isinstance(value, (np.ndarray, np.generic)) and value.ndim == 0 else value


def _as_shape(value: Any, like: Any) -> Any:
    """``value`` broadcast to the shape of ``like`` if it is smaller (a tangent of a broadcast input)."""
    if value is None or _shape(value) == _shape(like):
        return value
    return broadcast_to(value, attr=_shape(like))


def _reshaped(a: Any, shape: tuple) -> Any:
    return a if _shape(a) == tuple(shape) else reshape(a, shape)


def _total(terms: Sequence[Any]) -> Any:
    """The sum of the terms that are not ``None`` (``None`` is a zero tangent)."""
    present = [t for t in terms if t is not None]
    if not present:
        return None
    out = present[0]
    for t in present[1:]:
        out = out + t
    return out


def _normalise_axes(axis: int | Sequence[int] | None, shape: tuple, op: str) -> tuple[int, ...]:
    ndim = len(shape)
    if axis is None:
        return tuple(range(ndim))
    axes = (axis,) if isinstance(axis, (int, np.integer)) else tuple(axis)
    out = []
    for ax in axes:
        if not -ndim <= int(ax) < ndim:
            raise ShapeError(f"{op}: axis {ax} is out of range for shape {shape} "
                             f"(allowed: {-ndim} to {ndim - 1})")
        out.append(int(ax) % ndim)
    if len(set(out)) != len(out):
        raise ShapeError(f"{op}: axis {axis} repeats an axis")
    return tuple(sorted(out))


def _kept(shape: tuple, axes: tuple) -> tuple:
    """``shape`` with the reduced ``axes`` kept as length 1 (NumPy's keepdims)."""
    return tuple(1 if i in axes else n for i, n in enumerate(shape))


def _reduced(shape: tuple, axes: tuple) -> tuple:
    return tuple(n for i, n in enumerate(shape) if i not in axes)


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
    n = len(_shape(a))
    return transpose(a, tuple(range(n - 2)) + (n - 1, n - 2))


def _matmul_vjp(g, a, b, out, needed=(True, True)):
    """(g bᵀ, aᵀ g), with vectors promoted and batch axes summed back. ``needed`` (an evaluator may
    pass it) skips the product of an argument that needs no cotangent, such as constant data."""
    sa, sb = _shape(a), _shape(b)
    ma, mb = _as_matrices(sa, sb)
    a2, b2 = _reshaped(a, ma), _reshaped(b, mb)
    batch = tuple(np.broadcast_shapes(ma[:-2], mb[:-2]))
    g2 = _reshaped(g, batch + (ma[-2], mb[-1]))
    grad_a = grad_b = None
    if needed[0]:
        grad_a = matmul(g2, _swap_last(b2))
        grad_a = _reshaped(grad_a if _shape(grad_a) == ma else sum_to(grad_a, attr=ma), sa)
    if needed[1]:
        grad_b = matmul(_swap_last(a2), g2)
        grad_b = _reshaped(grad_b if _shape(grad_b) == mb else sum_to(grad_b, attr=mb), sb)
    return grad_a, grad_b


def _matmul_jvp(tangents, a, b, out):
    ta, tb = _as_shape(tangents[0], a), _as_shape(tangents[1], b)
    return _total([None if ta is None else matmul(ta, b), None if tb is None else matmul(a, tb)])


matmul = define(
    "matmul", 2, np.matmul, None, public=False, shape=_matmul_shape,
    vjp=_matmul_vjp, jvp=_matmul_jvp, infix="@", precedence=2, label="@",
    doc="The matrix product ``a @ b`` (NumPy's matmul: vectors promoted, batch axes broadcast).")


# ---- transpose and reshape ---------------------------------------------------------------------------


TransposeAttr = _attr_type("TransposeAttr", "axes")


def _transpose_shape(sa: tuple, attr) -> tuple:
    if sorted(attr.axes) != list(range(len(sa))):
        raise ShapeError(f"transpose: axes {attr.axes} are not a permutation of the {len(sa)} axes of "
                         f"shape {sa}")
    return tuple(sa[i] for i in attr.axes)


_transpose = define(
    "transpose", 1, lambda a, attr: np.transpose(a, attr.axes), None, public=False, has_attr=True,
    shape=_transpose_shape,
    vjp=lambda g, a, out, attr: (transpose(g, tuple(np.argsort(attr.axes).tolist())),),
    jvp=lambda tangents, a, out, attr: _transpose(_as_shape(tangents[0], a), attr=attr),
    doc="Permute the axes (``attr.axes``: the permutation).")


def transpose(a: Any, axes: Sequence[int] | None = None) -> Any:
    """Permute the axes of ``a`` (reverse them by default); ``node.T`` is the same.

    >>> import diffexplore as dx
    >>> W = dx.variable("W", shape=(3, 4))
    >>> dx.transpose(W).shape, W.T is dx.transpose(W)
    ((4, 3), True)
    """
    ndim = len(_shape(a))
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


ReshapeAttr = _attr_type("ReshapeAttr", "shape")

_reshape = define(
    "reshape", 1, lambda a, attr: np.reshape(a, attr.shape), None, public=False, has_attr=True,
    shape=lambda sa, attr: _resolve_shape(sa, attr.shape),
    vjp=lambda g, a, out, attr: (_reshaped(g, _shape(a)),),
    jvp=lambda tangents, a, out, attr: _reshape(_as_shape(tangents[0], a), attr=attr),
    doc="The same elements in a new shape (``attr.shape``).")


def reshape(a: Any, shape: int | Sequence[int]) -> Any:
    """The elements of ``a`` in a new shape (one entry may be -1: inferred).

    >>> import diffexplore as dx
    >>> dx.reshape(dx.variable("x", shape=(2, 6)), (3, -1)).shape
    (3, 4)
    """
    return _reshape(a, attr=ReshapeAttr(_resolve_shape(_shape(a), shape)))


# ---- reductions: sum and mean ------------------------------------------------------------------------

ReduceAttr = _attr_type("ReduceAttr", "axis keepdims", quiet={"keepdims": False})


def _reduce_shape(sa: tuple, attr) -> tuple:
    return _kept(sa, attr.axis) if attr.keepdims else _reduced(sa, attr.axis)


def _spread(g: Any, a: Any, attr) -> Any:
    """A reduction's adjoint: ``g`` back to the shape of ``a``, the same on every reduced element."""
    shape = _shape(a)
    if _shape(g):
        g = _reshaped(g, _kept(shape, attr.axis))
    return g if _shape(g) == shape else broadcast_to(g, attr=shape)


def _count(shape: tuple, axes: tuple) -> int:
    return math.prod(shape[i] for i in axes)


_sum = define(
    "sum", 1, lambda a, attr: _scalar(np.sum(a, axis=attr.axis, keepdims=attr.keepdims)), None,
    public=False, has_attr=True, shape=_reduce_shape,
    vjp=lambda g, a, out, attr: (_spread(g, a, attr),),
    jvp=lambda tangents, a, out, attr: _sum(_as_shape(tangents[0], a), attr=attr),
    doc="The sum over ``attr.axis``.")

_mean = define(
    "mean", 1, lambda a, attr: _scalar(np.mean(a, axis=attr.axis, keepdims=attr.keepdims)), None,
    public=False, has_attr=True, shape=_reduce_shape,
    vjp=lambda g, a, out, attr: (_spread(g, a, attr) * (1.0 / _count(_shape(a), attr.axis)),),
    jvp=lambda tangents, a, out, attr: _mean(_as_shape(tangents[0], a), attr=attr),
    doc="The mean over ``attr.axis``.")


def sum(a: Any, axis: int | Sequence[int] | None = None, keepdims: bool = False) -> Any:
    """The sum of the elements of ``a`` over ``axis`` (all axes by default), as NumPy's ``sum``.

    >>> import diffexplore as dx
    >>> dx.sum(dx.variable("x", shape=(2, 3)), axis=0).shape
    (3,)
    >>> dx.sum(np.array([[1.0, 2.0], [3.0, 4.0]]), axis=1)
    array([3., 7.])
    """
    return _sum(a, attr=ReduceAttr(_normalise_axes(axis, _shape(a), "sum"), bool(keepdims)))


def mean(a: Any, axis: int | Sequence[int] | None = None, keepdims: bool = False) -> Any:
    """The mean of the elements of ``a`` over ``axis`` (all axes by default), as NumPy's ``mean``.

    >>> import diffexplore as dx
    >>> dx.mean(np.array([[1.0, 2.0], [3.0, 4.0]]))
    2.5
    """
    return _mean(a, attr=ReduceAttr(_normalise_axes(axis, _shape(a), "mean"), bool(keepdims)))


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


def _take_shape(sa: tuple, attr: Index) -> tuple:
    try:
        return np.broadcast_to(np.empty((), dtype=np.int8), sa)[attr.numpy].shape
    except (IndexError, ValueError, TypeError) as exc:
        raise ShapeError(f"take: the index {attr!r} does not fit shape {sa}: {exc}") from None


UntakeAttr = _attr_type("UntakeAttr", "index shape")


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
    shape=_take_shape,
    vjp=lambda g, a, out, attr: (_untake(g, attr=UntakeAttr(attr, _shape(a))),),
    jvp=lambda tangents, a, out, attr: _take(_as_shape(tangents[0], a), attr=attr),
    doc="``a[index]`` (``attr``: the :class:`Index`).")

_untake = define(
    "_untake", 1, _untake_impl, None, public=False, has_attr=True, shape=_untake_shape, label="untake",
    vjp=lambda g, c, out, attr: (_take(g, attr=attr.index),),
    jvp=lambda tangents, c, out, attr: _untake(tangents[0], attr=attr),
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


AxisAttr = _attr_type("AxisAttr", "axis")


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
    n = _shape(a)[attr.axis]
    lead = (slice(None),) * attr.axis
    return take(g, lead + (slice(0, n),)), take(g, lead + (slice(n, None),))


def _concatenate_jvp(tangents, a, b, out, attr):
    ta, tb = (_as_shape(t, v) if t is not None else np.zeros(_shape(v))
              for t, v in zip(tangents, (a, b), strict=True))
    return _concatenate(ta, tb, attr=attr)


_concatenate = define(
    "concatenate", 2, lambda a, b, attr: np.concatenate([a, b], axis=attr.axis), None, public=False,
    has_attr=True, shape=_concatenate_shape, vjp=_concatenate_vjp, jvp=_concatenate_jvp,
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
        out = _concatenate(out, b, attr=AxisAttr(_normalise_axes(axis, _shape(out), "concatenate")[0]))
    return out


# ---- log-softmax and softmax cross-entropy -----------------------------------------------------------


def _log_softmax_impl(a, attr):
    shifted = a - np.max(np.real(a), axis=attr.axis, keepdims=True)
    return shifted - np.log(np.sum(np.exp(shifted), axis=attr.axis, keepdims=True))


_log_softmax = define(
    "log_softmax", 1, _log_softmax_impl, None, public=False, has_attr=True,
    shape=lambda sa, attr: sa,
    vjp=lambda g, a, out, attr: (g - exp(out) * sum(g, axis=attr.axis, keepdims=True),),
    jvp=lambda tangents, a, out, attr: (
        _as_shape(tangents[0], a) - sum(exp(out) * tangents[0], axis=attr.axis, keepdims=True)),
    doc="log(softmax(a)) along ``attr.axis``, computed stably (the maximum subtracted first).")


def log_softmax(a: Any, axis: int = -1) -> Any:
    """``a - log(sum(exp(a), axis))``: log-probabilities along ``axis``, computed stably.

    >>> import diffexplore as dx
    >>> p = np.exp(dx.log_softmax(np.array([1.0, 2.0, 3.0])))
    >>> round(float(p.sum()), 12)
    1.0
    """
    return _log_softmax(a, attr=AxisAttr(_normalise_axes(axis, _shape(a), "log_softmax")[0]))


def softmax_cross_entropy(logits: Any, labels: Any, axis: int = -1) -> Any:
    """The mean cross-entropy of softmax(logits) against ``labels``: integer classes (shape of
    ``logits`` without ``axis``) or target probabilities / one-hot rows (shape of ``logits``, a node
    or an array). Built from ``log_softmax``, ``*``, ``sum``: its gradient comes from those rules.

    >>> import diffexplore as dx
    >>> loss = dx.softmax_cross_entropy(np.zeros((2, 4)), [1, 3])   # uniform guesses over 4 classes
    >>> round(loss, 12) == round(float(np.log(4.0)), 12)
    True
    """
    shape = _shape(logits)
    ax = _normalise_axes(axis, shape, "softmax_cross_entropy")[0]
    if isinstance(labels, Node):
        targets = labels
    else:
        labels = np.asarray(labels)
        targets = one_hot(labels, shape[ax], axis=ax) if labels.dtype.kind in "iu" else labels
    if _shape(targets) != shape:
        raise ShapeError(f"softmax_cross_entropy: targets of shape {_shape(targets)} do not fit logits of "
                         f"shape {shape} (allowed: integer labels of shape {_reduced(shape, (ax,))} or "
                         f"targets of shape {shape})")
    count = math.prod(shape) // shape[ax]
    return sum(targets * log_softmax(logits, axis=ax)) * (-1.0 / count)


# ---- conv2d (NCHW input, OIHW weight) and its two adjoint halves --------------------------------------

ConvAttr = _attr_type("ConvAttr", "stride padding", quiet={"stride": (1, 1), "padding": (0, 0)})
ConvInputAttr = _attr_type("ConvInputAttr", "stride padding size")       # size: the input's (H, W)
ConvWeightAttr = _attr_type("ConvWeightAttr", "stride padding kernel")   # kernel: (kh, kw)


def _windows(x, kernel: tuple, stride: tuple, padding: tuple):
    """Every kernel window of the padded input: shape (N, C, Ho, Wo, kh, kw), a view where possible."""
    ph, pw = padding
    if ph or pw:
        x = np.pad(x, ((0, 0), (0, 0), (ph, ph), (pw, pw)))
    view = sliding_window_view(x, kernel, axis=(2, 3))
    return view[:, :, ::stride[0], ::stride[1]]


def _conv_out(size: tuple, kernel: tuple, stride: tuple, padding: tuple) -> tuple:
    return tuple((n + 2 * p - k) // s + 1 for n, k, s, p in zip(size, kernel, stride, padding, strict=True))


def _conv2d_impl(x, w, attr):
    windows = _windows(x, w.shape[2:], attr.stride, attr.padding)
    out = np.tensordot(windows, w, axes=([1, 4, 5], [1, 2, 3]))      # (N, Ho, Wo, O)
    return np.ascontiguousarray(np.moveaxis(out, -1, 1))


def _conv2d_shape(sx: tuple, sw: tuple, attr) -> tuple:
    if len(sx) != 4 or len(sw) != 4:
        raise ShapeError(f"conv2d: input shape {sx} and weight shape {sw}: expected (N, C, H, W) and "
                         "(O, C, kh, kw)")
    if sx[1] != sw[1]:
        raise ShapeError(f"conv2d: input shape {sx} has {sx[1]} channels but weight shape {sw} expects "
                         f"{sw[1]}")
    ho, wo = _conv_out(sx[2:], sw[2:], attr.stride, attr.padding)
    if ho < 1 or wo < 1:
        raise ShapeError(f"conv2d: kernel {sw[2:]} does not fit input {sx[2:]} with padding {attr.padding}")
    return (sx[0], sw[0], ho, wo)


def _conv2d_input_grad_impl(g, w, attr):
    (sh, sw_), (ph, pw) = attr.stride, attr.padding
    n, _o, ho, wo = g.shape
    height, width = attr.size
    kh, kw = w.shape[2:]
    padded = np.zeros((n, w.shape[1], height + 2 * ph, width + 2 * pw), dtype=np.result_type(g, w))
    for i in range(kh):
        for j in range(kw):
            part = np.tensordot(g, w[:, :, i, j], axes=([1], [0]))   # (N, Ho, Wo, C)
            padded[:, :, i:i + sh * ho:sh, j:j + sw_ * wo:sw_] += np.moveaxis(part, -1, 1)
    return padded[:, :, ph:ph + height, pw:pw + width]


def _conv2d_weight_grad_impl(x, g, attr):
    windows = _windows(x, attr.kernel, attr.stride, attr.padding)    # (N, C, Ho, Wo, kh, kw)
    return np.tensordot(g, windows, axes=([0, 2, 3], [0, 2, 3]))      # (O, C, kh, kw)


def _input_attr(attr, x) -> Any:
    return ConvInputAttr(attr.stride, attr.padding, tuple(_shape(x)[2:]))


def _weight_attr(attr, w) -> Any:
    return ConvWeightAttr(attr.stride, attr.padding, tuple(_shape(w)[2:]))


def _conv_attr(attr) -> Any:
    return ConvAttr(attr.stride, attr.padding)


def _conv2d_vjp(g, x, w, out, attr, needed=(True, True)):
    return (_conv2d_input_grad(g, w, attr=_input_attr(attr, x)) if needed[0] else None,
            _conv2d_weight_grad(x, g, attr=_weight_attr(attr, w)) if needed[1] else None)


_conv2d = define(
    "conv2d", 2, _conv2d_impl, None, public=False, has_attr=True, shape=_conv2d_shape,
    vjp=_conv2d_vjp,
    jvp=lambda tangents, x, w, out, attr: _total([
        None if tangents[0] is None else _conv2d(_as_shape(tangents[0], x), w, attr=attr),
        None if tangents[1] is None else _conv2d(x, _as_shape(tangents[1], w), attr=attr)]),
    doc="2-D cross-correlation of an (N, C, H, W) input with (O, C, kh, kw) weights (PyTorch's conv2d).")

_conv2d_input_grad = define(
    "_conv2d_input_grad", 2, _conv2d_input_grad_impl, None, public=False, has_attr=True,
    label="conv2dᵀ (input)",
    shape=lambda sg, sw, attr: (sg[0], sw[1]) + tuple(attr.size),
    vjp=lambda u, g, w, out, attr: (_conv2d(u, w, attr=_conv_attr(attr)),
                                    _conv2d_weight_grad(u, g, attr=_weight_attr(attr, w))),
    jvp=lambda tangents, g, w, out, attr: _total([
        None if tangents[0] is None else _conv2d_input_grad(_as_shape(tangents[0], g), w, attr=attr),
        None if tangents[1] is None else _conv2d_input_grad(g, _as_shape(tangents[1], w), attr=attr)]),
    doc="The adjoint of conv2d in its input: spreads an output cotangent back over the input.")

_conv2d_weight_grad = define(
    "_conv2d_weight_grad", 2, _conv2d_weight_grad_impl, None, public=False, has_attr=True,
    label="conv2dᵀ (weight)",
    shape=lambda sx, sg, attr: (sg[1], sx[1]) + tuple(attr.kernel),
    vjp=lambda v, x, g, out, attr: (
        _conv2d_input_grad(g, v, attr=ConvInputAttr(attr.stride, attr.padding, tuple(_shape(x)[2:]))),
        _conv2d(x, v, attr=_conv_attr(attr))),
    jvp=lambda tangents, x, g, out, attr: _total([
        None if tangents[0] is None else _conv2d_weight_grad(_as_shape(tangents[0], x), g, attr=attr),
        None if tangents[1] is None else _conv2d_weight_grad(x, _as_shape(tangents[1], g), attr=attr)]),
    doc="The adjoint of conv2d in its weight: correlates the input with an output cotangent.")


def _pair(value: int | Sequence[int], name: str) -> tuple[int, int]:
    pair = (value, value) if isinstance(value, (int, np.integer)) else tuple(value)
    if len(pair) != 2 or builtins.any(int(v) != v for v in pair):
        raise DiffexploreError(f"{name} must be an int or a pair of ints, got {value!r}")
    return int(pair[0]), int(pair[1])


def conv2d(x: Any, w: Any, stride: int | Sequence[int] = 1, padding: int | Sequence[int] = 0) -> Any:
    """2-D convolution as in PyTorch (a cross-correlation): input (N, C, H, W), weight (O, C, kh, kw),
    zero ``padding`` on both sides, output (N, O, Ho, Wo). Add a bias of shape (O, 1, 1) with ``+``.

    >>> import diffexplore as dx
    >>> x = dx.variable("x", shape=(2, 3, 8, 8))
    >>> w = dx.variable("w", shape=(4, 3, 3, 3))
    >>> dx.conv2d(x, w, stride=2, padding=1).shape
    (2, 4, 4, 4)
    """
    stride, padding = _pair(stride, "stride"), _pair(padding, "padding")
    if min(stride) < 1 or min(padding) < 0:
        raise DiffexploreError(f"conv2d: stride must be >= 1 and padding >= 0, got {stride} and {padding}")
    return _conv2d(x, w, attr=ConvAttr(stride, padding))


# ---- max_pool2d and its selection/scatter pair -------------------------------------------------------

PoolAttr = _attr_type("PoolAttr", "kernel_size stride")


def _argmax_positions(x, attr) -> np.ndarray:
    """For every output element, the flat (H*W) position of its window's maximum (first on a tie)."""
    kh, kw = attr.kernel_size
    sh, sw = attr.stride
    windows = _windows(np.real(x), (kh, kw), (sh, sw), (0, 0))      # (N, C, Ho, Wo, kh, kw)
    n, c, ho, wo = windows.shape[:4]
    best = windows.reshape(n, c, ho, wo, kh * kw).argmax(axis=-1)
    rows = np.arange(ho)[:, None] * sh + best // kw
    cols = np.arange(wo)[None, :] * sw + best % kw
    return rows * x.shape[3] + cols


def _pool_select_impl(x, t, attr):
    n, c, height, width = x.shape
    positions = _argmax_positions(x, attr)
    flat = np.reshape(t, (n, c, height * width))
    return np.take_along_axis(flat, positions.reshape(n, c, -1), axis=2).reshape(positions.shape)


def _pool_scatter_impl(x, g, attr):
    n, c, height, width = x.shape
    positions = _argmax_positions(x, attr)
    offsets = (np.arange(n * c) * height * width).reshape(n, c, 1, 1)
    where = (positions + offsets).ravel()
    g = np.broadcast_to(g, positions.shape).ravel()

    def spread(weights):
        return np.bincount(where, weights=weights, minlength=n * c * height * width)
    out = spread(g.real) + 1j * spread(g.imag) if np.iscomplexobj(g) else spread(g)
    return out.reshape(x.shape)


def _pool_shape(sx: tuple, attr) -> tuple:
    if len(sx) != 4:
        raise ShapeError(f"max_pool2d: input shape {sx}: expected (N, C, H, W)")
    ho, wo = _conv_out(sx[2:], attr.kernel_size, attr.stride, (0, 0))
    if ho < 1 or wo < 1:
        raise ShapeError(f"max_pool2d: kernel {attr.kernel_size} does not fit input {sx[2:]}")
    return sx[:2] + (ho, wo)


def _select_shape(sx: tuple, st: tuple, attr) -> tuple:
    if np.broadcast_shapes(sx, st) != sx:
        raise ShapeError(f"_pool_select: tangent shape {st} does not fit input shape {sx}")
    return _pool_shape(sx, attr)


def _scatter_shape(sx: tuple, sg: tuple, attr) -> tuple:
    expected = _pool_shape(sx, attr)
    if np.broadcast_shapes(sg, expected) != expected:
        raise ShapeError(f"_pool_scatter: cotangent shape {sg} does not fit pooled shape {expected}")
    return sx


_max_pool2d = define(
    "max_pool2d", 1, lambda x, attr: _pool_select_impl(x, x, attr), None, public=False, has_attr=True,
    shape=_pool_shape,
    vjp=lambda g, x, out, attr: (_pool_scatter(x, g, attr=attr),),
    jvp=lambda tangents, x, out, attr: _pool_select(x, _as_shape(tangents[0], x), attr=attr),
    doc="The maximum of every kernel window (first maximum on a tie).")

_pool_select = define(
    "_pool_select", 2, _pool_select_impl, None, public=False, has_attr=True, shape=_select_shape,
    label="pool select",
    vjp=lambda u, x, t, out, attr: (None, _pool_scatter(x, u, attr=attr)),
    jvp=lambda tangents, x, t, out, attr: (None if tangents[1] is None
                                           else _pool_select(x, _as_shape(tangents[1], t), attr=attr)),
    doc="The entries of ``t`` where ``x`` has its window maxima (linear in t; x only chooses).")

_pool_scatter = define(
    "_pool_scatter", 2, _pool_scatter_impl, None, public=False, has_attr=True, shape=_scatter_shape,
    label="pool scatter",
    vjp=lambda v, x, g, out, attr: (None, _pool_select(x, v, attr=attr)),
    jvp=lambda tangents, x, g, out, attr: (None if tangents[1] is None
                                           else _pool_scatter(x, tangents[1], attr=attr)),
    doc="Zeros of the shape of ``x`` with ``g`` added where ``x`` has its window maxima.")


def max_pool2d(x: Any, kernel_size: int | Sequence[int], stride: int | Sequence[int] | None = None) -> Any:
    """Max pooling as in PyTorch (no padding): the maximum of each kernel window of an (N, C, H, W)
    input; ``stride`` defaults to the kernel size. The gradient goes to each window's maximum (the
    first one on a tie).

    >>> x = np.arange(16.0).reshape(1, 1, 4, 4)
    >>> max_pool2d(x, 2)
    array([[[[ 5.,  7.],
             [13., 15.]]]])
    """
    kernel = _pair(kernel_size, "kernel_size")
    stride = kernel if stride is None else _pair(stride, "stride")
    if min(kernel) < 1 or min(stride) < 1:
        raise DiffexploreError(f"max_pool2d: kernel_size and stride must be >= 1, got {kernel} and {stride}")
    return _max_pool2d(x, attr=PoolAttr(kernel, stride))


# ---- dropout -----------------------------------------------------------------------------------------

DropoutAttr = _attr_type("DropoutAttr", "p kept")         # kept: the scaled keep-mask (an ArrayValue)


def _dropout_shape(sx: tuple, attr) -> tuple:
    if attr.kept.array.shape != sx:
        raise ShapeError(f"dropout: mask shape {attr.kept.array.shape} differs from input shape {sx}")
    return sx


_dropout = define(
    "dropout", 1, lambda x, attr: x * attr.kept.array, None, public=False, has_attr=True,
    shape=_dropout_shape,
    vjp=lambda g, x, out, attr: (_dropout(_as_shape(g, x), attr=attr),),
    jvp=lambda tangents, x, out, attr: _dropout(_as_shape(tangents[0], x), attr=attr),
    doc="Multiply by a fixed 0 or 1/(1-p) mask (``attr.kept``): linear, so its vjp and jvp are itself.")


def dropout(x: Any, p: float = 0.5, *, seed: int | None = None, mask: Any = None) -> Any:
    """Inverted dropout as in PyTorch's training mode: each element is kept with probability 1 - p and
    scaled by 1/(1 - p). Deterministic: the keep-mask comes from ``seed`` (NumPy's default_rng) or is
    given as ``mask`` (True/1 = keep, the shape of ``x``).

    >>> import diffexplore as dx
    >>> dx.dropout(np.ones(4), 0.5, mask=[1, 0, 1, 0])
    array([2., 0., 2., 0.])
    >>> d = dx.dropout(dx.variable("h", shape=(3, 5)), 0.2, seed=0)
    >>> d.op, d.shape
    ('dropout', (3, 5))
    """
    if not 0.0 <= p < 1.0:
        raise DiffexploreError(f"dropout: p must be in [0, 1), got {p}")
    if (seed is None) == (mask is None):
        raise DiffexploreError("dropout needs exactly one of seed= or mask= (so the result is reproducible)")
    shape = _shape(x)
    if mask is None:
        keep = np.random.default_rng(seed).random(shape) >= p
    else:
        keep = np.asarray(mask)
        if keep.shape != shape:
            raise ShapeError(f"dropout: mask shape {keep.shape} differs from input shape {shape}")
        if not np.isin(keep, (0, 1)).all():
            raise DiffexploreError("dropout: a mask holds only 0/1 or False/True (1 = keep)")
    scaled = keep.astype(np.float64) / (1.0 - p)
    return _dropout(x, attr=DropoutAttr(float(p), ArrayValue(scaled)))


# ---- batch normalisation (training-mode statistics) --------------------------------------------------

NormAttr = _attr_type("NormAttr", "axis eps", quiet={"eps": 1e-5})


def _normalised(x, attr):
    """x̂ = (x - mean) / sqrt(var + eps) and 1/sqrt(var + eps), with diffexplore's functions."""
    centred = x - mean(x, axis=attr.axis, keepdims=True)
    inv_std = 1.0 / sqrt(mean(centred * centred, axis=attr.axis, keepdims=True) + attr.eps)
    return centred * inv_std, inv_std


def _batch_norm_impl(x, gamma, beta, attr):
    keep = _kept(x.shape, attr.axis)
    centred = x - np.mean(x, axis=attr.axis, keepdims=True)
    var = np.mean(centred * centred, axis=attr.axis, keepdims=True)
    return np.reshape(gamma, keep) * (centred / np.sqrt(var + attr.eps)) + np.reshape(beta, keep)


def _normalised_jvp(tx, xhat, inv_std, axis):
    """The derivative of x̂ along tx: inv_std·(tx − mean(tx) − x̂·mean(x̂·tx)); symmetric, so also the vjp."""
    return inv_std * (tx - mean(tx, axis=axis, keepdims=True)
                      - xhat * mean(xhat * tx, axis=axis, keepdims=True))


def _batch_norm_vjp(g, x, gamma, beta, out, attr):
    xhat, inv_std = _normalised(x, attr)
    g = _as_shape(g, x)
    grad_x = _normalised_jvp(g * _reshaped(gamma, _kept(_shape(x), attr.axis)), xhat, inv_std, attr.axis)
    return grad_x, sum(g * xhat, axis=attr.axis), sum(g, axis=attr.axis)


def _batch_norm_jvp(tangents, x, gamma, beta, out, attr):
    keep = _kept(_shape(x), attr.axis)
    xhat, inv_std = _normalised(x, attr)
    tx, tgamma, tbeta = tangents
    total = _total([
        None if tx is None else _reshaped(gamma, keep) * _normalised_jvp(_as_shape(tx, x), xhat, inv_std,
                                                                         attr.axis),
        None if tgamma is None else _reshaped(_as_shape(tgamma, gamma), keep) * xhat,
        None if tbeta is None else _reshaped(_as_shape(tbeta, beta), keep)])
    return _as_shape(total, x)


def _batch_norm_shape(sx: tuple, sgamma: tuple, sbeta: tuple, attr) -> tuple:
    want = _reduced(sx, attr.axis)
    if sgamma != want or sbeta != want:
        raise ShapeError(f"batch_norm: gamma {sgamma} and beta {sbeta} must have shape {want} "
                         f"(input shape {sx} without the axes {attr.axis})")
    return sx


_batch_norm = define(
    "batch_norm", 3, _batch_norm_impl, None, public=False, has_attr=True, shape=_batch_norm_shape,
    vjp=_batch_norm_vjp, jvp=_batch_norm_jvp,
    doc="gamma·(x − mean)/sqrt(var + eps) + beta with the batch's own mean and variance over ``attr.axis``.")


def batch_norm(x: Any, gamma: Any, beta: Any, eps: float = 1e-5, axis: int | Sequence[int] = 0) -> Any:
    """Batch normalisation with training-mode statistics: the mean and (biased) variance over ``axis``
    (0 for (N, features); (0, 2, 3) for NCHW), then ``gamma * x̂ + beta``; ``gamma`` and ``beta`` have
    the shape of ``x`` without those axes (PyTorch's (C,)).

    >>> import diffexplore as dx
    >>> y = dx.batch_norm(np.array([[1.0], [3.0]]), np.ones(1), np.zeros(1), eps=0.0)
    >>> y.ravel().tolist()
    [-1.0, 1.0]
    """
    axes = _normalise_axes(axis, _shape(x), "batch_norm")
    return _batch_norm(x, gamma, beta, attr=NormAttr(axes, float(eps)))
