"""Expression swell: the structural facts the report must show, checked against hand derivations.

Sizes and operation counts are compared with closed forms derived by hand in each test's docstring;
the operation counts are also checked against the rule calls the evaluators actually make.
"""

import csv
import decimal
import importlib
import io
import json
import random
import time
from itertools import pairwise

import pytest
from hypothesis import given

import diffexplore as dx
from diffexplore import sizes as sizes_module
from diffexplore.cli import main
from diffexplore.errors import DiffexploreError
from diffexplore.graph import PRIMITIVES
from diffexplore.render.summary import summary_view
from diffexplore.reports import families
from diffexplore.reports import swell as swell_module
from diffexplore.reports.swell import SwellReport, operation_counts, parse_sizes
from diffexplore.sizes import count_digits, exact_or_text, format_count, log10_count, tree_count
from gallery.build import swell as swell_gallery
from tests.strategies import expressions, points

LOGISTIC_SIZES = range(1, 21)


@pytest.fixture(scope="module")
def logistic():
    return dx.swell("logistic", LOGISTIC_SIZES, sympy=False, timings=False)


def differences(values):
    return [b - a for a, b in pairwise(values)]


# ---- logistic: linear DAGs, exponential trees ---------------------------------------------------------


def test_logistic_first_step_counted_by_hand():
    """l1 = 4x(1 − x) = mul(mul(4, x), sub(1, x)): DAG nodes {4, x, 4x, 1, 1 − x, l1} = 6, tree 7
    (x is written twice), 3 operations. Its derivative (1 − x)·4 + 4x·(−1), pruned by a·(−1) = −a and
    a + (−b) = a − b, is (1 − x)·4 − 4x: DAG {1, x, 1 − x, 4, (1 − x)·4, 4x, difference} = 7, tree 9.
    Forward and reverse mode: 3 evaluations plus 4 edges carrying a tangent/adjoint (4x→x, (1 − x)→x,
    l1→4x, l1→(1 − x); the edges to the constants carry none) = 7."""
    row = dx.swell("logistic", [1], sympy=False, timings=False).rows[0]
    assert (row["f_dag"], row["f_tree"], row["f_ops"]) == (6, 7, 3)
    assert (row["diff_dag"], row["diff_tree"]) == (7, 9)
    assert (row["forward_ops"], row["reverse_ops"], row["inputs"]) == (7, 7, 1)


def test_logistic_function_sizes_follow_closed_forms(logistic):
    """Each step adds three operation nodes (4·l, 1 − l, their product): DAG 3n + 3 with the leaves x, 4,
    1. The tree writes l_{n-1} twice: T_n = 2 T_{n-1} + 5, T_0 = 1, so T_n = 6·2^n − 5."""
    ns = list(LOGISTIC_SIZES)
    assert logistic.column("f_dag") == [3 * n + 3 for n in ns]
    assert logistic.column("f_ops") == [3 * n for n in ns]
    assert logistic.column("f_tree") == [6 * 2 ** n - 5 for n in ns]


def test_logistic_derivative_dags_grow_linearly(logistic):
    """The pruned derivative and the gradient graph reuse f's nodes and add a fixed number of new nodes
    per step: constant differences from n = 2 on, and within a small multiple of f's own DAG."""
    for key in ("diff_dag", "grad_dag"):
        steps = differences(logistic.column(key))
        assert len(set(steps)) == 1, (key, steps)
        assert all(d <= 3 * f for d, f in zip(logistic.column(key), logistic.column("f_dag"), strict=True))


def test_logistic_derivative_tree_grows_exponentially(logistic):
    """The product rule writes l_{n-1}' twice (and l_{n-1} twice), so the derivative tree more than
    doubles every step (D_n > 2 D_{n-1}), while the ratio tends to 2 as the doubled part dominates."""
    trees = logistic.column("diff_tree")
    ratios = [b / a for a, b in pairwise(trees)]
    assert all(r > 2 for r in ratios)
    assert all(later < earlier for earlier, later in pairwise(ratios[1:]))
    assert ratios[-1] < 2.15
    assert trees[-1] > 2 ** 20 * 100          # exact integers, counted without expanding


