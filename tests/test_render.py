"""Graphviz views: the numbers drawn are the derivatives derived by hand, the DOT text is exact and
deterministic, large graphs are summarised, and a missing ``dot`` is reported with the DOT text kept.

The seed example is f(x, y) = 1 + x + exp(sin(xy)) at x = 1, y = 2. By hand:
∂f/∂x = 1 + exp(sin(xy))·cos(xy)·y and ∂f/∂y = exp(sin(xy))·cos(xy)·x; x is used twice (by x·y and
by 1 + x), so its adjoint is the sum of the two contributions exp(sin 2)·cos 2·2 and 1.

Golden files live in tests/golden/; after an intended change of the drawings, regenerate them with
``UPDATE_GOLDEN=1 .venv/bin/python -m pytest tests/test_render.py`` and look at the pictures again.
"""

from __future__ import annotations

import importlib
import math
import os
import re
import subprocess
import sys
from pathlib import Path

import graphviz
import numpy as np
import pytest

import diffexplore as dx
from diffexplore.cli import main
from diffexplore.render.labels import format_value, short_name, short_names

GOLDEN = Path(__file__).parent / "golden"
SEED = "1 + x + exp(sin(x*y))"
AT = {"x": 1.0, "y": 2.0}
X, Y = 1.0, 2.0
E = math.exp(math.sin(X * Y))          # exp(sin(xy))
C = math.cos(X * Y)                    # cos(xy)
GOLDEN_VIEWS = {"all": "all", "original": "original", "symbolic": "symbolic", "adjoint": "adjoint",
                "tangent": "tangent"}


def seed_dot(views: str) -> str:
    return dx.to_dot(SEED, at=AT, wrt="x", views=views)


def number(text: str) -> float:
    return float(text.replace("\u2212", "-"))


def close(text: str, exact: float) -> bool:
    """Whether a drawn number is ``exact`` rounded to four significant digits."""
    return math.isclose(number(text), exact, rel_tol=6e-4, abs_tol=1e-12)


def boxes(source: str) -> dict[str, list[str]]:
    """Node id -> the text lines of its label (HTML tags removed)."""
    found = {}
    for node_id, label in re.findall(r"^\s*(\w+) \[label=<(.*)>(?: |\])", source, flags=re.M):
        rows = re.split(r"</TR>", label)
        found[node_id] = [re.sub(r"<[^>]+>", "", row).strip() for row in rows if re.sub(r"<[^>]+>", "", row)]
    return found


def edge_labels(source: str) -> dict[tuple[str, str], str]:
    pattern = r"^\s*(\w+) -> (\w+) \[label=\"([^\"]*)\""
    return {(tail, head): label for tail, head, label in re.findall(pattern, source, flags=re.M)}


# ---- golden DOT text --------------------------------------------------------------------------------


@pytest.mark.parametrize("name", sorted(GOLDEN_VIEWS))
def test_seed_example_dot_equals_golden_file(name):
    path = GOLDEN / f"seed_{name}.dot"
    source = seed_dot(GOLDEN_VIEWS[name])
    if os.environ.get("UPDATE_GOLDEN"):
        path.parent.mkdir(exist_ok=True)
        path.write_text(source, encoding="utf-8")
    assert source == path.read_text(encoding="utf-8")


def test_dot_text_does_not_depend_on_creation_history_or_process():
    """Another process that first builds unrelated nodes (other ids, other hash seed) draws the same bytes."""
    script = ("import diffexplore as dx\n"
              "junk = [dx.variable(f'q{i}') * i for i in range(50)]\n"
              "x, y = dx.variables('y x')[::-1]\n"
              "f = 1 + x + dx.exp(dx.sin(x * y))\n"
              "text = dx.to_dot(f, at={'x': 1.0, 'y': 2.0}, wrt='x', views='all')\n"
              "import sys; sys.stdout.buffer.write(text.encode())\n")
    env = dict(os.environ, PYTHONHASHSEED="12345")
    other = subprocess.run([sys.executable, "-c", script], capture_output=True, check=True, env=env,
                           cwd=Path(__file__).parent.parent).stdout.decode()
    assert other == seed_dot("all")
    assert "<Node" not in other and "Node #" not in other      # no node reprs, which show the id


