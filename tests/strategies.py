"""Hypothesis strategies: random expressions drawn from the whole scalar rule table.

Domain-restricted primitives get arguments that keep them defined (log and sqrt of 1 + a², a divisor
1 + b², a positive base for a variable exponent), so every draw evaluates; kinks are drawn too, and
tests that use finite differences skip points within a step of a kink (see ``near_kink``).
"""

from __future__ import annotations

import hypothesis.strategies as st

import diffexplore as dx

X, Y, Z = dx.variables("x y z")
VARIABLES = (X, Y, Z)

UNARY = {
    "exp": lambda a: dx.exp(dx.tanh(a)),          # bounded argument: no overflow in deep nests
    "log": lambda a: dx.log(1 + a * a),
    "sin": dx.sin, "cos": dx.cos,
    "tan": lambda a: dx.tan(dx.sin(a)),            # |sin| < pi/2
    "tanh": dx.tanh,
    "sqrt": lambda a: dx.sqrt(1 + a * a),
    "sigmoid": dx.sigmoid, "relu": dx.relu, "abs": dx.abs,
    "neg": lambda a: -a,
    "sign": lambda a: dx.sign(a) * a,              # zero derivative piece times a smooth one
    "step": lambda a: dx.step(a) + a,
}
BINARY = {
    "add": lambda a, b: a + b,
    "sub": lambda a, b: a - b,
    "mul": lambda a, b: a * b,
    "div": lambda a, b: a / (1 + b * b),
    "pow_const": lambda a, b: a ** 2 + b ** 3,
    "pow_real": lambda a, b: (1 + a * a) ** 0.5 * b,
    "pow_var": lambda a, b: (1.5 + dx.sin(a)) ** dx.tanh(b),
    "maximum": dx.maximum, "minimum": dx.minimum,
}
KINKS = {"relu", "abs", "sign", "step", "maximum", "minimum"}


@st.composite
def expressions(draw, max_leaves: int = 6):
    """A random scalar expression over x, y, z and constants, using every primitive above."""
    leaves = draw(st.lists(st.one_of(st.sampled_from(VARIABLES),
                                     st.floats(-2, 2, allow_nan=False).map(lambda c: round(c, 2))),
                           min_size=1, max_size=max_leaves))
    stack = [leaf if isinstance(leaf, dx.Node) else dx.constant(leaf) for leaf in leaves]
    stack[0] = draw(st.sampled_from(VARIABLES))
    while len(stack) > 1 or draw(st.booleans()):
        if len(stack) > 1 and draw(st.booleans()):
            b, a = stack.pop(), stack.pop()
            stack.append(BINARY[draw(st.sampled_from(sorted(BINARY)))](a, b))
        else:
            a = stack.pop()
            stack.append(UNARY[draw(st.sampled_from(sorted(UNARY)))](a))
        if len(stack) == 1 and dx.size(stack[0]).ops > 12:
            break
    return stack[0]


points = st.fixed_dictionaries({name: st.floats(-1.5, 1.5, allow_nan=False) for name in "xyz"})


def near_kink(f: dx.Node, at: dict, margin: float = 1e-4) -> bool:
    """Whether a kink's argument lies within ``margin`` of its switch point (finite differences lie there)."""
    primals = dx.reverse(f, at).primals
    for node in dx.nodes(f):
        if node.op in ("relu", "abs", "sign", "step") and abs(primals[node.args[0]]) < margin:
            return True
        if node.op in ("maximum", "minimum") and abs(primals[node.args[0]] - primals[node.args[1]]) < margin:
            return True
    return False
