"""Build: graphs imported from other frameworks' programs.

``dx.from_jax`` (:mod:`.jax`) converts a jaxpr and ``dx.from_torch`` (:mod:`.torch`) a torch.fx graph
to diffexplore nodes; both return an :class:`~.imported.Imported` (the output node(s), the example
point and each variable's path in the framework). The converters, and the frameworks, are imported only
when an import is asked for: ``import diffexplore`` never imports JAX or PyTorch.
"""

from __future__ import annotations

from typing import Any

from .imported import Imported, framework_path, framework_paths, variable_names

__all__ = ["Imported", "variable_names", "framework_paths", "framework_path", "from_jax", "from_torch"]


def from_jax(fn: Any, *args: Any, **kwargs: Any) -> Imported:
    """A JAX function's graph at example arguments, through its jaxpr (see :mod:`diffexplore.imports.jax`;
    needs the ``jax`` extra)."""
    from .jax import from_jax as convert
    return convert(fn, *args, **kwargs)


def from_torch(fn_or_module: Any, *args: Any, **kwargs: Any) -> Imported:
    """A PyTorch function's or module's graph at example arguments, through torch.fx (see
    :mod:`diffexplore.imports.torch`; needs the ``torch`` extra)."""
    from .torch import from_torch as convert
    return convert(fn_or_module, *args, **kwargs)
