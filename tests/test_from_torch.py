"""dx.from_torch: PyTorch modules and functions imported through torch.fx, checked against torch itself.

Every fixed model (an MLP with its MSE loss, a small CNN with cross-entropy, two-layer attention, a
BatchNorm/GELU network in eval and training mode) is run by torch.autograd and by diffexplore's reverse
sweep on the imported graph: the value and every gradient agree to 1e-12 (float64). Random expressions
from the property-test strategies are written as torch functions (a converter below, node by node),
imported, and compared within a tolerance that grows with the expression's conditioning.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
import torch.nn as nn
import torch.nn.functional as F
from hypothesis import assume, given

import diffexplore as dx
from diffexplore.imports.torch import supported_operations

from .strategies import expressions, near_kink, points

FLOAT = torch.float64


def _randn(*shape: int, seed: int = 0) -> torch.Tensor:
    return torch.randn(*shape, dtype=FLOAT, generator=torch.Generator().manual_seed(seed))


def _torch_value_and_gradients(fn, imported: dx.Imported, args: dict[str, torch.Tensor],
                               module: nn.Module | None = None) -> tuple[float, dict[str, np.ndarray]]:
    """torch's value of ``fn(**args)`` and its gradient with respect to every variable of ``imported``
    (float inputs and parameters), keyed by the imported variable names."""
    leaves = {name: value.detach().clone().requires_grad_(True) if value.dtype.is_floating_point else value
              for name, value in args.items()}
    parameters = dict(module.named_parameters()) if module is not None else {}
    out = fn(**leaves)
    wanted = [leaves[path] if path in leaves else parameters[path] for path in imported.names.values()]
    if out.requires_grad:
        grads = torch.autograd.grad(out, wanted, allow_unused=True)
    else:                                               # no path from any leaf (a comparison, a detach)
        grads = (None,) * len(wanted)
    gradients = {name: np.zeros(tuple(w.shape)) if g is None else g.numpy()
                 for name, w, g in zip(imported.names, wanted, grads, strict=True)}
    return float(out.detach()), gradients


def _assert_matches_torch(fn, args: dict[str, torch.Tensor], module: nn.Module | None = None,
                          tolerance: float = 1e-12) -> dx.Imported:
    imported = dx.from_torch(module if module is not None else fn, **args)
    value, expected = _torch_value_and_gradients(fn, imported, args, module)
    assert dx.evaluate(imported.output, imported.point) == pytest.approx(value, rel=tolerance, abs=tolerance)
    gradient = dx.grad(imported, imported.point)
    assert set(gradient) == set(imported.names)
    for name, reference in expected.items():
        scale = max(1.0, float(np.max(np.abs(reference))))
        np.testing.assert_allclose(gradient[name], reference, rtol=0, atol=tolerance * scale, err_msg=name)
    return imported


# ---- fixed models: value and every gradient equal torch.autograd's to 1e-12 ------------------------------


class MLPLoss(nn.Module):
    def __init__(self):
        super().__init__()
        self.net = nn.Sequential(nn.Linear(3, 6), nn.Tanh(), nn.Linear(6, 4), nn.Sigmoid(), nn.Linear(4, 2))
        self.loss = nn.MSELoss()

    def forward(self, x, y):
        return self.loss(self.net(x), y)


def test_mlp_mse_loss_value_and_gradients_equal_torch_autograd():
    torch.manual_seed(0)
    model = MLPLoss().double()
    args = {"x": _randn(5, 3, seed=1), "y": _randn(5, 2, seed=2)}
    imported = _assert_matches_torch(model, args, module=model)
    assert imported.names == {"x": "x", "y": "y", "net_0_weight": "net.0.weight", "net_0_bias": "net.0.bias",
                              "net_2_weight": "net.2.weight", "net_2_bias": "net.2.bias",
                              "net_4_weight": "net.4.weight", "net_4_bias": "net.4.bias"}
    np.testing.assert_array_equal(imported.point["net_0_weight"], model.net[0].weight.detach().numpy())
    assert imported.source == "torch" and imported.output.shape == ()


class SmallCNN(nn.Module):
    def __init__(self):
        super().__init__()
        self.features = nn.Sequential(nn.Conv2d(2, 3, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2), nn.Flatten())
        self.classifier = nn.Linear(3 * 4 * 4, 5)
        self.loss = nn.CrossEntropyLoss()

    def forward(self, images, labels):
        return self.loss(self.classifier(self.features(images)), labels)


def test_small_cnn_cross_entropy_equals_torch_autograd_and_labels_are_constants():
    torch.manual_seed(1)
    model = SmallCNN().double()
    labels = torch.tensor([0, 4, 2, 1])
    imported = _assert_matches_torch(model, {"images": _randn(4, 2, 8, 8, seed=3), "labels": labels},
                                     module=model)
    assert "labels" not in imported.point and "labels" not in imported.names
    assert {n.op for n in dx.nodes(imported.output)} >= {"conv2d", "max_pool2d", "log_softmax", "relu"}


class TwoLayerAttention(nn.Module):
    def __init__(self, d: int = 4):
        super().__init__()
        self.layers = nn.ModuleList(
            nn.ModuleDict({"q": nn.Linear(d, d, bias=False), "k": nn.Linear(d, d, bias=False),
                           "v": nn.Linear(d, d, bias=False)}) for _ in range(2))

    def forward(self, x):
        for layer in self.layers:
            q, k, v = layer["q"](x), layer["k"](x), layer["v"](x)
            scores = q @ k.transpose(-2, -1) / math.sqrt(q.shape[-1])
            x = torch.softmax(scores, dim=-1) @ v
        return x.sum()


def attention(Q, K, V):
    d = Q.size(-1)
    weights = F.softmax(torch.matmul(Q, K.T) / math.sqrt(d), dim=-1)
    return (weights @ V).sum()


def test_attention_function_softmax_qk_v_equals_torch_autograd():
    args = {"Q": _randn(5, 4, seed=4), "K": _randn(6, 4, seed=5), "V": _randn(6, 3, seed=6)}
    imported = _assert_matches_torch(attention, args)
    assert sorted(imported.names) == ["K", "Q", "V"]


def test_two_layer_attention_module_equals_torch_autograd():
    torch.manual_seed(2)
    model = TwoLayerAttention().double()
    imported = _assert_matches_torch(model, {"x": _randn(5, 4, seed=7)}, module=model)
    assert imported.names["layers_1_v_weight"] == "layers.1.v.weight"


class NormGelu(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(2, 3, 3, stride=2, padding=1)
        self.bn2 = nn.BatchNorm2d(3)
        self.fc = nn.Linear(3 * 4 * 4, 6)
        self.bn1 = nn.BatchNorm1d(6)
        self.exact, self.tanh = nn.GELU(), nn.GELU(approximate="tanh")

    def forward(self, x):
        h = self.exact(self.bn2(self.conv(x)))
        h = self.tanh(self.bn1(self.fc(h.flatten(1))))
        return (h * h).sum() + F.gelu(h, approximate="tanh").mean() + F.gelu(h).sum()


@pytest.mark.parametrize("mode", ["eval", "train"])
def test_batch_norm_and_gelu_equal_torch_autograd(mode):
    torch.manual_seed(3)
    model = NormGelu().double()
    for norm in (model.bn1, model.bn2):           # running statistics unlike the batch's own
        norm.running_mean.copy_(torch.linspace(-0.5, 0.5, norm.num_features, dtype=FLOAT))
        norm.running_var.copy_(torch.linspace(0.5, 2.0, norm.num_features, dtype=FLOAT))
    model.train(mode == "train")
    imported = _assert_matches_torch(model, {"x": _randn(5, 2, 8, 8, seed=8)}, module=model)
    ops = {n.op for n in dx.nodes(imported.output)}
    assert ("batch_norm" in ops) == (mode == "train")
    assert "norm_cdf" in ops and "tanh" in ops


def test_tensor_methods_and_functions_equal_torch_autograd():
    def program(a, b, labels):
        c = torch.cat([a, b.reshape(3, 4)], dim=0).permute(1, 0)             # (4, 6)
        d = torch.stack([c.amax(dim=1), c.amin(1), c.prod(dim=1), c.mean(1)], dim=-1).unsqueeze(0)
        e = torch.where(c > 0, torch.clamp(c, -0.5, 0.8), c.abs().sqrt() * torch.log1p(c * c))
        f = e[1:, ::2] ** 3 - torch.expm1(e[:3, [0, 2, 4]]) + torch.atan(e[[0, 1, 1], 1:4])
        q, r = c.chunk(2, dim=1)
        g = F.log_softmax(q, dim=0) * torch.maximum(r, q).sinh() - torch.minimum(r, -q).cosh()
        h = F.cross_entropy(c, labels, reduction="sum") + F.mse_loss(c, c.detach() * 0.5)
        loss = d.squeeze().sum() + f.sum() + g.view(-1).sum() + torch.sum(torch.tan(e) ** 2, dim=(0, 1))
        return loss + h + torch.special.ndtr(e).sum() + torch.max(c, dim=1).values.sum() + c.T.flatten().max()
    args = {"a": _randn(3, 4, seed=9), "b": _randn(12, seed=10), "labels": torch.tensor([1, 0, 5, 3])}
    _assert_matches_torch(program, args)


class RawParameters(nn.Module):
    """Parameters and buffers used directly (fx get_attr nodes), a tied weight and a tensor constant."""

    def __init__(self):
        super().__init__()
        self.W = nn.Parameter(_randn(3, 4, seed=20))
        self.inner = nn.Linear(4, 4, bias=False)
        self.outer = nn.Linear(4, 4, bias=False)
        self.outer.weight = self.inner.weight                          # tied: one variable
        self.register_buffer("shift", _randn(4, seed=21))

    def forward(self, x, scale: float = 2.0):
        h = torch.tanh(x @ self.W - self.shift) * scale + torch.tensor([1.0, -1.0, 0.5, 0.0], dtype=FLOAT)
        return self.outer(self.inner(h)).pow(2).sum() + torch.ones(x.shape[0], dtype=FLOAT) @ h.sum(1)


def test_get_attr_parameters_are_variables_buffers_and_constants_are_not():
    torch.manual_seed(6)
    model = RawParameters().double()
    imported = _assert_matches_torch(model, {"x": _randn(2, 3, seed=22)}, module=model)
    assert imported.names == {"x": "x", "W": "W", "inner_weight": "inner.weight"}


def test_using_the_indices_of_max_is_refused():
    def argmax_gather(x):
        values, indices = torch.max(x, dim=1)
        return values.sum() + indices.sum()
    with pytest.raises(dx.DiffexploreError, match=r"indices of torch\.max/min"):
        dx.from_torch(argmax_gather, _randn(3, 4, seed=23))


# ---- random expressions ---------------------------------------------------------------------------------

_TORCH_UNARY = {
    "neg": torch.neg, "exp": torch.exp, "log": torch.log, "log1p": torch.log1p, "expm1": torch.expm1,
    "sin": torch.sin, "cos": torch.cos, "tan": torch.tan, "tanh": torch.tanh, "sinh": torch.sinh,
    "cosh": torch.cosh, "atan": torch.atan, "sqrt": torch.sqrt, "sigmoid": torch.sigmoid, "relu": torch.relu,
    "abs": torch.abs, "sign": torch.sign, "norm_cdf": torch.special.ndtr, "stop_gradient": torch.detach,
    "step": lambda a: (a > 0).to(FLOAT),
}
_TORCH_BINARY = {
    "add": lambda a, b: a + b, "sub": lambda a, b: a - b, "mul": lambda a, b: a * b,
    "div": lambda a, b: a / b, "pow": lambda a, b: a ** b, "maximum": torch.maximum,
    "minimum": torch.minimum,
    "greater": lambda a, b: torch.gt(a, b).to(FLOAT), "greater_equal": lambda a, b: (a >= b).to(FLOAT),
    "less": lambda a, b: torch.lt(a, b).double(), "less_equal": lambda a, b: (a <= b).double(),
    "equal": lambda a, b: (a == b).double(), "not_equal": lambda a, b: torch.ne(a, b).double(),
}


def torch_function(f: dx.Node):
    """The torch function computing a scalar diffexplore graph over x, y, z: one torch operation per
    node, in the graph's evaluation order (constants as float64 tensors)."""
    order = dx.nodes(f)

    def program(x, y, z):
        inputs = {"x": x, "y": y, "z": z}
        values = {}
        for node in order:
            if node.is_variable:
                values[node] = inputs[node.name]
            elif node.is_constant:
                values[node] = torch.tensor(node.value, dtype=FLOAT)
            elif node.op == "select":
                condition, chosen, other = (values[a] for a in node.args)
                values[node] = torch.where(condition != 0, chosen, other)
            elif node.op in _TORCH_UNARY:
                values[node] = _TORCH_UNARY[node.op](values[node.args[0]])
            else:
                values[node] = _TORCH_BINARY[node.op](*(values[a] for a in node.args))
        return values[f]
    return program


