"""The words shipped with the pictures are true of the numbers the pictures show.

The tour (``diffexplore tour``) and the gallery were read against hand computations; these tests read
them the same way, by machine: every number a sentence of the tour quotes is parsed and compared with
the value recomputed by the package, every picture the tour points to is in its folder, the drawings'
names and headers say what their boxes and edges hold, and a fan-out sum drawn as ``a + b = c`` adds up
at the precision it is printed with.
"""

from __future__ import annotations

import math
import re
import unicodedata
import warnings
from decimal import Decimal
from pathlib import Path

import pytest

import diffexplore as dx
from diffexplore.formula import formula
from diffexplore.render.labels import MINUS, RESERVED, short_names
from diffexplore.render.views import outline
from diffexplore.reports import tour as tour_module
from diffexplore.reports.families import logistic, seed_example, small_cnn, textbook_mlp

GALLERY = Path(__file__).resolve().parent.parent / "gallery"


# ---- reading drawings ---------------------------------------------------------------------------------


def boxes(source: str) -> dict[str, list[str]]:
    """Node id -> the text lines of its label (HTML tags removed, entities unescaped)."""
    found = {}
    for node_id, label in re.findall(r"^\s*(\w+) \[label=<(.*)>(?: |\])", source, flags=re.M):
        rows = [re.sub(r"<[^>]+>", "", row).strip() for row in label.split("</TR>")]
        found[node_id] = [_unescape(row) for row in rows if row]
    return found


def edges(source: str) -> list[tuple[str, str, str]]:
    """(tail id, head id, label) of every labelled edge."""
    return re.findall(r"^\s*(\w+) -> (\w+) \[label=\"([^\"]*)\"", source, flags=re.M)


def titles(source: str) -> dict[str, list[str]]:
    """Cluster name -> the lines of its title."""
    found = {}
    for name, label in re.findall(r"subgraph cluster_(\w+) \{\n\s*color=\S+ label=<(.*)> labelloc", source):
        lines = [re.sub(r"<[^>]+>", "", line) for line in label.split('<BR ALIGN="LEFT"/>')]
        found[name] = [_unescape(line) for line in lines if line]
    return found


def _unescape(text: str) -> str:
    return text.replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")


def number(text: str) -> float:
    return float(text.replace(MINUS, "-"))


# ---- the tour, run once -------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def tour(tmp_path_factory) -> tuple[Path, str]:
    folder = tmp_path_factory.mktemp("tour")
    path = tour_module.run_tour(folder)
    return folder, path.read_text(encoding="utf-8")


def section(text: str, heading: str) -> str:
    """The text from a heading (## or ###) to the next heading of any level."""
    start = text.index(heading)
    following = re.search(r"^#{2,4} ", text[start + len(heading):], flags=re.M)
    return text[start: start + len(heading) + following.start()] if following else text[start:]


def test_every_file_the_tour_points_to_is_in_its_folder(tour):
    folder, text = tour
    linked = set(re.findall(r"\]\(([^)\s]+)\)", text))
    named = set(re.findall(r"`([\w.-]+\.(?:png|svg|dot|md))`", text))
    assert linked and {"7-mlp-adjoints.svg", "7-cnn-adjoints.svg"} <= linked | named
    missing = sorted(name for name in linked | named if not (folder / name).is_file())
    assert not missing, missing


def test_the_opening_names_every_function_the_stops_use(tour):
    _folder, text = tour
    opening = text.split("\n## ")[0]
    assert "on one function" not in opening
    for name in ("logistic map", "product", "softplus(x·x)", "Newton", "piecewise", "MLP", "convolutional"):
        assert name in opening, name
    assert "loops and branches need nothing special" not in text          # the old, untrue claim


def test_symbolic_stop_counts_are_the_derivatives_sizes(tour):
    _folder, text = tour
    f, _at = seed_example()
    raw, pruned = dx.diff(f, "x", prune=False), dx.diff(f, "x")
    stop = section(text, "## 2. Symbolic differentiation")
    assert f"`{formula(raw)}` ({dx.size(raw).dag_nodes} nodes)" in stop
    shared = [n for n in dx.nodes(pruned) if n in set(dx.nodes(f)) and not n.is_constant]
    assert f"`{formula(pruned)}` ({dx.size(pruned).dag_nodes} nodes, of which {len(shared)} are" in stop


