"""The finite-difference error study and the cost of a full gradient, against closed forms.

For f = exp at x = 1 every scheme's truncation error has a closed form (f' = e):
forward (e^{1+h} − e)/h − e = e·(expm1(h)/h − 1) ≈ e·h/2, central e·(sinh(h)/h − 1) ≈ e·h²/6, complex
step Im e^{1+ih}/h − e = e·(sin(h)/h − 1) ≈ −e·h²/6. Round-off adds about ε·e/h to the first two.
"""

import math
import sys

import numpy as np
import pytest

import diffexplore as dx
from diffexplore.cli import main
from diffexplore.errors import DiffexploreError
from diffexplore.reports.step_sweep import DEFAULT_STEPS, cost_table, step_sweep

E = math.e
EPS = sys.float_info.epsilon


@pytest.fixture(scope="module")
def exp_sweep():
    return step_sweep("exp(x)", {"x": 1.0})


def test_default_steps_run_from_1e_1_to_1e_16_log_spaced(exp_sweep):
    assert len(DEFAULT_STEPS) == 61
    assert exp_sweep.steps[0] == pytest.approx(1e-1) and exp_sweep.steps[-1] == pytest.approx(1e-16)
    assert np.allclose(np.diff(np.log10(exp_sweep.steps)), -0.25)
    assert exp_sweep.reference == pytest.approx(E, rel=1e-15)


def test_best_central_step_on_exp_at_1_is_between_1e_7_and_1e_4_with_error_below_1e_9(exp_sweep):
    step, error = exp_sweep.best["central"]
    assert 1e-7 <= step <= 1e-4
    assert error < 1e-9
    assert error == np.nanmin(exp_sweep.errors["central"])


def test_forward_differences_are_worse_than_central(exp_sweep):
    assert exp_sweep.best["forward"][1] > 10 * exp_sweep.best["central"][1]
    truncation = exp_sweep.steps >= 1e-5
    assert (exp_sweep.errors["forward"][truncation] > exp_sweep.errors["central"][truncation]).all()


def test_truncation_errors_follow_the_closed_forms(exp_sweep):
    h = exp_sweep.steps
    large = h >= 1e-3              # truncation dominates round-off by a factor > 1e5 here
    forward = E * (np.expm1(h) / h - 1)
    central = E * (np.sinh(h) / h - 1)
    complex_step = E * np.abs(np.sin(h) / h - 1)
    assert exp_sweep.errors["forward"][large] == pytest.approx(forward[large], rel=1e-6)
    assert exp_sweep.errors["central"][large] == pytest.approx(central[large], rel=1e-6)
    assert exp_sweep.errors["complex"][large] == pytest.approx(complex_step[large], rel=1e-6)


def test_truncation_slopes_are_1_forward_and_2_central(exp_sweep):
    h = exp_sweep.steps
    right = (h >= 1e-4) & (h <= 1e-1)
    for scheme, slope in (("forward", 1.0), ("central", 2.0), ("complex", 2.0)):
        fitted = np.polyfit(np.log10(h[right]), np.log10(exp_sweep.errors[scheme][right]), 1)[0]
        assert fitted == pytest.approx(slope, abs=0.05), scheme


def test_round_off_grows_as_the_step_shrinks(exp_sweep):
    """The left arm of the V: at h = 1e-13 cancellation costs about ε·e/h ≈ 6e-3 relative."""
    h = exp_sweep.steps
    k = int(np.argmin(np.abs(np.log10(h) + 13)))
    for scheme in ("forward", "central"):
        assert exp_sweep.errors[scheme][k] > 100 * exp_sweep.best[scheme][1]
        assert exp_sweep.errors[scheme][k] < 10 * EPS * E / h[k]


