"""Transform: the bridge to SymPy, the only module that imports it.

:func:`to_sympy` walks the DAG once (a memo keeps sharing, so it is linear in the number of DAG nodes);
:func:`from_sympy` maps SymPy's functions back through the rule table (each primitive's ``sympy``
facet, read both ways); :func:`simplify`, :func:`cse_form` and :func:`latex` give the human-readable
face of a derivative. SymPy steps that can run for a long time go through :func:`run_with_timeout`,
which runs them in a forked process and stops it when the budget is spent, so the caller always gets
an answer promptly.
"""

from __future__ import annotations

import math
import multiprocessing
import time
from collections.abc import Callable
from typing import Any

import sympy as sp

from .errors import DiffexploreError, SympyTimeout
from .graph import PRIMITIVES, Node, Primitive, apply, constant, nodes, variable
from .rules import facet_index

__all__ = ["to_sympy", "from_sympy", "simplify", "cse_form", "latex", "run_with_timeout", "symbol"]


def symbol(name: str) -> sp.Symbol:
    """The SymPy symbol of a diffexplore variable (real, as the evaluators assume)."""
    return sp.Symbol(name, real=True)


def _sympy_number(value: Any) -> sp.Expr:
    if isinstance(value, complex):
        return sp.Float(value.real) + sp.I * sp.Float(value.imag)
    if float(value).is_integer() and abs(value) < 2 ** 53:
        return sp.Integer(int(value))
    if value == math.pi:
        return sp.pi
    return sp.Float(value)


def to_sympy(node: Node) -> sp.Expr:
    """The SymPy expression of a graph, built in one pass over the DAG (shared nodes converted once).

    >>> import diffexplore as dx
    >>> dx.to_sympy(dx.parse("1 + x + exp(sin(x*y))"))
    x + exp(sin(x*y)) + 1
    """
    memo: dict[Node, sp.Expr] = {}
    for n in nodes(node):
        rule = n.rule
        if rule.name == "var":
            if n.shape:
                raise DiffexploreError(
                    f"to_sympy handles scalar graphs; variable {n.name!r} has shape {n.shape}")
            memo[n] = symbol(n.name)
        elif rule.name == "const":
            if n.shape:
                raise DiffexploreError("to_sympy handles scalar graphs; this graph has an array constant")
            memo[n] = _sympy_number(n.attr)
        else:
            args = [memo[a] for a in n.args]
            mapping = rule.sympy
            if mapping is None:
                memo[n] = sp.Function(rule.name)(*args)
            elif isinstance(mapping, str):
                memo[n] = getattr(sp, mapping)(*args)
            elif rule.has_attr:
                memo[n] = mapping(sp, *args, attr=n.attr)
            else:
                memo[n] = mapping(sp, *args)
    return memo[node]


#: SymPy structures that :func:`_convert` maps by their shape, not through the table (a sum is a chain of
#: additions, ``x**(1/2)`` a square root, ``Max(a, b, c)`` nested maxima).
_STRUCTURAL = ("Add", "Mul", "Pow", "Heaviside", "Max", "Min")

def _functions() -> dict[Any, Primitive]:
    """SymPy function classes -> primitives, from the records' ``sympy`` facets.

    A name (``"sin"``) is ``getattr(sympy, name)``; a callable mapping counts when it sends the
    primitive's arguments to one SymPy function of exactly those arguments (``lambda sp, a: sp.asinh(a)``);
    others (``1 / (1 + exp(-a))``) go one way only. The first primitive defined keeps a function two of
    them name.

    >>> _functions()[sp.sin]
    <primitive sin/1>
    """
    return facet_index(_table_function)


def _table_function(rule: Primitive) -> Any:
    """The SymPy function a primitive stands for in the table (structures excepted), or None."""
    function = _sympy_function(rule)
    return function if function is not None and function.__name__ not in _STRUCTURAL else None


