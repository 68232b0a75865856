"""Tracing Python programs with branches and loops gives the graph of the path taken, and that graph's
derivatives match the analytic derivatives on its own branch; crossing a branch is warned about."""

import math
import subprocess
import sys
import warnings
from pathlib import Path

import numpy as np
import pytest

import diffexplore as dx
from diffexplore.cli import main
from diffexplore.graph import PRIMITIVES
from diffexplore.trace import (
    _UFUNCCOMPARISONS,
    BranchWarning,
    TraceWarning,
    branch_decisions,
    load_python_function,
    trace_file,
)

ROOT = Path(__file__).resolve().parents[1]
EXAMPLES = ROOT / "examples" / "dynamic.py"


def example(name):
    return load_python_function(f"{EXAMPLES}:{name}")


def quietly(function, *args, **kwargs):
    """Run with every warning turned into an error (a graph evaluated on its own branch warns nothing)."""
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        return function(*args, **kwargs)


# ---- loops whose trip count depends on x --------------------------------------------------------------


@pytest.mark.parametrize("x", [1e-4, 0.3, 2.0, 7.0, 1e4, 1e8])
@pytest.mark.parametrize("method", ["reverse", "forward", "symbolic"])
def test_newton_sqrt_derivative_is_one_over_two_sqrt_x(x, method):
    g = dx.trace(example("newton_sqrt"), x=x)
    assert quietly(dx.evaluate, g, {"x": x}) == pytest.approx(math.sqrt(x), rel=1e-15)
    derivative = quietly(dx.grad, g, {"x": x}, method=method)["x"]
    assert derivative == pytest.approx(1 / (2 * math.sqrt(x)), rel=1e-10)


def test_newton_takes_more_steps_further_from_its_start_so_the_graphs_differ():
    # Newton's iterates halve the distance while y >> √x, so x = 1e8 (start 1e8, root 1e4) needs ~13
    # more steps than x = 2: each step is one add, one div and one mul.
    small, large = dx.trace(example("newton_sqrt"), x=2.0), dx.trace(example("newton_sqrt"), x=1e8)
    assert small is not large
    assert dx.size(large).ops > dx.size(small).ops + 3 * 10
    assert len(branch_decisions(large)) > len(branch_decisions(small))


@pytest.mark.parametrize("m, e", [(1.0, 0.5), (0.3, 0.9), (2.0, 0.1)])
def test_fixed_point_kepler_matches_implicit_differentiation(m, e):
    g = dx.trace(example("kepler"), m=m, e=e)
    at = {"m": m, "e": e}
    anomaly = dx.evaluate(g, at)
    assert anomaly - e * math.sin(anomaly) == pytest.approx(m, abs=1e-14)
    gradient = dx.grad(g, at)
    denominator = 1 - e * math.cos(anomaly)
    assert gradient["m"] == pytest.approx(1 / denominator, rel=1e-12)
    assert gradient["e"] == pytest.approx(math.sin(anomaly) / denominator, rel=1e-12)


@pytest.mark.parametrize("x", [0.0, 0.5, -2.0, 3.0, 6.0])
def test_recursive_taylor_series_gives_sin_and_its_derivative_cos(x):
    g = dx.trace(example("taylor_sin"), x=x)
    assert dx.evaluate(g, {"x": x}) == pytest.approx(math.sin(x), abs=1e-14)
    assert dx.grad(g, {"x": x})["x"] == pytest.approx(math.cos(x), abs=1e-13)


def test_taylor_series_needs_more_terms_for_larger_x():
    sizes = [dx.size(dx.trace(example("taylor_sin"), x=x)).ops for x in (0.5, 2.0, 6.0)]
    assert sizes == sorted(sizes) and sizes[0] < sizes[-1]


# ---- branches -------------------------------------------------------------------------------------------


def test_piecewise_graph_differs_between_sides_and_each_is_the_formula_of_its_side():
    x = dx.variable("x")
    left = dx.trace(example("piecewise"), x=0.5)
    right = dx.trace(example("piecewise"), x=4.0)
    assert left is x ** 2                              # hash-consing: exactly the operators' graph
    assert right is 2 * dx.sqrt(x) - 1
    for point in (-3.0, 0.25, 0.99):
        assert quietly(dx.grad, left, {"x": point})["x"] == pytest.approx(2 * point, rel=1e-15)
    for point in (1.0, 2.0, 9.0):
        assert quietly(dx.grad, right, {"x": point})["x"] == pytest.approx(1 / math.sqrt(point), rel=1e-15)


