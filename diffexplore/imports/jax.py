"""Build: a JAX function's graph, converted from its jaxpr.

:func:`from_jax` runs ``jax.make_jaxpr`` on the example arguments and turns each equation into
diffexplore nodes, one table entry per JAX primitive (:data:`CONVERTERS`). The walk is a loop over an
explicit stack of frames (a jaxpr and its environment), so nested ``jit``/``custom_jvp_call``/
``custom_vjp_call``/``checkpoint`` calls are inlined (their primal computation) without recursion.

A value in the walk is a node when it depends on a variable, and a number (a float64 NumPy array or a
Python float; integers and booleans keep their dtype) when it does not. Equations on numbers alone are
folded: real-valued ones through the same converters (which compute when given numbers, in float64),
integer and boolean ones (index arithmetic, ``iota``) by JAX itself, exactly. So an index computed from
constants becomes a plain index (``dx.take``), and a gather whose indices depend on a variable is refused.

Float inputs become variables named from their path in the argument pytree (``params['W1']`` ->
``params_W1``); integer and boolean inputs (labels, counts) are held at their example values. A float32
jaxpr (JAX's default) is evaluated in float64: its scalar literals are read as the shortest decimal that
gives the same float32 (``0.1``, not ``0.10000000149``), and a note says so, once. JAX's global
configuration is never changed. Primitives without a converter (``while``, ``cond``, ``scan``, ...) are
refused by name.
"""

from __future__ import annotations

import inspect
import math
import warnings
from collections.abc import Callable
from typing import Any

import jax
import numpy as np
from jax.extend import core as jax_core

from .. import arrays as dx_arrays
from .. import rules
from ..arrays.core import Index
from ..errors import DiffexploreError
from ..graph import Node, constant, variable
from .imported import Imported, framework_paths, variable_names

__all__ = ["from_jax", "CONVERTERS", "INLINED", "REFUSED_HINTS", "supported_primitives"]

_SQRT2 = math.sqrt(2.0)
_LOG2 = math.log(2.0)
_FLOAT32_NOTE = ("the jaxpr is float32 (JAX's default); diffexplore evaluates it in float64: example "
                 "values are taken as given, scalar literals as their shortest decimal (0.1), and float32 "
                 "constant arrays as they are; for float64 constants trace inside `with "
                 "jax.enable_x64(True):`")
_warned_float32 = False


class _Equation:
    """What a converter sees of one jaxpr equation: its primitive's name, params and output shapes."""

    __slots__ = ("name", "params", "out_shapes", "out_dtypes")

    def __init__(self, eqn: Any):
        self.name = eqn.primitive.name
        self.params = eqn.params
        self.out_shapes = [tuple(v.aval.shape) for v in eqn.outvars]
        self.out_dtypes = [np.dtype(v.aval.dtype) for v in eqn.outvars]


def _reshaped(a: Any, shape: tuple) -> Any:
    """``a`` in ``shape`` (no node when it has that shape already)."""
    if tuple(np.shape(a) if not isinstance(a, Node) else a.shape) == tuple(shape):
        return a
    return dx_arrays.reshape(a, shape)


def _shape(a: Any) -> tuple:
    return a.shape if isinstance(a, Node) else np.shape(a)


# ---- converters: (input values, equation) -> output value (or a list, for several outputs) ------------


def _binary(function: Callable) -> Callable:
    return lambda values, eqn: function(values[0], values[1])


def _unary(function: Callable) -> Callable:
    return lambda values, eqn: function(values[0])


def _erf(a: Any) -> Any:
    """erf(a) = 2Φ(√2·a) − 1, through the rule table's Φ."""
    return 2.0 * rules.norm_cdf(_SQRT2 * a) - 1.0


