"""Transform/evaluate: source-transformation AD, straight-line Python for a value and its gradient.

:func:`compile` writes a program with one line per node: a forward sweep (the value of every node of f,
in evaluation order) and then a reverse sweep (the adjoints v̄ = ∂f/∂v, from f back to the variables),
and compiles it with Python's own compiler. The reverse sweep is the interpreter's backward sweep over
the graph's plan written out (:mod:`diffexplore.compile_lines`): the same rule table, the same operations
in the same order, so the compiled numbers are the interpreter's to the last bit; the partials that are
plain numbers are folded away (``1 * v̄`` is ``v̄``). Nothing is interpreted at run time: the program is
the derivative, as a source-transformation tool (Tapenade, Zygote, JAX's jaxpr) would write it. A long
program is split into parts that are compiled one at a time (:mod:`diffexplore.compile_chunks`).

The program works on Python floats and on NumPy arrays alike (it calls the rules' implementations), so
one call evaluates the gradient at a million points. ``c.listing`` is the program as it runs;
``c.source`` the same lines as a module to take away (:mod:`diffexplore.compile_source`): standalone
NumPy, or with ``backend="jax"``/``"torch"`` the same reverse sweep calling the rule table's JAX or
PyTorch facets, run here on that framework's arrays.
"""

from __future__ import annotations

import builtins
import hashlib
import importlib
import linecache
import math
from collections.abc import Callable, Mapping, Sequence
from contextlib import nullcontext
from operator import itemgetter
from pathlib import Path
from typing import Any

import numpy as np

from .callables import graph_of
from .checkpoint import Schedule, schedule
from .compile_checkpoints import CheckpointedProgram
from .compile_chunks import Layout
from .compile_lines import Program, plain, write_program
from .errors import DOMAIN_ERRORS, DiffexploreError, DomainError, MissingValueError, SizeLimitError
from .graph import Node, gc_paused
from .inputs import as_point, resolve_wrt
from .plan import Plan, guards, plan
from .sweeps import domain_error, primal_sweep

__all__ = ["compile", "Compiled"]

#: The largest graph compile takes. Compiling writes about two lines of Python a node and compiles them:
#: about 1.2 KB and 10-50 µs a node (measured on graphs of 10^6 nodes: 10-25 s for chains and networks,
#: whose parts repeat, about 50 s when no two parts are alike; a 2·10^6-node graph of the latter kind
#: took 105 s and 3.7 GB).
COMPILE_NODE_LIMIT = 1_500_000
#: Programs up to this many lines are registered with linecache, so tracebacks show their lines.
_LINECACHE_LINES = 100_000