def test_logistic_reverse_mode_stays_within_a_constant_of_the_function(logistic):
    """Per step: 3 evaluations and 4 edges that carry an adjoint, so reverse mode costs 7n = (7/3)·f ops;
    with one input, forward mode does the same work."""
    ns = list(LOGISTIC_SIZES)
    assert logistic.column("reverse_ops") == [7 * n for n in ns]
    assert logistic.column("forward_ops") == logistic.column("reverse_ops")
    pairs = zip(logistic.column("reverse_ops"), logistic.column("f_ops"), strict=True)
    assert all(r * 3 == 7 * f for r, f in pairs)


# ---- forward against reverse mode -------------------------------------------------------------------


def test_product_forward_mode_grows_as_n_squared_reverse_as_n():
    """x1·x2·…·xn as ((x1·x2)·x3)…: n − 1 multiplications with 2 edges each. Reverse mode: (n − 1)
    evaluations + 2(n − 1) adjoint steps = 3(n − 1). Forward mode: n sweeps of n − 1 evaluations, plus
    the tangent steps: the k-th product's left edge is reached by the k inputs below it, its right edge
    by one, so Σ_{k=1}^{n-1} (k + 1) = (n − 1)(n + 2)/2; in all (n − 1)(3n + 2)/2."""
    ns = list(range(1, 31))
    report = dx.swell("product", ns, sympy=False, timings=False)
    assert report.column("inputs") == ns
    assert report.column("reverse_ops") == [3 * (n - 1) for n in ns]
    assert report.column("forward_ops") == [(n - 1) * (3 * n + 2) // 2 for n in ns]
    assert set(differences(differences(report.column("forward_ops"))[1:])) == {3}   # quadratic
    assert set(differences(report.column("reverse_ops"))) == {3}                     # linear


def test_mlp_backpropagation_is_linear_forward_mode_quadratic():
    """Layer k: w_k·h, + b_k, tanh: 3 evaluations, 5 adjoint edges, so reverse = 8n. Forward: 2n + 1
    sweeps of 3n evaluations; the tangent steps of layer k are reached by 1 (w_k) + 2k − 1 (h_{k-1}) +
    2k (the product) + 1 (b_k) + 2k + 1 (the sum) inputs = 6k + 2, summing to 3n² + 5n; in all 9n² + 8n."""
    ns = list(range(1, 9))
    report = dx.swell("mlp", ns, sympy=False, timings=False)
    assert report.column("inputs") == [2 * n + 1 for n in ns]
    assert report.column("reverse_ops") == [8 * n for n in ns]
    assert report.column("forward_ops") == [9 * n * n + 8 * n for n in ns]


def test_nested_sin_derivative_tree_grows_quadratically_not_exponentially():
    """d/dx sin^n(x) = cos(s_{n-1})·…·cos(x), with s_k the k-fold sine: DAG = n sines' chain (x, s_1 …
    s_{n-1}) + n cosines + n − 1 products = 3n − 1. Tree: D_1 = 2, D_k = D_{k-1} + 1 + (k + 1), so
    D_n = n(n + 1)/2 + 2n − 1: each term is used once, so nothing doubles."""
    ns = list(range(1, 16))
    report = dx.swell("nested-sin", ns, sympy=False, timings=False)
    assert report.column("diff_dag") == [3 * n - 1 for n in ns]
    assert report.column("diff_tree") == [n * (n + 1) // 2 + 2 * n - 1 for n in ns]


def _count_partial_calls():
    """Wrap every rule's partials with a counter (the evaluators build their plans from them)."""
    calls = {"n": 0}
    saved = {}

    def counting(partial):
        def wrapped(*args):
            calls["n"] += 1
            return partial(*args)
        return wrapped

    for rule in PRIMITIVES.values():
        if rule.partials:
            saved[rule] = rule.partials
            rule.partials = tuple(None if p is None else counting(p) for p in rule.partials)
    return calls, saved


@given(expressions(), points)
def test_operation_counts_equal_the_partials_the_evaluators_evaluate(f, at):
    """A tangent or adjoint step is one local partial times one tangent/adjoint: counting the calls of
    the rules' partials during dx.grad gives the steps independently of operation_counts."""
    counts = operation_counts(f)
    plans = importlib.import_module("diffexplore.plan")._plans
    calls, saved = _count_partial_calls()
    try:
        plans.clear()
        dx.grad(f, at, method="forward")
        forward_calls = calls["n"]
        dx.grad(f, at, method="reverse")
        reverse_calls = calls["n"] - forward_calls
    finally:
        for rule, partials in saved.items():
            rule.partials = partials
        plans.clear()
    assert forward_calls == counts.tangent_steps
    assert reverse_calls == counts.adjoint_steps
    assert counts.inputs == len(dx.free_variables(f))


# ---- SymPy cells -------------------------------------------------------------------------------------


def test_sympy_derivative_of_a_product_has_n_times_n_minus_2_operations():
    """∂/∂x_i of x1⋯xn is the product of the other n − 1 variables: n − 2 multiplications, n times.
    Common subexpressions cannot make that larger."""
    ns = [2, 3, 4, 5]
    report = dx.swell("product", ns, timings=False, timeout=60)
    assert report.column("sympy_diff_ops") == [n * (n - 2) for n in ns]
    pairs = zip(report.column("sympy_cse_ops"), report.column("sympy_diff_ops"), strict=True)
    assert all(c <= d for c, d in pairs)


def test_a_sympy_cell_past_its_budget_says_timeout_and_the_report_goes_on():
    report = dx.swell("logistic", [9, 10], timings=False, timeout=0.01)
    assert report.column("sympy_diff_ops") == ["timeout", "skipped"]
    assert report.column("sympy_cse_ops") == ["timeout", "skipped"]
    assert report.column("f_tree") == [6 * 2 ** 9 - 5, 6 * 2 ** 10 - 5]      # the rest still comes
    assert "timeout" in report.to_text() and "timeout" in report.to_markdown()


# ---- outputs -----------------------------------------------------------------------------------------


def test_csv_and_json_give_back_the_exact_integers():
    report = dx.swell("logistic", range(1, 7), sympy=False, timings=False)
    rows = list(csv.DictReader(io.StringIO(report.to_csv())))
    assert [int(r["f_tree"]) for r in rows] == report.column("f_tree")
    document = json.loads(report.to_json())
    assert [r["diff_tree"] for r in document["rows"]] == report.column("diff_tree")
    assert set(document["columns"]) == set(report.keys)


def test_size_outputs_do_not_depend_on_timing_runs():
    """include="sizes" leaves the measured times out: the same text as a report that never timed."""
    timed = dx.swell("nested-sin", [1, 2, 3], sympy=False, timings=True, repeats=1)
    untimed = dx.swell("nested-sin", [1, 2, 3], sympy=False, timings=False)
    for fmt in ("md", "csv", "json", "table"):
        assert timed.render(fmt, include="sizes") == untimed.render(fmt)
    assert "forward_s" not in timed.to_csv(include="sizes")
    assert all(isinstance(v, float) and v > 0 for v in timed.column("reverse_s"))
    assert "forward time" in timed.to_markdown(include="times")


def test_markdown_shows_growth_and_what_columns_mean(logistic):
    text = logistic.to_markdown()
    assert "diff tree" in text and "**diff DAG**" in text
    assert "Growth from n = 19 to n = 20" in text
    assert "reverse ops / f ops: 2.333" in text
    growth = {g["key"]: g for g in logistic.growth()}
    assert growth["f_tree"]["ratio"] == pytest.approx(2.0, abs=1e-3)
    assert growth["diff_dag"]["exponent"] < 1.2 < growth["diff_tree"]["exponent"]


def test_plot_writes_a_picture(tmp_path):
    report = dx.swell("product", [2, 4], timings=True, repeats=1, timeout=60)
    path = tmp_path / "swell.png"
    report.plot(path, logx=True)
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    with pytest.raises(dx.DiffexploreError, match=r"\.png"):
        report.plot(tmp_path / "swell.bmp")


# ---- families and sizes ------------------------------------------------------------------------------


def test_a_recurrence_gives_the_same_graphs_as_the_built_in_family():
    built_in = dx.swell("logistic", range(0, 6), sympy=False, timings=False)
    iterated = dx.swell(families.iterate("4*f*(1-f)"), range(0, 6), sympy=False, timings=False)
    assert iterated.rows == built_in.rows


def test_user_formula_with_n_and_lists_of_formulas():
    """x**n is pow(x, n) for every n: 3 DAG nodes; its derivative n·x**(n−1), once the constant n − 1 is
    folded, is mul(n, pow(x, n−1)): 5 nodes (x, n, n − 1, the power, the product)."""
    report = dx.swell("x**n", [3, 4, 5], sympy=False, timings=False)
    assert report.column("f_dag") == [3, 3, 3]
    assert report.column("diff_dag") == [5, 5, 5]
    listed = dx.swell(["x*y", "sin(x*y)"], sympy=False, timings=False)
    assert listed.column("formula") == ["x*y", "sin(x*y)"]
    assert listed.column("inputs") == [2, 2]
    assert "x*y" in listed.to_text()


@pytest.mark.parametrize("text, sizes", [("1:4", [1, 2, 3, 4]), ("2,4,8", [2, 4, 8]), ("5", [5]),
                                         ("0:6:3", [0, 3, 6]), ("8, 2,2", [2, 8])])
def test_sizes_from_text(text, sizes):
    assert parse_sizes(text) == sizes


@pytest.mark.parametrize("text", ["", "1:", "a:3", "5:1", "1:4:0", "-1,2", "1.5"])
def test_bad_sizes_say_what_is_allowed(text):
    with pytest.raises(dx.DiffexploreError, match="1:12"):
        parse_sizes(text)


def test_bad_families_and_sizes_are_named():
    with pytest.raises(dx.DiffexploreError, match="logistic, nested-sin, product"):
        dx.swell("logstic")
    with pytest.raises(dx.DiffexploreError, match="n >= 1"):
        dx.swell("product", [0])
    with pytest.raises(dx.DiffexploreError, match="previous term"):
        families.iterate("x + 1")


# ---- command line and gallery ------------------------------------------------------------------------


def test_cli_writes_the_report_and_the_plot(tmp_path, capsys):
    assert main(["swell", "logistic", "--n", "1:3", "--format", "json", "--no-sympy", "--no-timings"]) == 0
    assert [r["f_tree"] for r in json.loads(capsys.readouterr().out)["rows"]] == [7, 19, 43]
    out, picture = tmp_path / "swell.md", tmp_path / "swell.png"
    assert main(["swell", "--iterate", "sin(f)", "--n", "1,2", "--no-sympy", "--format", "md",
                 "-o", str(out), "--plot", str(picture)]) == 0
    assert "## Expression swell" in out.read_text(encoding="utf-8")
    assert picture.stat().st_size > 10_000


def test_cli_rejects_a_bad_range_without_a_traceback(capsys):
    assert main(["swell", "logistic", "--n", "12:1"]) == 2
    assert "argument --n: '12:1'" in capsys.readouterr().err


def test_gallery_text_is_the_same_on_every_run(tmp_path, monkeypatch):
    monkeypatch.setattr(swell_gallery, "REPORTS", [("logistic", range(1, 3), False, "swell")])
    first = swell_gallery.make_gallery(tmp_path / "a")
    second = swell_gallery.make_gallery(tmp_path / "b")
    names = sorted(p.name for p in first)
    assert names == sorted(p.name for p in second)
    assert {"logistic.md", "logistic.png", "logistic-timings.md", "logistic.csv", "README.md"} <= set(names)
    for name in names:
        if name.endswith((".md", ".csv", ".json")) and "timings" not in name:
            assert (tmp_path / "a" / name).read_bytes() == (tmp_path / "b" / name).read_bytes(), name
    assert "µs" not in (tmp_path / "a" / "logistic.md").read_text(encoding="utf-8")


# ---- counts beyond floats and beyond str() ------------------------------------------------------------

HALF_UP = decimal.ROUND_HALF_UP


def decimal_text(n: int, digits: int) -> str:
    """What format_count must print for n >= 10**15, computed by Python's decimal module."""
    mantissa, exponent = f"{decimal.Context(prec=digits, rounding=HALF_UP).create_decimal(n):E}".split("E")
    return f"{mantissa}e+{int(exponent)}"


@pytest.mark.parametrize("n", [0, 1, 7, 24571, 10 ** 15 - 1])
def test_counts_below_10_to_the_15_print_exactly(n):
    assert format_count(n) == str(n)
    assert format_count(n, separators=True) == f"{n:,}"
    assert count_digits(n) == len(str(n))
    assert exact_or_text(n) == n


@pytest.mark.parametrize("n, digits, text", [
    (10 ** 15, 2, "1.0e+15"), (125 * 10 ** 18, 2, "1.3e+20"), (124999 * 10 ** 15, 2, "1.2e+20"),
    (996 * 10 ** 18, 2, "1.0e+21"), (10 ** 20 - 1, 2, "1.0e+20"), (10 ** 20 - 1, 15, "1.00000000000000e+20"),
    (3 * 10 ** 40, 4, "3.000e+40"), (6 * 2 ** 2000 - 5, 2, "6.9e+602"),
])
def test_large_counts_print_as_a_mantissa_and_a_power_of_ten_rounded_half_up(n, digits, text):
    assert format_count(n, digits) == text == decimal_text(n, digits)


def test_the_logistic_tree_at_a_million_steps_has_the_right_leading_digits():
    """6·2ⁿ − 5 for n = 10⁶: decimal's correctly rounded 2^(10⁶) (30 digits) gives 5.94039373757…e+301030;
    str() of it is refused and float() overflows, format_count works from the leading bits."""
    n = 6 * 2 ** 10 ** 6 - 5
    context = decimal.Context(prec=30, Emax=10 ** 7)
    reference = context.multiply(6, context.power(2, 10 ** 6))
    assert str(reference).startswith("5.94039373757753895")
    assert format_count(n, 6) == "5.94039e+301030"
    assert format_count(n, 15) == "5.94039373757754e+301030"
    assert count_digits(n) == 301031
    assert log10_count(n) == pytest.approx(float(context.log10(reference)), rel=1e-14)
    with pytest.raises(ValueError):
        str(n)
    with pytest.raises(OverflowError):
        float(n)


def test_leading_digits_of_random_huge_integers_match_decimal():
    rng = random.Random(0)
    for bits in (60, 1000, 14_000, 70_000):
        for _ in range(3):
            n = rng.getrandbits(bits) | (1 << (bits - 1))
            for digits in (2, 6):
                if n >= 10 ** 15:
                    assert format_count(n, digits) == decimal_text(n, digits)
            exact = decimal.Context(prec=60).create_decimal(n)
            assert count_digits(n) == exact.adjusted() + 1


def test_exact_or_text_keeps_integers_up_to_4300_digits():
    assert exact_or_text(10 ** 4299) == 10 ** 4299          # 4,300 digits: Python can print it
    assert exact_or_text(10 ** 4300) == "1.00000e+4300"


def test_tree_counts_are_exact_within_budget_and_estimated_beyond():
    f = dx.parse("x")
    for _ in range(300):
        f = 4 * f * (1 - f)
    order = dx.nodes(f)
    exact = tree_count(order, [f])
    assert exact.exact == 6 * 2 ** 300 - 5 == dx.size(f).tree_nodes
    estimate = tree_count(order, [f], max_work=1000)
    assert estimate.exact is None
    assert estimate.log10 == pytest.approx(log10_count(6 * 2 ** 300 - 5), rel=1e-12)
    assert estimate.text() == "1.2e+91" == format_count(exact.exact)     # the rounding is certain: no ≈


@pytest.fixture(scope="module")
def logistic_2000():
    return dx.swell("logistic", [1, 2000], sympy=False, timings=False)


def test_logistic_at_2000_steps_prints_its_tree_count_in_every_format(logistic_2000, tmp_path):
    """f tree = 6·2²⁰⁰⁰ − 5 ≈ 6.9e+602 (603 digits): tables show the power of ten, CSV and JSON the
    exact integer (fewer than 4,300 digits), the plot draws log10 of it."""
    tree = 6 * 2 ** 2000 - 5
    assert logistic_2000.column("f_tree") == [7, tree]
    row = logistic_2000.to_text().splitlines()[-1].split()
    assert row[:5] == ["2000", "1", "6003", "6.9e+602", "6000"]
    assert " 6.9e+602 |" in logistic_2000.to_markdown()
    assert "6.9e+602" in logistic_2000.to_markdown().split("Growth")[1]       # the growth table too
    records = list(csv.DictReader(io.StringIO(logistic_2000.to_csv())))
    assert int(records[1]["f_tree"]) == tree
    assert json.loads(logistic_2000.to_json())["rows"][1]["f_tree"] == tree
    picture = tmp_path / "logistic.png"
    logistic_2000.plot(picture)
    assert picture.stat().st_size > 10_000


def huge_report() -> SwellReport:
    """Report data as swell makes it, with counts beyond 4,300 digits (building them would take minutes)."""
    rows = []
    for n in (10 ** 4, 10 ** 5):
        rows.append({"n": n, "inputs": 1, "f_dag": 3 * n + 3, "f_tree": 6 * 2 ** n - 5, "f_ops": 3 * n,
                     "diff_dag": 8 * n, "diff_tree": "skipped" if n > 10 ** 4 else 9 * 2 ** (n + 4),
                     "grad_dag": 8 * n, "forward_ops": 7 * n, "reverse_ops": 7 * n})
    return SwellReport("logistic", "huge", rows, list(rows[0]), notes=["n = 100000: diff tree skipped"])


def test_reports_with_counts_beyond_4300_digits_print_and_plot(tmp_path):
    report = huge_report()
    text = report.to_text()
    assert "6.0e+30103" in text and "1.2e+3011" in text and "skipped" in text
    markdown = report.to_markdown()
    assert " 6.0e+30103 |" in markdown and "| 5.0e+27092 |" in markdown     # the growth ratio ≈ 2^90000
    records = list(csv.DictReader(io.StringIO(report.to_csv())))
    assert records[1]["f_tree"] == "5.99401e+30103" and records[1]["diff_tree"] == "skipped"
    document = json.loads(report.to_json())
    assert document["rows"][0]["f_tree"] == 6 * 2 ** 10 ** 4 - 5           # 3,012 digits: exact
    assert document["rows"][1]["f_tree"] == "5.99401e+30103"                # 30,104 digits: 6 of them
    tree_growth = report.growth()[1]
    assert tree_growth["ratio"] is None and tree_growth["exponent"] == pytest.approx(27092.7, abs=0.1)
    picture = tmp_path / "huge.png"
    report.plot(picture)
    assert picture.stat().st_size > 10_000


def test_a_tree_count_over_budget_is_estimated_with_a_note(monkeypatch):
    """f tree = 6·2²⁰⁰ − 5 ≈ 9.642e+60: too costly to count exactly under a tiny budget, so the cell holds
    the floating-point estimate, whose printed digits are the exact count's."""
    monkeypatch.setattr(swell_module, "TREE_WORK_LIMIT", 10_000)
    report = dx.swell("logistic", [200], sympy=False, timings=False)
    (f_tree,), (diff_tree,) = report.column("f_tree"), report.column("diff_tree")
    assert f_tree.exact is None and diff_tree.exact is None
    assert f_tree.text(4) == format_count(6 * 2 ** 200 - 5, 4) == "9.642e+60"
    assert report.column("f_dag") == [603]
    assert any("f tree estimated" in note and "9.642e+60" in note for note in report.notes)
    assert " 9.6e+60 " in report.to_text()
    assert next(csv.DictReader(io.StringIO(report.to_csv())))["f_tree"] == format_count(6 * 2 ** 200 - 5, 6)


@pytest.mark.parametrize("family, n, reach", [
    ("logistic", 10 ** 20, "166,665"), ("logistic", 200_000, "166,665"), ("product", 600, "49"),
    ("mlp", 1000, "22"),
])
def test_members_too_large_to_build_are_refused_up_front(family, n, reach):
    start = time.perf_counter()
    with pytest.raises(DiffexploreError, match=f"over the limit of 500,000.*near n = {reach}"):
        dx.swell(family, [n], sympy=False, timings=False)
    assert time.perf_counter() - start < 5


def test_too_many_sizes_are_refused_before_they_are_listed():
    with pytest.raises(DiffexploreError, match="100,000,000 sizes; a report measures at most 1,000"):
        parse_sizes("1:100000000")
    with pytest.raises(DiffexploreError, match="at most 1,000"):
        dx.swell("x**n", range(10 ** 20), sympy=False, timings=False)


def test_render_summarises_a_12000_node_chain_with_its_exact_tree_count():
    """logistic(4000) has 12,003 nodes, far over max_nodes: its size table shows the tree count
    6·2⁴⁰⁰⁰ − 5 ≈ 7.9e+1204 (exact within the budget; estimated with ≈ beyond it)."""
    f = families.logistic(4000)
    source = dx.render(f, views="original").source
    assert "12,003" in source and decimal_text(6 * 2 ** 4000 - 5, 2) == "7.9e+1204" and "7.9e+1204" in source
    view, _note = summary_view("original", ["original"], [f], max_nodes=10)
    assert view.boxes[0].rows[2].cells == ("nodes written as a tree", "7.9e+1204")


def test_render_summary_never_counts_a_large_tree_exactly(monkeypatch):
    """The size table prints 6·2⁴⁰⁰⁰ − 5 from the floating-point pass alone: no exact integer count."""
    def refuse(*args):
        raise AssertionError("the summary counted a tree exactly")

    monkeypatch.setattr(sizes_module, "_exact_tree", refuse)
    view, _note = summary_view("original", ["original"], [families.logistic(4000)], max_nodes=10)
    assert view.boxes[0].rows[2].cells == ("nodes written as a tree", "7.9e+1204")