def test_tree_against_dag_table_is_recomputed(tour):
    _folder, text = tour
    stop = section(text, "### The swell is the tree's, not the DAG's")
    rows = [[int(cell) for cell in line.strip("|").split("|")]
            for line in stop.splitlines() if re.match(r"\|\s*\d", line)]
    assert [row[0] for row in rows] == list(tour_module.LOGISTIC_SIZES)
    for n, f_dag, f_tree, d_dag, reused, d_tree in rows:
        g, d = logistic(n), dx.diff(logistic(n), "x")
        assert (f_dag, f_tree) == (dx.size(g).dag_nodes, dx.size(g).tree_nodes)
        assert (d_dag, d_tree) == (dx.size(d).dag_nodes, dx.size(d).tree_nodes)
        assert reused == len(set(dx.nodes(d)) & {m for m in dx.nodes(g) if not m.is_constant})
    growth = re.search(r"DAG grows by (\S+) nodes per step and its tree by a factor of (\S+) per step", stop)
    (n0, _, _, dag0, _, tree0), (n1, _, _, dag1, _, tree1) = rows[-2], rows[-1]
    assert float(growth.group(1)) == (dag1 - dag0) / (n1 - n0)
    assert growth.group(2) == f"{(tree1 / tree0) ** (1 / (n1 - n0)):.2f}"
    assert tree1 > 100 * dag1                      # the claim: the swell is the tree's


def test_simplification_before_and_after_are_the_same_function(tour):
    _folder, text = tour
    stop = section(text, "### Human-readable output")
    derivative = dx.diff(logistic(tour_module.SIMPLIFY_STEPS), "x")
    simple = dx.simplify(derivative)
    assert f"`{formula(derivative)}` ({dx.size(derivative).tree_nodes} nodes as a tree)" in stop
    assert f"`{formula(simple)}` ({dx.size(simple).tree_nodes} nodes as a tree)" in stop
    assert dx.size(simple).tree_nodes < dx.size(derivative).tree_nodes
    value = float(re.search(r"both evaluate to (\S+) \(difference", stop).group(1))
    x = tour_module.SIMPLIFY_POINT["x"]
    exact = 16 - 160 * x + 384 * x ** 2 - 256 * x ** 3       # d/dx of 4·l(1 − l), l = 4x(1 − x), by hand
    assert math.isclose(value, exact, rel_tol=1e-11)


def test_forward_mode_errors_are_recomputed_and_far_below_differences(tour):
    _folder, text = tour
    stop = section(text, "### Exact, unlike differences")
    rows = [[cell.strip() for cell in line.strip("|").split("|")]
            for line in stop.splitlines() if line.startswith("| x =")]
    assert len(rows) == len(tour_module.FORWARD_POINTS)
    f, _at = seed_example()
    for (point_text, tangent, forward_error, central_error, _one_sided), point in zip(
            rows, tour_module.FORWARD_POINTS, strict=True):
        assert point_text == f"x = {point['x']:g}, y = {point['y']:g}"
        x, y = point["x"], point["y"]
        by_hand = 1 + math.exp(math.sin(x * y)) * math.cos(x * y) * y
        assert math.isclose(float(tangent), by_hand, rel_tol=1e-14)
        assert float(forward_error) <= 1e-15 and float(central_error) >= 1e-13
        exact = tour_module.exact_derivative(f, point, "x")
        central = dx.grad(f, point, method="numeric", scheme="central")["x"]
        assert central_error == f"{float(abs(central - exact)):.1e}"
    worst = re.search(r"within (\S+) of the exact value", stop).group(1)
    assert worst == max((row[2] for row in rows), key=float)


def test_numbers_of_the_first_stops_are_recomputed(tour):
    _folder, text = tour
    f, at = seed_example()
    gradient = dx.grad(f, at)
    central = dx.grad(f, at, method="numeric", scheme="central")["x"]
    assert f"∂f/∂x ≈ {central:.12f}, {abs(central - gradient['x']):.1e} away" in text
    assert f"∂f/∂x = {gradient['x']:.6f}, ∂f/∂y = {gradient['y']:.6f}, both from one sweep" in text


