"""Build: formula strings to graph nodes, safely.

The grammar is Python's expression grammar cut down to an allow-list: numbers, names, ``+ - * / ** @``,
unary minus and plus, parentheses and calls of the rule table's functions. The text is split into tokens
by one regular expression and read by an operator-precedence parser with explicit stacks (no recursion,
and not Python's own parser), so a flat sum of 10^5 terms or a formula nested 10^4 levels deep parses
like a short one. Nothing is ever passed to ``eval``. The structure is kept exactly as written
(``1 + x + y`` is ``add(add(1, x), y)``), and the result is made of the same hash-consed nodes the
operators build.

What :func:`diffexplore.formula.formula` prints reads back to the same node, or is refused: a variable
whose name the parser would read as something else (``pi``, a function's name, ``inf``, ``nan``) is
written ``var(pi)``; a number beyond float range, ``inf`` and ``nan`` are refused; so is a formula
shortened for display (it ends in ``…``).
"""

from __future__ import annotations

import math
import re
import sys
from dataclasses import dataclass

from .errors import ParseError
from .graph import Node, constant, gc_paused, variable
from .rules import FUNCTIONS

__all__ = ["parse", "CONSTANTS", "NOT_FINITE", "TRUNCATION_MARK", "is_reserved_name"]

#: Names that stand for numbers rather than variables.
CONSTANTS = {"pi": math.pi}

#: Names of the non-finite floats: a formula never holds them (printed so, they are refused on reading).
NOT_FINITE = ("inf", "nan")

#: The mark at the end of a formula shortened for display; a formula containing it is refused.
TRUNCATION_MARK = "…"

#: The escape for a variable whose name is reserved: ``var(pi)`` is the variable named pi.
VARIABLE_ESCAPE = "var"

_TOKEN = re.compile(r"""
    (?P<space>\s+)
  | (?P<number>(?:[0-9][0-9_]*(?:\.[0-9_]*)?|\.[0-9][0-9_]*)(?:[eE][+-]?[0-9_]+)?[jJ]?)
  | (?P<name>[^\W\d]\w*)
  | (?P<operator>\*\*|[-+*/@])
  | (?P<punctuation>[(),])
  | (?P<other>.)
""", re.VERBOSE | re.DOTALL)

#: Binary operators: (precedence, right-associative, the Node method that builds them).
_BINARY = {"+": (1, False, "__add__"), "-": (1, False, "__sub__"), "*": (2, False, "__mul__"),
           "/": (2, False, "__truediv__"), "@": (2, False, "__matmul__"), "**": (4, True, "__pow__")}
_UNARY_PRECEDENCE = 3
_ALLOWED = "numbers, names, + - * / ** @, parentheses and calls like sin(x)"
_EXCERPT = 60


@dataclass
class _Token:
    kind: str
    text: str
    column: int


@dataclass
class _Operand:
    node: Node
    bare_number: bool        # a number literal as written: a unary minus makes it a negative constant


@dataclass
class _Pending:
    """An operator or bracket waiting on the operator stack."""

    kind: str                # "binary", "unary", "paren" or "call"
    text: str
    column: int
    precedence: int = 0
    operands_below: int = 0  # calls: how many operands were on the stack before the first argument


def is_reserved_name(name: str) -> bool:
    """Whether a variable of this name must be written ``var(name)`` to read back as a variable.

    >>> is_reserved_name("pi"), is_reserved_name("sin"), is_reserved_name("x")
    (True, True, False)
    """
    return name in CONSTANTS or name in NOT_FINITE or name in FUNCTIONS


def _excerpt(text: str, column: int) -> tuple[str, int]:
    """The part of a long text around ``column`` (marked with … where cut) and the column within it."""
    if len(text) <= 2 * _EXCERPT:
        return text, column
    start = max(0, column - _EXCERPT)
    end = min(len(text), column + _EXCERPT)
    head = "…" if start > 0 else ""
    tail = "…" if end < len(text) else ""
    return f"{head}{text[start:end]}{tail}", column - start + len(head)


def _fail(text: str, column: int, message: str) -> ParseError:
    shown, at = _excerpt(text, column)
    return ParseError(f"{message} at column {column + 1}:\n  {shown}\n  {' ' * at}^")


def _functions_list(known: dict) -> str:
    return ", ".join(sorted(known))


