"""The explorer page end to end, in a real headless Chromium (Debian's ``chromium``, driven by Playwright).

Stepping through the seed example f(x, y) = 1 + x + exp(sin(xy)) at x = 1, y = 2 to the end, the page
shows the gradient it added up itself: it must equal reverse mode's, exactly (the full-precision
``data-full`` attribute) and to the printed four digits, and the hand-derived
∂f/∂x = 1 + exp(sin 2)·cos 2·2 and ∂f/∂y = exp(sin 2)·cos 2. These tests fail (they do not skip) when
Chromium is missing: ``make test`` installs it.
"""

from __future__ import annotations

import html
import math
import re

import numpy as np
import pytest

import diffexplore as dx
from diffexplore.explorer.browser import open_page
from diffexplore.render.labels import short_names

pytestmark = pytest.mark.browser

SEED = "1 + x + exp(sin(x*y))"
AT = {"x": 1.0, "y": 2.0}
E = math.exp(math.sin(2.0))
C = math.cos(2.0)
DF_DX = 1 + E * C * 2.0
DF_DY = E * C



@pytest.fixture(scope="module")
def seed_file(tmp_path_factory):
    return dx.explore(SEED, AT, wrt="x").save(tmp_path_factory.mktemp("explorer") / "seed.html")


@pytest.fixture
def open_seed(browser, seed_file):
    """Open the seed page, collecting script errors and every request that is not the file itself."""
    opened = []

    def opener(fragment: str = ""):
        page = browser.new_page(viewport={"width": 1400, "height": 900})
        page.errors, page.requests = [], []
        page.on("pageerror", lambda error: page.errors.append(str(error)))
        page.on("console", lambda note: page.errors.append(note.text) if note.type == "error" else None)
        page.on("request", lambda request: page.requests.append(request.url))
        page.goto(seed_file.resolve().as_uri() + (f"#{fragment}" if fragment else ""))
        page.wait_for_selector("body[data-ready]")
        opened.append(page)
        return page

    yield opener
    for page in opened:
        page.close()


def number(text: str) -> float:
    return float(text.strip().replace("\u2212", "-"))


def shown_to_four_digits(text: str, exact: float) -> bool:
    return math.isclose(number(text), exact, rel_tol=6e-4, abs_tol=1e-12)


def step_of(page) -> int:
    return int(page.evaluate("document.body.dataset.step"))


def last_step(page) -> int:
    return int(page.get_attribute("#scrub", "max"))


def gradient_entry(page, name: str) -> tuple[str, str | None]:
    entry = page.locator(f'output[data-var="{name}"]')
    return entry.inner_text(), entry.get_attribute("data-full")


def test_stepping_to_the_end_shows_reverse_modes_gradient(open_seed):
    page = open_seed()
    last = last_step(page)
    for _ in range(last):
        page.keyboard.press("ArrowRight")
    assert step_of(page) == last
    gradient = dx.reverse(dx.parse(SEED), AT).gradient
    for name, by_hand in (("x", DF_DX), ("y", DF_DY)):
        text, full = gradient_entry(page, name)
        assert float(full) == gradient[name]                   # the page's own sum, to the last bit
        assert float(full) == pytest.approx(by_hand, rel=1e-13)
        assert shown_to_four_digits(text, gradient[name])
    # the adjoint view's gradient rows are showing, with the same numbers
    rows = page.locator('.pane[data-pane="adjoint"] text[data-t^="g:"]').all_text_contents()
    assert len(rows) == 2
    assert all(shown_to_four_digits(r.split("=")[-1], v) for r, v in zip(rows, (DF_DX, DF_DY), strict=True))
    assert page.errors == []
    assert [url for url in page.requests if not url.startswith("file:")] == []


def test_before_the_reverse_sweep_ends_the_gradient_is_not_shown(open_seed):
    page = open_seed()
    for name in ("x", "y"):
        assert page.locator(f'output[data-var="{name}"]').get_attribute("data-full") is None
        assert "pending" in page.locator(f'output[data-var="{name}"]').get_attribute("class")
    hidden = page.locator('.pane[data-pane="original"] text[data-t^="p:"]')
    assert hidden.count() > 0
    assert all("pending" in (hidden.nth(i).get_attribute("class") or "") for i in range(hidden.count()))


