"""Transform: the lines of a compiled program, written from the graph's plan (used by :mod:`.compile`).

The forward sweep is one line per operation of f, in the plan's order. The reverse sweep is the plan's
backward sweep written out: for every chain-rule term ``adjoint[arg] += adjoint[node] * partial``, in the
order the interpreter's sweep (:func:`diffexplore.sweeps.backward_sweep`) takes them, so the compiled
numbers equal the interpreter's to the last bit. What needs no computing at run time is done here, with
the same arithmetic: a partial 1 multiplies nothing, a product or sum of two numbers is written as its
result. A partial that must be computed is written from the rule's own partial applied to placeholder
nodes (``cos(v4)`` for sin), once per rule, with the pruning identities of :mod:`diffexplore.prune`.

An expression is kept as a tuple ``(text, kind, reads, number)``: its text, each value it reads written
as a placeholder ``{name}`` (filled in when the source is written); how it may be used inside another
expression (``kind``: ATOM, a name or a number; CALL or OPERATOR, one operation on atoms, written inline
(an operator in parentheses); NEGATION, ``-name``; COMPOUND, an operation on an inlined one, which gets a
line of its own before anything uses it); the values it reads (ids); and its value when it is a scalar
constant, else None. A value id is a plan slot for f's nodes, then one id per reverse-sweep line.
"""

from __future__ import annotations

import keyword
import math
import operator
import re
from collections.abc import Callable
from typing import Any

import numpy as np

from .graph import PRIMITIVES, Node, Primitive, constant, variable
from .plan import CONSTANT, READ, Plan
from .prune import Folder
from .sweeps import missing_rule, takes_needed

__all__ = ["Program", "write_program", "plain"]

ATOM, CALL, OPERATOR, NEGATION, COMPOUND = range(5)
Expr = tuple        # (text, kind, reads, number)

#: Python's binary operators by symbol. A primitive whose ``infix`` facet is one of these symbols and
#: whose implementation is exactly that operator is written with the symbol (``v1 * v3``).
_PYTHON_OPERATORS = {"+": operator.add, "-": operator.sub, "*": operator.mul, "/": operator.truediv,
                     "**": operator.pow, "@": operator.matmul}
#: Implementations that cannot raise on numbers (Python's + - * and negation): the gradient program may
#: leave out f's lines that run them when the gradient does not use their values.
_CANNOT_FAIL = (operator.add, operator.sub, operator.mul, operator.neg)
#: Names the program uses for its own values; a rule with such a name is called under another one.
RESERVED = re.compile(r"(v|t|c|r)\d+(_bar)?|at|np|s|inputs|loads|stores|results|loaded|part(_\d+)?"
                      r"|value|gradient|value_and_gradient")
#: Markers of a rule template's arguments and temporaries (no program text contains these characters).
_ARGUMENT, _TEMPORARY = "\x00{}\x00", "\x01{}\x01"


class Program:
    """The lines of a compiled program: a forward sweep (lines ``[0, forward)``), then a reverse sweep.

    Line k assigns the value ``targets[k]`` (named ``names[targets[k]]``) the expression ``texts[k]``,
    reads the values ``reads[k]`` and evaluates (forward) or differentiates (reverse) the node in plan
    slot ``plan_slots[k]``. ``value`` and ``gradient`` (by variable name) are the results as expressions;
    ``can_fail`` lists f's lines whose operation can raise; ``inputs`` the variables' names by value id;
    ``step_starts`` where each step of the reverse sweep begins, as (the slot it differentiates, line);
    ``namespace`` holds what the lines call and read by name (the rules' functions, listed in ``rules``
    by name, and the constants not written as numbers).
    """

    def __init__(self, size: int):
        self.names: list[str] = [""] * size
        self.targets: list[int] = []
        self.texts: list[str] = []
        self.reads: list[tuple] = []
        self.plan_slots: list[int] = []
        self.forward = 0
        self.value: Expr = ("", ATOM, (), None)
        self.gradient: dict[str, Expr] = {}
        self.can_fail: list[int] = []
        self.inputs: dict[int, str] = {}
        self.namespace: dict[str, Any] = {"np": np}
        self.rules: dict[str, Primitive] = {}          # the rule each function of the namespace is
        self.step_starts: list[tuple[int, int]] = []    # (slot, first line) of each reverse-sweep step


