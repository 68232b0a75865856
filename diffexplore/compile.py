"""Transform/evaluate: source-transformation AD, straight-line Python for a value and its gradient.

:func:`compile` writes a program with one line per node: a forward sweep (the value of every node of f,
in evaluation order) and then a reverse sweep (the adjoints v̄ = ∂f/∂v, from f back to the variables),
and compiles it with Python's own compiler. The reverse sweep is reverse accumulation done on nodes
(:func:`diffexplore.symbolic.adjoint_graphs`), so it uses the same rule table as the interpreters, the
partials that are plain numbers are folded away (``1 * v̄`` is ``v̄``), and every subexpression is
computed once because the graph is hash-consed. Nothing is interpreted at run time: the program is the
derivative, as a source-transformation tool (Tapenade, Zygote, JAX's jaxpr) would write it.

The program works on Python floats and on NumPy arrays alike (it calls the rules' implementations), so
one call evaluates the gradient at a million points. ``c.source`` is the program to read.
"""

from __future__ import annotations

import builtins
import keyword
import linecache
import math
import operator
import re
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import numpy as np

from .callables import graph_of
from .errors import DOMAIN_ERRORS, DomainError, MissingValueError, SizeLimitError
from .graph import Node, Primitive, check_variables, gc_paused, nodes
from .inputs import as_point, resolve_wrt
from .plan import guards, plan
from .sweeps import primal_sweep
from .symbolic import adjoint_graphs

__all__ = ["compile", "Compiled"]

#: Python's binary operators by symbol. A primitive whose ``infix`` facet is one of these symbols and
#: whose implementation is exactly that operator is written with the symbol (``v1 * v3``).
_PYTHON_OPERATORS = {"+": operator.add, "-": operator.sub, "*": operator.mul, "/": operator.truediv,
                     "**": operator.pow, "@": operator.matmul}
#: Implementations that cannot raise on numbers (Python's + - * and negation): the gradient program may
#: leave out f's lines that run them when the gradient does not use their values.
_CANNOT_FAIL = (operator.add, operator.sub, operator.mul, operator.neg)
#: The largest graph compile takes (measured: 10^5 nodes take ~0.9 GB and ~17 s to compile; 10^6 nodes
#: ran out of memory).
COMPILE_NODE_LIMIT = 200_000
_RESERVED = re.compile(r"(v|t|c)\d+(_bar)?|at|np")


