"""The memory report and `diffexplore memory`: memory against n for each method, the trade-off of the
checkpoint budget beside the binomial bound, and the memory columns of dx.swell and dx.cost_table."""

import json
import math

import pytest

import diffexplore as dx
from diffexplore.checkpoint import binomial_advances
from diffexplore.cli import main
from diffexplore.reports.memory import memory_report


def test_reverse_mode_stores_linearly_and_sqrt_checkpoints_like_the_root():
    report = memory_report("nested-sin", [4, 16, 64], trade_n=0)
    assert report.column("evaluate_peak") == [2, 2, 2] and report.column("forward_peak") == [4, 4, 4]
    assert report.column("reverse_stored") == [3, 15, 63]
    for n, stored, recomputed in zip(report.column("n"), report.column("sqrt_stored"),
                                     report.column("sqrt_recomputed"), strict=True):
        assert stored <= math.ceil(math.sqrt(n)) and recomputed <= n


def test_the_trade_off_meets_the_binomial_bound_on_a_chain(tmp_path):
    report = memory_report("nested-sin", [30], trade_n=30)
    binomial = [p for p in report.trade if p.kind == "binomial"]
    assert binomial and all(p.recomputed == binomial_advances(30, p.checkpoints) for p in binomial)
    assert report.bound[0] == (1, binomial_advances(30, 1), report.bound_working)
    assert [p.kind for p in report.trade][0] == "store-all" and report.trade[0].recomputed == 0
    report.plot(tmp_path / "memory.png")
    assert (tmp_path / "memory.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    document = json.loads(report.render("json"))
    assert document["rows"][0]["reverse_stored"] == 29 and document["trade"]
    assert "√n stored" in report.render("md") and report.render("csv").startswith("n,ops,")


def test_swell_and_cost_table_have_memory_columns():
    report = dx.swell("nested-sin", [4, 16], sympy=False, timings=False)
    assert report.column("forward_mem") == [4, 4]
    assert report.column("reverse_mem") == [6, 18]
    assert report.column("sqrt_mem")[1] < report.column("reverse_mem")[1]
    assert "reverse √n mem" in report.to_text()
    table = dx.cost_table(widths=[3, 30], function="product")
    row = table.rows[1]
    assert row.memory["forward mode"] == 4                     # one sweep: a value and a tangent, twice
    assert row.memory["reverse mode"] >= 30                    # the whole gradient at once, and the tape
    assert "reverse √n mem" in table.to_text()


def test_the_memory_command_prints_and_plots(tmp_path, capsys):
    plot = tmp_path / "m.png"
    assert main(["memory", "nested-sin", "--n", "2,8", "--trade", "8", "--plot", str(plot)]) == 0
    out = capsys.readouterr().out
    assert "reverse stored" in out and "trade-off at n = 8" in out and plot.exists()
    assert main(["memory", "no-such-family", "--n", "2"]) == 2
    assert "unknown family" in capsys.readouterr().err


def test_the_trade_off_refuses_a_graph_too_large_to_sweep():
    with pytest.raises(dx.DiffexploreError, match="trade-off"):
        memory_report("nested-sin", [6000], trade_n=6000)


@pytest.mark.parametrize("family, n", [("nested-sin", 40), ("logistic", 16)])
def test_the_binomial_schedules_lie_on_the_bound_drawn_beside_them(family, n):
    """The bound is in the schedules' units, counted in operations: every measured binomial schedule
    runs again exactly the bound's operations for its s and holds exactly the bound's values."""
    report = memory_report(family, [n], trade_n=n)
    bound = {s: (recomputed, held) for s, recomputed, held in report.bound}
    binomial = [p for p in report.trade if p.kind == "binomial"]
    assert len(binomial) == 6
    for point in binomial:
        assert (point.recomputed, point.peak) == bound[point.checkpoints], point
    if family == "nested-sin":              # a chain: every operation a unit
        assert all(recomputed == binomial_advances(n, s) for s, (recomputed, _held) in bound.items())
    else:                                   # units are the steps (and the first step split where x dies)
        assert report.bound_units in (n, n + 1) and report.bound_snapshot == 1


def test_the_trade_off_plot_labels_points_apart_with_plain_numbers_on_its_axes(tmp_path):
    import matplotlib.figure
    report = memory_report("nested-sin", [2, 8, 64], trade_n=64)
    figure = report.plot()
    assert isinstance(figure, matplotlib.figure.Figure) and not list(tmp_path.iterdir())
    figure.savefig(tmp_path / "memory.png")                  # lays the figure out
    renderer = figure.canvas.get_renderer()
    left, right = figure.axes[:2]
    labels = [text.get_window_extent(renderer) for text in right.texts]
    assert len(labels) == len(report.trade)
    for k, one in enumerate(labels):
        for other in labels[k + 1:]:
            assert not one.overlaps(other), (one, other)
    for axes in (left, right):
        ticks = [t.get_text() for t in axes.get_xticklabels() + axes.get_yticklabels() if t.get_text()]
        assert ticks and all(t.replace(",", "").replace(".", "").isdigit() for t in ticks), ticks
    assert all(not legend.get_window_extent(renderer).overlaps(right.get_window_extent(renderer))
               for legend in [right.get_legend()])