def _select_n(values: list, eqn: _Equation) -> Any:
    """``select_n(which, case0, case1, ...)``: case0 where ``which`` is false (or 0), case1 where true."""
    which, cases = values[0], values[1:]
    if len(cases) == 2 and (isinstance(which, Node) or np.asarray(which).dtype == bool):
        return rules.select(which, cases[1], cases[0])
    out = cases[0]
    for k in range(1, len(cases)):
        out = rules.select(rules.equal(which, float(k)), cases[k], out)
    return out


def _dot_general(values: list, eqn: _Equation) -> Any:
    """``dot_general`` as one matmul: each side's axes permuted to (batch, free, contracted) and
    (batch, contracted, free), flattened to matrices (or vectors, where a side has no free axis),
    multiplied, and reshaped to JAX's output order (batch, lhs free, rhs free)."""
    lhs, rhs = values
    (lhs_contract, rhs_contract), (lhs_batch, rhs_batch) = eqn.params["dimension_numbers"]
    sl, sr = _shape(lhs), _shape(rhs)
    lhs_free = [i for i in range(len(sl)) if i not in lhs_contract and i not in lhs_batch]
    rhs_free = [i for i in range(len(sr)) if i not in rhs_contract and i not in rhs_batch]
    batch = math.prod(sl[i] for i in lhs_batch)
    m = math.prod(sl[i] for i in lhs_free)
    k = math.prod(sl[i] for i in lhs_contract)
    n = math.prod(sr[i] for i in rhs_free)
    lhs = dx_arrays.transpose(lhs, tuple(lhs_batch) + tuple(lhs_free) + tuple(lhs_contract))
    rhs = dx_arrays.transpose(rhs, tuple(rhs_batch) + tuple(rhs_contract) + tuple(rhs_free))
    if lhs_batch:
        product = dx_arrays.matmul(_reshaped(lhs, (batch, m, k)), _reshaped(rhs, (batch, k, n)))
    else:
        product = dx_arrays.matmul(_reshaped(lhs, ((m, k) if lhs_free else (k,))),
                                   _reshaped(rhs, ((k, n) if rhs_free else (k,))))
    return _reshaped(product, eqn.out_shapes[0])


def _broadcast_in_dim(values: list, eqn: _Equation) -> Any:
    """The operand's axes placed at ``broadcast_dimensions`` of the output, the others broadcast."""
    operand, out_shape = values[0], eqn.out_shapes[0]
    placed = eqn.params["broadcast_dimensions"]
    source = _shape(operand)
    kept = tuple(source[placed.index(i)] if i in placed else 1 for i in range(len(out_shape)))
    operand = _reshaped(operand, kept)
    if kept == out_shape:
        return operand
    if not isinstance(operand, Node):
        return np.broadcast_to(operand, out_shape).copy()
    return rules.broadcast_to(operand, attr=out_shape)


def _reduction(function: Callable) -> Callable:
    return lambda values, eqn: function(values[0], axis=tuple(eqn.params["axes"]))


def _slice(values: list, eqn: _Equation) -> Any:
    starts, limits = eqn.params["start_indices"], eqn.params["limit_indices"]
    strides = eqn.params["strides"] or (None,) * len(starts)
    index = tuple(slice(int(a), int(b), None if s in (None, 1) else int(s))
                  for a, b, s in zip(starts, limits, strides, strict=True))
    return _take(values[0], index)


def _take(a: Any, index: Any) -> Any:
    index = index if isinstance(index, Index) else Index(index)
    if not isinstance(a, Node):
        return np.asarray(a)[index.numpy]
    return dx_arrays.take(a, index)


def _dynamic_slice(values: list, eqn: _Equation) -> Any:
    """A dynamic slice at start indices that are numbers (clamped into range, as JAX clamps them)."""
    operand, starts = values[0], values[1:]
    if any(isinstance(s, Node) for s in starts):
        raise DiffexploreError("dynamic_slice: its start index depends on a variable; diffexplore's "
                               "indices are numbers (trace a Python-level version at a point: dx.trace)")
    sizes = eqn.params["slice_sizes"]
    shape = _shape(operand)
    index = []
    for start, size, dim in zip(starts, sizes, shape, strict=True):
        start = min(max(int(np.asarray(start)), 0), dim - size)
        index.append(slice(start, start + size))
    return _take(operand, tuple(index))


