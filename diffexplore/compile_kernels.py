"""Out: the NumPy text of the primitives a standalone compiled module defines for itself.

:func:`diffexplore.compile` writes a module that imports only NumPy (:mod:`.compile_source`). A
primitive whose NumPy facet is a ufunc (``np.sin``) is that ufunc; the others are written out here, each
a small function of NumPy arrays whose source is copied into the module as it stands (``inspect``), so
every function here uses only ``np``, ``math``, its arguments and the helpers it lists in ``NEEDS``. An
operation's settings arrive as ``attr`` (read as attributes: ``attr.axis``), as in the rule table. They
follow NumPy's semantics: a value outside a domain gives inf or nan with a RuntimeWarning, where
diffexplore's own evaluators raise DomainError.
"""

from __future__ import annotations

import inspect
import math

import numpy as np

__all__ = ["kernel_source", "NEEDS"]


def sigmoid(a):
    return np.exp(-np.logaddexp(0.0, -a))


def relu(a):
    return np.where(a <= 0, 0.0 * a, a)


def sign(a):
    return np.sign(a) + 0.0


def step(a):
    return np.heaviside(a, 0.0)


def stop_gradient(a):
    return a


def norm_cdf(a):
    return np.vectorize(lambda v: 0.5 * math.erfc(-v * math.sqrt(0.5)), otypes=[float])(a)


def greater(a, b):
    return np.greater(a, b) + 0.0


def greater_equal(a, b):
    return np.greater_equal(a, b) + 0.0


def less(a, b):
    return np.less(a, b) + 0.0


def less_equal(a, b):
    return np.less_equal(a, b) + 0.0


def equal(a, b):
    return np.equal(a, b) + 0.0


def not_equal(a, b):
    return np.not_equal(a, b) + 0.0


def select(condition, a, b):
    return np.where(condition != 0, a, b)


def sum_to(a, attr):
    a = np.asarray(a)
    lead = a.ndim - len(attr)
    if lead > 0:
        a = a.sum(axis=tuple(range(lead)))
    axes = tuple(i for i, n in enumerate(attr) if n == 1 and a.shape[i] != 1)
    if axes:
        a = a.sum(axis=axes, keepdims=True)
    return a.reshape(attr)


def broadcast_to(a, attr):
    return np.broadcast_to(a, attr)


def transpose(a, attr):
    return np.transpose(a, attr.axes)


def reshape(a, attr):
    return np.reshape(a, attr.shape)


def sum(a, attr):
    return np.sum(a, axis=attr.axis, keepdims=attr.keepdims)


def mean(a, attr):
    return np.mean(a, axis=attr.axis, keepdims=attr.keepdims)


def max(a, attr):
    return np.max(a, axis=attr.axis, keepdims=attr.keepdims)


def min(a, attr):
    return np.min(a, axis=attr.axis, keepdims=attr.keepdims)


def prod(a, attr):
    return np.prod(a, axis=attr.axis, keepdims=attr.keepdims)


def take(a, attr):
    return np.asarray(a)[attr.numpy]


def _untake(g, attr):
    out = np.zeros(attr.shape, dtype=np.result_type(g, np.float64))
    if attr.index.advanced:
        np.add.at(out, attr.index.numpy, g)
    else:
        out[attr.index.numpy] = g
    return out


def concatenate(a, b, attr):
    return np.concatenate([a, b], axis=attr.axis)


def log_softmax(a, attr):
    shifted = a - np.max(a, axis=attr.axis, keepdims=True)
    return shifted - np.log(np.sum(np.exp(shifted), axis=attr.axis, keepdims=True))


def windows(x, kernel, stride, padding):
    """Every kernel window of the zero-padded (N, C, H, W) input: (N, C, Ho, Wo, kh, kw)."""
    ph, pw = padding
    x = np.pad(x, ((0, 0), (0, 0), (ph, ph), (pw, pw)))
    view = np.lib.stride_tricks.sliding_window_view(x, kernel, axis=(2, 3))
    return view[:, :, ::stride[0], ::stride[1]]


