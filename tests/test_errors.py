"""Bad input gets a clear error naming what was wrong, where, and what is allowed."""

import pytest

import diffexplore as dx


def test_missing_variable_is_named():
    with pytest.raises(dx.MissingValueError, match="'y'"):
        dx.evaluate(dx.parse("x*y"), {"x": 1.0})


@pytest.mark.parametrize("text, at, op", [
    ("log(x)", {"x": -1.0}, "log"), ("1/x", {"x": 0.0}, "div"), ("sqrt(x)", {"x": -4.0}, "sqrt"),
    ("x**0.5", {"x": -2.0}, "pow"), ("exp(x)", {"x": 1000.0}, "exp"),
])
def test_domain_errors_name_the_node_and_operation(text, at, op):
    with pytest.raises(dx.DomainError, match=op):
        dx.evaluate(dx.parse(text), at)


def test_domain_errors_for_arrays_of_points_too():
    with pytest.raises(dx.DomainError, match="log"):
        dx.evaluate(dx.parse("log(x)"), {"x": [1.0, -1.0]})


def test_derivative_outside_domain_is_reported_not_infinite():
    with pytest.raises(dx.DomainError, match="sqrt"):
        dx.grad(dx.parse("sqrt(x)"), {"x": 0.0})


def test_syntax_error_names_the_column():
    with pytest.raises(dx.ParseError, match="column 5"):
        dx.parse("x + * y")


def test_unknown_function_lists_known_ones():
    with pytest.raises(dx.ParseError, match="unknown function 'sine'.*sin"):
        dx.parse("sine(x)")


@pytest.mark.parametrize("text", ["__import__('os')", "x.real", "[x]", "x if y else 2", "x < y", "'s'"])
def test_parser_rejects_everything_outside_the_allow_list(text):
    with pytest.raises(dx.ParseError):
        dx.parse(text)


def test_caret_is_rejected_with_a_hint():
    with pytest.raises(dx.ParseError, match=r"\*\*"):
        dx.parse("x^2")


def test_unknown_method_and_variable():
    f = dx.parse("x*y")
    with pytest.raises(dx.DiffexploreError, match="methods"):
        dx.grad(f, {"x": 1, "y": 2}, method="magic")
    with pytest.raises(dx.DiffexploreError, match="variables of the graph"):
        dx.grad(f, {"x": 1, "y": 2}, wrt=["z"])
