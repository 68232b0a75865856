"""Text and SymPy round trips that must never build a different function: long formulas parse, printed
formulas read back to the same node (or are refused), shortened formulas are the start of the real one,
deep graphs give clear errors, and SymPy's forms come back faithfully or not at all."""

import math
import time

import hypothesis.strategies as st
import pytest
import sympy as sp
from hypothesis import given

import diffexplore as dx
from diffexplore.cli import main
from diffexplore.formula import format_number
from diffexplore.graph import apply
from diffexplore.rules import FUNCTIONS

from .strategies import X, Y, Z, drawn_primitives, expressions

x, y = dx.variables("x y")


def chain(n: int, start: dx.Node = x) -> dx.Node:
    """l -> sin(l)*l + 0.5, n times: depth 3n, and a tree that doubles at every step."""
    out = start
    for _ in range(n):
        out = dx.sin(out) * out + 0.5
    return out


def sum_of(names: list[str]) -> dx.Node:
    out = dx.variable(names[0])
    for name in names[1:]:
        out = out + dx.variable(name)
    return out


# ---- 1. the parser: long and deep formulas, numbers in range -------------------------------------------


@pytest.mark.parametrize("count", [3000, 100_000])
def test_a_long_flat_sum_of_distinct_variables_parses_to_the_left_nested_chain(count):
    names = [f"x{i}" for i in range(count)]
    assert dx.parse(" + ".join(names)) is sum_of(names)


@pytest.mark.parametrize("text, expected", [
    ("+".join(["x"] * 3000), 3000.0),
    ("*".join(["x"] * 3000), 1.0),
    ("-".join(["x"] * 3000), -2998.0),
    ("/".join(["x"] * 3000), 1.0),
    (" + ".join(["x*x"] * 100_000), 100_000.0),
])
def test_long_flat_sums_and_products_parse_and_evaluate(text, expected):
    f = dx.parse(text)
    assert dx.evaluate(f, {"x": 1.0}) == expected
    assert dx.size(f).depth >= 2999


def test_deeply_nested_calls_and_parentheses_parse():
    f = x
    for _ in range(10_000):
        f = dx.sin(f)
    assert dx.parse("sin(" * 10_000 + "x" + ")" * 10_000) is f
    assert dx.parse("(" * 10_000 + "x + 1" + ")" * 10_000) is x + 1


@pytest.mark.parametrize("text", ["9" * 400, "1e400", "x*1.8e308", "-1e309 + x", "sin(" + "7" * 320 + ")"])
def test_numbers_beyond_float_range_are_a_parse_error(text):
    with pytest.raises(dx.ParseError, match="beyond the range of float64 numbers"):
        dx.parse(text)


@pytest.mark.parametrize("text, built", [
    ("-2**2", lambda: -(dx.constant(2.0) ** 2)),
    ("2**-x", lambda: 2 ** (-x)),
    ("-x*y", lambda: (-x) * y),
    ("x**y**2", lambda: x ** (y ** 2)),
    ("-(2)", lambda: -dx.constant(2.0)),
    ("- 2", lambda: dx.constant(-2.0)),
    ("x - -2", lambda: x - dx.constant(-2.0)),
    ("maximum(x, y) / 2e-3", lambda: dx.maximum(x, y) / 2e-3),
    ("1_000.5 + x", lambda: 1000.5 + x),
])
def test_the_parser_keeps_pythons_precedences(text, built):
    assert dx.parse(text) is built()


@pytest.mark.parametrize("text, message", [
    ("x + * y", "column 5"),
    ("x^2", r"write x\*\*2"),
    ("2x", r"write a product with \*"),
    ("1j*x", "complex numbers"),
    ("sin(x", "never closed"),
    ("x)", "no matching"),
    ("x, y", "comma"),
    ("sin()", "takes 1 argument"),
    ("x if y else z", "expected an operator"),
    ("sin", "is a function; call it"),
    ("var(2)", "one variable name"),
    ("x % 2", "not allowed in a formula"),
])
def test_what_cannot_be_parsed_is_a_parse_error_naming_the_problem(text, message):
    with pytest.raises(dx.ParseError, match=message):
        dx.parse(text)


