"""The explorer page's data, checked without a browser: the steps replay reverse and forward mode,
their numbers are the derivatives derived by hand, the page is offline and byte-for-byte deterministic.

The seed example is f(x, y) = 1 + x + exp(sin(xy)) at x = 1, y = 2. By hand:
∂f/∂x = 1 + exp(sin(xy))·cos(xy)·y and ∂f/∂y = exp(sin(xy))·cos(xy)·x. x feeds two operations (x·y
and 1 + x), so its adjoint is the sum of two terms, exp(sin 2)·cos 2·2 through x·y and 1 through 1 + x;
y feeds only x·y.
"""

from __future__ import annotations

import hashlib
import html
import json
import math
import re
import subprocess
import sys

import numpy as np
import pytest

import diffexplore as dx
from diffexplore.cli import main
from diffexplore.render.labels import short_names

SEED = "1 + x + exp(sin(x*y))"
AT = {"x": 1.0, "y": 2.0}
E = math.exp(math.sin(2.0))
C = math.cos(2.0)
DF_DX = 1 + E * C * 2.0
DF_DY = E * C * 1.0


@pytest.fixture(scope="module")
def seed_page() -> dx.Explorer:
    return dx.explore(SEED, AT, wrt="x")


def keys_of(f) -> dict[str, str]:
    """Variable name -> the short name the drawings give it."""
    f = dx.parse(f) if isinstance(f, str) else f
    names = short_names(dx.nodes(f))
    return {n.name: names[n] for n in dx.nodes(f) if n.is_variable}


def page_data(page: dx.Explorer) -> dict:
    text = re.search(r'<script type="application/json" id="explorer-data">(.*?)</script>', page.html, re.S)
    return json.loads(text.group(1))


def added(steps: list[dict], key: str) -> list[float]:
    """The terms the reverse sweep adds to node ``key``, in order."""
    return [s["amount"] for s in steps if s["kind"] == "add" and s["to"] == key]


def running_sum(terms: list[float]) -> float:
    total = None
    for term in terms:
        total = term if total is None else total + term
    return total


def four_digits(value: float) -> str:
    """A number rounded to four significant digits, with the drawings' minus sign."""
    return f"{value:.4g}".replace("-", "\u2212")


def test_reverse_steps_add_up_to_the_hand_derived_gradient(seed_page):
    keys = keys_of(SEED)
    x_terms, y_terms = added(seed_page.steps, keys["x"]), added(seed_page.steps, keys["y"])
    assert len(x_terms) == 2 and len(y_terms) == 1             # x feeds two operations, y one
    assert sorted(x_terms) == pytest.approx(sorted([E * C * 2.0, 1.0]), rel=1e-14)
    assert running_sum(x_terms) == pytest.approx(DF_DX, rel=1e-13)
    assert running_sum(y_terms) == pytest.approx(DF_DY, rel=1e-13)
    gradient = dx.reverse(dx.parse(SEED), AT).gradient
    assert running_sum(x_terms) == gradient["x"] and running_sum(y_terms) == gradient["y"]   # exactly


def test_only_the_second_use_of_x_is_a_fan_out_step(seed_page):
    keys = keys_of(SEED)
    fanouts = [s for s in seed_page.steps if s.get("fanout")]
    assert [s["to"] for s in fanouts] == [keys["x"]]
    assert fanouts[0]["amount"] == 1.0                         # the term through 1 + x: ∂(1 + x)/∂x = 1


def test_the_adjoint_of_x_reads_first_one_term_then_the_sum(seed_page):
    key = keys_of(SEED)["x"]
    timeline = page_data(seed_page)["texts"][f"a:{key}"]
    first, total = E * C * 2.0, DF_DX
    assert [text for _step, text in timeline] == [
        f"v̄ = {four_digits(first)}", f"v̄ = {four_digits(first)} + 1 = {four_digits(total)}"]
    fanout_step = next(k for k, s in enumerate(seed_page.steps) if s.get("fanout"))
    assert timeline[1][0] == fanout_step