def _sympy_function(rule: Primitive) -> Any:
    """The SymPy function class a primitive maps to one-to-one, or None."""
    mapping = rule.sympy
    if mapping is None or rule.has_attr or rule.arity == 0:
        return None
    if isinstance(mapping, str):
        function = getattr(sp, mapping, None)
        return function if isinstance(function, type) and issubclass(function, sp.Basic) else None
    arguments = tuple(sp.Dummy(real=True) for _ in range(rule.arity))
    try:
        image = mapping(sp, *arguments)
    except Exception:           # a mapping that needs more than symbols: one way only
        return None
    if isinstance(image, sp.Function) and image.args == arguments:
        return image.func
    return None


def from_sympy(expr: Any) -> Node:
    """A graph from a SymPy expression, for every function in the rule table.

    Sums and products become left-nested chains, ``x**(1/2)`` becomes ``sqrt(x)``, ``x**-1`` becomes
    ``1/x`` and ``-1*x`` becomes ``-x``. Anything else is an error naming the function.

    >>> import sympy as sp
    >>> import diffexplore as dx
    >>> x = sp.Symbol("x")
    >>> str(dx.from_sympy(sp.sin(x) ** 2 + 1))
    '1 + sin(x)**2'
    """
    from . import rules
    expr = sp.sympify(expr)
    functions = _functions()
    built: dict[sp.Basic, Node] = {}
    stack = [(expr, False)]
    while stack:
        e, expanded = stack.pop()
        if e in built:
            continue
        if not expanded and e.args and not e.is_Number:
            stack.append((e, True))
            stack.extend((a, False) for a in reversed(e.args) if a not in built)
            continue
        built[e] = _convert(e, [built[a] for a in e.args] if e.args and not e.is_Number else [],
                            functions, rules)
    return built[expr]


def _convert(e: sp.Basic, args: list, functions: dict[Any, Primitive], rules) -> Node:
    if e.is_Symbol:
        return variable(e.name)
    if e is sp.pi:
        return constant(math.pi)
    if e is sp.E:
        return rules.exp(constant(1.0))
    if e.is_Number:
        if e.is_real:
            return constant(float(e))
        return constant(complex(e))
    if e.is_Add:
        return _chain(args, "add")
    if e.is_Mul:
        if args and args[0].is_constant and args[0].attr == -1.0 and len(args) > 1:
            return -_chain(args[1:], "mul")
        return _chain(args, "mul")
    if e.is_Pow:
        base, exponent = args
        if e.exp == sp.Rational(1, 2):
            return rules.sqrt(base)
        if e.exp == -1:
            return 1.0 / base
        return base ** exponent
    if isinstance(e, sp.Heaviside):
        return rules.step(args[0])
    if isinstance(e, (sp.Max, sp.Min)):
        combine = rules.maximum if isinstance(e, sp.Max) else rules.minimum
        out = args[0]
        for a in args[1:]:
            out = combine(out, a)
        return out
    rule = functions.get(e.func)
    if rule is not None:
        return apply(rule, *args)
    if (isinstance(e, sp.Function) and e.func.__name__ in PRIMITIVES
            and (isinstance(e, sp.core.function.AppliedUndef) or PRIMITIVES[e.func.__name__].user_defined)):
        return apply(PRIMITIVES[e.func.__name__], *args)
    name = getattr(e.func, "__name__", type(e).__name__)
    known = ", ".join([*_STRUCTURAL, *(f.__name__ for f in functions), "numbers", "symbols"])
    raise DiffexploreError(f"from_sympy: no rule for the SymPy function {name!r} (in {e}); known: {known}")


def _chain(args: list[Node], op: str) -> Node:
    out = args[0]
    for a in args[1:]:
        out = out + a if op == "add" else out * a
    return out


# ---- time budgets ------------------------------------------------------------------------------------


def _child(conn, fn, args):
    try:
        conn.send(("ok", fn(*args)))
    except BaseException as exc:   # report every failure to the parent, then exit
        conn.send(("error", f"{type(exc).__name__}: {exc}"))
    finally:
        conn.close()


