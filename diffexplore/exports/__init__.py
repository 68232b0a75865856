"""Out: graphs as functions of other frameworks: ``dx.to_jax`` (:mod:`.jax`), ``dx.to_torch`` and
``dx.to_torch_module`` (:mod:`.torch`). These are, with :mod:`diffexplore.imports`, the only modules
that import JAX or PyTorch, and only when an export is asked for: ``import diffexplore`` imports neither.
"""

from __future__ import annotations

from typing import Any

__all__ = ["to_jax", "to_torch", "to_torch_module"]


def to_jax(f: Any, *, guards: str = "refuse", at: Any = None) -> Any:
    """f as a pure JAX function of its variables (keyword, or positional in the order of ``.variables``),
    built from ``jax.numpy``/``jax.lax`` through the rule table's JAX facet: it works under ``jax.jit``,
    ``jax.grad``, ``jax.vmap``, ``jax.jacfwd``/``jacrev`` and with sharded inputs. A graph traced from a
    Python function is refused unless ``guards="ignore"`` (its branch decisions are then listed in the
    function's docstring). JAX's semantics: inf/nan where diffexplore raises DomainError.

    >>> import diffexplore as dx
    >>> f = dx.to_jax("1 + x + exp(sin(x*y))")
    >>> f.variables, round(float(f(x=0.0, y=1.0)), 6)
    (['x', 'y'], 2.0)
    """
    from .jax import to_jax as export
    return export(f, guards=guards, at=at)


def to_torch(f: Any, *, guards: str = "refuse", at: Any = None) -> Any:
    """f as a function of torch tensors (keyword, or positional in the order of ``.variables``), built
    from torch operations through the rule table's PyTorch facet: autograd flows through it, it runs on
    the tensors' device, and ``torch.compile`` accepts it. Guards and domain errors as in :func:`to_jax`.

    >>> import torch
    >>> import diffexplore as dx
    >>> x = torch.tensor(2.0, dtype=torch.float64, requires_grad=True)
    >>> y = dx.to_torch("x*x*x")(x)
    >>> y.backward(); float(x.grad)
    12.0
    """
    from .torch import to_torch as export
    return export(f, guards=guards, at=at)


def to_torch_module(f: Any, parameters: Any, *, initial: Any = None, guards: str = "refuse",
                    at: Any = None) -> Any:
    """f as a ``torch.nn.Module`` whose parameters are the variables named in ``parameters`` (values from
    ``initial``, a mapping by name; zeros where it gives none), and whose ``forward`` takes the other
    variables (keyword, or positional in the order of ``.inputs``): a graph explored in diffexplore,
    trained with a torch optimizer.

    >>> import torch
    >>> import diffexplore as dx
    >>> model = dx.to_torch_module("(w*x - 1)**2", parameters=["w"], initial={"w": 0.5})
    >>> model.inputs, float(model(x=torch.tensor(2.0, dtype=torch.float64)).detach())
    (['x'], 0.0)
    """
    from .torch import to_torch_module as export
    return export(f, parameters, initial=initial, guards=guards, at=at)