class Compiled:
    """A compiled value-and-gradient program (made by :func:`compile`).

    ``c(at)`` is the value, ``c.gradient(at)`` the gradient by variable name, ``c.value_and_gradient(at)``
    both from one forward and one reverse sweep; ``c.source`` is the program, ``c.wrt`` the variables
    it differentiates by. The point maps variable names to floats or NumPy arrays (many points at once).
    """

    def __init__(self, f: Node, wrt: list[str], order: list[Node], forward: int, names: dict[Node, str],
                 lines: list[str], line_nodes: list[Node], line_reads: list[tuple[Node, ...]],
                 gradients: dict[str, Node],
                 namespace: dict[str, Any], variables: list[Node], free: bool = True):
        self.f = f
        self.free = free
        self.wrt = wrt
        self._order = order              # every node of the program: f's first, then the reverse sweep's
        self._forward = forward          # how many of them belong to f
        self._names = names
        self._lines = lines
        self._line_nodes = line_nodes    # the node each line computes
        self._line_reads = line_reads    # the named nodes each line reads
        self._gradients = gradients
        self._namespace = namespace
        self._variables = variables
        self._functions: dict[str, Any] = {}
        self._sources: dict[str, str] = {}
        self._line_numbers: dict[str, dict[int, Node]] = {}
        self._f_nodes: set[Node] | None = None

    # ---- the program ----------------------------------------------------------------------------

    @property
    def source(self) -> str:
        """The value-and-gradient program: a forward sweep, then a reverse sweep, one line per node."""
        return self._source("value_and_gradient")

    @property
    def lines(self) -> tuple[int, int]:
        """(lines of the forward sweep, lines of the reverse sweep)."""
        forward_nodes = set(self._order[:self._forward])
        forward = sum(1 for n in self._line_nodes if n in forward_nodes)
        return forward, len(self._line_nodes) - forward

    def _source(self, kind: str) -> str:
        if kind not in self._sources:
            self._sources[kind], self._line_numbers[kind] = self._write(kind)
        return self._sources[kind]

    def _write(self, kind: str) -> tuple[str, dict[int, Node]]:
        """The source of one function (``value``, ``gradient`` or ``value_and_gradient``) and the node
        each of its line numbers computes. Lines the function does not need are left out."""
        names = self._names
        forward_nodes = set(self._order[:self._forward])
        if kind == "value":
            needed = forward_nodes
            result = f"return {names[self.f]}"
        else:
            listed = ", ".join(f"{name!r}: {names[self._gradients[name]]}" for name in self.wrt)
            if kind == "gradient":
                # f's lines that the gradient does not use are left out, unless their operation can
                # fail (anything but + - * and negation): a point outside f's domain must still raise.
                can_fail = [n for n in self._order[:self._forward] if _can_fail(n.rule)]
                needed = set(nodes(*[self._gradients[n] for n in self.wrt], *can_fail))
                result = f"return {{{listed}}}"
            else:
                needed = set(self._order)
                result = f"return {names[self.f]}, {{{listed}}}"
        program = [(node, line, reads) for node, line, reads in zip(
            self._line_nodes, self._lines, self._line_reads, strict=True) if node in needed]
        freed_after = self._last_uses(program, kind) if self.free else {}
        body = [f"def {kind}(at):",
                "    # forward sweep: the value of every node of f, in evaluation order"]
        line_numbers: dict[int, Node] = {}
        reverse_started = False
        for k, (node, line, _reads) in enumerate(program):
            if not reverse_started and node not in forward_nodes:
                body.append("    # reverse sweep: adjoints v_bar = df/dv, from f back to the variables")
                reverse_started = True
            body.append(f"    {line}")
            line_numbers[len(body)] = node
            if k in freed_after:
                body.append(f"    del {', '.join(freed_after[k])}")
        body.append(f"    {result}")
        return "\n".join(body) + "\n", line_numbers

    def _last_uses(self, program: list[tuple[Node, str, tuple]], kind: str) -> dict[int, list[str]]:
        """For each line, the names used for the last time there (``del`` frees them: at a million
        points each is an 8 MB array, and memory that is freed early is reused without page faults)."""
        kept = {self.f} if kind != "gradient" else set()
        if kind != "value":
            kept.update(self._gradients[name] for name in self.wrt)
        last_use: dict[Node, int] = {}
        for k, (node, _line, reads) in enumerate(program):
            last_use[node] = k                      # a value nothing uses is freed right away
            for read in reads:
                last_use[read] = k
        freed_after: dict[int, list[str]] = {}
        for node, k in last_use.items():
            if node not in kept and node.rule.name != "var":     # the point holds the inputs anyway
                freed_after.setdefault(k, []).append(self._names[node])
        return freed_after

    def _function(self, kind: str):
        function = self._functions.get(kind)
        if function is None:
            source = self._source(kind)
            filename = f"<diffexplore.compile: {kind} of graph #{self.f.id}>"
            # Registered with linecache so that tracebacks show the program's lines.
            linecache.cache[filename] = (len(source), None, source.splitlines(True), filename)
            namespace = dict(self._namespace)
            with gc_paused():
                exec(builtins.compile(source, filename, "exec"), namespace)
            function = self._functions[kind] = namespace[kind]
        return function

    # ---- calling it -----------------------------------------------------------------------------

    def __call__(self, at: Mapping[str, Any] | None = None) -> Any:
        """The value of f at ``at``.

        >>> import diffexplore as dx
        >>> dx.compile(dx.parse("x*y + 1"))({"x": 2.0, "y": 3.0})
        7.0
        """
        return self._run("value", at)

    def gradient(self, at: Mapping[str, Any] | None = None) -> dict[str, Any]:
        """The gradient by variable name (only the lines the gradient needs are run).

        >>> import diffexplore as dx
        >>> dx.compile(dx.parse("x*y + 1")).gradient({"x": 2.0, "y": 3.0})
        {'x': 3.0, 'y': 2.0}
        """
        return self._run("gradient", at)

    def value_and_gradient(self, at: Mapping[str, Any] | None = None) -> tuple[Any, dict[str, Any]]:
        """The value and the gradient from one run of the whole program.

        >>> import diffexplore as dx
        >>> dx.compile(dx.parse("x*y + 1")).value_and_gradient({"x": 2.0, "y": 3.0})
        (7.0, {'x': 3.0, 'y': 2.0})
        """
        return self._run("value_and_gradient", at)

    def _run(self, kind: str, at: Mapping[str, Any] | None) -> Any:
        point, many_points = _point(at)
        if guards and self._traced():
            primal_sweep(plan(self.f), point)     # the branch decisions are checked there
        function = self._function(kind)
        try:
            with np.errstate(divide="raise", invalid="raise", over="raise"):
                result = function(point)
        except KeyError:
            missing = [v.name for v in self._variables if v.name not in point]
            if not missing:
                raise
            known = ", ".join(v.name for v in self._variables)
            raise MissingValueError(f"no value for variable {missing[0]!r} (the graph's variables: {known})"
                                    ) from None
        except DOMAIN_ERRORS as exc:
            raise self._domain_error(kind, exc) from None
        if not _all_finite(kind, result):
            self._explain_nonfinite(point)
        if kind != "value" and many_points:
            gradient = result if kind == "gradient" else result[1]
            self._broadcast(gradient, point)
        return result

    def _explain_nonfinite(self, point: dict[str, Any]) -> None:
        """A result that is not finite, from finite inputs, is a DomainError: the interpreters sweep
        the graph again with their checks, which name the node where the numbers left the float range."""
        from .evaluate import reverse_planned
        from .sweeps import inputs_finite
        p = plan(self.f, wrt=self.wrt)
        values = primal_sweep(p, point, check=False)
        if not inputs_finite(p, values):
            return                                  # NaN in, NaN out
        reverse_planned(p, point)
        raise DomainError("the compiled program's result is not finite at a point where every input is "
                          "finite")

    def _traced(self) -> bool:
        """Whether f contains a traced graph (whose branch decisions each run must check)."""
        if self._f_nodes is None:
            self._f_nodes = set(self._order[:self._forward])
        return any(node in self._f_nodes for node in guards.guarded())

    def _broadcast(self, gradient: dict[str, Any], point: dict[str, Any]) -> None:
        """At many points at once, a scalar variable's gradient has one entry per point, as the
        interpreters give it (a partial that is constant, or depends on other inputs only, is broadcast)."""
        scalar = {v.name for v in self._variables if not v.shape}
        shapes = [np.shape(value) for name, value in point.items() if name in scalar]
        batch = np.broadcast_shapes(*shapes) if shapes else ()
        if not batch:
            return
        for name in self.wrt:
            if name in scalar and np.shape(gradient[name]) != batch:
                gradient[name] = np.broadcast_to(gradient[name], batch).copy()

    def _domain_error(self, kind: str, exc: Exception) -> DomainError:
        """A DomainError naming the node whose line raised (found from the traceback)."""
        from .formula import formula
        reason = str(exc) or type(exc).__name__
        traceback, line = exc.__traceback__, None
        while traceback is not None:
            if traceback.tb_frame.f_code.co_filename.startswith("<diffexplore.compile"):
                line = traceback.tb_lineno
            traceback = traceback.tb_next
        node = self._line_numbers[kind].get(line)
        if node is None:
            return DomainError(f"the compiled program failed: {reason}")
        text = self._lines[self._line_nodes.index(node)]
        args = ", ".join(formula(a, max_length=40) for a in node.args)
        return DomainError(f"the compiled program failed at line {line} `{text}`, the node "
                           f"{node.rule.name}({args}): {reason}. The operation {node.rule.name!r} is not "
                           "defined there.")

    def __repr__(self) -> str:
        forward, reverse = self.lines
        return (f"<Compiled d/d({', '.join(self.wrt)}): {forward} forward lines, {reverse} reverse lines; "
                "print(c.source) to read it>")


