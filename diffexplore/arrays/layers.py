"""Build: neural-network layers as array primitives, one rule-table block each.

``log_softmax`` (and ``softmax_cross_entropy`` built from it), and the units that do not fit the
layered ``φ(W z + b)`` picture: ``conv2d``, ``max_pool2d``, ``dropout`` and ``batch_norm``, in
PyTorch's NCHW (input) / OIHW (weight) layout.

Each block gives the numeric implementation (NumPy), the output shape (checked when the node is built,
with a :class:`~diffexplore.errors.ShapeError` naming both shapes) and a vector-Jacobian product
``vjp`` written with diffexplore's own functions, so the same rule computes numbers in the evaluators
and builds array nodes in :func:`diffexplore.gradient_graph`. The linear primitives (``dropout``, the
bilinear ``conv2d`` and its two adjoint halves, the pooling pair in their second argument) get their
Jacobian-vector product from ``define(..., linear=...)``; the nonlinear ones (``log_softmax``,
``max_pool2d``, ``batch_norm``) write theirs. Linear maps come in adjoint pairs so the symbolic
derivative stays closed: ``conv2d`` with ``_conv2d_input_grad``/``_conv2d_weight_grad``, ``max_pool2d``
with ``_pool_select``/``_pool_scatter`` (linear in the values they move; the input ``x`` only chooses
where).
"""

from __future__ import annotations

import builtins
import math
from collections.abc import Sequence
from typing import Any

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

from ..errors import DiffexploreError, ShapeError
from ..graph import ArrayValue, Node
from ..rules import define, exp, sqrt
from .core import AxisAttr, _reshaped, mean, one_hot, sum
from .helpers import as_shape, attr_type, kept, normalise_axes, reduced, shape_of

__all__ = ["log_softmax", "softmax_cross_entropy", "conv2d", "max_pool2d", "dropout", "batch_norm"]


def _total(terms: Sequence[Any]) -> Any:
    """The sum of the terms that are not ``None`` (``None`` is a zero tangent)."""
    present = [t for t in terms if t is not None]
    if not present:
        return None
    out = present[0]
    for t in present[1:]:
        out = out + t
    return out


def _pair(value: int | Sequence[int], name: str) -> tuple[int, int]:
    """An int or a pair of ints as a pair (a kernel size, a stride, a padding)."""
    pair = (value, value) if isinstance(value, (int, np.integer)) else tuple(value)
    if len(pair) != 2 or builtins.any(int(v) != v for v in pair):
        raise DiffexploreError(f"{name} must be an int or a pair of ints, got {value!r}")
    return int(pair[0]), int(pair[1])


# ---- log-softmax and softmax cross-entropy -----------------------------------------------------------


def _log_softmax_impl(a, attr):
    shifted = a - np.max(np.real(a), axis=attr.axis, keepdims=True)
    return shifted - np.log(np.sum(np.exp(shifted), axis=attr.axis, keepdims=True))


_log_softmax = define(
    "log_softmax", 1, _log_softmax_impl, None, public=False, has_attr=True,
    shape=lambda sa, attr: sa,
    jax=lambda jax, a, attr: jax.nn.log_softmax(a, axis=attr.axis),
    torch=lambda torch, a, attr: torch.log_softmax(a, dim=attr.axis),
    vjp=lambda g, a, out, attr: (g - exp(out) * sum(g, axis=attr.axis, keepdims=True),),
    jvp=lambda tangents, a, out, attr: (
        as_shape(tangents[0], a) - sum(exp(out) * tangents[0], axis=attr.axis, keepdims=True)),
    doc="log(softmax(a)) along ``attr.axis``, computed stably (the maximum subtracted first).")


def log_softmax(a: Any, axis: int = -1) -> Any:
    """``a - log(sum(exp(a), axis))``: log-probabilities along ``axis``, computed stably.

    >>> import diffexplore as dx
    >>> p = np.exp(dx.log_softmax(np.array([1.0, 2.0, 3.0])))
    >>> round(float(p.sum()), 12)
    1.0
    """
    return _log_softmax(a, attr=AxisAttr(normalise_axes(axis, shape_of(a), "log_softmax")[0]))