# ---- the numbers drawn are the derivatives derived by hand ------------------------------------------


def test_original_view_shows_each_primal_value():
    drawn = boxes(seed_dot("original"))
    expected = {"original_b": ("x", X), "original_d": ("y", Y), "original_c": ("a + b", 1 + X),
                "original_e": ("b × d", X * Y), "original_g": ("sin(e)", math.sin(X * Y)),
                "original_h": ("exp(g)", E)}
    for node_id, (what, value) in expected.items():
        head, row = drawn[node_id][0], drawn[node_id][1]
        assert head.endswith(f"= {what}") and row.startswith("v = ") and close(row[4:], value)
    assert close(drawn["original_i"][1].removeprefix("f = "), 1 + X + E)


def test_adjoint_view_shows_adjoints_partials_and_the_fan_out_sum():
    source = seed_dot("adjoint")
    drawn = boxes(source)
    x_rows = drawn["adjoint_b"]
    # x is used by x*y and by 1 + x: its adjoint is drawn as the sum of both contributions
    terms = re.fullmatch(r"v̄ = (\S+) \+ (\S+) = (\S+)", x_rows[2])
    assert terms, x_rows
    assert close(terms.group(1), E * C * Y) and close(terms.group(2), 1.0)
    assert close(terms.group(3), 1 + E * C * Y)
    assert x_rows[3].startswith("∂f/∂x = ") and close(x_rows[3].split(" = ")[1], 1 + E * C * Y)
    assert close(drawn["adjoint_d"][3].split(" = ")[1], E * C * X)        # ∂f/∂y
    adjoint = {key: rows[2].split(" = ")[-1] for key, rows in drawn.items() if len(rows) > 2}
    assert close(adjoint["adjoint_e"], E * C) and close(adjoint["adjoint_g"], E)
    assert close(adjoint["adjoint_h"], 1.0) and close(adjoint["adjoint_c"], 1.0)
    partials = {edge: label.split(" = ")[1] for edge, label in edge_labels(source).items()}
    assert close(partials[("adjoint_b", "adjoint_e")], Y)              # ∂(xy)/∂x
    assert close(partials[("adjoint_d", "adjoint_e")], X)              # ∂(xy)/∂y
    assert close(partials[("adjoint_e", "adjoint_g")], C)              # ∂sin(s)/∂s
    assert close(partials[("adjoint_g", "adjoint_h")], E)              # ∂exp(t)/∂t
    assert close(partials[("adjoint_b", "adjoint_c")], 1.0)
    # the constant 1 gets no adjoint and its edge no partial
    assert len(drawn["adjoint_a"]) == 1 and ("adjoint_a", "adjoint_c") not in partials


def test_tangent_view_shows_forward_derivatives_for_the_seed():
    drawn = boxes(seed_dot("tangent"))
    tangent = {key: next(r for r in rows if r.startswith("v̇")) for key, rows in drawn.items()}
    expected = {"tangent_b": 1.0, "tangent_d": 0.0, "tangent_e": Y, "tangent_g": C * Y,
                "tangent_h": E * C * Y, "tangent_i": 1 + E * C * Y, "tangent_c": 1.0}
    for key, value in expected.items():
        assert close(tangent[key].split(" = ")[1].removesuffix(" (seed)"), value), (key, tangent[key])


