"""Transform: the bridge to SymPy, the only module that imports it.

:func:`to_sympy` walks the DAG once (a memo keeps sharing, so it is linear in the number of DAG nodes);
:func:`from_sympy` maps SymPy's functions back through the rule table (each primitive's ``sympy``
facet, read both ways); :func:`simplify`, :func:`cse_form` and :func:`latex` give the human-readable
face of a derivative. SymPy steps that can run for a long time go through :func:`run_with_timeout`,
which runs them in a forked process and stops it when the budget is spent, so the caller always gets
an answer promptly; :func:`simplify` converts to SymPy and back inside that process, so its budget
covers the whole call.

SymPy's own algorithms (construction, printing, simplification) recurse once or more per level of an
expression. They run in a thread with a large stack and a raised recursion limit (:func:`deep_call`),
and the in-process calls refuse graphs deeper than :data:`SYMPY_MAX_DEPTH` levels up front (SymPy's
time grows about quadratically with depth; a 2,000-level chain takes it minutes).
"""

from __future__ import annotations

import math
import multiprocessing
import sys
import threading
import time
from collections.abc import Callable
from typing import Any

import numpy as np

from .errors import DiffexploreError, SympyTimeout
from .graph import PRIMITIVES, Node, Primitive, apply, constant, nodes, size, variable
from .rules import facet_index

__all__ = ["to_sympy", "from_sympy", "simplify", "cse_form", "latex", "run_with_timeout", "symbol",
           "deep_call", "SYMPY_MAX_DEPTH", "LATEX_MAX_TREE"]

class _LazySympy:
    """SymPy, imported on first use: ``import diffexplore`` stays light (SymPy's import takes about half a
    second and adds some 45,000 objects that Python's cyclic garbage collector then scans again and again
    while a graph is built)."""

    def __getattr__(self, name: str) -> Any:
        import sympy
        globals()["sp"] = sympy
        return getattr(sympy, name)


sp: Any = _LazySympy()