def parse(text: str, functions: dict | None = None) -> Node:
    """A formula string as a graph, built from the same shared nodes the operators build.

    ``functions`` adds callables (for example user primitives) under extra names. A variable whose name
    is reserved (``pi``, a function's name, ``inf``, ``nan``) is written ``var(pi)``.

    >>> import diffexplore as dx
    >>> x, y = dx.variables("x y")
    >>> dx.parse("1 + x + exp(sin(x*y))") is 1 + x + dx.exp(dx.sin(x * y))
    True
    >>> dx.parse("2*var(pi)") is 2 * dx.variable("pi")
    True
    >>> dx.parse("x ^ 2")
    Traceback (most recent call last):
    ...
    diffexplore.errors.ParseError: '^' is not a power here; write x**2 at column 3:
      x ^ 2
        ^
    """
    if not isinstance(text, str):
        raise ParseError(f"a formula must be a string, got {type(text).__name__}")
    known = dict(FUNCTIONS)
    if functions:
        known.update(functions)
    stripped = text.strip()
    if not stripped:
        raise ParseError("the formula is empty")
    if TRUNCATION_MARK in stripped:
        raise _fail(stripped, stripped.index(TRUNCATION_MARK),
                    "this formula was shortened for display ('…' marks the cut) and cannot be read back; "
                    "print it in full with dx.formula(f), or the shared form with dx.let_form(f)")
    with gc_paused():                 # many small objects, no cycles: the collector would only rescan
        return _Parser(stripped, known).run()


def _tokens(text: str) -> list[_Token]:
    """The tokens of a formula, whitespace dropped; characters outside the grammar are refused here."""
    tokens = []
    for match in _TOKEN.finditer(text):
        kind, piece, column = match.lastgroup, match.group(), match.start()
        if kind == "space":
            continue
        if kind == "other":
            raise _fail(text, column, _unexpected_character(piece))
        if kind == "number" and match.end() < len(text) and (text[match.end()].isalnum()
                                                             or text[match.end()] == "_"):
            raise _fail(text, column, f"a number runs into a name here ({text[column:match.end() + 1]!r}); "
                                      "write a product with *, like 2*x")
        if kind == "name" and not piece.isidentifier():
            raise _fail(text, column, f"{piece!r} is not a valid name (names are identifiers, like x or x_1)")
        tokens.append(_Token(kind, piece, column))
    return tokens


def _unexpected_character(char: str) -> str:
    if char == "^":
        return "'^' is not a power here; write x**2"
    return f"{char!r} is not allowed in a formula (allowed: {_ALLOWED})"


def _number(text: str, token: _Token) -> Node:
    literal = token.text
    shown = literal if len(literal) <= 30 else f"{literal[:12]}…{literal[-6:]} ({len(literal)} characters)"
    if literal[-1] in "jJ":
        raise _fail(text, token.column, f"complex numbers like {shown} are not allowed in a formula")
    try:
        value = float(literal)
    except ValueError:
        raise _fail(text, token.column, f"{shown} is not a number") from None
    if not math.isfinite(value):
        raise _fail(text, token.column, f"the number {shown} is beyond the range of float64 numbers "
                                        f"(the largest is {sys.float_info.max!r})")
    return constant(value)