def test_evaluating_a_traced_graph_across_its_branch_warns_naming_the_condition_and_point():
    left = dx.trace(example("piecewise"), x=0.5)
    with pytest.warns(BranchWarning) as caught:
        value = dx.evaluate(left, {"x": 3.0})
    assert value == 9.0                                # still the left formula: the warning says so
    message = str(caught[0].message)
    assert "x < 1" in message and "x=3" in message and "dynamic.py" in message
    with pytest.warns(BranchWarning):
        dx.grad(left, {"x": 3.0}, method="forward")


def test_branch_warning_on_a_batch_counts_the_points_across_the_branch():
    left = dx.trace(example("piecewise"), x=0.5)
    with pytest.warns(BranchWarning, match="at 2 of 5 points, first at x=1"):
        dx.evaluate(left, {"x": [0.0, 0.5, 1.0, 0.9, 2.0]})


def test_guard_is_kept_when_the_traced_result_is_an_input():
    x = dx.variable("x")
    g = dx.trace(lambda x: x if x > 0 else -x, x=2.0)
    assert g is x
    with pytest.warns(BranchWarning, match="x > 0"):
        dx.evaluate(g, {"x": -1.0})


def test_integer_part_is_a_decision():
    def power_by_loop(x):
        y = x
        for _ in range(int(3 * x)):
            y = y * x
        return y

    g = dx.trace(power_by_loop, x=1.5)                  # int(4.5) = 4 more factors: x**5
    assert dx.grad(g, {"x": 1.5})["x"] == pytest.approx(5 * 1.5 ** 4, rel=1e-14)
    quietly(dx.evaluate, g, {"x": 1.6})                  # int(4.8) = 4: same path
    with pytest.warns(BranchWarning, match=r"int\(3\*x\)"):
        dx.evaluate(g, {"x": 1.7})                       # int(5.1) = 5: another path


# ---- kinks and their conventions ----------------------------------------------------------------------


def test_python_max_is_a_recorded_branch_but_dx_maximum_is_a_primitive():
    with pytest.warns(TraceWarning, match="does not use every input"):    # x decided, but y returned
        branched = dx.trace(lambda x, y: max(x, y), x=1.0, y=2.0)
    assert branched is dx.variable("y")
    assert [d.op for d in branch_decisions(branched)] == [">"]
    primitive = dx.trace(lambda x, y: dx.maximum(x, y), x=1.0, y=2.0)
    assert primitive.op == "maximum" and branch_decisions(primitive) == []


@pytest.mark.parametrize("x, y, want", [
    (1.0, 1.0, (1.0, 1.0)),     # abs'(0) = 0 and relu'(0) = 0: only x*y counts, d/dx = y, d/dy = x
    (0.0, 2.0, (1.0, 2.0)),     # max tie (x*y = 0) keeps x*y: d/dx = y − 1 (abs), d/dy = x + 1 + 1
    (-1.0, 2.0, (-1.0, 2.0)),   # max takes 0: abs(x − y) gives −1, +1; relu(1) gives d/dy = 1
])
def test_kinks_follow_the_documented_subgradient_conventions(x, y, want):
    g = dx.trace(example("kinks"), x=x, y=y)
    for method in ("reverse", "forward", "symbolic"):
        gradient = dx.grad(g, {"x": x, "y": y}, method=method)
        assert (gradient["x"], gradient["y"]) == want


# ---- what tracing accepts ----------------------------------------------------------------------------


def test_numpy_functions_on_tracers_build_the_same_nodes_as_dx_functions():
    x = dx.variable("x")
    g = dx.trace(lambda x: np.exp(x) * np.sin(x) + np.maximum(x, 0.0), x=0.7)
    assert g is dx.exp(x) * dx.sin(x) + dx.maximum(x, 0.0)


# Every ufunc facet but the comparisons, which a traced program answers with its numbers (a decision).
@pytest.mark.parametrize("rule", [r for r in PRIMITIVES.values()
                                  if isinstance(r.numpy, np.ufunc) and r.partials
                                  and r.numpy.__name__ not in _UFUNCCOMPARISONS],
                         ids=lambda rule: rule.name)
def test_every_numpy_facet_of_the_rule_table_traces_to_its_primitive(rule):
    names = "xy"[:rule.arity]
    g = dx.trace(lambda **operands: rule.numpy(*operands.values()), **dict.fromkeys(names, 0.6))
    assert g is dx.graph.apply(rule, *dx.variables(" ".join(names)))


def test_a_numpy_function_with_no_primitive_names_it_and_how_to_define_it():
    with pytest.raises(dx.DiffexploreError, match=r"np\.arcsinh has no rule.*dx\.define\('arcsinh', 1, "
                                                  r".*numpy=np\.arcsinh\).*@dx\.primitive"):
        dx.trace(lambda x: np.arcsinh(x) * x, x=0.5)
    assert dx.trace(lambda x: np.positive(x), x=0.5) is dx.variable("x")      # the identity: no node


