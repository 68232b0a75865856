"""The explorer at scale: above 10,000 nodes the page has a level of detail, and says so.

Such a page steps through the first and last 1,000 lines of each sweep and folds the lines between into
one step, so a 10⁵-node graph (the chain l = sin(l)·l + 0.5 and the logistic map l = 2.5·l·(1 − l),
each iterated 33,333 times from x) makes a page of about 2.6 MB instead of 174 MB. The numbers in the
window are those of the whole sweeps: for f = sin∘…∘sin (n times) the chain rule gives
∂f/∂x = cos(u₀)·cos(u₁)·…·cos(u_{n−1}) with u₀ = x, u_k = sin(u_{k−1}), and each u_k feeds one operation,
so every term the reverse sweep adds is that node's whole adjoint.
"""

from __future__ import annotations

import html
import json
import math
import re
import subprocess
import sys
from pathlib import Path

import pytest

import diffexplore as dx
import diffexplore.explorer as explorer
from diffexplore.cli import main
from diffexplore.explorer import DETAIL_NODES, MAX_EXPLORE_NODES, WINDOW_LINES
from diffexplore.render.labels import short_names

#: The largest page a 10⁵-node graph may make.
MAX_PAGE_BYTES = 20 * 1024 * 1024
#: The largest resident memory (VmHWM) of a process that builds and explores the two 10⁵-node
#: graphs one after the other (measured: about 480 MB).
MAX_RESIDENT_MB = 800

CHILD = r"""
import json, sys
from collections import Counter
import diffexplore as dx
from diffexplore.render.labels import format_value

def chain(steps):
    term = dx.variable("x")
    for _ in range(steps):
        term = dx.sin(term) * term + 0.5
    return term

def logistic(steps):
    term = dx.variable("x")
    for _ in range(steps):
        term = 2.5 * term * (1 - term)
    return term

folder, report = sys.argv[1], {}
for name, build in (("chain", chain), ("logistic", logistic)):
    f, at = build(33_333), {"x": 0.3}
    order = dx.nodes(f)
    page = dx.explore(f, at)
    page.save(f"{folder}/{name}.html")
    result = dx.reverse(f, at)
    report[name] = {"nodes": len(order), "operations": sum(1 for n in order if n.args),
                    "terms": len(result.contributions), "value": format_value(result.value),
                    "gradient": format_value(result.gradient["x"]), "notes": page.notes}
    del f, order, page, result
with open("/proc/self/status") as status:      # its own peak (ru_maxrss would count the parent's at fork)
    report["resident_mb"] = next(int(line.split()[1]) for line in status if line.startswith("VmHWM:")) / 1024
print(json.dumps(report))
"""


@pytest.fixture(scope="module")
def large_pages(tmp_path_factory) -> tuple[dict, Path]:
    """Explore both 10⁵-node graphs in a child process: its report (sizes, reverse mode's numbers,
    resident memory) and the folder holding the two pages."""
    folder = tmp_path_factory.mktemp("large")
    child = subprocess.run([sys.executable, "-c", CHILD, str(folder)], capture_output=True, text=True,
                           timeout=600, check=True)
    return json.loads(child.stdout), folder


def page_data(text: str) -> dict:
    found = re.search(r'<script type="application/json" id="explorer-data">(.*?)</script>', text, re.S)
    return json.loads(found.group(1))


def notice(text: str) -> str:
    """The visible text of the page's level-of-detail notice."""
    found = re.search(r'<p class="detail" id="detail" role="note">(.*?)</p>', text, re.S)
    return html.unescape(re.sub(r"<[^>]+>", "", found.group(1)))