def _gather(values: list, eqn: _Equation) -> Any:
    """A gather at indices that are numbers, as plain indexing: JAX's own gather applied to the positions
    0, 1, ... of the operand says which element each output element reads. Rows picked along the first
    axis become ``a[rows]``; any other pattern ``a.reshape(-1)[positions]``."""
    operand, indices = values
    if isinstance(indices, Node):
        raise DiffexploreError("gather: its indices depend on a variable; diffexplore's indices are "
                               "numbers (trace a Python-level version at a point: dx.trace)")
    shape = _shape(operand)
    positions = np.arange(1, math.prod(shape) + 1, dtype=np.int64 if math.prod(shape) >= 2**31 else np.int32)
    params = dict(eqn.params)
    if params.get("fill_value") is not None or "FILL" in str(params.get("mode")):
        params["fill_value"] = 0
    read = np.asarray(jax.lax.gather_p.bind(positions.reshape(shape), np.asarray(indices), **params)) - 1
    if (read < 0).any():
        raise DiffexploreError("gather: an index lies outside the array (JAX fills those elements); "
                               "diffexplore takes plain indexing only")
    trailing = shape[1:]
    stride = math.prod(trailing)
    if shape and stride and read.ndim >= len(trailing) and read.shape[read.ndim - len(trailing):] == trailing:
        rows = (read.reshape(-1, stride)[:, 0] // stride).reshape(read.shape[:read.ndim - len(trailing)])
        if np.array_equal(np.arange(math.prod(shape)).reshape(shape)[rows], read):
            return _take(operand, (rows,))
    return _take(_reshaped(operand, (math.prod(shape),)), (read,))


def _concatenate(values: list, eqn: _Equation) -> Any:
    if not any(isinstance(v, Node) for v in values):
        return np.concatenate([np.asarray(v) for v in values], axis=eqn.params["dimension"])
    return dx_arrays.concatenate(values, axis=eqn.params["dimension"])


def _split(values: list, eqn: _Equation) -> list:
    axis, start, parts = eqn.params["axis"], 0, []
    for size in eqn.params["sizes"]:
        index = (slice(None),) * axis + (slice(start, start + size),)
        parts.append(_take(values[0], index))
        start += size
    return parts


def _convert_element_type(values: list, eqn: _Equation) -> Any:
    """A change of dtype: real to real, and a comparison's 1.0/0.0 to any dtype, is the identity."""
    value = values[0]
    if np.dtype(eqn.out_dtypes[0]).kind not in "f" and not _is_indicator(value):
        raise DiffexploreError(f"convert_element_type to {eqn.out_dtypes[0]} of a value that depends on a "
                               "variable: diffexplore's graphs are real-valued (an integer or boolean "
                               "from a variable has no derivative)")
    return value


def _is_indicator(value: Node) -> bool:
    """Whether a node holds only 1.0 and 0.0 (a comparison, or a select between those), so that it is
    already the integer or boolean JAX converts it to."""
    if value.op in ("greater", "greater_equal", "less", "less_equal", "equal", "not_equal"):
        return True
    return value.op == "select" and all(a.is_constant and np.isin(a.value, (0.0, 1.0)).all()
                                        for a in value.args[1:])


def _clamp(values: list, eqn: _Equation) -> Any:
    low, a, high = values
    return rules.minimum(rules.maximum(a, low), high)


def _identity(values: list, eqn: _Equation) -> Any:
    return values[0]


def _not(values: list, eqn: _Equation) -> Any:
    return 1.0 - values[0]


def _unsupported_param(name: str, param: str, value: Any, wanted: str) -> DiffexploreError:
    return DiffexploreError(
        f"from_jax: {name} with {param}={value!r} is not supported; diffexplore converts it only with "
        f"{wanted}. Trace a Python-level version at a point instead: dx.trace(fn, x=...)")


def _conv_general_dilated(values: list, eqn: _Equation) -> Any:
    """A 2-D convolution in PyTorch's layout (NCHW input, OIHW weight, NCHW output), without dilation or
    groups and with the same zero padding on both sides of each spatial axis, as ``dx.conv2d``."""
    name, params = eqn.name, eqn.params
    numbers = params["dimension_numbers"]
    specs = (tuple(numbers.lhs_spec), tuple(numbers.rhs_spec), tuple(numbers.out_spec))
    if any(spec != (0, 1, 2, 3) for spec in specs):
        raise _unsupported_param(name, "dimension_numbers", numbers,
                                 "2-D NCHW input, OIHW weight and NCHW output")
    for param in ("lhs_dilation", "rhs_dilation"):
        if any(int(d) != 1 for d in params[param]):
            raise _unsupported_param(name, param, params[param], f"{param} all 1")
    for param in ("feature_group_count", "batch_group_count"):
        if int(params[param]) != 1:
            raise _unsupported_param(name, param, params[param], f"{param}=1")
    padding = params["padding"]
    if isinstance(padding, str) or any(int(low) != int(high) for low, high in padding):
        raise _unsupported_param(name, "padding", padding, "symmetric padding pairs (p, p) per spatial axis")
    stride = tuple(int(s) for s in params["window_strides"])
    return dx_arrays.conv2d(values[0], values[1], stride=stride,
                            padding=tuple(int(low) for low, _ in padding))


def _reduce_window_max(values: list, eqn: _Equation) -> Any:
    """Max pooling over the last two axes of an (N, C, H, W) array, without padding or dilation, as
    ``dx.max_pool2d``."""
    name, params = eqn.name, eqn.params
    window, strides = tuple(params["window_dimensions"]), tuple(params["window_strides"])
    if len(window) != 4 or tuple(window[:2]) != (1, 1):
        raise _unsupported_param(name, "window_dimensions", window, "window_dimensions (1, 1, kh, kw)")
    if len(strides) != 4 or tuple(strides[:2]) != (1, 1):
        raise _unsupported_param(name, "window_strides", strides, "window_strides (1, 1, sh, sw)")
    if any(int(p) != 0 for pair in params["padding"] for p in pair):
        raise _unsupported_param(name, "padding", params["padding"], "zero padding")
    for param in ("base_dilation", "window_dilation"):
        if any(int(d) != 1 for d in params[param]):
            raise _unsupported_param(name, param, params[param], f"{param} all 1")
    return dx_arrays.max_pool2d(values[0], tuple(int(k) for k in window[2:]),
                                tuple(int(s) for s in strides[2:]))


#: JAX primitive name -> converter(values, equation) -> the output value(s).
CONVERTERS: dict[str, Callable] = {
    "add": _binary(rules.add), "sub": _binary(rules.sub), "mul": _binary(rules.mul),
    "div": _binary(rules.div), "neg": _unary(rules.neg), "max": _binary(rules.maximum),
    "min": _binary(rules.minimum), "pow": _binary(rules.power),
    "integer_pow": lambda values, eqn: rules.power(values[0], float(eqn.params["y"])),
    "square": lambda values, eqn: rules.power(values[0], 2.0),
    "exp": _unary(rules.exp), "exp2": lambda values, eqn: rules.exp(_LOG2 * values[0]),
    "log": _unary(rules.log), "log1p": _unary(rules.log1p), "expm1": _unary(rules.expm1),
    "sin": _unary(rules.sin), "cos": _unary(rules.cos), "tan": _unary(rules.tan),
    "tanh": _unary(rules.tanh), "sinh": _unary(rules.sinh), "cosh": _unary(rules.cosh),
    "atan": _unary(rules.atan), "logistic": _unary(rules.sigmoid), "sqrt": _unary(rules.sqrt),
    "rsqrt": lambda values, eqn: 1.0 / rules.sqrt(values[0]),
    "abs": _unary(rules.abs), "sign": _unary(rules.sign),
    "erf": _unary(_erf), "erfc": lambda values, eqn: 2.0 * rules.norm_cdf(-_SQRT2 * values[0]),
    "gt": _binary(rules.greater), "ge": _binary(rules.greater_equal), "lt": _binary(rules.less),
    "le": _binary(rules.less_equal), "eq": _binary(rules.equal), "ne": _binary(rules.not_equal),
    "is_finite": lambda values, eqn: rules.equal(values[0] - values[0], 0.0),
    "and": _binary(rules.mul), "or": _binary(rules.maximum), "not": _not,
    "select_n": _select_n, "clamp": _clamp,
    "stop_gradient": _unary(rules.stop_gradient),
    "dot_general": _dot_general,
    "reduce_sum": _reduction(dx_arrays.sum), "reduce_max": _reduction(dx_arrays.max),
    "reduce_min": _reduction(dx_arrays.min), "reduce_prod": _reduction(dx_arrays.prod),
    "broadcast_in_dim": _broadcast_in_dim,
    "reshape": lambda values, eqn: _reshaped(values[0], eqn.out_shapes[0]),
    "squeeze": lambda values, eqn: _reshaped(values[0], eqn.out_shapes[0]),
    "expand_dims": lambda values, eqn: _reshaped(values[0], eqn.out_shapes[0]),
    "transpose": lambda values, eqn: dx_arrays.transpose(values[0], eqn.params["permutation"]),
    "concatenate": _concatenate, "split": _split,
    "slice": _slice, "dynamic_slice": _dynamic_slice, "gather": _gather,
    "convert_element_type": _convert_element_type,
    "copy": _identity, "copy_p": _identity, "reduce_precision": _identity, "optimization_barrier": _identity,
    "sharding_constraint": _identity,
    "conv_general_dilated": _conv_general_dilated, "reduce_window_max": _reduce_window_max,
}

#: Call-like primitives whose body is inlined (its primal computation), by the param holding the body.
INLINED: dict[str, str] = {
    "jit": "jaxpr", "pjit": "jaxpr", "closed_call": "call_jaxpr", "core_call": "call_jaxpr",
    "custom_jvp_call": "call_jaxpr", "custom_vjp_call": "call_jaxpr", "custom_vjp_call_jaxpr": "fun_jaxpr",
    "checkpoint": "jaxpr", "remat": "jaxpr",
}

#: Refused primitives that have a better hint than the generic one.
REFUSED_HINTS: dict[str, str] = {
    "while": "a lax.while_loop / fori_loop with a bound that is not static",
    "cond": "a lax.cond / lax.switch branch",
    "scan": "a lax.scan / fori_loop",
    "custom_lin": "a custom linearisation",
    "linear_solve": "a custom linear solve (lax.custom_linear_solve)",
}


def supported_primitives() -> list[str]:
    """The JAX primitive names :func:`from_jax` converts (its converters and the inlined calls).

    >>> "dot_general" in supported_primitives() and "jit" in supported_primitives()
    True
    """
    return sorted(set(CONVERTERS) | set(INLINED))


def _refusal(name: str) -> DiffexploreError:
    what = REFUSED_HINTS.get(name, "a JAX primitive diffexplore has no rule for")
    return DiffexploreError(
        f"from_jax: the jaxpr uses the primitive {name!r} ({what}); diffexplore converts "
        f"{', '.join(supported_primitives())}. Write that part as a Python-level loop or branch and trace "
        "it at a point instead: dx.trace(fn, x=...)")


# ---- values: literals, folding, the float32 note -------------------------------------------------------


def _is_real(dtype: Any) -> bool:
    return np.dtype(dtype).kind == "f"


def _number(value: Any, dtype: Any, literal: bool) -> Any:
    """A JAX constant as diffexplore holds it: reals in float64 (a float32 scalar literal as its shortest
    decimal), 0-d reals as Python floats, integers and booleans as NumPy arrays of their dtype."""
    array = np.asarray(value)
    if not _is_real(dtype):
        return array
    if literal and array.ndim == 0 and array.dtype == np.float32:
        return float(str(np.float32(array)))
    array = array.astype(np.float64)
    return float(array) if array.ndim == 0 else array


def _fold(eqn: Any, values: list) -> list:
    """An equation on numbers alone, computed by JAX (integer and boolean results: exact)."""
    arguments = [np.asarray(v, dtype=var.aval.dtype) for v, var in zip(values, eqn.invars, strict=True)]
    out = eqn.primitive.bind(*arguments, **eqn.params)
    outs = out if eqn.primitive.multiple_results else [out]
    return [_number(o, var.aval.dtype, literal=False) for o, var in zip(outs, eqn.outvars, strict=True)]


def _argument_paths(fn: Any, args: tuple, kwargs: dict) -> list[tuple[str, Any, Any]]:
    """(path, leaf, tree-path) for each leaf of (args, kwargs), in ``make_jaxpr``'s order; a positional
    argument's path starts with its parameter's name."""
    try:
        parameters = list(inspect.signature(fn).parameters.values())
    except (TypeError, ValueError):
        parameters = []
    positional = [p.name for p in parameters if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)]
    varargs = next((p.name for p in parameters if p.kind == p.VAR_POSITIONAL), None)

    def positional_name(i: int) -> str:
        if i < len(positional):
            return positional[i]
        if varargs is not None:
            return f"{varargs}[{i - len(positional)}]"
        return f"arg{i}"

    leaves, _ = jax.tree_util.tree_flatten_with_path((args, kwargs))
    paths = []
    for key_path, leaf in leaves:
        group, key, rest = key_path[0].idx, key_path[1], key_path[2:]
        head = positional_name(key.idx) if group == 0 else str(key.key)
        paths.append((head + jax.tree_util.keystr(tuple(rest)), leaf))
    return paths


