"""Evaluation traces: the classic worked example, value by value, against hand-computed math.

f(x1, x2) = ln(x1) + x1·x2 − sin(x2) at (2, 5) is the worked example of Griewank & Walther and of
Baydin et al. (2018, Tables 2 and 3): y = 11.652, ∂y/∂x1 = 1/x1 + x2 = 5.5, ∂y/∂x2 = x1 − cos(x2) = 1.716.
"""

import math
import re
from pathlib import Path

import pytest
from hypothesis import given

import diffexplore as dx
from diffexplore.cli import main
from diffexplore.errors import DiffexploreError, ShapeError
from diffexplore.reports.trace_table import trace_table
from tests.strategies import expressions

EXAMPLE = "log(x1) + x1*x2 - sin(x2)"
AT = {"x1": 2.0, "x2": 5.0}
LN2, SIN5, COS5 = math.log(2.0), math.sin(5.0), math.cos(5.0)


@pytest.fixture(scope="module")
def example():
    return trace_table(EXAMPLE, AT, seed="x1")


def test_worked_example_numbers_inputs_and_operations_as_the_literature(example):
    assert [r.primal_text for r in example.forward_rows] == [
        "v₋₁ = x1", "v₀ = x2", "v₁ = ln v₋₁", "v₂ = v₋₁ × v₀", "v₃ = sin v₀", "v₄ = v₁ + v₂",
        "v₅ = v₄ − v₃", "y = v₅"]
    assert [r.index for r in example.forward_rows] == [-1, 0, 1, 2, 3, 4, 5, None]


def test_worked_example_primal_trace_is_the_hand_computed_one(example):
    expected = {-1: 2.0, 0: 5.0, 1: LN2, 2: 10.0, 3: SIN5, 4: LN2 + 10.0, 5: LN2 + 10.0 - SIN5}
    assert example.primals.keys() == expected.keys()
    for k, value in expected.items():
        assert example.primals[k] == pytest.approx(value, rel=1e-15), k
    assert example.value == pytest.approx(11.652, abs=5e-4)
    assert round(example.primals[1], 3) == 0.693 and round(example.primals[3], 3) == -0.959
    assert round(example.primals[4], 3) == 10.693 and round(example.primals[5], 3) == 11.652


def test_worked_example_tangent_trace_for_seed_x1(example):
    # v̇1 = v̇-1/v-1 = 1/2, v̇2 = v̇-1·v0 + v-1·v̇0 = 5, v̇3 = cos(v0)·v̇0 = 0, v̇4 = 5.5, v̇5 = 5.5.
    expected = {-1: 1.0, 0: 0.0, 1: 0.5, 2: 5.0, 3: 0.0, 4: 5.5, 5: 5.5}
    assert example.tangents == pytest.approx(expected, rel=1e-15)
    assert example.tangent == 5.5
    assert [r.tangent_text for r in example.forward_rows][2:] == [
        "v̇₁ = v̇₋₁/v₋₁", "v̇₂ = v̇₋₁ × v₀ + v̇₀ × v₋₁", "v̇₃ = v̇₀ × cos v₀", "v̇₄ = v̇₁ + v̇₂",
        "v̇₅ = v̇₄ − v̇₃", "ẏ = v̇₅"]


def test_worked_example_tangent_trace_for_seed_x2():
    table = trace_table(EXAMPLE, AT, seed="x2")
    expected = {-1: 0.0, 0: 1.0, 1: 0.0, 2: 2.0, 3: COS5, 4: 2.0, 5: 2.0 - COS5}
    assert table.tangents == pytest.approx(expected, rel=1e-15)
    assert round(table.tangent, 3) == 1.716


def test_worked_example_adjoint_trace_term_by_term(example):
    # Each adjoint line: (receiver, source) -> the term v̄_source · ∂v_source/∂v_receiver, by hand.
    terms = {(4, 5): 1.0, (3, 5): -1.0, (1, 4): 1.0, (2, 4): 1.0, (0, 3): -COS5,
             (-1, 2): 5.0, (0, 2): 2.0, (-1, 1): 0.5}
    lines = [r for r in example.adjoint_rows if r.source is not None]
    assert {(r.index, r.source) for r in lines} == set(terms) and len(lines) == len(terms)
    for r in lines:
        assert r.adds == pytest.approx(terms[(r.index, r.source)], rel=1e-15)
    seed = example.adjoint_rows[0]
    assert (seed.index, seed.text, seed.adjoint) == (5, "v̄₅ = ȳ = 1", 1.0)
    # Fan-out: v-1 feeds ln and ×, v0 feeds × and sin: exactly their second terms accumulate.
    accumulating = [(r.index, r.source) for r in lines if r.accumulates]
    assert sorted(accumulating) == [(-1, 1), (0, 2)]
    texts = [r.text for r in lines]
    assert "v̄₀ += v̄₂ × v₋₁" in texts and "v̄₋₁ += v̄₁/v₋₁" in texts and "v̄₃ = −v̄₅" in texts