def test_symbolic_view_marks_the_nodes_shared_with_f():
    source = seed_dot("original,symbolic")
    drawn = boxes(source)
    f = dx.parse(SEED)
    derivative = dx.diff(f, "x")
    shared = {n for n in set(dx.nodes(derivative)) & set(dx.nodes(f)) if not n.is_constant}
    grey = [line for line in source.splitlines()
            if line.strip().startswith("symbolic_") and "#e5e7eb" in line]
    assert len(grey) == len(shared) == 5            # x, y, x*y, sin, exp: f's values, reused
    for line in grey:                               # a shared node has the same name and text as in f
        key = line.split()[0].removeprefix("symbolic_")
        assert drawn[f"symbolic_{key}"][0] == drawn[f"original_{key}"][0]
    new = [key for key in drawn if key.startswith("symbolic_") and f"original_{key[9:]}" not in drawn]
    assert len(new) == dx.size(derivative).dag_nodes - 6 == 4
    # the derivative's constant 1 is the seed ∂x/∂x = 1, not a node shared with f (the title says so too)
    assert drawn["symbolic_a"] == ["a = 1", "the seed ∂x/∂x = 1 (not f's constant)"]
    assert "10 nodes: 5 shared with f (grey), 4 new (yellow), 1 constant" in source
    root = next(rows for rows in drawn.values() if rows[-1].startswith("∂f/∂x"))
    assert close(root[-1].split(" = ")[1], 1 + E * C * Y)


def test_gradient_graph_view_draws_every_partial():
    drawn = boxes(dx.to_dot(SEED, at=AT, views="symbolic", derivative="gradient"))
    roots = {rows[-1].split(" = ")[0]: rows[-1].split(" = ")[1] for rows in drawn.values()
             if rows[-1].startswith("∂f/∂")}
    assert close(roots["∂f/∂x"], 1 + E * C * Y) and close(roots["∂f/∂y"], E * C * X)


def test_raw_derivative_keeps_the_leaf_derivatives():
    """The raw chain rule multiplies by the leaves' derivatives: y' = 0 appears as a new constant node."""
    drawn = boxes(dx.to_dot(SEED, wrt="x", views="symbolic", derivative="raw"))
    heads = [rows[0] for rows in drawn.values()]
    assert any(h.endswith("= 0") for h in heads) and any(h.endswith("= 1") for h in heads)


def test_the_same_node_has_the_same_name_in_every_view():
    drawn = boxes(seed_dot("all"))
    by_name: dict[str, set[str]] = {}
    for node_id, rows in drawn.items():
        by_name.setdefault(node_id.split("_", 1)[1], set()).add(rows[0])
    assert all(len(heads) == 1 for heads in by_name.values()), by_name


def test_fan_out_of_many_uses_shows_the_count_and_the_total():
    x = dx.variable("x")
    f = x * x + dx.sin(x) + x * 3 + dx.exp(x)          # x is used five times
    drawn = boxes(dx.to_dot(f, at={"x": 0.5}, views="adjoint"))
    row = next(rows[2] for rows in drawn.values() if rows[0].endswith("= x"))
    assert row.startswith("v̄ = sum of 5 terms = ")
    assert close(row.split(" = ")[-1], 2 * 0.5 + math.cos(0.5) + 3 + math.exp(0.5))


# ---- numbers and names ------------------------------------------------------------------------------


def test_numbers_are_rounded_to_four_significant_digits():
    assert format_value(math.pi) == "3.142" and format_value(-1234567.0) == "\u22121.235e6"
    assert format_value(2.0) == "2" and format_value(0.0) == "0" and format_value(-0.0) == "0"
    assert format_value(1e-7) == "1e\u22127" and format_value(float("nan")) == "nan"
    assert format_value(2 - 0.5j) == "2\u22120.5i"


def test_arrays_show_entries_or_shape_and_norm():
    assert format_value(np.array([1.0, -2.0])) == "[1, \u22122]"
    assert format_value(np.eye(2)) == "[[1, 0], [0, 1]]"
    assert format_value(np.ones((3, 4))) == f"3×4 array, ‖·‖ = {math.sqrt(12):.4g}"
    W = dx.variable("W", shape=(3, 4))
    drawn = boxes(dx.to_dot(W * W, at={"W": np.full((3, 4), 2.0)}, views="original"))
    rows = [r for rows in drawn.values() for r in rows]
    assert "a = W (3×4)" in rows
    assert f"f = 3×4 array, ‖·‖ = {math.sqrt(12 * 16):.4g}" in rows       # every entry 4


def test_batches_of_points_are_drawn_as_arrays():
    drawn = boxes(dx.to_dot("x*y", at={"x": [1.0, 2.0, 3.0], "y": 2.0}, views="adjoint"))
    rows = [r for rows in drawn.values() for r in rows]
    assert "v = [2, 4, 6]" in rows and "∂f/∂x = [2, 2, 2]" in rows