@pytest.mark.slow
@pytest.mark.parametrize("name", ["chain", "logistic"])
def test_a_hundred_thousand_node_graph_makes_a_window_page_under_twenty_megabytes(large_pages, name):
    report, folder = large_pages
    facts = report[name]
    page = (folder / f"{name}.html").read_text(encoding="utf-8")
    assert facts["nodes"] > 100_000
    assert (folder / f"{name}.html").stat().st_size <= MAX_PAGE_BYTES
    assert report["resident_mb"] <= MAX_RESIDENT_MB
    forward_lines = 1 + facts["operations"] + 1                 # the input, each operation, f = …
    reverse_lines = 1 + facts["terms"] + 1                      # the seed, each term, ∂f/∂x = …
    text = notice(page)
    assert text.startswith("Level of detail: a window of each sweep.")
    assert f"f has {facts['nodes']:,} nodes, more than the {DETAIL_NODES:,}" in text
    assert f"the first and the last {WINDOW_LINES:,} lines of each sweep" in text
    assert (f"forward lines {WINDOW_LINES + 1:,}–{forward_lines - WINDOW_LINES:,} (of {forward_lines:,}) and "
            f"reverse lines {WINDOW_LINES + 1:,}–{reverse_lines - WINDOW_LINES:,} (of {reverse_lines:,}) are "
            "each collapsed into one step") in text
    assert "the symbolic, adjoint and tangent views are left out" in text
    assert any(note.startswith("level of detail:") for note in facts["notes"])
    steps = page_data(page)["steps"]
    assert len(steps) == 1 + 2 * (2 * WINDOW_LINES + 1)
    assert [k for k, step in enumerate(steps) if step["kind"] == "collapsed"] == [
        WINDOW_LINES + 1, 3 * WINDOW_LINES + 2]
    assert page.count('class="collapsed"') == 2
    shown = re.search(r'<output data-var="x" data-key="\w+" data-t="g:\w+" data-exact="0">([^<]*)<', page)
    assert shown.group(1) == facts["gradient"]                  # reverse mode's ∂f/∂x of the whole graph
    assert f'<output data-t="res:f">{facts["value"]}</output>' in page


def nested_sin_page(n: int) -> tuple[dx.Node, dx.Explorer]:
    from diffexplore.reports.families import nested_sin
    f = nested_sin(n)
    return f, dx.explore(f, {"x": 0.5})


def test_the_window_holds_the_whole_sweeps_numbers_and_the_chain_rule_product():
    f, page = nested_sin_page(12_000)                          # 12,001 nodes: just above the limit
    result = dx.reverse(f, {"x": 0.5})
    names = short_names(dx.nodes(f))
    node_of = {key: n for n, key in names.items()}
    adds = [step for step in page.steps if step["kind"] == "add"]
    assert len(adds) == 2 * WINDOW_LINES - 2                   # the seed and ∂f/∂x = x̄ close the window
    for step in adds:                                          # one use each: the term is the whole adjoint
        assert step["amount"] == result.adjoints[node_of[step["to"]]]
    chain, u = 1.0, 0.5
    for _ in range(12_000):
        chain, u = chain * math.cos(u), math.sin(u)
    assert adds[-1]["to"] == names[dx.variable("x")]
    assert adds[-1]["amount"] == pytest.approx(chain, rel=1e-12)
    forward_run, reverse_run = (step["say"] for step in page.steps if step["kind"] == "collapsed")
    assert forward_run.startswith("<b>Forward lines 1,001–11,002 (of 12,002) are collapsed into this "
                                  "step</b>: 10,002 nodes (10,002 sin)")
    assert reverse_run.startswith("<b>Reverse lines 1,001–11,002 (of 12,002) are collapsed into this "
                                  "step</b>: 10,002 terms")


def test_pages_up_to_ten_thousand_nodes_show_every_line():
    page = dx.explore("1 + x + exp(sin(x*y))", {"x": 1.0, "y": 2.0})
    assert 'class="detail"' not in page.html and ".detail {" not in page.html
    assert not any(step["kind"] == "collapsed" for step in page.steps)
    assert not any("level of detail" in note for note in page.notes)


@pytest.mark.slow
def test_graphs_above_the_limit_are_refused_before_any_sweep(monkeypatch):
    from diffexplore.reports.families import nested_sin

    def no_sweep(*_args, **_kwargs):
        raise AssertionError("the explorer ran a sweep before refusing the graph")

    monkeypatch.setattr(explorer, "forward", no_sweep)
    monkeypatch.setattr(explorer, "reverse", no_sweep)
    f = nested_sin(MAX_EXPLORE_NODES)                          # one node over: x and the sines
    with pytest.raises(dx.SizeLimitError) as refused:
        dx.explore(f, {"x": 0.5})
    message = str(refused.value)
    assert message.startswith(f"f has {MAX_EXPLORE_NODES + 1:,} nodes; the explorer shows at most "
                              f"{MAX_EXPLORE_NODES:,}")
    assert "window of each sweep" in message and "explore a smaller instance" in message
    assert isinstance(refused.value, MemoryError)


def test_the_command_line_help_states_both_sizes(capsys):
    with pytest.raises(SystemExit):
        main(["explore", "--help"])
    text = " ".join(capsys.readouterr().out.split())
    assert f"Graphs of more than {DETAIL_NODES:,} nodes get a level of detail" in text
    assert f"graphs of more than {MAX_EXPLORE_NODES:,} nodes are refused" in text
