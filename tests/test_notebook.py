"""Every result displays itself in a real Jupyter kernel (nbclient + ipykernel), and the executed notebooks
read well in a browser (nbconvert's HTML in headless Chromium).

Two notebooks run: ``examples/tour.ipynb`` (which must be what ``tour_notebook`` writes, and must draw the
same pictures as ``diffexplore tour``) and one touching every public result type. For every output: the
mime types the cell's result should have, no bare ``<… at 0x…>`` text, a PNG beside every SVG (untrusted
notebooks and static renderers drop SVG) and at most ``MAX_OUTPUT_BYTES`` (graphs under 500 nodes, the
explorer included). The kernel is this interpreter (a kernel spec written into a temporary
``JUPYTER_PATH``), so the tests run on a fresh clone with ``make test``.
"""

from __future__ import annotations

import json
import math
import os
import re
import sys
from pathlib import Path

import pytest

from diffexplore.render.notebook import CELL_WIDTH_PT, MAX_OUTPUT_BYTES, scaled_svg
from diffexplore.reports.tour import DRAWINGS, run_tour
from diffexplore.reports.tour_notebook import NOTEBOOK_PATH, notebook_json

nbformat = pytest.importorskip("nbformat", reason="make test installs the dev extras (nbformat)")

ROOT = Path(__file__).resolve().parents[1]
KERNEL = "diffexplore-tests"
BARE_REPR = re.compile(r"<[^<>\n]* at 0x[0-9a-fA-F]+>")
DRAWING = {"image/svg+xml", "image/png", "text/plain"}
TABLE = {"text/html", "text/plain"}
REPORT = {"text/html", "text/markdown", "image/png", "text/plain"}
PAGE = {"text/html", "image/png", "text/plain"}
TEXT = {"text/plain"}
# ∂f/∂x of the seed example 1 + x + exp(sin(xy)) at x = 1, y = 2, by hand: 1 + e^(sin 2)·cos 2·y.
DF_DX = 1 + math.exp(math.sin(2.0)) * math.cos(2.0) * 2.0

#: What each code cell of the tour notebook displays, by the start of its source.
TOUR_RESULTS = {
    "import diffexplore": DRAWING, "sweep = ": REPORT, "dx.grad(": TEXT, "dx.render(": DRAWING,
    "dx.diff(": DRAWING, "dx.swell(": REPORT, "derivative = ": {"text/latex", "text/plain"},
    "dx.trace_table(": {"text/html", "text/markdown", "text/plain"}, "dx.cost_table(": REPORT,
    "dx.reverse(": TABLE, "import math": TEXT, "def newton_sqrt": TEXT, "def piecewise": TEXT,
    "from diffexplore.reports.families": DRAWING, "textbook": TABLE, "cnn, cnn_at": DRAWING,
    "dx.explore(": PAGE, "chain = ": TEXT, "from diffexplore.reports.memory": REPORT,
}

