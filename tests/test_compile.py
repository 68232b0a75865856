"""dx.compile: the compiled straight-line program computes what the interpreters compute (value and
gradient, at one point and at many points at once), what hand-derived formulas and worked examples of
the AD literature give, and reads as a forward sweep followed by a reverse sweep, one line per node."""

import importlib
import math
import re

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import diffexplore as dx

from .strategies import expressions, points

SEED = "1 + x + exp(sin(x*y))"


def close(a, b, rel=1e-12, abs_=1e-12):
    return np.allclose(np.asarray(a, dtype=complex), np.asarray(b, dtype=complex), rtol=rel, atol=abs_)


@given(expressions(), points)
def test_compiled_value_and_gradient_equal_the_interpreters_on_random_expressions(f, at):
    """Every primitive of the scalar rule table, compiled, against dx.evaluate and reverse mode."""
    c = dx.compile(f)
    want = dx.reverse(f, at, record=False)
    value, gradient = c.value_and_gradient(at)
    assert close(c(at), want.value)
    assert close(value, want.value)
    for name in want.gradient:
        assert close(gradient[name], want.gradient[name])
        assert close(c.gradient(at)[name], want.gradient[name])


@given(expressions(), st.integers(0, 2**32 - 1))
def test_one_call_at_many_points_equals_the_interpreter_point_by_point(f, seed):
    """A batch of 40 points in one call equals 40 separate scalar interpreter runs."""
    rng = np.random.default_rng(seed)
    batch = {name: rng.uniform(-1.5, 1.5, 40) for name in "xyz"}
    c = dx.compile(f)
    values, gradients = c.value_and_gradient(batch)
    for k in range(40):
        point = {name: float(batch[name][k]) for name in "xyz"}
        want = dx.reverse(f, point, record=False)
        assert close(np.broadcast_to(values, (40,))[k], want.value)
        for name, g in want.gradient.items():
            assert np.shape(gradients[name]) == (40,)
            assert close(gradients[name][k], g)


@pytest.mark.parametrize("x, y", [(1.0, 2.0), (0.3, -0.7), (-2.5, 1.25), (0.0, 4.0)])
def test_seed_example_gradient_matches_the_articles_formulas(x, y):
    """df/dx = 1 + exp(sin(xy)) cos(xy) y and df/dy = exp(sin(xy)) cos(xy) x."""
    common = math.exp(math.sin(x * y)) * math.cos(x * y)
    gradient = dx.compile(SEED).gradient({"x": x, "y": y})
    assert gradient["x"] == pytest.approx(1 + common * y, rel=1e-14)
    assert gradient["y"] == pytest.approx(common * x, rel=1e-14, abs=1e-300)
    assert dx.compile(SEED)({"x": x, "y": y}) == pytest.approx(1 + x + math.exp(math.sin(x * y)), rel=1e-15)


def test_griewank_worked_example():
    """Griewank & Walther's example f = ln(x1) + x1·x2 − sin(x2) at (2, 5): value 11.652..., gradient
    (1/x1 + x2, x1 − cos x2) = (5.5, 1.7163378145367738)."""
    c = dx.compile("log(x1) + x1*x2 - sin(x2)")
    value, gradient = c.value_and_gradient({"x1": 2.0, "x2": 5.0})
    assert value == pytest.approx(math.log(2.0) + 10.0 - math.sin(5.0), rel=1e-15)
    assert gradient["x1"] == pytest.approx(5.5, rel=1e-15)
    assert gradient["x2"] == pytest.approx(2.0 - math.cos(5.0), rel=1e-15)