def test_forward_steps_visit_every_node_after_its_arguments():
    f = dx.parse("sin(x*y) + x*exp(y) - log(x)/y")
    page = dx.explore(f, {"x": 1.5, "y": 0.5}, order="evaluation")
    names = short_names(dx.nodes(f))
    arguments = {names[n]: [names[a] for a in n.args if not a.is_constant] for n in dx.nodes(f)}
    seen: list[str] = []
    for step in page.steps:
        if step["phase"] == "forward" and step["kind"] != "closing":
            (key,) = step["nodes"]
            assert set(arguments[key]) <= set(seen), f"{key} is evaluated before its arguments"
            seen.append(key)
    assert sorted(seen) == sorted(k for n, k in names.items() if not n.is_constant)


def test_a_node_passes_its_adjoint_back_only_after_receiving_all_of_it():
    f = dx.parse("x*y*x + sin(x*y) * exp(x*y)")            # x*y feeds three operations
    page = dx.explore(f, {"x": 0.7, "y": 1.3})
    steps = [s for s in page.steps if s["kind"] == "add"]
    for k, step in enumerate(steps):
        later = [s for s in steps[k + 1:] if s["to"] == step["from"]]
        assert not later, f"{step['from']} passes its adjoint back before it is complete"
    gradient = dx.reverse(f, {"x": 0.7, "y": 1.3}).gradient
    keys = keys_of(f)
    for name in ("x", "y"):
        assert running_sum(added(page.steps, keys[name])) == gradient[name]


def test_each_seed_gives_the_partial_derivative_in_one_forward_sweep(seed_page):
    spans = re.search(r'<output data-t="res:t" id="forward-result">(.*?)</output>', seed_page.html).group(1)
    exact = [float(v) for v in re.findall(r'data-full="([^"]+)"', spans)]
    assert exact == pytest.approx([DF_DX, DF_DY], rel=1e-13)
    data = page_data(seed_page)
    assert data["seeds"] == ["ẋ = 1", "ẏ = 1"] and data["seed"] == 0        # wrt="x" selects x first


def test_a_seed_given_as_values_is_a_directional_derivative():
    page = dx.explore(SEED, AT, seed={"x": 1.0, "y": 0.5})
    spans = re.search(r'id="forward-result">(.*?)</output>', page.html).group(1)
    first = float(re.findall(r'data-full="([^"]+)"', spans)[0])
    assert first == pytest.approx(DF_DX + 0.5 * DF_DY, rel=1e-13)
    assert page_data(page)["seeds"][0] == "ẋ = 1, ẏ = 0.5"


def test_x_times_x_adds_x_twice():
    page = dx.explore("x*x", {"x": 3.0})
    assert added(page.steps, keys_of("x*x")["x"]) == [3.0, 3.0]           # d(x²)/dx = x + x = 6


@pytest.mark.dot
def test_every_value_of_the_drawings_appears_at_its_step(seed_page):
    data = page_data(seed_page)
    tagged = set(re.findall(r'<text data-t="([^"]+)"', seed_page.html))
    names = short_names(dx.nodes(dx.parse(SEED)))
    operations = [names[n] for n in dx.nodes(dx.parse(SEED)) if not n.is_constant]
    for key in operations:
        assert {f"p:{key}", f"t:{key}", f"a:{key}"} <= tagged
    assert {"g:" + k for k in keys_of(SEED).values()} <= tagged
    assert "s" in tagged
    for element in tagged:
        assert element in data["reveal"] or element.startswith("t:"), element
    for k, step in enumerate(data["steps"]):
        if step["kind"] == "add":
            assert data["reveal"][f"ea:{step['edges'][0]}"] == k        # the edge label shows with its term
            assert f'data-edge="{step["edges"][0]}"' in seed_page.html


