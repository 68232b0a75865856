"""Show: what each view draws, as plain data (boxes, arrows, a title), before any DOT is written.

A view is built from a graph, its short names and optionally the results of an evaluator:

- :func:`original_view`: inputs, constants and operations of f, with primal values when given;
- :func:`symbolic_view`: the derivative DAG(s), nodes shared with f keeping f's names and a grey style;
- :func:`adjoint_view`: per node v and v̄ = ∂f/∂v (a fan-out node shows its adjoint as the sum of its
  contributions), per edge the local partial ∂u/∂v, per input the gradient entry;
- :func:`tangent_view`: per node v and v̇ = ∂v/∂w for a seed direction, per edge ∂u/∂v.

Nothing here computes derivatives: the numbers come from :func:`diffexplore.reverse` and
:func:`diffexplore.forward` results; this module only arranges them.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from ..errors import DiffexploreError
from ..evaluate import ForwardResult, ReverseResult
from ..formula import formula
from ..graph import Node, apply, nodes, variable
from .labels import expression, format_value, short_names, sum_equation

__all__ = ["Row", "Box", "Arrow", "View", "original_view", "symbolic_view", "adjoint_view",
           "tangent_view", "point_text", "original_title", "symbolic_title", "adjoint_title",
           "tangent_title", "outline", "active_nodes", "VBAR", "VDOT", "ADJOINT_EDGE", "TANGENT_EDGE"]

#: v with a bar (the adjoint ∂f/∂v) and v with a dot (the tangent ∂v/∂w).
VBAR = "v\u0304"
VDOT = "v\u0307"
#: How the edge labels read in each view's title. Every edge label is ∂head/∂tail (the node an arrow
#: points to, by the node it comes from); the titles name head and tail with the letters of their formula.
ADJOINT_EDGE = "the local partial ∂u/∂v on the arrow from v to its use u"
TANGENT_EDGE = "the local partial ∂v/∂u on the arrow from an argument u to v"
#: A fan-out sum with more terms than this is shown by its count and total only.
MAX_TERMS = 4
#: Formulas in titles are cut at this many characters; at most this many are listed.
TITLE_FORMULA_LENGTH = 64
MAX_TITLE_FORMULAS = 3
#: The name of the stand-in variable of an outline's elided arguments (drawn as …).
_HOLE = "elided__"


@dataclass(frozen=True)
class Row:
    """One line of a box: one or more cells and a style (plain, bold, dim, adjoint, tangent, gradient,
    heading)."""

    cells: tuple[str, ...]
    style: str = "plain"


@dataclass(frozen=True)
class Box:
    """One drawn node: its short name, what it computes, rows of values, its kind (variable,
    constant, operation, shared, new, inactive, table), and whether it is the output."""

    key: str
    expression: str
    rows: tuple[Row, ...] = ()
    kind: str = "operation"
    output: bool = False


@dataclass(frozen=True)
class Arrow:
    """An edge from an argument (tail) to the node that uses it (head), with an optional label."""

    tail: str
    head: str
    label: str = ""
    style: str = "data"


@dataclass(frozen=True)
class View:
    """One cluster of the drawing."""

    name: str
    title: tuple[str, ...]
    boxes: tuple[Box, ...]
    arrows: tuple[Arrow, ...] = field(default=())


def point_text(at: Mapping[str, Any] | None, digits: int = 4, max_items: int = 5) -> str:
    """A point as ``x = 1, y = 2`` (after ``max_items`` values, only how many more there are).

    >>> point_text({"x": 1.0, "y": 2.5})
    'x = 1, y = 2.5'
    >>> point_text({f"x{i}": float(i) for i in range(9)}, max_items=2)
    'x0 = 0, x1 = 1, … (7 more)'
    """
    items = list((at or {}).items())
    text = ", ".join(f"{name} = {format_value(value, digits)}" for name, value in items[:max_items])
    if len(items) > max_items:
        text += f", … ({len(items) - max_items} more)"
    return text


#: An outline (the formula with the arguments below some depth written …) is at most this long.
OUTLINE_LENGTH = 40


def outline(root: Node, max_length: int = OUTLINE_LENGTH) -> str | None:
    """The formula's outermost operations, deeper arguments written ``…``: as many levels as fit in
    ``max_length`` characters (None when not even the top operation fits).

    >>> import diffexplore as dx
    >>> g = dx.parse("2*(tanh(a*b + c) + d*tanh(e) - t)*tanh(a*b + c)")
    >>> outline(g), outline(g, 20)
    ('2*(tanh(…) + d*… - t)*tanh(a*b + c)', '2*…*tanh(…)')
    """
    best = None
    for depth in range(1, 12):
        memo: dict[tuple[Node, int], Node] = {}
        # levels[k]: the nodes k levels below the root (as a tree); rebuilt bottom-up, no recursion
        levels = [[root]]
        for _ in range(depth):
            levels.append([a for n in levels[-1] for a in n.args])
        complete = all(not n.args for n in levels[-1])
        try:
            for level in range(depth, -1, -1):
                for n in levels[level]:
                    if not n.args:
                        memo[(n, level)] = n
                    elif level == depth:            # a stand-in of the same shape, drawn as …
                        memo[(n, level)] = variable(_HOLE, n.shape)
                    else:
                        args = [memo[(a, level + 1)] for a in n.args]
                        memo[(n, level)] = apply(n.rule, *args, attr=n.attr)
        except DiffexploreError:                    # an operation that will not take a stand-in
            return best
        text = formula(memo[(root, 0)], max_length=max_length + 8 * len(_HOLE)).replace(_HOLE, "…")
        if len(text) > max_length:
            break
        best = text
        if complete or sum(len(level) for level in levels) > 4 * max_length:
            break
    return best


def _title_formula(root: Node) -> str:
    """A formula for a title: its start, cut with … (by :func:`formula`), and when cut, its outline."""
    text = formula(root, max_length=TITLE_FORMULA_LENGTH)
    if not text.endswith(("…", "...")):
        return text
    shape = outline(root)
    return f"{text}   (outermost: {shape})" if shape else text


def original_title(f: Node, at: Mapping[str, Any] | None = None, digits: int = 4) -> tuple[str, ...]:
    """The original view's title: f's formula and the point."""
    if not at:
        return (f"original: f = {_title_formula(f)}",
                "the compute graph; arrows point from an argument to its use")
    return (f"original: f = {_title_formula(f)}", f"at {point_text(at, digits)}")


def symbolic_title(derivatives: Mapping[str, Node], how: str) -> tuple[str, ...]:
    """The symbolic view's title: how the derivative was built and (the first few of) its formulas."""
    title = [f"symbolic derivative ({how})"]
    listed = list(derivatives.items())
    for label, root in listed[:MAX_TITLE_FORMULAS]:
        title.append(f"{label} = {_title_formula(root)}")
    if len(listed) > MAX_TITLE_FORMULAS:
        title.append(f"… and {len(listed) - MAX_TITLE_FORMULAS} more derivatives, drawn as one DAG")
    return tuple(title)


