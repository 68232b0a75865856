"""dx.compile(f).source is a standalone module: it imports only NumPy, runs with exec in an empty namespace
and as a file, and its value(x, ...) and gradient(x, ...) give diffexplore's own numbers (to its rounding
bound on random expressions, to 1e-12 on the fixed networks), reading one line per node."""

from __future__ import annotations

import ast
import importlib.util
import re
import subprocess
import sys

import numpy as np
import pytest
from hypothesis import given

import diffexplore as dx
from diffexplore import compile_chunks

from .exports_support import assert_close_models, cnn_model, gradient_bounds, mlp_model, rounding_bound
from .strategies import expressions, near_kink, points

SEED = "1 + x + exp(sin(x*y))"


def module(c: dx.Compiled) -> dict:
    """The module's namespace, from exec in an empty one."""
    namespace: dict = {}
    exec(c.source, namespace)
    return namespace


@given(expressions(), points)
def test_the_module_gives_the_interpreters_value_and_gradient_on_random_expressions(f, at):
    """Every scalar primitive: the module's value and gradient against dx.reverse, within the rounding
    bound of each (NumPy's ufuncs against the math module's functions)."""
    if near_kink(f, at, margin=1e-9):
        return
    c = dx.compile(f)
    functions = module(c)
    args = {name: at[name] for name in c.variables}
    want = dx.reverse(f, at, record=False)
    assert abs(functions["value"](**args) - want.value) <= rounding_bound(f, at)
    gradient = functions["gradient"](*args.values())
    bounds = gradient_bounds(f, {name: at[name] for name in c.variables})
    for name in c.variables:
        assert abs(gradient[name] - want.gradient[name]) <= bounds[name], name


@pytest.mark.parametrize("model", [mlp_model, cnn_model], ids=["mlp", "cnn"])
def test_the_module_gives_the_networks_loss_and_gradient_to_1e12(model):
    loss, at = model()
    functions = module(dx.compile(loss))
    want = dx.reverse(loss, at, record=False)
    assert abs(functions["value"](**at) - want.value) <= 1e-12 * max(1.0, abs(want.value))
    assert_close_models(functions["gradient"](**at), want.gradient)


def test_the_seed_example_at_a_million_points_equals_the_articles_formulas():
    """df/dx = 1 + exp(sin(xy)) cos(xy) y, df/dy = exp(sin(xy)) cos(xy) x, elementwise."""
    rng = np.random.default_rng(0)
    x, y = rng.uniform(-2, 2, 10**6), rng.uniform(-2, 2, 10**6)
    gradient = module(dx.compile(SEED))["gradient"](x, y)
    common = np.exp(np.sin(x * y)) * np.cos(x * y)
    assert np.allclose(gradient["x"], 1 + common * y, rtol=1e-14, atol=1e-15)
    assert np.allclose(gradient["y"], common * x, rtol=1e-14, atol=1e-15)


def test_the_module_imports_only_numpy_and_has_the_two_functions_by_variable_name():
    c = dx.compile(dx.parse("log(x1) + x1*x2 - sin(x2)"))
    tree = ast.parse(c.source)
    imported = {alias.name for node in ast.walk(tree) if isinstance(node, ast.Import) for alias in node.names}
    assert imported == {"numpy"}
    assert not any(isinstance(node, ast.ImportFrom) for node in ast.walk(tree))
    functions = {node.name: [a.arg for a in node.args.args] for node in tree.body
                 if isinstance(node, ast.FunctionDef)}
    assert functions == {"value": ["x1", "x2"], "gradient": ["x1", "x2"]}
    assert c.variables == ["x1", "x2"]