def conditioning(f: dx.Node, at: dict) -> float:
    """Σ over the graph's edges of |adjoint(node) · ∂node/∂arg|: how much rounding in the local partials
    can move the gradient (the sum of the absolute path products)."""
    r = dx.reverse(f, at)
    total = 0.0
    for (node, _position), partial in r.partials.items():
        total += abs(r.adjoints[node] * partial)
    return total


@given(expressions(), points)
def test_random_expressions_imported_from_torch_have_torch_gradients(f, at):
    assume(not near_kink(f, at, margin=1e-9))          # ties: torch splits max/min gradients, dx does not
    args = {name: torch.tensor(at[name], dtype=FLOAT) for name in "xyz"}
    program = torch_function(f)
    imported = dx.from_torch(program, **args)
    value, expected = _torch_value_and_gradients(program, imported, args)
    assert dx.evaluate(imported.output, imported.point) == pytest.approx(value, rel=1e-12, abs=1e-12)
    gradient = dx.grad(imported, imported.point)
    tolerance = 1e-13 * (1.0 + conditioning(f, at))
    for name in "xyz":
        assert abs(gradient.get(name, 0.0) - float(expected[name])) <= tolerance, (name, str(f))


# ---- names, rendering, notes --------------------------------------------------------------------------


def test_rendered_imported_mlp_labels_leaves_with_torch_paths():
    torch.manual_seed(4)
    net = nn.Sequential(nn.Linear(3, 4), nn.ReLU(), nn.Linear(4, 1)).double()

    class Wrapper(nn.Module):
        def __init__(self):
            super().__init__()
            self.net = net

        def forward(self, x):
            return self.net(x).sum()
    imported = dx.from_torch(Wrapper(), _randn(2, 3, seed=11))
    text = dx.to_dot(imported, views="original")
    leaves = {line for line in text.splitlines() if "</B> = net" in line}
    for label in ("net.0.weight (4×3)", "net.0.bias (4)", "net.2.weight (1×4)", "net.2.bias (1)"):
        assert any(f"</B> = {label}<" in line for line in leaves), label
    assert not any("</B> = net_" in line for line in text.splitlines())     # no leaf shows the identifier
    assert dx.imports.framework_path(dx.variable("net_0_weight", (4, 3))) == "net.0.weight"