def adjoint_title(at: Mapping[str, Any] | None = None, digits: int = 4) -> tuple[str, ...]:
    """The adjoint view's title: the point and how to read the numbers."""
    return ("reverse mode (adjoints)", f"at {point_text(at, digits)}",
            f"{VBAR} = ∂f/∂v = Σ ū·∂u/∂v over the uses u of v: one sweep down from f gives every ∂f/∂x",
            f"edge labels: {ADJOINT_EDGE}; dashed: constants (no adjoint needed)")


def tangent_title(seed: Mapping[str, Any], at: Mapping[str, Any] | None = None, digits: int = 4,
                  edge_labels: bool = True) -> tuple[str, ...]:
    """The tangent view's title: the seed, the point and how to read the numbers."""
    unit = _unit_seed(seed)
    seed_text = ", ".join(f"{name}\u0307 = {format_value(v, digits)}" for name, v in seed.items())
    title = ["forward mode (tangents)", f"seed {seed_text} at {point_text(at, digits)}",
             f"{VDOT} = ∂v/∂{unit or 'w'} = Σ ∂v/∂u·u̇ over the arguments u of v: one sweep up per input"]
    if edge_labels:
        title.append(f"edge labels: {TANGENT_EDGE}")
    return tuple(title)


def _unit_seed(seed: Mapping[str, Any]) -> str | None:
    """The variable of a seed that is 1 in one variable (and nothing else), else None."""
    if len(seed) == 1:
        name, value = next(iter(seed.items()))
        if isinstance(value, (int, float)) and value == 1.0:
            return name
    return None


