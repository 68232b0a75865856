"""Build: the shared expression DAG.

A :class:`Node` is immutable: a primitive (its rule-table entry), a tuple of argument nodes and a hashable
attribute (a constant's value, a variable's name). Nodes are hash-consed, so building the same operation
on the same arguments twice returns the same node and common subexpressions are shared by construction.
Nothing is stored on a node after it is made: evaluators return their values in dicts keyed by node.

Traversal is iterative everywhere (no recursion), so a chain of a million nodes behaves like a chain of
ten. Node ids come from creation order; listings use the topological order of :func:`nodes`, which
depends only on the structure of the graph.
"""

from __future__ import annotations

import gc
import itertools
import math
import threading
import weakref
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

import numpy as np

from .errors import DiffexploreError, ShapeError
from .sizes import TreeCount, exact_tree_count, tree_measures

__all__ = [
    "Node", "Primitive", "PRIMITIVES", "apply", "variable", "variables", "constant", "nodes",
    "size", "Size", "free_variables", "check_variables", "shape_of", "as_node", "is_node", "numbered_nodes",
    "gc_paused",
]

_next_id = itertools.count().__next__      # the id of the next node made
# The hash-cons tables, one per primitive: the node's arguments (with its attribute, if it has one) -> a
# weak reference to the node. An entry removes itself when its node is freed (see _Entry), so dropped
# graphs do not accumulate. Keying by the argument tuple the node keeps anyway (instead of a new key
# tuple), and a weak-reference callback instead of a __del__ method, make building and freeing a
# million-node graph about twice as fast: fewer objects for the cyclic garbage collector to scan.
_tables: dict = {}


class _Entry(weakref.ref):
    """A hash-cons table entry: a weak reference to a node that knows its table and key."""

    __slots__ = ("table", "key")


#: Guards the removal and replacement of table entries (insertion is dict.setdefault, one step), so
#: that threads building graphs at once still get one node per key. Reentrant: a node freed while the
#: lock is held (a weak-reference callback) takes it again.
_tables_lock = threading.RLock()


def _remove_entry(entry: _Entry) -> None:
    """Called when the entry's node is freed: drop the entry (unless a new node took the key)."""
    table = entry.table
    with _tables_lock:
        if table.get(entry.key) is entry:
            del table[entry.key]


@dataclass(eq=False)
class Primitive:
    """One entry of the rule table: how to evaluate an operation and differentiate it.

    ``impl(*args)`` computes the value from numbers (float, complex or ndarray); ``partials[i](*args,
    out)`` gives the local partial ∂out/∂arg_i, written with diffexplore's own functions so that it
    computes numbers in the evaluators and builds nodes in the symbolic differentiator (``None`` means a
    zero partial). Operations that are not elementwise give ``vjp(g, *args, out)`` (a tuple, one
    cotangent per argument) and ``jvp(tangents, *args, out)`` instead. Operations with an attribute
    (``has_attr``) receive it as the keyword ``attr`` in every callback.

    The other fields are the primitive's faces elsewhere in the flow: ``sympy`` (used by both
    directions of the SymPy bridge), ``numpy`` (the NumPy ufunc or function the tracer maps to this
    primitive), ``jax`` and ``torch`` (its equivalents in those frameworks, for the exports), ``latex``
    (its name in LaTeX trace tables), ``label`` (its drawing label), ``infix`` and
    ``precedence`` (formula printing), ``linear`` (the positions in which it is linear; its jvp is then
    derived from the primitive itself).
    """

    name: str
    arity: int
    impl: Any = None
    partials: tuple | None = None
    vjp: Any = None
    jvp: Any = None
    sympy: Any = None          # SymPy function name, or callable(sympy_module, *args[, attr=])
    numpy: Any = None          # the NumPy ufunc or function that is this primitive (tracing)
    jax: Any = None            # its jax.numpy function name, or callable(jnp, *args[, attr=]) (export)
    torch: Any = None          # its torch function name, or callable(torch, *args[, attr=]) (export)
    latex: str | None = None   # LaTeX for the function's name (trace tables); defaults to \operatorname
    linear: tuple = ()         # argument positions in which the primitive is linear (derived jvp)
    label: str | None = None   # drawing label; defaults to the name
    infix: str | None = None   # operator symbol for formula printing ("+", "*", ...)
    precedence: int = 10       # binding strength in formula printing (atoms and calls: 10)
    shape: Any = None          # callable(*arg_shapes, attr=) -> shape; None: elementwise broadcasting
    has_attr: bool = False
    user_defined: bool = False
    doc: str = ""

    @property
    def elementwise(self) -> bool:
        return self.vjp is None and self.jvp is None

    def __repr__(self) -> str:
        return f"<primitive {self.name}/{self.arity}>"


