"""Show: the ``nn`` part of the gallery: reverse mode on array graphs at layer granularity.

- ``mlp_adjoints.*``: the adjoint view of a small tanh MLP (each node an array operation, showing its
  shape and the norms of its value and adjoint);
- ``delta_comparison.md`` and ``delta_heatmaps.png``: the adjoints s̄⁽ˡ⁾ of the pre-activations against
  the textbook δ⁽ˡ⁾ recursion (:func:`diffexplore.nn.textbook_backprop`), and the weight gradients
  against δ zᵀ;
- ``cnn_adjoints.*``: the same sweep through the units that have no δ recursion (convolution, batch
  normalisation, max pooling, dropout, concatenation).

The DOT and Markdown files are byte-for-byte deterministic (fixed seeds, numbers rounded to four
significant digits, differences given as powers of ten); the PNG and SVG files are what Graphviz and
matplotlib make of them.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

import diffexplore as dx
from diffexplore.render.labels import short_names
from diffexplore.reports.backprop import delta_report, layer_sizes

__all__ = ["make_gallery", "delta_figure", "gallery_cnn"]


def delta_figure(net: dx.nn.Network, at: dict, textbook: dx.nn.TextbookBackprop, path: Path) -> Path:
    """Heatmaps of δ⁽ˡ⁾ (textbook), s̄⁽ˡ⁾ (reverse mode) and their difference, one row per layer."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    result = dx.reverse(net.loss, at)
    depth = len(textbook.deltas)
    fig, axes = plt.subplots(depth, 3, figsize=(10, 2.1 * depth + 0.7), squeeze=False, layout="constrained")
    for row, s in enumerate(net.pre_activations):
        delta, adjoint = textbook.deltas[row], result.adjoints[s]
        scale = float(np.abs(delta).max()) or 1.0
        largest = float(np.abs(adjoint - delta).max())
        panels = [(delta, rf"textbook $\delta^{{({row + 1})}}$", scale),
                  (adjoint, rf"reverse mode $\bar{{s}}^{{({row + 1})}}$", scale),
                  (adjoint - delta, f"difference, same scale (max |·| = {largest:.1g})", scale)]
        for col, (values, title, limit) in enumerate(panels):
            ax = axes[row][col]
            image = ax.imshow(values, cmap="RdBu_r", vmin=-limit, vmax=limit)
            ax.set_title(title, fontsize=10)
            ax.set_xticks(range(values.shape[1]), [str(j + 1) for j in range(values.shape[1])], fontsize=8)
            ax.set_yticks(range(values.shape[0]), [str(i + 1) for i in range(values.shape[0])], fontsize=8)
            if row == depth - 1:
                ax.set_xlabel("sample", fontsize=9)
            if col == 0:
                ax.set_ylabel(f"unit of layer {row + 1}", fontsize=9)
        fig.colorbar(image, ax=list(axes[row]), shrink=0.85, format="%.2g")
    fig.suptitle(r"$\delta$ from the textbook recursion and $\bar{s}$ from reverse mode: the same matrices "
                 "(one colour scale per row)", fontsize=11)
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def gallery_cnn() -> tuple[dx.nn.Network, dict]:
    """The drawn CNN (batch 4, 1×6×6 images, 3 channels, 3 classes) with fixed data and its parameters:
    :func:`diffexplore.reports.families.small_cnn`, which the tour draws too.

    >>> net, at = gallery_cnn()
    >>> net.nodes["conv"].shape, sorted(at)
    ((4, 3, 6, 6), ['K', 'W', 'b', 'beta', 'gamma'])
    """
    return dx.families.small_cnn()


def readme_text(net: dx.nn.Network, report_path: str) -> str:
    """The part's README: what each file shows and what to look at."""
    sizes = " → ".join(str(n) for n in layer_sizes(net))
    return f"""# Arrays and neural networks

Regenerate with `.venv/bin/python -m gallery.build --part nn` (or `make gallery`).

## `mlp_adjoints.png` / `.svg` / `.dot`

Reverse mode on a {sizes} tanh network with a softmax cross-entropy loss,
drawn at layer granularity: every box is one array operation (`@`, `+`, `tanh`, `log_softmax`, ...)
with its value v and adjoint v̄ summarised as shape and norm. Look at the `+` nodes right above each
`@`: they are the pre-activations s⁽ˡ⁾ = W⁽ˡ⁾ z⁽ˡ⁻¹⁾ + b⁽ˡ⁾, and their v̄ norms are the ‖δ⁽ˡ⁾‖ of
the textbook. The blue boxes W1, b1, ... carry the gradient; the data (inputs and one-hot targets)
are constants, so no adjoint is computed for them.

## `{report_path}` and `delta_heatmaps.png`

The adjoint of every pre-activation next to the textbook δ of the same layer, and the weight and
bias gradients next to δ zᵀ and Σδ: the same numbers. The heatmaps show the matrices side by side
with their difference.

## `cnn_adjoints.png` / `.svg` / `.dot`

The same backward sweep through a small convolutional network: conv2d (3×3, padding 1), batch_norm
over (N, H, W), relu, max_pool2d, dropout with a fixed mask, a reshape, and a concatenate with a
global-average branch, then a dense layer and the loss. None of these is a layer φ(W z + b), and
none needs a δ recursion of its own: each node only brings its vector-Jacobian product. The
convolution has no bias, as usual before batch normalisation: subtracting each channel's mean
would make that bias's gradient exactly zero.
"""


def make_gallery(outdir: Path) -> list[Path]:
    """Write the nn part into ``outdir`` and return the files written."""
    outdir = Path(outdir)
    written: list[Path] = []
    net, at, textbook = dx.families.textbook_mlp()
    drawing = dx.render(net.loss, at=at, views="adjoint")
    for extension in ("dot", "svg", "png"):
        written.append(dx.write_drawing(drawing, outdir / f"mlp_adjoints.{extension}", dpi=110))
    names = short_names(dx.nodes(net.loss))      # the names the drawing uses (same topological order)
    report = outdir / "delta_comparison.md"
    report.write_text(delta_report(net, at, textbook, names, mlp_picture="mlp_adjoints.png",
                                   cnn_picture="cnn_adjoints.png"), encoding="utf-8")
    written.append(report)
    written.append(delta_figure(net, at, textbook, outdir / "delta_heatmaps.png"))
    cnn_net, cnn_at = gallery_cnn()
    cnn_drawing = dx.render(cnn_net.loss, at=cnn_at, views="adjoint")
    for extension in ("dot", "svg", "png"):
        written.append(dx.write_drawing(cnn_drawing, outdir / f"cnn_adjoints.{extension}", dpi=96))
    readme = outdir / "README.md"
    readme.write_text(readme_text(net, report.name), encoding="utf-8")
    written.append(readme)
    return written