class Compiled:
    """A compiled value-and-gradient program (made by :func:`compile`).

    ``c(at)`` is the value, ``c.gradient(at)`` the gradient by variable name, ``c.value_and_gradient(at)``
    both from one forward and one reverse sweep; ``c.source`` is the program as a standalone module
    (``value(x, y, ...)`` and ``gradient(x, y, ...)``; ``c.save(path)`` writes it), ``c.listing`` the
    program as it runs here, ``c.wrt`` the variables it differentiates by and ``c.variables`` the
    parameters of the module's functions. The point maps variable names to floats or NumPy arrays (many
    points at once); with ``backend="jax"`` or ``"torch"``, to that framework's arrays.
    """

    def __init__(self, f: Node, wrt: list[str], p: Plan, program: Program, free: bool = True,
                 backend: str = "numpy", decisions: Sequence[str] = (),
                 plan_schedule: Schedule | None = None):
        self.f = f
        self.schedule = plan_schedule                  # the checkpointing schedule the gradient follows
        self._checkpointed: CheckpointedProgram | None = None
        self.free = free
        self.wrt = wrt
        self.backend = backend
        self.guards = list(decisions)                  # branch decisions exported with guards="ignore"
        self._plan = p
        self._program = program
        self._layouts: dict[str, Layout] = {}
        self._functions: dict[Any, Callable] = {}
        self._part_names: dict[bytes, str] = {}       # a part's source (its digest) -> its function's name
        self._parts: dict[Any, Callable] = {}         # the parts compiled so far, by name (and namespace)
        self._namespaces: dict[Any, dict[str, Any]] = {}   # a framework's namespace, by (dtype, device)
        self._long: set[str] = set()                   # the functions split into parts

    # ---- the program ----------------------------------------------------------------------------

    @property
    def variables(self) -> list[str]:
        """f's variables in order of first appearance: the parameters of the module's functions."""
        return list(self._plan.variable_names())

    @property
    def recomputed_ops(self) -> int:
        """The operations the gradient evaluates again under its checkpointing schedule (0 without)."""
        return 0 if self.schedule is None else self.schedule.recomputed_ops

    @property
    def source(self) -> str:
        """The program as a Python module: ``value(x, y, ...)`` and ``gradient(x, y, ...)`` (a dict by
        variable name), with everything they call defined in it (the NumPy backend imports only NumPy).
        Not written for a checkpointed gradient (its segments run here only)."""
        if self._follows_schedule():
            raise DiffexploreError("c.source is written for compile(..., checkpoints=None) only: the "
                                   "standalone module stores the whole tape; compile without checkpoints "
                                   "to export it (c.listing shows the plain program)")
        from .compile_source import module_source
        from .formula import formula
        text = formula(self.f, max_length=201)
        return module_source(self._module_layout, self._program.rules, self._program.namespace,
                             self.variables, text if len(text) <= 200 else text[:200] + "…", self.backend)

    def save(self, path: str | Path) -> Path:
        """Write :attr:`source` to ``path`` (a module to import or run); returns the path."""
        path = Path(path)
        path.write_text(self.source, encoding="utf-8")
        return path

    def _module_layout(self, kind: str) -> Layout:
        """The lines of the module's function ``kind``: what its results need (no lines kept for checks:
        the module follows its framework's semantics)."""
        key = ("module", kind)
        layout = self._layouts.get(key)
        if layout is None:
            with gc_paused():
                layout = self._layouts[key] = Layout(self._program, kind, self.free, checks=False)
        return layout

    @property
    def listing(self) -> str:
        """The value-and-gradient program as it runs here: a forward sweep, then a reverse sweep, one line
        per node (a long program: its main function, then each of its parts once)."""
        layout = self._layout("value_and_gradient")
        if layout.parts == 1:
            return layout.single()[0]
        names, parts = [], {}
        for k in range(layout.parts):
            source = layout.part(k)[0]
            name = self._part_name(source)
            names.append(name)
            parts.setdefault(name, source.replace("def part(", f"def {name}(", 1))
        return "\n".join([layout.main(names)[0], *parts.values()])

    @property
    def lines(self) -> tuple[int, int]:
        """(lines of the forward sweep, lines of the reverse sweep)."""
        lines = self._layout("value_and_gradient").lines
        forward = sum(1 for k in lines if k < self._program.forward)
        return forward, len(lines) - forward

    def _layout(self, kind: str) -> Layout:
        """The lines of one function (``value``, ``gradient`` or ``value_and_gradient``) and its parts.
        The gradient leaves out f's lines it does not use, unless their operation can fail (anything
        but + - * and negation): a point outside f's domain must still raise."""
        layout = self._layouts.get(kind)
        if layout is None:
            with gc_paused():
                layout = self._layouts[kind] = Layout(self._program, kind, self.free)
        return layout

    def _filename(self, name: str) -> str:
        return f"<diffexplore.compile: {name} of graph #{self.f.id}>"

    def _follows_schedule(self) -> bool:
        """Whether the gradient follows a checkpointing schedule (one that stores less than everything)."""
        return self.schedule is not None and self.schedule.kind != "store-all"

    def _checkpointed_function(self, kind: str) -> Callable:
        """The gradient (or value and gradient) run segment by segment under the schedule."""
        if self._checkpointed is None:
            with gc_paused():
                self._checkpointed = CheckpointedProgram(self._program, self._plan, self.schedule, self.wrt)
        run = self._checkpointed.run
        if kind == "value_and_gradient":
            return run
        return lambda at: run(at)[1]

    def _function(self, kind: str, key: Any = None) -> Callable:
        """The compiled function: one Python function, or a main function and its parts, each compiled
        on its own (a part whose source was compiled before is reused). ``key``: the framework namespace
        it runs in (None: NumPy)."""
        if kind != "value" and key is None and self._follows_schedule():
            return self._checkpointed_function(kind)
        function = self._functions.get(kind if key is None else (kind, key))
        if function is None:
            layout = self._layout(kind) if key is None else self._module_layout(kind)
            base = self._program.namespace if key is None else self._namespaces[key]
            namespace = dict(base)
            with gc_paused():
                if layout.parts == 1:
                    source = layout.single()[0]
                else:
                    source = self._link(layout, namespace, base, key)
                    self._long.add(kind)
                self._exec(source, self._filename(kind), namespace, len(layout.lines) <= _LINECACHE_LINES)
            function = self._functions[kind if key is None else (kind, key)] = namespace[kind]
        return function

    def _framework_function(self, kind: str, at: Mapping[str, Any]) -> Callable:
        """The function ``kind`` in the backend's framework: the same lines, each rule's function its
        facet (``jax=``/``torch=``), the constant arrays made on the inputs' device (torch)."""
        module = importlib.import_module(self.backend)
        key: Any = "jax"
        if self.backend == "torch":
            tensors = [v for v in at.values() if isinstance(v, module.Tensor)]
            floating = [t for t in tensors if t.is_floating_point()]
            key = (floating[0].dtype if floating else module.get_default_dtype(),
                   str(tensors[0].device) if tensors else "cpu")
        if key not in self._namespaces:
            self._namespaces[key] = self._framework_namespace(module, key)
        return self._function(kind, key)

    def _framework_namespace(self, module: Any, key: Any) -> dict[str, Any]:
        from .exports.common import facet_of, missing_facet
        wrap = importlib.import_module(f"diffexplore.exports.{self.backend}")._wrapped
        rules = self._program.rules
        namespace: dict[str, Any] = {}
        for name, value in self._program.namespace.items():
            rule = rules.get(name)
            if rule is not None:
                function = facet_of(rule, self.backend, module) or wrap(rule)
                if function is None:
                    raise missing_facet(rule, self.backend)
                namespace[name] = function
            elif self.backend == "torch" and isinstance(value, np.ndarray):
                namespace[name] = module.tensor(value, dtype=key[0], device=key[1])   # (a copy: read-only)
            else:
                namespace[name] = value
        return namespace

    def _link(self, layout: Layout, namespace: dict[str, Any], base: dict[str, Any], key: Any = None) -> str:
        """The main function of a function split into parts, with its parts compiled and what it needs
        in ``namespace``: the parts, ``inputs`` (the variables' values), the slots each part loads
        (``loads``) and those it fills (``stores``)."""
        names, loads, stores = [], [], []
        for k in range(layout.parts):
            source, _numbers, loaded, filled = layout.part(k)
            name = self._part_name(source)
            if (key, name) not in self._parts:
                scope = dict(base)
                self._exec(source.replace("def part(", f"def {name}(", 1), self._filename(name), scope,
                           len(layout.lines) <= _LINECACHE_LINES)
                self._parts[(key, name)] = scope[name]
            namespace[name] = self._parts[(key, name)]
            names.append(name)
            loads.append(_getter(loaded))
            stores.append(filled)
        namespace.update(inputs=_getter(layout.input_names()), loads=tuple(loads), stores=tuple(stores),
                         results=_results(layout.kind, *layout.results()))
        return layout.main(names)[0]

    def _part_name(self, source: str) -> str:
        """The name of the function of a part's source: ``part_<k>``, the same for the same source."""
        key = hashlib.blake2b(source.encode(), digest_size=16).digest()
        name = self._part_names.get(key)
        if name is None:
            name = self._part_names[key] = f"part_{len(self._part_names) + 1}"
        return name

    @staticmethod
    def _exec(source: str, filename: str, namespace: dict[str, Any], register: bool) -> None:
        if register:       # tracebacks then show the program's lines
            linecache.cache[filename] = (len(source), None, source.splitlines(True), filename)
        exec(builtins.compile(source, filename, "exec"), namespace)

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
        if self.backend != "numpy":        # the framework's semantics: no checks (they cannot run under jit)
            at = dict(at or {})
            missing = [name for name in self.variables if name not in at]
            if missing:
                raise MissingValueError(f"no value for variable {missing[0]!r} (the graph's variables: "
                                        f"{', '.join(self.variables)})")
            return self._framework_function(kind, at)(at)
        point, many_points = _point(at)
        if guards and self._traced():
            primal_sweep(plan(self.f), point)     # the branch decisions are checked there
        function = self._function(kind)
        try:       # a long program makes many tuples and no cycles: the collector would only rescan the graph
            with np.errstate(divide="raise", invalid="raise", over="raise"), (
                    gc_paused() if kind in self._long else nullcontext()):
                result = function(point)
        except KeyError:
            variables = self._plan.variable_names()
            missing = [name for name in variables if name not in point]
            if not missing:
                raise
            raise MissingValueError(f"no value for variable {missing[0]!r} (the graph's variables: "
                                    f"{', '.join(variables)})") from None
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
        values = primal_sweep(self._plan, point, check=False)
        if not inputs_finite(self._plan, values):
            return                                  # NaN in, NaN out
        reverse_planned(self._plan, point)
        raise DomainError("the compiled program's result is not finite at a point where every input is "
                          "finite")

    def _traced(self) -> bool:
        """Whether f contains a traced graph (whose branch decisions each run must check)."""
        index = self._plan.index
        return any(node in index for node in guards.guarded())

    def _broadcast(self, gradient: dict[str, Any], point: dict[str, Any]) -> None:
        """At many points at once, a scalar variable's gradient has one entry per point, as the
        interpreters give it (a partial that is constant, or depends on other inputs only, is broadcast)."""
        scalar = {name for _i, name, shape in self._plan.variables if not shape}
        shapes = [np.shape(value) for name, value in point.items() if name in scalar]
        batch = np.broadcast_shapes(*shapes) if shapes else ()
        if not batch:
            return
        for name in self.wrt:
            if name in scalar and np.shape(gradient[name]) != batch:
                gradient[name] = np.broadcast_to(gradient[name], batch).copy()

    def _domain_error(self, kind: str, exc: Exception) -> DomainError:
        """A DomainError naming the line that raised and its node (found from the traceback)."""
        reason = str(exc) or type(exc).__name__
        if self._checkpointed is not None and kind != "value":
            found = self._checkpointed.program_line(exc.__traceback__)
        else:
            found = self._program_line(kind, exc.__traceback__)
        if found is None:
            return DomainError(f"the compiled program failed: {reason}")
        where, k = found
        program = self._program
        text = f"{program.names[program.targets[k]]} = {plain(program.texts[k])}"
        what = "evaluating" if k < program.forward else "differentiating"
        described = domain_error(self._plan, program.plan_slots[k], exc, what)
        return DomainError(f"the compiled program failed at {where} `{text}`: {described}")

    def _program_line(self, kind: str, traceback: Any) -> tuple[str, int] | None:
        """Where the innermost compiled line of a traceback is (``line 7`` or ``line 7 of part_2``) and
        the program line it runs (the sources are written again: they are not kept)."""
        lines: dict[str, int] = {}
        innermost = None
        while traceback is not None:
            filename = traceback.tb_frame.f_code.co_filename
            if filename.startswith("<diffexplore.compile"):
                lines[filename] = traceback.tb_lineno
                innermost = (filename, traceback.tb_lineno)
            traceback = traceback.tb_next
        layout = self._layout(kind)
        main = lines.get(self._filename(kind))
        if innermost is None or main is None:
            return None
        if layout.parts == 1:
            k = layout.single()[1].get(main)
            return None if k is None else (f"line {main}", k)
        part = layout.main([""] * layout.parts)[1].get(main)
        if part is None or innermost[0] == self._filename(kind):
            return None
        line = innermost[1]
        k = layout.part(part)[1].get(line)
        name = next((name for _key, name in self._parts if self._filename(name) == innermost[0]), "a part")
        return None if k is None else (f"line {line} of {name}", k)

    def __repr__(self) -> str:
        forward, reverse = self.lines
        return (f"<Compiled d/d({', '.join(self.wrt)}): {forward} forward lines, {reverse} reverse lines; "
                "print(c.listing) to read it, c.source is it as a module>")

    def _repr_html_(self) -> str:
        from .render.displays import compiled_html
        if self._follows_schedule():
            import html
            return f"<pre>{html.escape(repr(self))}</pre>"
        return compiled_html(self)


