"""Show: ``render`` and ``to_dot``, which pick the views, run the evaluators they need and assemble them.

This is the only module of the renderer that calls the transform/evaluate stage (``diff``,
``gradient_graph``, ``reverse``, ``forward``); the views and the DOT builder only arrange results. Short
names come from the topological order of f, so the same node has the same name in every view;
derivative-only nodes get further names. A view whose graph has more than ``max_nodes`` nodes is
replaced by a size table and a note (``Drawing.notes``) says so.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

from ..callables import graph_of
from ..checkpoint import memory_marks
from ..errors import DiffexploreError, DomainError, ShapeError
from ..evaluate import forward, reverse
from ..graph import Node, check_variables, nodes
from ..inputs import as_point, resolve_wrt
from ..plan import plan
from ..symbolic import diff, gradient_graph
from .display import Drawing
from .dot import to_drawing
from .labels import format_value, short_names
from .summary import summary_view
from .views import (
    View,
    adjoint_title,
    adjoint_view,
    original_title,
    original_view,
    symbolic_title,
    symbolic_view,
    tangent_title,
    tangent_view,
)

__all__ = ["render", "to_dot", "VIEWS", "DERIVATIVES", "DEFAULT_MAX_NODES"]

#: Every view, in the order they are drawn from left to right.
VIEWS = ("original", "symbolic", "adjoint", "tangent")
#: How the symbolic view builds its derivative: ``diff`` pruned or raw, or ``gradient_graph``.
DERIVATIVES = ("pruned", "raw", "gradient")
#: Views with more nodes than this are drawn as a size table.
DEFAULT_MAX_NODES = 150
#: Gradient entries listed in a size table.
_MAX_HEADLINE = 8
#: Above this many node-derivatives (f's nodes × the variables of the symbolic view) the default views
#: leave the symbolic one out: its derivative graphs are built before they can be measured (about 10 µs
#: a node: some 10 s for one variable at 10^6 nodes), so it is drawn only on request.
SYMBOLIC_DEFAULT_WORK = 200_000


def _choose_views(views: str | Sequence[str] | None, has_point: bool) -> list[str]:
    if views is None:
        return ["original", "symbolic", "adjoint"] if has_point else ["original", "symbolic"]
    if isinstance(views, str):
        views = [v for v in views.replace(",", " ").split() if v]
    chosen = []
    for view in views:
        if view == "all":
            chosen.extend(VIEWS if has_point else VIEWS[:2])
        elif view in VIEWS:
            chosen.append(view)
        else:
            raise DiffexploreError(f"unknown view {view!r}; views: {', '.join(VIEWS)} (or all)")
        if view in ("adjoint", "tangent") and not has_point:
            raise DiffexploreError(f"the {view} view shows numbers at a point: give at={{...}} "
                                   "(command line: --at x=1,y=2)")
    if not chosen:
        raise DiffexploreError(f"no views chosen; views: {', '.join(VIEWS)} (or all)")
    return [v for v in VIEWS if v in chosen]          # always left to right in the one order


def _seed(seed: Mapping[str, Any] | str | None, wrt: list[str], variables: list[str]):
    if seed is not None:
        return seed
    if len(wrt) == 1:
        return wrt[0]
    if len(variables) == 1:
        return variables[0]
    raise DiffexploreError(f"the tangent view needs one seed direction and f has the variables "
                           f"{', '.join(variables)}: give wrt='x' or seed={{'x': 1.0}} "
                           "(command line: --wrt x)")


def _derivatives(f: Node, wrt: list[str], derivative: str) -> dict[str, Node]:
    if derivative not in DERIVATIVES:
        raise DiffexploreError(f"unknown derivative {derivative!r}; choose one of {', '.join(DERIVATIVES)}")
    if derivative == "gradient":
        return {f"∂f/∂{name}": node for name, node in gradient_graph(f, wrt=wrt).items()}
    return {f"∂f/∂{name}": diff(f, name, prune=derivative == "pruned") for name in wrt}


def _derivative_values(derivatives: dict[str, Node], point: dict, notes: list[str]) -> dict | None:
    values: dict = {}
    try:
        for root in derivatives.values():
            values.update(forward(root, point, seed={}).primals)
    except DomainError as exc:
        notes.append(f"symbolic view: values not shown, evaluating the derivative graph failed: {exc}")
        return None
    return values


def render(f: Node | str | Callable, at: Mapping[str, Any] | None = None,
           wrt: str | Sequence[str] | None = None, views: str | Sequence[str] | None = None, *,
           seed: Mapping[str, Any] | str | None = None,
           derivative: str = "pruned", max_nodes: int = DEFAULT_MAX_NODES, digits: int = 4,
           memory: bool = False, checkpoints: Any = None) -> Drawing:
    """Draw f's views side by side, left to right: ``original``, ``symbolic``, ``adjoint``, ``tangent``.

    ``at`` gives the point (needed by the adjoint and tangent views; default views: original, symbolic,
    and adjoint when a point is given). ``wrt`` names the variable(s) of the symbolic view (default:
    all); ``seed`` is the tangent view's direction (default: ``wrt``). ``derivative`` is ``pruned``
    (``dx.diff``), ``raw`` (the chain rule as emitted) or ``gradient`` (``dx.gradient_graph``). A view
    with more than ``max_nodes`` nodes becomes a size table, listed in ``Drawing.notes``.
    ``memory=True`` marks in the adjoint view the values reverse mode stores for its backward sweep;
    ``checkpoints`` (K, ``"sqrt"``, ``("binomial", s)``) marks instead the checkpoints of that schedule
    and the nodes it computes again.

    >>> import diffexplore as dx
    >>> d = dx.render("1 + x + exp(sin(x*y))", at={"x": 1.0, "y": 2.0}, wrt="x")
    >>> "v̄ = −2.066 + 1 = −1.066" in d.source, d.notes      # x is used twice: its adjoint is a sum
    (True, [])
    """
    f = graph_of(f, at, call="render")
    if max_nodes < 1:
        raise DiffexploreError(f"max_nodes must be at least 1, got {max_nodes}")
    point = as_point(at) if at is not None else None
    chosen = _choose_views(views, point is not None)
    order = nodes(f)
    variables = [v.name for v in check_variables([n for n in order if n.rule.name == "var"])]
    wrt_names = resolve_wrt(variables, wrt)
    drawn_in_full = len(order) <= max_nodes
    names = short_names(order) if drawn_in_full else None       # naming a million nodes takes seconds
    notes: list[str] = []
    if views is None and len(order) * len(wrt_names) > SYMBOLIC_DEFAULT_WORK:
        chosen.remove("symbolic")
        notes.append(f"symbolic view: left out, f has {len(order):,} nodes and {len(wrt_names):,} "
                     f"variable(s) to differentiate by (more than {SYMBOLIC_DEFAULT_WORK:,} node-derivatives,"
                     " about 10 µs each to build); ask for it with views='original symbolic' and wrt= "
                     "(command line: --views original,symbolic --wrt x)")

    reverse_result = None
    if point is not None and ("adjoint" in chosen or "tangent" in chosen):
        try:
            reverse_result = reverse(f, point)
        except ShapeError:          # an array-valued f: the tangent view can still be drawn
            if "adjoint" in chosen:
                raise
    drawn: list[View] = []
    for view in chosen:
        if view == "original":
            primals = None
            if point is not None:
                primals = reverse_result.primals if reverse_result else forward(f, point, seed={}).primals
            if drawn_in_full:
                drawn.append(original_view(f, names, primals, point, digits))
            else:
                headline = [("f", format_value(primals[f], digits))] if primals else []
                title = original_title(f, point, digits)
                drawn.append(_summary(view, title, [f], order, max_nodes, headline, notes))
        elif view == "symbolic":
            if not wrt_names:
                notes.append("symbolic view: f has no variables, so every derivative is 0; nothing to draw")
                continue
            drawn.append(_symbolic(f, order, names, wrt_names, derivative, point, max_nodes, digits, notes))
        elif view == "adjoint":
            if drawn_in_full:
                marks = _memory_marks(f, memory, checkpoints)
                drawn.append(adjoint_view(f, names, reverse_result, point, digits, marks))
            else:
                gradient = [(f"∂f/∂{name}", value) for name, value in reverse_result.gradient.items()]
                headline = [("f", format_value(reverse_result.value, digits))] + _listed(gradient, digits)
                title = adjoint_title(point, digits)[:2]
                drawn.append(_summary(view, title, [f], order, max_nodes, headline, notes))
        elif view == "tangent":
            tangents = forward(f, point, seed=_seed(seed, wrt_names, variables))
            if drawn_in_full:
                partials = reverse_result.partials if reverse_result is not None else None
                drawn.append(tangent_view(f, names, tangents, partials, point, digits))
            else:
                headline = [("f", format_value(tangents.value, digits)),
                            ("tangent of f", format_value(tangents.tangent, digits))]
                title = tangent_title(tangents.seed, point, digits)[:2]
                drawn.append(_summary(view, title, [f], order, max_nodes, headline, notes))
    return to_drawing(drawn, notes)


def _memory_marks(f: Node, memory: bool, checkpoints: Any) -> dict[Node, str] | None:
    """node -> memory mark for the adjoint view, or None when none was asked for."""
    if not memory and checkpoints is None:
        return None
    p = plan(f)
    return {p.order[slot]: mark for slot, mark in memory_marks(p, checkpoints).items()}


def _symbolic(f: Node, order: list[Node], names: dict[Node, str] | None, wrt: list[str], derivative: str,
              point: dict | None, max_nodes: int, digits: int, notes: list[str]) -> View:
    """The symbolic view, or its size table when the derivative DAG has more than ``max_nodes`` nodes
    (f's nodes are named only when the derivative is drawn)."""
    derivatives = _derivatives(f, wrt, derivative)
    values = _derivative_values(derivatives, point, notes) if point is not None else None
    roots = list(derivatives.values())
    derivative_order = nodes(*roots)
    if len(derivative_order) <= max_nodes:
        names = short_names(order) if names is None else names
        view, _names = symbolic_view(f, derivatives, names, values, derivative, digits)
        return view
    headline = []
    if values:
        headline = _listed([(label, values[root]) for label, root in derivatives.items()], digits)
    title = symbolic_title(derivatives, derivative)
    return _summary("symbolic", title, roots, derivative_order, max_nodes, headline, notes)


def _listed(entries: list[tuple[str, Any]], digits: int) -> list[tuple[str, str]]:
    """The first few (label, value) rows of a size table, and how many more there are."""
    rows = [(label, format_value(value, digits)) for label, value in entries[:_MAX_HEADLINE]]
    if len(entries) > _MAX_HEADLINE:
        rows.append((f"… {len(entries) - _MAX_HEADLINE} more", ""))
    return rows


def _summary(name: str, title: Sequence[str], roots: list[Node], order: list[Node], max_nodes: int,
             headline: list[tuple[str, str]], notes: list[str]) -> View:
    """A view's size table (``order``: the nodes of ``roots``, already listed), its note appended."""
    view, note = summary_view(name, title, roots, max_nodes, headline, order=order)
    notes.append(note)
    return view


def to_dot(f: Node | str | Callable, at: Mapping[str, Any] | None = None,
           wrt: str | Sequence[str] | None = None, views: str | Sequence[str] | None = None,
           **options: Any) -> str:
    """The DOT text of :func:`render` (deterministic: the same graph and options give the same bytes).

    >>> import diffexplore as dx
    >>> text = to_dot("x*y", views="original")
    >>> text == to_dot("x*y", views="original"), [line.strip() for line in text.splitlines() if "->" in line]
    (True, ['original_a -> original_c', 'original_b -> original_c', 'original_a -> original_b [style=invis]'])
    """
    return render(f, at, wrt, views, **options).source