def test_float32_module_is_converted_to_float64_with_a_note():
    torch.manual_seed(5)
    model = nn.Sequential(nn.Linear(3, 2), nn.Tanh())            # float32
    x = torch.randn(4, 3)
    imported = dx.from_torch(model, x)
    assert imported.point["v0_weight"].dtype == np.float64
    assert any("float64" in note for note in imported.notes)
    expected = model.double()(x.double()).detach().numpy()
    np.testing.assert_allclose(dx.evaluate(imported.output, imported.point), expected, rtol=1e-12, atol=1e-13)


# ---- refusals -----------------------------------------------------------------------------------------


def test_unsupported_torch_function_is_refused_by_name():
    def spectrum(x):
        return torch.fft.fft(x).real.sum()
    with pytest.raises(dx.DiffexploreError, match=r"torch\.fft\.fft"):
        dx.from_torch(spectrum, _randn(8, seed=12))


def test_unsupported_module_is_refused_by_name():
    model = nn.Sequential(nn.Linear(3, 3), nn.Softplus()).double()
    with pytest.raises(dx.DiffexploreError, match=r"Softplus.*at '1'") as info:
        dx.from_torch(model, _randn(2, 3, seed=13))
    assert "Linear" in str(info.value)                         # it lists what is supported


def test_dropout_in_training_mode_is_refused_and_identity_in_eval_mode():
    model = nn.Sequential(nn.Linear(3, 3), nn.Dropout(0.3)).double()
    x = _randn(2, 3, seed=14)
    with pytest.raises(dx.DiffexploreError, match=r"dropout in training mode.*eval\(\)"):
        dx.from_torch(model, x)
    model.eval()
    imported = dx.from_torch(model, x)
    assert "dropout" not in {n.op for n in dx.nodes(imported.output)}
    np.testing.assert_allclose(dx.evaluate(imported.output, imported.point), model(x).detach().numpy(),
                               rtol=1e-13)


def test_data_dependent_branch_is_refused_with_fx_reason():
    def branchy(x):
        return x.sum() if x.sum() > 0 else -x.sum()
    with pytest.raises(dx.DiffexploreError, match=r"torch\.fx cannot trace branchy.*control flow"):
        dx.from_torch(branchy, _randn(3, seed=15))


def test_supported_operations_cover_the_listed_modules():
    ops = supported_operations()
    assert {"Linear", "Conv2d", "MaxPool2d", "ReLU", "Tanh", "Sigmoid", "GELU", "Flatten", "Dropout",
            "BatchNorm1d", "BatchNorm2d", "CrossEntropyLoss", "MSELoss"} <= set(ops["modules"])
