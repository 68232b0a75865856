"""Out: what the JAX and PyTorch exports share: the graph checked for export and each primitive's facet.

An export is a function of the framework's arrays that runs the graph's operations in evaluation order
through each primitive's ``jax=`` / ``torch=`` facet (see :func:`diffexplore.rules.define`), so the
framework's own autodiff, compiler and devices work through it. Before that, the graph is checked: a
graph traced from a Python function depends on branch decisions that only held at the traced point, and
a compiled framework function cannot check them (nothing can raise on data under ``jit``), so such a
graph is refused unless ``guards="ignore"``; then the decisions are listed in the export's docstring.
A primitive without the facet is refused by name, unless it is a user primitive with partials, which the
framework module wraps around its NumPy implementation and its own rules.
"""

from __future__ import annotations

import inspect
import keyword
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from ..branches import branch_decisions
from ..callables import graph_of
from ..errors import DiffexploreError, MissingValueError
from ..graph import Node, Primitive
from ..plan import Plan, guards, plan

__all__ = ["Exported", "prepare", "facet_of", "facet_function", "operations", "missing_facet",
           "bind_arguments", "signature", "GUARD_CHOICES"]

#: What ``guards=`` may be: refuse a graph with traced branch decisions, or export it anyway.
GUARD_CHOICES = ("refuse", "ignore")


@dataclass
class Exported:
    """A graph ready for export: its plan, variables (names in order of first appearance, and shapes)
    and the branch decisions it was traced under (as text; empty for a graph that was not traced)."""

    f: Node
    plan: Plan
    variables: list[str]
    shapes: dict[str, tuple]
    decisions: list[str]

    def docstring(self, what: str) -> str:
        """A docstring for the exported function: what it is, its arguments, and the decisions."""
        lines = [f"{what} of f = {_short_formula(self.f)}.", "",
                 f"Arguments (keyword, or positional in this order): {', '.join(self.variables) or 'none'}.",
                 "Follows the framework's semantics: a value outside an operation's domain gives inf or "
                 "nan (diffexplore's own evaluators raise DomainError)."]
        if self.decisions:
            lines += ["", "Exported with guards='ignore': f was traced from a Python function and is only "
                          "that function where these branch decisions come out the same (not checked here):"]
            lines += [f"  {d}" for d in self.decisions]
        return "\n".join(lines)


def _short_formula(f: Node, limit: int = 200) -> str:
    from ..formula import formula
    text = formula(f, max_length=limit + 1)
    return text if len(text) <= limit else text[:limit] + "…"


def prepare(f: Any, guards_choice: str, call: str, at: Any = None) -> Exported:
    """The graph of ``f`` (a node, formula, import or function traced at ``at``), checked for export.

    >>> import diffexplore as dx
    >>> prepare("x*y + sin(x)", "refuse", "to_jax").variables
    ['x', 'y']
    """
    if guards_choice not in GUARD_CHOICES:
        raise DiffexploreError(f"{call}: guards must be one of {', '.join(map(repr, GUARD_CHOICES))}, got "
                               f"{guards_choice!r}")
    graph = graph_of(f, at, call=call)
    if not isinstance(graph, Node):
        raise DiffexploreError(f"{call} takes one graph; got {type(graph).__name__}")
    p = plan(graph)
    decisions = [str(d) for node in guards.guarded() if node in p.index for d in branch_decisions(node)]
    if decisions and guards_choice == "refuse":
        shown = "\n  ".join(decisions[:5]) + ("\n  ..." if len(decisions) > 5 else "")
        raise DiffexploreError(
            f"{call}: this graph was traced from a Python function and holds only where its branch "
            f"decisions come out as they did at the traced point:\n  {shown}\nA compiled framework function "
            "cannot check them (nothing raises on data under jit). Pass guards='ignore' to export it anyway "
            "(the decisions are then listed in the function's docstring), or build the graph without "
            "branches (dx.select, dx.maximum).")
    variables = list(p.variable_names())
    shapes = {name: shape for _i, name, shape in p.variables}
    return Exported(graph, p, variables, shapes, decisions)