@pytest.mark.dot
def test_the_page_shows_every_view_and_a_tangent_view_per_seed(seed_page):
    panes = re.findall(r'<figure class="pane" data-pane="(\w+)"(?: data-seed="(\d+)")?>', seed_page.html)
    assert panes == [("original", ""), ("symbolic", ""), ("adjoint", ""), ("tangent", "0"), ("tangent", "1")]
    assert 'id="node' not in seed_page.html and 'id="edge' not in seed_page.html    # no clashing ids


def test_the_page_works_offline(seed_page):
    page = seed_page.html
    without_namespaces = page.replace('xmlns="http://www.w3.org/2000/svg"', "").replace(
        'xmlns:xlink="http://www.w3.org/1999/xlink"', "")
    assert "http" not in without_namespaces
    assert not re.search(r"<(script|img|link|iframe)[^>]*\s(src|href)=", page)
    assert "@import" not in page and "url(" not in page and "@font-face" not in page
    assert page.count("<script") == 2                          # the data and the inline script


def test_the_page_shows_its_keyboard_shortcuts(seed_page):
    keys = re.search(r'<p class="keys">(.*?)</p>', seed_page.html, re.S).group(1)
    for key in ("→", "←", "space", "Home", "End"):
        assert f"<kbd>{key}</kbd>" in keys


def test_the_page_is_the_same_bytes_in_another_process(seed_page):
    code = ("import hashlib, diffexplore as dx; "
            f"print(hashlib.sha256(dx.explore({SEED!r}, {AT!r}, wrt='x').html.encode()).hexdigest())")
    other = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120,
                           env={"PYTHONHASHSEED": "12345", "PATH": "/usr/bin:/bin"}, check=True)
    assert other.stdout.strip() == hashlib.sha256(seed_page.html.encode()).hexdigest()
    assert dx.explore(SEED, AT, wrt="x").html == seed_page.html


def test_in_jupyter_the_page_is_an_iframe_holding_it(seed_page):
    frame = seed_page._repr_html_()
    assert "<iframe srcdoc='" in frame and 'sandbox="allow-scripts"' in frame
    assert html.unescape(re.search(r"srcdoc='([^']*)'", frame).group(1)) == seed_page.html


def test_array_graphs_step_one_operation_at_a_time_and_match_finite_differences():
    inputs = np.round(np.random.default_rng(1).normal(size=(3, 4)), 2)
    net = dx.nn.mlp([3, 4, 2], 4, activation="tanh", inputs=inputs, labels=[0, 1, 1, 0])
    at = net.at(net.initial_parameters(seed=1))
    page = dx.explore(net.loss, at)
    operations = [n for n in dx.nodes(net.loss) if n.args]
    forward = [s for s in page.steps if s["phase"] == "forward" and s["kind"] != "closing"]
    assert len(forward) == len(operations) + len(at)           # one step per input and per array operation
    names = short_names(dx.nodes(net.loss))
    shapes = {names[n]: n.shape for n in dx.nodes(net.loss)}
    for step in page.steps:
        if step["kind"] == "add":                              # array terms are shown, not summed by the page
            assert (step["amount"] is None) == (shapes[step["to"]] != ())
    shown = dict(re.findall(r'data-var="(\w+)" data-key="\w+" data-t="[^"]+" data-exact="0">([^<]+)<',
                            page.html))
    for name in ("W1", "W2"):
        numeric = dx.grad(net.loss, at, method="numeric", wrt=[name], scheme="central")[name]
        norm = float(shown[name].split("= ")[-1].replace("\u2212", "-"))
        assert shown[name].startswith(f"{'×'.join(map(str, at[name].shape))} array")
        assert norm == pytest.approx(np.linalg.norm(numeric), rel=6e-4)


def test_a_large_graph_is_summarised_and_still_stepped():
    x = dx.variable("x")
    f = x
    for _ in range(160):
        f = dx.sin(f)
    page = dx.explore(f, {"x": 0.3})
    assert any("size table" in note for note in page.notes)
    assert '<g class="node" data-node=' not in page.html       # size tables, no boxes to highlight
    assert len(page.steps) == 1 + (1 + 160 + 1) + (1 + 160 + 1)
    chain, value = 1.0, 0.3
    for _ in range(160):                                       # d sin(u)/dx = cos(u)·du/dx
        chain, value = chain * math.cos(value), math.sin(value)
    assert running_sum(added(page.steps, keys_of(f)["x"])) == pytest.approx(chain, rel=1e-12)


