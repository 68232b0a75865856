"""Build: a PyTorch function's or ``nn.Module``'s graph, through torch.fx, as diffexplore nodes.

:func:`from_torch` runs ``torch.fx.symbolic_trace`` (what fx cannot trace is refused with fx's reason),
then walks the fx graph's nodes in order, once, mapping each to diffexplore nodes: placeholders become
variables named after the forward's parameters (integer tensors, such as class labels, and Python
numbers become constants), parameters become variables named from ``named_parameters()``
(``net.0.weight`` -> ``net_0_weight``, the path kept in :data:`~diffexplore.imports.framework_paths`),
buffers and tensor constants become constants. ``call_module``, ``call_function`` and ``call_method``
nodes go through three tables (:data:`MODULES`, the torch functions, the tensor methods); an operation
none of them lists is refused by name. Operations on constants alone (shapes, ``math.sqrt(d)``, a
``torch.ones``) are computed by torch itself and enter the graph as constants.

This is the only module of diffexplore besides the other bridges that imports torch; ``import
diffexplore`` does not import it (``dx.from_torch`` does, when called).
"""

from __future__ import annotations

import builtins
import inspect
import math
import operator
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
import torch
import torch.fx
import torch.nn as nn
import torch.nn.functional as F

from .. import arrays, rules
from ..arrays import concatenate, log_softmax, matmul, mean, reshape, take, transpose
from ..errors import DiffexploreError
from ..graph import Node, constant, shape_of, variable
from .imported import Imported, framework_paths, variable_names

__all__ = ["from_torch", "supported_operations", "MODULES"]


class Unsupported(DiffexploreError):
    """A torch operation, module or option diffexplore has no conversion for (names it)."""


def _refuse(what: str, allowed: str = "") -> None:
    raise Unsupported(f"from_torch: {what} is not supported" + (f"; {allowed}" if allowed else ""))


# ---- small shape helpers -----------------------------------------------------------------------------


def _ndim(a: Any) -> int:
    return len(shape_of(a))


def _axis(dim: int, ndim: int) -> int:
    if not -ndim <= dim < builtins.max(ndim, 1):
        raise DiffexploreError(f"from_torch: dim {dim} is out of range for {ndim} axes")
    return dim % builtins.max(ndim, 1)


def _axes(dim: Any) -> Any:
    """A torch ``dim`` argument as NumPy's ``axis``: None (all), an int or a tuple of ints."""
    if dim is None or (isinstance(dim, (tuple, list)) and not dim):
        return None
    return tuple(int(d) for d in dim) if isinstance(dim, (tuple, list)) else int(dim)


def _shape_arguments(shape: tuple) -> tuple:
    """``view(2, 3)`` and ``view((2, 3))`` alike."""
    if len(shape) == 1 and isinstance(shape[0], (tuple, list)):
        shape = tuple(shape[0])
    return tuple(int(n) for n in shape)


def _moved(a: Any, axes: Sequence[int]) -> Any:
    axes = tuple(axes)
    return a if axes == tuple(range(len(axes))) else transpose(a, axes)


# ---- elementwise functions ---------------------------------------------------------------------------

_SQRT_2_OVER_PI = math.sqrt(2.0 / math.pi)


def _gelu(input: Any, approximate: str = "none") -> Any:
    if approximate == "none":
        return input * rules.norm_cdf(input)
    if approximate == "tanh":
        inner = _SQRT_2_OVER_PI * (input + 0.044715 * (input * input * input))
        return 0.5 * input * (1.0 + rules.tanh(inner))
    _refuse(f"gelu(approximate={approximate!r})", "allowed: 'none' or 'tanh'")


def _leaky_relu(input: Any, negative_slope: float = 0.01, inplace: bool = False) -> Any:
    return rules.select(rules.greater(input, 0.0), input, input * negative_slope)


def _add(input: Any, other: Any, *, alpha: float = 1, out: Any = None) -> Any:
    return input + (other if alpha == 1 else other * alpha)


def _sub(input: Any, other: Any, *, alpha: float = 1, out: Any = None) -> Any:
    return input - (other if alpha == 1 else other * alpha)


def _div(input: Any, other: Any, *, rounding_mode: str | None = None, out: Any = None) -> Any:
    if rounding_mode is not None:
        _refuse(f"div(rounding_mode={rounding_mode!r}) on a graph value (it is piecewise constant)")
    return input / other


def _clamp(input: Any, min: Any = None, max: Any = None) -> Any:
    out = input
    if min is not None:
        out = rules.maximum(out, min)
    if max is not None:
        out = rules.minimum(out, max)
    return out


def _unary(function: Callable) -> Callable:
    """A torch elementwise function of one tensor (extra keywords such as ``out=None`` ignored only
    when left at their defaults)."""
    def convert(input: Any, *, out: Any = None, inplace: bool = False) -> Any:
        if out is not None:
            _refuse(f"{function.__name__}(out=...)")
        return function(input)
    convert.__name__ = function.__name__
    return convert