def softmax_cross_entropy(logits: Any, labels: Any, axis: int = -1) -> Any:
    """The mean cross-entropy of softmax(logits) against ``labels``: integer classes (shape of
    ``logits`` without ``axis``) or target probabilities / one-hot rows (shape of ``logits``, a node
    or an array). Built from ``log_softmax``, ``*``, ``sum``: its gradient comes from those rules.

    >>> import diffexplore as dx
    >>> loss = dx.softmax_cross_entropy(np.zeros((2, 4)), [1, 3])   # uniform guesses over 4 classes
    >>> round(loss, 12) == round(float(np.log(4.0)), 12)
    True
    """
    shape = shape_of(logits)
    ax = normalise_axes(axis, shape, "softmax_cross_entropy")[0]
    if isinstance(labels, Node):
        targets = labels
    else:
        labels = np.asarray(labels)
        targets = one_hot(labels, shape[ax], axis=ax) if labels.dtype.kind in "iu" else labels
    if shape_of(targets) != shape:
        raise ShapeError(f"softmax_cross_entropy: targets of shape {shape_of(targets)} do not fit logits of "
                         f"shape {shape} (allowed: integer labels of shape {reduced(shape, (ax,))} or "
                         f"targets of shape {shape})")
    count = math.prod(shape) // shape[ax]
    return sum(targets * log_softmax(logits, axis=ax)) * (-1.0 / count)


# ---- conv2d (NCHW input, OIHW weight) and its two adjoint halves --------------------------------------

ConvAttr = attr_type("ConvAttr", "stride padding", quiet={"stride": (1, 1), "padding": (0, 0)})
ConvInputAttr = attr_type("ConvInputAttr", "stride padding size")       # size: the input's (H, W)
ConvWeightAttr = attr_type("ConvWeightAttr", "stride padding kernel")   # kernel: (kh, kw)


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
    return ConvInputAttr(attr.stride, attr.padding, tuple(shape_of(x)[2:]))


def _weight_attr(attr, w) -> Any:
    return ConvWeightAttr(attr.stride, attr.padding, tuple(shape_of(w)[2:]))


def _conv_attr(attr) -> Any:
    return ConvAttr(attr.stride, attr.padding)


def _jax_conv2d(jax, x, w, attr):
    return jax.lax.conv_general_dilated(x, w, attr.stride, [(p, p) for p in attr.padding],
                                        dimension_numbers=("NCHW", "OIHW", "NCHW"))


def _jax_conv2d_input_grad(jax, g, w, attr):
    """The adjoint of conv2d in its input, as JAX's own vjp of the convolution."""
    shape = (g.shape[0], w.shape[1]) + tuple(attr.size)
    _out, pullback = jax.vjp(lambda x: _jax_conv2d(jax, x, w, attr), jax.numpy.zeros(shape, g.dtype))
    return pullback(g)[0]


def _jax_conv2d_weight_grad(jax, x, g, attr):
    shape = (g.shape[1], x.shape[1]) + tuple(attr.kernel)
    _out, pullback = jax.vjp(lambda w: _jax_conv2d(jax, x, w, attr), jax.numpy.zeros(shape, g.dtype))
    return pullback(g)[0]


def _torch_conv2d_input_grad(torch, g, w, attr):
    shape = (g.shape[0], w.shape[1]) + tuple(attr.size)
    return torch.nn.grad.conv2d_input(shape, w, g, stride=attr.stride, padding=attr.padding)


def _torch_conv2d_weight_grad(torch, x, g, attr):
    shape = (g.shape[1], x.shape[1]) + tuple(attr.kernel)
    return torch.nn.grad.conv2d_weight(x, shape, g, stride=attr.stride, padding=attr.padding)


def _conv2d_vjp(g, x, w, out, attr, needed=(True, True)):
    return (_conv2d_input_grad(g, w, attr=_input_attr(attr, x)) if needed[0] else None,
            _conv2d_weight_grad(x, g, attr=_weight_attr(attr, w)) if needed[1] else None)