#: The deepest graph (levels from a leaf to the root) converted to SymPy in this process.
SYMPY_MAX_DEPTH = 500
#: The largest expression (nodes written out as a tree, after SymPy's own evaluation) printed as LaTeX.
LATEX_MAX_TREE = 100_000


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

    A graph deeper than :data:`SYMPY_MAX_DEPTH` levels is refused with an error naming its size.

    >>> import diffexplore as dx
    >>> dx.to_sympy(dx.parse("1 + x + exp(sin(x*y))"))
    x + exp(sin(x*y)) + 1
    """
    check_depth(node, "to_sympy")
    if any(n.shape for n in nodes(node)):
        return deep_call(_array_expression, (node,))
    return deep_call(_sympy_expression, (node,))


#: The array primitives :func:`to_sympy` writes element by element: their NumPy implementations only move,
#: add and multiply entries, so they run on arrays of SymPy expressions as they are.
ELEMENTWISE_ARRAY_RULES = frozenset({"matmul", "transpose", "reshape", "sum", "mean", "take", "concatenate",
                                     "sum_to", "broadcast_to", "dropout"})


def _array_expression(node: Node) -> Any:
    """The SymPy form of a graph with arrays, element by element: a 2-D variable is a ``MatrixSymbol``
    (its entries ``W[i, j]``), another array variable an ``IndexedBase``; elementwise primitives apply
    to every entry, and the array primitives that only move, add and multiply entries
    (:data:`ELEMENTWISE_ARRAY_RULES`) run their NumPy implementation on the arrays of expressions. The
    result is a SymPy ``Array`` (a scalar for a scalar output). Any other primitive is refused by name.

    >>> import diffexplore as dx
    >>> W, x = dx.variable("W", shape=(2, 2)), dx.variable("x", shape=(2,))
    >>> dx.to_sympy(dx.sum(dx.tanh(W @ x)))
    tanh(x[0]*W[0, 0] + x[1]*W[0, 1]) + tanh(x[0]*W[1, 0] + x[1]*W[1, 1])
    """
    memo: dict[Node, Any] = {}
    for n in nodes(node):
        rule = n.rule
        if rule.name == "var":
            memo[n] = _array_symbol(n.name, n.shape)
        elif rule.name == "const":
            value = n.value
            memo[n] = (np.vectorize(_sympy_number, otypes=[object])(value) if np.ndim(value)
                       else _sympy_number(value))
        elif rule.elementwise and not rule.has_attr:
            scalar = _scalar_mapping(rule)
            args = [memo[a] for a in n.args]
            if any(isinstance(a, np.ndarray) for a in args):
                memo[n] = np.vectorize(scalar, otypes=[object])(*args)
            else:
                memo[n] = scalar(*args)
        elif rule.name in ELEMENTWISE_ARRAY_RULES:
            args = [memo[a] for a in n.args]
            memo[n] = rule.impl(*args, attr=n.attr) if rule.has_attr else rule.impl(*args)
        else:
            raise DiffexploreError(
                f"to_sympy: the array primitive {rule.name!r} has no element-wise SymPy form; to_sympy "
                f"writes array graphs made of elementwise functions and "
                f"{', '.join(sorted(ELEMENTWISE_ARRAY_RULES))}")
    result = memo[node]
    if isinstance(result, np.ndarray):
        return sp.Array(result.tolist()) if result.ndim else result.item()
    return result


def _array_symbol(name: str, shape: tuple) -> Any:
    """The entries of an array variable as SymPy expressions (a scalar variable: its symbol)."""
    if not shape:
        return symbol(name)
    base = sp.MatrixSymbol(name, *shape) if len(shape) == 2 else sp.IndexedBase(name, real=True)
    entries = np.empty(shape, dtype=object)
    for index in np.ndindex(*shape):
        entries[index] = base[index]
    return entries


def _scalar_mapping(rule: Primitive) -> Callable:
    """A primitive as a function of SymPy scalars (through its ``sympy`` facet)."""
    mapping = rule.sympy
    if mapping is None:
        return lambda *args: sp.Function(rule.name)(*args)
    if isinstance(mapping, str):
        return getattr(sp, mapping)
    return lambda *args: mapping(sp, *args)


def check_depth(node: Node, step: str) -> None:
    """Refuse a graph deeper than :data:`SYMPY_MAX_DEPTH` for a SymPy step run in this process.

    >>> import diffexplore as dx
    >>> check_depth(dx.parse("sin(x)"), "to_sympy")
    """
    measured = size(node)
    if measured.depth > SYMPY_MAX_DEPTH:
        raise DiffexploreError(
            f"{step}: the graph is {measured.depth:,} levels deep ({measured.dag_nodes:,} nodes); SymPy "
            f"recurses through every level and its time grows about quadratically with depth, so graphs "
            f"up to {SYMPY_MAX_DEPTH:,} levels are converted. Use dx.formula(f), dx.let_form(f) or "
            "diffexplore's own derivatives for this graph, or dx.simplify(f, timeout=...), which runs "
            "within a budget")


def _sympy_expression(node: Node) -> sp.Expr:
    """The SymPy expression of a graph (no depth check: run it through :func:`deep_call`)."""
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
    ``1/x`` and ``-1*x`` becomes ``-x``. Functions SymPy's ``simplify`` introduces that the table lacks
    (``sech``, ``csch``, ``coth``, ``sec``, ``csc``, ``cot``) are written with the
    table's functions; ``Heaviside(a, h)`` keeps its value ``h`` at 0 (``step`` is ``Heaviside(a, 0)``).
    Anything else is an error naming the function, and so is a number that is not finite
    (``oo``, ``zoo``, ``nan``, ``10**400``).

    >>> import sympy as sp
    >>> import diffexplore as dx
    >>> x = sp.Symbol("x")
    >>> str(dx.from_sympy(sp.sin(x) ** 2 + 1))
    '1 + sin(x)**2'
    >>> str(dx.from_sympy(sp.sech(x)))
    '1/cosh(x)'
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
            _check_known(e, functions)               # name the outermost unknown function, not its parts
            stack.append((e, True))
            stack.extend((a, False) for a in reversed(e.args) if a not in built)
            continue
        built[e] = _convert(e, [built[a] for a in e.args] if e.args and not e.is_Number else [],
                            functions, rules)
    return built[expr]


def _convert(e: sp.Basic, args: list, functions: dict[Any, Primitive], rules) -> Node:
    if e.is_Symbol:
        return variable(e.name)
    if e.is_Number or e.is_NumberSymbol or e in (sp.zoo, sp.nan):
        return _number(e, rules)
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
        return _heaviside(e, args[0], rules)
    if isinstance(e, (sp.Max, sp.Min)):
        combine = rules.maximum if isinstance(e, sp.Max) else rules.minimum
        out = args[0]
        for a in args[1:]:
            out = combine(out, a)
        return out
    rule = functions.get(e.func)
    if rule is not None:
        return apply(rule, *args)
    if _user_function(e):
        return apply(PRIMITIVES[e.func.__name__], *args)
    if _rewritable(e):
        return _REWRITES[e.func.__name__](rules, args[0])
    raise _unknown(e, functions)


def _user_function(e: sp.Basic) -> bool:
    """An undefined SymPy function named like a primitive, or a user primitive's own SymPy function."""
    return (isinstance(e, sp.Function) and e.func.__name__ in PRIMITIVES
            and (isinstance(e, sp.core.function.AppliedUndef) or PRIMITIVES[e.func.__name__].user_defined))