def test_griewank_worked_example_through_the_saved_file(tmp_path):
    """Griewank & Walther's f = ln(x1) + x1·x2 − sin(x2) at (2, 5): gradient (5.5, 2 − cos 5), by a
    module written with c.save, imported as a file and run as a script."""
    path = dx.compile("log(x1) + x1*x2 - sin(x2)").save(tmp_path / "griewank.py")
    spec = importlib.util.spec_from_file_location("griewank", path)
    loaded = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(loaded)
    gradient = loaded.gradient(x1=2.0, x2=5.0)
    assert gradient["x1"] == pytest.approx(5.5, rel=1e-15)
    assert gradient["x2"] == pytest.approx(2.0 - np.cos(5.0), rel=1e-15)
    script = f"import runpy; m = runpy.run_path({str(path)!r}); print(m['value'](2.0, 5.0))"
    printed = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True)
    assert float(printed.stdout) == pytest.approx(np.log(2.0) + 10.0 - np.sin(5.0), rel=1e-15)


def test_one_line_per_node_shared_subexpressions_once_and_the_formula_in_a_comment():
    f = dx.parse("sin(x*y) + cos(x*y) * (x*y) + x*y")
    source = dx.compile(f, free=False).source
    value = source[source.index("def value("):source.index("def gradient(")]
    assigned = re.findall(r"^    (\w+) = ", value, flags=re.M)
    assert len(assigned) == sum(1 for n in dx.nodes(f) if n.op != "const")
    assert len([line for line in value.splitlines() if re.fullmatch(r"\s+v\d+ = v1 \* v\d+", line)]) == 1
    assert "    # f = sin(x*y) + cos(x*y)*(x*y) + x*y" in value
    assert "    # df/dx, df/dy of f = " in source


def test_array_constants_settings_and_helpers_are_defined_in_the_module():
    """A graph with an array constant, reductions (settings), broadcasting (sum_to) and a primitive
    that is not one ufunc (sigmoid) still runs from the source alone."""
    W = dx.variable("W", shape=(2, 3))
    b = dx.variable("b", shape=(2, 1))
    data = np.array([[1.0, -2.0, 0.5, 0.0], [0.25, 1.5, -1.0, 2.0], [3.0, 0.0, -0.5, 1.0]])
    f = dx.sum(dx.sigmoid(W @ data + b) * np.array([[1.0], [-2.0]]))
    at = {"W": np.arange(6.0).reshape(2, 3) / 10, "b": np.array([[0.1], [-0.2]])}
    c = dx.compile(f)
    assert "def sum_to(" in c.source and "Settings(" in c.source and "def sigmoid(" in c.source
    gradient = module(c)["gradient"](**at)
    assert_close_models(gradient, dx.grad(f, at))


def test_a_long_program_is_written_as_parts_and_still_runs_alone(monkeypatch):
    monkeypatch.setattr(compile_chunks, "CHUNK_LINES", 7)
    x = dx.variable("x")
    f = x
    for _ in range(30):
        f = dx.sin(f) * f + 0.5
    c = dx.compile(f)
    assert "def part_1(loaded):" in c.source
    functions = module(c)
    assert functions["value"](0.3) == pytest.approx(dx.evaluate(f, {"x": 0.3}), rel=1e-14)
    assert functions["gradient"](0.3)["x"] == pytest.approx(dx.grad(f, {"x": 0.3})["x"], rel=1e-13)


def test_a_primitive_with_no_numpy_form_is_refused_by_name():
    with dx.primitive_scope():
        @dx.primitive(partials=[lambda a, out: 2.0 * a])
        def squared_example(a):
            return a * a
        c = dx.compile(squared_example(dx.variable("x")) + 1.0)
        assert c.gradient({"x": 3.0}) == {"x": 6.0}            # the compiled program still runs
        with pytest.raises(dx.DiffexploreError, match="'squared_example' has no NumPy form"):
            _ = c.source


def test_an_unknown_backend_is_refused_with_the_choices():
    with pytest.raises(dx.DiffexploreError, match="backend must be one of 'numpy', 'jax', 'torch'"):
        dx.compile(SEED, backend="tensorflow")