def test_worked_example_final_adjoints_are_the_gradient(example):
    expected = {-1: 0.5 + 5.0, 0: 2.0 - COS5, 1: 1.0, 2: 1.0, 3: -1.0, 4: 1.0, 5: 1.0}
    assert example.adjoints == pytest.approx(expected, rel=1e-15)
    closing = example.adjoint_rows[-2:]
    assert [r.text for r in closing] == ["x̄1 = v̄₋₁", "x̄2 = v̄₀"]
    assert closing[0].adjoint == 5.5 and round(closing[1].adjoint, 3) == 1.716
    assert example.gradient == pytest.approx({"x1": 5.5, "x2": 2.0 - COS5}, rel=1e-15)


def test_adjoint_lines_form_a_reverse_sweep(example):
    """A node passes its adjoint on only after every term of it has arrived; running sums add up."""
    propagated, running = set(), {}
    for r in example.adjoint_rows[1:]:
        if r.source is None:
            continue
        assert r.index not in propagated, f"v{r.index} received a term after passing its adjoint on"
        propagated.add(r.source)
        running[r.index] = running.get(r.index, 0.0) + r.adds
        assert r.adjoint == running[r.index]
        assert r.accumulates == (r.text.split()[1] == "+=")


# ---- the printed program computes the printed numbers ---------------------------------------------------

_NAME = re.compile(r"v([\u0307\u0304]?)(₋?[₀-₉]+)")
_DIGITS = str.maketrans("₋₀₁₂₃₄₅₆₇₈₉", "m0123456789")
_FUNCTIONS = {"ln": math.log, "sin": math.sin, "cos": math.cos, "tan": math.tan, "exp": math.exp,
              "tanh": math.tanh, "sqrt": math.sqrt, "sigmoid": lambda a: 1 / (1 + math.exp(-a))}


def _python(text: str) -> str:
    """A trace statement's right-hand side as Python (test-only translation of our own output)."""
    text = _NAME.sub(lambda m: {"": "v_", "\u0307": "t_", "\u0304": "b_"}[m.group(1)]
                     + m.group(2).translate(_DIGITS), text)
    text = text.replace("×", "*").replace("−", "-").replace("^", "**")
    return re.sub(r"\b(ln|sin|cos|tan|exp|tanh|sqrt|sigmoid) (\w+)", r"\1(\2)", text)


def _replay(table) -> tuple[dict, dict]:
    """Run the forward and adjoint statements as a program; return its numbers by variable name."""
    env: dict = dict(_FUNCTIONS)
    for r in table.forward_rows:
        if r.index is None:
            continue
        lhs, rhs = r.primal_text.split(" = ")
        name = _python(lhs)
        if r.node.is_variable:
            env[name], env["t" + name[1:]] = table.point[r.node.name], table.seed.get(r.node.name, 0.0)
            continue
        env[name] = eval(_python(rhs), env)                       # noqa: S307 - our own test output
        env["t" + name[1:]] = eval(_python(r.tangent_text.split(" = ")[1]), env)
    for r in table.adjoint_rows:
        if r.adds is None:
            continue
        if r.source is None:
            env[f"b_{str(r.index).replace('-', 'm')}"] = 1.0
            continue
        lhs, op, rhs = r.text.split(" ", 2)
        name, value = _python(lhs), eval(_python(rhs), env)
        env[name] = env[name] + value if op == "+=" else value
    return env, {k: v for k, v in env.items() if k.startswith(("v_", "t_", "b_"))}


@pytest.mark.parametrize("formula, at", [
    (EXAMPLE, AT),
    ("x*exp(-x*y)/(1 + y**2) - 3*x", {"x": 0.7, "y": -1.3}),
    ("sqrt(x)*tanh(y) - cos(x*y) + sigmoid(x)**2", {"y": 0.4, "x": 1.9}),
    ("x*x*x", {"x": 1.5}),
])
def test_printed_statements_recompute_every_printed_number(formula, at):
    table = trace_table(formula, at)
    _, replayed = _replay(table)
    for k, value in table.primals.items():
        assert replayed[f"v_{str(k).replace('-', 'm')}"] == pytest.approx(value, rel=1e-13)
        tangent = replayed[f"t_{str(k).replace('-', 'm')}"]
        assert tangent == pytest.approx(table.tangents[k], rel=1e-12, abs=1e-15)
    for k, value in table.adjoints.items():
        name = f"b_{str(k).replace('-', 'm')}"
        if name in replayed:
            assert replayed[name] == pytest.approx(value, rel=1e-12, abs=1e-15)