@pytest.mark.parametrize("formula, x, derivative", [
    ("exp(x)", 1.0, math.exp(1.0)),
    ("sin(x)", 1.0, math.cos(1.0)),
])
def test_complex_step_reaches_machine_precision(formula, x, derivative):
    sweep = step_sweep(formula, {"x": x}, schemes=["complex"])
    small = sweep.steps <= 1e-9
    assert (sweep.errors["complex"][small] / abs(derivative) < 1e-15).all()
    assert sweep.best["complex"][1] / abs(derivative) < 1e-15


def test_logistic_map_sweep_against_the_chain_rule_by_hand():
    # l_{k+1} = 4 l_k (1 − l_k): d l_{k+1}/d l_k = 4 (1 − 2 l_k); multiply along the 4 steps.
    value, derivative = 0.2, 1.0
    for _ in range(4):
        derivative *= 4 * (1 - 2 * value)
        value = 4 * value * (1 - value)
    sweep = step_sweep(dx.families.logistic(4), {"x": 0.2})
    assert sweep.reference == pytest.approx(derivative, rel=1e-13)
    assert sweep.best["central"][1] < sweep.best["forward"][1]
    assert sweep.best["complex"][1] / abs(derivative) < 1e-15


def test_default_steps_are_the_librarys(exp_sweep):
    assert exp_sweep.default_step == {"forward": EPS ** 0.5, "central": EPS ** (1 / 3), "complex": 1e-20}
    assert exp_sweep.default_step["central"] == dx.default_step("central", 1.0)
    # the central default h = ε^(1/3) balances e·h²/6 against ε·e/h: both near 1e-11
    assert exp_sweep.default_error["central"] < 1e-9
    assert exp_sweep.default_error["complex"] / E < 1e-15


def test_a_vanishing_step_is_undefined_not_a_number():
    sweep = step_sweep("x*x", {"x": 1.0}, schemes=["forward"], steps=[1e-3, 1e-17])
    assert math.isnan(sweep.errors["forward"][1])          # 1 + 1e-17 == 1: the step rounds to 0
    assert sweep.best["forward"][0] == 1e-3
    assert sweep.errors["forward"][0] == pytest.approx(1e-3, rel=1e-9)   # ((x+h)² − x²)/h − 2x = h


def test_step_sweep_names_the_variable_problems():
    with pytest.raises(DiffexploreError, match="choose the one"):
        step_sweep("x*y", {"x": 1.0, "y": 2.0})
    with pytest.raises(DiffexploreError, match="its variables: x, y"):
        step_sweep("x*y", {"x": 1.0, "y": 2.0}, wrt="z")
    with pytest.raises(DiffexploreError, match="schemes: forward, central, complex"):
        step_sweep("x", {"x": 1.0}, schemes=["backward"])
    sweep = step_sweep("x*y", {"x": 1.0, "y": 2.0}, wrt="y", schemes=["central"])
    assert sweep.reference == 1.0 and sweep.best["central"][1] < 1e-9


def test_best_step_table_and_plot(exp_sweep, tmp_path):
    md = exp_sweep.to_markdown()
    assert "| central difference |" in md and "6.06e-06" in md and md == exp_sweep.to_markdown()
    rows = exp_sweep.to_csv().splitlines()
    assert len(rows) == 62 and rows[0].startswith("h,forward_derivative")
    path = tmp_path / "steps.png"
    exp_sweep.plot(path)
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


# ---- the cost of a full gradient -----------------------------------------------------------------------

@pytest.mark.parametrize("w", [1, 2, 3, 5, 10])
def test_cost_counts_for_the_product_by_hand(w):
    """x1⋯xW has W − 1 multiplications (1·x1 for W = 1); each pass visits every one of them."""
    row = cost_table(widths=[w], function="product").rows[0]
    ops = max(w - 1, 1)
    assert row.graph_ops == ops
    assert row.passes == {"numeric forward difference": w + 1, "numeric central difference": 2 * w,
                          "forward mode": w, "reverse mode": 2}
    assert row.operations == {m: p * ops for m, p in row.passes.items()}


