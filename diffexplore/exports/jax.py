"""Out: a graph as a pure JAX function (:func:`to_jax`).

The function runs the graph's operations in evaluation order, each through its primitive's ``jax=``
facet (``jax.numpy`` / ``jax.lax`` operations), so it is an ordinary JAX function: ``jax.jit``,
``jax.grad``, ``jax.vmap``, ``jax.jacfwd``/``jacrev`` and sharded inputs work through it, and under
``jit`` the walk over the graph happens once, at tracing. It follows JAX's semantics: float32 unless
x64 is enabled, inf/nan where diffexplore's evaluators raise DomainError.

A user primitive without a ``jax=`` facet but with partials is wrapped: its NumPy implementation runs on
the host through ``jax.pure_callback`` and its derivative is its own partials (``jax.custom_vjp``, the
partials through a second callback). That works under jit, grad and vmap, at the cost of a round trip
to the host and no fusion for that operation, and without second derivatives through it.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import jax
import numpy as np

from ..graph import Primitive
from .common import Exported, bind_arguments, operations, prepare, signature

__all__ = ["to_jax", "JaxFunction"]


class JaxFunction:
    """f as a pure JAX function of its variables (keyword, or positional in ``.variables`` order).

    >>> import diffexplore as dx
    >>> f = dx.to_jax(dx.parse("x*y + 1"))
    >>> f.variables, float(f(2.0, 3.0)), float(f(y=3.0, x=2.0))
    (['x', 'y'], 7.0, 7.0)
    """

    def __init__(self, exported: Exported):
        self.exported = exported
        self.variables = list(exported.variables)
        self.guards = list(exported.decisions)
        self._steps = operations(exported, "jax", jax, _wrapped)
        self.__doc__ = exported.docstring("A JAX function: the value")
        self.__name__ = "to_jax"
        self.__signature__ = signature(self.variables)
        self._output = exported.plan.index[exported.f]      # (a slot: nodes are not hashed while running)
        self._variable_slots = [(slot, name) for slot, name, _shape in exported.plan.variables]

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        given = bind_arguments(self.variables, args, kwargs, "to_jax(f)")
        p = self.exported.plan
        values: list[Any] = [None] * len(p.order)
        for slot, value in p.constants:
            values[slot] = value
        for slot, name in self._variable_slots:
            values[slot] = given[name]
        for slot, function, arguments, attr in self._steps:
            if attr is None:
                values[slot] = function(*[values[k] for k in arguments])
            else:
                values[slot] = function(*[values[k] for k in arguments], attr=attr)
        return jax.numpy.asarray(values[self._output])

    def __repr__(self) -> str:
        return f"<to_jax f({', '.join(self.variables)})>"


def to_jax(f: Any, *, guards: str = "refuse", at: Any = None) -> JaxFunction:
    """f (a graph, formula, import, or a Python function traced at ``at``) as a pure JAX function."""
    return JaxFunction(prepare(f, guards, "dx.to_jax", at))


def _wrapped(rule: Primitive) -> Callable | None:
    """A user primitive with partials, run on the host: ``pure_callback`` for its NumPy implementation,
    ``custom_vjp`` with its own partials (through a callback too). None for anything else."""
    if not rule.user_defined or rule.partials is None or rule.has_attr or not rule.elementwise:
        return None
    jnp = jax.numpy

    def host(function: Callable, dtype: Any) -> Callable:
        """``function`` on the host, its result in the arguments' broadcast shape (a batch under vmap)."""
        def call(*arrays):
            arrays = [np.asarray(a) for a in arrays]
            shape = np.broadcast_shapes(*[a.shape for a in arrays])
            return np.asarray(np.broadcast_to(function(*arrays), shape), dtype=dtype)
        return call

    def value(*args):
        shape = jnp.broadcast_shapes(*[jnp.shape(a) for a in args])
        dtype = jnp.result_type(*args)
        return jax.pure_callback(host(rule.impl, dtype), jax.ShapeDtypeStruct(shape, dtype), *args,
                                 vmap_method="broadcast_all")

    @jax.custom_vjp
    def primitive(*args):
        return value(*args)

    def forward(*args):
        out = value(*args)
        return out, (args, out)

    def backward(residuals, g):
        args, out = residuals
        cotangents = []
        for k, partial in enumerate(rule.partials):
            shape = jnp.shape(args[k])
            if partial is None:
                cotangents.append(jnp.zeros(shape, jnp.result_type(args[k])))
                continue
            local = jax.pure_callback(host(lambda *a, partial=partial: partial(*a), out.dtype),
                                      jax.ShapeDtypeStruct(out.shape, out.dtype), *args, out,
                                      vmap_method="broadcast_all")
            cotangents.append(_sum_to(g * local, shape).astype(jnp.result_type(args[k])))
        return tuple(cotangents)

    primitive.defvjp(forward, backward)

    def call(*args):
        return primitive(*[jnp.asarray(a) for a in args])
    return call


def _sum_to(a: Any, shape: tuple) -> Any:
    """A broadcast cotangent summed back to the argument's shape."""
    lead = a.ndim - len(shape)
    if lead > 0:
        a = a.sum(axis=tuple(range(lead)))
    axes = tuple(i for i, n in enumerate(shape) if n == 1 and a.shape[i] != 1)
    if axes:
        a = a.sum(axis=axes, keepdims=True)
    return a.reshape(shape)