PRIMITIVES: dict[str, Primitive] = {}


class Node:
    """One vertex of the expression DAG. Make nodes with operators and library functions, not directly.

    >>> import diffexplore as dx
    >>> x, y = dx.variables("x y")
    >>> (x * y) is (x * y)
    True
    >>> (x * y).op, [a.name for a in (x * y).args]
    ('mul', ['x', 'y'])
    """

    __slots__ = ("rule", "args", "attr", "id", "shape", "__weakref__")

    rule: Primitive
    args: tuple[Node, ...]

    @property
    def op(self) -> str:
        """The operation's name: ``"var"``, ``"const"``, ``"add"``, ``"sin"``, ..."""
        return self.rule.name

    @property
    def is_variable(self) -> bool:
        return self.rule.name == "var"

    @property
    def is_constant(self) -> bool:
        return self.rule.name == "const"

    @property
    def is_leaf(self) -> bool:
        return not self.args

    @property
    def name(self) -> str:
        """A variable's name (variables only)."""
        if self.rule.name != "var":
            raise AttributeError(f"only variables have a name; this node is {self.rule.name!r}")
        return self.attr[0]

    @property
    def value(self) -> Any:
        """A constant's value (constants only)."""
        if self.rule.name != "const":
            raise AttributeError(f"only constants have a value; this node is {self.rule.name!r}")
        attr = self.attr
        return attr.array if isinstance(attr, ArrayValue) else attr

    def __repr__(self) -> str:
        from .formula import formula
        text = formula(self, max_length=80)
        return f"<Node #{self.id} {self.rule.name}: {text}>"

    def __str__(self) -> str:
        from .formula import formula
        return formula(self, max_length=2000)

    # Operators build nodes; numbers on either side become constants.
    def __add__(self, other): return _binary(PRIMITIVES["add"], self, other)
    def __radd__(self, other): return _binary(PRIMITIVES["add"], other, self)
    def __sub__(self, other): return _binary(PRIMITIVES["sub"], self, other)
    def __rsub__(self, other): return _binary(PRIMITIVES["sub"], other, self)
    def __mul__(self, other): return _binary(PRIMITIVES["mul"], self, other)
    def __rmul__(self, other): return _binary(PRIMITIVES["mul"], other, self)
    def __truediv__(self, other): return _binary(PRIMITIVES["div"], self, other)
    def __rtruediv__(self, other): return _binary(PRIMITIVES["div"], other, self)
    def __pow__(self, other): return _binary(PRIMITIVES["pow"], self, other)
    def __rpow__(self, other): return _binary(PRIMITIVES["pow"], other, self)
    def __neg__(self): return _make(PRIMITIVES["neg"], (self,), None, self.shape)
    def __pos__(self): return self

    __array_ufunc__ = None      # NumPy defers to the reflected operators: array * node builds a node

    def __matmul__(self, other): return apply(PRIMITIVES["matmul"], self, other)
    def __rmatmul__(self, other): return apply(PRIMITIVES["matmul"], other, self)

    @property
    def T(self) -> Node:
        """The transpose of an array node (reverses the axes)."""
        from .arrays import transpose
        return transpose(self)

    def __getitem__(self, index):
        from .arrays import take
        return take(self, index)

    def _no_comparison(self, other):
        raise DiffexploreError(
            "a graph node has no value to compare; comparisons and if/while need numbers. "
            "To differentiate a program with branches use dx.trace(function, x=..., ...)")

    __lt__ = __le__ = __gt__ = __ge__ = _no_comparison

    def __bool__(self):
        raise DiffexploreError(
            "a graph node has no truth value; to differentiate a program with branches use "
            "dx.trace(function, x=..., ...)")

    # Hash and equality stay identity-based: hash-consing makes structural equality identity.
    __hash__ = object.__hash__
    __eq__ = object.__eq__

    def _repr_mimebundle_(self, include=None, exclude=None):
        """Jupyter: the node drawn as itself, titled with its own formula (SVG and PNG); text when
        rendering is unavailable."""
        try:
            from .render.notebook import node_bundle
            return node_bundle(self)
        except Exception:  # pragma: no cover - display must never fail
            return {"text/plain": repr(self)}