def test_inputs_are_numbered_in_the_order_of_the_point():
    table = trace_table("sqrt(x)*tanh(y)", {"y": 0.4, "x": 1.9})
    assert [r.primal_text for r in table.forward_rows[:2]] == ["v₋₁ = y", "v₀ = x"]
    assert table.seed == {"y": 1.0}


def test_a_variable_named_y_moves_the_output_name():
    table = trace_table("x*y", {"x": 2.0, "y": 3.0})
    assert table.forward_rows[-1].primal_text == "f = v₁"
    assert table.adjoint_rows[0].text == "v̄₁ = f̄ = 1"


def test_evaluation_order_numbers_in_nodes_order():
    table = trace_table(EXAMPLE, AT, order="evaluation")
    assert [r.primal_text for r in table.forward_rows][2:7] == [
        "v₁ = ln v₋₁", "v₂ = v₋₁ × v₀", "v₃ = v₁ + v₂", "v₄ = sin v₀", "v₅ = v₃ − v₄"]


@given(expressions())
def test_tangent_of_each_seed_equals_the_adjoint_of_that_input(f):
    """Forward mode along x (the tangent column) and reverse mode (the adjoint column) agree."""
    at = {"x": 0.37, "y": -0.81, "z": 1.23}
    names = [v.name for v in dx.free_variables(f)]
    for name in names:
        table = trace_table(f, at, seed=name)
        assert table.tangent == pytest.approx(table.gradient[name], rel=1e-9, abs=1e-12)
        numbers = [r.index for r in table.forward_rows if r.index is not None]
        assert numbers == list(range(1 - len(names), len(numbers) - len(names) + 1))
        for r in table.forward_rows:          # straight-line program: each line uses earlier lines only
            right_side = r.primal_text.split(" = ")[1]
            used = [int(m.translate(_DIGITS).replace("m", "-"))
                    for m in re.findall(r"v(₋?[₀-₉]+)", right_side)]
            assert r.index is None or all(u < r.index for u in used)


def test_markdown_and_latex_carry_the_same_trace(example):
    md, tex = example.to_markdown(), example.to_latex()
    assert "| v₂ = v₋₁ × v₀ " in md and "| v̄₀ += v̄₂ × v₋₁ " in md
    for number in ("11.652", "10.693", "0.69315", "-0.95892", "5.5", "1.7163", "-0.28366"):
        assert number in md and number in tex and number in str(example)
    assert r"$v_{3} = \sin v_{0}$" in tex and r"$\bar{v}_{0} += \bar{v}_{2} \times v_{-1}$" in tex
    assert tex.count(r"\begin{tabular}") == 2 and r"\dot{x}_{1} = 1" in tex


def test_trace_rejects_arrays_constants_and_unknown_orders():
    with pytest.raises(ShapeError, match="scalar"):
        trace_table("x*y", {"x": [1.0, 2.0], "y": 3.0})
    with pytest.raises(DiffexploreError, match="no variables"):
        trace_table("2*3", {})
    with pytest.raises(DiffexploreError, match="orders: levels, evaluation"):
        trace_table("x", {"x": 1.0}, order="random")
    with pytest.raises(DiffexploreError, match="not variables"):
        trace_table("x*y", {"x": 1.0, "y": 2.0}, seed="z")


def test_cli_trace_prints_the_table_markdown_and_latex(capsys):
    assert main(["trace", EXAMPLE, "--at", "x1=2,x2=5"]) == 0
    out = capsys.readouterr().out
    assert "v₅ = v₄ − v₃" in out and "11.652" in out and "v̄₋₁ += v̄₁/v₋₁" in out
    assert main(["trace", EXAMPLE, "--at", "x1=2,x2=5", "--seed", "x2", "--format", "md"]) == 0
    assert "| ẏ = v̇₅" in capsys.readouterr().out
    assert main(["trace", EXAMPLE, "--at", "x1=2,x2=5", "--format", "latex"]) == 0
    assert r"\begin{tabular}" in capsys.readouterr().out


def test_cli_trace_reports_a_domain_error_without_traceback(capsys):
    assert main(["trace", "log(x)", "--at", "x=-1"]) == 2
    err = capsys.readouterr().err
    assert "log" in err and "Traceback" not in err


def test_checked_in_gallery_trace_is_current(example):
    """gallery/traces is regenerated by `python -m gallery.build --part traces`; its text is deterministic."""
    gallery = Path(__file__).resolve().parents[1] / "gallery" / "traces"
    assert (gallery / "worked_example_trace.md").read_text(encoding="utf-8") == (
        "# Evaluation trace of the worked example\n\n" + example.to_markdown())
    assert (gallery / "worked_example_trace.tex").read_text(encoding="utf-8") == example.to_latex()