def active_nodes(order: list[Node]) -> set[Node]:
    """The nodes that depend on a variable (the others are constant and get no adjoint or tangent).

    >>> import diffexplore as dx
    >>> f = dx.parse("x + 2*3")
    >>> sorted(n.op for n in active_nodes(dx.nodes(f)))
    ['add', 'var']
    """
    active: set[Node] = set()
    for n in order:
        if n.is_variable or any(a in active for a in n.args):
            active.add(n)
    return active


def _kind(node: Node) -> str:
    if node.is_variable:
        return "variable"
    if node.is_constant:
        return "constant"
    return "operation"


def _shows_value(node: Node) -> bool:
    """Constants show their value (or its summary) in the expression already."""
    return not node.is_constant


def _data_arrows(order: list[Node], names: dict[Node, str], label=None, style=None) -> tuple[Arrow, ...]:
    arrows = []
    for n in order:
        for pos, a in enumerate(n.args):
            arrows.append(Arrow(tail=names[a], head=names[n],
                                label=label(n, pos) if label else "",
                                style=style(n, pos) if style else "data"))
    return tuple(arrows)


def original_view(f: Node, names: dict[Node, str], primals: Mapping[Node, Any] | None = None,
                  at: Mapping[str, Any] | None = None, digits: int = 4) -> View:
    """The compute graph of f: one box per node (with its value v when ``primals`` are given).

    >>> import diffexplore as dx
    >>> f = dx.parse("x*y + 1")
    >>> view = original_view(f, short_names(dx.nodes(f)))
    >>> [(b.key, b.expression) for b in view.boxes]
    [('a', 'x'), ('b', 'y'), ('c', 'a × b'), ('d', '1'), ('e', 'c + d')]
    """
    order = nodes(f)
    boxes = []
    for n in order:
        rows: list[Row] = []
        if primals is not None and (n is f or _shows_value(n)):
            rows.append(Row((f"{'f' if n is f else 'v'} = {format_value(primals[n], digits)}",)))
        boxes.append(Box(key=names[n], expression=expression(n, names, digits), rows=tuple(rows),
                         kind=_kind(n), output=n is f))
    return View("original", original_title(f, at, digits), tuple(boxes), _data_arrows(order, names))


def symbolic_view(f: Node, derivatives: Mapping[str, Node], names: dict[Node, str],
                  primals: Mapping[Node, Any] | None = None, how: str = "pruned",
                  digits: int = 4) -> tuple[View, dict[Node, str]]:
    """The derivative DAG(s): ``derivatives`` maps a label such as ``∂f/∂x`` to its root node.

    Nodes shared with f keep f's short names (kind ``shared``); new nodes get further names (kind
    ``new``). Returns the view and the names extended by the new nodes.

    >>> import diffexplore as dx
    >>> f = dx.parse("sin(x)")
    >>> names = short_names(dx.nodes(f))
    >>> view, names = symbolic_view(f, {"∂f/∂x": dx.diff(f, "x")}, names)
    >>> [(b.key, b.expression, b.kind) for b in view.boxes]
    [('a', 'x', 'shared'), ('c', 'cos(a)', 'new')]
    """
    roots = list(derivatives.values())
    order = nodes(*roots)
    names = short_names(order, names)
    of_f = set(nodes(f))
    in_f = {n for n in of_f if not n.is_constant}       # a number is not a computation to reuse
    root_labels: dict[Node, list[str]] = {}
    for label, root in derivatives.items():
        root_labels.setdefault(root, []).append(label)
    seeds = _seed_constants(order, root_labels, derivatives, how, of_f)
    boxes = []
    for n in order:
        rows: list[Row] = []
        value = format_value(primals[n], digits) if primals is not None and n in primals else None
        if n in root_labels:
            text = " = ".join(root_labels[n])
            rows.append(Row((f"{text} = {value}" if value is not None else text,), "bold"))
        elif n in seeds:
            rows.append(Row((seeds[n],), "dim"))
        elif value is not None and _shows_value(n):
            rows.append(Row((f"v = {value}",)))
        kind = "constant" if n.is_constant else "shared" if n in in_f else "new"
        boxes.append(Box(key=names[n], expression=expression(n, names, digits), rows=tuple(rows),
                         kind=kind, output=n in root_labels))
    shared = sum(1 for n in order if n in in_f)
    constants = sum(1 for n in order if n.is_constant)
    new = len(order) - shared - constants
    counts = f"{len(order)} nodes: {shared} shared with f (grey), {new} new (yellow)"
    if constants:
        counts += f", {constants} constant{'s' if constants > 1 else ''}"
    title = symbolic_title(derivatives, how) + (counts,)
    return View("symbolic", title, tuple(boxes), _data_arrows(order, names)), names