def facet_function(name: str, framework: str) -> Callable:
    """The primitive ``name`` as a function of the framework's arrays (its facet; what a module written
    by ``dx.compile(f, backend="jax"|"torch")`` calls).

    >>> facet_function("sin", "jax").__name__
    'sin'
    """
    import importlib

    from ..graph import PRIMITIVES
    rule = PRIMITIVES.get(name)
    if rule is None:
        raise DiffexploreError(f"no primitive named {name!r} in the rule table")
    function = facet_of(rule, framework, importlib.import_module(framework))
    if function is None:
        raise missing_facet(rule, framework)
    return function


def facet_of(rule: Primitive, framework: str, module: Any) -> Callable | None:
    """The primitive as a function of the framework's arrays (``attr=`` passed when it has one), from its
    facet: a name in ``jax.numpy`` / ``torch``, or ``callable(module, *args)``; None without a facet."""
    facet = getattr(rule, framework, None)
    if facet is None:
        return None
    if isinstance(facet, str):
        namespace = module.numpy if framework == "jax" else module
        function = getattr(namespace, facet)
        if rule.has_attr:
            return lambda *args, attr: function(*args, attr)
        if framework == "torch":
            return _with_a_tensor(module, function)
        return function
    if framework == "torch":
        return _with_a_tensor(module, lambda *args, **options: facet(module, *args, **options))
    return lambda *args, **options: facet(module, *args, **options)


def _with_a_tensor(torch: Any, function: Callable) -> Callable:
    """``function`` given at least one tensor: torch's functions refuse Python numbers only (an operation
    on constants alone), which are then made float64 tensors."""
    def call(*args, **options):
        if not any(isinstance(a, torch.Tensor) for a in args):
            args = (torch.as_tensor(args[0], dtype=torch.float64), *args[1:])
        return function(*args, **options)
    return call


def missing_facet(rule: Primitive, framework: str) -> DiffexploreError:
    """The refusal of a primitive that has no facet for ``framework`` and cannot be wrapped."""
    keyword = "jax" if framework == "jax" else "torch"
    how = (f"give it one: dx.define(..., {keyword}=...) or @dx.primitive(..., {keyword}=...)"
           if rule.user_defined else "it has no such facet in the rule table")
    return DiffexploreError(f"the primitive {rule.name!r} has no {framework} form, so this graph cannot be "
                            f"exported to {framework}: {how}")


def signature(names: Sequence[str]) -> inspect.Signature | None:
    """A signature with one parameter per variable (so ``inspect`` and ``dx.from_jax`` see the names);
    None when a name is not an identifier."""
    if not all(name.isidentifier() and not keyword.iskeyword(name) for name in names):
        return None
    kind = inspect.Parameter.POSITIONAL_OR_KEYWORD
    return inspect.Signature([inspect.Parameter(name, kind) for name in names])


def bind_arguments(names: Sequence[str], args: tuple, kwargs: dict, call: str) -> dict[str, Any]:
    """Positional arguments (in the variables' order) and keyword arguments, as values by name."""
    if len(args) > len(names):
        raise DiffexploreError(f"{call} takes {len(names)} argument(s) ({', '.join(names)}), got {len(args)}")
    values = dict(zip(names, args, strict=False))
    for name, value in kwargs.items():
        if name not in names:
            raise DiffexploreError(f"{call}: no variable {name!r} (the variables: {', '.join(names)})")
        if name in values:
            raise DiffexploreError(f"{call}: {name!r} given twice (positionally and by keyword)")
        values[name] = value
    missing = [name for name in names if name not in values]
    if missing:
        raise MissingValueError(f"{call}: no value for variable {missing[0]!r} (the variables: "
                               f"{', '.join(names)})")
    return values


def operations(exported: Exported, framework: str, module: Any, wrap: Callable) -> list[tuple]:
    """The graph's operations as steps ``(slot, function, argument slots, attr or None)``, in evaluation
    order, each function the primitive's facet (or ``wrap(rule)`` for a primitive without one)."""
    p = exported.plan
    functions: dict[Primitive, Callable] = {}
    steps = []
    for slot, node in enumerate(p.order):
        rule = node.rule
        if not node.args:
            continue
        function = functions.get(rule)
        if function is None:
            function = facet_of(rule, framework, module)
            if function is None:
                function = wrap(rule)
            if function is None:
                raise missing_facet(rule, framework)
            functions[rule] = function
        steps.append((slot, function, tuple(p.index[a] for a in node.args),
                      node.attr if rule.has_attr else None))
    return steps