def test_an_error_in_a_huge_formula_shows_only_the_part_around_it():
    text = " + ".join(f"x{i}" for i in range(50_000)) + " + * y"
    with pytest.raises(dx.ParseError, match="column") as error:
        dx.parse(text)
    assert len(str(error.value)) < 500


# ---- 2. printing then parsing gives the same node, or a clear refusal ----------------------------------


@pytest.mark.parametrize("name", ["pi", "e", "sin", "exp", "sigmoid", "inf", "nan", "var", "lambda", "α"])
def test_variables_with_any_name_read_back_as_the_same_variables(name):
    v = dx.variable(name)
    for f in (v, 2 * v, dx.sin(v) + dx.constant(math.pi) * v, -v, v ** x):
        assert dx.parse(str(f)) is f, str(f)


def test_a_variable_named_like_a_constant_or_function_prints_escaped():
    assert str(dx.variable("pi") * 2) == "var(pi)*2"
    assert str(dx.sin(dx.variable("sin"))) == "sin(var(sin))"
    assert str(dx.variable("e") * 2) == "e*2"          # e is not a constant in formulas: a plain name
    assert dx.parse("2*pi") is dx.constant(2.0) * math.pi


@pytest.mark.parametrize("f", [dx.constant(1e400) * x, x - dx.constant(-1e400), dx.constant(math.nan) + x,
                               dx.sin(dx.constant(math.inf))])
def test_non_finite_constants_print_in_a_form_parse_refuses(f):
    with pytest.raises(dx.ParseError, match="not a finite number"):
        dx.parse(str(f))


def test_complex_constants_print_in_a_form_parse_refuses():
    with pytest.raises(dx.ParseError, match="complex numbers"):
        dx.parse(str(dx.constant(1 + 2j) * x))


@pytest.mark.parametrize("value", [0.1, 1 / 3, -2.5e-300, 5e-324, 1.7976931348623157e308, 2.0 ** 53 + 2,
                                   1e16, 123456789.125, -0.0, math.pi, math.e])
def test_constants_print_with_exact_digits(value):
    f = dx.constant(value) * x
    assert dx.parse(str(f)) is f
    assert float(format_number(value)) == value
    assert math.copysign(1.0, float(format_number(value))) == math.copysign(1.0, value)


@given(st.floats(allow_nan=False, allow_infinity=False))
def test_format_number_reads_back_to_exactly_the_same_float(value):
    text = format_number(value)
    assert float(text) == value and math.copysign(1.0, float(text)) == math.copysign(1.0, value)
    assert dx.parse(text).value == value


@pytest.mark.parametrize("f", [-dx.constant(2.0), -dx.constant(-2.0), dx.constant(-2.0) * x,
                               x + dx.constant(-2.0), x ** dx.constant(-0.5), -(dx.constant(2.0) ** x),
                               (-dx.constant(2.0)) ** x, dx.sin(-dx.constant(0.5))])
def test_negations_and_negative_numbers_read_back_as_written(f):
    assert dx.parse(str(f)) is f, str(f)


@pytest.mark.parametrize("f", [sum_of([f"x{i}" for i in range(3000)]), chain(30)])
def test_a_shortened_str_is_marked_and_parse_refuses_it(f):
    text = str(f)
    assert len(text) == 2000 and text.endswith("…")
    with pytest.raises(dx.ParseError, match="shortened for display"):
        dx.parse(text)


NAMES = ["x", "y", "pi", "e", "sin", "exp", "tanh", "inf", "nan", "var", "lambda", "x_1", "α"]


def renamed(f: dx.Node, names: dict) -> dx.Node:
    """The same graph with its variables renamed (rebuilt bottom-up over the topological order)."""
    built: dict = {}
    for n in dx.nodes(f):
        if n.is_variable:
            built[n] = dx.variable(names[n])
        elif n.is_leaf:
            built[n] = n
        else:
            built[n] = apply(n.rule, *[built[a] for a in n.args], attr=n.attr)
    return built[f]