def test_cost_counts_for_the_dense_function_by_hand():
    """tanh(a·x): W multiplications, W − 1 additions, one tanh."""
    for row in cost_table(widths=[1, 4, 50], function="dense").rows:
        assert row.graph_ops == 2 * row.width
        assert row.operations["numeric central difference"] == 2 * row.width * 2 * row.width
        assert row.operations["reverse mode"] == 2 * 2 * row.width


def test_cost_grows_quadratically_for_forward_mode_and_linearly_for_reverse():
    rows = cost_table(widths=[10, 100, 1000], function="product").rows
    forward = [r.operations["forward mode"] for r in rows]
    reverse = [r.operations["reverse mode"] for r in rows]
    assert forward == [10 * 9, 100 * 99, 1000 * 999] and reverse == [2 * 9, 2 * 99, 2 * 999]


def test_cost_table_measures_times_only_when_asked():
    counted = cost_table(widths=[2, 3])
    assert all(not r.seconds for r in counted.rows) and "ms" not in counted.to_markdown()
    timed = cost_table(widths=[2, 3], measure_times=True, repeats=1)
    assert all(set(r.seconds) == set(r.passes) and min(r.seconds.values()) > 0 for r in timed.rows)
    assert "[ms]" in timed.timings_markdown()


def test_cost_table_rejects_bad_widths_and_functions():
    with pytest.raises(DiffexploreError, match="functions: product, dense"):
        cost_table(function="fft")
    with pytest.raises(DiffexploreError, match="positive integers"):
        cost_table(widths=[0])


def test_cli_steps_and_cost(capsys, tmp_path):
    png = tmp_path / "steps.png"
    assert main(["steps", "exp(x)", "--at", "x=1", "--plot", str(png)]) == 0
    out = capsys.readouterr().out
    assert "central difference" in out and png.exists()
    assert main(["steps", "x*y", "--at", "x=1,y=2"]) == 2
    assert "--wrt" in capsys.readouterr().err
    assert main(["cost", "--widths", "1,10"]) == 0
    assert "reverse" in capsys.readouterr().out
    assert main(["cost", "--widths", "1,ten"]) == 2
    assert "whole numbers" in capsys.readouterr().err


# ---- the round-off guide and where plots go ------------------------------------------------------------


def test_round_off_guide_is_eps_times_f_over_h_not_f_prime():
    """f(x + h) − f(x) loses about ε·|f(x)| to rounding, so the forward difference's round-off error is
    about ε·|f(x)|/h. For f = 1000 + x at x = 1 (|f| = 1001, |f′| = 1) the guide must follow |f|, and
    at h = 1e-12 the measured forward error is within a factor 10 of ε·1001/h, far above ε·1/h."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    sweep = step_sweep("1000 + x", {"x": 1.0}, schemes=["forward"])
    assert sweep.value == 1001.0 and sweep.reference == 1.0
    fig, ax = plt.subplots()
    sweep._guides(ax)
    guide = next(line for line in ax.get_lines() if "round-off" in line.get_label())
    assert guide.get_label() == "round-off ≈ ε·|f(x)|/h"
    h, error = guide.get_data()
    assert error[0] == pytest.approx(EPS * 1001.0 / h[0])
    plt.close(fig)
    k = int(np.argmin(np.abs(sweep.steps - 1e-12)))
    measured = sweep.errors["forward"][k]
    assert EPS * 1001 / sweep.steps[k] / 10 < measured < EPS * 1001 / sweep.steps[k] * 10


def test_a_plot_into_a_missing_folder_or_unknown_format_is_refused(exp_sweep, tmp_path):
    with pytest.raises(DiffexploreError, match="does not exist"):
        exp_sweep.plot(tmp_path / "missing" / "steps.png")
    with pytest.raises(DiffexploreError, match=r"\.png"):
        exp_sweep.plot(tmp_path / "steps.txt")
    with pytest.raises(DiffexploreError, match="does not exist"):
        cost_table(widths=[1, 2]).plot(tmp_path / "missing" / "cost.png")
    assert list(tmp_path.iterdir()) == []