class ArrayValue:
    """A hashable wrapper of an array constant (hash-consed by dtype, shape and bytes)."""

    __slots__ = ("array", "_key")

    def __init__(self, array: np.ndarray):
        self.array = np.array(array, dtype=np.result_type(array, np.float64))
        self.array.setflags(write=False)
        self._key = (self.array.dtype.str, self.array.shape, self.array.tobytes())

    def __hash__(self): return hash(self._key)
    def __eq__(self, other): return isinstance(other, ArrayValue) and self._key == other._key
    def __repr__(self): return f"array{self.array.shape}"


def _make(rule: Primitive, args: tuple, attr: Any, shape: tuple) -> Node:
    """The node of ``rule`` on ``args`` with ``attr``: the existing one if it is alive, else a new one."""
    try:
        table = _tables[rule]
    except KeyError:
        with _tables_lock:
            table = _tables.setdefault(rule, {})
    # The attribute's type is part of the key: 2.0 == 2+0j with the same hash, and a complex constant
    # must never stand in for a float one (log(x - 3.0) would then be complex, not a domain error).
    key = args if attr is None else (args, attr, type(attr))
    entry = table.get(key)
    if entry is not None:
        node = entry()
        if node is not None:
            return node
    node = _new(Node)
    node.rule = rule
    node.args = args
    node.attr = attr
    node.shape = shape
    node.id = _next_id()
    entry = _Entry(node, _remove_entry)
    entry.table = table
    entry.key = key
    # setdefault inserts only where the key is absent, in one step: of threads making the same node at
    # once, the first one's node is everyone's. A dead entry is replaced under the lock.
    found = table.setdefault(key, entry)
    if found is not entry:
        alive = found()
        if alive is not None:
            return alive
        with _tables_lock:
            found = table.get(key)
            alive = found() if found is not None else None
            if alive is not None:
                return alive
            table[key] = entry
    return node


_new = object.__new__
_NUMBERS = (int, float, complex, np.number, np.ndarray, list, tuple)


def _binary(rule: Primitive, a: Any, b: Any) -> Any:
    """The fast path of the operators: two arguments, at least one a node."""
    if type(a) is not Node:
        if not isinstance(a, _NUMBERS):
            return NotImplemented
        a = constant(a)
    if type(b) is not Node:
        if not isinstance(b, _NUMBERS):
            return NotImplemented
        b = constant(b)
    sa, sb = a.shape, b.shape
    if sa == sb:
        shape = sa
    else:
        shape = broadcast_shapes(sa, sb, op=rule.name)
    return _make(rule, (a, b), None, shape)


def broadcast_shapes(*shapes: tuple, op: str = "operation") -> tuple:
    """NumPy broadcasting of shapes, with an error naming the operation and both shapes."""
    try:
        return tuple(np.broadcast_shapes(*shapes))
    except ValueError:
        listed = " and ".join(str(s) for s in shapes)
        raise ShapeError(f"{op}: shapes {listed} do not broadcast") from None


def shape_of(value: Any) -> tuple:
    """The shape of a node, an array or a number.

    >>> shape_of(np.zeros((2, 3))), shape_of(1.5), shape_of(variable("W", shape=(3, 4)))
    ((2, 3), (), (3, 4))
    """
    if isinstance(value, (Node, np.ndarray)) or hasattr(value, "__dx_apply__"):     # a node, or a tracer
        return value.shape
    return np.shape(value)


def is_node(value: Any) -> bool:
    return isinstance(value, Node)


def constant(value: Any) -> Node:
    """A constant node (floats, complex numbers and arrays).

    >>> constant(2) is constant(2.0)
    True
    """
    if isinstance(value, Node):
        return value
    if type(value) is float and value:
        return _make(PRIMITIVES["const"], (), value, ())
    if isinstance(value, (bool, int, float, np.integer, np.floating)):
        try:
            number = float(value) + 0.0          # + 0.0: -0.0 is 0.0 (one node for zero)
        except OverflowError:
            digits = int(int(value).bit_length() * math.log10(2)) + 1
            raise DiffexploreError(f"a constant of about {digits} digits is beyond the float range (about "
                                   "±1.8e308); diffexplore's constants are float64 numbers") from None
        return _make(PRIMITIVES["const"], (), number, ())
    if isinstance(value, (complex, np.complexfloating)):
        return _make(PRIMITIVES["const"], (), complex(value), ())
    if isinstance(value, (np.ndarray, list, tuple)):
        wrapped = ArrayValue(np.asarray(value))
        if wrapped.array.shape == ():
            return constant(wrapped.array.item())
        return _make(PRIMITIVES["const"], (), wrapped, wrapped.array.shape)
    raise TypeError(f"cannot make a constant from {type(value).__name__} {value!r}; "
                    "allowed: int, float, complex, NumPy arrays")