@st.composite
def printable_graphs(draw):
    """A random expression from the whole rule table, with names from NAMES and any finite constants."""
    f = draw(expressions())
    chosen = draw(st.lists(st.sampled_from(NAMES), min_size=3, max_size=3))
    names = dict(zip((X, Y, Z), chosen, strict=True))
    f = renamed(f, names)
    c = dx.constant(draw(st.floats(allow_nan=False, allow_infinity=False)))
    combine = draw(st.sampled_from([lambda f, c: f * c, lambda f, c: c - f, lambda f, c: f ** -c,
                                    lambda f, c: -c + f, lambda f, c: f]))
    return combine(f, c)


@given(printable_graphs())
def test_printing_then_parsing_gives_back_the_same_node_on_random_expressions(f):
    assert dx.parse(str(f)) is f


# ---- 3. a shortened formula is the start of the whole formula ------------------------------------------


def mlp(layers: int) -> dx.Node:
    h = x
    for k in range(layers):
        h = dx.tanh(dx.variable(f"w{k}") * h + dx.variable(f"b{k}") * dx.sigmoid(y * h))
    return h


@pytest.mark.parametrize("f", [mlp(6), sum_of([f"x{i}" for i in range(400)]), chain(8),
                               dx.diff(mlp(3), "x"), -(x * y) ** 2 + dx.maximum(mlp(2), x) / 3])
@pytest.mark.parametrize("limit", [5, 40, 80, 200, 1000])
def test_a_shortened_formula_is_a_prefix_of_the_full_formula(f, limit):
    full = dx.formula(f)
    short = dx.formula(f, max_length=limit)
    if len(full) <= limit:
        assert short == full
    else:
        assert len(short) == limit and short.endswith("…") and full.startswith(short[:-1])


def test_a_shortened_formula_of_an_exponentially_long_one_is_its_start():
    f = chain(300)                                    # ~2**300 characters written out
    assert dx.formula(f, max_length=100)[:-1] == dx.formula(f, max_length=5000)[:99]
    assert dx.formula(f, max_length=100).startswith("sin(sin(")


# ---- 4. SymPy and deep graphs ----------------------------------------------------------------------------


@pytest.mark.parametrize("convert", [dx.to_sympy, dx.latex, dx.cse_form,
                                     lambda f: dx.simplify(f, timeout=None)])
def test_sympy_steps_on_a_10000_step_chain_give_a_clear_error_naming_its_size(convert):
    f = chain(10_000)
    start = time.perf_counter()
    with pytest.raises(dx.DiffexploreError, match=r"30,000 levels deep \(30,002 nodes\)"):
        convert(f)
    assert time.perf_counter() - start < 10


def test_sympy_steps_work_on_chains_deeper_than_pythons_recursion_limit_allows():
    f = x
    for _ in range(500):             # SymPy recurses past Python's default limit of 1,000 frames here
        f = dx.sin(f)
    assert dx.from_sympy(dx.to_sympy(f)) is f
    assert dx.latex(f).count(r"\sin") == 500


def test_latex_of_an_exponentially_long_expression_names_its_size():
    with pytest.raises(dx.DiffexploreError, match=r"written out as a tree has [\d,]+ nodes"):
        dx.latex(chain(40))


# ---- 5. from_sympy: faithful or refused ----------------------------------------------------------------


@pytest.mark.parametrize("at_zero", [None, 0, 1, sp.Rational(1, 2), sp.Rational(1, 3)])
def test_heaviside_keeps_its_value_at_zero(at_zero):
    s = sp.Symbol("x", real=True)
    h = sp.Heaviside(s) if at_zero is None else sp.Heaviside(s, at_zero)
    f = dx.from_sympy(h)
    for value in (-1.5, 0.0, 2.0):
        assert dx.evaluate(f, {"x": value}) == float(h.subs(s, value))