def _all_finite(kind: str, result: Any) -> bool:
    """Whether a compiled function's result (a value, a gradient dict, or both) is finite."""
    from .sweeps import is_finite
    if kind == "value":
        return is_finite(result)
    value, gradient = (None, result) if kind == "gradient" else result
    entries = list(gradient.values())
    try:                     # floats: one sum shows an infinity or NaN anywhere (a false alarm is checked)
        total = sum(entries, 0.0) if value is None else sum(entries, value)
        if math.isfinite(total):
            return True
    except (TypeError, ValueError, OverflowError):
        pass
    return is_finite(value) and all(is_finite(g) for g in entries)


def _point(at: Mapping[str, Any] | None) -> tuple[dict[str, Any], bool]:
    """The point as the interpreters take it (:func:`~diffexplore.evaluate.as_point`), and whether any
    value is an array (many points at once). Floats, the common case, pass straight through."""
    if not isinstance(at, Mapping):
        return as_point(at), False
    point: dict[str, Any] = {}
    many = False
    for name, value in at.items():
        if type(value) is not float:
            value = as_point({name: value})[name]
            many = many or isinstance(value, np.ndarray)
        point[name] = value
    return point, many


def compile(f: Node | str | Callable, wrt: Sequence[str] | str | None = None, free: bool = True, *,
            at: Mapping[str, Any] | None = None) -> Compiled:
    """Compile the value and gradient of ``f`` into straight-line Python (source-transformation AD).

    ``f``: a graph, a formula, an import, or a Python function, traced at the point ``at=`` (needed for
    a function only; the compiled program re-checks the function's branch decisions at every point it is
    called with). ``wrt``: the variables to differentiate by (names, or one string "x y"); default all,
    in order of first appearance. ``free``: write ``del`` after the last use of each value (keeps the
    memory of a million-point batch small; ``free=False`` gives the shortest program to read).

    >>> import diffexplore as dx
    >>> c = dx.compile(dx.parse("1 + x + exp(sin(x*y))"), free=False)
    >>> print(c.source)
    def value_and_gradient(at):
        # forward sweep: the value of every node of f, in evaluation order
        v1 = at['x']
        v2 = 1.0 + v1
        v3 = at['y']
        v4 = v1 * v3
        v5 = sin(v4)
        v6 = exp(v5)
        v7 = v2 + v6
        # reverse sweep: adjoints v_bar = df/dv, from f back to the variables
        v4_bar = v6 * cos(v4)
        v1_bar = (v4_bar * v3) + 1.0
        v3_bar = v4_bar * v1
        return v7, {'x': v1_bar, 'y': v3_bar}
    <BLANKLINE>
    >>> c.gradient({"x": 1.0, "y": 2.0}) == dx.grad(c.f, {"x": 1.0, "y": 2.0})
    True
    """
    if not isinstance(f, Node):
        f = graph_of(f, at, call="compile")
    count = len(plan(f).order)
    if count > COMPILE_NODE_LIMIT:
        raise SizeLimitError(f"compile writes one line of Python per node and Python's compiler needs "
                             f"about 9 KB of memory per line, so graphs above {COMPILE_NODE_LIMIT:,} nodes "
                             f"are refused; this one has {count:,} nodes. dx.grad and dx.reverse "
                             "differentiate it without compiling.")
    with gc_paused():
        forward_order, adjoints = adjoint_graphs(f)
        variables = check_variables([n for n in forward_order if n.rule.name == "var"])
        wanted = resolve_wrt([v.name for v in variables], wrt)
        by_name = {v.name: v for v in variables}
        gradients = {name: _gradient_node(by_name[name], adjoints) for name in wanted}
        order = nodes(f, *gradients.values())
        names, lines, line_nodes, line_reads, namespace = _write_lines(
            order, len(forward_order), adjoints, [f, *gradients.values()])
    return Compiled(f, wanted, order, len(forward_order), names, lines, line_nodes, line_reads, gradients,
                    namespace, variables, free)