def write_program(p: Plan, root: Node, wrt: list[str]) -> Program:
    """The program of ``root``'s value and its gradient with respect to ``wrt`` (names), from its plan.

    >>> import diffexplore as dx
    >>> from diffexplore.plan import plan
    >>> f = dx.parse("x*y + sin(x)")
    >>> program = write_program(plan(f), f, ["x", "y"])
    >>> for target, text in zip(program.targets, program.texts):
    ...     print(program.names[target], "=", plain(text))
    v1 = at['x']
    v2 = at['y']
    v3 = v1 * v2
    v4 = sin(v1)
    v5 = v3 + v4
    v1_bar = cos(v1) + v2
    >>> program.gradient
    {'x': ('{v1_bar}', 0, (5,), None), 'y': ('{v1}', 0, (0,), None)}
    """
    writer = _Writer(p)
    writer.forward()
    slot = p.index[root]
    program = writer.program
    program.value = writer.atoms[slot]
    seed = writer.constant_atom(1.0 if not root.shape else np.ones(root.shape))
    adjoints = writer.reverse(slot, seed)
    wanted = set(wrt)
    for i, name, shape in p.variables:
        if name in wanted:
            adjoint = adjoints[i]
            if adjoint is None:
                adjoint = writer.constant_atom(0.0 if not shape else np.zeros(shape))
            program.gradient[name] = writer.settle(i, adjoint)
    program.gradient = {name: program.gradient[name] for name in wrt}
    return program