def test_only_heaviside_with_value_0_at_0_is_step():
    s = sp.Symbol("x", real=True)
    assert dx.from_sympy(sp.Heaviside(s, 0)) is dx.step(x)
    assert dx.from_sympy(sp.Heaviside(s)) is not dx.step(x)
    with pytest.raises(dx.DiffexploreError, match="Heaviside.*finite number h"):
        dx.from_sympy(sp.Heaviside(s, s))


@pytest.mark.parametrize("expr", [sp.oo, -sp.oo, sp.zoo, sp.nan, sp.Integer(10) ** 400, sp.Float("1e400"),
                                  sp.Symbol("x") + sp.oo, -sp.Integer(10) ** 400 * sp.Symbol("x")])
def test_from_sympy_refuses_numbers_that_are_not_finite(expr):
    with pytest.raises(dx.DiffexploreError, match="not a finite float64 number"):
        dx.from_sympy(expr)


@pytest.mark.parametrize("expr, name", [(sp.asinh(sp.Symbol("x")), "asinh"),
                                        (sp.acos(sp.Symbol("x")), "acos"),
                                        (sp.Piecewise((1, sp.Symbol("x") > 0), (0, True)), "Piecewise"),
                                        (sp.I * sp.Symbol("x"), "ImaginaryUnit")])
def test_from_sympy_refuses_other_functions_by_name(expr, name):
    with pytest.raises(dx.DiffexploreError, match=f"no rule for the SymPy function '{name}'"):
        dx.from_sympy(expr)


# ---- 6. simplify of every built-in's derivative comes back ---------------------------------------------


@pytest.mark.parametrize("name", ["cosh", "sinh", "sech", "csch", "coth", "sec", "csc", "cot"])
def test_from_sympy_writes_simplifys_functions_with_the_tables_functions(name):
    s = sp.Symbol("x", real=True)
    expr = getattr(sp, name)(s)
    f = dx.from_sympy(expr)
    for value in (1e-8, 0.3, -1.7, 4.0):
        assert dx.evaluate(f, {"x": value}) == pytest.approx(float(expr.subs(s, value).evalf(30)), rel=1e-14)


POINTS = [{"x": 0.3, "y": 1.7, "z": -0.5}, {"x": 1.3, "y": 0.4, "z": 0.2}, {"x": 0.9, "y": 2.6, "z": 1.1}]


@pytest.mark.parametrize("name", sorted(drawn_primitives()))
def test_simplify_of_every_builtin_derivative_comes_back_and_agrees(name):
    arity = drawn_primitives()[name].arity
    f = FUNCTIONS[name](*dx.variables("x y z")[:arity])
    for wrt in "xyz"[:arity]:
        derivative = dx.diff(f, wrt)
        simple = dx.simplify(derivative)
        for at in POINTS:
            expected = dx.evaluate(derivative, at)
            assert dx.evaluate(simple, at) == pytest.approx(expected, rel=1e-12, abs=1e-300)


@pytest.mark.parametrize("text", ["tanh(x)", "sigmoid(x)", "tanh(sigmoid(x))"])
def test_cli_diff_simplify_prints_the_simplified_derivative(text, capsys):
    assert main(["diff", text, "--wrt", "x", "--simplify"]) == 0
    out = capsys.readouterr().out
    assert "simplified = " in out and "timeout" not in out


# ---- 7. simplify's budget covers the whole call ----------------------------------------------------------


@pytest.mark.parametrize("budget", [0.001, 0.05])
def test_simplify_of_a_large_derivative_stops_promptly_at_its_budget(budget):
    derivative = dx.diff(chain(2000), "x")
    start = time.perf_counter()
    with pytest.raises(dx.SympyTimeout, match="budget"):
        dx.simplify(derivative, timeout=budget)
    assert time.perf_counter() - start < 3


def test_an_error_inside_the_budget_keeps_its_type_and_message():
    with pytest.raises(dx.DiffexploreError, match="not a finite float64 number"):
        dx.simplify(dx.constant(1e400) * x, timeout=30)
