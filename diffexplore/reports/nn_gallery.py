"""Show: the ``nn`` part of ``gallery/``: reverse mode on array graphs at layer granularity.

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

import math
from pathlib import Path

import numpy as np
from tabulate import tabulate

from ..arrays import one_hot
from ..evaluate import reverse
from ..graph import nodes
from ..nn import Network, TextbookBackprop, cnn, mlp, textbook_backprop

__all__ = ["make_gallery", "gallery_mlp", "delta_report", "SIZES", "BATCH"]

#: The drawn network: 4 inputs, two tanh layers of 5, 3 classes; 6 samples (the columns).
SIZES = (4, 5, 5, 3)
BATCH = 6


def gallery_mlp(seed: int = 0) -> tuple[Network, dict, TextbookBackprop]:
    """The gallery's MLP with its data as constants, its evaluation point and the textbook reference.

    >>> net, at, textbook = gallery_mlp()
    >>> net.nodes["s1"].shape, len(textbook.deltas)
    ((5, 6), 3)
    """
    rng = np.random.default_rng(seed)
    x = np.round(rng.normal(size=(SIZES[0], BATCH)), 2)
    labels = rng.integers(0, SIZES[-1], size=BATCH)
    net = mlp(SIZES, BATCH, activation="tanh", inputs=x, labels=labels)
    at = net.at(net.initial_parameters(seed))
    weights = [at[f"W{k}"] for k in range(1, len(SIZES))]
    biases = [at[f"b{k}"] for k in range(1, len(SIZES))]
    return net, at, textbook_backprop(weights, biases, x, labels, activation="tanh")


def _superscript(layer: int) -> str:
    """``⁽³⁾`` for 3: the layer index as the article writes it."""
    return "⁽" + str(layer).translate(str.maketrans("0123456789", "⁰¹²³⁴⁵⁶⁷⁸⁹")) + "⁾"


def _number(value: float) -> str:
    return f"{value:.4g}"


def _difference(got: np.ndarray, want: np.ndarray) -> str:
    """‖got − want‖/‖want‖ as a bound that does not depend on the last bits of the arithmetic."""
    error = float(np.linalg.norm(got - want) / np.linalg.norm(want))
    if error == 0.0:
        return "0 (bit for bit)"
    return f"< 1e{math.ceil(math.log10(error))}"


def _matrix(array: np.ndarray) -> str:
    return tabulate([[_number(v) for v in row] for row in array], tablefmt="github",
                    headers=[f"sample {j + 1}" for j in range(array.shape[1])], disable_numparse=True)


def delta_report(net: Network, at: dict, textbook: TextbookBackprop, names: dict | None = None) -> str:
    """The δ comparison as Markdown: per layer ‖δ⁽ˡ⁾‖ (textbook) beside ‖s̄⁽ˡ⁾‖ (reverse mode), the
    weight and bias gradients beside δ zᵀ and Σδ, and the last layer's δ written out both ways.

    >>> net, at, textbook = gallery_mlp()
    >>> print(delta_report(net, at, textbook).splitlines()[0])
    # The textbook δ recursion is what reverse mode computes
    """
    result = reverse(net.loss, at)
    names = names or {}
    deltas = []
    gradients = []
    for layer, s in enumerate(net.pre_activations, start=1):
        delta, adjoint = textbook.deltas[layer - 1], result.adjoints[s]
        shape = "×".join(str(n) for n in s.shape)
        drawn = f"`{names[s]}`" if s in names else "—"
        deltas.append([layer, drawn, shape, _number(np.linalg.norm(delta)), _number(np.linalg.norm(adjoint)),
                       _difference(adjoint, delta)])
        z_previous = textbook.post_activations[layer - 1]
        outer, bias = delta @ z_previous.T, delta.sum(axis=1, keepdims=True)
        gradients.append([layer, _number(np.linalg.norm(outer)),
                          _number(np.linalg.norm(result.gradient[f"W{layer}"])),
                          _difference(result.gradient[f"W{layer}"], outer),
                          _number(np.linalg.norm(bias)),
                          _number(np.linalg.norm(result.gradient[f"b{layer}"])),
                          _difference(result.gradient[f"b{layer}"], bias)])
    depth = len(deltas)
    last = net.pre_activations[-1]
    return "\n".join([
        "# The textbook δ recursion is what reverse mode computes",
        "",
        f"Network {' → '.join(str(n) for n in SIZES)}, tanh hidden layers, softmax cross-entropy averaged "
        f"over a batch of {BATCH} samples (the columns of every matrix); the same network and point as "
        "`mlp_adjoints.png`. Loss E = " + _number(result.value) + " by both.",
        "",
        "The textbook computes δ⁽ᴸ⁾ = (softmax(s⁽ᴸ⁾) − y)/batch from the loss, then "
        "δ⁽ˡ⁻¹⁾ = φ'(s⁽ˡ⁻¹⁾) ⊙ (W⁽ˡ⁾)ᵀ δ⁽ˡ⁾ layer by layer (`diffexplore.nn.textbook_backprop`). Reverse "
        "mode knows none of this: it runs the general rule v̄ = Σ ū·∂u/∂v over the graph, and its adjoints "
        "s̄⁽ˡ⁾ of the pre-activation nodes come out equal to δ⁽ˡ⁾.",
        "",
        "## δ⁽ˡ⁾ against s̄⁽ˡ⁾ (Frobenius norms; relative difference ‖s̄ − δ‖/‖δ‖)",
        "",
        tabulate(deltas, headers=["layer l", "node in the drawing", "shape", "‖δ⁽ˡ⁾‖ textbook",
                                  "‖s̄⁽ˡ⁾‖ reverse mode", "relative difference"],
                 tablefmt="github", disable_numparse=True),
        "",
        "## ∂E/∂W⁽ˡ⁾ = δ⁽ˡ⁾ z⁽ˡ⁻¹⁾ᵀ and ∂E/∂b⁽ˡ⁾ = Σ_samples δ⁽ˡ⁾",
        "",
        tabulate(gradients, headers=["layer l", "‖δ zᵀ‖", "‖W̄‖ reverse mode", "relative difference",
                                     "‖Σδ‖", "‖b̄‖ reverse mode", "relative difference"],
                 tablefmt="github", disable_numparse=True),
        "",
        f"## δ{_superscript(depth)} written out",
        "",
        "Textbook, (softmax(s) − y)/batch:",
        "",
        _matrix(textbook.deltas[-1]),
        "",
        f"Reverse mode, the adjoint of s{_superscript(depth)} (through the graph's sum, product and "
        "log-softmax nodes):",
        "",
        _matrix(result.adjoints[last]),
        "",
        "The recursion needs every layer to be φ(W z + b); reverse mode does not. `cnn_adjoints.png` "
        "shows the same sweep through conv2d, batch_norm, max_pool2d, dropout and concatenate, for which "
        "no such recursion is written down.",
        "",
    ])


def delta_figure(net: Network, at: dict, textbook: TextbookBackprop, path: Path) -> Path:
    """Heatmaps of δ⁽ˡ⁾ (textbook), s̄⁽ˡ⁾ (reverse mode) and their difference, one row per layer."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    result = reverse(net.loss, at)
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