def test_loop_and_branch_stops_quote_what_the_package_computes(tour):
    _folder, text = tour
    loops = section(text, "### Loops")
    traced = dx.trace(tour_module.newton_sqrt, a=2.0)
    assert f"traced into {dx.size(traced).ops} operations" in loops
    assert f"d√a/da = {dx.grad(traced, {'a': 2.0})['a']:.15f}" in loops

    branches = section(text, "### Branches: a traced graph is valid on one side")
    graph = dx.trace(tour_module.piecewise, tour_module.TRACED_AT)
    assert f"its graph is `{formula(graph)}` and its symbolic derivative `{formula(dx.diff(graph, 'x'))}`" \
        in branches
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", dx.BranchWarning)
        value = dx.evaluate(graph, tour_module.OTHER_SIDE)
    message = next(str(w.message) for w in caught if issubclass(w.category, dx.BranchWarning))
    assert f"the graph gives {value:g} where the program gives" in branches
    assert value != pytest.approx(tour_module.piecewise(tour_module.OTHER_SIDE["x"]))
    assert f"```\n{message}\n```" in branches
    assert "x < 1 was True" in message


def test_node_column_names_the_pre_activations_of_the_drawing(tour):
    folder, text = tour
    source = (folder / "7-mlp-adjoints.dot").read_text(encoding="utf-8")
    drawn = boxes(source)
    rows = [[cell.strip() for cell in line.strip("|").split("|")]
            for line in section(text, "#### δ⁽ˡ⁾ against s̄⁽ˡ⁾").splitlines() if re.match(r"\|\s*\d", line)]
    net, at, _textbook = textbook_mlp()
    names = short_names(dx.nodes(net.loss))
    assert [row[1] for row in rows] == [f"`{names[s]}`" for s in net.pre_activations]
    for row in rows:
        key = f"adjoint_{row[1].strip('`')}"
        assert key in drawn, key
        head, adjoint = drawn[key][0], next(r for r in drawn[key] if r.startswith("v̄"))
        assert re.fullmatch(r"\w+ = \w+ \+ \w+", head), head                 # s = W z + b: a sum
        assert adjoint.endswith(f"‖·‖ = {row[4]}"), (adjoint, row[4])        # the norm the table quotes


# ---- drawings -----------------------------------------------------------------------------------------


def drawings_to_check(tour_folder: Path) -> dict[str, str]:
    from gallery.build.dynamic import PAIRS, example, side_by_side
    from gallery.build.views import drawings
    sources = {f"views/{stem}": d.source for stem, (d, _dpi) in drawings().items()}
    for stem, (name, title, points) in PAIRS.items():
        graphs = [(dx.trace(example(name), point), point) for point in points]
        sources[f"dynamic/{stem}"] = side_by_side(title, graphs).source
    for path in sorted(tour_folder.glob("*.dot")):
        sources[f"tour/{path.name}"] = path.read_text(encoding="utf-8")
    return sources


def test_fan_out_sums_add_up_at_the_precision_they_are_printed(tour):
    folder, _text = tour
    checked = 0
    for name, source in drawings_to_check(folder).items():
        for rows in boxes(source).values():
            for row in rows:
                found = re.fullmatch(r"v̄ = (\S+(?: [+−] \S+)+) ([=≈]) (\S+)", row)
                if not found:
                    continue
                terms = re.split(r" (?=[+−] )", found.group(1))
                total = Decimal(0)
                for term in terms:
                    sign = -1 if term.startswith("−") else 1
                    total += sign * Decimal(term.lstrip("+− ").replace(MINUS, "-"))
                shown = found.group(3)
                digits = len(re.sub(r"[^0-9]", "", shown.split("e")[0]).lstrip("0")) or 1
                assert found.group(2) == "=", (name, row)
                assert math.isclose(float(total), number(shown), rel_tol=0.51 * 10 ** (1 - digits),
                                    abs_tol=1e-300), (name, row)
                checked += 1
    assert checked >= 10


def test_each_loop_decision_is_written_with_its_own_operands():
    from gallery.build.dynamic import example, path_lines
    f = dx.trace(example("newton_sqrt"), {"x": 16.0})
    names = short_names(dx.nodes(f))
    lines = [line for line in path_lines(f, names) if line.startswith("abs(")]
    assert len(lines) == len(set(lines)) == 7                  # seven trips, seven different conditions
    drawn = set(names.values())
    for line in lines:
        operands = set(re.findall(r"\b([a-z]{1,2})\b", line.split(" → ")[0])) - {"abs"}
        assert operands and operands <= drawn | {"x"}, line