_conv2d = define(
    "conv2d", 2, _conv2d_impl, None, public=False, has_attr=True, shape=_conv2d_shape,
    vjp=_conv2d_vjp, linear=True, jax=_jax_conv2d,
    torch=lambda torch, x, w, attr: torch.nn.functional.conv2d(x, w, stride=attr.stride,
                                                               padding=attr.padding),
    doc="2-D cross-correlation of an (N, C, H, W) input with (O, C, kh, kw) weights (PyTorch's conv2d).")

_conv2d_input_grad = define(
    "_conv2d_input_grad", 2, _conv2d_input_grad_impl, None, public=False, has_attr=True,
    label="conv2dᵀ (input)", linear=True, jax=_jax_conv2d_input_grad, torch=_torch_conv2d_input_grad,
    shape=lambda sg, sw, attr: (sg[0], sw[1]) + tuple(attr.size),
    vjp=lambda u, g, w, out, attr: (_conv2d(u, w, attr=_conv_attr(attr)),
                                    _conv2d_weight_grad(u, g, attr=_weight_attr(attr, w))),
    doc="The adjoint of conv2d in its input: spreads an output cotangent back over the input.")

_conv2d_weight_grad = define(
    "_conv2d_weight_grad", 2, _conv2d_weight_grad_impl, None, public=False, has_attr=True,
    label="conv2dᵀ (weight)", linear=True, jax=_jax_conv2d_weight_grad, torch=_torch_conv2d_weight_grad,
    shape=lambda sx, sg, attr: (sg[1], sx[1]) + tuple(attr.kernel),
    vjp=lambda v, x, g, out, attr: (
        _conv2d_input_grad(g, v, attr=ConvInputAttr(attr.stride, attr.padding, tuple(shape_of(x)[2:]))),
        _conv2d(x, v, attr=_conv_attr(attr))),
    doc="The adjoint of conv2d in its weight: correlates the input with an output cotangent.")


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

PoolAttr = attr_type("PoolAttr", "kernel_size stride")


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
    picked = np.take_along_axis(flat, positions.reshape(n, c, -1), axis=2).reshape(positions.shape)
    for k, window in _undecided_windows(x, positions, attr):      # NaN in a window: no maximum
        if t is x or np.any(np.broadcast_to(t, x.shape)[window] != 0):
            picked = np.array(picked, dtype=np.result_type(picked, float))
            picked[k] = np.nan
    return picked


def _undecided_windows(x, positions, attr):
    """``(output index, input slice)`` of every window whose maximum is NaN: a window with a NaN in it
    has no maximum, so its value is NaN and so is its derivative with respect to each of its entries."""
    n, c, height, width = x.shape
    maxima = np.take_along_axis(np.reshape(np.real(x), (n, c, height * width)),
                                positions.reshape(n, c, -1), axis=2).reshape(positions.shape)
    (kh, kw), (sh, sw) = attr.kernel_size, attr.stride
    for k in np.argwhere(np.isnan(maxima)):
        b, ch, r, col = (int(i) for i in k)
        k = (b, ch, r, col)
        yield k, (b, ch, slice(r * sh, r * sh + kh), slice(col * sw, col * sw + kw))


def _pool_scatter_impl(x, g, attr):
    n, c, height, width = x.shape
    positions = _argmax_positions(x, attr)
    offsets = (np.arange(n * c) * height * width).reshape(n, c, 1, 1)
    where = (positions + offsets).ravel()
    g = np.broadcast_to(g, positions.shape)
    flat_g = g.ravel()

    def spread(weights):
        return np.bincount(where, weights=weights, minlength=n * c * height * width)
    out = spread(flat_g.real) + 1j * spread(flat_g.imag) if np.iscomplexobj(g) else spread(flat_g)
    out = out.reshape(x.shape)
    for k, window in _undecided_windows(x, positions, attr):
        if g[k] != 0:
            out[window] = np.nan
    return out


def _jax_max_pool(jax, x, attr):
    return jax.lax.reduce_window(x, -jax.numpy.inf, jax.lax.max, (1, 1) + tuple(attr.kernel_size),
                                 (1, 1) + tuple(attr.stride), "VALID")