def _seed_constants(order: list[Node], root_labels: Mapping[Node, list[str]],
                    derivatives: Mapping[str, Node], how: str, of_f: set[Node]) -> dict[Node, str]:
    """The constant 1 of a pruned derivative that stands as a term of its own: the seed ∂x/∂x = 1,
    carried to f through unit partials (hash-consing makes it the same node as any 1 of f, but it is
    not f's constant). Returns that node and the row that says so."""
    if how != "pruned":
        return {}
    uses: dict[Node, set[str]] = {}
    for n in order:
        for a in n.args:
            uses.setdefault(a, set()).add(n.op)
    variables = sorted({label.rsplit("∂", 1)[1] for label in derivatives if label.startswith("∂f/∂")})
    wrt = variables[0] if len(variables) == 1 else "w"
    seeds = {}
    for n in order:
        if n.is_constant and not n.shape and n.value == 1.0 and uses.get(n, set()) <= {"add"}:
            if n in root_labels or n in uses:
                seeds[n] = f"the seed ∂{wrt}/∂{wrt} = 1" + (" (not f's constant)" if n in of_f else "")
    return seeds


def _contributions_by_edge(result: ReverseResult) -> dict[tuple[Node, int], Any]:
    """The amount ū·∂u/∂v each edge (u, position of v) added to v̄, from the sweep's records."""
    by_edge = {}
    records = zip(result.partials, result.contributions, strict=False)
    for (child, pos), (parent, child_again, amount) in records:
        if child_again is child and child.args[pos] is parent:
            by_edge[(child, pos)] = amount
    return by_edge


def adjoint_view(f: Node, names: dict[Node, str], result: ReverseResult,
                 at: Mapping[str, Any] | None = None, digits: int = 4,
                 memory: Mapping[Node, str] | None = None) -> View:
    """Reverse mode drawn: each node's v and v̄ = ∂f/∂v, each edge's local partial ∂u/∂v.

    A node used several times (fan-out) shows its adjoint as the sum of the contributions ū·∂u/∂v,
    in the order the backward sweep added them; each input shows its gradient entry ∂f/∂x.
    ``memory`` (node -> mark, from :func:`diffexplore.checkpoint.memory_marks`) adds one line to the
    nodes reverse mode stores, keeps as checkpoints or runs again.

    >>> import diffexplore as dx
    >>> f = dx.parse("x*x")
    >>> r = dx.reverse(f, {"x": 3.0})
    >>> view = adjoint_view(f, short_names(dx.nodes(f)), r)
    >>> [row.cells[0] for row in view.boxes[0].rows]
    ['v = 3', 'v̄ = 3 + 3 = 6', '∂f/∂x = 6']
    """
    order = nodes(f)
    active = active_nodes(order)
    primals, adjoints, partials = result.primals, result.adjoints, result.partials
    terms: dict[Node, list] = {}
    for parent, _child, amount in result.contributions:
        terms.setdefault(parent, []).append(amount)
    boxes = []
    for n in order:
        rows: list[Row] = []
        if _shows_value(n) or n is f:
            rows.append(Row((f"v = {format_value(primals[n], digits)}",)))
        if n in active:
            total = format_value(adjoints[n], digits)
            parts = terms.get(n, [])
            if n is f:
                text = f"{VBAR} = {total} (seed)"
            elif len(parts) < 2:
                text = f"{VBAR} = {total}"
            elif len(parts) <= MAX_TERMS:
                text = f"{VBAR} = {sum_equation(parts, adjoints[n], digits)}"
            else:
                text = f"{VBAR} = sum of {len(parts)} terms = {total}"
            rows.append(Row((text,), "adjoint"))
            if n.is_variable:
                rows.append(Row((f"∂f/∂{n.name} = {total}",), "gradient"))
        if memory and n in memory:
            shown = "; ".join(MEMORY_MARKS.get(part, part) for part in memory[n].split("; "))
            rows.append(Row((shown,), "memory"))
        boxes.append(Box(key=names[n], expression=expression(n, names, digits), rows=tuple(rows),
                         kind=_kind(n) if n in active else "inactive", output=n is f))
    by_edge = _contributions_by_edge(result)

    def label(n: Node, pos: int) -> str:
        if (n, pos) not in partials:
            return ""
        local = partials[(n, pos)]
        if local is None:        # an array operation's vector-Jacobian product: show what it added
            return f"adds {format_value(by_edge.get((n, pos)), digits)}"
        return f"∂{names[n]}/∂{names[n.args[pos]]} = {format_value(local, digits)}"

    def style(n: Node, pos: int) -> str:
        return "adjoint" if n.args[pos] in active else "inactive"

    title = adjoint_title(at, digits)
    if memory is not None:
        kinds = {"stored" if part == "stored" else "checkpoint" if part == "checkpoint" else "again"
                 for mark in memory.values() for part in mark.split("; ")}
        title += ("memory: " + ("; ".join(text for kind, text in MEMORY_LEGEND if kind in kinds)
                                or "nothing is stored (no local partial reads a value)"),)
    return View("adjoint", title, tuple(boxes), _data_arrows(order, names, label, style))