def test_logistic_map_gradient_follows_the_chain_rule_recurrence():
    """l_k = 4 l (1 − l): dl_k/dx = 4 (1 − 2 l_{k−1}) dl_{k−1}/dx, at a batch of points."""
    f = dx.reports.families.logistic(6)
    xs = np.linspace(0.05, 0.95, 19)
    value, tangent = xs.copy(), np.ones_like(xs)
    for _ in range(6):
        value, tangent = 4 * value * (1 - value), 4 * (1 - 2 * value) * tangent
    got_value, got = dx.compile(f).value_and_gradient({"x": xs})
    assert np.allclose(got_value, value, rtol=1e-12)
    assert np.allclose(got["x"], tangent, rtol=1e-11)


def _assigned(source: str) -> list[str]:
    return re.findall(r"^    (\w+) = ", source, flags=re.M)


def test_source_is_a_forward_sweep_then_a_reverse_sweep_with_one_line_per_node():
    f = dx.parse(SEED)
    source = dx.compile(f, free=False).listing
    forward_at = source.index("# forward sweep")
    reverse_at = source.index("# reverse sweep")
    assert forward_at < reverse_at
    forward_names = _assigned(source[:reverse_at])
    operations_and_variables = [n for n in dx.nodes(f) if n.op != "const"]
    assert len(forward_names) == len(operations_and_variables)       # one line per node of f
    assert forward_names == [f"v{k}" for k in range(1, len(forward_names) + 1)]
    reverse_names = _assigned(source[reverse_at:])
    assert {"v1_bar", "v3_bar"} <= set(reverse_names)                 # the adjoints of x and y
    assert "return v7, {'x': v1_bar, 'y': v3_bar}" in source


def test_shared_subexpressions_are_computed_once():
    """x*y is used four times (inside sin, cos and twice as a factor) and computed on one line."""
    source = dx.compile("sin(x*y) + cos(x*y) * (x*y) + x*y", free=False).listing
    names = _assigned(source)
    assert len(names) == len(set(names))                              # every name assigned once
    products = [line for line in source.splitlines() if re.fullmatch(r"\s+v\d+ = v1 \* v\d+", line)]
    assert len(products) == 1


def test_partials_that_are_numbers_fold_away():
    """d(3x + y)/dx is the number 3: no multiplication by 1 and no adjoint line is needed for it."""
    c = dx.compile("3*x + y", free=False)
    assert c.gradient({"x": 1.0, "y": 2.0}) == {"x": 3.0, "y": 1.0}
    assert "* 1.0" not in c.listing


def test_source_is_the_same_text_for_the_same_graph():
    first = dx.compile(SEED).listing
    assert dx.compile(dx.parse(SEED)).listing == first
    assert "#" not in first.split("def value_and_gradient(at):")[0]


def test_free_writes_del_after_last_use_and_changes_no_number():
    freed, kept = dx.compile(SEED), dx.compile(SEED, free=False)
    assert "del " in freed.listing and "del " not in kept.listing
    at = {"x": np.linspace(-1, 1, 7), "y": 0.5}
    for name, value in freed.gradient(at).items():
        assert np.array_equal(value, kept.gradient(at)[name])


def test_gradient_of_a_constant_partial_has_one_entry_per_point():
    """f = 2x + y at 5 points: the gradient is (2, 1) at every point, as dx.grad gives it."""
    at = {"x": np.arange(5.0), "y": np.ones(5)}
    gradient = dx.compile("2*x + y").gradient(at)
    assert np.array_equal(gradient["x"], np.full(5, 2.0))
    assert np.array_equal(gradient["y"], np.ones(5))
    interpreted = dx.grad(dx.parse("2*x + y"), at)
    assert np.array_equal(gradient["x"], interpreted["x"])


def test_array_variables_compile_like_the_interpreter():
    """A small array function (matmul, broadcasting, tanh, sum) against reverse mode."""
    W = dx.variable("W", shape=(3, 4))
    v = dx.variable("v", shape=(4,))
    b = dx.variable("b", shape=(3,))
    f = dx.sum(dx.tanh(W @ v + b) ** 2)
    rng = np.random.default_rng(3)
    at = {"W": rng.normal(size=(3, 4)), "v": rng.normal(size=4), "b": rng.normal(size=3)}
    want = dx.reverse(f, at).gradient
    got = dx.compile(f).gradient(at)
    for name in want:
        assert got[name].shape == want[name].shape
        assert np.allclose(got[name], want[name], rtol=1e-12, atol=1e-14)