def test_the_fan_out_step_adds_the_second_term_to_x(open_seed):
    page = open_seed()
    x_key = short_names(dx.nodes(dx.parse(SEED)))[dx.variable("x")]
    data_steps = dx.explore(SEED, AT, wrt="x").steps
    fanout = next(k for k, s in enumerate(data_steps) if s.get("fanout"))
    page.keyboard.press("End")
    for _ in range(last_step(page) - fanout + 1):
        page.keyboard.press("ArrowLeft")
    assert step_of(page) == fanout - 1
    adjoint_of_x = page.locator(f'.pane[data-pane="adjoint"] text[data-t="a:{x_key}"]')
    assert shown_to_four_digits(adjoint_of_x.text_content().split("=")[-1], E * C * 2.0)   # one term so far
    page.keyboard.press("ArrowRight")
    first, total = (number(part) for part in adjoint_of_x.text_content().split("=")[1].split("+"))
    assert math.isclose(first, E * C * 2.0, rel_tol=6e-4) and total == 1.0                # −2.066 + 1
    assert shown_to_four_digits(adjoint_of_x.text_content().split("=")[-1], DF_DX)
    assert page.locator("#phase").inner_text().lower() == "+= fan-out"
    assert page.locator(".pane[data-pane='adjoint'] g.edge.back.fanout").count() == 1
    assert "accumulates" in page.locator("tr.current").get_attribute("class")


def test_back_and_home_take_the_values_away_again(open_seed):
    page = open_seed()
    page.click("#end")
    assert page.locator('output[data-var="x"]').get_attribute("data-full") is not None
    page.keyboard.press("ArrowLeft")
    assert page.locator('output[data-var="y"]').get_attribute("data-full") is None   # ȳ is the last line
    page.keyboard.press("Home")
    assert step_of(page) == 0
    assert page.locator(".pending").count() > page.locator("output.pending").count() > 0


def test_the_seed_selector_shows_the_other_partial_derivative(open_seed):
    page = open_seed()
    page.click('[data-seed-choice="1"]')                         # ẏ = 1
    page.keyboard.press("End")
    tangent = page.locator("#forward-result span:not([hidden])")
    assert tangent.count() == 1
    assert float(tangent.get_attribute("data-full")) == pytest.approx(DF_DY, rel=1e-13)
    assert shown_to_four_digits(tangent.inner_text(), DF_DY)
    page.keyboard.press("s")                                     # back to ẋ = 1
    assert shown_to_four_digits(page.locator("#forward-result span:not([hidden])").inner_text(), DF_DX)


def test_play_runs_through_both_sweeps(open_seed):
    page = open_seed("delay=20")
    page.keyboard.press(" ")
    page.wait_for_function(f"document.body.dataset.step === '{last_step(page)}'", timeout=10000)
    assert page.locator("#play").inner_text().startswith("▶")    # stopped at the end
    assert page.errors == []


@pytest.mark.parametrize("which", ["newton", "mlp"])
def test_traced_programs_and_array_graphs_end_with_reverse_modes_gradient(which, browser, tmp_path):
    if which == "newton":
        from diffexplore.trace import trace_file
        f, at = trace_file("examples/dynamic.py:newton_sqrt", {"x": 2.0}), {"x": 2.0}
    else:
        inputs = np.round(np.random.default_rng(2).normal(size=(3, 4)), 2)
        net = dx.nn.mlp([3, 4, 2], 4, activation="tanh", inputs=inputs, labels=[1, 0, 1, 1])
        f, at = net.loss, net.at(net.initial_parameters(seed=2))
    path = dx.explore(f, at).save(tmp_path / f"{which}.html")
    page = open_page(browser, path)
    page.click("#end")
    gradient = dx.reverse(f, at).gradient
    for name, value in gradient.items():
        text, full = gradient_entry(page, name)
        if np.ndim(value) == 0:
            assert float(full) == value
            assert shown_to_four_digits(text, value)
        elif text.startswith("["):                             # a small array is written out in full
            entries = re.findall(r"[^\[\], ]+", text)
            assert len(entries) == np.size(value)
            assert all(shown_to_four_digits(e, v) for e, v in zip(entries, np.ravel(value), strict=True))
        else:                                                   # a larger one by its shape and norm
            assert text.startswith("×".join(map(str, np.shape(value))))
            assert shown_to_four_digits(text.split("=")[-1], float(np.linalg.norm(value)))
    if which == "newton":
        assert float(gradient_entry(page, "x")[1]) == pytest.approx(1 / (2 * math.sqrt(2.0)), rel=1e-9)
    page.close()