def test_short_names_skip_f_uvw_xy_and_the_letters_of_variable_names():
    assert [short_name(i) for i in (0, 25, 26, 27)] == ["a", "z", "aa", "ab"]
    x = dx.variable("x")
    f = x
    for _ in range(30):
        f = dx.sin(f)
    names = list(short_names(dx.nodes(f)).values())
    assert len(set(names)) == 31
    assert not {"f", "u", "v", "w", "x", "y"} & set(names) and names[:6] == ["a", "b", "c", "d", "e", "g"]
    # variables W1, b2, t reserve w, b, t (and every longer name starting with them)
    W, b, t = dx.variable("W1"), dx.variable("b2"), dx.variable("t")
    g = W
    for _ in range(40):
        g = dx.tanh(g * b + t)
    names = list(short_names(dx.nodes(g)).values())
    assert len(set(names)) == len(names)
    assert not any(name[0] in "fuvwxybt" for name in names), names


# ---- large graphs -----------------------------------------------------------------------------------


def chain(length: int) -> dx.Node:
    x = dx.variable("x")
    f = x
    for k in range(length):
        f = dx.sin(f) * 0.5 + x if k % 2 else f * x
    return f


def test_a_graph_above_the_limit_is_summarised_with_its_numbers():
    f = chain(300)
    count = dx.size(f).dag_nodes
    drawing = dx.render(f, at={"x": 0.3}, views="original,adjoint", max_nodes=150)
    assert len(drawing.notes) == 2 and all(str(count) in note and "150" in note for note in drawing.notes)
    drawn = boxes(drawing.source)
    assert set(drawn) == {"original_summary", "adjoint_summary"}
    rows = drawn["adjoint_summary"]
    assert f"nodes (shared DAG){count}" in rows
    gradient = next(r for r in rows if r.startswith("∂f/∂x"))
    assert close(gradient.removeprefix("∂f/∂x"), dx.grad(f, {"x": 0.3}, method="forward")["x"])


def test_the_same_graph_is_drawn_in_full_below_the_limit():
    f = chain(300)
    count = dx.size(f).dag_nodes
    drawing = dx.render(f, views="original", max_nodes=count)
    assert drawing.notes == [] and len(boxes(drawing.source)) == count


def test_a_huge_graph_is_summarised_quickly_instead_of_hanging():
    drawing = dx.render(chain(6_000), at={"x": 0.3}, views="all", wrt="x")      # 12,002 nodes
    assert len(drawing.notes) == 4 and len(drawing.source) < 20_000


# ---- errors, missing dot, command line --------------------------------------------------------------


@pytest.mark.parametrize("options, message", [
    (dict(views="adjoint"), "needs a point|shows numbers at a point"),
    (dict(views="sideways", at=AT), "unknown view 'sideways'"),
    (dict(wrt="z"), "not a variable of f .*x, y"),
    (dict(views="tangent", at=AT), "needs one seed direction"),
    (dict(derivative="fancy"), "unknown derivative 'fancy'"),
])
def test_bad_options_are_named(options, message):
    with pytest.raises(dx.DiffexploreError, match=message):
        dx.render(SEED, **options)


def test_missing_dot_raises_with_install_hint_and_still_writes_the_dot_text(tmp_path, monkeypatch):
    drawing = dx.render(SEED, at=AT, wrt="x")
    monkeypatch.setenv("PATH", str(tmp_path / "empty"))
    with pytest.raises(dx.DotNotFound, match="apt-get install graphviz"):
        dx.write_drawing(drawing, tmp_path / "seed.svg")
    assert (tmp_path / "seed.dot").read_text(encoding="utf-8") == drawing.source
    assert not (tmp_path / "seed.svg").exists()
    bundle = drawing._repr_mimebundle_()                  # notebooks get the text instead of an error
    assert "apt-get install graphviz" in bundle["text/plain"] and drawing.source in bundle["text/plain"]