def test_short_names_never_read_as_a_variable_or_the_articles_x_and_y(tour):
    folder, _text = tour
    graphs = [seed_example()[0], dx.families.scalar_network((2, 6, 6, 1)), textbook_mlp()[0].loss,
              small_cnn()[0].loss]
    for g in graphs:
        variables = {v.name for v in dx.free_variables(g)}
        letters = {name[0].lower() for name in variables} | set(RESERVED) | {"x", "y"}
        for name in short_names(dx.nodes(g)).values():
            assert name not in variables and name[0] not in letters, name
    for name, source in drawings_to_check(folder).items():
        drawn = boxes(source)
        for node_id, rows in drawn.items():
            key, expression = rows[0].split(" = ", 1)
            assert key not in {"x", "y"}, (name, node_id)
            if re.fullmatch(r"[A-Za-z_]\w*(?: \(.*\))?", expression):      # a variable's box: "b = x"
                variable = expression.split()[0]
                keys = {rows[0].split(" = ")[0] for rows in drawn.values()}
                assert variable not in keys, (name, variable)
                assert variable[0].lower() not in {k[0] for k in keys}, (name, variable)


def test_edge_labels_use_the_notation_of_their_header(tour):
    folder, _text = tour
    for stem, view in (("3-forward", "tangent"), ("4-reverse", "adjoint")):
        source = (folder / f"{stem}.dot").read_text(encoding="utf-8")
        header = unicodedata.normalize("NFC", " ".join(titles(source)[view]))
        partial = re.search(r"edge labels: the local partial ∂(\w)/∂(\w) on the arrow from "
                            r"(?:an argument )?(\w) to (?:its use )?(\w)", header)
        assert partial, header
        numerator, denominator, tail, head = partial.groups()
        assert (numerator, denominator) == (head, tail)           # the partial of the head by the tail
        if view == "tangent":
            formula_text = f"Σ ∂{head}/∂{tail}·{tail}\u0307 over the arguments {tail} of {head}"
        else:
            formula_text = f"Σ {head}\u0304·∂{head}/∂{tail} over the uses {head} of {tail}"
        assert unicodedata.normalize("NFC", formula_text) in header
        labelled = edges(source)
        assert labelled
        for tail_id, head_id, label in labelled:
            top, bottom = re.match(r"∂(\w+)/∂(\w+) = ", label).groups()
            assert (top, bottom) == (head_id.split("_", 1)[1], tail_id.split("_", 1)[1]), label


def test_the_symbolic_views_one_is_the_seed_not_fs_constant(tour):
    folder, _text = tour
    drawn = boxes((folder / "2-symbolic.dot").read_text(encoding="utf-8"))
    assert drawn["symbolic_a"] == ["a = 1", "the seed ∂x/∂x = 1 (not f's constant)"]


def test_derivative_titles_of_a_large_graph_start_the_real_formula_and_differ():
    from gallery.build.views import MLP_WIDTHS, drawings
    source = drawings()["mlp_views"][0].source
    lines = [line for line in titles(source)["symbolic"] if line.startswith("∂f/∂")]
    assert len(lines) == 3 and len(set(lines)) == 3
    mlp = dx.families.scalar_network(MLP_WIDTHS)
    for line in lines:
        label, text = line.split(" = ", 1)
        cut, _, shape = text.partition("   (outermost: ")
        full = formula(dx.diff(mlp, label.removeprefix("∂f/∂")))
        assert cut.endswith("…") and full.startswith(cut.removesuffix("…")), line
        assert shape.removesuffix(")") == outline(dx.diff(mlp, label.removeprefix("∂f/∂")))


def test_derivative_outlines_of_a_large_graph_differ_and_are_the_derivatives():
    from gallery.build.views import MLP_WIDTHS, drawings
    source = drawings()["mlp_views"][0].source
    lines = [line for line in titles(source)["symbolic"] if line.startswith("∂f/∂")]
    mlp = dx.families.scalar_network(MLP_WIDTHS)
    shapes = []
    for line in lines:
        label = line.split(" = ", 1)[0]
        shape = line.rpartition("   (outermost: ")[2].removesuffix(")")
        assert shape == outline(dx.diff(mlp, label.removeprefix("∂f/∂")))
        shapes.append(shape)
    assert len(shapes) == 3 and len(set(shapes)) == 3, shapes
