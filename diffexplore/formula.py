"""Show: a graph as formula text, in the syntax :func:`diffexplore.parse` reads back.

Written bottom-up over the topological order (no recursion). A graph with much sharing can be
exponentially long as a formula, so text is cut at ``max_length`` and :func:`let_form` prints the
shared form instead (one line per node, like a straight-line program).
"""

from __future__ import annotations

from .graph import ArrayValue, Node, nodes

__all__ = ["formula", "let_form", "format_number"]


def format_number(value, digits: int = 17) -> str:
    """A constant as text: integers without a trailing ``.0``, others in the shortest exact form.

    >>> format_number(2.0), format_number(0.5), format_number(-1.0)
    ('2', '0.5', '-1')
    """
    if isinstance(value, ArrayValue):
        return f"array{value.array.shape}"
    if isinstance(value, complex):
        return repr(value)
    if float(value).is_integer() and abs(value) < 1e16:
        return str(int(value))
    return repr(float(value)) if digits >= 17 else f"{value:.{digits}g}"


#: Operator symbols written without spaces, as Python's and SymPy's printers write them (``x*y``,
#: ``x**2``); every other infix symbol gets a space on each side (``x + y``, ``W @ x``).
_TIGHT = ("*", "/", "**")


def _joiner(infix: str) -> str:
    return infix if infix in _TIGHT else f" {infix} "


class _TooLong(Exception):
    pass


def _atom(n: Node) -> str:
    if n.rule.name == "var":
        return n.attr[0]
    return format_number(n.attr)


def formula(root: Node, max_length: int | None = None) -> str:
    """The infix formula of a graph, with as few parentheses as the precedences allow.

    >>> from diffexplore import parse
    >>> formula(parse("1 + x + exp(sin(x*y))"))
    '1 + x + exp(sin(x*y))'
    >>> formula(parse("(x - y) - (x - y)**2 / -x"))
    'x - y - (x - y)**2/(-x)'
    """
    text: dict[Node, tuple[str, int]] = {}
    for n in nodes(root):
        rule = n.rule
        if not n.args:
            s = _atom(n)
            prec = 10 if not s.startswith("-") else 3
        elif rule.infix and rule.arity == 2:
            (ls, lp), (rs, rp) = text[n.args[0]], text[n.args[1]]
            prec = rule.precedence
            if rule.infix == "**":     # right-associative: x**y**z is x**(y**z)
                ls = ls if lp > prec else f"({ls})"
                rs = rs if rp >= prec else f"({rs})"
            else:                      # left-associative: a right operand of equal strength keeps brackets
                ls = ls if lp >= prec else f"({ls})"
                rs = rs if rp > prec and rp != 3 else f"({rs})"
            s = f"{ls}{_joiner(rule.infix)}{rs}"
        elif rule.name == "neg":
            inner, ip = text[n.args[0]]
            s = f"-{inner}" if ip > 3 else f"-({inner})"
            prec = 3
        else:
            parts = [text[a][0] for a in n.args]
            if rule.has_attr and n.attr is not None:
                parts.append(repr(n.attr))
            s = f"{rule.name}({', '.join(parts)})"
            prec = 10
        if max_length is not None and len(s) > max_length:
            return s[: max_length - 3] + "..."
        text[n] = (s, prec)
    return text[root][0]


def let_form(root: Node) -> str:
    """The shared form: one line per operation node, leaves inline, names v1, v2, ... in order.

    >>> from diffexplore import parse
    >>> print(let_form(parse("sin(x*y) + cos(x*y)")))
    v1 = x*y
    v2 = sin(v1)
    v3 = cos(v1)
    v4 = v2 + v3
    """
    names: dict[Node, str] = {}
    lines = []
    for n in nodes(root):
        if not n.args:
            names[n] = _atom(n)
            continue
        name = f"v{len(lines) + 1}"
        rule = n.rule
        args = [names[a] for a in n.args]
        if rule.infix and rule.arity == 2:
            expr = _joiner(rule.infix).join(args)
        elif rule.name == "neg":
            expr = f"-{args[0]}"
        else:
            if rule.has_attr and n.attr is not None:
                args.append(repr(n.attr))
            expr = f"{rule.name}({', '.join(args)})"
        lines.append(f"{name} = {expr}")
        names[n] = name
    return "\n".join(lines) if lines else names[root]