def _gradient_node(variable: Node, adjoints: dict[Node, Node]) -> Node:
    from .graph import constant
    adjoint = adjoints.get(variable)
    if adjoint is not None:
        return adjoint
    return constant(0.0) if not variable.shape else constant(np.zeros(variable.shape))


def _write_lines(order: list[Node], forward: int, adjoints: dict[Node, Node], roots: list[Node]):
    """Name every node and write its line: ``v<k>`` for f's nodes (numbered from 1 in evaluation order;
    scalar constants are written as numbers), ``v<k>_bar`` for the adjoint of v<k>, ``t<k>`` for the
    other intermediate results of the reverse sweep. A reverse-sweep intermediate that is used once is
    written into the line that uses it, as in ``v1_bar = (v4_bar * v3) + 1.0`` (NumPy then reuses the
    inner result's memory for the outer operation), unless it holds such an expression itself.

    Returns the names (or inline expressions), the lines, the node of each line, the named nodes each
    line reads, and the namespace the program runs in."""
    names: dict[Node, str] = {}
    namespace: dict[str, Any] = {"np": np}
    functions: dict[str, str] = {}       # rule name -> its name in the program
    lines: list[str] = []
    line_nodes: list[Node] = []
    line_reads: list[tuple[Node, ...]] = []
    adjoint_of: dict[Node, Node] = {}    # a reverse-sweep node -> the first forward node it is the adjoint of
    for node in reversed(order[:forward]):
        adjoint = adjoints.get(node)
        if adjoint is not None and adjoint not in adjoint_of:
            adjoint_of[adjoint] = node
    uses: dict[Node, int] = dict.fromkeys(roots, 1)
    for node in order:
        for arg in node.args:
            uses[arg] = uses.get(arg, 0) + 1
    inline_reads: dict[Node, tuple[Node, ...]] = {}     # an inlined node -> the named nodes it reads
    values = temporaries = 0
    for k, node in enumerate(order):
        if node.rule.name == "const":
            literal = _literal(node.value)
            if literal is None:
                literal = f"c{len(namespace)}"
                namespace[literal] = node.value
            names[node] = literal
            continue
        reads = []
        for arg in node.args:
            reads.extend(inline_reads.get(arg, (arg,)) if arg.rule.name != "const" else ())
        expression = _expression(node, names, namespace, functions)
        if k < forward:
            values += 1
            names[node] = f"v{values}"
        elif node in adjoint_of and adjoint_of[node] in names:
            names[node] = f"{names[adjoint_of[node]]}_bar"
        elif uses.get(node, 0) == 1 and not any(arg in inline_reads for arg in node.args):
            written_as_operator = _infix(node.rule) is not None or node.rule.name == "neg"
            names[node] = f"({expression})" if written_as_operator else expression
            inline_reads[node] = tuple(reads)
            continue
        else:
            temporaries += 1
            names[node] = f"t{temporaries}"
        lines.append(f"{names[node]} = {expression}")
        line_nodes.append(node)
        line_reads.append(tuple(reads))
    return names, lines, line_nodes, line_reads, namespace