def test_graph_nodes_and_numbers_mix_with_tracers():
    x, c = dx.variable("x"), dx.constant(2.5)
    g = dx.trace(lambda x: c + x * 3, x=1.0)
    assert g is c + x * 3


def test_float_conversion_warns_that_the_derivative_stops_there():
    with pytest.warns(TraceWarning, match="math"):
        g = dx.trace(lambda x: math.exp(x) * x, x=1.0)
    assert dx.grad(g, {"x": 1.0})["x"] == pytest.approx(math.e)   # exp(1) is a constant now


def test_trace_takes_a_point_as_a_mapping_or_keywords():
    f = example("piecewise")
    assert dx.trace(f, {"x": 0.5}) is dx.trace(f, x=0.5)


@pytest.mark.parametrize("call, message", [
    (lambda: dx.trace(lambda x, y: x * y, x=1.0), "needs a value for y"),
    (lambda: dx.trace(lambda x: x, x=1.0, z=2.0), "no parameter 'z'; its parameters: x"),
    (lambda: dx.trace(lambda x: (x, x), x=1.0), "returned tuple"),
    (lambda: dx.trace(lambda x: dx.log(x - 2), x=1.0), "log"),
])
def test_trace_errors_say_what_was_wrong(call, message):
    with pytest.raises(dx.DiffexploreError, match=message):
        call()


# ---- files and the command line -----------------------------------------------------------------------


def test_trace_file_traces_the_named_function():
    g = trace_file(f"{EXAMPLES}:piecewise", {"x": 4.0})
    assert g is 2 * dx.sqrt(dx.variable("x")) - 1


@pytest.mark.parametrize("spec, message", [
    ("examples/dynamic.py", "expects FILE:FUNC"),
    ("no/such/file.py:f", "there is no file no/such/file.py"),
    (f"{EXAMPLES}:no_such_function", "defines no function 'no_such_function'; its functions: "),
    (f"{EXAMPLES}:kepler", "needs a value for e"),
])
def test_trace_file_errors_name_the_problem(spec, message):
    with pytest.raises(dx.DiffexploreError, match=message):
        trace_file(spec, {"x": 1.0, "m": 1.0})


def test_trace_file_reports_an_exception_of_the_program(tmp_path):
    program = tmp_path / "broken.py"
    program.write_text("def f(x):\n    return x + 'a'\n")
    with pytest.raises(dx.DiffexploreError, match="tracing f at x=1 failed with TypeError"):
        trace_file(f"{program}:f", {"x": 1.0})


def test_cli_grad_of_a_traced_function_prints_no_traceback(capsys):
    assert main(["grad", "--python", f"{EXAMPLES}:newton_sqrt", "--at", "x=4", "--method", "reverse"]) == 0
    assert "0.25" in capsys.readouterr().out              # d√x/dx at 4 = 1/4
    assert main(["grad", "--python", f"{EXAMPLES}:nope", "--at", "x=4"]) == 2
    err = capsys.readouterr().err
    assert "defines no function 'nope'" in err and "Traceback" not in err


def test_cli_render_of_a_traced_function_draws_the_path_of_each_point(tmp_path):
    def dot_text(x):
        out = tmp_path / f"piecewise_{x}.dot"
        run = subprocess.run([sys.executable, "-m", "diffexplore", "render", "--python",
                              f"{EXAMPLES}:piecewise", "--at", f"x={x}", "--output", str(out)],
                             capture_output=True, text=True, cwd=ROOT)
        assert run.returncode == 0, run.stderr
        return out.read_text()

    left, right = dot_text(0.5), dot_text(4)
    assert "original: f = x**2" in left and "√" not in left
    assert "original: f = 2*sqrt(x) - 1" in right and "√" in right


@pytest.mark.dot
def test_dynamic_gallery_draws_two_paths_side_by_side_the_same_in_every_process(tmp_path):
    from gallery.build.dynamic import make_gallery
    here = {p.name: p for p in make_gallery(tmp_path / "here")}
    run = subprocess.run([sys.executable, "-m", "gallery.build", "--part", "dynamic",
                          "--out", str(tmp_path / "there")], capture_output=True, text=True, cwd=ROOT)
    assert run.returncode == 0, run.stderr
    for name, path in here.items():
        if path.suffix in (".dot", ".md"):
            assert path.read_bytes() == (tmp_path / "there" / "dynamic" / name).read_bytes(), name
    piecewise = here["piecewise_two_points.dot"].read_text()
    assert "cluster_point1" in piecewise and "cluster_point2" in piecewise
    assert "x**2 = 0.25" in piecewise and "2*sqrt(x) - 1 = 3" in piecewise
    assert here["newton_sqrt_two_points.png"].stat().st_size > 0