def _jax_pool_select(jax, x, t, attr):
    """The entries of t at x's window maxima: the derivative of max pooling at x along t."""
    t = jax.numpy.broadcast_to(t, x.shape)
    return jax.jvp(lambda v: _jax_max_pool(jax, v, attr), (x,), (t,))[1]


def _jax_pool_scatter(jax, x, g, attr):
    """g added at x's window maxima: the vjp of max pooling at x."""
    out, pullback = jax.vjp(lambda v: _jax_max_pool(jax, v, attr), x)
    return pullback(jax.numpy.broadcast_to(g, out.shape))[0]


def _torch_pool_positions(torch, x, attr):
    """For each window of x, the flat (H·W) position of its maximum, by PyTorch's max_pool2d."""
    _out, positions = torch.nn.functional.max_pool2d(x.detach(), attr.kernel_size, attr.stride,
                                                     return_indices=True)
    return positions


def _torch_pool_select(torch, x, t, attr):
    positions = _torch_pool_positions(torch, x, attr)
    flat = torch.broadcast_to(t, x.shape).flatten(2)
    return flat.gather(2, positions.flatten(2)).reshape(positions.shape)


def _torch_pool_scatter(torch, x, g, attr):
    positions = _torch_pool_positions(torch, x, attr)
    g = torch.broadcast_to(g, positions.shape)
    out = torch.zeros(x.shape[:2] + (x.shape[2] * x.shape[3],), dtype=g.dtype, device=g.device)
    return out.scatter_add(2, positions.flatten(2), g.flatten(2)).reshape(x.shape)


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
    shape=_pool_shape, jax=_jax_max_pool,
    torch=lambda torch, x, attr: torch.nn.functional.max_pool2d(x, attr.kernel_size, attr.stride),
    vjp=lambda g, x, out, attr: (_pool_scatter(x, g, attr=attr),),
    jvp=lambda tangents, x, out, attr: _pool_select(x, as_shape(tangents[0], x), attr=attr),
    doc="The maximum of every kernel window (first maximum on a tie).")

_pool_select = define(
    "_pool_select", 2, _pool_select_impl, None, public=False, has_attr=True, shape=_select_shape,
    label="pool select", linear=(1,), selects=(0,), jax=_jax_pool_select, torch=_torch_pool_select,
    vjp=lambda u, x, t, out, attr: (None, _pool_scatter(x, u, attr=attr)),
    doc="The entries of ``t`` where ``x`` has its window maxima (linear in t; x only chooses).")