class _Text:
    """Expressions as text: operations on expressions, the rules' functions and the constants that are
    not written as numbers are entered in the program's namespace."""

    def __init__(self, program: Program, functions: dict[str, str]):
        self.program = program
        self.namespace = program.namespace
        self.functions = functions         # rule name -> its name in the program
        self.forms: dict[Primitive, tuple[int, str]] = {}

    def temporary(self, expression: Expr) -> Expr:
        """The expression on a line of its own; returns its name (an atom)."""
        raise NotImplementedError

    def constant_atom(self, value: Any) -> Expr:
        """A constant: written as a number when it is a finite scalar, else by a name in the namespace."""
        literal = _literal(value)
        if literal is not None:
            return (literal, ATOM, (), value)
        return (self.constant_name(value), ATOM, (), None)

    def constant_name(self, value: Any) -> str:
        name = f"c{len(self.namespace)}"
        self.namespace[name] = value
        return name

    def operation(self, rule: Primitive, args: list[Expr], attr: Any = None) -> Expr:
        """``rule`` applied to ``args``: ``a * b`` for Python's operators, ``-a``, else a call."""
        form = self.forms.get(rule)
        if form is None:
            form = self.forms[rule] = self._form(rule)
        kind, word = form
        if kind == OPERATOR and len(args) == 2:       # the common case, written out
            a, b = args
            if a[1] == COMPOUND:
                a = self.temporary(a)
            if b[1] == COMPOUND:
                b = self.temporary(b)
            text = (a[0] if a[1] <= CALL else f"({a[0]})") + word + (b[0] if b[1] <= CALL else f"({b[0]})")
            return (text, OPERATOR if a[1] == ATOM and b[1] == ATOM else COMPOUND, a[2] + b[2], None)
        args = [a if a[1] != COMPOUND else self.temporary(a) for a in args]
        if kind == OPERATOR:
            text = word + _operand(args[0])
        else:
            texts = [a[0] for a in args]
            if rule.has_attr:
                texts.append(f"attr={self.constant_name(attr)}")
            text = f"{word}({', '.join(texts)})"
        reads: tuple = ()
        for a in args:
            reads += a[2]
            if a[1] != ATOM:
                kind = COMPOUND
        return (text, kind, reads, None)

    def _form(self, rule: Primitive) -> tuple[int, str]:
        """How a rule is written: (OPERATOR, " * ") for Python's operators, (OPERATOR, "-") for negation,
        else (CALL, the name of its function in the program)."""
        symbol = _infix(rule)
        if symbol is not None:
            return OPERATOR, f" {symbol} "
        if rule.name == "neg":
            return OPERATOR, "-"
        return CALL, self.function(rule)

    def function(self, rule: Primitive) -> str:
        """The name the program calls a rule's implementation by (its own name unless that is taken)."""
        function = self.functions.get(rule.name)
        if function is None:
            function = rule.name
            if not function.isidentifier() or keyword.iskeyword(function) or RESERVED.fullmatch(function):
                function = f"op{len(self.functions)}"
            while function in self.namespace and self.namespace[function] is not rule.impl:
                function = f"{function}_"
            self.functions[rule.name] = function
            self.namespace[function] = rule.impl
            self.program.rules[function] = rule
        return function

    def render(self, root: Node, leaf: Callable[[Node], Expr | None]) -> Expr:
        """The expression of a graph a rule built (a partial or a vjp) down to its leaves (``leaf`` gives
        an expression for the nodes it knows, constants are written as numbers or names). A node used
        more than once gets a line of its own; one used once is written inline."""
        known: dict[Node, Expr] = {}
        uses: dict[Node, int] = {}
        post: list[Node] = []
        seen: set[Node] = set()
        stack = [(root, False)]
        while stack:
            node, expanded = stack.pop()
            if expanded:
                post.append(node)
                continue
            if node in seen:
                continue
            seen.add(node)
            atom = leaf(node)
            if atom is None and not node.args:
                atom = self.constant_atom(node.value)
            if atom is not None:
                known[node] = atom
                continue
            stack.append((node, True))
            for arg in reversed(node.args):
                uses[arg] = uses.get(arg, 0) + 1
                stack.append((arg, False))
        for node in post:
            expression = self.operation(node.rule, [known[a] for a in node.args], node.attr)
            if node is not root and uses[node] > 1:
                expression = self.temporary(expression)
            known[node] = expression
        return known[root]


class _Template(_Text):
    """A rule's partial written once with placeholders for its arguments, filled in for every use."""

    def __init__(self, program: Program, functions: dict[str, str]):
        super().__init__(program, functions)
        self.lines: list[tuple] = []       # the temporaries: (text, argument positions, temporary positions)

    def temporary(self, expression: Expr) -> Expr:
        k = len(self.lines)
        self.lines.append(_split_reads(expression[0], expression[2]))
        return (_TEMPORARY.format(k), ATOM, (-1 - k,), None)


def _split_reads(text: str, reads: tuple) -> tuple[str, tuple, tuple]:
    """A template's text and the argument positions (reads >= 0) and temporaries (< 0) it reads."""
    arguments = tuple(sorted({r for r in reads if r >= 0}))
    temporaries = tuple(sorted({-1 - r for r in reads if r < 0}))
    return text, arguments, temporaries