def test_in_a_notebook_the_iframe_page_steps_too(browser):
    page = browser.new_page()
    page.set_content(dx.explore(SEED, AT, wrt="x")._repr_html_())
    frame = page.frames[1]
    frame.wait_for_selector("body[data-ready]")
    frame.click("#end")
    full = frame.locator('output[data-var="x"]').get_attribute("data-full")
    assert float(full) == pytest.approx(DF_DX, rel=1e-13)
    assert html.escape("f = 1 + x") in page.content()           # the page travels inside srcdoc
    page.close()


def test_the_rendered_page_keeps_its_text_where_it_was_drawn(open_seed):
    """Each changing adjoint text stays inside its node's box (centred, shrunk when longer)."""
    page = open_seed()
    page.click("#end")
    x_key = short_names(dx.nodes(dx.parse(SEED)))[dx.variable("x")]
    box = page.locator(f'.pane[data-pane="adjoint"] g.node[data-node="{x_key}"] > path').bounding_box()
    text = page.locator(f'.pane[data-pane="adjoint"] text[data-t="a:{x_key}"]').bounding_box()
    assert box["x"] <= text["x"] and text["x"] + text["width"] <= box["x"] + box["width"]
    assert re.fullmatch(r"v̄ = \S+ \+ 1 = \S+", page.locator(
        f'.pane[data-pane="adjoint"] text[data-t="a:{x_key}"]').text_content())


def test_a_window_page_says_what_it_shows_and_steps_across_its_collapsed_runs(browser, tmp_path):
    """Above 10,000 nodes the page steps through the first and last 1,000 lines of each sweep: the
    step between them is one collapsed run, and the results are still reverse mode's for all of f."""
    from diffexplore.explorer import WINDOW_LINES
    from diffexplore.render.labels import format_value
    from diffexplore.reports.families import nested_sin
    f, at = nested_sin(10_200), {"x": 0.5}
    path = dx.explore(f, at).save(tmp_path / "window.html")
    page = browser.new_page(viewport={"width": 1400, "height": 900})
    errors, requests = [], []
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.on("request", lambda request: requests.append(request.url))
    page.goto(path.resolve().as_uri() + f"#step={WINDOW_LINES}")
    page.wait_for_selector("body[data-ready]")
    assert page.locator("#detail").is_visible()
    assert page.locator("#detail").inner_text().startswith("Level of detail: a window of each sweep.")
    page.keyboard.press("ArrowRight")
    assert step_of(page) == WINDOW_LINES + 1
    assert "are collapsed into this step" in page.locator("#say").inner_text()
    assert "collapsed" in page.locator("tr.current").get_attribute("class")
    page.keyboard.press("ArrowRight")
    assert page.locator("tr.current").get_attribute("class") in (None, "current")
    page.locator("table.reverse tr.collapsed").click()
    assert step_of(page) == 3 * WINDOW_LINES + 2
    page.click("#end")
    result = dx.reverse(f, at)
    text, full = gradient_entry(page, "x")
    assert text == format_value(result.gradient["x"]) and full is None   # no own sum: terms are folded
    assert page.locator('output[data-t="res:f"]').inner_text() == format_value(result.value)
    assert errors == [] and [url for url in requests if not url.startswith("file:")] == []
    page.close()