def _rewritable(e: sp.Basic) -> bool:
    return getattr(e.func, "__name__", None) in _REWRITES and len(e.args) == 1


def _check_known(e: sp.Basic, functions: dict[Any, Primitive]) -> None:
    """Refuse, before converting its arguments, a compound expression no rule converts."""
    if (e.is_Add or e.is_Mul or e.is_Pow or isinstance(e, (sp.Heaviside, sp.Max, sp.Min))
            or e.func in functions or _user_function(e) or _rewritable(e)):
        return
    raise _unknown(e, functions)


def _unknown(e: sp.Basic, functions: dict[Any, Primitive]) -> DiffexploreError:
    name = getattr(e.func, "__name__", type(e).__name__)
    known = ", ".join([*_STRUCTURAL, *(f.__name__ for f in functions), "numbers", "symbols"])
    return DiffexploreError(f"from_sympy: no rule for the SymPy function {name!r} (in {_brief(e)}); known: "
                            f"{known}; rewritten through them: {', '.join(_REWRITES)}")


def _brief(e: sp.Basic, limit: int = 200) -> str:
    text = str(e)
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _number(e: sp.Basic, rules) -> Node:
    """A SymPy number as a constant node; one that is not a finite real number is refused."""
    if e is sp.pi:
        return constant(math.pi)
    if e is sp.E:
        return rules.exp(constant(1.0))
    value = None
    if e.is_finite and e.is_real:
        try:
            value = float(e)
        except (OverflowError, TypeError, ValueError):
            value = None
    if value is None or not math.isfinite(value):
        raise DiffexploreError(
            f"from_sympy: {_brief(e, 60)} is not a finite float64 number, and diffexplore's constants are "
            f"finite numbers (|c| up to {sys.float_info.max!r}); infinities, zoo and nan have no graph")
    return constant(value)


def _heaviside(e: sp.Basic, a: Node, rules) -> Node:
    """``Heaviside(a, h)``: ``step`` (0 at 0) when h is 0, else ``step`` corrected to take h at 0."""
    at_zero = e.args[1] if len(e.args) > 1 else sp.Rational(1, 2)
    if not (at_zero.is_Number and at_zero.is_finite and at_zero.is_real):
        raise DiffexploreError(f"from_sympy: {_brief(e, 60)} has the value {at_zero} at 0; diffexplore "
                               "writes Heaviside(a, h) for a finite number h only "
                               "(step(a) is Heaviside(a, 0))")
    h = float(at_zero)
    if h == 0.0:
        return rules.step(a)
    if h == 1.0:
        return 1.0 - rules.step(-a)
    return rules.step(a) + h * (1.0 - rules.step(a) - rules.step(-a))


#: SymPy functions outside the rule table, by name, written with the table's functions (real arguments).
_REWRITES: dict[str, Callable] = {
    "sech": lambda rules, a: 1.0 / rules.cosh(a),
    "csch": lambda rules, a: 1.0 / rules.sinh(a),
    "coth": lambda rules, a: 1.0 / rules.tanh(a),
    "sec": lambda rules, a: 1.0 / rules.cos(a),
    "csc": lambda rules, a: 1.0 / rules.sin(a),
    "cot": lambda rules, a: rules.cos(a) / rules.sin(a),
}


def _chain(args: list[Node], op: str) -> Node:
    out = args[0]
    for a in args[1:]:
        out = out + a if op == "add" else out * a
    return out


# ---- deep expressions: SymPy recurses --------------------------------------------------------------------

