"""Show: the ``explorer`` part of the gallery: interactive pages and screenshots of them.

- ``seed.html``: the explorer page of the seed example f = 1 + x + exp(sin(xy)) at x = 1, y = 2;
- ``seed_reverse.png``: that page in the middle of the reverse sweep, at the ``+=`` where x's second
  use adds its term; ``seed_forward.png``: the same page in the middle of the forward sweep;
- ``mlp.html`` and ``mlp_reverse.png``: a small tanh network (array graph) one array operation per step;
- ``README.md``: what to look at.

The HTML and Markdown files are byte-for-byte deterministic; the PNG files are what headless Chromium
makes of the pages (they need Debian's ``chromium``; without it they are left out and a note says so).
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np

import diffexplore as dx
from diffexplore.explorer.browser import BrowserNotFound, headless_chromium, open_page
from diffexplore.render.labels import short_names

__all__ = ["make_gallery", "seed_page", "mlp_page", "gallery_network", "fanout_step", "weight_step"]


def seed_page() -> dx.Explorer:
    """The seed example's explorer page (symbolic view for x, forward-mode seed x).

    >>> page = seed_page()
    >>> sum(step["kind"] == "add" for step in page.steps)      # one term per edge into an active node
    7
    """
    f, at = dx.families.seed_example()
    return dx.explore(f, at, wrt="x")


def gallery_network() -> tuple[dx.Node, dict]:
    """A 3-4-2 tanh network on 5 samples (fixed data and labels) and its initial parameters.

    >>> loss, at = gallery_network()
    >>> sorted(at), loss.shape
    (['W1', 'W2', 'b1', 'b2'], ())
    """
    inputs = np.round(np.random.default_rng(0).normal(size=(3, 5)), 2)
    net = dx.nn.mlp([3, 4, 2], 5, activation="tanh", inputs=inputs, labels=[0, 1, 1, 0, 1])
    return net.loss, net.at(net.initial_parameters(seed=0))


def mlp_page() -> dx.Explorer:
    """The small network's explorer page, one array operation per step."""
    loss, at = gallery_network()
    return dx.explore(loss, at)


def weight_step(page: dx.Explorer, name: str) -> int:
    """The step at which the network's variable ``name`` receives its adjoint.

    >>> page = mlp_page()
    >>> page.steps[weight_step(page, "W2")]["kind"]
    'add'
    """
    loss, _at = gallery_network()
    order = dx.nodes(loss)
    key = short_names(order)[next(n for n in order if n.is_variable and n.name == name)]
    return next(k for k, step in enumerate(page.steps) if step["kind"] == "add" and step["to"] == key)


def fanout_step(page: dx.Explorer) -> int:
    """The first step at which an adjoint receives its second term (a ``+=`` at a fan-out).

    >>> fanout_step(seed_page())
    16
    """
    return next(k for k, step in enumerate(page.steps) if step.get("fanout"))


def readme_text(seed: dx.Explorer, fanout: int, forward: int) -> str:
    """The part's README: what each page and screenshot shows."""
    f, at = dx.families.seed_example()
    gradient = dx.reverse(f, at).gradient
    return "\n".join([
        "# The explorer: the sweeps step by step",
        "",
        "Open the HTML files in a browser (they work offline: everything is inline). Step with → and ←,",
        "play with space, jump with Home and End, switch the forward-mode seed with s or the buttons.",
        "",
        f"- `seed.html`: f = {dx.families.SEED} at x = 1, y = 2, in {len(seed.steps) - 1} steps. The "
        "forward sweep fills",
        "  in v and v̇ node by node in the order of the trace table; the reverse sweep starts at f with",
        "  v̄ = 1 and hands ū·∂u/∂v back along every edge.",
        f"- `seed_forward.png`: step {forward}, the forward sweep at e = b × d (x·y): its tangent",
        "  v̇ = ẋ·y + ẏ·x = 2 for the seed ẋ = 1 comes from the highlighted arrows.",
        f"- `seed_reverse.png`: step {fanout}, the `+=` of the reverse sweep. x (node b) feeds two",
        "  operations, x·y and 1 + x, so its adjoint is a sum: the first term −2.066 came through x·y,",
        f"  and 1 + x now adds 1, giving x̄ = −1.066 = ∂f/∂x ({gradient['x']!r} in full precision).",
        "- `mlp.html` and `mlp_reverse.png`: a 3-4-2 tanh network on 5 samples with a softmax",
        "  cross-entropy loss. Each step is one array operation, and each value is shown by its shape and",
        "  norm. The adjoint of W2 arrives in one step as the vector-Jacobian product of W2 @ tanh(...).",
        "",
        "What to look at: the order of the two sweeps (the trace table on the right follows the drawing),",
        "the violet `+=` rows, where a value with several uses collects one term per use, and the results",
        "line. One forward sweep gives ḟ for one seed only, while the one reverse sweep gives every ∂f/∂x.",
        "",
    ])


def make_gallery(outdir: Path, screenshots: bool = True) -> list[Path]:
    """Write the explorer part of the gallery into ``outdir`` and return the files written.

    ``screenshots=False`` (or a missing Chromium) leaves out the PNG files.

    >>> import tempfile
    >>> with tempfile.TemporaryDirectory() as folder:
    ...     [p.name for p in make_gallery(Path(folder), screenshots=False)]
    ['seed.html', 'mlp.html', 'README.md']
    """
    outdir = Path(outdir)
    outdir.mkdir(parents=True, exist_ok=True)
    seed, network = seed_page(), mlp_page()
    fanout = fanout_step(seed)
    forward = next(k for k, step in enumerate(seed.steps)
                   if step["nodes"] == ["e"] and step["phase"] == "forward")        # e = x·y
    written = [seed.save(outdir / "seed.html"), network.save(outdir / "mlp.html")]
    readme = outdir / "README.md"
    readme.write_text(readme_text(seed, fanout, forward), encoding="utf-8")
    written.append(readme)
    if not screenshots:
        return written
    tall = {"width": 1600, "height": 1300}
    shots = [("seed.html", "seed_reverse.png", f"step={fanout}", None),
             ("seed.html", "seed_forward.png", f"step={forward}", None),
             ("mlp.html", "mlp_reverse.png", f"step={weight_step(network, 'W2')}", tall)]
    try:
        with headless_chromium() as browser:
            for page_name, png_name, fragment, viewport in shots:
                page = open_page(browser, outdir / page_name, fragment, viewport)
                page.screenshot(path=str(outdir / png_name))
                page.close()
                written.append(outdir / png_name)
    except BrowserNotFound as exc:
        print(f"gallery explorer: screenshots left out: {exc}", file=sys.stderr)
    return written