def _getter(keys: list) -> Callable[[Any], tuple]:
    """A function that takes the entries ``keys`` of a list or dict, as a tuple."""
    if len(keys) > 1:
        return itemgetter(*keys)
    if keys:
        key = keys[0]
        return lambda source: (source[key],)
    return lambda source: ()


def _results(kind: str, value: tuple | None, gradient: list[tuple[str, tuple]]) -> Callable[[list], Any]:
    """A function of the list ``s`` that gives the results of a function of kind ``kind``: the value,
    the gradient (a dict by variable name), or both; each entry is ``("slot", slot)`` or
    ``("constant", value)``."""
    names = [name for name, _where in gradient]
    constants = {name: what for name, (how, what) in gradient if how == "constant"}
    taken = _getter([what for _name, (how, what) in gradient if how == "slot"])
    if not constants:
        def gradient_of(s: list) -> dict[str, Any]:
            return dict(zip(names, taken(s), strict=True))
    else:
        in_slots = [name for name, (how, _what) in gradient if how == "slot"]

        def gradient_of(s: list) -> dict[str, Any]:
            found = dict(zip(in_slots, taken(s), strict=True))
            found.update(constants)
            return {name: found[name] for name in names}

    if kind == "gradient":
        return gradient_of
    how, what = value
    value_of = itemgetter(what) if how == "slot" else (lambda s: what)
    if kind == "value":
        return value_of
    return lambda s: (value_of(s), gradient_of(s))


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


