"""Build: whatever a user hands to an entry point, as a graph to work on.

Every function that takes a graph (``grad``, ``jacobian``, ``hessian``, ``render``, ``explore``,
``swell``, ``trace_table``, ``step_sweep``, ``compile``) also takes a formula string, a
:class:`~diffexplore.imports.Imported` (its output) and a plain Python function of named arguments.
A Python function is traced at the point the call is given (:func:`diffexplore.trace`), so its branch
decisions are recorded and re-checked wherever the graph is evaluated; without a point it is refused
with an error naming ``at=`` (``--at`` on the command line). An error of the trace (a missing
argument; a JAX or PyTorch operation that rejects a tracer, for which :func:`diffexplore.trace` names
the call and the route that works, ``dx.from_jax`` / ``dx.from_torch``) is prefixed with the entry point
that traced.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable, Mapping
from typing import Any

from .errors import DiffexploreError
from .graph import Node
from .inputs import as_graph
from .trace import trace

__all__ = ["graph_of", "outputs_of", "trace_at"]


def _function_name(f: Callable) -> str:
    return getattr(f, "__name__", None) or type(f).__name__


def _prefix(call: str | None, f: Any) -> str:
    return f"dx.{call}({_function_name(f)}): " if call else ""


def graph_of(f: Any, at: Mapping[str, Any] | None, call: str | None = None) -> Node:
    """The graph of what the user gave: a node as it is, a formula string parsed, an import its output,
    or a Python function of named arguments traced at ``at`` (its branches recorded and re-checked
    wherever the graph is evaluated). ``call`` names the entry point in error messages.

    >>> import diffexplore as dx
    >>> print(graph_of(lambda x, y: x * y if x < y else x + y, {"x": 1.0, "y": 2.0}))
    x*y
    >>> graph_of(lambda x: 2 * x, None, call="render")    # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    diffexplore.errors.DiffexploreError: dx.render(<lambda>): <lambda>() is a Python function: ...at=...
    """
    if isinstance(f, Node):
        return f
    if callable(f) and not hasattr(f, "__dx_graph__"):
        if at is None:
            name = _function_name(f)
            raise DiffexploreError(f"{_prefix(call, f)}{name}() is a Python function: it is traced at a "
                                   "point, so give at={...}, e.g. at={'x': 1.0} (command line: --at x=1,y=2)")
        return trace_at(f, at, call)
    return as_graph(f)


def outputs_of(f: Any, at: Mapping[str, Any] | None, call: str | None = None) -> list[Node]:
    """The output graphs of what the user gave: each entry of a list or tuple (see :func:`graph_of`; a
    Python function among them is traced at the values of its own parameters), every output of an
    import with several, or the one graph of anything else.

    >>> import diffexplore as dx
    >>> [str(o) for o in outputs_of(["x*y", lambda x: x + 1], {"x": 2.0, "y": 3.0})]
    ['x*y', 'x + 1']
    """
    if isinstance(f, (list, tuple)):
        return [graph_of(entry, _own_values(entry, at), call) for entry in f]
    output = getattr(f, "output", None)
    if hasattr(f, "__dx_graph__") and isinstance(output, tuple):
        return list(output)
    return [graph_of(f, at, call)]


def _own_values(f: Any, at: Mapping[str, Any] | None) -> Mapping[str, Any] | None:
    """The values of ``at`` that the Python function ``f`` takes (all of them if it takes ``**kwargs``
    or has no signature); ``at`` itself for anything else."""
    if at is None or not callable(f) or isinstance(f, Node) or hasattr(f, "__dx_graph__"):
        return at
    try:
        parameters = inspect.signature(f).parameters.values()
    except (TypeError, ValueError):
        return at
    if any(p.kind is p.VAR_KEYWORD for p in parameters):
        return at
    named = {p.name for p in parameters if p.kind is not p.VAR_POSITIONAL}
    return {name: value for name, value in at.items() if name in named}


def trace_at(f: Callable, at: Mapping[str, Any], call: str | None = None) -> Node:
    """``dx.trace(f, at)``; an error of the trace (a missing argument, an operation of another framework
    that rejects a tracer) is prefixed with the entry point that asked for it.

    >>> import diffexplore as dx
    >>> print(trace_at(lambda x: dx.sin(x) * x, {"x": 1.0}))
    sin(x)*x
    """
    try:
        return trace(f, at)
    except DiffexploreError as exc:
        if not call:
            raise
        raise type(exc)(f"{_prefix(call, f)}{exc}") from exc