def test_cli_writes_dot_by_extension(tmp_path, capsys):
    out = tmp_path / "seed.dot"
    assert main(["render", SEED, "--at", "x=1,y=2", "--wrt", "x", "--views", "all", "-o", str(out)]) == 0
    assert out.read_text(encoding="utf-8") == seed_dot("all")
    assert main(["render", SEED, "--at", "x=1,y=2", "--wrt", "x"]) == 0
    assert capsys.readouterr().out.endswith(seed_dot("original,symbolic,adjoint"))


def test_cli_without_dot_exits_nonzero_and_keeps_the_dot_text(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("PATH", str(tmp_path / "empty"))
    status = main(["render", SEED, "--at", "x=1,y=2", "--wrt", "x", "-o", str(tmp_path / "seed.png")])
    assert status != 0
    assert "apt-get install graphviz" in capsys.readouterr().err
    assert (tmp_path / "seed.dot").read_text(encoding="utf-8") == seed_dot("original,symbolic,adjoint")


def test_cli_reports_summarised_views(capsys):
    f = "x" + "*sin(x)" * 100
    assert main(["render", f, "--max-nodes", "20"]) == 0
    err = capsys.readouterr().err
    assert "original view: 102 nodes, more than max_nodes = 20" in err


def test_gallery_dot_files_are_up_to_date():
    from gallery.build.views import drawings
    folder = Path(__file__).parent.parent / "gallery" / "views"
    for stem, (drawing, _dpi) in drawings().items():
        assert (folder / f"{stem}.dot").read_text(encoding="utf-8") == drawing.source, \
            f"gallery/views/{stem}.dot is stale: run `.venv/bin/python -m gallery.build --part views`"


# ---- rendering with the dot program -----------------------------------------------------------------


@pytest.mark.dot
def test_golden_seed_drawing_renders_to_svg_naming_every_node():
    source = (GOLDEN / "seed_all.dot").read_text(encoding="utf-8")
    svg = graphviz.Source(source).pipe(format="svg", encoding="utf-8")
    node_ids = re.findall(r"^\s*(\w+) \[label=", source, flags=re.M)
    assert len(node_ids) == 8 + 10 + 8 + 8
    for node_id in node_ids:
        assert f"<title>{node_id}</title>" in svg
        assert f">{node_id.split('_', 1)[1]}</text>" in svg      # the short name is drawn


@pytest.mark.dot
def test_write_drawing_makes_svg_png_and_pdf(tmp_path):
    drawing = dx.render(SEED, at=AT, wrt="x")
    assert dx.write_drawing(drawing, tmp_path / "s.svg").read_text().lstrip().startswith("<?xml")
    assert dx.write_drawing(drawing, tmp_path / "s.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert dx.write_drawing(drawing, tmp_path / "s.pdf").read_bytes()[:5] == b"%PDF-"
    with pytest.raises(dx.DiffexploreError, match=r"allowed: \.svg, \.png, \.pdf, \.dot, \.gv"):
        dx.write_drawing(drawing, tmp_path / "s.bmp")


@pytest.mark.dot
def test_nodes_display_themselves_in_notebooks():
    bundle = dx.parse(SEED)._repr_mimebundle_()
    assert "<svg" in bundle["image/svg+xml"]


def test_large_symbolic_views_are_left_out_by_default_and_say_so(monkeypatch):
    monkeypatch.setattr(importlib.import_module("diffexplore.render.compose"), "SYMBOLIC_DEFAULT_WORK", 50)
    x = dx.variable("x")
    f = x
    for _ in range(30):
        f = dx.sin(f) * f + 0.5              # 92 nodes (x, the constant 0.5 and 90 operations)
    default = dx.render(f, at={"x": 0.3})
    assert "original_" in default.source and "adjoint_" in default.source
    assert "symbolic_" not in default.source
    assert any("symbolic view: left out, f has 92 nodes and 1 variable(s)" in note
               and "views='original symbolic'" in note for note in default.notes)
    asked = dx.render(f, views="original symbolic")
    assert "symbolic_" in asked.source and not any("left out" in note for note in asked.notes)