_LOG2, _LOG10 = math.log(2.0), math.log(10.0)

_ELEMENTWISE: dict[str, Callable] = {
    "exp": rules.exp, "log": rules.log, "log1p": rules.log1p, "expm1": rules.expm1, "sqrt": rules.sqrt,
    "sin": rules.sin, "cos": rules.cos, "tan": rules.tan, "tanh": rules.tanh, "sinh": rules.sinh,
    "cosh": rules.cosh, "atan": rules.atan, "arctan": rules.atan, "sigmoid": rules.sigmoid,
    "expit": rules.sigmoid, "relu": rules.relu, "abs": rules.abs, "absolute": rules.abs,
    "sign": rules.sign, "ndtr": rules.norm_cdf, "neg": operator.neg, "negative": operator.neg,
    "rsqrt": lambda a: 1.0 / rules.sqrt(a), "square": lambda a: a * a, "reciprocal": lambda a: 1.0 / a,
    "log2": lambda a: rules.log(a) / _LOG2, "log10": lambda a: rules.log(a) / _LOG10,
    "erf": lambda a: 2.0 * rules.norm_cdf(a * math.sqrt(2.0)) - 1.0,
    "erfc": lambda a: 2.0 * rules.norm_cdf(-a * math.sqrt(2.0)),
    "silu": lambda a: a * rules.sigmoid(a), "detach": rules.stop_gradient,
}


def _comparison(function: Callable) -> Callable:
    def convert(input: Any, other: Any, *, out: Any = None) -> Any:
        return function(input, other)
    return convert


_COMPARISONS = {"gt": rules.greater, "ge": rules.greater_equal, "lt": rules.less, "le": rules.less_equal,
                "eq": rules.equal, "ne": rules.not_equal, "greater": rules.greater,
                "greater_equal": rules.greater_equal, "less": rules.less, "less_equal": rules.less_equal,
                "not_equal": rules.not_equal}


# ---- reductions --------------------------------------------------------------------------------------


def _reduction(function: Callable, name: str) -> Callable:
    def convert(input: Any, dim: Any = None, keepdim: bool = False, *, dtype: Any = None) -> Any:
        return function(input, axis=_axes(dim), keepdims=bool(keepdim))
    convert.__name__ = name
    return convert


class _Indices:
    """The indices half of ``torch.max(x, dim)``: a point's argmax, not a function of the graph."""

    def __init__(self, what: str):
        self.what = what


def _max_or_min(function: Callable, elementwise: Callable, name: str) -> Callable:
    """``torch.max(x)``, ``torch.max(x, other)`` and ``torch.max(x, dim, keepdim)`` (values only)."""
    def convert(input: Any, dim: Any = None, keepdim: bool = False, *, other: Any = None) -> Any:
        if other is not None or isinstance(dim, (Node, np.ndarray)):
            return elementwise(input, dim if other is None else other)
        if dim is None:
            return function(input)
        return (function(input, axis=int(dim), keepdims=bool(keepdim)), _Indices(f"torch.{name}(x, dim)"))
    return convert


# ---- shapes, indexing, joining -----------------------------------------------------------------------


def _reshape(input: Any, *shape: Any) -> Any:
    return reshape(input, _shape_arguments(shape))


def _flatten(input: Any, start_dim: int = 0, end_dim: int = -1) -> Any:
    shape = shape_of(input)
    if not shape:
        return reshape(input, (1,))
    start, end = _axis(start_dim, len(shape)), _axis(end_dim, len(shape))
    return reshape(input, shape[:start] + (math.prod(shape[start:end + 1]),) + shape[end + 1:])


def _transpose(input: Any, dim0: int, dim1: int) -> Any:
    n = _ndim(input)
    axes = list(range(n))
    i, j = _axis(dim0, n), _axis(dim1, n)
    axes[i], axes[j] = axes[j], axes[i]
    return _moved(input, axes)


def _permute(input: Any, *dims: Any) -> Any:
    n = _ndim(input)
    return _moved(input, [_axis(d, n) for d in _shape_arguments(dims)])


def _t(input: Any) -> Any:
    return input if _ndim(input) < 2 else _transpose(input, 0, 1)


def _squeeze(input: Any, dim: Any = None) -> Any:
    shape = shape_of(input)
    if dim is None:
        dims = {i for i, n in enumerate(shape) if n == 1}
    else:
        dims = {_axis(d, len(shape)) for d in (dim if isinstance(dim, (tuple, list)) else (dim,))}
        dims = {d for d in dims if shape[d] == 1}
    return reshape(input, tuple(n for i, n in enumerate(shape) if i not in dims))


def _unsqueeze(input: Any, dim: int) -> Any:
    shape = shape_of(input)
    at = _axis(dim, len(shape) + 1)
    return reshape(input, shape[:at] + (1,) + shape[at:])


