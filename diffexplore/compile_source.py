"""Out: a compiled program as the text of a Python module (``dx.compile(f).source``).

The module has two functions, ``value(x, y, ...)`` and ``gradient(x, y, ...)`` (a dict by variable
name), whose parameters are f's variables in order of first appearance (keyword or positional), written
from the same lines the compiled program runs: one line per node of f, shared subexpressions once, then
the reverse sweep, and a comment with the formula of each output. With the NumPy backend it imports only
NumPy (and ``math`` where a primitive needs it) and defines what else it calls itself: the primitives
that are not one NumPy ufunc (:mod:`.compile_kernels`), the settings of operations (``Settings``) and the
constant arrays; it runs with ``exec`` in an empty namespace and as a file. With the JAX and torch
backends its functions come from the rule table's facets (``diffexplore.exports.common.facet_function``).
A long program's functions are a main function calling parts (as the compiled program is split).
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable
from typing import Any

import numpy as np

from .compile_chunks import Layout
from .compile_kernels import kernel_source
from .errors import DiffexploreError
from .graph import ArrayValue, Primitive

__all__ = ["module_source", "literal"]

_SETTINGS = '''class Settings:
    """An operation's settings (axes, shapes, strides...), read as attributes."""

    def __init__(self, **fields):
        self.__dict__.update(fields)