#: A notebook touching every public result type: (source, the mime types of its result).
EVERY_RESULT = [
    ("import diffexplore as dx\nimport numpy as np\nf = dx.parse('1 + x + exp(sin(x*y))')\n"
     "at = {'x': 1.0, 'y': 2.0}\nf", DRAWING),
    ("dx.render(f, at=at, wrt='x', views='all')", DRAWING),
    ("dx.diff(f, 'x')", DRAWING),
    ("dx.gradient_graph(f)", TEXT),
    ("dx.size(f)", TABLE),
    ("dx.forward(f, at, seed='x')", TABLE),
    ("dx.reverse(f, at)", TABLE),
    ("dx.grad(f, at), dx.evaluate(f, at)", TEXT),
    ("dx.hessian(f, at)", TEXT),
    ("dx.latex(f)", {"text/latex", "text/plain"}),
    ("dx.formula(f), dx.let_form(f), dx.cse_form(dx.diff(f, 'x'))", TEXT),
    ("dx.compile(f)", TABLE),
    ("dx.trace_table(f, at, seed='x')", {"text/html", "text/markdown", "text/plain"}),
    ("sweep = dx.step_sweep(f, at, wrt='x')\nsweep", REPORT),
    ("costs = dx.cost_table(widths=(1, 10, 100))\ncosts", REPORT),
    ("report = dx.swell('product', [2, 4, 8], sympy=False, timings=False, progress=False)\nreport", REPORT),
    ("dx.operation_counts(f)", TEXT),
    ("dx.check_grads(f, at)", TEXT),
    ("dx.families.get('logistic')", TEXT),
    ("from diffexplore.reports.compare import compare_methods\ncompare_methods(f, at)", TABLE),
    ("net = dx.nn.mlp([3, 4, 2], 4)\nnet", TABLE),
    ("from diffexplore.reports.families import textbook_mlp\nnet, net_at, textbook = textbook_mlp()\n"
     "textbook", TABLE),
    ("import torch\ntorch.manual_seed(0)\n"
     "dx.from_torch(lambda w, v: (w * v).sum(), torch.ones(3), torch.arange(3.0))", TABLE),
    ("dx.memory(f, at)", TABLE),
    ("binomial = dx.memory(f, at, checkpoints=('binomial', 2))\nbinomial", TABLE),
    ("binomial.schedule", TABLE),
    ("checkpointed = dx.reverse(f, at, checkpoints='sqrt')\ncheckpointed", TABLE),
    ("from diffexplore.reports.memory import memory_report\n"
     "memory = memory_report('logistic', [2, 4, 8], trade_n=8)\nmemory", REPORT),
    ("dx.explore(f, at, wrt='x')", PAGE),
    # a graph of 497 nodes: drawings become size tables, the explorer shows every line
    ("x = dx.variable('x')\nbig = x\nfor _ in range(165):\n    big = dx.sin(big) * x + 0.5\n"
     "len(dx.nodes(big))", TEXT),
    ("big", DRAWING),
    ("dx.render(big, at={'x': 0.3})", DRAWING),
    ("dx.explore(big, {'x': 0.3})", PAGE),
    # plotting leaves the kernel's matplotlib backend (inline) as it was
    ("import matplotlib\nbefore = matplotlib.get_backend()\n"
     "sweep.plot(); costs.plot(); report.plot(); memory.plot()\nbefore, matplotlib.get_backend()", TEXT),
]