#: The line a memory mark adds to a node of the adjoint view, and the legend under the view's title.
MEMORY_MARKS = {"stored": "■ stored for the backward sweep", "checkpoint": "◆ checkpoint (snapshot)"}
MEMORY_LEGEND = (("stored", "■ kept from the forward sweep until a local partial reads it (the tape)"),
                 ("checkpoint", "◆ kept as a checkpoint, from which the sweep runs forward again"),
                 ("again", "↻ computed again from the checkpoint before it"))


def tangent_view(f: Node, names: dict[Node, str], result: ForwardResult,
                 partials: Mapping[tuple[Node, int], Any] | None = None,
                 at: Mapping[str, Any] | None = None, digits: int = 4) -> View:
    """Forward mode drawn: each node's v and v̇ = ∂v/∂w for the seed; edges show ∂u/∂v when given.

    >>> import diffexplore as dx
    >>> f = dx.parse("x*y")
    >>> r = dx.forward(f, {"x": 2.0, "y": 3.0}, seed="x")
    >>> view = tangent_view(f, short_names(dx.nodes(f)), r)
    >>> [row.cells[0] for row in view.boxes[-1].rows]
    ['v = 6', 'v̇ = 3', '∂f/∂x = 3']
    """
    order = nodes(f)
    active = active_nodes(order)
    seed = dict(result.seed)
    unit = _unit_seed(seed)
    boxes = []
    for n in order:
        rows: list[Row] = []
        if _shows_value(n) or n is f:
            rows.append(Row((f"v = {format_value(result.primals[n], digits)}",)))
        tangent = format_value(result.tangents[n], digits)
        if n.is_variable and n.name in seed:
            rows.append(Row((f"{VDOT} = {tangent} (seed)",), "tangent"))
        else:
            rows.append(Row((f"{VDOT} = {tangent}",), "tangent" if n in active else "dim"))
        if n is f:
            what = f"∂f/∂{unit}" if unit else "directional derivative"
            rows.append(Row((f"{what} = {tangent}",), "gradient"))
        boxes.append(Box(key=names[n], expression=expression(n, names, digits), rows=tuple(rows),
                         kind=_kind(n) if n in active else "inactive", output=n is f))

    def label(n: Node, pos: int) -> str:
        if partials is None or partials.get((n, pos)) is None:
            return ""
        return f"∂{names[n]}/∂{names[n.args[pos]]} = {format_value(partials[(n, pos)], digits)}"

    def style(n: Node, pos: int) -> str:
        return "tangent" if n.args[pos] in active else "inactive"

    title = tangent_title(seed, at, digits, edge_labels=partials is not None)
    return View("tangent", title, tuple(boxes), _data_arrows(order, names, label, style))