#: The backends :func:`compile` writes for: the framework whose functions the lines call.
BACKENDS = ("numpy", "jax", "torch")


def compile(f: Node | str | Callable, wrt: Sequence[str] | str | None = None, free: bool = True, *,
            at: Mapping[str, Any] | None = None, backend: str = "numpy", guards: str = "refuse",
            checkpoints: Any = None) -> Compiled:
    """Compile the value and gradient of ``f`` into straight-line Python (source-transformation AD).

    ``f``: a graph, a formula, an import, or a Python function, traced at the point ``at=`` (needed for
    a function only; the compiled program re-checks the function's branch decisions at every point it is
    called with). ``wrt``: the variables to differentiate by (names, or one string "x y"); default all,
    in order of first appearance. ``free``: write ``del`` after the last use of each value (keeps the
    memory of a million-point batch small; ``free=False`` gives the shortest program to read). A program
    of more than :data:`~diffexplore.compile_chunks.CHUNK_LINES` lines is split into parts, whose values
    take turns in a few names instead (``free=False``: each keeps its own).

    ``backend``: ``"numpy"`` (the default), or ``"jax"`` / ``"torch"``: the same lines, diffexplore's own
    reverse sweep, calling each primitive's JAX or PyTorch facet, so ``c.gradient(at)`` takes that
    framework's arrays and works under ``jax.jit`` / on the tensors' device. Those follow the framework's
    semantics (inf/nan instead of DomainError), so a graph traced with branch decisions is refused unless
    ``guards="ignore"``. ``c.source`` is the program as a module for the backend.

    ``checkpoints``: as for :func:`~diffexplore.evaluate.grad` (None, K, ``"sqrt"``, ``("binomial", s)``):
    ``c.gradient(at)`` then follows the schedule of :func:`diffexplore.checkpoint.schedule`
    (``c.schedule``, ``c.recomputed_ops``), one compiled function per segment, keeping only the
    snapshots between them (:mod:`diffexplore.compile_checkpoints`); the same numbers to the last bit.
    NumPy backend only, and no ``c.source``.

    >>> import diffexplore as dx
    >>> c = dx.compile(dx.parse("1 + x + exp(sin(x*y))"), free=False)
    >>> print(c.listing)
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
        v3_bar = v4_bar * v1
        v1_bar = (v4_bar * v3) + 1.0
        return v7, {'x': v1_bar, 'y': v3_bar}
    <BLANKLINE>
    >>> c.gradient({"x": 1.0, "y": 2.0}) == dx.grad(c.f, {"x": 1.0, "y": 2.0})
    True
    >>> s = dx.compile("sin(sin(sin(sin(x))))", checkpoints="sqrt")
    >>> s.schedule.actions
    (('snapshot', 0), ('advance', 0, 2), ('snapshot', 2), ('reverse', 2, 4), ('free', 2), ('restore', 0), \
('reverse', 0, 2), ('free', 0))
    >>> s.gradient({"x": 1.0}) == dx.grad("sin(sin(sin(sin(x))))", {"x": 1.0}), s.recomputed_ops
    (True, 2)
    """
    if backend not in BACKENDS:
        raise DiffexploreError(f"compile: backend must be one of {', '.join(map(repr, BACKENDS))}, got "
                               f"{backend!r}")
    if checkpoints is not None and backend != "numpy":
        raise DiffexploreError(f"compile: checkpoints= works with backend='numpy' only, got "
                               f"backend={backend!r} (use checkpoints=None with it)")
    if not isinstance(f, Node):
        f = graph_of(f, at, call="compile")
    decisions: list[str] = []
    if backend != "numpy":
        from .exports.common import prepare
        decisions = prepare(f, guards, f"dx.compile(backend={backend!r})").decisions
    p = plan(f)
    count = len(p.order)
    if count > COMPILE_NODE_LIMIT:
        raise SizeLimitError(f"compile writes about two lines of Python a node and compiles them, about "
                             f"1.2 KB and up to 50 µs a node (a minute for 10^6 nodes), so graphs above "
                             f"{COMPILE_NODE_LIMIT:,} nodes are refused; this one has {count:,} nodes. "
                             "dx.grad and dx.reverse differentiate it without compiling.")
    names = p.variable_names()
    wanted = resolve_wrt(names, wrt)
    if len(wanted) < len(names):
        p = plan(f, wrt=wanted)               # partials nobody asked for are left out, as dx.grad does
    with gc_paused():
        program = write_program(p, f, wanted)
    plan_schedule = None if checkpoints is None else schedule(p, checkpoints)
    return Compiled(f, wanted, p, program, free, backend, decisions, plan_schedule)