@pytest.fixture(scope="module")
def kernel(tmp_path_factory):
    """A kernel spec running this interpreter on this checkout, found through a temporary JUPYTER_PATH."""
    pytest.importorskip("nbclient", reason="make test installs the dev extras (nbclient, ipykernel)")
    pytest.importorskip("ipykernel", reason="make test installs the dev extras (nbclient, ipykernel)")
    data = tmp_path_factory.mktemp("jupyter")
    spec = data / "kernels" / KERNEL
    spec.mkdir(parents=True)
    (spec / "kernel.json").write_text(json.dumps({
        "argv": [sys.executable, "-m", "ipykernel_launcher", "-f", "{connection_file}"],
        "display_name": "diffexplore tests", "language": "python",
        "env": {"PYTHONPATH": os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")])}}))
    previous = os.environ.get("JUPYTER_PATH")
    os.environ["JUPYTER_PATH"] = os.pathsep.join([str(data)] + ([previous] if previous else []))
    yield KERNEL
    if previous is None:
        os.environ.pop("JUPYTER_PATH")
    else:
        os.environ["JUPYTER_PATH"] = previous


def execute(notebook, kernel: str):
    from nbclient import NotebookClient
    NotebookClient(notebook, kernel_name=kernel, timeout=600,
                   resources={"metadata": {"path": str(ROOT)}}).execute()
    return notebook


@pytest.fixture(scope="module")
def tour(kernel):
    return execute(nbformat.read(ROOT / NOTEBOOK_PATH, as_version=4), kernel)


@pytest.fixture(scope="module")
def every_result(kernel):
    notebook = nbformat.v4.new_notebook()
    notebook.cells = [nbformat.v4.new_code_cell(source) for source, _ in EVERY_RESULT]
    return execute(notebook, kernel)


def results(cell) -> dict:
    """The cell's result (its execute_result's data)."""
    found = [o for o in cell.outputs if o.output_type == "execute_result"]
    assert len(found) == 1, f"{cell.source!r}: outputs {[o.output_type for o in cell.outputs]}"
    return found[0].data


def check_outputs(cell) -> None:
    """No errors, no bare object reprs, a PNG beside every SVG, and no output above the bound."""
    for output in cell.outputs:
        assert output.output_type != "error", f"{cell.source!r} failed: {output.get('evalue')}"
        texts = [output.get("text", "")] + [v for v in output.get("data", {}).values() if isinstance(v, str)]
        for text in texts:
            assert not BARE_REPR.search(text), f"{cell.source!r} shows {BARE_REPR.search(text).group()}"
        data = output.get("data", {})
        if "image/svg+xml" in data:
            assert "image/png" in data, f"{cell.source!r}: an SVG without a PNG beside it"
        written = len(json.dumps(output, ensure_ascii=False).encode("utf-8"))      # as nbformat writes it
        assert written < MAX_OUTPUT_BYTES, f"{cell.source!r}: output of {written:,} B"


def test_the_checked_in_tour_notebook_is_the_one_the_tour_writes():
    assert (ROOT / NOTEBOOK_PATH).read_text(encoding="utf-8") == notebook_json(), (
        "examples/tour.ipynb is stale: run `python -m diffexplore.reports.tour_notebook`")


def test_every_cell_of_the_tour_displays_its_result_richly_within_bounds(tour):
    code = [cell for cell in tour.cells if cell.cell_type == "code"]
    for cell in code:
        check_outputs(cell)
        expected = [kinds for start, kinds in TOUR_RESULTS.items() if cell.source.startswith(start)]
        assert len(expected) == 1, f"say what this cell displays in TOUR_RESULTS: {cell.source!r}"
        assert set(results(cell)) == expected[0], cell.source


def test_the_tour_notebook_draws_the_pictures_of_diffexplore_tour(tour, tmp_path):
    """The same drawings: each SVG the tour writes, scaled to a cell, is an output of the notebook."""
    run_tour(tmp_path)
    shown = [o.data["image/svg+xml"] for cell in tour.cells for o in cell.get("outputs", [])
             if "image/svg+xml" in o.get("data", {})]
    for name in DRAWINGS:
        assert scaled_svg((tmp_path / f"{name}.svg").read_text(encoding="utf-8")) in shown, name


def test_every_public_result_type_displays_richly_with_a_short_text(every_result):
    for cell, (source, expected) in zip(every_result.cells, EVERY_RESULT, strict=True):
        check_outputs(cell)
        data = results(cell)
        assert set(data) == expected, source
        if expected != TEXT:                      # a result object: a text repr of one to three lines
            assert len(data["text/plain"].splitlines()) <= 3, data["text/plain"]


def test_results_show_their_own_numbers(every_result):
    """A node displays as itself; reverse mode shows the gradient; the big graph is summarised."""
    cells = dict(zip([source for source, _ in EVERY_RESULT], every_result.cells, strict=True))
    derivative = results(cells["dx.diff(f, 'x')"])
    assert "1 + exp(sin(x*y))*(cos(x*y)*y)" in derivative["image/svg+xml"]
    assert "original:" not in derivative["image/svg+xml"] and "∂f/∂" not in derivative["image/svg+xml"]
    reverse = results(cells["dx.reverse(f, at)"])
    assert f"{DF_DX:.6g}".replace("-", "−") in reverse["text/html"]
    checkpointed = next(results(cell) for source, cell in cells.items() if source.startswith("checkpointed"))
    measured = dx_memory_of_the_seed_example("sqrt")
    assert f"{measured.checkpoints} snapshots, {measured.recomputed_ops} ops run again" in \
        checkpointed["text/plain"]                  # a checkpointed result shows what it measured
    assert "memory: " not in results(cells["dx.reverse(f, at)"])["text/plain"]      # and nothing unmeasured
    memory = results(next(cell for source, cell in cells.items() if "memory_report(" in source))
    assert "trade-off at n = 8" in memory["text/html"] and "<img" in memory["text/html"]
    size = next(results(cell) for source, cell in cells.items() if source.endswith("len(dx.nodes(big))"))
    assert 490 < int(size["text/plain"]) < 500
    backend = results(cells[EVERY_RESULT[-1][0]])["text/plain"]
    before, after = eval(backend)                  # a tuple of two strings
    assert before == after and "inline" in before


def dx_memory_of_the_seed_example(checkpoints):
    import diffexplore as dx
    return dx.memory(dx.parse("1 + x + exp(sin(x*y))"), {"x": 1.0, "y": 2.0}, checkpoints=checkpoints)


def test_plot_leaves_the_matplotlib_backend_and_pyplot_alone():
    import matplotlib
    import matplotlib.pyplot as plt

    import diffexplore as dx
    from diffexplore.reports.memory import memory_report
    previous = matplotlib.get_backend()
    matplotlib.use("pdf")
    try:
        figures = [dx.step_sweep("exp(x)", {"x": 1.0}).plot(), dx.cost_table(widths=(1, 10)).plot(),
                   dx.swell("nested-sin", [1, 2, 3], sympy=False, timings=False, progress=False).plot(),
                   memory_report("nested-sin", [2, 4], trade_n=4).plot()]
        assert matplotlib.get_backend() == "pdf" and plt.get_fignums() == []
        assert all(isinstance(figure, matplotlib.figure.Figure) and figure.axes for figure in figures)
    finally:
        matplotlib.use(previous)


# ---- the executed notebook in a browser -----------------------------------------------------------


def as_html(notebook, path: Path) -> Path:
    from nbconvert import HTMLExporter
    body, _ = HTMLExporter().from_notebook_node(notebook)
    path.write_text(body, encoding="utf-8")
    return path


def untrusted(notebook):
    """The notebook as an untrusted frontend or a static renderer shows it: SVG dropped, HTML kept only
    as far as a sanitiser lets it through (the elements of tables, text and images; iframes, styles
    and scripts stripped), as JupyterLab's and GitHub's sanitisers do."""
    import copy

    import bleach
    from bleach.css_sanitizer import CSSSanitizer
    kept = {"div", "p", "b", "ul", "li", "table", "thead", "tbody", "tr", "th", "td", "img", "pre", "span"}
    shown = copy.deepcopy(notebook)
    for cell in shown.cells:
        for output in cell.get("outputs", []):
            data = output.get("data", {})
            data.pop("image/svg+xml", None)
            if "text/html" in data:
                data["text/html"] = bleach.clean(
                    data["text/html"], tags=kept, attributes={"img": ["src", "alt", "class"], "*": ["style"]},
                    protocols=["data", "https"], strip=True, css_sanitizer=CSSSanitizer())
    return shown


DRAWN = """() => [...document.querySelectorAll('img')].filter(i => i.src.startsWith('data:image/svg+xml'))
  .map(i => [i.naturalWidth, i.getBoundingClientRect().width, i.closest('.jp-OutputArea-output')
  .getBoundingClientRect().width])"""


@pytest.mark.browser
def test_the_executed_tour_reads_in_a_browser_with_drawings_in_the_cell_and_a_working_explorer(
        tour, browser, tmp_path):
    page = browser.new_page(viewport={"width": 1280, "height": 900})
    page.goto(as_html(tour, tmp_path / "tour.html").as_uri())
    drawings = page.evaluate(DRAWN)
    assert len(drawings) == sum(1 for cell in tour.cells for o in cell.get("outputs", [])
                                if "image/svg+xml" in o.get("data", {})) >= len(DRAWINGS)
    for natural, shown, cell in drawings:
        assert natural > 0 and shown <= cell and shown <= CELL_WIDTH_PT * 4 / 3 + 1
    static = page.locator("img.diffexplore-static-view")
    assert static.count() == 1 and not static.is_visible()      # the live page hides its stand-in
    frame = next(f for f in page.frames if f.url == "about:srcdoc")
    frame.wait_for_selector("body[data-ready]")
    frame.click("#end")
    gradient = frame.locator('output[data-var="x"]').get_attribute("data-full")
    assert float(gradient) == pytest.approx(DF_DX, rel=1e-13)
    page.close()


@pytest.mark.browser
def test_where_scripts_are_stripped_the_explorer_shows_its_static_first_view(tour, browser, tmp_path):
    page = browser.new_page(viewport={"width": 1280, "height": 900})
    page.goto(as_html(untrusted(tour), tmp_path / "untrusted.html").as_uri())
    assert page.locator("iframe").count() == 0
    static = page.locator("img.diffexplore-static-view")
    assert static.count() == 1 and static.is_visible()
    assert static.evaluate("image => image.naturalWidth") > 100
    drawings = page.evaluate("""() => [...document.querySelectorAll('.jp-RenderedImage img')]
      .filter(i => i.src.startsWith('data:image/png')).map(i => i.naturalWidth)""")
    assert len(drawings) >= len(DRAWINGS) and min(drawings) > 100       # each drawing's PNG stands in
    page.close()
