"""Build: formula strings to graph nodes, safely.

The string is read by Python's :mod:`ast` and only an allow-list of node kinds is accepted: numbers,
names, ``+ - * / **``, unary minus and plus, parentheses and calls of the rule table's functions. Nothing
is ever passed to ``eval``. The structure is kept exactly as written (``1 + x + y`` is
``add(add(1, x), y)``), and the result is made of the same hash-consed nodes the operators build.
"""

from __future__ import annotations

import ast
import math

from .errors import ParseError
from .graph import Node, constant, variable
from .rules import FUNCTIONS

__all__ = ["parse", "CONSTANTS"]

#: Names that stand for numbers rather than variables.
CONSTANTS = {"pi": math.pi}

_BINARY = {ast.Add: "__add__", ast.Sub: "__sub__", ast.Mult: "__mul__", ast.Div: "__truediv__",
           ast.Pow: "__pow__", ast.MatMult: "__matmul__"}


def _fail(text: str, node: ast.AST | None, message: str) -> ParseError:
    col = getattr(node, "col_offset", 0) if node is not None else 0
    caret = " " * col + "^"
    return ParseError(f"{message} at column {col + 1}:\n  {text}\n  {caret}")


def _functions_list() -> str:
    return ", ".join(sorted(FUNCTIONS))


def parse(text: str, functions: dict | None = None) -> Node:
    """A formula string as a graph, built from the same shared nodes the operators build.

    ``functions`` adds callables (for example user primitives) under extra names.

    >>> import diffexplore as dx
    >>> x, y = dx.variables("x y")
    >>> dx.parse("1 + x + exp(sin(x*y))") is 1 + x + dx.exp(dx.sin(x * y))
    True
    >>> dx.parse("x ^ 2")
    Traceback (most recent call last):
    ...
    diffexplore.errors.ParseError: '^' is not a power here; write x**2 at column 1:
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
    try:
        tree = ast.parse(stripped, mode="eval")
    except SyntaxError as exc:
        col = (exc.offset or 1) - 1
        caret = " " * col + "^"
        raise ParseError(f"syntax error ({exc.msg}) at column {col + 1}:\n  {stripped}\n  {caret}") from None

    results: dict[int, object] = {}
    stack: list[tuple[ast.AST, bool]] = [(tree.body, False)]
    while stack:                                       # iterative post-order over the syntax tree
        item, expanded = stack.pop()
        if not expanded:
            stack.append((item, True))
            for child in reversed(_children(stripped, item, known)):
                stack.append((child, False))
            continue
        results[id(item)] = _build(stripped, item, results, known)
    return _as_node(results[id(tree.body)])


def _children(text: str, item: ast.AST, known: dict) -> list[ast.AST]:
    if isinstance(item, ast.BinOp):
        if type(item.op) not in _BINARY:
            if isinstance(item.op, ast.BitXor):
                raise _fail(text, item, "'^' is not a power here; write x**2")
            raise _fail(text, item, f"the operator {type(item.op).__name__} is not allowed "
                                    "(allowed: + - * / ** @)")
        return [item.left, item.right]
    if isinstance(item, ast.UnaryOp):
        if not isinstance(item.op, (ast.USub, ast.UAdd)):
            raise _fail(text, item, "only unary - and + are allowed")
        return [item.operand]
    if isinstance(item, ast.Call):
        if not isinstance(item.func, ast.Name):
            raise _fail(text, item, "only calls of named functions are allowed, like sin(x)")
        if item.func.id not in known:
            raise _fail(text, item,
                        f"unknown function {item.func.id!r}; known functions: {_functions_list()}")
        if item.keywords:
            raise _fail(text, item, f"{item.func.id}() takes no keyword arguments here")
        return list(item.args)
    if isinstance(item, ast.Name):
        return []
    if isinstance(item, ast.Constant):
        if isinstance(item.value, bool) or not isinstance(item.value, (int, float)):
            raise _fail(text, item, f"only numbers are allowed as constants, not {item.value!r}")
        return []
    raise _fail(text, item, f"{type(item).__name__} is not allowed in a formula "
                            "(allowed: numbers, names, + - * / **, calls like sin(x))")


def _as_node(value) -> Node:
    return value if isinstance(value, Node) else constant(value)


def _build(text: str, item: ast.AST, results: dict, known: dict):
    if isinstance(item, ast.Constant):
        return constant(float(item.value))
    if isinstance(item, ast.Name):
        if item.id in CONSTANTS:
            return constant(CONSTANTS[item.id])
        if item.id in known:
            raise _fail(text, item, f"{item.id!r} is a function; call it, like {item.id}(x)")
        return variable(item.id)
    if isinstance(item, ast.UnaryOp):
        operand = _as_node(results[id(item.operand)])
        if isinstance(item.op, ast.UAdd):
            return operand
        if operand.is_constant and isinstance(item.operand, ast.Constant):
            return constant(-operand.value)           # "-2" is the number -2
        return -operand
    if isinstance(item, ast.BinOp):
        left = _as_node(results[id(item.left)])
        right = results[id(item.right)]
        return getattr(left, _BINARY[type(item.op)])(right)
    if isinstance(item, ast.Call):
        function = known[item.func.id]
        args = [results[id(a)] for a in item.args]
        rule = getattr(function, "rule", None)
        if rule is not None and not rule.has_attr and len(args) != rule.arity:
            raise _fail(text, item, f"{item.func.id}() takes {rule.arity} argument(s), got {len(args)}")
        try:
            return function(*args)
        except (TypeError, ValueError) as exc:
            raise _fail(text, item, f"{item.func.id}(): {exc}") from None
    raise _fail(text, item, f"{type(item).__name__} is not allowed")  # pragma: no cover