def as_node(value: Any) -> Node:
    """A node as it is; a number or array as a constant node."""
    return value if isinstance(value, Node) else constant(value)


def variable(name: str, shape: Sequence[int] = ()) -> Node:
    """A variable node; ``shape=()`` is a scalar (which may still be evaluated at many points at once).

    >>> variable("x") is variable("x")
    True
    >>> variable("W", shape=(3, 4)).shape
    (3, 4)
    """
    if not isinstance(name, str) or not name.isidentifier():
        raise DiffexploreError(f"a variable name must be an identifier, got {name!r}")
    shape = tuple([int(n) for n in shape]) if shape else ()
    return _make(PRIMITIVES["var"], (), (name, shape), shape)


def variables(names: str | Iterable[str]) -> tuple[Node, ...]:
    """Several scalar variables from one string of names separated by spaces or commas.

    >>> x, y = variables("x y")
    >>> x.name, y.name
    ('x', 'y')
    """
    if isinstance(names, str):
        names = names.replace(",", " ").split()
    return tuple(variable(n) for n in names)


def apply(rule: Primitive, *args: Any, attr: Any = None) -> Any:
    """Apply a primitive: to numbers it computes the value, to nodes it builds (or finds) the node.

    Arguments that define ``__dx_apply__`` (the tracing values of :mod:`diffexplore.trace`) take over.
    """
    node_count = 0
    for a in args:
        if type(a) is Node:
            node_count += 1
        elif hasattr(a, "__dx_apply__"):
            return a.__dx_apply__(rule, args, attr)
    if not node_count:
        if rule.has_attr:
            return rule.impl(*args, attr=attr)
        return rule.impl(*args)
    if len(args) != rule.arity:
        raise DiffexploreError(f"{rule.name} takes {rule.arity} argument(s), got {len(args)}")
    if node_count < len(args):
        args = tuple([a if type(a) is Node else constant(a) for a in args])
    if rule.shape is None:                 # elementwise: the arguments' shapes broadcast
        shape = args[0].shape
        for a in args:
            if a.shape != shape:
                shape = broadcast_shapes(*[b.shape for b in args], op=rule.name)
                break
    else:
        if rule.has_attr:
            shape = rule.shape(*(a.shape for a in args), attr=attr)
        else:
            shape = rule.shape(*(a.shape for a in args))
    return _make(rule, args, attr, tuple(shape))


@contextmanager
def gc_paused() -> Iterator[None]:
    """Pause Python's cyclic garbage collector during a large traversal.

    Graphs are acyclic and traversals make no cycles, so nothing is lost; without the pause the
    collector rescans the growing heap again and again and a million-node walk runs ~2x slower.
    """
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def nodes(*roots: Node | Sequence[Node]) -> list[Node]:
    """Every node the roots depend on, each once, in evaluation (topological) order.

    Arguments are visited left to right, so the order depends only on the graph's structure.

    >>> x, y = variables("x y")
    >>> [n.op for n in nodes(1 + x + x * y)]
    ['const', 'var', 'add', 'var', 'mul', 'add']
    """
    return numbered_nodes(*roots)[0]


def numbered_nodes(*roots: Node | Sequence[Node]) -> tuple[list[Node], dict[Node, int]]:
    """The nodes of :func:`nodes` and each node's position in that order (one walk gives both).

    >>> x = variable("x")
    >>> order, position = numbered_nodes(x * x + 1)
    >>> [n.op for n in order], position[x]
    (['var', 'mul', 'const', 'add'], 0)
    """
    flat: list[Node] = []
    for r in roots:
        if isinstance(r, Node):
            flat.append(r)
        else:
            flat.extend(as_node(v) for v in r)
    with gc_paused():
        return _topological(flat)