def conv2d(x, w, attr):
    out = np.tensordot(windows(x, w.shape[2:], attr.stride, attr.padding), w, axes=([1, 4, 5], [1, 2, 3]))
    return np.ascontiguousarray(np.moveaxis(out, -1, 1))


def _conv2d_input_grad(g, w, attr):
    (sh, sw), (ph, pw) = attr.stride, attr.padding
    n, _o, ho, wo = g.shape
    height, width = attr.size
    padded = np.zeros((n, w.shape[1], height + 2 * ph, width + 2 * pw), dtype=np.result_type(g, w))
    for i in range(w.shape[2]):
        for j in range(w.shape[3]):
            part = np.tensordot(g, w[:, :, i, j], axes=([1], [0]))
            padded[:, :, i:i + sh * ho:sh, j:j + sw * wo:sw] += np.moveaxis(part, -1, 1)
    return padded[:, :, ph:ph + height, pw:pw + width]


def _conv2d_weight_grad(x, g, attr):
    return np.tensordot(g, windows(x, attr.kernel, attr.stride, attr.padding), axes=([0, 2, 3], [0, 2, 3]))


def pool_positions(x, attr):
    """The flat (H·W) position of each pooling window's maximum (the first on a tie)."""
    (kh, kw), (sh, sw) = attr.kernel_size, attr.stride
    view = windows(x, (kh, kw), (sh, sw), (0, 0))
    n, c, ho, wo = view.shape[:4]
    best = view.reshape(n, c, ho, wo, kh * kw).argmax(axis=-1)
    return (np.arange(ho)[:, None] * sh + best // kw) * x.shape[3] + np.arange(wo)[None, :] * sw + best % kw


def _pool_select(x, t, attr):
    n, c, height, width = x.shape
    positions = pool_positions(x, attr)
    flat = np.reshape(np.broadcast_to(t, x.shape), (n, c, height * width))
    return np.take_along_axis(flat, positions.reshape(n, c, -1), axis=2).reshape(positions.shape)


def max_pool2d(x, attr):
    return _pool_select(x, x, attr)


def _pool_scatter(x, g, attr):
    n, c, height, width = x.shape
    positions = pool_positions(x, attr)
    where = (positions + (np.arange(n * c) * height * width).reshape(n, c, 1, 1)).ravel()
    g = np.broadcast_to(g, positions.shape).ravel()
    return np.bincount(where, weights=g, minlength=n * c * height * width).reshape(x.shape)


def dropout(x, attr):
    return x * attr.kept


def batch_norm(x, gamma, beta, attr):
    keep = tuple(1 if i in attr.axis else n for i, n in enumerate(x.shape))
    centred = x - np.mean(x, axis=attr.axis, keepdims=True)
    var = np.mean(centred * centred, axis=attr.axis, keepdims=True)
    return np.reshape(gamma, keep) * (centred / np.sqrt(var + attr.eps)) + np.reshape(beta, keep)


#: The helpers a kernel calls, written into the module before it.
NEEDS = {"conv2d": ("windows",), "_conv2d_weight_grad": ("windows",),
         "_pool_select": ("windows", "pool_positions"), "_pool_scatter": ("windows", "pool_positions"),
         "max_pool2d": ("windows", "pool_positions", "_pool_select")}

_KERNELS = {name: value for name, value in globals().items()
            if inspect.isfunction(value) and value.__module__ == __name__ and name != "kernel_source"}


def kernel_source(name: str) -> tuple[list[tuple[str, str]], bool] | None:
    """The NumPy text of the primitive ``name`` and of the helpers it calls, as ``[(name, source)]``,
    and whether it needs ``math``; None when none is written here.

    >>> print(kernel_source("sigmoid")[0][0][1])
    def sigmoid(a):
        return np.exp(-np.logaddexp(0.0, -a))
    <BLANKLINE>
    """
    if name not in _KERNELS or name in ("windows", "pool_positions"):
        return None
    names = [*NEEDS.get(name, ()), name]
    sources = [(n, inspect.getsource(_KERNELS[n])) for n in names]
    return sources, any("math." in source for _n, source in sources)