def run_with_timeout(fn: Callable, args: tuple, timeout: float | None) -> tuple[Any, float]:
    """Run ``fn(*args)`` in a forked process and return (result, seconds); raise :class:`SympyTimeout`
    when ``timeout`` seconds pass first (the process is stopped, so the caller returns promptly).
    ``timeout=None`` runs it here, without a budget."""
    start = time.perf_counter()
    if timeout is None:
        return fn(*args), time.perf_counter() - start
    ctx = multiprocessing.get_context("fork")
    parent, child = ctx.Pipe(duplex=False)
    proc = ctx.Process(target=_child, args=(child, fn, args), daemon=True)
    proc.start()
    child.close()
    try:
        if not parent.poll(timeout):
            raise SympyTimeout(f"SymPy step {getattr(fn, '__name__', 'step')} ran past its budget of "
                               f"{timeout:g} s and was stopped")
        status, payload = parent.recv()
    except EOFError:
        raise DiffexploreError("the SymPy step's process ended without an answer") from None
    finally:
        if proc.is_alive():
            proc.kill()
        proc.join()
        parent.close()
    if status == "error":
        raise DiffexploreError(f"SymPy failed: {payload}")
    return payload, time.perf_counter() - start


def _derivatives(node: Node, names: list[str]) -> tuple[list, float]:
    expression = to_sympy(node)
    start = time.perf_counter()
    derivatives = [sp.diff(expression, symbol(n)) for n in names]
    return derivatives, time.perf_counter() - start


def sympy_diff_size(node: Node, names: list[str]) -> tuple[int, float]:
    """(the summed ``count_ops`` of SymPy's derivatives by ``names``, seconds the ``diff`` calls took)."""
    derivatives, seconds = _derivatives(node, names)
    return sum(int(sp.count_ops(d)) for d in derivatives), seconds


def sympy_cse_size(node: Node, names: list[str]) -> tuple[int, float]:
    """(``count_ops`` of ``sympy.cse`` of those derivatives, replacements plus reduced; seconds of cse)."""
    derivatives, _ = _derivatives(node, names)
    start = time.perf_counter()
    replacements, reduced = sp.cse(derivatives)
    seconds = time.perf_counter() - start
    return sum(int(sp.count_ops(e)) for e in [e for _, e in replacements] + list(reduced)), seconds


def _simplify_expr(expr):
    return sp.simplify(expr)


def simplify(node: Node, timeout: float | None = 10.0) -> Node:
    """The graph of SymPy's simplified form (within ``timeout`` seconds, else :class:`SympyTimeout`).

    >>> import diffexplore as dx
    >>> str(dx.simplify(dx.parse("sin(x)**2 + cos(x)**2")))
    '1'
    """
    result, _seconds = run_with_timeout(_simplify_expr, (to_sympy(node),), timeout)
    return from_sympy(result)


def cse_form(node: Node) -> str:
    """A readable form that keeps sharing: SymPy's common subexpressions, one per line, then the result.

    >>> import diffexplore as dx
    >>> print(dx.cse_form(dx.diff(dx.parse("exp(sin(x*y))"), "x")))
    x0 = x*y
    x1 = y*exp(sin(x0))*cos(x0)
    """
    replacements, reduced = sp.cse(to_sympy(node))
    lines = [f"{s} = {e}" for s, e in replacements]
    lines += [f"x{len(replacements)} = {r}" if replacements else str(r) for r in reduced]
    return "\n".join(lines)


def latex(node: Node) -> str:
    """The LaTeX of a graph's expression (through SymPy).

    >>> import diffexplore as dx
    >>> dx.latex(dx.parse("exp(sin(x*y))"))
    'e^{\\\\sin{\\\\left(x y \\\\right)}}'
    """
    return sp.latex(to_sympy(node))