class _Parser:
    """An operator-precedence (shunting-yard) reader over the tokens, with explicit stacks."""

    def __init__(self, text: str, known: dict):
        self.text = text
        self.known = known
        self.tokens = _tokens(text)
        self.position = 0
        self.operands: list[_Operand] = []
        self.pending: list[_Pending] = []

    def fail(self, column: int, message: str) -> ParseError:
        return _fail(self.text, column, message)

    def peek(self, offset: int = 0) -> _Token | None:
        index = self.position + offset
        return self.tokens[index] if index < len(self.tokens) else None

    def run(self) -> Node:
        expect_operand = True
        while self.position < len(self.tokens):
            token = self.tokens[self.position]
            self.position += 1
            expect_operand = self.operand(token) if expect_operand else self.operator(token)
        if expect_operand:
            raise self.fail(len(self.text), "the formula ends where a number, a name or '(' should come")
        self.reduce_until_bracket()
        if self.pending:
            raise self.fail(self.pending[-1].column, "this '(' is never closed")
        return self.operands[-1].node

    # ---- where an operand is expected -------------------------------------------------------------------

    def operand(self, token: _Token) -> bool:
        """Read a token that starts an operand; True if an operand is still expected after it."""
        if token.kind == "number":
            self.operands.append(_Operand(_number(self.text, token), True))
            return False
        if token.kind == "name":
            return self.name(token)
        if token.text == "(":
            self.pending.append(_Pending("paren", "(", token.column))
            return True
        if token.text in ("-", "+"):
            self.pending.append(_Pending("unary", token.text, token.column, _UNARY_PRECEDENCE))
            return True
        raise self.fail(token.column, f"expected a number, a name or '(' here, found {token.text!r}")

    def name(self, token: _Token) -> bool:
        following = self.peek()
        called = following is not None and following.text == "("
        if called and token.text == VARIABLE_ESCAPE:
            self.operands.append(_Operand(self.escaped_variable(token), False))
            return False
        if called:
            if token.text not in self.known:
                raise self.fail(token.column, f"unknown function {token.text!r}; known functions: "
                                              f"{_functions_list(self.known)}")
            self.position += 1
            self.pending.append(_Pending("call", token.text, token.column, 0, len(self.operands)))
            closing = self.peek()
            if closing is not None and closing.text == ")":
                self.position += 1
                self.finish_call(self.pending.pop())
                return False
            return True
        self.operands.append(_Operand(self.named_value(token), False))
        return False

    def escaped_variable(self, token: _Token) -> Node:
        """``var(name)``: the variable of that name, whatever the name means elsewhere."""
        name, closing = self.peek(1), self.peek(2)
        if name is None or name.kind != "name" or closing is None or closing.text != ")":
            raise self.fail(token.column, "var(...) holds one variable name, like var(pi)")
        self.position += 3
        return variable(name.text)

    def named_value(self, token: _Token) -> Node:
        name = token.text
        if name in CONSTANTS:
            return constant(CONSTANTS[name])
        if name in NOT_FINITE:
            raise self.fail(token.column, f"{name!r} is not a finite number and a formula holds finite "
                                          f"numbers only (a variable named {name} is written var({name}))")
        if name in self.known:
            raise self.fail(token.column, f"{name!r} is a function; call it, like {name}(x) "
                                          f"(a variable named {name} is written var({name}))")
        return variable(name)

    # ---- where an operator is expected ------------------------------------------------------------------

    def operator(self, token: _Token) -> bool:
        """Read a token that follows an operand; True if an operand is expected after it."""
        if token.kind == "operator":
            precedence, right, _ = _BINARY[token.text]
            self.reduce_while(lambda top: top.precedence > precedence
                              or (top.precedence == precedence and not right))
            self.pending.append(_Pending("binary", token.text, token.column, precedence))
            return True
        if token.text == ",":
            self.reduce_until_bracket()
            if not self.pending or self.pending[-1].kind != "call":
                raise self.fail(token.column, "a comma belongs between a function's arguments, like "
                                              "maximum(x, y)")
            return True
        if token.text == ")":
            return self.close(token)
        found = f"the name {token.text!r}" if token.kind == "name" else repr(token.text)
        raise self.fail(token.column, f"expected an operator (+ - * / ** @), ',' or ')' here, found {found}")

    def close(self, token: _Token) -> bool:
        self.reduce_until_bracket()
        if not self.pending:
            raise self.fail(token.column, "this ')' has no matching '('")
        bracket = self.pending.pop()
        if bracket.kind == "call":
            self.finish_call(bracket)
        else:
            self.operands[-1].bare_number = False      # -(2) is the negation of the constant 2
        return False

    # ---- building nodes ---------------------------------------------------------------------------------

    def reduce_while(self, condition) -> None:
        while self.pending and self.pending[-1].kind in ("binary", "unary") and condition(self.pending[-1]):
            self.apply(self.pending.pop())

    def reduce_until_bracket(self) -> None:
        self.reduce_while(lambda top: True)

    def apply(self, op: _Pending) -> None:
        if op.kind == "unary":
            operand = self.operands.pop()
            if op.text == "+":
                self.operands.append(_Operand(operand.node, False))
            elif operand.bare_number:
                self.operands.append(_Operand(constant(-operand.node.value), False))   # "-2" is -2
            else:
                self.operands.append(_Operand(-operand.node, False))
            return
        right = self.operands.pop().node
        left = self.operands.pop().node
        self.operands.append(_Operand(getattr(left, _BINARY[op.text][2])(right), False))

    def finish_call(self, call: _Pending) -> None:
        args = [operand.node for operand in self.operands[call.operands_below:]]
        del self.operands[call.operands_below:]
        function = self.known[call.text]
        rule = getattr(function, "rule", None)
        if rule is not None and not rule.has_attr and len(args) != rule.arity:
            raise self.fail(call.column, f"{call.text}() takes {rule.arity} argument(s), got {len(args)}")
        try:
            result = function(*args)
        except (TypeError, ValueError) as exc:
            raise self.fail(call.column, f"{call.text}(): {exc}") from None
        self.operands.append(_Operand(result if isinstance(result, Node) else constant(result), False))