def _getitem(container: Any, index: Any) -> Any:
    if not isinstance(container, Node):
        if isinstance(container, np.ndarray):
            return constant(container)[index]
        return container[index]
    items = index if isinstance(index, tuple) else (index,)
    if builtins.any(isinstance(item, Node) for item in items):
        _refuse("indexing with a tensor computed from the graph (a mask or an index that depends on the "
                "inputs)", "index with Python ints, slices, None, ... or constant integer tensors")
    return take(container, index)


def _cat(tensors: Sequence[Any], dim: int = 0, *, out: Any = None) -> Any:
    tensors = list(tensors)
    return concatenate(tensors, axis=_axis(dim, _ndim(tensors[0])))


def _stack(tensors: Sequence[Any], dim: int = 0, *, out: Any = None) -> Any:
    tensors = list(tensors)
    at = _axis(dim, _ndim(tensors[0]) + 1)
    return concatenate([_unsqueeze(t, at) for t in tensors], axis=at)


def _split_at(input: Any, sizes: Sequence[int], dim: int) -> tuple:
    n = _ndim(input)
    axis = _axis(dim, n)
    parts, start = [], 0
    for size in sizes:
        parts.append(take(input, (slice(None),) * axis + (slice(start, start + size),)))
        start += size
    return tuple(parts)


def _split(tensor: Any, split_size_or_sections: Any, dim: int = 0) -> tuple:
    length = shape_of(tensor)[_axis(dim, _ndim(tensor))]
    if isinstance(split_size_or_sections, int):
        step = split_size_or_sections
        sizes = [builtins.min(step, length - start) for start in range(0, length, step)]
    else:
        sizes = [int(s) for s in split_size_or_sections]
    return _split_at(tensor, sizes, dim)