'''
_HEADERS = {
    "numpy": "import numpy as np\n",
    "jax": "import numpy as np\nimport jax\nfrom diffexplore.exports.common import facet_function\n",
    "torch": "import numpy as np\nimport torch\nfrom diffexplore.exports.common import facet_function\n",
}
_OWN_NAMES = {"np", "math", "jax", "torch", "Settings", "windows", "pool_positions", "facet_function",
              "value", "gradient"}


def module_source(layout: Callable[[str], Layout], rules: dict[str, Primitive], namespace: dict[str, Any],
                  variables: list[str], formula_text: str, backend: str = "numpy") -> str:
    """The module's text: header, what its lines call (functions, settings, constants), then ``value``
    and ``gradient`` (``layout(kind)`` gives each one's lines).

    >>> import diffexplore as dx
    >>> c = dx.compile("x*y + 1")
    >>> namespace = {}
    >>> exec(c.source, namespace)
    >>> namespace["value"](2.0, 3.0), namespace["gradient"](y=3.0, x=2.0)
    (7.0, {'x': 3.0, 'y': 2.0})
    """
    clash = sorted(set(variables) & (_OWN_NAMES | set(namespace)))
    if clash:
        raise DiffexploreError(f"the variable {clash[0]!r} has the name of something the module defines; "
                               "rename it to write the module")
    bad = [name for name in variables if not name.isidentifier()]
    if bad:
        raise DiffexploreError(f"the variable {bad[0]!r} is not a Python identifier, so it cannot be a "
                               "parameter of the module's functions")
    definitions, needs_math = _definitions(rules, namespace, backend)
    header = _HEADERS[backend]
    if needs_math:
        header = "import math\n\n" + header
    docstring = (f'"""The value and gradient of f, written by diffexplore.compile (backend {backend!r}).\n\n'
                 f"f = {formula_text}\n\n"
                 f"value({', '.join(variables)}) is f; gradient({', '.join(variables)}) is a dict by "
                 "variable name.\nArguments are numbers or arrays (many points at once), by keyword or in "
                 "this order. A value outside\nan operation's domain gives inf or nan (diffexplore's own "
                 'evaluators raise DomainError).\n"""\n')
    parts: dict[str, str] = {}
    functions = [_function(layout(kind), kind, variables, formula_text, parts)
                 for kind in ("value", "gradient")]
    sections = [docstring + "\n" + header, *definitions, *functions, *_named_parts(parts).values()]
    return "\n\n".join(section.rstrip("\n") + "\n" for section in sections if section)


def _definitions(rules: dict[str, Primitive], namespace: dict[str, Any],
                 backend: str) -> tuple[list[str], bool]:
    """The module's definitions of the functions its lines call and of its named constants."""
    written: dict[str, str] = {}
    needs_math = False
    aliases = []
    for name in namespace:
        if name == "np" or name not in rules:
            continue
        rule = rules[name]
        if backend != "numpy":
            aliases.append(f"{name} = facet_function({rule.name!r}, {backend!r})")
            continue
        found = kernel_source(rule.name)
        if found is not None:
            sources, uses_math = found
            needs_math = needs_math or uses_math
            for helper, source in sources:
                if helper == rule.name and name != rule.name:
                    source = source.replace(f"def {rule.name}(", f"def {name}(", 1)
                    helper = name
                written.setdefault(helper, source)
        elif _ufunc(rule) is not None:
            aliases.append(f"{name} = np.{_ufunc(rule)}")
        else:
            raise DiffexploreError(f"the primitive {rule.name!r} has no NumPy form a module can define: "
                                   "give it a NumPy ufunc (numpy=np....) to write f as a standalone module, "
                                   "or use the compiled program itself (c(at), c.gradient(at))")
    constants = []
    settings = False
    for name, value in namespace.items():
        if name == "np" or name in rules:
            continue
        text = literal(value)
        settings = settings or "Settings(" in text
        if backend == "torch" and isinstance(value, np.ndarray):
            text = f"torch.as_tensor({text})"
        constants.append(f"{name} = {text}")
    sections = ([_SETTINGS] if settings else []) + list(written.values())
    if aliases:
        sections.insert(0, "\n".join(aliases))
    if constants:
        sections.append("\n".join(constants))
    return sections, needs_math


def _ufunc(rule: Primitive) -> str | None:
    """The name in NumPy of the ufunc that is the primitive (its NumPy facet or its implementation)."""
    for candidate in (rule.numpy, rule.impl):
        if isinstance(candidate, np.ufunc) and getattr(np, candidate.__name__, None) is candidate:
            return candidate.__name__
    return None


def _function(layout: Layout, kind: str, variables: list[str], formula_text: str,
              parts: dict[str, str]) -> str:
    """One function of the module (``value`` or ``gradient``), with the parts it calls added to
    ``parts`` (by name, each source once)."""
    signature = f"def {kind}({', '.join(variables)}):"
    by = ", ".join(f"df/d{name}" for name, _expression in layout.gradient)
    comment = f"    # {'f' if kind == 'value' else by + ' of f'} = {formula_text}"
    if layout.parts == 1:
        text = layout.single()[0]
        for name in variables:
            text = text.replace(f"at[{name!r}]", name)
        return text.replace(f"def {kind}(at):", signature + "\n" + comment, 1)
    names = []
    for k in range(layout.parts):
        source, _numbers, loaded, filled = layout.part(k)
        name = next((n for n, s in parts.items() if s == source), None) or f"part_{len(parts) + 1}"
        parts.setdefault(name, source)
        names.append((name, loaded, filled))
    lines = [signature, comment, f"    s = [None] * {len(layout.slots)}"]
    inputs = layout.input_names()
    if inputs:
        lines.append(f"    s[0:{len(inputs)}] = {', '.join(inputs)},")
    for name, loaded, filled in names:
        arguments = "".join(f"s[{k}], " for k in loaded)
        lines.append(f"    s[{filled.start}:{filled.stop}] = {name}(({arguments.rstrip(' ')}))")
    value, gradient = layout.results()

    def where(found: tuple) -> str:
        how, what = found
        return f"s[{what}]" if how == "slot" else literal(what)
    listed = "{" + ", ".join(f"{name!r}: {where(found)}" for name, found in gradient) + "}"
    lines.append(f"    return {where(value) if kind == 'value' else listed}")
    return "\n".join(lines) + "\n"


def _named_parts(parts: dict[str, str]) -> dict[str, str]:
    """Each part's source with its function named as the main functions call it."""
    return {name: source.replace("def part(", f"def {name}(", 1) for name, source in parts.items()}


def literal(value: Any) -> str:
    """Python text that makes ``value`` in a module that imported NumPy as ``np`` (and defines
    ``Settings``): numbers, arrays, tuples, slices, indexes and operations' settings.

    >>> literal(np.array([[1.0, float("inf")], [0.5, -2.0]]))
    "np.array([[1.0, np.inf], [0.5, -2.0]], dtype='float64')"
    >>> literal((slice(1, None, None), Ellipsis, None))
    '(slice(1, None, None), Ellipsis, None)'
    """
    from .arrays.core import Index
    if isinstance(value, bool) or value is None or value is Ellipsis or isinstance(value, (int, str)):
        return repr(value)
    if isinstance(value, float):
        if math.isfinite(value):
            return repr(value)
        return "np.nan" if value != value else ("np.inf" if value > 0 else "-np.inf")
    if isinstance(value, complex):
        return f"complex({literal(value.real)}, {literal(value.imag)})"
    if isinstance(value, np.generic):
        return literal(value.item())
    if isinstance(value, np.ndarray):
        text = re.sub(r"\b(inf|nan)\b", r"np.\1", repr(value.tolist()))
        return f"np.array({text}, dtype={value.dtype.name!r})"
    if isinstance(value, ArrayValue):
        return literal(value.array)
    if isinstance(value, slice):
        return f"slice({literal(value.start)}, {literal(value.stop)}, {literal(value.step)})"
    if isinstance(value, Index):
        return f"Settings(numpy={literal(value.numpy)}, advanced={value.advanced!r})"
    if isinstance(value, tuple) and hasattr(value, "_fields"):
        fields = ", ".join(f"{field}={literal(v)}" for field, v in zip(value._fields, value, strict=True))
        return f"Settings({fields})"
    if isinstance(value, tuple):
        inner = ", ".join(literal(v) for v in value)
        return f"({inner},)" if len(value) == 1 else f"({inner})"
    if isinstance(value, list):
        return "[" + ", ".join(literal(v) for v in value) + "]"
    raise DiffexploreError(f"a constant of type {type(value).__name__} cannot be written into a module")