def test_wrt_chooses_the_variables_and_names_unknown_ones():
    c = dx.compile("x*y*z", wrt="x z")
    assert c.gradient({"x": 2.0, "y": 3.0, "z": 5.0}) == {"x": 15.0, "z": 6.0}
    with pytest.raises(dx.DiffexploreError, match="'w'.*its variables: x, y, z"):
        dx.compile("x*y*z", wrt=["w"])


def test_a_point_outside_the_domain_names_the_node_even_when_only_the_gradient_is_asked():
    c = dx.compile("log(x) + x")
    with pytest.raises(dx.DomainError, match=r"log\(x\)"):
        c.gradient({"x": -1.0})
    with pytest.raises(dx.DomainError, match="log"):
        c({"x": np.array([1.0, -1.0])})


def test_a_missing_value_names_the_variable():
    with pytest.raises(dx.MissingValueError, match="'y'"):
        dx.compile("x*y").gradient({"x": 1.0})


@given(expressions(max_leaves=4), points)
def test_complex_step_through_the_compiled_value(f, at):
    """Complex numbers pass through: Im f(x + ih)/h equals ∂f/∂x (h = 1e-20), away from kinks."""
    from .strategies import near_kink
    if near_kink(f, at) or any(n.op in ("relu", "abs", "sign", "step", "maximum", "minimum")
                               for n in dx.nodes(f)):
        return
    h = 1e-20
    shifted = dict(at, x=complex(at["x"], h))
    slope = complex(dx.compile(f)(shifted)).imag / h
    assert slope == pytest.approx(dx.grad(f, at, wrt=None).get("x", 0.0), rel=1e-9, abs=1e-12)


# ---- long programs: parts of CHUNK_LINES lines, values passed between them through a list -------------

compile_chunks = importlib.import_module("diffexplore.compile_chunks")


def same(a, b) -> bool:
    """Equal to the last bit (NaN equal to NaN), numbers and arrays alike."""
    return bool(np.array_equal(a, b, equal_nan=True))


def compiled_equals_interpreter(f, at, free=True) -> None:
    """Value, gradient and both at once, compiled, are the interpreter's numbers to the last bit."""
    c = dx.compile(f, free=free)
    want = dx.reverse(f, at, record=False)
    value, gradient = c.value_and_gradient(at)
    assert same(value, want.value) and same(c(at), want.value)
    only_gradient = c.gradient(at)
    for name, expected in want.gradient.items():
        assert same(gradient[name], expected) and same(only_gradient[name], expected), name


@given(expressions(), points, st.sampled_from([None, 1, 2, 7]), st.booleans())
def test_compiled_numbers_are_the_interpreters_to_the_last_bit_across_parts(f, at, chunk, free):
    """The same operations in the same order give the same floats: with one function (None) and split
    into parts of 1, 2 or 7 lines, whose values cross from part to part through the list s."""
    with pytest.MonkeyPatch.context() as patch:
        if chunk is not None:
            patch.setattr(compile_chunks, "CHUNK_LINES", chunk)
        compiled_equals_interpreter(f, at, free)


def random_graph(size: int, seed: int) -> dx.Node:
    """A random DAG over x, y, z whose operations read values made far before them (so values cross
    many parts): each new node applies a random primitive to two random earlier nodes."""
    rng = np.random.default_rng(seed)
    made = list(dx.variables("x y z"))
    binary = [lambda a, b: a * b, lambda a, b: a + b, lambda a, b: a - b, lambda a, b: a / (1 + b * b)]
    unary = [dx.sin, dx.tanh, lambda a: dx.exp(dx.tanh(a)), lambda a: dx.log(1 + a * a)]
    while len(made) < size:
        a, b = (made[int(k)] for k in rng.integers(0, len(made), 2))
        made.append(binary[rng.integers(len(binary))](a, b) if rng.random() < 0.6
                    else unary[rng.integers(len(unary))](a))
    return sum(made[-5:], made[-6])