_pool_scatter = define(
    "_pool_scatter", 2, _pool_scatter_impl, None, public=False, has_attr=True, shape=_scatter_shape,
    label="pool scatter", linear=(1,), selects=(0,), jax=_jax_pool_scatter, torch=_torch_pool_scatter,
    vjp=lambda v, x, g, out, attr: (None, _pool_select(x, v, attr=attr)),
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

DropoutAttr = attr_type("DropoutAttr", "p kept")         # kept: the scaled keep-mask (an ArrayValue)


def _mask(attr) -> np.ndarray:
    """The scaled keep-mask (an array in a module written by dx.compile, an ArrayValue in a node)."""
    return attr.kept.array if isinstance(attr.kept, ArrayValue) else attr.kept


def _dropout_shape(sx: tuple, attr) -> tuple:
    if attr.kept.array.shape != sx:
        raise ShapeError(f"dropout: mask shape {attr.kept.array.shape} differs from input shape {sx}")
    return sx


_dropout = define(
    "dropout", 1, lambda x, attr: x * attr.kept.array, None, public=False, has_attr=True,
    shape=_dropout_shape, linear=True,
    jax=lambda jax, x, attr: x * _mask(attr),
    torch=lambda torch, x, attr: x * torch.as_tensor(_mask(attr), dtype=x.dtype, device=x.device),
    vjp=lambda g, x, out, attr: (_dropout(as_shape(g, x), attr=attr),),
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
    shape = shape_of(x)
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

NormAttr = attr_type("NormAttr", "axis eps", quiet={"eps": 1e-5})


def _normalised(x, attr):
    """x̂ = (x - mean) / sqrt(var + eps) and 1/sqrt(var + eps), with diffexplore's functions."""
    centred = x - mean(x, axis=attr.axis, keepdims=True)
    inv_std = 1.0 / sqrt(mean(centred * centred, axis=attr.axis, keepdims=True) + attr.eps)
    return centred * inv_std, inv_std


def _batch_norm_impl(x, gamma, beta, attr):
    keep = kept(x.shape, attr.axis)
    centred = x - np.mean(x, axis=attr.axis, keepdims=True)
    var = np.mean(centred * centred, axis=attr.axis, keepdims=True)
    return np.reshape(gamma, keep) * (centred / np.sqrt(var + attr.eps)) + np.reshape(beta, keep)


def _normalised_jvp(tx, xhat, inv_std, axis):
    """The derivative of x̂ along tx: inv_std·(tx − mean(tx) − x̂·mean(x̂·tx)); symmetric, so also the vjp."""
    return inv_std * (tx - mean(tx, axis=axis, keepdims=True)
                      - xhat * mean(xhat * tx, axis=axis, keepdims=True))


def _batch_norm_vjp(g, x, gamma, beta, out, attr):
    xhat, inv_std = _normalised(x, attr)
    g = as_shape(g, x)
    grad_x = _normalised_jvp(g * _reshaped(gamma, kept(shape_of(x), attr.axis)), xhat, inv_std, attr.axis)
    return grad_x, sum(g * xhat, axis=attr.axis), sum(g, axis=attr.axis)


def _batch_norm_jvp(tangents, x, gamma, beta, out, attr):
    keep = kept(shape_of(x), attr.axis)
    xhat, inv_std = _normalised(x, attr)
    tx, tgamma, tbeta = tangents
    total = _total([
        None if tx is None else _reshaped(gamma, keep) * _normalised_jvp(as_shape(tx, x), xhat, inv_std,
                                                                         attr.axis),
        None if tgamma is None else _reshaped(as_shape(tgamma, gamma), keep) * xhat,
        None if tbeta is None else _reshaped(as_shape(tbeta, beta), keep)])
    return as_shape(total, x)


def _framework_batch_norm(x, gamma, beta, attr, mean_of: Any, sqrt_of: Any):
    """Batch normalisation on a framework's arrays (``mean_of(v)`` over ``attr.axis`` keeping axes)."""
    keep = kept(tuple(x.shape), attr.axis)
    centred = x - mean_of(x)
    return (gamma.reshape(keep) * (centred / sqrt_of(mean_of(centred * centred) + attr.eps))
            + beta.reshape(keep))


def _jax_batch_norm(jax, x, gamma, beta, attr):
    return _framework_batch_norm(x, gamma, beta, attr,
                                 lambda v: jax.numpy.mean(v, axis=attr.axis, keepdims=True), jax.numpy.sqrt)


def _torch_batch_norm(torch, x, gamma, beta, attr):
    return _framework_batch_norm(x, gamma, beta, attr,
                                 lambda v: torch.mean(v, dim=attr.axis, keepdim=True), torch.sqrt)


def _batch_norm_shape(sx: tuple, sgamma: tuple, sbeta: tuple, attr) -> tuple:
    want = reduced(sx, attr.axis)
    if sgamma != want or sbeta != want:
        raise ShapeError(f"batch_norm: gamma {sgamma} and beta {sbeta} must have shape {want} "
                         f"(input shape {sx} without the axes {attr.axis})")
    return sx


_batch_norm = define(
    "batch_norm", 3, _batch_norm_impl, None, public=False, has_attr=True, shape=_batch_norm_shape,
    vjp=_batch_norm_vjp, jvp=_batch_norm_jvp, jax=_jax_batch_norm, torch=_torch_batch_norm,
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
    axes = normalise_axes(axis, shape_of(x), "batch_norm")
    return _batch_norm(x, gamma, beta, attr=NormAttr(axes, float(eps)))
