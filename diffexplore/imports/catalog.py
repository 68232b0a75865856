"""Show: the operations each route into diffexplore takes, generated from the tables that convert them.

The NumPy tracer's table (the rule table's NumPy facets and :data:`diffexplore.numpy_lowering.LOWERINGS`),
the jaxpr converter's (:func:`diffexplore.imports.jax.supported_primitives`) and the torch.fx
converter's (:func:`diffexplore.imports.torch.supported_operations`), written as the README's list; a test
holds the README equal to :func:`markdown`. Importing this module imports JAX and PyTorch.
"""

from __future__ import annotations

from ..graph import PRIMITIVES
from ..numpy_lowering import LOWERINGS, numpy_name

__all__ = ["numpy_operations", "markdown"]


def numpy_operations() -> list[str]:
    """The NumPy functions a traced program may call: the rule table's NumPy facets and the lowerings.

    >>> "np.einsum" in numpy_operations() and "np.sin" in numpy_operations()
    True
    """
    names = {numpy_name(rule.numpy) for rule in PRIMITIVES.values() if rule.numpy is not None}
    names |= {numpy_name(function) for function in LOWERINGS}
    return sorted(names)


def markdown() -> str:
    """The README's list of supported operations, one bullet per route."""
    from .jax import supported_primitives
    from .torch import supported_operations

    torch_operations = supported_operations()
    lines = [
        f"- **NumPy** (`dx.trace`): {', '.join(f'`{n}`' for n in numpy_operations())}; the operators "
        "`+ - * / ** @`, comparisons, indexing and slicing, and the methods `.sum() .mean() .max() .min() "
        ".prod() .T .reshape() .transpose()`.",
        "- **JAX** (`dx.from_jax`, jaxpr primitives): "
        f"{', '.join(f'`{n}`' for n in supported_primitives())}.",
    ]
    for kind in ("modules", "functions", "methods", "operators"):
        names = torch_operations.get(kind, [])
        lines.append(f"- **PyTorch** (`dx.from_torch`) {kind}: {', '.join(f'`{n}`' for n in names)}.")
    return "\n".join(lines)