# ---- the walk ------------------------------------------------------------------------------------------


def from_jax(fn: Callable, *args: Any, **kwargs: Any) -> Imported:
    """The graph of the JAX function ``fn`` at the example arguments, through its jaxpr.

    Float array and scalar leaves of the arguments become variables named from their paths
    (``params['W1']`` -> ``params_W1``); ``.point`` holds their example values in float64.

    >>> import diffexplore as dx, jax.numpy as jnp
    >>> g = dx.from_jax(lambda x, y: 1 + x + jnp.exp(jnp.sin(x * y)), 1.0, 2.0)
    >>> g.output is dx.parse("1 + x + exp(sin(x*y))"), g.point
    (True, {'x': 1.0, 'y': 2.0})
    """
    global _warned_float32
    closed = jax.make_jaxpr(fn)(*args, **kwargs)
    leaves = _argument_paths(fn, args, kwargs)
    invars = closed.jaxpr.invars
    if len(leaves) != len(invars):
        raise DiffexploreError(f"from_jax: the jaxpr takes {len(invars)} inputs but the arguments have "
                               f"{len(leaves)} leaves; pass arrays and numbers (in dicts, lists, tuples)")
    notes: list[str] = []
    real = [(path, leaf, var) for (path, leaf), var in zip(leaves, invars, strict=True)
            if _is_real(var.aval.dtype)]
    names = variable_names([path for path, _, _ in real])
    env: dict = {}
    point: dict[str, Any] = {}
    paths: dict[str, str] = {}
    for name, (path, leaf, var) in zip(names, real, strict=True):
        node = variable(name, shape=tuple(var.aval.shape))
        framework_paths[node] = path
        env[var] = node
        value = np.asarray(leaf, dtype=np.float64)
        point[name] = float(value) if value.ndim == 0 else value
        paths[name] = path
    for (path, leaf), var in zip(leaves, invars, strict=True):
        if not _is_real(var.aval.dtype):
            env[var] = np.asarray(leaf, dtype=var.aval.dtype)
            notes.append(f"{path} ({var.aval.dtype}) is held at its example value (not a variable)")

    outputs = _walk(closed, env)
    if _uses_float32(closed):
        notes.insert(0, _FLOAT32_NOTE)
        if not _warned_float32:
            _warned_float32 = True
            warnings.warn(f"from_jax: {_FLOAT32_NOTE}", stacklevel=2)
    nodes = tuple(o if isinstance(o, Node) else constant(o) for o in outputs)
    return Imported(output=nodes[0] if len(nodes) == 1 else nodes, point=point, names=paths, source="jax",
                    notes=notes)