@pytest.mark.parametrize("chunk", [3, 7, 50])
@pytest.mark.parametrize("seed", [0, 1, 2])
def test_random_graphs_split_into_parts_give_the_interpreters_numbers(monkeypatch, chunk, seed):
    monkeypatch.setattr(compile_chunks, "CHUNK_LINES", chunk)
    f = random_graph(150, seed)
    compiled_equals_interpreter(f, {"x": 0.3, "y": -0.7, "z": 1.1})
    compiled_equals_interpreter(f, {"x": np.linspace(-1, 1, 4), "y": -0.7, "z": np.full(4, 1.1)})
    compiled_equals_interpreter(f, {"x": 0.3, "y": -0.7, "z": 1.1}, free=False)


def test_a_long_program_is_a_main_function_calling_parts_and_alike_parts_compile_once(monkeypatch):
    """A loop unrolled 60 times, in parts of 7 lines: the main function loads the variables, calls each
    part on the values it reads and stores what later parts read; parts with the same source (the same
    steps of the loop) are one function."""
    monkeypatch.setattr(compile_chunks, "CHUNK_LINES", 7)
    x = dx.variable("x")
    f = x
    for _ in range(60):
        f = dx.sin(f) * f + 0.5
    c = dx.compile(f)
    source = c.listing
    assert source.startswith("def value_and_gradient(at):\n    s = [None] * ")
    assert "    s[0:1] = inputs(at)\n" in source and source.count("    return results(s)\n") == 1
    calls = re.findall(r"^    s\[stores\[\d+\]\] = (part_\d+)\(loads\[\d+\]\(s\)\)$", source, flags=re.M)
    defined = re.findall(r"^def (part_\d+)\(loaded\):$", source, flags=re.M)
    assert len(calls) > 40 and sorted(set(calls)) == sorted(defined) and len(defined) < len(calls) / 3
    assert "del " not in source            # values take turns in r1, r2, ...: reusing a name frees one
    value, gradient = c.value_and_gradient({"x": 0.3})
    assert value == dx.evaluate(f, {"x": 0.3}) and gradient == dx.grad(f, {"x": 0.3})


def test_many_variables_split_into_parts_keep_every_gradient_entry():
    """A scalar tanh network of 1,000 layers (3,000 variables, 5,000 nodes) is split into parts at the
    default size; every one of its 3,000 gradient entries is the interpreter's."""
    f = dx.reports.families.mlp(1000)
    at = dx.reports.families.mlp_point(1000)
    c = dx.compile(f)
    assert "def part_1(loaded):" in c.listing
    value, gradient = c.value_and_gradient(at)
    assert value == dx.evaluate(f, at) and gradient == dx.grad(f, at)
    assert list(gradient) == list(dx.grad(f, at))


def test_a_failure_inside_a_part_names_its_line_and_node(monkeypatch):
    monkeypatch.setattr(compile_chunks, "CHUNK_LINES", 3)
    c = dx.compile("sin(x)*x*x*x*x*x + log(x)")
    with pytest.raises(dx.DomainError, match=r"at line \d+ of part_\d+ `v\d+ = log\(v1\)`.*log\(x\)"):
        c.gradient({"x": -1.0})
    with pytest.raises(dx.MissingValueError, match="'x'"):
        c({"y": 1.0})
    overflowing = dx.compile(dx.exp(dx.variable("x")) * dx.exp(dx.variable("x")) + 1.0)
    with pytest.raises(dx.DomainError, match="mul"):
        overflowing({"x": 600.0})
