"""Build: what an import from another framework returns, and the names of its variables.

``dx.from_jax`` (:mod:`.jax`) converts a jaxpr and ``dx.from_torch`` (:mod:`.torch`) a torch.fx graph
to diffexplore nodes; both return an :class:`Imported`: the output node(s), the example point (inputs
and parameters by variable name) and each variable's path in the framework (``params['W1']``,
``net.0.weight``). Variable names are identifiers made from those paths (:func:`variable_names`).
The paths are kept beside the graph (:data:`framework_paths`, never on the nodes), so drawings label an
imported leaf with the path its user knows. The framework modules are imported only when an import is
asked for: ``import diffexplore`` never imports JAX or PyTorch.
"""

from __future__ import annotations

import keyword
import re
import weakref
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from ..graph import Node

__all__ = ["Imported", "variable_names", "framework_paths", "framework_path"]

#: variable node -> its path in the framework it was imported from (``params['W1']``).
framework_paths: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


@dataclass
class Imported:
    """A graph imported from a framework's program.

    ``output``: a node, or a tuple of nodes for several outputs; ``point``: the example arguments' and
    the parameters' values by variable name (``dx.grad(g, g.point)`` works at once for a scalar output);
    ``names``: each variable's path in the framework, by variable name; ``source``: "jax" or "torch".
    Everything that takes a graph takes an Imported (its output).
    """

    output: Node | tuple[Node, ...]
    point: dict[str, Any]
    names: dict[str, str]
    source: str
    notes: list[str] = field(default_factory=list)

    def __dx_graph__(self) -> Node:
        """The graph a diffexplore function takes: the output (one output only)."""
        if isinstance(self.output, tuple):
            if len(self.output) == 1:
                return self.output[0]
            raise TypeError(f"this {self.source} import has {len(self.output)} outputs; pick one "
                            "(imported.output[k]) or pass them all to dx.jacobian")
        return self.output

    def __repr__(self) -> str:
        outputs = self.output if isinstance(self.output, tuple) else (self.output,)
        shapes = ", ".join(str(o.shape) for o in outputs)
        return (f"<Imported from {self.source}: {len(outputs)} output(s) of shape {shapes}, "
                f"{len(self.names)} variables ({', '.join(list(self.names)[:4])}"
                f"{', …' if len(self.names) > 4 else ''})>")

    def _repr_html_(self) -> str:
        from ..render.displays import imported_html
        return imported_html(self)


def variable_names(paths: Sequence[str], taken: Sequence[str] = ()) -> list[str]:
    """An identifier for each framework path: non-identifier characters become ``_`` (runs collapsed,
    ends stripped), a leading digit gets the prefix ``v``, a Python keyword or a clash a suffix ``_2``, ...

    >>> variable_names(["params['W1']", "net.0.weight", "0", "x", "x", "lambda"])
    ['params_W1', 'net_0_weight', 'v0', 'x', 'x_2', 'lambda_']
    """
    used = set(taken)
    names = []
    for path in paths:
        base = re.sub(r"\W+", "_", str(path)).strip("_") or "v"
        if base[0].isdigit():
            base = "v" + base
        if keyword.iskeyword(base):
            base += "_"
        name, k = base, 2
        while name in used:
            name, k = f"{base}_{k}", k + 1
        used.add(name)
        names.append(name)
    return names


def framework_path(node: Node) -> str | None:
    """The framework path of an imported variable node, or None."""
    return framework_paths.get(node)