class _Writer(_Text):
    """Writes the lines of a :class:`Program` from a plan."""

    def __init__(self, p: Plan):
        super().__init__(Program(len(p.order)), {})
        self.p = p
        self.atoms: list = [None] * len(p.order)
        self.made_at: list = [0] * len(p.order)       # slot -> the step that last added to its adjoint
        self.numbers: dict[float, Expr] = {}           # the atoms of the partials that are numbers
        self.temporaries = 0
        self.slot = 0
        self.templates: dict[tuple, tuple] = {}
        self.folder = Folder(set())
        self.vjp_folder = Folder(p.index)

    # ---- lines --------------------------------------------------------------------------------------

    def emit(self, target: int, text: str, reads: tuple, slot: int) -> None:
        program = self.program
        program.targets.append(target)
        program.texts.append(text)
        program.reads.append(reads)
        program.plan_slots.append(slot)

    def new_value(self, name: str, expression: Expr, slot: int) -> Expr:
        """A reverse-sweep line ``name = expression``; returns the name as an atom."""
        names = self.program.names
        target = len(names)
        names.append(name)
        self.emit(target, expression[0], expression[2], slot)
        return ("{" + name + "}", ATOM, (target,), None)

    def temporary(self, expression: Expr) -> Expr:
        self.temporaries += 1
        return self.new_value(f"t{self.temporaries}", expression, self.slot)

    def settle(self, i: int, adjoint: Expr) -> Expr:
        """Node i's adjoint as an atom: on a line ``v<k>_bar = ...`` unless it is a name or number. The
        line is the last addition to it, so it belongs to the step that made that addition."""
        if adjoint[1] == ATOM:
            return adjoint
        return self.new_value(f"{self.program.names[i]}_bar", adjoint, self.made_at[i])

    # ---- the forward sweep --------------------------------------------------------------------------

    def forward(self) -> None:
        """One line per variable and operation of f, in the plan's order; constants are atoms."""
        program, atoms, index = self.program, self.atoms, self.p.index
        names, targets, texts, reads, slots = (program.names, program.targets, program.texts, program.reads,
                                               program.plan_slots)
        values = 0
        for i, node in enumerate(self.p.order):
            rule = node.rule
            args = node.args
            if not args and rule.name == "const":
                atoms[i] = self.constant_atom(node.value)
                names[i] = atoms[i][0]
                continue
            values += 1
            names[i] = name = f"v{values}"
            atoms[i] = ("{" + name + "}", ATOM, (i,), None)
            if not args and rule.name == "var":
                program.inputs[i] = node.attr[0]
                text, read = f"at[{node.attr[0]!r}]", ()
            else:
                if rule.impl not in _CANNOT_FAIL:
                    program.can_fail.append(len(texts))
                if len(args) == 2:
                    text, _kind, read, _number = self.operation(rule, [atoms[index[args[0]]],
                                                                       atoms[index[args[1]]]], node.attr)
                else:
                    text, _kind, read, _number = self.operation(rule, [atoms[index[a]] for a in args],
                                                                node.attr)
            targets.append(i)
            texts.append(text)
            reads.append(read)
            slots.append(i)
        program.forward = len(texts)

    # ---- the reverse sweep --------------------------------------------------------------------------

    def reverse(self, root: int, seed: Expr) -> list:
        """The backward sweep over the plan's steps, from the root's seed; returns every node's adjoint
        (None where it is zero). A variable's adjoint gets its line after its last contribution."""
        adjoints: list = [None] * len(self.p.order)
        adjoints[root] = seed
        steps = self.p.partial_steps
        last = self._last_contributions(steps)
        starts = self.program.step_starts
        for i, idx, terms, node in reversed(steps):
            starts.append((i, len(self.program.texts)))
            g = adjoints[i]
            if g is None or (not terms and node is None):
                continue
            self.slot = i
            g = adjoints[i] = self.settle(i, g)
            if terms:
                for _i, j, how, what, first, second, reduce_to, _pos in terms:
                    contribution = self.product(g, self.local(i, idx, how, what, first, second))
                    if reduce_to is not None:
                        contribution = self.operation(PRIMITIVES["sum_to"], [contribution], reduce_to)
                    self.accumulate(adjoints, j, contribution)
            else:
                for j, contribution in self.cotangents(i, idx, node, g):
                    self.accumulate(adjoints, j, contribution)
            for j in idx:
                if last.get(j) == i and adjoints[j] is not None:
                    adjoints[j] = self.settle(j, adjoints[j])
        return adjoints

    def _last_contributions(self, steps: list) -> dict[int, int]:
        """For each variable, the slot of the step that adds the last term to its adjoint."""
        inputs = self.program.inputs
        last: dict[int, int] = {}
        for i, idx, _terms, _node in steps:
            for j in idx:
                if j in inputs and j not in last:
                    last[j] = i
        return last

    def accumulate(self, adjoints: list, j: int, contribution: Expr) -> None:
        previous = adjoints[j]
        adjoints[j] = contribution if previous is None else self.plus(previous, contribution)
        self.made_at[j] = self.slot

    def local(self, i: int, idx: tuple, how: int, what: Any, first: int | None,
              second: int | None) -> Expr:
        """A term's local partial: a number, one of the values, or the rule's partial written out."""
        if how == READ:
            return self.atoms[what]
        if how == CONSTANT:
            atom = self.numbers.get(what) if type(what) is float and what != 0.0 else None
            if atom is None:
                atom = self.numbers[what] = self.constant_atom(what)
            return atom
        if second is not None:
            slots = (first, second, i)
        elif first is not None:
            slots = (first, i)
        else:
            slots = (*idx, i)
        return self.fill(self.template(what, slots), [self.atoms[j] for j in slots])

    def product(self, g: Expr, local: Expr) -> Expr:
        """``g * local`` as the interpreter computes it: numbers multiplied here, a factor 1 left out,
        a factor -1 written as a negation."""
        gn, ln = g[3], local[3]
        if gn is not None and ln is not None:
            folded = _literal(gn * ln)
            if folded is not None:
                return (folded, ATOM, (), gn * ln)
        if type(ln) is float and ln == 1.0:
            return g
        if type(gn) is float and gn == 1.0:
            return local
        if type(ln) is float and ln == -1.0:
            return (f"-{g[0]}", NEGATION, g[2], None)
        return self.operation(PRIMITIVES["mul"], [g, local])

    def plus(self, previous: Expr, contribution: Expr) -> Expr:
        """``previous + contribution``: numbers added here, ``a + (-b)`` written ``a - b``."""
        pn, cn = previous[3], contribution[3]
        if pn is not None and cn is not None:
            folded = _literal(pn + cn)
            if folded is not None:
                return (folded, ATOM, (), pn + cn)
        if contribution[1] == NEGATION:
            negated = (contribution[0][1:], ATOM, contribution[2], None)
            return self.operation(PRIMITIVES["sub"], [previous, negated])
        return self.operation(PRIMITIVES["add"], [previous, contribution])

    def cotangents(self, i: int, idx: tuple, node: Node, g: Expr) -> list[tuple[int, Expr]]:
        """The contributions of an operation the plan gives no terms: the partials of an elementwise
        rule of more than two arguments, or a whole-array rule's vjp applied to nodes (the adjoint a
        placeholder), pruned and written out."""
        rule = node.rule
        if rule.elementwise:
            return self._elementwise_cotangents(i, idx, node, g)
        if rule.vjp is None:
            raise missing_rule(rule, "vjp")
        order, active, index, atoms = self.p.order, self.p.active, self.p.index, self.atoms
        adjoint = constant(g[3]) if g[3] is not None else variable("_dx_compile_adjoint", node.shape)
        options: dict[str, Any] = {"attr": node.attr} if rule.has_attr else {}
        if takes_needed(rule.vjp):
            options["needed"] = tuple([active[j] for j in idx])
        cotangents = rule.vjp(adjoint, *[order[j] for j in idx], order[i], **options)

        def leaf(n: Node) -> Expr | None:
            if n is adjoint and g[3] is None:
                return g
            slot = index.get(n)
            return atoms[slot] if slot is not None else None

        found = []
        for pos, j in enumerate(idx):
            c = cotangents[pos]
            if c is not None and active[j]:
                found.append((j, self.render(self.vjp_folder.fold(c), leaf)))
        return found

    def _elementwise_cotangents(self, i: int, idx: tuple, node: Node, g: Expr) -> list[tuple[int, Expr]]:
        rule = node.rule
        if rule.partials is None:
            raise missing_rule(rule, "partials")
        slots = (*idx, i)
        atoms = [self.atoms[j] for j in slots]
        found = []
        for pos, j in enumerate(idx):
            partial = rule.partials[pos]
            if partial is None or not self.p.active[j]:
                continue
            contribution = self.product(g, self.fill(self.template(partial, slots), atoms))
            if node.args[pos].shape != node.shape:
                contribution = self.operation(PRIMITIVES["sum_to"], [contribution], node.args[pos].shape)
            found.append((j, contribution))
        return found

    # ---- the rules' partials, written once per rule -------------------------------------------------

    def template(self, partial: Callable, slots: tuple) -> tuple:
        """The partial written with placeholders for its arguments and output (a constant argument
        is itself, so the pruning identities fold it): ``(temporaries, root)``."""
        order = self.p.order
        key = (partial, *[order[j] if order[j].rule.name == "const" else order[j].shape for j in slots])
        found = self.templates.get(key)
        if found is None:
            found = self.templates[key] = self._make_template(partial, [order[j] for j in slots])
        return found

    def _make_template(self, partial: Callable, nodes: list[Node]) -> tuple:
        placeholders = {}
        standins = []
        for k, node in enumerate(nodes):
            if node.rule.name == "const":
                standins.append(node)
            else:
                standin = variable(f"_dx_compile_{k}", node.shape)
                placeholders[standin] = (_ARGUMENT.format(k), ATOM, (k,), None)
                standins.append(standin)
        built = self.folder.fold(partial(*standins))
        text = _Template(self.program, self.functions)
        root = text.render(built, placeholders.get)
        return tuple(text.lines), (*_split_reads(root[0], root[2]), root[1], root[3])

    def fill(self, template: tuple, args: list[Expr]) -> Expr:
        """A template with its placeholders replaced by the arguments' names (its temporaries each on
        a line of their own)."""
        lines, (text, positions, temporaries, kind, number) = template
        made: list[Expr] = []
        for line_text, line_positions, line_temporaries in lines:
            made.append(self.temporary(_substitute(line_text, line_positions, line_temporaries, args, made)))
        if number is not None:
            return (text, ATOM, (), number)
        filled = _substitute(text, positions, temporaries, args, made)
        return (filled[0], kind, filled[2], None)


