"""Build: the test functions of the reports, the tour and the gallery, each defined once here.

- the seed example f = 1 + x + exp(sin(x·y)) at x = 1, y = 2 (:data:`SEED`, :func:`seed_example`);
- fixed networks: :func:`scalar_network` (a layered tanh network written with scalar operations),
  :func:`textbook_mlp` (an array MLP with its data, parameters and the textbook δ reference) and
  :func:`small_cnn` (a convolutional network of the units outside the layered picture);
- families of functions that grow with a size parameter n, for the expression-swell report.

A :class:`Family` builds the graph of its n-th member and a point to evaluate it at (for the timing
columns). The named families each show one way derivatives grow:

- ``logistic``: l_0 = x, l_k = 4·l_{k-1}·(1 − l_{k-1}); f = l_n. Every step uses the previous term
  twice, so the function's tree doubles each step and its derivative's tree more than doubles;
- ``nested-sin``: sin(sin(…sin(x))) with n sines; the derivative is a product of n cosines;
- ``product``: x1·x2·…·xn, with n inputs: forward mode needs n sweeps, reverse mode one;
- ``power-tower``: x^x^…^x with n copies of x (right-nested, x^(x^(…)));
- ``mlp``: a scalar tanh network of depth n, h_0 = x, h_k = tanh(w_k·h_{k-1} + b_k), f = h_n. The
  weights and biases are inputs (the gradient training needs is with respect to them), evaluated at
  fixed deterministic values, so there are 2n + 1 inputs.

Users add their own: a formula in which ``n`` is the size (``"x**n + sin(x)**n"``, n substituted as a
number), a recurrence (:func:`iterate`: ``"4*f*(1-f)"``, the previous term called ``f``), a list of
formulas (one row each), or a function ``n -> member`` (:func:`function_family`). A member (or an entry of
the list) may be a graph, a formula, an import (``dx.from_jax`` / ``dx.from_torch``: its output, evaluated
at its example point) or a plain Python function of named arguments, traced at the member's point: the
value ``at`` gives a parameter, else :data:`DEFAULT_VALUE` (0.5), the value user formulas get too.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np

from ..callables import trace_at
from ..errors import DiffexploreError
from ..formula import formula
from ..graph import Node, apply, constant, free_variables, nodes, variable
from ..inputs import as_graph
from ..parse import parse
from ..rules import tanh

if TYPE_CHECKING:
    from ..nn import Network, TextbookBackprop

__all__ = ["Family", "FAMILIES", "get", "choose", "iterate", "formula_family", "formula_list",
           "substitute", "function_family", "member", "logistic", "nested_sin", "product", "power_tower",
           "mlp", "DEFAULT_VALUE", "SEED", "seed_example", "scalar_network", "textbook_mlp", "small_cnn"]

#: The value every variable of a user formula takes for the timing columns (unless ``at`` says otherwise).
DEFAULT_VALUE = 0.5

#: The seed example of the README, the tour and the gallery (evaluated at x = 1, y = 2).
SEED = "1 + x + exp(sin(x*y))"


# ---- fixed test functions ----------------------------------------------------------------------------


def seed_example() -> tuple[Node, dict[str, float]]:
    """The seed example's graph and its point x = 1, y = 2 (a new dict on every call).

    >>> f, at = seed_example()
    >>> str(f), at
    ('1 + x + exp(sin(x*y))', {'x': 1.0, 'y': 2.0})
    """
    return parse(SEED), {"x": 1.0, "y": 2.0}


def scalar_network(widths: Sequence[int]) -> Node:
    """The squared error (out − t)² of a fully connected tanh network written with scalar operations.

    Inputs ``x1, x2, ...``; layer l has weights ``Wl_ji`` and biases ``bl_j`` and computes
    ``bl_j + Wl_j1·z1 + Wl_j2·z2 + ...``; hidden layers apply tanh, the last layer is linear. (The
    ``mlp`` family below is the one-unit-wide chain; :func:`diffexplore.nn.mlp` builds layered networks
    from array operations.)

    >>> import diffexplore as dx
    >>> f = scalar_network((2, 3, 1))
    >>> dx.size(f).dag_nodes, len(dx.free_variables(f))
    (40, 16)
    """
    layer: list[Node] = [variable(f"x{i + 1}") for i in range(widths[0])]
    last = len(widths) - 1
    for number, width in enumerate(widths[1:], start=1):
        outputs = []
        for j in range(width):
            total = variable(f"b{number}_{j + 1}")
            for i, z in enumerate(layer):
                total = total + variable(f"W{number}_{j + 1}{i + 1}") * z
            outputs.append(tanh(total) if number < last else total)
        layer = outputs
    return (layer[0] - variable("t")) ** 2


def textbook_mlp(sizes: Sequence[int] = (4, 5, 5, 3), batch: int = 6,
                 seed: int = 0) -> tuple[Network, dict[str, np.ndarray], TextbookBackprop]:
    """A tanh :func:`diffexplore.nn.mlp` with fixed data (random inputs rounded to two digits, random
    labels, both from ``seed``) as constants, its evaluation point (``initial_parameters(seed)``) and
    the textbook δ recursion's results at that point (:func:`diffexplore.nn.textbook_backprop`).

    >>> net, at, textbook = textbook_mlp()
    >>> net.nodes["s1"].shape, sorted(at), len(textbook.deltas)
    ((5, 6), ['W1', 'W2', 'W3', 'b1', 'b2', 'b3'], 3)
    """
    from ..nn import mlp as layered_mlp
    from ..nn import textbook_backprop
    rng = np.random.default_rng(seed)
    x = np.round(rng.normal(size=(sizes[0], batch)), 2)
    labels = rng.integers(0, sizes[-1], size=batch)
    net = layered_mlp(sizes, batch, activation="tanh", inputs=x, labels=labels)
    at = net.at(net.initial_parameters(seed))
    weights = [at[f"W{k}"] for k in range(1, len(sizes))]
    biases = [at[f"b{k}"] for k in range(1, len(sizes))]
    return net, at, textbook_backprop(weights, biases, x, labels, activation="tanh")


def small_cnn(seed: int = 1) -> tuple[Network, dict[str, np.ndarray]]:
    """A small :func:`diffexplore.nn.cnn` (batch 4, 1×6×6 images, 3 channels, 3 classes) with fixed data
    (random images rounded to two digits, random labels, both from ``seed``) and its parameters.

    >>> net, at = small_cnn()
    >>> net.nodes["conv"].shape, sorted(at)
    ((4, 3, 6, 6), ['K', 'W', 'b', 'beta', 'gamma'])
    """
    from ..arrays import one_hot
    from ..nn import cnn
    rng = np.random.default_rng(seed)
    batch = 4
    x = np.round(rng.normal(size=(batch, 1, 6, 6)), 2)
    labels = rng.integers(0, 3, size=batch)
    net = cnn(batch=batch, image=(1, 6, 6), channels=3, classes=3, seed=seed, inputs=x,
              labels=one_hot(labels, 3, axis=0))
    return net, net.at(net.initial_parameters(seed))


@dataclass(frozen=True)
class Family:
    """A family of functions indexed by a size n.

    ``build(n)`` gives the graph of the n-th member, ``point(n)`` a point where it is defined (used by
    the timing columns), ``label(n)`` a short text naming the member (shown only for lists of formulas).

    >>> fam = FAMILIES["logistic"]
    >>> str(fam.build(1)), fam.point(1)
    ('4*x*(1 - x)', {'x': 0.3})
    """

    name: str
    description: str
    build: Callable[[int], Node]
    point: Callable[[int], dict[str, float]]
    default_sizes: tuple[int, ...] = tuple(range(1, 9))
    min_size: int = 1
    label: Callable[[int], str] | None = field(default=None)

    def __repr__(self) -> str:
        return f"<Family {self.name}: {self.description}; sizes n >= {self.min_size}>"

    def check_sizes(self, sizes: Sequence[int]) -> list[int]:
        """The sizes as a list, with an error naming a size this family cannot build."""
        checked = []
        for n in sizes:
            if isinstance(n, bool) or not isinstance(n, int) or n < self.min_size:
                raise DiffexploreError(f"family {self.name!r}: size {n!r} is not allowed; sizes are "
                                       f"integers n >= {self.min_size}")
            checked.append(n)
        if not checked:
            raise DiffexploreError(f"family {self.name!r}: no sizes given; give at least one n")
        return checked


# ---- the named families ------------------------------------------------------------------------------


def logistic(n: int) -> Node:
    """The logistic map iterated n times from x: l_k = 4·l_{k-1}·(1 − l_{k-1}).

    >>> str(logistic(2))
    '4*(4*x*(1 - x))*(1 - 4*x*(1 - x))'
    """
    term = variable("x")
    for _ in range(n):
        term = 4 * term * (1 - term)
    return term


def nested_sin(n: int) -> Node:
    """sin applied n times to x.

    >>> str(nested_sin(3))
    'sin(sin(sin(x)))'
    """
    from ..rules import sin
    term = variable("x")
    for _ in range(n):
        term = sin(term)
    return term


def _product_inputs(n: int) -> list[Node]:
    return [variable(f"x{i}") for i in range(1, n + 1)]


def product(n: int) -> Node:
    """x1·x2·…·xn, left-nested as written: ((x1·x2)·x3)·…

    >>> str(product(3))
    'x1*x2*x3'
    """
    inputs = _product_inputs(n)
    term = inputs[0]
    for x in inputs[1:]:
        term = term * x
    return term


def power_tower(n: int) -> Node:
    """x^(x^(…^x)) with n copies of x.

    >>> str(power_tower(3))
    'x**x**x'
    """
    x = variable("x")
    term = x
    for _ in range(n - 1):
        term = x ** term
    return term


def mlp(n: int) -> Node:
    """A scalar tanh network of depth n: h_0 = x, h_k = tanh(w_k·h_{k-1} + b_k), f = h_n.

    >>> str(mlp(2))
    'tanh(w2*tanh(w1*x + b1) + b2)'
    """
    hidden = variable("x")
    for k in range(1, n + 1):
        hidden = tanh(variable(f"w{k}") * hidden + variable(f"b{k}"))
    return hidden


def mlp_point(n: int) -> dict[str, float]:
    """Fixed deterministic weights and biases (|w·h + b| stays below 2, so tanh does not saturate).

    >>> mlp_point(2)
    {'x': 0.5, 'w1': 1.1, 'b1': -0.1, 'w2': 1.2, 'b2': 0.0}
    """
    point = {"x": 0.5}
    for k in range(1, n + 1):
        point[f"w{k}"] = round(1.0 + 0.1 * (k % 3), 10)
        point[f"b{k}"] = round(0.1 * (k % 5 - 2), 10)
    return point


FAMILIES: dict[str, Family] = {
    "logistic": Family(
        "logistic", "l₀ = x, lₖ = 4·lₖ₋₁·(1 − lₖ₋₁), f = lₙ (one input)",
        logistic, lambda n: {"x": 0.3}, tuple(range(1, 13)), min_size=0),
    "nested-sin": Family(
        "nested-sin", "f = sin(sin(…sin(x)…)) with n sines (one input)",
        nested_sin, lambda n: {"x": 0.7}, tuple(range(1, 13)), min_size=0),
    "product": Family(
        "product", "f = x₁·x₂·…·xₙ (n inputs)",
        product, lambda n: {f"x{i}": 1.0 + 1.0 / (i + 1) for i in range(1, n + 1)},
        (1, 2, 4, 8, 16, 32), min_size=1),
    "power-tower": Family(
        "power-tower", "f = x^(x^(…^x)) with n copies of x (one input)",
        power_tower, lambda n: {"x": 1.2}, tuple(range(1, 13)), min_size=1),
    "mlp": Family(
        "mlp", "h₀ = x, hₖ = tanh(wₖ·hₖ₋₁ + bₖ), f = hₙ (inputs x, wₖ, bₖ: 2n + 1 of them)",
        mlp, mlp_point, tuple(range(1, 13)), min_size=1),
}


# ---- user families -----------------------------------------------------------------------------------


def substitute(graph: Node, replacements: Mapping[str, Node | float]) -> Node:
    """The graph with the named variables replaced by nodes or numbers (rebuilt bottom-up, shared
    nodes rebuilt once).

    >>> str(substitute(parse("x**n + n"), {"n": 3}))
    'x**3 + 3'
    """
    replaced = {name: value if isinstance(value, Node) else constant(value)
                for name, value in replacements.items()}
    rebuilt: dict[Node, Node] = {}
    for node in nodes(graph):
        if node.is_variable:
            rebuilt[node] = replaced.get(node.name, node)
        elif not node.args:
            rebuilt[node] = node
        else:
            args = [rebuilt[a] for a in node.args]
            if all(new is old for new, old in zip(args, node.args, strict=True)):
                rebuilt[node] = node
            else:
                rebuilt[node] = apply(node.rule, *args, attr=node.attr)
    return rebuilt[graph]


def _default_point(graph: Node) -> dict[str, float]:
    return {v.name: DEFAULT_VALUE for v in free_variables(graph)}


def _as_graph(expression: str | Node) -> Node:
    return expression if isinstance(expression, Node) else parse(expression)


def _trace_point(function: Callable, at: Mapping[str, Any]) -> dict[str, Any]:
    """Where a member given as a Python function is traced: ``at``'s value of each parameter it names,
    :data:`DEFAULT_VALUE` for each other parameter without a default."""
    try:
        parameters = inspect.signature(function).parameters.values()
    except (TypeError, ValueError):        # no signature: every value of at, by keyword
        return dict(at)
    point: dict[str, Any] = {}
    for p in parameters:
        if p.kind is p.VAR_KEYWORD:
            point.update({name: value for name, value in at.items() if name not in point})
        elif p.kind is not p.VAR_POSITIONAL and (p.name in at or p.default is p.empty):
            point[p.name] = at.get(p.name, DEFAULT_VALUE)
    return point


def member(given: Any, at: Mapping[str, Any] | None = None) -> tuple[Node, dict[str, Any]]:
    """A family member's graph and the point to evaluate it at, from a graph or formula (every variable at
    :data:`DEFAULT_VALUE`), an import (its example point) or a Python function (traced at
    :func:`_trace_point`); ``at`` overrides the point's values.

    >>> f, point = member(lambda x, y: x * y if x < y else x + y, {"y": 2.0})
    >>> str(f), point
    ('x*y', {'x': 0.5, 'y': 2.0})
    """
    at = dict(at or {})
    if hasattr(given, "__dx_graph__"):
        graph = as_graph(given)
        return graph, {**_default_point(graph), **dict(getattr(given, "point", {}) or {}), **at}
    if callable(given) and not isinstance(given, Node):
        point = _trace_point(given, at)
        graph = trace_at(given, point, call="swell")
        return graph, {**_default_point(graph), **point}
    if not isinstance(given, (Node, str)):
        raise DiffexploreError(f"a family member is a graph, a formula, an import or a Python function; "
                               f"got {type(given).__name__}")
    graph = as_graph(given)
    return graph, {**_default_point(graph), **at}


def function_family(members: Callable[[int], Any], at: Mapping[str, Any] | None = None,
                    name: str | None = None) -> Family:
    """A family from a function n -> member (a graph, a formula, an import or a Python function; see
    :func:`member`).

    >>> import numpy as np
    >>> fam = function_family(lambda n: (lambda x: np.sin(x) ** n))
    >>> str(fam.build(3)), fam.point(3)
    ('sin(x)**3', {'x': 0.5})
    """
    name = name or getattr(members, "__name__", "function")

    def build(n: int) -> Node:
        return member(members(n), at)[0]

    def point(n: int) -> dict[str, Any]:
        return member(members(n), at)[1]

    return Family(name, f"f = {name}(n)", build, point)


def formula_family(expression: str | Node, name: str | None = None) -> Family:
    """A family from one formula whose variable ``n`` is the size (substituted as a number).

    >>> fam = formula_family("sin(x)**n")
    >>> str(fam.build(3)), fam.point(3)
    ('sin(x)**3', {'x': 0.5})
    """
    graph = _as_graph(expression)
    if "n" not in {v.name for v in free_variables(graph)}:
        raise DiffexploreError(f"the formula {formula(graph, max_length=60)!r} has no size parameter n; "
                               "write n where the size goes (e.g. \"sin(x)**n\") or give a list of formulas")

    def build(n: int) -> Node:
        return substitute(graph, {"n": float(n)})

    return Family(name or formula(graph, max_length=60), f"f = {formula(graph, max_length=200)} for each n",
                  build, lambda n: _default_point(build(n)), min_size=0)


def iterate(step: str | Node, start: str | Node = "x", name: str | None = None) -> Family:
    """A family from a recurrence: f_0 = ``start``, f_n = ``step`` with ``f`` replaced by f_{n-1}.

    >>> fam = iterate("4*f*(1-f)")
    >>> fam.build(2) is logistic(2)
    True
    """
    step_graph = _as_graph(step)
    start_graph = _as_graph(start)
    if "f" not in {v.name for v in free_variables(step_graph)}:
        raise DiffexploreError(f"the recurrence {formula(step_graph, max_length=60)!r} does not use f, the "
                               "previous term; write it like \"4*f*(1-f)\" or \"sin(f)\"")
    if "f" in {v.name for v in free_variables(start_graph)}:
        raise DiffexploreError("the start of a recurrence cannot use f (f is the previous term)")

    def build(n: int) -> Node:
        term = start_graph
        for _ in range(n):
            term = substitute(step_graph, {"f": term})
        return term

    text = formula(step_graph, max_length=120)
    return Family(name or f"iterate {text}",
                  f"f_0 = {formula(start_graph, max_length=60)}, f_n = {text} with f = f_(n-1)",
                  build, lambda n: _default_point(build(n)), tuple(range(1, 9)), min_size=0)


def formula_list(expressions: Sequence[Any], name: str = "formulas",
                 at: Mapping[str, Any] | None = None) -> Family:
    """A family from a list of formulas: member k (1, 2, …) is the k-th formula (or graph, import or
    Python function, traced at ``at``; see :func:`member`).

    >>> fam = formula_list(["x*y", "sin(x*y)"])
    >>> fam.default_sizes, fam.label(2)
    ((1, 2), 'sin(x*y)')
    """
    members = [(_as_graph(e), None) if isinstance(e, (str, Node)) else member(e, at) for e in expressions]
    graphs = [graph for graph, _ in members]
    if not graphs:
        raise DiffexploreError("the list of formulas is empty; give at least one formula")

    def point(k: int) -> dict[str, Any]:
        return members[k - 1][1] or _default_point(build(k))

    def build(k: int) -> Node:
        if k > len(graphs):
            raise DiffexploreError(f"family {name!r} has {len(graphs)} formula(s); size {k} is not one of "
                                   f"them (sizes 1..{len(graphs)})")
        return graphs[k - 1]

    return Family(name, f"{len(graphs)} formula(s), one row each", build,
                  point, tuple(range(1, len(graphs) + 1)), min_size=1,
                  label=lambda k: formula(build(k), max_length=40))


def get(family: str | Family | Node | Sequence | Callable[[int], Any],
        at: Mapping[str, Any] | None = None) -> Family:
    """The family a report is about: a :class:`Family`, a family name, a formula containing ``n``, a
    list of formulas, graphs or functions, an import (one member), or a function n -> member (a graph,
    an import or a Python function; see :func:`member`: ``at`` gives the point a function is traced at).

    >>> get("product").name, get("x**n").name, get(["x", "x*x"]).name
    ('product', 'x**n', 'formulas')
    """
    if isinstance(family, Family):
        return family
    if isinstance(family, str):
        if family in FAMILIES:
            return FAMILIES[family]
        try:
            graph = parse(family)
        except DiffexploreError:
            graph = None
        if graph is None or "n" not in {v.name for v in free_variables(graph)}:
            raise DiffexploreError(f"unknown family {family!r}; families: {', '.join(FAMILIES)}, a formula "
                                   "with the size parameter n (e.g. \"sin(x)**n\"), or a list of formulas")
        return formula_family(graph, name=family)
    if isinstance(family, Node) or hasattr(family, "__dx_graph__"):
        return formula_list([family], name="imported" if hasattr(family, "__dx_graph__") else "formulas")
    if isinstance(family, (list, tuple)):
        return formula_list(family, at=at)
    if callable(family):
        return function_family(family, at)
    raise DiffexploreError(f"a family is a name ({', '.join(FAMILIES)}), a formula with n, a list of "
                           f"formulas, an import or a function n -> graph; got {type(family).__name__}")


def choose(name: str | None = None, formulas: Sequence[str] | None = None, recurrence: str | None = None,
           start: str = "x") -> Family:
    """The family named by exactly one of: a name or formula with n, a list of formulas, a recurrence
    (the command line's FAMILY, ``--formula`` and ``--iterate``).

    >>> choose(recurrence="sin(f)").build(2) is nested_sin(2)
    True
    """
    given = [g for g in (name, formulas, recurrence) if g]
    if len(given) != 1:
        raise DiffexploreError("give exactly one of: a family (" + ", ".join(FAMILIES) + " or a formula "
                               "with n), --formula EXPR (repeatable, one row each), or --iterate EXPR")
    if formulas:
        return formula_list(list(formulas))
    if recurrence:
        return iterate(recurrence, start)
    return get(name)
