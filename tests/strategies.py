"""Hypothesis strategies: random expressions drawn from the whole scalar rule table.

Every public elementwise built-in primitive of the rule table is drawn (``tests/test_rule_table.py``
fails when one is not). Domain-restricted primitives are drawn through a wrapper that keeps them defined
(log and sqrt of 1 + a², a divisor 1 + b², a positive base for a variable exponent), so every draw
evaluates; kinks are drawn too, and tests that use finite differences skip points within a step of a
kink (see ``near_kink``).
"""

from __future__ import annotations

import functools
from collections.abc import Callable

import hypothesis.strategies as st

import diffexplore as dx
from diffexplore.graph import PRIMITIVES, Primitive
from diffexplore.rules import FUNCTIONS

X, Y, Z = dx.variables("x y z")
VARIABLES = (X, Y, Z)

#: Domain-safe ways to draw a primitive, by its name: the variants' names and builders (each called with
#: the primitive's function and its operands). A primitive not listed is drawn as it is.
WRAPPERS: dict[str, dict[str, Callable]] = {
    "exp": {"exp": lambda exp, a: exp(dx.tanh(a))},           # bounded argument: no overflow in deep nests
    "log": {"log": lambda log, a: log(1 + a * a)},
    "tan": {"tan": lambda tan, a: tan(dx.sin(a))},            # |sin| < pi/2
    "sqrt": {"sqrt": lambda sqrt, a: sqrt(1 + a * a)},
    "sign": {"sign": lambda sign, a: sign(a) * a},            # zero derivative piece times a smooth one
    "step": {"step": lambda step, a: step(a) + a},
    "div": {"div": lambda div, a, b: div(a, 1 + b * b)},
    "log1p": {"log1p": lambda log1p, a: log1p(a * a)},
    "expm1": {"expm1": lambda expm1, a: expm1(dx.tanh(a))},
    "sinh": {"sinh": lambda sinh, a: sinh(dx.tanh(a))},
    "cosh": {"cosh": lambda cosh, a: cosh(dx.tanh(a))},
    # Its derivative is zero by definition while differences see its value: drawn where that cannot
    # show (times zero), beside the argument's own contribution.
    "stop_gradient": {"stop_gradient": lambda stop_gradient, a: stop_gradient(a) * 0.0 + a},
    # Three operands: drawn as a binary building block (a select on a comparison of the two).
    "select": {"select": lambda select, a, b: select(dx.greater(a, b), a * b, a + b)},
    "pow": {"pow_const": lambda power, a, b: power(a, 2) + power(b, 3),
            "pow_real": lambda power, a, b: power(1 + a * a, 0.5) * b,
            "pow_var": lambda power, a, b: power(1.5 + dx.sin(a), dx.tanh(b))},
}
#: Primitives with a kink (a point where the derivative jumps): finite differences lie near it.
KINKS = {"relu", "abs", "sign", "step", "maximum", "minimum",
         "greater", "greater_equal", "less", "less_equal", "equal", "not_equal"}


def drawn_primitives() -> dict[str, Primitive]:
    """The primitives the strategies draw: every public elementwise built-in of the rule table, by name."""
    return {name: PRIMITIVES[name] for name, function in FUNCTIONS.items()
            if name in PRIMITIVES and function.rule is PRIMITIVES[name] and not function.rule.user_defined
            and function.rule.partials is not None and not function.rule.has_attr}


def _builders(arity: int) -> dict[str, Callable]:
    """Variant name -> builder of an expression from ``arity`` operands, for the drawn primitives."""
    builders: dict[str, Callable] = {}
    for name, rule in drawn_primitives().items():
        if rule.arity != arity and not (arity == 2 and rule.arity > 2 and name in WRAPPERS):
            continue
        function = FUNCTIONS[name]
        for variant, wrapper in WRAPPERS.get(name, {name: None}).items():
            builders[variant] = function if wrapper is None else functools.partial(wrapper, function)
    return builders


UNARY = _builders(1)
BINARY = _builders(2)


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
        if node.op in KINKS and node.rule.arity == 1 and abs(primals[node.args[0]]) < margin:
            return True
        if node.op in KINKS and node.rule.arity == 2 and \
                abs(primals[node.args[0]] - primals[node.args[1]]) < margin:
            return True
    return False