def _chunk(input: Any, chunks: int, dim: int = 0) -> tuple:
    length = shape_of(input)[_axis(dim, _ndim(input))]
    return _split(input, -(-length // chunks), dim)


def _size(input: Any, dim: int | None = None) -> Any:
    shape = shape_of(input)
    return torch.Size(shape) if dim is None else shape[_axis(dim, len(shape))]


def _getattr(value: Any, name: str) -> Any:
    if isinstance(value, tuple) and name in ("values", "indices"):       # torch.max(x, dim) and kin
        return value[0] if name == "values" else value[1]
    attributes = {"shape": lambda: torch.Size(shape_of(value)), "ndim": lambda: _ndim(value),
                  "T": lambda: _moved(value, range(_ndim(value) - 1, -1, -1)),
                  "mT": lambda: _transpose(value, -2, -1), "dtype": lambda: torch.float64,
                  "device": lambda: torch.device("cpu"), "is_cuda": lambda: False}
    if name not in attributes:
        _refuse(f"the tensor attribute .{name}", f"allowed: {', '.join(sorted(attributes))}")
    return attributes[name]()


def _to(input: Any, *args: Any, **kwargs: Any) -> Any:
    """``.to(dtype)``, ``.double()`` and kin: a float dtype keeps the value (diffexplore computes in
    float64), ``bool`` is ``x != 0``; an integer dtype truncates, which has no derivative: refused."""
    dtype = kwargs.get("dtype")
    for a in args:
        if isinstance(a, torch.dtype):
            dtype = a
        elif isinstance(a, (torch.Tensor, np.ndarray, Node)):
            dtype = torch.float64
    if dtype is None or dtype.is_floating_point:
        return input
    if dtype == torch.bool:
        return rules.not_equal(input, 0.0)
    _refuse(f"converting a graph value to {dtype}", "a float or bool dtype is allowed (an integer "
            "conversion truncates and has no derivative)")


def _identity(input: Any, *args: Any, **kwargs: Any) -> Any:
    return input


def _refuse_integer(name: str) -> Callable:
    def convert(input: Any, *args: Any, **kwargs: Any) -> Any:
        _refuse(f"Tensor.{name}() on a graph value", "an integer conversion truncates and has no "
                "derivative")
    return convert


# ---- layers ------------------------------------------------------------------------------------------


def _softmax(input: Any, dim: int | None = None, _stacklevel: int = 3, dtype: Any = None) -> Any:
    if dim is None:
        _refuse("softmax without dim", "give dim=")
    return rules.exp(log_softmax(input, axis=_axis(dim, _ndim(input))))


def _log_softmax(input: Any, dim: int | None = None, _stacklevel: int = 3, dtype: Any = None) -> Any:
    if dim is None:
        _refuse("log_softmax without dim", "give dim=")
    return log_softmax(input, axis=_axis(dim, _ndim(input)))


def _linear(input: Any, weight: Any, bias: Any = None) -> Any:
    out = matmul(input, _t(weight))
    return out if bias is None else out + bias


def _conv2d(input: Any, weight: Any, bias: Any = None, stride: Any = 1, padding: Any = 0,
            dilation: Any = 1, groups: int = 1) -> Any:
    if dilation not in (1, (1, 1), [1, 1]) or groups != 1:
        _refuse(f"conv2d with dilation={dilation!r}, groups={groups}", "allowed: dilation=1, groups=1")
    if padding == "valid":
        padding = 0
    elif padding == "same":
        kernel = shape_of(weight)[2:]
        if stride not in (1, (1, 1)) or builtins.any(k % 2 == 0 for k in kernel):
            _refuse(f"conv2d(padding='same') with stride {stride} and kernel {kernel}",
                    "allowed: stride 1 and odd kernel sizes, or integer padding")
        padding = tuple((k - 1) // 2 for k in kernel)
    out = arrays.conv2d(input, weight, stride=stride, padding=padding)
    if bias is not None:
        out = out + reshape(bias, (shape_of(bias)[0], 1, 1))
    return out


def _max_pool2d(input: Any, kernel_size: Any, stride: Any = None, padding: Any = 0, dilation: Any = 1,
                ceil_mode: bool = False, return_indices: bool = False) -> Any:
    if padding not in (0, (0, 0)) or dilation not in (1, (1, 1)) or ceil_mode or return_indices:
        _refuse(f"max_pool2d with padding={padding!r}, dilation={dilation!r}, ceil_mode={ceil_mode}, "
                f"return_indices={return_indices}",
                "allowed: padding=0, dilation=1, ceil_mode=False, return_indices=False")
    return arrays.max_pool2d(input, kernel_size, stride=stride if stride not in (None, (), []) else None)


def _channel_shape(input: Any, channels: int) -> tuple:
    """(C, 1, 1, ...): a per-channel vector broadcast over an (N, C, ...) input."""
    return (channels,) + (1,) * (_ndim(input) - 2)


def _batch_norm(input: Any, running_mean: Any, running_var: Any, weight: Any = None, bias: Any = None,
                training: bool = False, momentum: float = 0.1, eps: float = 1e-5) -> Any:
    if _ndim(input) < 2:
        _refuse(f"batch_norm of an input of shape {shape_of(input)}", "allowed: (N, C, ...) inputs")
    channels = shape_of(input)[1]
    gamma = np.ones(channels) if weight is None else weight
    beta = np.zeros(channels) if bias is None else bias
    if training or running_mean is None or running_var is None:
        axes = (0,) + tuple(range(2, _ndim(input)))
        return arrays.batch_norm(input, gamma, beta, eps=eps, axis=axes)
    shape = _channel_shape(input, channels)
    scale = 1.0 / np.sqrt(np.asarray(running_var, dtype=np.float64) + eps)
    centred = input - np.reshape(np.asarray(running_mean, dtype=np.float64), shape)
    return centred * np.reshape(scale, shape) * reshape(gamma, shape) + reshape(beta, shape)


def _dropout(input: Any, p: float = 0.5, training: bool = True, inplace: bool = False) -> Any:
    if training and p > 0:
        _refuse(f"dropout in training mode (p={p})", "dropout draws a random mask on every call: call "
                "module.eval() (dropout is then the identity), or pass training=False; to explore one "
                "mask, build the graph with dx.dropout(x, p, mask=...)")
    return input


def _reduce(loss: Any, reduction: str) -> Any:
    if reduction == "mean":
        return mean(loss)
    if reduction == "sum":
        return arrays.sum(loss)
    if reduction == "none":
        return loss
    _refuse(f"reduction={reduction!r}", "allowed: 'mean', 'sum', 'none'")


def _mse_loss(input: Any, target: Any, size_average: Any = None, reduce: Any = None,
              reduction: str = "mean", weight: Any = None) -> Any:
    if size_average is not None or reduce is not None or weight is not None:
        _refuse("mse_loss with size_average=, reduce= or weight=", "use reduction=")
    difference = input - target
    return _reduce(difference * difference, reduction)


def _cross_entropy(input: Any, target: Any, weight: Any = None, size_average: Any = None,
                   ignore_index: int = -100, reduce: Any = None, reduction: str = "mean",
                   label_smoothing: float = 0.0) -> Any:
    if weight is not None or size_average is not None or reduce is not None or label_smoothing:
        _refuse("cross_entropy with weight=, size_average=, reduce= or label_smoothing=",
                "allowed: reduction= and integer class labels or class probabilities")
    if _ndim(input) < 2:
        _refuse(f"cross_entropy of logits of shape {shape_of(input)}", "allowed: (N, C, ...) logits")
    labels = target
    if isinstance(labels, np.ndarray) and labels.dtype.kind in "iu" and np.any(labels == ignore_index):
        _refuse(f"cross_entropy with labels equal to ignore_index={ignore_index}")
    if reduction == "mean":
        return arrays.softmax_cross_entropy(input, labels, axis=1)
    if isinstance(labels, np.ndarray) and labels.dtype.kind in "iu":
        labels = arrays.one_hot(labels, shape_of(input)[1], axis=1)
    return _reduce(-arrays.sum(labels * log_softmax(input, axis=1), axis=1), reduction)


def _masked_fill(input: Any, mask: Any, value: Any) -> Any:
    return rules.select(mask, value, input)


def _where(condition: Any, input: Any = None, other: Any = None) -> Any:
    if input is None or other is None:
        _refuse("torch.where(condition) with one argument (it returns indices)")
    return rules.select(condition, input, other)


def _operator_pow(base: Any, exponent: Any) -> Any:
    return rules.power(base, exponent)


def _pow(input: Any, exponent: Any, *, out: Any = None) -> Any:
    return rules.power(input, exponent)


#: torch functions and tensor methods by name (torch.X, torch.nn.functional.X, torch.special.X, Tensor.X).
OPERATIONS: dict[str, Callable] = {
    **{name: _unary(function) for name, function in _ELEMENTWISE.items()},
    **{name: _comparison(function) for name, function in _COMPARISONS.items()},
    "gelu": _gelu, "leaky_relu": _leaky_relu, "add": _add, "sub": _sub, "subtract": _sub, "mul": operator.mul,
    "multiply": operator.mul, "div": _div, "divide": _div, "true_divide": _div, "pow": _pow,
    "maximum": rules.maximum, "minimum": rules.minimum, "clamp": _clamp, "clip": _clamp,
    "clamp_min": lambda input, min: _clamp(input, min=min),
    "clamp_max": lambda input, max: _clamp(input, max=max),
    "where": _where, "masked_fill": _masked_fill,
    "sum": _reduction(arrays.sum, "sum"), "mean": _reduction(mean, "mean"),
    "prod": _reduction(arrays.prod, "prod"), "amax": _reduction(arrays.max, "amax"),
    "amin": _reduction(arrays.min, "amin"),
    "max": _max_or_min(arrays.max, rules.maximum, "max"),
    "min": _max_or_min(arrays.min, rules.minimum, "min"),
    "matmul": matmul, "mm": matmul, "bmm": matmul, "linear": _linear,
    "reshape": _reshape, "view": _reshape, "flatten": _flatten, "transpose": _transpose,
    "swapaxes": _transpose,
    "permute": _permute, "t": _t, "squeeze": _squeeze, "unsqueeze": _unsqueeze,
    "cat": _cat, "concat": _cat, "concatenate": _cat, "stack": _stack, "split": _split, "chunk": _chunk,
    "size": _size, "dim": lambda input: _ndim(input), "numel": lambda input: math.prod(shape_of(input)),
    "softmax": _softmax, "log_softmax": _log_softmax, "conv2d": _conv2d, "max_pool2d": _max_pool2d,
    "batch_norm": _batch_norm, "dropout": _dropout, "mse_loss": _mse_loss, "cross_entropy": _cross_entropy,
    "to": _to, "type_as": _to, "float": _identity, "double": _identity, "contiguous": _identity,
    "clone": _identity, "bool": lambda input: rules.not_equal(input, 0.0),
    "long": _refuse_integer("long"), "int": _refuse_integer("int"),
}

#: Python operators as fx records them (``x + y`` is ``operator.add``).
_OPERATORS: dict[Callable, Callable] = {
    operator.add: operator.add, operator.sub: operator.sub, operator.mul: operator.mul,
    operator.truediv: operator.truediv, operator.pow: _operator_pow, operator.neg: operator.neg,
    operator.pos: operator.pos, operator.matmul: matmul, operator.getitem: _getitem,
    builtins.getattr: _getattr,
    operator.gt: rules.greater, operator.ge: rules.greater_equal, operator.lt: rules.less,
    operator.le: rules.less_equal, operator.eq: rules.equal, operator.ne: rules.not_equal,
}

_NAMESPACES = (("torch", torch), ("torch.nn.functional", F), ("torch.special", torch.special))


def _function_table() -> dict[Any, Callable]:
    """fx call_function targets -> converters: every torch/F/special function named in OPERATIONS."""
    table: dict[Any, Callable] = dict(_OPERATORS)
    for name, convert in OPERATIONS.items():
        for _prefix, namespace in _NAMESPACES:
            function = getattr(namespace, name, None)
            if callable(function) and not isinstance(function, type):
                table.setdefault(function, convert)
    table[F.max_pool2d] = _max_pool2d
    return table


_FUNCTIONS = _function_table()


# ---- modules -----------------------------------------------------------------------------------------


def _module_linear(module: nn.Linear, parameter: Callable, input: Any) -> Any:
    return _linear(input, parameter(module.weight), parameter(module.bias))


def _module_conv2d(module: nn.Conv2d, parameter: Callable, input: Any) -> Any:
    if module.padding_mode != "zeros":
        _refuse(f"Conv2d(padding_mode={module.padding_mode!r})", "allowed: padding_mode='zeros'")
    return _conv2d(input, parameter(module.weight), parameter(module.bias), module.stride, module.padding,
                   module.dilation, module.groups)


def _module_max_pool2d(module: nn.MaxPool2d, parameter: Callable, input: Any) -> Any:
    return _max_pool2d(input, module.kernel_size, module.stride, module.padding, module.dilation,
                       module.ceil_mode, module.return_indices)


def _module_batch_norm(module: nn.modules.batchnorm._BatchNorm, parameter: Callable, input: Any) -> Any:
    expected = 4 if isinstance(module, nn.BatchNorm2d) else (2, 3)
    if _ndim(input) not in ((expected,) if isinstance(expected, int) else expected):
        _refuse(f"{type(module).__name__} on an input of shape {shape_of(input)}",
                f"allowed: {'(N, C, H, W)' if expected == 4 else '(N, C) or (N, C, L)'}")
    use_batch_statistics = module.training or module.running_mean is None
    return _batch_norm(input, module.running_mean, module.running_var, parameter(module.weight),
                       parameter(module.bias), use_batch_statistics, module.momentum, module.eps)


def _module_cross_entropy(module: nn.CrossEntropyLoss, parameter: Callable, input: Any, target: Any) -> Any:
    return _cross_entropy(input, target, module.weight, None, module.ignore_index, None, module.reduction,
                          module.label_smoothing)


#: nn.Module types (exactly these classes) -> converter(module, parameter, *inputs).
MODULES: dict[type, Callable] = {
    nn.Linear: _module_linear,
    nn.Conv2d: _module_conv2d,
    nn.MaxPool2d: _module_max_pool2d,
    nn.ReLU: lambda m, p, x: rules.relu(x),
    nn.Tanh: lambda m, p, x: rules.tanh(x),
    nn.Sigmoid: lambda m, p, x: rules.sigmoid(x),
    nn.SiLU: lambda m, p, x: x * rules.sigmoid(x),
    nn.GELU: lambda m, p, x: _gelu(x, m.approximate),
    nn.LeakyReLU: lambda m, p, x: _leaky_relu(x, m.negative_slope),
    nn.Identity: lambda m, p, x: x,
    nn.Flatten: lambda m, p, x: _flatten(x, m.start_dim, m.end_dim),
    nn.Softmax: lambda m, p, x: _softmax(x, m.dim),
    nn.LogSoftmax: lambda m, p, x: _log_softmax(x, m.dim),
    nn.Dropout: lambda m, p, x: _dropout(x, m.p, m.training),
    nn.BatchNorm1d: _module_batch_norm,
    nn.BatchNorm2d: _module_batch_norm,
    nn.CrossEntropyLoss: _module_cross_entropy,
    nn.MSELoss: lambda m, p, a, b: _mse_loss(a, b, reduction=m.reduction),
}


def supported_operations() -> dict[str, list[str]]:
    """The torch modules, functions and tensor methods :func:`from_torch` converts, by kind.

    >>> ops = supported_operations()
    >>> "Linear" in ops["modules"], "softmax" in ops["functions"], "view" in ops["methods"]
    (True, True, True)
    """
    functions = sorted({name for name in OPERATIONS for _p, ns in _NAMESPACES
                        if callable(getattr(ns, name, None))})
    methods = sorted(name for name in OPERATIONS if hasattr(torch.Tensor, name))
    return {"modules": sorted(cls.__name__ for cls in MODULES), "functions": functions, "methods": methods,
            "operators": ["+", "-", "*", "/", "**", "unary -", "@", "[...]", "<", "<=", ">", ">=", "==", "!=",
                          ".T", ".mT", ".shape"]}


# ---- the conversion ----------------------------------------------------------------------------------


def _public_name(target: Any) -> str:
    """The name a user knows for an fx call_function target (``torch.fft.fft``, ``operator.floordiv``)."""
    for prefix, namespace in _NAMESPACES + (("torch.fft", torch.fft), ("torch.linalg", torch.linalg)):
        for name in dir(namespace):
            if getattr(namespace, name, None) is target:
                return f"{prefix}.{name}"
    module = getattr(target, "__module__", None) or ""
    name = getattr(target, "__qualname__", None) or getattr(target, "__name__", None) or repr(target)
    return f"{module}.{name}" if module else name


def _has_graph_value(value: Any, kind: type = Node) -> bool:
    """Whether a (nested) argument holds a diffexplore node (or another ``kind``), by an explicit stack."""
    stack = [value]
    while stack:
        item = stack.pop()
        if isinstance(item, kind):
            return True
        if isinstance(item, (tuple, list)):
            stack.extend(item)
        elif isinstance(item, dict):
            stack.extend(item.values())
        elif isinstance(item, slice):
            stack.extend((item.start, item.stop, item.step))
    return False


def _as_numpy(value: Any) -> Any:
    """A concrete torch value as diffexplore takes it: tensors as NumPy arrays (floats in float64,
    integers and booleans as they are), sequences element by element."""
    if isinstance(value, torch.Tensor):
        array = value.detach().cpu().numpy()
        return array.astype(np.float64) if array.dtype.kind in "fc" and array.dtype != np.float64 else array
    if isinstance(value, torch.Size):
        return tuple(value)
    if isinstance(value, (tuple, list)):
        converted = [_as_numpy(v) for v in value]
        return tuple(converted) if isinstance(value, tuple) else converted
    if isinstance(value, dict):
        return {k: _as_numpy(v) for k, v in value.items()}
    return value


def _point_value(tensor: torch.Tensor) -> Any:
    array = tensor.detach().cpu().numpy().astype(np.float64)
    return float(array) if array.ndim == 0 else array


def _is_float_tensor(value: Any) -> bool:
    return isinstance(value, torch.Tensor) and value.dtype.is_floating_point


class _Converter:
    """One conversion: the fx graph module, its variables as they are made, and their point values."""

    def __init__(self, module: nn.Module | None, traced: torch.fx.GraphModule):
        self.traced = traced
        self.point: dict[str, Any] = {}
        self.names: dict[str, str] = {}
        self.notes: list[str] = []
        self.float32_seen = False
        owner = module if module is not None else traced
        self.parameter_paths = {id(p): path for path, p in owner.named_parameters()}
        self.parameter_nodes: dict[int, Node] = {}
        self.taken: list[str] = []

    def add_variable(self, name: str, path: str, tensor: torch.Tensor) -> Node:
        if tensor.dtype != torch.float64:
            self.float32_seen = True
        node = variable(name, tuple(tensor.shape))
        self.point[name] = _point_value(tensor)
        self.names[name] = path
        if name not in self.taken:
            self.taken.append(name)
        framework_paths[node] = path
        return node

    def parameter(self, tensor: torch.Tensor | None) -> Node | None:
        """The variable of a module parameter (made on first use), named from its path."""
        if tensor is None:
            return None
        key = id(tensor)
        if key not in self.parameter_nodes:
            path = self.parameter_paths.get(key)
            if path is None:
                return _as_numpy(tensor)
            (name,) = variable_names([path], taken=self.taken)
            self.parameter_nodes[key] = self.add_variable(name, path, tensor)
        return self.parameter_nodes[key]

    def attribute(self, target: str) -> Any:
        """A get_attr node: a parameter is a variable; a buffer or tensor constant is a constant."""
        value = self.traced
        for part in target.split("."):
            value = getattr(value, part)
        if isinstance(value, nn.Parameter) or id(value) in self.parameter_paths:
            return self.parameter(value)
        return value

    def run(self, bound: dict[str, Any]) -> Any:
        env: dict[torch.fx.Node, Any] = {}
        input_names = dict(zip(bound, variable_names(list(bound)), strict=True))
        self.taken.extend(input_names.values())

        def lookup(fx_node: torch.fx.Node) -> Any:
            return env[fx_node]

        for fx_node in self.traced.graph.nodes:
            if fx_node.op == "placeholder":
                env[fx_node] = self.input(fx_node, bound, input_names)
            elif fx_node.op == "get_attr":
                env[fx_node] = self.attribute(fx_node.target)
            elif fx_node.op == "output":
                return torch.fx.node.map_arg(fx_node.args[0], lookup)
            else:
                args = torch.fx.node.map_arg(fx_node.args, lookup)
                kwargs = torch.fx.node.map_arg(fx_node.kwargs, lookup)
                env[fx_node] = self.call(fx_node, args, kwargs)
        raise DiffexploreError("from_torch: the fx graph has no output node")

    def input(self, fx_node: torch.fx.Node, bound: dict[str, Any], input_names: dict[str, str]) -> Any:
        target = fx_node.target.lstrip("*")
        if target not in bound:
            raise DiffexploreError(f"from_torch: no example value for the argument {target!r}")
        value = bound[target]
        if _is_float_tensor(value):
            return self.add_variable(input_names[target], target, value)
        if isinstance(value, float):
            self.notes.append(f"argument {target!r} = {value!r} is a Python number: a constant (pass a "
                              "float tensor to differentiate with respect to it)")
        return value

    def call(self, fx_node: torch.fx.Node, args: tuple, kwargs: dict) -> Any:
        op, target = fx_node.op, fx_node.target
        module = self.traced.get_submodule(target) if op == "call_module" else None
        if target not in (operator.getitem, builtins.getattr) and _has_graph_value((args, kwargs), _Indices):
            _refuse("using the indices of torch.max/min(x, dim) (the argmax at one point, not a function "
                    "of the graph)", "use its values (.values or [0]), or torch.amax/amin")
        has_parameters = module is not None and builtins.any(True for _ in module.parameters())
        if not has_parameters and not _has_graph_value((args, kwargs)):
            return self.fold(op, target, module, args, kwargs)
        args, kwargs = _as_numpy(args), _as_numpy(kwargs)
        if op == "call_module":
            convert = MODULES.get(type(module))
            if convert is None:
                _refuse(f"the module {type(module).__module__}.{type(module).__name__} (at {target!r})",
                        f"supported modules: {', '.join(supported_operations()['modules'])}")
            return convert(module, self.parameter, *args, **kwargs)
        if op == "call_method":
            convert = OPERATIONS.get(target)
            if convert is None or not hasattr(torch.Tensor, target):
                _refuse(f"the tensor method Tensor.{target} (fx node {fx_node.name!r})",
                        "see diffexplore.imports.torch.supported_operations()")
            return convert(*args, **kwargs)
        convert = _FUNCTIONS.get(target)
        if convert is None:
            _refuse(f"the function {_public_name(target)} (fx node {fx_node.name!r})",
                    "see diffexplore.imports.torch.supported_operations()")
        return convert(*args, **kwargs)

    @staticmethod
    def fold(op: str, target: Any, module: nn.Module | None, args: tuple, kwargs: dict) -> Any:
        """An operation on constants only: torch computes it (shapes, constant tensors)."""
        with torch.no_grad():
            if op == "call_module":
                return module(*args, **kwargs)
            if op == "call_method":
                return getattr(args[0], target)(*args[1:], **kwargs)
            return target(*args, **kwargs)


def _output_node(value: Any) -> Node:
    if isinstance(value, Node):
        return value
    if isinstance(value, torch.Tensor):
        return constant(_as_numpy(value))
    if isinstance(value, (int, float)):
        return constant(value)
    raise DiffexploreError(f"from_torch: the function returns {type(value).__name__}; allowed: a tensor, "
                           "or a tuple or list of tensors")


def from_torch(fn_or_module: Any, *args: Any, **kwargs: Any) -> Imported:
    """A PyTorch function's or ``nn.Module``'s graph at example arguments, through ``torch.fx``.

    Float tensor arguments and the module's parameters become variables (``net.0.weight`` ->
    ``net_0_weight``), with their current values, in float64, in ``.point``; integer tensors (class
    labels) and Python numbers become constants. Dropout is the identity in eval mode and refused in
    training mode; BatchNorm uses its running statistics in eval mode and the batch's in training mode.

    >>> import torch, diffexplore as dx
    >>> net = torch.nn.Sequential(torch.nn.Linear(3, 2), torch.nn.Tanh()).double()
    >>> x = torch.ones(4, 3, dtype=torch.float64)
    >>> g = dx.from_torch(net, x)
    >>> g.names
    {'input': 'input', 'v0_weight': '0.weight', 'v0_bias': '0.bias'}
    >>> float(abs(dx.evaluate(g.output, g.point) - net(x).detach().numpy()).max()) < 1e-15
    True
    >>> loss = dx.from_torch(lambda a, b: torch.sin(a * b).sum(), x, 2 * x)
    >>> bool(dx.grad(loss, loss.point)["a"][0, 0] == 2 * math.cos(2.0))
    True
    """
    module = fn_or_module if isinstance(fn_or_module, nn.Module) else None
    if module is None and not callable(fn_or_module):
        raise DiffexploreError(f"from_torch takes an nn.Module or a function, got "
                               f"{type(fn_or_module).__name__}")
    try:
        traced = torch.fx.symbolic_trace(fn_or_module)
    except Exception as exc:           # fx's reason, whatever it raised
        name = type(fn_or_module).__name__ if module is not None else getattr(fn_or_module, "__name__", "fn")
        if "not installed as a submodule" in str(exc):
            hint = ("a function may call only the modules that belong to it: make it the forward of an "
                    "nn.Module holding them (their parameters then get their paths), or import the module")
        else:
            hint = ("fx follows one path through Python code: an if/while on tensor values cannot be traced; "
                    "make the branch a torch.where, or trace a Python/NumPy version at a point with dx.trace")
        raise DiffexploreError(f"from_torch: torch.fx cannot trace {name}: {type(exc).__name__}: {exc} "
                               f"({hint})") from None
    forward = module.forward if module is not None else fn_or_module
    try:
        bound = inspect.signature(forward).bind(*args, **kwargs)
    except TypeError as exc:
        raise DiffexploreError(f"from_torch: the example arguments do not fit {forward.__name__}"
                               f"{inspect.signature(forward)}: {exc}") from None
    bound.apply_defaults()
    converter = _Converter(module, traced)
    with torch.no_grad():
        result = converter.run(dict(bound.arguments))
    if isinstance(result, (tuple, list)):
        output: Node | tuple[Node, ...] = tuple(_output_node(r) for r in result)
    else:
        output = _output_node(result)
    if converter.float32_seen:
        converter.notes.append("float32 tensors were converted to float64 (diffexplore's precision)")
    return Imported(output, converter.point, converter.names, source="torch", notes=converter.notes)
