"""Show: Graphviz views of a graph side by side (original | symbolic derivative | adjoints | tangents).

:func:`render` returns a :class:`Drawing` (a :class:`graphviz.Digraph`) that displays itself in
Jupyter; :func:`to_dot` gives its deterministic DOT text; :func:`write_drawing` saves SVG, PNG, PDF or
DOT text, by extension.
The flow inside: ``compose`` runs the evaluators a view needs, ``views`` arranges their results as boxes
and arrows, ``summary`` stands in for views too large to draw, ``dot`` writes the DOT text and
``display`` shows or saves it.

>>> import diffexplore as dx
>>> d = dx.render("1 + x + exp(sin(x*y))", at={"x": 1.0, "y": 2.0}, wrt="x")
>>> [line.split()[1] for line in d.source.splitlines() if "subgraph" in line]
['cluster_original', 'cluster_symbolic', 'cluster_adjoint']
"""

from .compose import DEFAULT_MAX_NODES, DERIVATIVES, VIEWS, render, to_dot
from .display import Drawing, write_drawing
from .labels import format_value, short_name

__all__ = ["render", "to_dot", "write_drawing", "Drawing", "VIEWS", "DERIVATIVES", "DEFAULT_MAX_NODES",
           "format_value", "short_name"]
