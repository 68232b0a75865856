"""Transform: symbolic differentiation, nodes in and a new derivative graph out.

The sweeps of :mod:`diffexplore.sweeps` run here over nodes instead of numbers (each node's "value" is
the node itself), so the rules the evaluators use build each partial as a small graph that reuses the
nodes of f (``sin(x*y)`` is shared by f and ∂f/∂x). Two faces:

- the *raw* derivative (``prune=False``): the chain rule exactly as the rules emit it, every leaf's
  derivative a constant 0 or 1 and every product ``partial * tangent`` kept, as a textbook figure draws it;
- the *pruned* derivative (default): the same construction with the identities of
  :mod:`diffexplore.prune` applied to the nodes the differentiator creates (never to f's own nodes).

:func:`diff` is forward accumulation on nodes (one variable at a time); :func:`gradient_graph` is reverse
accumulation on nodes (all partials at once, within a small constant times the size of f).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from .errors import DiffexploreError
from .graph import Node, constant, gc_paused, variable
from .inputs import as_graph, resolve_wrt
from .plan import Plan
from .sweeps import NodeAlgebra, backward_sweep, forward_sweep, guard_derived

__all__ = ["diff", "gradient_graph", "adjoint_graphs"]


def _zero(shape: tuple) -> Node:
    return constant(0.0) if not shape else constant(np.zeros(shape))


def _variable_named(p: Plan, wrt: str | Node) -> Node:
    if isinstance(wrt, Node):
        if not wrt.is_variable:
            raise DiffexploreError("differentiate with respect to a variable (a name or a variable node)")
        return wrt
    for i, name, _shape in p.variables:
        if name == wrt:
            return p.order[i]
    return variable(wrt)          # f does not depend on it: the derivative is 0


def _diff_once(p: Plan, x: Node, prune: bool) -> Node:
    """∂root/∂x by the forward sweep over nodes: x's tangent is 1, every other leaf's 0 (None when
    pruned), and each operation's tangent is built from its arguments' by the rule table."""
    values = p.order
    tangents: list = [None] * len(values)
    if not prune:
        for i, _ in p.constants:
            tangents[i] = _zero(values[i].shape)
        for i, _name, shape in p.variables:
            tangents[i] = _zero(shape)
    for i, _name, shape in p.variables:
        if values[i] is x:
            tangents[i] = constant(1.0) if not shape else constant(np.ones(shape))
    algebra = NodeAlgebra(prune, p.index)
    forward_sweep(p, values, tangents, algebra, terms=None if prune else p.dense_terms())
    result = tangents[p.roots[0]]
    return result if result is not None else _zero(values[p.roots[0]].shape)


def diff(f: Node | str, wrt: str | Node, order: int = 1, prune: bool = True) -> Node:
    """The symbolic derivative ∂f/∂wrt as a new graph of the same kind (``order`` times).

    ``prune=False`` gives the raw derivative exactly as the chain rule emits it. With respect to an
    array variable, the derivative of a scalar f is its gradient, a graph of the variable's shape.

    >>> import diffexplore as dx
    >>> f = dx.parse("1 + x + exp(sin(x*y))")
    >>> print(dx.diff(f, "x"))
    1 + exp(sin(x*y))*(cos(x*y)*y)
    >>> print(dx.diff(dx.parse("x**3"), "x", order=2))
    6*x
    """
    f = as_graph(f)
    if order < 0:
        raise DiffexploreError(f"order must be 0 or more, got {order}")
    with gc_paused():
        p = Plan([f], evaluation=False)
        x = _variable_named(p, wrt)
        if x.shape and order:
            return _diff_array_variable(f, x, order, prune)
        result = f
        for k in range(order):
            result = _diff_once(p if k == 0 else Plan([result], evaluation=False), x, prune)
    guard_derived(f, [result])
    return result


def _diff_array_variable(f: Node, x: Node, order: int, prune: bool) -> Node:
    """∂f/∂X for an array variable X: the gradient, shaped like X (reverse accumulation on nodes). Only
    a scalar f has one of X's shape, and only its first derivative: others are Jacobians and Hessians
    with more axes than any node here, so they are refused rather than summed into a wrong shape."""
    if f.shape:
        raise DiffexploreError(f"∂f/∂{x.name}: f has shape {f.shape} and {x.name} shape {x.shape}, so the "
                               f"derivative has shape {f.shape + x.shape}; reduce f to a scalar first "
                               f"(dx.sum(f)), or differentiate with respect to a scalar variable")
    if order > 1:
        raise DiffexploreError(f"order {order} with respect to the array variable {x.name} (shape "
                               f"{x.shape}) is a tensor of shape {x.shape * order}; only order 1 (the "
                               "gradient, shaped like the variable) is a graph here")
    _order, adjoints = adjoint_graphs(f, prune)
    a = adjoints.get(x)
    result = a if a is not None else _zero(x.shape)
    guard_derived(f, [result])
    return result


def adjoint_graphs(f: Node, prune: bool = True) -> tuple[list[Node], dict[Node, Node]]:
    """Reverse accumulation on nodes: f's nodes in evaluation order, and the adjoint graph v̄ = ∂f/∂v of
    every node that has one (nodes that do not depend on a variable have none).

    >>> import diffexplore as dx
    >>> x, y = dx.variables("x y")
    >>> order, adjoints = adjoint_graphs(x * y + x)
    >>> [str(adjoints[n]) for n in order]
    ['1 + y', 'x', '1', '1']
    """
    p, adjoints = _adjoint_sweep(f, prune)
    return p.order, {n: a for n, a in zip(p.order, adjoints, strict=True) if a is not None}


def _adjoint_sweep(f: Node, prune: bool) -> tuple[Plan, list]:
    """f's plan and the adjoint graph of every slot (None where there is none)."""
    with gc_paused():
        p = Plan([f], evaluation=False)
        adjoints: list = [None] * len(p.order)
        adjoints[p.roots[0]] = constant(1.0) if not f.shape else constant(np.ones(f.shape))
        backward_sweep(p, p.order, adjoints, NodeAlgebra(prune, p.index))
    return p, adjoints


def gradient_graph(f: Node | str, wrt: Sequence[str] | str | None = None,
                   prune: bool = True) -> dict[str, Node]:
    """Every partial derivative of f at once, as graphs, by accumulating adjoints on nodes (reverse
    mode done symbolically). The gradient graph shares f's nodes and has at most a small constant
    times f's size.

    >>> import diffexplore as dx
    >>> g = dx.gradient_graph(dx.parse("x*y + sin(x)"))
    >>> {name: str(node) for name, node in g.items()}
    {'x': 'cos(x) + y', 'y': 'x'}
    """
    f = as_graph(f)
    p, adjoints = _adjoint_sweep(f, prune)
    by_name = {name: (i, shape) for i, name, shape in p.variables}
    result = {}
    for name in resolve_wrt(list(by_name), wrt):
        i, shape = by_name[name]
        a = adjoints[i]
        result[name] = a if a is not None else _zero(shape)
    guard_derived(f, list(result.values()))
    return result