def _topological(flat: list[Node]) -> tuple[list[Node], dict[Node, int]]:
    """Depth-first, arguments left to right, a node emitted once all its arguments are (post-order).

    The stack holds (node, iterator over its arguments not yet looked at); a node stays on the stack
    until its iterator is exhausted, so no node is pushed twice (the graph has no cycles).
    """
    order: list[Node] = []
    position: dict[Node, int] = {}
    emit = order.append
    for root in flat:
        if root in position:
            continue
        stack = [(root, iter(root.args))]
        push, pop = stack.append, stack.pop
        while stack:
            node, pending = stack[-1]
            for arg in pending:
                if arg not in position:
                    push((arg, iter(arg.args)))
                    break
            else:
                pop()
                position[node] = len(order)
                emit(node)
    return order, position


def free_variables(*roots: Node | Sequence[Node]) -> list[Node]:
    """The variable nodes of a graph, in order of first appearance.

    >>> x, y = variables("x y")
    >>> [v.name for v in free_variables(y * x + x)]
    ['y', 'x']
    """
    return check_variables([n for n in nodes(*roots) if n.rule.name == "var"])


def check_variables(found: list[Node]) -> list[Node]:
    """The variable nodes as given, after checking that no name appears with two shapes.

    >>> [v.name for v in check_variables([variable("x"), variable("y")])]
    ['x', 'y']
    """
    names: dict[str, Node] = {}
    for v in found:
        if v.attr[0] in names:
            raise DiffexploreError(
                f"variable {v.attr[0]!r} appears with two shapes, {names[v.attr[0]].shape} and {v.shape}")
        names[v.attr[0]] = v
    return found


@dataclass(frozen=True)
class Size:
    """Size measures of a graph, from one pass over it.

    ``dag_nodes``: distinct nodes (what a shared DAG stores); ``ops``: distinct operation nodes (DAG
    nodes that are not leaves); ``depth``: the longest path from a leaf to the root, counted in edges;
    ``tree``: the nodes of the expression written out as a tree without sharing, as a
    :class:`~diffexplore.sizes.TreeCount`: exact below 10¹⁵, otherwise its log10 (``tree_log10``,
    within 3e-10 relative for a million nodes), which is what displays and plots use.

    ``tree_nodes`` is that count as an exact integer (counted over the DAG, never expanded), computed
    on first access: it adds integers as long as the count once per node, most of a minute for a
    million-node graph whose count has 10⁵ digits.
    """

    dag_nodes: int
    ops: int
    depth: int
    tree: TreeCount
    roots: tuple[Node, ...] = field(default=(), repr=False, compare=False)

    def __repr__(self) -> str:
        """The four measures; a tree count of 10¹⁵ or more as a mantissa and a power of ten."""
        tree = self.tree.exact if self.tree.exact is not None else self.tree.text()
        return f"Size(dag_nodes={self.dag_nodes}, tree_nodes={tree}, ops={self.ops}, depth={self.depth})"

    def _repr_html_(self) -> str:
        from .render.displays import size_html
        return size_html(self)

    @property
    def tree_log10(self) -> float:
        """log10 of the tree count, from the one pass (any size of count)."""
        return self.tree.log10

    @cached_property
    def tree_nodes(self) -> int:
        """The tree count as an exact integer (counted again, exactly, the first time it is asked for)."""
        if self.tree.exact is not None:
            return self.tree.exact
        with gc_paused():
            return exact_tree_count(nodes(self.roots), self.roots)


def size(*roots: Node | Sequence[Node]) -> Size:
    """Count a graph's nodes with and without sharing.

    >>> x = variable("x")
    >>> s = size(x * x + x * x)     # x*x is shared
    >>> (s.dag_nodes, s.tree_nodes, s.ops, s.depth)
    (3, 7, 2, 2)
    >>> f = x
    >>> for _ in range(2000):
    ...     f = 4 * f * (1 - f)
    >>> s = size(f)                 # the tree count printed from its log10; exact when asked for
    >>> s.tree.text(), round(s.tree_log10, 3), s.tree_nodes == 6 * 2 ** 2000 - 5
    ('6.9e+602', 602.838, True)
    """
    with gc_paused():
        return _size(nodes(*roots), roots)


def _size(order: list[Node], roots) -> Size:
    """The :class:`Size` of the roots whose nodes are ``order`` (floats only: no count is an integer
    longer than a machine word)."""
    flat = [r for r in roots if isinstance(r, Node)] + [
        as_node(v) for r in roots if not isinstance(r, Node) for v in r]
    measures = tree_measures(order, flat)
    return Size(dag_nodes=measures.dag_nodes, ops=measures.ops, depth=measures.depth, tree=measures.tree,
                roots=tuple(flat))