#: (thread stack bytes, recursion limit) for SymPy work in this process and in a forked child.
_IN_PROCESS = (512 * 2 ** 20, 50_000)
_IN_CHILD = (512 * 2 ** 20, 100_000)
_deep_lock = threading.Lock()
_deep_state = threading.local()


def deep_call(fn: Callable, args: tuple = ()) -> Any:
    """``fn(*args)`` in a thread with a 512 MB stack and a recursion limit of 50,000 (restored after).

    SymPy recurses once or more per level of an expression; the main thread's stack and Python's
    default limit of 1,000 stop it at a few hundred levels. The limit is process-wide while the call
    runs (calls are serialised by a lock; a call from inside one runs directly). A recursion that still
    runs out is reported as a :class:`DiffexploreError`, not a ``RecursionError``.

    >>> deep_call(sum, ([1, 2, 3],))
    6
    """
    if getattr(_deep_state, "inside", False):
        return fn(*args)
    with _deep_lock:
        return _in_deep_thread(fn, args, *_IN_PROCESS)


def _in_deep_thread(fn: Callable, args: tuple, stack_bytes: int, recursion_limit: int) -> Any:
    outcome: dict[str, Any] = {}

    def run() -> None:
        _deep_state.inside = True
        try:
            outcome["value"] = fn(*args)
        except BaseException as exc:     # handed to the calling thread below
            outcome["error"] = exc

    old_limit, old_stack = sys.getrecursionlimit(), threading.stack_size()
    try:
        threading.stack_size(stack_bytes)
        sys.setrecursionlimit(max(old_limit, recursion_limit))
        worker = threading.Thread(target=run, name="diffexplore-sympy", daemon=True)
        worker.start()
    finally:
        threading.stack_size(old_stack)
    try:
        worker.join()
    finally:
        sys.setrecursionlimit(old_limit)
    error = outcome.get("error")
    if isinstance(error, RecursionError):
        raise DiffexploreError(f"SymPy step {getattr(fn, '__name__', 'step')} recursed deeper than "
                               f"{recursion_limit:,} levels: the expression is too deep for SymPy") from None
    if error is not None:
        raise error
    return outcome["value"]


# ---- time budgets ------------------------------------------------------------------------------------


def _child(conn, fn, args):
    try:
        conn.send(("ok", _in_deep_thread(fn, args, *_IN_CHILD)))
    except DiffexploreError as exc:    # the parent raises it again, same type and message
        conn.send(("raise", exc))
    except BaseException as exc:   # report every failure to the parent, then exit
        conn.send(("error", f"{type(exc).__name__}: {exc}"))
    finally:
        conn.close()


def run_with_timeout(fn: Callable, args: tuple, timeout: float | None) -> tuple[Any, float]:
    """Run ``fn(*args)`` in a forked process and return (result, seconds); raise :class:`SympyTimeout`
    when ``timeout`` seconds pass first (the process is stopped, so the caller returns promptly).
    ``timeout=None`` runs it here, without a budget. Either way it runs through :func:`deep_call`'s
    large stack; a :class:`DiffexploreError` raised in the process is raised here again.

    >>> run_with_timeout(sum, ([1, 2, 3],), 10.0)[0]
    6
    """
    start = time.perf_counter()
    if timeout is None:
        return deep_call(fn, args), time.perf_counter() - start
    if (isinstance(timeout, bool) or not isinstance(timeout, (int, float)) or not math.isfinite(timeout)
            or timeout <= 0):
        raise DiffexploreError(f"timeout must be a positive, finite number of seconds (or None: no budget), "
                               f"got {timeout!r}")
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
    if status == "raise":
        raise payload
    if status == "error":
        raise DiffexploreError(f"SymPy failed: {payload}")
    return payload, time.perf_counter() - start


def _derivatives(node: Node, names: list[str]) -> tuple[list, float]:
    expression = _sympy_expression(node)
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


# ---- simplify: the whole round trip inside the budget -------------------------------------------------


def _simplified(node: Node) -> Node:
    """SymPy's simplified form of a graph, converted there and back."""
    return from_sympy(sp.simplify(_sympy_expression(node)))


def _program(node: Node) -> list[tuple[str, tuple[int, ...], Any]]:
    """A graph as plain data, one (operation, argument positions, attribute) per node in order."""
    order = nodes(node)
    position = {n: i for i, n in enumerate(order)}
    return [(n.rule.name, tuple(position[a] for a in n.args), n.attr) for n in order]