def test_bad_input_is_refused_with_a_reason():
    with pytest.raises(dx.ShapeError, match="scalar output"):
        dx.explore(dx.variable("v", shape=(3,)) * 2, {"v": np.ones(3)})
    with pytest.raises(dx.DiffexploreError, match="no variables"):
        dx.explore("2*3", {})
    with pytest.raises(dx.DiffexploreError, match="not a variable"):
        dx.explore("x*y", AT, seed="z")
    with pytest.raises(dx.DiffexploreError, match="complex"):
        dx.explore("x*y", {"x": 1j, "y": 2.0})


def test_the_command_line_writes_the_page(tmp_path, capsys):
    out = tmp_path / "page.html"
    assert main(["explore", SEED, "--at", "x=1,y=2", "--wrt", "x", "-o", str(out)]) == 0
    assert out.read_text(encoding="utf-8") == dx.explore(SEED, AT, wrt="x").html
    assert main(["explore", "--python", "examples/dynamic.py:newton_sqrt", "--at", "x=2",
                 "-o", str(tmp_path / "newton.html")]) == 0
    assert main(["explore", "x +* y", "--at", "x=1,y=2"]) == 2
    assert main(["explore", "log(x)", "--at", "x=-1"]) == 2
    errors = capsys.readouterr().err
    assert "column" in errors and "log" in errors and "Traceback" not in errors


def test_a_traced_newton_iteration_gives_the_derivative_of_the_square_root(tmp_path):
    from diffexplore.trace import trace_file
    f = trace_file("examples/dynamic.py:newton_sqrt", {"x": 2.0})
    page = dx.explore(f, {"x": 2.0})
    derivative = running_sum(added(page.steps, keys_of(f)["x"]))
    assert derivative == pytest.approx(1 / (2 * math.sqrt(2.0)), rel=1e-9)


def test_without_graphviz_the_page_says_how_to_install_it_and_steps_the_table():
    code = ("import diffexplore as dx; p = dx.explore('x*y', {'x': 2.0, 'y': 3.0}); "
            "print(len(p.steps)); print(p.html.count('<figure')); print(p.notes[0])")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120,
                            env={"PATH": "/nonexistent"}, check=True)
    steps, figures, note = result.stdout.splitlines()[:3]
    assert int(steps) == 1 + (2 + 1 + 1) + (1 + 2 + 2) and int(figures) == 0
    assert "apt-get install graphviz" in note


def test_graphs_too_large_for_a_page_are_refused_up_front_not_by_memory(tmp_path):
    """Every line of a 10,000-node graph makes a page of 16 MB (174 MB at 10⁵): above DETAIL_NODES the
    page steps through a window of each sweep (tests/test_explorer_scale.py), and above
    MAX_EXPLORE_NODES the explorer refuses before any sweep. A page that shows every line also refuses a
    symbolic view over MAX_EXPLORE_WORK node-derivatives."""
    from diffexplore.explorer import DETAIL_NODES, MAX_EXPLORE_NODES, MAX_EXPLORE_WORK
    from diffexplore.reports.families import product
    assert (DETAIL_NODES, MAX_EXPLORE_NODES, MAX_EXPLORE_WORK) == (10_000, 200_000, 200_000)
    wide = product(400)
    at = {f"x{i}": 1.0 for i in range(1, 401)}
    with pytest.raises(dx.DiffexploreError, match="799 nodes and its symbolic view 400 derivatives"):
        dx.explore(wide, at)
    with pytest.raises(dx.DiffexploreError, match="cannot write the page"):
        dx.explore("x*x", {"x": 3.0}).save(tmp_path / "missing" / "page.html")
    assert list(tmp_path.iterdir()) == []
