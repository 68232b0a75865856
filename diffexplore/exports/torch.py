"""Out: a graph as a function of torch tensors (:func:`to_torch`) and as an ``nn.Module``
(:func:`to_torch_module`).

The function runs the graph's operations in evaluation order, each through its primitive's ``torch=``
facet (torch operations), so autograd flows through it, it runs on the device of the tensors it is
given (its constant arrays are made there, in the inputs' floating dtype) and ``torch.compile`` traces
it. It follows PyTorch's semantics: inf/nan where diffexplore's evaluators raise DomainError.

A user primitive without a ``torch=`` facet but with partials is wrapped in a ``torch.autograd.Function``:
its NumPy implementation and its own partials run on the host (tensors copied to the CPU and back), so
it works under autograd on any device, at the cost of those copies and a graph break for
``torch.compile``, and without second derivatives through it.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

import numpy as np
import torch

from ..errors import DiffexploreError
from ..graph import Primitive
from .common import Exported, bind_arguments, operations, prepare, signature

__all__ = ["to_torch", "to_torch_module", "TorchFunction"]


class TorchFunction:
    """f as a function of torch tensors (keyword, or positional in ``.variables`` order).

    >>> import diffexplore as dx
    >>> f = dx.to_torch(dx.parse("x*y + 1"))
    >>> f.variables, float(f(torch.tensor(2.0), torch.tensor(3.0)))
    (['x', 'y'], 7.0)
    """

    def __init__(self, exported: Exported):
        self.exported = exported
        self.variables = list(exported.variables)
        self.guards = list(exported.decisions)
        self._steps = operations(exported, "torch", torch, _wrapped)
        self._constants: dict[tuple, list] = {}
        self.__doc__ = exported.docstring("A PyTorch function: the value")
        self.__name__ = "to_torch"
        self.__signature__ = signature(self.variables)
        self._output = exported.plan.index[exported.f]      # (a slot: nodes are not hashed while running)
        self._variable_slots = [(slot, name) for slot, name, _shape in exported.plan.variables]

    def constants(self, dtype: Any, device: Any) -> list[tuple[int, Any]]:
        """The graph's constants as ``(slot, value)``: tensors of ``dtype`` on ``device`` (made once for
        each; a number is a 0-d tensor, which takes the inputs' dtype in torch's promotion, as a Python
        number would, and lets an operation on constants alone run in ``dtype``)."""
        key = (dtype, str(device))
        found = self._constants.get(key)
        if found is None:
            found = self._constants[key] = [
                (slot, torch.tensor(value, dtype=dtype, device=device))      # a copy: constants are read-only
                for slot, value in self.exported.plan.constants]
        return found

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        given = bind_arguments(self.variables, args, kwargs, "to_torch(f)")
        tensors = [v for v in given.values() if isinstance(v, torch.Tensor)]
        floating = [t for t in tensors if t.is_floating_point()]
        dtype = floating[0].dtype if floating else torch.get_default_dtype()
        device = tensors[0].device if tensors else torch.device("cpu")
        p = self.exported.plan
        values: list[Any] = [None] * len(p.order)
        for slot, value in self.constants(dtype, device):
            values[slot] = value
        for slot, name in self._variable_slots:
            value = given[name]
            values[slot] = value if isinstance(value, torch.Tensor) else torch.as_tensor(
                value, dtype=dtype, device=device)
        for slot, function, arguments, attr in self._steps:
            if attr is None:
                values[slot] = function(*[values[k] for k in arguments])
            else:
                values[slot] = function(*[values[k] for k in arguments], attr=attr)
        return torch.as_tensor(values[self._output], dtype=dtype, device=device)

    def __repr__(self) -> str:
        return f"<to_torch f({', '.join(self.variables)})>"


def to_torch(f: Any, *, guards: str = "refuse", at: Any = None) -> TorchFunction:
    """f (a graph, formula, import, or a Python function traced at ``at``) as a function of tensors."""
    return TorchFunction(prepare(f, guards, "dx.to_torch", at))


def to_torch_module(f: Any, parameters: Sequence[str], *, initial: Mapping[str, Any] | None = None,
                    guards: str = "refuse", at: Any = None) -> torch.nn.Module:
    """f as an ``nn.Module``: the variables named in ``parameters`` are its parameters (float64, from
    ``initial`` or zeros), the others the arguments of ``forward``."""
    function = TorchFunction(prepare(f, guards, "dx.to_torch_module", at))
    if isinstance(parameters, str):
        parameters = parameters.replace(",", " ").split()
    unknown = [name for name in parameters if name not in function.variables]
    if unknown:
        raise DiffexploreError(f"dx.to_torch_module: {unknown[0]!r} is not a variable of f (its variables: "
                               f"{', '.join(function.variables)})")
    initial = dict(initial or {})
    extra = [name for name in initial if name not in parameters]
    if extra:
        raise DiffexploreError(f"dx.to_torch_module: initial value for {extra[0]!r}, which is not one of the "
                               f"parameters ({', '.join(parameters)})")
    return GraphModule(function, list(parameters), initial)


class GraphModule(torch.nn.Module):
    """A diffexplore graph as a module: parameters by variable name, ``forward`` of the other variables."""

    def __init__(self, function: TorchFunction, parameters: list[str], initial: dict[str, Any]):
        super().__init__()
        self.function = function
        shapes = function.exported.shapes
        self.params = torch.nn.ParameterDict({
            name: torch.nn.Parameter(torch.as_tensor(np.asarray(initial[name], dtype=np.float64)).clone()
                                     if name in initial else torch.zeros(shapes[name], dtype=torch.float64))
            for name in parameters})
        for name in parameters:
            if tuple(self.params[name].shape) != tuple(shapes[name]):
                raise DiffexploreError(f"dx.to_torch_module: the initial value of {name!r} has shape "
                                       f"{tuple(self.params[name].shape)}; the variable has shape "
                                       f"{shapes[name]}")
        self.inputs = [name for name in function.variables if name not in parameters]
        self.__doc__ = function.exported.docstring("A PyTorch module: the value")

    def forward(self, *args: Any, **kwargs: Any) -> torch.Tensor:
        given = bind_arguments(self.inputs, args, kwargs, "the module's forward")
        return self.function(**given, **dict(self.params.items()))


def _wrapped(rule: Primitive) -> Callable | None:
    """A user primitive with partials as a ``torch.autograd.Function`` running its NumPy implementation
    and its own partials on the host. None for anything else."""
    if not rule.user_defined or rule.partials is None or rule.has_attr or not rule.elementwise:
        return None

    def host(value: Any) -> np.ndarray:
        return value.detach().cpu().numpy() if isinstance(value, torch.Tensor) else np.asarray(value)

    def like(array: Any, reference: torch.Tensor) -> torch.Tensor:
        return torch.as_tensor(np.asarray(array), dtype=reference.dtype, device=reference.device)

    class Wrapped(torch.autograd.Function):
        @staticmethod
        def forward(ctx, *args):
            arrays = [host(a) for a in args]
            out = like(rule.impl(*arrays), args[0])
            ctx.save_for_backward(*args, out)
            return out

        @staticmethod
        def backward(ctx, g):
            *args, out = ctx.saved_tensors
            arrays, out_array = [host(a) for a in args], host(out)
            cotangents = []
            for k, partial in enumerate(rule.partials):
                if partial is None or not ctx.needs_input_grad[k]:
                    cotangents.append(None)
                    continue
                local = like(np.broadcast_to(partial(*arrays, out_array), out.shape), g)
                cotangents.append(_sum_to(g * local, tuple(args[k].shape)))
            return tuple(cotangents)

    def call(*args):
        reference = next((a for a in args if isinstance(a, torch.Tensor)), None)
        tensors = [a if isinstance(a, torch.Tensor) else torch.as_tensor(
            a, dtype=reference.dtype if reference is not None else torch.float64,
            device=reference.device if reference is not None else "cpu") for a in args]
        return Wrapped.apply(*tensors)
    Wrapped.__name__ = f"Wrapped_{rule.name}"
    return call


def _sum_to(a: torch.Tensor, shape: tuple) -> torch.Tensor:
    lead = a.dim() - len(shape)
    if lead > 0:
        a = a.sum(dim=tuple(range(lead)))
    axes = tuple(i for i, n in enumerate(shape) if n == 1 and a.shape[i] != 1)
    if axes:
        a = a.sum(dim=axes, keepdim=True)
    return a.reshape(shape)