def _from_program(program: list[tuple[str, tuple[int, ...], Any]]) -> Node:
    """The graph of :func:`_program`'s data (the same shared nodes, rebuilt in this process)."""
    built: list[Node] = []
    for op, positions, attr in program:
        if op == "var":
            built.append(variable(attr[0], attr[1]))
        elif op == "const":
            built.append(constant(attr))
        else:
            built.append(apply(PRIMITIVES[op], *[built[i] for i in positions], attr=attr))
    return built[-1]


def _simplified_program(node: Node) -> list[tuple[str, tuple[int, ...], Any]]:
    return _program(_simplified(node))


def simplify(node: Node, timeout: float | None = 10.0) -> Node:
    """The graph of SymPy's simplified form (within ``timeout`` seconds, else :class:`SympyTimeout`).

    The budget covers the whole call: the conversion to SymPy, ``sympy.simplify`` and the conversion
    back run together in a forked process. ``timeout=None`` runs here, for graphs up to
    :data:`SYMPY_MAX_DEPTH` levels deep.

    >>> import diffexplore as dx
    >>> str(dx.simplify(dx.parse("sin(x)**2 + cos(x)**2")))
    '1'
    """
    if timeout is None:
        check_depth(node, "simplify")
        return deep_call(_simplified, (node,))
    program, _seconds = run_with_timeout(_simplified_program, (node,), timeout)
    return _from_program(program)


def cse_form(node: Node) -> str:
    """A readable form that keeps sharing: SymPy's common subexpressions, one per line, then the result.

    >>> import diffexplore as dx
    >>> print(dx.cse_form(dx.diff(dx.parse("exp(sin(x*y))"), "x")))
    x0 = x*y
    x1 = y*exp(sin(x0))*cos(x0)
    """
    check_depth(node, "cse_form")
    return deep_call(_cse_text, (node,))


def _cse_text(node: Node) -> str:
    replacements, reduced = sp.cse(_sympy_expression(node))
    lines = [f"{s} = {e}" for s, e in replacements]
    lines += [f"x{len(replacements)} = {r}" if replacements else str(r) for r in reduced]
    return "\n".join(lines)


class Latex(str):
    """LaTeX text that Jupyter typesets (``text/latex``); otherwise an ordinary ``str``.

    >>> text = Latex("x^{2}")
    >>> text == "x^{2}", isinstance(text, str)
    (True, True)
    >>> print(text._repr_latex_())
    $\\displaystyle x^{2}$
    """

    __slots__ = ()

    def _repr_latex_(self) -> str:
        return f"$\\displaystyle {self}$"


def latex(node: Node) -> Latex:
    """The LaTeX of a graph's expression (through SymPy), a ``str`` that Jupyter typesets.

    A graph deeper than :data:`SYMPY_MAX_DEPTH`, or whose expression written out as a tree has more than
    :data:`LATEX_MAX_TREE` nodes, is refused with an error naming its size.

    >>> import diffexplore as dx
    >>> dx.latex(dx.parse("exp(sin(x*y))"))
    'e^{\\\\sin{\\\\left(x y \\\\right)}}'
    """
    check_depth(node, "latex")
    return Latex(deep_call(_latex_text, (node,)))


def _latex_text(node: Node) -> str:
    expression = _sympy_expression(node)
    written = _tree_size(expression)
    if written > LATEX_MAX_TREE:
        raise DiffexploreError(
            f"latex: the expression written out as a tree has {written:,} nodes (the graph has "
            f"{size(node).dag_nodes:,}); LaTeX is printed up to {LATEX_MAX_TREE:,}. Use dx.cse_form(f) or "
            "dx.let_form(f), which keep the sharing")
    return sp.latex(expression)


def _tree_size(expression: sp.Basic) -> int:
    """The number of nodes of a SymPy expression written out as a tree (counted over its DAG, iteratively).

    >>> _tree_size(sp.sin(sp.Symbol("x")) + 1)
    4
    """
    sizes: dict[sp.Basic, int] = {}
    stack: list[tuple[sp.Basic, bool]] = [(expression, False)]
    while stack:
        e, expanded = stack.pop()
        if e in sizes:
            continue
        if expanded:
            sizes[e] = 1 + sum(sizes[a] for a in e.args)
            continue
        stack.append((e, True))
        stack.extend((a, False) for a in e.args if a not in sizes)
    return sizes[expression]