def _infix(rule: Primitive) -> str | None:
    """The operator symbol a primitive is written with (its ``infix`` facet, when its implementation is
    that Python operator, so the program computes exactly what the rule does), or None for a call.

    >>> from diffexplore.graph import PRIMITIVES
    >>> _infix(PRIMITIVES["mul"]), _infix(PRIMITIVES["pow"])     # pow checks its domain: a call
    ('*', None)
    """
    if rule.infix is not None and rule.arity == 2 and _PYTHON_OPERATORS.get(rule.infix) is rule.impl:
        return rule.infix
    return None


def _can_fail(rule: Primitive) -> bool:
    """Whether an operation can raise on numbers (all but the leaves and Python's + - * and negation)."""
    return rule.arity > 0 and rule.impl not in _CANNOT_FAIL


def _literal(value: Any) -> str | None:
    """A scalar constant as Python text (None for arrays and non-finite numbers)."""
    if isinstance(value, float) and math.isfinite(value):
        return repr(value)
    if isinstance(value, complex) and math.isfinite(value.real) and math.isfinite(value.imag):
        return repr(value)
    return None


def _expression(node: Node, names: dict[Node, str], namespace: dict[str, Any],
                functions: dict[str, str]) -> str:
    rule = node.rule
    if rule.name == "var":
        return f"at[{node.attr[0]!r}]"
    args = [names[a] for a in node.args]
    symbol = _infix(rule)
    if symbol is not None:
        return f"{args[0]} {symbol} {args[1]}"
    if rule.name == "neg":
        return f"-{args[0]}"
    function = functions.get(rule.name)
    if function is None:
        function = rule.name
        if not function.isidentifier() or keyword.iskeyword(function) or _RESERVED.fullmatch(function):
            function = f"op{len(functions)}"
        while function in namespace and namespace[function] is not rule.impl:
            function = f"{function}_"
        functions[rule.name] = function
        namespace[function] = rule.impl
    if rule.has_attr:
        attr_name = f"c{len(namespace)}"
        namespace[attr_name] = node.attr
        args.append(f"attr={attr_name}")
    return f"{function}({', '.join(args)})"
