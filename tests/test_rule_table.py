"""The rule table is the one list of primitives: the test strategies draw every built-in elementwise
primitive from it, and each record's facets (its NumPy and SymPy functions, its LaTeX name) are the
primitive itself."""

from __future__ import annotations

import itertools
import math
import re

import numpy as np
import pytest
import sympy as sp

import diffexplore as dx
from diffexplore.graph import PRIMITIVES
from diffexplore.rules import FUNCTIONS

from .strategies import BINARY, UNARY, WRAPPERS

GRID = (-1.5, -0.6, 0.0, 0.4, 1.5)


def builtin_elementwise_primitives() -> list[str]:
    """Every public built-in primitive with scalar partials (the elementwise ones), from the rule table."""
    return [name for name, function in FUNCTIONS.items()
            if not function.rule.user_defined and function.rule.partials is not None]


def test_strategies_draw_every_builtin_elementwise_primitive():
    x, y = dx.variables("x y")
    drawn = set()          # a building block named "name" or "name_variant" must use the primitive "name"
    for variant, builder in [*UNARY.items(), *BINARY.items()]:
        graph = builder(x) if variant in UNARY else builder(x, y)
        name = variant if variant in PRIMITIVES else variant.rsplit("_", 1)[0]
        if name in {n.op for n in dx.nodes(graph)}:
            drawn.add(name)
    missing = [name for name in builtin_elementwise_primitives() if name not in drawn]
    assert not missing, (f"tests/strategies.py draws no {missing}: every elementwise primitive of the rule "
                         "table must be drawn (give it a domain-safe wrapper in WRAPPERS if it needs one)")


def test_every_wrapper_belongs_to_a_primitive_of_the_table():
    assert set(WRAPPERS) <= set(builtin_elementwise_primitives())


@pytest.mark.parametrize("variant", sorted(UNARY) + sorted(BINARY))
def test_every_drawn_building_block_is_defined_where_points_are_drawn(variant):
    x, y = dx.variables("x y")
    f = UNARY[variant](x) if variant in UNARY else BINARY[variant](x, y)
    for a, b in itertools.product(GRID, GRID):
        value = dx.evaluate(f, {"x": a, "y": b})     # a DomainError here needs a wrapper in WRAPPERS
        assert math.isfinite(value), (variant, a, b)


def rules_with(facet: str) -> list:
    return [rule for rule in PRIMITIVES.values() if getattr(rule, facet) is not None and rule.partials
            and not rule.user_defined]


@pytest.mark.parametrize("rule", rules_with("numpy"), ids=lambda rule: rule.name)
def test_the_numpy_facet_computes_what_the_primitive_computes(rule):
    for args in itertools.product(GRID, repeat=rule.arity):
        with np.errstate(all="ignore"):
            expected = rule.impl(*[np.float64(a) for a in args])
            got = rule.numpy(*args)
        np.testing.assert_allclose(got, expected, rtol=1e-15, equal_nan=True)


@pytest.mark.parametrize("rule", [rule for rule in rules_with("sympy") if isinstance(rule.sympy, str)],
                         ids=lambda rule: rule.name)
def test_the_sympy_facet_computes_what_the_primitive_computes(rule):
    symbols = [sp.Symbol(f"a{k}", real=True) for k in range(rule.arity)]
    expression = getattr(sp, rule.sympy)(*symbols)
    for args in itertools.product((0.4, 1.5), repeat=rule.arity):
        expected = rule.impl(*args)
        got = float(expression.subs(dict(zip(symbols, args, strict=True))))
        assert got == pytest.approx(expected, rel=1e-14)


@pytest.mark.parametrize("rule", rules_with("latex"), ids=lambda rule: rule.name)
def test_the_latex_facet_is_a_latex_command(rule):
    assert re.fullmatch(r"\\[A-Za-z]+(\{[^}]*\})?(\^\{[^}]*\})?", rule.latex)
