"""Show: the ``imports`` part of the gallery: a PyTorch model brought in with ``dx.from_torch``.

- ``torch_mlp_adjoints.*``: diffexplore's adjoint view of a small PyTorch MLP's loss, imported through
  torch.fx: every node with its value and adjoint, every edge with its local partial, and the leaves
  labelled with the model's own parameter paths (``net.0.weight``);
- ``torchviz_mlp_backward.*``: what torchviz draws for the same model: PyTorch's backward graph (the
  autograd functions and the parameters they accumulate into), with no number on it;
- ``README.md``: what each picture shows, and the gradient check of the import against torch.autograd.

The DOT and Markdown files are deterministic (fixed weights; torchviz's node names, which are memory
addresses, are renumbered in order of appearance).
"""

from __future__ import annotations

import re
from pathlib import Path

import graphviz
import numpy as np

import diffexplore as dx
from diffexplore.render.display import pipe

__all__ = ["make_gallery", "torch_mlp"]


def torch_mlp():
    """A 3-4-2 tanh MLP (float64, fixed weights) whose forward returns the mean squared error, and its
    example input and target."""
    import torch

    class Model(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.net = torch.nn.Sequential(torch.nn.Linear(3, 4), torch.nn.Tanh(), torch.nn.Linear(4, 2))
            self.loss = torch.nn.MSELoss()

        def forward(self, x, target):
            return self.loss(self.net(x), target)

    torch.manual_seed(0)
    model = Model().double()
    with torch.no_grad():
        for parameter in model.parameters():
            parameter.copy_(torch.round(parameter * 100) / 100)         # short numbers on the drawing
    x = torch.tensor([[0.5, -1.0, 2.0], [1.5, 0.2, -0.3]], dtype=torch.float64)
    target = torch.tensor([[1.0, 0.0], [0.0, 1.0]], dtype=torch.float64)
    return model, x, target


def _renumbered(dot: str) -> str:
    """torchviz's DOT with its node names (memory addresses) replaced by n1, n2, ... in order."""
    names: dict[str, str] = {}

    def rename(match: re.Match) -> str:
        return names.setdefault(match.group(0), f"n{len(names) + 1}")
    return re.sub(r"\b\d{6,}\b", rename, dot)


def make_gallery(outdir: Path) -> list[Path]:
    from torchviz import make_dot

    outdir = Path(outdir)
    outdir.mkdir(parents=True, exist_ok=True)
    written: list[Path] = []
    model, x, target = torch_mlp()
    imported = dx.from_torch(model, x, target)
    drawing = dx.render(imported, at=imported.point, views="adjoint", digits=3)
    for extension in ("dot", "svg", "png"):
        written.append(dx.write_drawing(drawing, outdir / f"torch_mlp_adjoints.{extension}"))

    loss = model(x, target)
    value = float(loss.detach())
    backward = make_dot(loss, params=dict(model.named_parameters()))
    dot_text = _renumbered(backward.source)
    (outdir / "torchviz_mlp_backward.dot").write_text(dot_text, encoding="utf-8")
    written.append(outdir / "torchviz_mlp_backward.dot")
    (outdir / "torchviz_mlp_backward.png").write_bytes(pipe(graphviz.Source(dot_text), "png"))
    written.append(outdir / "torchviz_mlp_backward.png")

    loss.backward()
    ours = dx.grad(imported, imported.point)
    worst = max(float(np.max(np.abs(ours[name] - p.grad.numpy())))
                for name, p in zip(imported.names, _parameters_in_order(model, imported), strict=True)
                if p is not None)
    text = f"""# Bring your own PyTorch model

`dx.from_torch(model, x, target)` imports a 3-4-2 tanh MLP whose `forward` returns its mean squared
error, through torch.fx. Its value is {value:.6g}, and diffexplore's reverse-mode gradient of the
import equals `torch.autograd`'s for every parameter (largest difference {worst:.1e}).

What each picture shows:

- `torch_mlp_adjoints.png`: diffexplore's adjoint view of the import: each node's value v and adjoint v̄
  (norms, for arrays), each edge's local partial, and the leaves named by the model's own paths
  (`net.0.weight`);
- `torchviz_mlp_backward.png`: torchviz's view of the same model: PyTorch's backward graph, the autograd
  functions (`AddmmBackward0`, `TanhBackward0`, ...) and the parameters they accumulate into, with no
  value, adjoint or partial.

torchviz draws the machinery that computes the gradient; diffexplore draws the computation itself with
the numbers reverse mode moves through it.
"""
    (outdir / "README.md").write_text(text, encoding="utf-8")
    written.append(outdir / "README.md")
    return written


def _parameters_in_order(model, imported: dx.Imported) -> list:
    """The torch parameter (or None for an input) behind each variable of the import, in its order."""
    by_path = dict(model.named_parameters())
    return [by_path.get(path) for path in imported.names.values()]
