"""Show: the ``views`` part of the gallery: the seed example's views side by side and a ~200-node
network's drawing, each as DOT text, SVG and PNG, with a README saying what to look at.

The DOT and Markdown files are byte-for-byte deterministic; the SVG and PNG files are what Graphviz
makes of them.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from pathlib import Path

import diffexplore as dx
from diffexplore.render import DEFAULT_MAX_NODES

__all__ = ["make_gallery", "drawings", "readme_text", "MLP_WIDTHS"]

#: Inputs, two hidden tanh layers, one output: 193 nodes with the squared-error loss.
MLP_WIDTHS = (2, 6, 6, 1)


def network_point(f: dx.Node) -> dict[str, float]:
    """A fixed, reproducible point: the k-th variable gets round(sin(k + 1), 2).

    >>> network_point(dx.parse("a*b"))
    {'a': 0.84, 'b': 0.91}
    """
    return {v.name: round(math.sin(k + 1), 2) for k, v in enumerate(dx.free_variables(f))}


def drawings() -> dict[str, tuple[dx.Drawing, int]]:
    """The part's drawings by file stem, each with the resolution of its PNG (dots per inch).

    >>> sorted(drawings())
    ['mlp_original', 'mlp_views', 'seed_raw_derivative', 'seed_views']
    """
    seed, at = dx.families.seed_example()
    mlp = dx.families.scalar_network(MLP_WIDTHS)
    point = network_point(mlp)
    return {
        "seed_views": (dx.render(seed, at=at, wrt="x", views="all"), 144),
        "seed_raw_derivative": (dx.render(seed, wrt="x", views="original,symbolic", derivative="raw"), 144),
        "mlp_views": (dx.render(mlp, at=point), 144),
        "mlp_original": (dx.render(mlp, at=point, views="original", max_nodes=dx.size(mlp).dag_nodes), 96),
    }


def make_gallery(outdir: Path) -> list[Path]:
    """Write the views part into ``outdir`` (DOT, SVG and PNG of each drawing, and a README)."""
    outdir = Path(outdir)
    written: list[Path] = []
    made = drawings()
    for stem, (drawing, dpi) in made.items():
        for extension in ("dot", "svg", "png"):
            written.append(dx.write_drawing(drawing, outdir / f"{stem}.{extension}", dpi=dpi))
    readme = outdir / "README.md"
    nodes = dx.size(dx.families.scalar_network(MLP_WIDTHS)).dag_nodes
    readme.write_text(readme_text(nodes, made["mlp_views"][0].notes), encoding="utf-8")
    written.append(readme)
    return written


def readme_text(nodes: int, notes: Sequence[str]) -> str:
    """The part's README: what each drawing shows and what to look at."""
    noted = "\n".join(f"- {note}" for note in notes)
    seed = dx.families.SEED
    return f"""# Graphviz views

Regenerate with `.venv/bin/python -m gallery.build --part views` (or `make gallery`).

## `seed_views.svg` / `.png` / `.dot`

`f = {seed}` at x = 1, y = 2, all four views from left to right; each node has the same short name
(a, b, c, ...) in every view.

- **original**: the compute graph with each node's value v; f = 4.483 at the top.
- **symbolic derivative** ∂f/∂x (pruned): grey nodes are nodes of f reused by the derivative
  (x, y, x·y, sin, exp), yellow nodes are new (cos, two products, the final sum), and the constant 1
  is the seed ∂x/∂x = 1 (not f's own 1, though equal constants are one node). Its root is −1.066.
- **reverse mode**: each node's v and v̄ = ∂f/∂v, each edge's local partial ∂u/∂v (u the use the
  arrow points to, v the argument it comes from). x is used twice
  (fan-out), so its adjoint is a sum: v̄ = −2.066 + 1 = −1.066 = ∂f/∂x, the same number as the
  symbolic root; y shows ∂f/∂y = −1.033 from the same single sweep.
- **forward mode**: each node's v and v̇ = ∂v/∂x for the seed ẋ = 1, each edge's local partial
  ∂v/∂u (v the node the arrow points to, u its argument); the output's v̇ is ∂f/∂x again,
  but ∂f/∂y would need a second sweep.

## `seed_raw_derivative.*`

The original graph beside the raw derivative graph: the chain rule exactly as emitted, with the
leaves' derivatives as constants (x' = 1, y' = 0 and 1' = 0) and every product kept, the way
textbook figures of symbolic differentiation draw it.

## `mlp_views.*`: a {nodes}-node graph beyond the drawing limit

The squared error of a scalar network with layer widths {" → ".join(str(w) for w in MLP_WIDTHS)} (tanh
hidden layers). With the default limit of {DEFAULT_MAX_NODES} nodes per view every view is
replaced by a size table; the renderer said:

{noted}

The symbolic view's table counts the pruned derivatives ∂f/∂w of all the network's inputs and weights,
drawn as one DAG (shared nodes counted once) and written out as trees; the reverse-mode table lists
the same gradient entries, all from one backward sweep over f's own nodes.

## `mlp_original.*`

The same network's original view drawn in full (`max_nodes={nodes}`): the layers are visible as
rows of products and sums feeding the tanh units; open the SVG to zoom in.
"""
