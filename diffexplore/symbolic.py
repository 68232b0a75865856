"""Transform: symbolic differentiation, nodes in and a new derivative graph out.

The same rules the evaluators use run here on nodes instead of numbers, so each partial becomes a
small graph that reuses the nodes of f (``sin(x*y)`` is shared by f and ∂f/∂x). Two faces:

- the *raw* derivative (``prune=False``): the chain rule exactly as the rules emit it, every leaf's
  derivative a constant 0 or 1 and every product ``partial * tangent`` kept, as a textbook figure draws it;
- the *pruned* derivative (default): the same construction with a small set of identities applied to the
  nodes the differentiator creates (never to f's own nodes):

  ``a + 0 = 0 + a = a``, ``a - 0 = a``, ``0 - a = -a``, ``a * 1 = 1 * a = a``, ``a * 0 = 0 * a = 0``,
  ``(-1) * a = -a``, ``c1 * (c2 * a) = (c1 c2) * a``, ``a + (-b) = a - b``, ``a / 1 = a``, ``0 / a = 0``,
  ``a ** 1 = a``, ``a ** 0 = 1``, ``-(-a) = a``, and an operation whose arguments are all scalar constants
  is replaced by its value.

  (``a * 0 = 0`` assumes ``a`` finite, as every symbolic system does.)

:func:`diff` is forward accumulation on nodes (one variable at a time); :func:`gradient_graph` is reverse
accumulation on nodes (all partials at once, within a small constant times the size of f);
:func:`hessian` applies the machinery to its own output.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from .errors import DiffexploreError, RuleError
from .graph import (
    PRIMITIVES,
    Node,
    _check_variables,
    apply,
    as_node,
    constant,
    free_variables,
    gc_paused,
    nodes,
    variable,
)
from .rules import sum_to

__all__ = ["diff", "gradient_graph", "adjoint_graphs", "hessian", "Folder", "HESSIAN_METHODS"]


class Folder:
    """Applies the pruning identities to new nodes, memoised, never entering the nodes in ``keep``."""

    def __init__(self, keep: set[Node]):
        self.keep = keep
        self.memo: dict[Node, Node] = {}
        self.zero = constant(0.0)
        self.one = constant(1.0)

    def fold(self, root: Any) -> Node:
        """The pruned form of a node built by a rule (iterative, stops at kept and folded nodes)."""
        root = as_node(root)
        memo, keep = self.memo, self.keep
        if root in keep or root in memo:
            return memo.get(root, root)
        stack = [(root, False)]
        while stack:
            node, expanded = stack.pop()
            if node in memo or node in keep:
                continue
            if not expanded:
                stack.append((node, True))
                stack.extend((a, False) for a in node.args if a not in memo and a not in keep)
                continue
            args = [memo.get(a, a) for a in node.args]
            memo[node] = self.build(node.rule, args, node.attr) if node.args else node
        return memo[root]

    def build(self, rule, args: Sequence[Node], attr: Any = None) -> Node:
        """Apply ``rule`` to ``args`` with the identities of the module docstring."""
        if len(args) == 2:
            a, b = args
            if rule is _MUL:
                return self.mul(a, b)
            if rule is _ADD:
                return self.add(a, b)
        numbers = [_number(a) for a in args]
        if args and None not in numbers and rule.elementwise:
            folded = _fold_constants(rule, numbers)
            if folded is not None:
                return folded
        if rule is _SUB:
            a, b = args
            if numbers[1] == 0.0:
                return a
            if numbers[0] == 0.0:
                return -b
        elif rule is _DIV:
            a, b = args
            if numbers[1] == 1.0:
                return a
            if numbers[0] == 0.0:
                return self.zeros(a.shape, b.shape)
        elif rule is _POW:
            a, b = args
            if numbers[1] == 1.0:
                return a
            if numbers[1] == 0.0:
                return self.one
        elif rule is _NEG:
            (a,) = args
            if a.rule is _NEG:
                return a.args[0]
        return apply(rule, *args, attr=attr)

    def add(self, a: Node, b: Node) -> Node:
        """``a + b`` with ``a + 0 = 0 + a = a`` and ``a + (-b) = a - b`` (a scalar zero broadcasts to the
        other side's shape)."""
        ca, cb = _number(a), _number(b)
        if ca is not None and cb is not None:
            folded = _fold_constants(_ADD, [ca, cb])
            if folded is not None:
                return folded
        if ca == 0.0:
            return b
        if cb == 0.0:
            return a
        if b.rule is _NEG:
            return self.build(_SUB, [a, b.args[0]])
        return a + b

    def mul(self, a: Node, b: Node) -> Node:
        """``a * b`` with the identities for 0, 1 and -1 and ``c1 * (c2 * a) = (c1 c2) * a``."""
        ca, cb = _number(a), _number(b)
        if ca is not None and cb is not None:
            folded = _fold_constants(_MUL, [ca, cb])
            if folded is not None:
                return folded
        if ca == 0.0 or cb == 0.0:
            return self.zeros(a.shape, b.shape)
        if ca == 1.0:
            return b
        if cb == 1.0:
            return a
        if ca == -1.0:
            return self.neg(b)
        if cb == -1.0:
            return self.neg(a)
        if ca is not None and b.rule is _MUL and b.args[0].rule is _CONST:
            return self.mul(self.mul(a, b.args[0]), b.args[1])
        return a * b

    def neg(self, a: Node) -> Node:
        """``-a`` with ``-(-a) = a`` (and a constant folded)."""
        if a.rule is _NEG:
            return a.args[0]
        if _number(a) is not None:
            return self.build(_NEG, [a])
        return -a

    def zeros(self, *shapes: tuple) -> Node:
        shape = np.broadcast_shapes(*shapes)
        return self.zero if not shape else constant(np.zeros(shape))

    @staticmethod
    def is_zero(n: Node) -> bool:
        return _number(n) == 0.0

    @staticmethod
    def is_one(n: Node) -> bool:
        return _number(n) == 1.0

    @staticmethod
    def is_minus_one(n: Node) -> bool:
        return _number(n) == -1.0


_CONST, _ADD, _SUB, _MUL, _DIV, _POW, _NEG = (
    PRIMITIVES[name] for name in ("const", "add", "sub", "mul", "div", "pow", "neg"))


def _number(n: Node) -> Any:
    """A scalar constant's value, or None for any other node."""
    if n.rule is _CONST and not n.shape:
        return n.attr
    return None


def _fold_constants(rule, numbers: list) -> Node | None:
    """The constant node of ``rule`` applied to numbers, or None if that is not a finite number."""
    try:
        if not rule.user_defined and all(type(n) is float for n in numbers):   # these raise by themselves
            value = rule.impl(*numbers)
        else:
            with np.errstate(all="raise"):
                value = rule.impl(*numbers)
    except Exception:       # leave it unfolded; evaluation will report the domain error
        return None
    if type(value) is float:
        return constant(value) if math.isfinite(value) else None
    if isinstance(value, (float, complex)) and np.isfinite(value):
        return constant(value)
    return None


def _rule(name: str):
    return PRIMITIVES[name]


class _Builder:
    """Adds and multiplies derivative terms: raw (everything kept) or pruned (through a Folder)."""

    def __init__(self, prune: bool, keep: set[Node]):
        self.prune = prune
        self.folder = Folder(keep) if prune else None

    def fold(self, node):
        if not self.prune:
            return as_node(node)
        if type(node) is Node and node in self.folder.keep:      # a node of f: nothing to fold
            return node
        return self.folder.fold(node)

    def mul(self, a: Node, b: Node) -> Node:
        return self.folder.mul(a, b) if self.prune else a * b

    def add(self, a: Node | None, b: Node) -> Node:
        if a is None:
            return b
        return self.folder.add(a, b) if self.prune else a + b

    def reduce(self, value: Node, shape: tuple) -> Node:
        if value.shape == shape:
            return value
        reduced = sum_to(value, attr=shape)
        return self.fold(reduced) if self.prune else reduced


def _partial(rule, pos: int, node: Node):
    partial = rule.partials[pos]
    args = node.args
    if len(args) == 2:
        return partial(args[0], args[1], node)
    if len(args) == 1:
        return partial(args[0], node)
    return partial(*args, node)


def _missing(rule, which: str) -> RuleError:
    return RuleError(f"the primitive {rule.name!r} has no derivative rule ({which}); "
                     "give it partials=... or vjp=/jvp= when defining it")


def _variable_named(order: list[Node], wrt: str | Node) -> Node:
    if isinstance(wrt, Node):
        if not wrt.is_variable:
            raise DiffexploreError("differentiate with respect to a variable (a name or a variable node)")
        return wrt
    for v in _check_variables([n for n in order if n.rule.name == "var"]):
        if v.name == wrt:
            return v
    return variable(wrt)          # f does not depend on it: the derivative is 0


def _diff_once(f: Node, x: Node, prune: bool, order: list[Node] | None = None) -> Node:
    if order is None:
        order = nodes(f)
    build = _Builder(prune, set(order))
    fold, add, mul = build.fold, build.add, build.mul
    zero, one = constant(0.0), constant(1.0)
    tangents: dict[Node, Node | None] = {}
    for n in order:
        rule = n.rule
        args = n.args
        if not args:
            if n is x:
                tangents[n] = one if not n.shape else constant(np.ones(n.shape))
            else:
                tangents[n] = None if prune else (zero if not n.shape else constant(np.zeros(n.shape)))
            continue
        arg_tangents = [tangents[a] for a in args]
        if prune and arg_tangents.count(None) == len(arg_tangents):
            tangents[n] = None
            continue
        if rule.elementwise:
            partials = rule.partials
            if partials is None:
                raise _missing(rule, "partials")
            total = None
            for pos, t in enumerate(arg_tangents):
                if t is None:
                    continue
                partial = partials[pos]
                if partial is None:
                    if prune:
                        continue
                    local = zero
                elif len(args) == 2:
                    local = fold(partial(args[0], args[1], n))
                elif len(args) == 1:
                    local = fold(partial(args[0], n))
                else:
                    local = fold(partial(*args, n))
                total = add(total, mul(local, t))
            tangents[n] = total
        else:
            if rule.jvp is None:
                raise _missing(rule, "jvp")
            ts = tuple(arg_tangents)
            out = rule.jvp(ts, *n.args, n, attr=n.attr) if rule.has_attr else rule.jvp(ts, *n.args, n)
            tangents[n] = build.fold(out)
    result = tangents[f]
    if result is None:
        return zero if not f.shape else constant(np.zeros(f.shape))
    return result


def diff(f: Node, wrt: str | Node, order: int = 1, prune: bool = True) -> Node:
    """The symbolic derivative ∂f/∂wrt as a new graph of the same kind (``order`` times).

    ``prune=False`` gives the raw derivative exactly as the chain rule emits it.

    >>> import diffexplore as dx
    >>> f = dx.parse("1 + x + exp(sin(x*y))")
    >>> print(dx.diff(f, "x"))
    1 + exp(sin(x*y))*(cos(x*y)*y)
    >>> print(dx.diff(dx.parse("x**3"), "x", order=2))
    6*x
    """
    if not isinstance(f, Node):
        from .evaluate import _as_graph
        f = _as_graph(f)
    if order < 0:
        raise DiffexploreError(f"order must be 0 or more, got {order}")
    with gc_paused():
        f_order = nodes(f)
        x = _variable_named(f_order, wrt)
        result = f
        for k in range(order):
            result = _diff_once(result, x, prune, f_order if k == 0 else None)
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
    order = nodes(f)
    active: set[Node] = set()
    for n in order:
        if n.rule.name == "var" or any(a in active for a in n.args):
            active.add(n)
    build = _Builder(prune, set(order))
    seed = constant(1.0) if not f.shape else constant(np.ones(f.shape))
    adjoints: dict[Node, Node] = {f: seed}
    with gc_paused():
        for n in reversed(order):
            g = adjoints.get(n)
            if g is None or not n.args:
                continue
            rule = n.rule
            if rule.elementwise:
                if rule.partials is None:
                    raise _missing(rule, "partials")
                for pos, a in enumerate(n.args):
                    if a not in active or rule.partials[pos] is None:
                        continue
                    local = build.fold(_partial(rule, pos, n))
                    contribution = build.reduce(build.mul(g, local), a.shape)
                    adjoints[a] = build.add(adjoints.get(a), contribution)
            else:
                if rule.vjp is None:
                    raise _missing(rule, "vjp")
                cots = rule.vjp(g, *n.args, n, attr=n.attr) if rule.has_attr else rule.vjp(g, *n.args, n)
                for pos, a in enumerate(n.args):
                    if a not in active or cots[pos] is None:
                        continue
                    adjoints[a] = build.add(adjoints.get(a), build.fold(cots[pos]))
    return order, adjoints


def gradient_graph(f: Node, wrt: Sequence[str] | str | None = None, prune: bool = True) -> dict[str, Node]:
    """Every partial derivative of f at once, as graphs, by accumulating adjoints on nodes (reverse
    mode done symbolically). The gradient graph shares f's nodes and has at most a small constant
    times f's size.

    >>> import diffexplore as dx
    >>> g = dx.gradient_graph(dx.parse("x*y + sin(x)"))
    >>> {name: str(node) for name, node in g.items()}
    {'x': 'cos(x) + y', 'y': 'x'}
    """
    if not isinstance(f, Node):
        from .evaluate import _as_graph
        f = _as_graph(f)
    order, adjoints = adjoint_graphs(f, prune)
    variables = _check_variables([n for n in order if n.rule.name == "var"])
    if wrt is None:
        wanted = [v.name for v in variables]
    else:
        wanted = wrt.replace(",", " ").split() if isinstance(wrt, str) else list(wrt)
    by_name = {v.name: v for v in variables}
    result = {}
    for name in wanted:
        v = by_name.get(name)
        if v is None:
            raise DiffexploreError(f"{name!r} is not a variable of the graph (its variables: "
                                   f"{', '.join(by_name) or 'none'})")
        a = adjoints.get(v)
        result[name] = a if a is not None else (constant(0.0) if not v.shape else constant(np.zeros(v.shape)))
    return result


HESSIAN_METHODS = ("forward-over-reverse", "reverse-over-reverse", "symbolic", "numeric")


def hessian(f: Node, at: Mapping[str, Any], method: str = "forward-over-reverse",
            wrt: Sequence[str] | None = None) -> np.ndarray:
    """The matrix of second derivatives (scalar variables), by differentiating the gradient graph again:

    ``forward-over-reverse`` (forward sweeps through the symbolic gradient graph, one per variable),
    ``reverse-over-reverse`` (a backward sweep per gradient entry), ``symbolic`` (``diff`` of each
    gradient entry, evaluated) or ``numeric`` (central differences of the reverse-mode gradient).

    >>> import diffexplore as dx
    >>> dx.hessian(dx.parse("x**2 * y"), {"x": 1.0, "y": 3.0})
    array([[6., 2.],
           [2., 0.]])
    """
    from .evaluate import as_point, evaluate, jacobian
    if not isinstance(f, Node):
        from .evaluate import _as_graph
        f = _as_graph(f)
    names = [v.name for v in free_variables(f)] if wrt is None else list(wrt)
    point = as_point(at)
    gradient = gradient_graph(f, wrt=names)
    rows = [gradient[n] for n in names]
    if method in ("forward-over-reverse", "reverse-over-reverse"):
        # Columns only for the variables the gradient still depends on; the others are zero.
        present = [v.name for v in free_variables(rows)] if any(not r.is_constant for r in rows) else []
        out = np.zeros((len(names), len(names)))
        if present:
            mode = "forward" if method == "forward-over-reverse" else "reverse"
            block = jacobian(rows, point, method=mode, wrt=present)
            for k, c in enumerate(present):
                out[:, names.index(c)] = block[:, k]
        return out
    if method == "symbolic":
        return np.array([[evaluate(diff(r, c), point) for c in names] for r in rows], dtype=float)
    if method == "numeric":
        from .numeric import difference
        out = np.zeros((len(names), len(names)))
        for i, r in enumerate(rows):
            for j, c in enumerate(names):
                if c in [v.name for v in free_variables(r)]:
                    out[i, j] = difference(r, point, c, "central")
        return out
    raise DiffexploreError(f"unknown hessian method {method!r}; methods: {', '.join(HESSIAN_METHODS)}")