def _substitute(text: str, positions: tuple, temporaries: tuple, args: list[Expr], made: list[Expr]) -> Expr:
    reads: tuple = ()
    for k in positions:
        text = text.replace(_ARGUMENT.format(k), args[k][0])
        reads += args[k][2]
    for k in temporaries:
        text = text.replace(_TEMPORARY.format(k), made[k][0])
        reads += made[k][2]
    return (text, COMPOUND, reads, None)


def plain(text: str) -> str:
    """A line's text with its values' own names (``{v4_bar} * {v3}`` is ``v4_bar * v3``).

    >>> plain("{v4_bar} * cos({v3})")
    'v4_bar * cos(v3)'
    """
    return text.replace("{", "").replace("}", "")


def _operand(expression: Expr) -> str:
    """The expression as an operand of an operator (in parentheses unless a name, number or call)."""
    return expression[0] if expression[1] <= CALL else f"({expression[0]})"


def _infix(rule: Primitive) -> str | None:
    """The operator symbol a primitive is written with (its ``infix`` facet, when its implementation is
    that Python operator, so the program computes exactly what the rule does), or None for a call.

    >>> _infix(PRIMITIVES["mul"]), _infix(PRIMITIVES["pow"])     # pow checks its domain: a call
    ('*', None)
    """
    if rule.infix is not None and rule.arity == 2 and _PYTHON_OPERATORS.get(rule.infix) is rule.impl:
        return rule.infix
    return None


def _literal(value: Any) -> str | None:
    """A scalar constant as Python text (None for arrays and non-finite numbers)."""
    if type(value) is float and math.isfinite(value):
        return repr(value)
    if type(value) is complex and math.isfinite(value.real) and math.isfinite(value.imag):
        return repr(value)
    return None