def _gallery_cnn() -> tuple[Network, dict]:
    rng = np.random.default_rng(1)
    batch = 4
    x = np.round(rng.normal(size=(batch, 1, 6, 6)), 2)
    labels = rng.integers(0, 3, size=batch)
    net = cnn(batch=batch, image=(1, 6, 6), channels=3, classes=3, seed=1, inputs=x,
              labels=one_hot(labels, 3, axis=0))
    return net, net.at(net.initial_parameters(1))


def _readme(report_path: str) -> str:
    return f"""# Arrays and neural networks

Regenerate with `.venv/bin/python -m diffexplore gallery --part nn` (or `make gallery`).

## `mlp_adjoints.png` / `.svg` / `.dot`

Reverse mode on a {' → '.join(str(n) for n in SIZES)} tanh network with a softmax cross-entropy loss,
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
    """Write the nn gallery into ``outdir`` and return the files written."""
    from ..render import render, write_drawing
    from ..render.labels import short_names  # the names the drawing uses (same topological order)

    outdir = Path(outdir)
    written: list[Path] = []
    net, at, textbook = gallery_mlp()
    drawing = render(net.loss, at=at, views="adjoint")
    for extension in ("dot", "svg", "png"):
        written.append(write_drawing(drawing, outdir / f"mlp_adjoints.{extension}", dpi=110))
    names = short_names(nodes(net.loss))
    report = outdir / "delta_comparison.md"
    report.write_text(delta_report(net, at, textbook, names), encoding="utf-8")
    written.append(report)
    written.append(delta_figure(net, at, textbook, outdir / "delta_heatmaps.png"))
    cnn_net, cnn_at = _gallery_cnn()
    cnn_drawing = render(cnn_net.loss, at=cnn_at, views="adjoint")
    for extension in ("dot", "svg", "png"):
        written.append(write_drawing(cnn_drawing, outdir / f"cnn_adjoints.{extension}", dpi=96))
    readme = outdir / "README.md"
    readme.write_text(_readme(report.name), encoding="utf-8")
    written.append(readme)
    return written