def _uses_float32(closed: Any) -> bool:
    """Whether any input, constant or equation of the top-level jaxpr is a float narrower than 64 bits."""
    jaxpr = closed.jaxpr
    variables = list(jaxpr.invars) + list(jaxpr.constvars) + [v for e in jaxpr.eqns for v in e.outvars]
    return any(_is_real(v.aval.dtype) and np.dtype(v.aval.dtype).itemsize < 8 for v in variables)


def _walk(closed: Any, env: dict) -> list:
    """The output values of a closed jaxpr, its inputs' values in ``env``: a loop over a stack of frames
    (jaxpr, environment, next equation, where its outputs go), so nested calls are inlined without
    recursion."""
    for var, const in zip(closed.jaxpr.constvars, closed.consts, strict=True):
        env[var] = _number(const, var.aval.dtype, literal=False)
    result: list = []
    stack = [(closed.jaxpr, env, 0, None)]
    while stack:
        jaxpr, env, position, caller = stack.pop()
        eqns = jaxpr.eqns
        while position < len(eqns):
            eqn = eqns[position]
            position += 1
            if all(isinstance(v, jax_core.DropVar) for v in eqn.outvars):
                continue
            values = [_read(env, v) for v in eqn.invars]
            name = eqn.primitive.name
            if name in INLINED:
                body = eqn.params[INLINED[name]]
                inner, consts = (body.jaxpr, body.consts) if hasattr(body, "consts") else (body, ())
                inner_env = dict(zip(inner.invars, values, strict=True))
                for var, const in zip(inner.constvars, consts, strict=True):
                    inner_env[var] = _number(const, var.aval.dtype, literal=False)
                stack.append((jaxpr, env, position, caller))
                stack.append((inner, inner_env, 0, (env, eqn.outvars)))
                break
            outs = _convert(eqn, values)
            for var, out in zip(eqn.outvars, outs, strict=True):
                if not isinstance(var, jax_core.DropVar):
                    env[var] = out
        else:
            outs = [_read(env, v) for v in jaxpr.outvars]
            if caller is None:
                result = outs
            else:
                caller_env, outvars = caller
                for var, out in zip(outvars, outs, strict=True):
                    if not isinstance(var, jax_core.DropVar):
                        caller_env[var] = out
    return result


def _read(env: dict, var: Any) -> Any:
    if isinstance(var, jax_core.Literal):
        return _number(var.val, var.aval.dtype, literal=True)
    return env[var]


def _convert(eqn: Any, values: list) -> list:
    """One equation's output values: folded when its inputs are numbers (by the converter for real
    results, by JAX otherwise), else converted to nodes."""
    name = eqn.primitive.name
    converter = CONVERTERS.get(name)
    on_numbers = not any(isinstance(v, Node) for v in values)
    real_out = all(_is_real(v.aval.dtype) for v in eqn.outvars)
    if on_numbers and (converter is None or not real_out):
        try:
            return _fold(eqn, values)
        except Exception as exc:      # noqa: BLE001 - JAX's own error, reported with the primitive's name
            raise DiffexploreError(f"from_jax: computing the constant {name} failed in JAX: {exc}") from None
    if converter is None:
        raise _refusal(name)
    out = converter(values, _Equation(eqn))
    if eqn.primitive.multiple_results:
        return list(out)
    if not isinstance(out, Node):
        out = _number(out, eqn.outvars[0].aval.dtype, literal=False)
    return [out]
