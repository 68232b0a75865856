"""Array primitives: values equal independent NumPy/loop references, and every derivative rule (reverse
vjp, forward jvp, the symbolic gradient graph) agrees with central finite differences on random shapes,
broadcasting included."""

from __future__ import annotations

import itertools

import hypothesis.strategies as st
import numpy as np
import pytest
from hypothesis import given, settings

import diffexplore as dx
from diffexplore.plan import Plan
from diffexplore.symbolic import _diff_once

# ---- the checker: reverse, forward and symbolic against central differences --------------------------


def check_grads(build, shapes: dict[str, tuple], seed: int = 0, positive: bool = False,
                rtol: float = 1e-6) -> None:
    """For f = sum(build(vars) * R) with a random R: the reverse gradient equals central differences
    element by element (to ``rtol``, the accuracy of the O(h²) scheme with h ≈ 6e-6); the forward tangent
    along a random direction equals ⟨gradient, direction⟩ (to 1e-12); the symbolic gradient graph
    evaluated equals the reverse gradient (to 1e-12)."""
    rng = np.random.default_rng(seed)
    variables = {name: dx.variable(name, shape=shape) for name, shape in shapes.items()}
    out = build(**variables)
    weights = rng.normal(size=out.shape)
    f = dx.sum(out * weights) if out.shape else out * float(rng.normal())
    at = {}
    for name, shape in shapes.items():
        value = rng.uniform(0.5, 2.0, size=shape) if positive else rng.normal(size=shape)
        at[name] = value
    gradient = dx.grad(f, at, method="reverse")
    numeric = dx.grad(f, at, method="numeric", scheme="central")
    for name in shapes:
        assert np.shape(gradient[name]) == shapes[name], name
        np.testing.assert_allclose(gradient[name], numeric[name], rtol=rtol, atol=rtol, err_msg=name)
    direction = {name: rng.normal(size=shape) for name, shape in shapes.items()}
    tangent = dx.forward(f, at, seed=direction).tangent
    expected = sum(float(np.sum(gradient[n] * direction[n])) for n in shapes)
    assert tangent == pytest.approx(expected, rel=1e-12, abs=1e-12)
    symbolic = dx.gradient_graph(f)
    for name in shapes:
        np.testing.assert_allclose(dx.evaluate(symbolic[name], at), gradient[name], rtol=1e-12, atol=1e-13,
                                   err_msg=name)


# ---- every elementwise function, broadcasting shapes -------------------------------------------------

UNARY = {
    "exp": dx.exp, "log": dx.log, "sin": dx.sin, "cos": dx.cos, "tan": dx.tan, "tanh": dx.tanh,
    "sqrt": dx.sqrt, "sigmoid": dx.sigmoid, "relu": dx.relu, "abs": dx.abs, "neg": lambda a: -a,
    "sign_times": lambda a: dx.sign(a) * a, "step_plus": lambda a: dx.step(a - 1.2) + a,
}
BINARY = {
    "add": lambda a, b: a + b, "sub": lambda a, b: a - b, "mul": lambda a, b: a * b,
    "div": lambda a, b: a / b, "pow": lambda a, b: a ** b, "maximum": dx.maximum, "minimum": dx.minimum,
}
BROADCAST_PAIRS = [((2, 3), (2, 3)), ((2, 3), (3,)), ((2, 1), (1, 3)), ((3,), (4, 2, 3)), ((2, 3), ())]


@pytest.mark.parametrize("name", sorted(UNARY))
def test_every_elementwise_function_on_arrays_matches_finite_differences(name):
    # positive inputs in [0.5, 2]: inside every domain, away from every kink (the step sits at 1.2 and
    # a random draw lands within a step of it with probability ~1e-5)
    check_grads(lambda a: UNARY[name](a), {"a": (3, 4)}, seed=len(name), positive=True)


@pytest.mark.parametrize("shapes", BROADCAST_PAIRS, ids=str)
@pytest.mark.parametrize("name", sorted(BINARY))
def test_every_binary_operation_broadcasts_and_matches_finite_differences(name, shapes):
    check_grads(lambda a, b: BINARY[name](a, b), {"a": shapes[0], "b": shapes[1]}, positive=True)


def test_broadcasting_mismatch_names_both_shapes():
    a, b = dx.variable("a", shape=(2, 3)), dx.variable("b", shape=(4,))
    with pytest.raises(dx.ShapeError, match=r"\(2, 3\).*\(4,\)"):
        a + b


# ---- matmul ------------------------------------------------------------------------------------------

MATMUL_SHAPES = [((3, 4), (4, 2)), ((4,), (4, 2)), ((3, 4), (4,)), ((4,), (4,)), ((2, 3, 4), (4, 5)),
                 ((5, 1, 2, 3), (4, 3, 2))]


@pytest.mark.parametrize("sa, sb", MATMUL_SHAPES, ids=str)
def test_matmul_value_is_numpys_and_derivatives_match_finite_differences(sa, sb):
    a, b = np.ones(sa) * 0.5, np.arange(float(np.prod(sb))).reshape(sb)
    node = dx.variable("a", shape=sa) @ dx.variable("b", shape=sb)
    assert node is dx.matmul(dx.variable("a", shape=sa), dx.variable("b", shape=sb))
    assert node.shape == np.matmul(a, b).shape
    np.testing.assert_array_equal(dx.evaluate(node, {"a": a, "b": b}), np.matmul(a, b))
    check_grads(lambda a, b: a @ b, {"a": sa, "b": sb})


def test_matmul_gradient_is_the_hand_derived_one():
    # f = sum(R * (A @ B)): df/dA = R Bᵀ, df/dB = Aᵀ R
    rng = np.random.default_rng(3)
    A, B, R = rng.normal(size=(3, 4)), rng.normal(size=(4, 2)), rng.normal(size=(3, 2))
    a, b = dx.variable("A", shape=(3, 4)), dx.variable("B", shape=(4, 2))
    g = dx.grad(dx.sum(R * (a @ b)), {"A": A, "B": B})
    np.testing.assert_allclose(g["A"], R @ B.T, rtol=1e-14)
    np.testing.assert_allclose(g["B"], A.T @ R, rtol=1e-14)


def test_matmul_mismatch_names_both_shapes():
    with pytest.raises(dx.ShapeError, match=r"\(3, 4\) and \(5, 2\)"):
        dx.variable("a", shape=(3, 4)) @ dx.variable("b", shape=(5, 2))


# ---- shape plumbing ----------------------------------------------------------------------------------


@pytest.mark.parametrize("axes", [None, (1, 0, 2), (2, 0, 1)])
def test_transpose_is_numpys_and_its_rules_match_finite_differences(axes):
    x = np.arange(24.0).reshape(2, 3, 4)
    node = dx.transpose(dx.variable("a", shape=(2, 3, 4)), axes)
    np.testing.assert_array_equal(dx.evaluate(node, {"a": x}), np.transpose(x, axes))
    check_grads(lambda a: dx.transpose(a, axes), {"a": (2, 3, 4)})


def test_T_reverses_axes():
    W = dx.variable("W", shape=(3, 4))
    assert W.T.shape == (4, 3) and W.T.T.shape == (3, 4)


@pytest.mark.parametrize("shape", [(12,), (3, -1), (2, 2, 3)], ids=str)
def test_reshape_keeps_elements_in_order(shape):
    x = np.arange(12.0).reshape(4, 3)
    np.testing.assert_array_equal(dx.evaluate(dx.reshape(dx.variable("a", shape=(4, 3)), shape), {"a": x}),
                                  x.reshape(shape))
    check_grads(lambda a: dx.reshape(a, shape), {"a": (4, 3)})


def test_reshape_to_a_wrong_size_names_both_shapes():
    with pytest.raises(dx.ShapeError, match=r"\(4, 3\).*\(5,\)"):
        dx.reshape(dx.variable("a", shape=(4, 3)), (5,))


@pytest.mark.parametrize("axis, keepdims",
                         [(None, False), (0, False), (1, True), ((0, 2), False), (-1, True)])
@pytest.mark.parametrize("reduce", ["sum", "mean"])
def test_sum_and_mean_are_numpys_and_their_rules_match_finite_differences(reduce, axis, keepdims):
    x = np.arange(24.0).reshape(2, 3, 4)
    node = getattr(dx, reduce)(dx.variable("a", shape=(2, 3, 4)), axis=axis, keepdims=keepdims)
    expected = getattr(np, reduce)(x, axis=axis, keepdims=keepdims)
    assert node.shape == np.shape(expected)
    np.testing.assert_allclose(dx.evaluate(node, {"a": x}), expected, rtol=1e-15)
    check_grads(lambda a: getattr(dx, reduce)(a, axis=axis, keepdims=keepdims), {"a": (2, 3, 4)})


def test_mean_gradient_is_one_over_the_count():
    g = dx.grad(dx.mean(dx.variable("a", shape=(2, 5))), {"a": np.zeros((2, 5))})["a"]
    np.testing.assert_array_equal(g, np.full((2, 5), 0.1))


def test_sum_over_an_axis_out_of_range_names_the_shape():
    with pytest.raises(dx.ShapeError, match=r"axis 2.*\(2, 3\)"):
        dx.sum(dx.variable("a", shape=(2, 3)), axis=2)


@pytest.mark.parametrize("axis", [0, 1, -1])
def test_concatenate_is_numpys_and_splits_its_gradient(axis):
    shapes = {"a": (2, 3), "b": (2, 3), "c": (2, 3)}
    shapes["b"] = tuple(n + 2 if i == axis % 2 else n for i, n in enumerate(shapes["b"]))
    values = {k: np.random.default_rng(1).normal(size=s) for k, s in shapes.items()}
    nodes = [dx.variable(k, shape=s) for k, s in shapes.items()]
    np.testing.assert_array_equal(dx.evaluate(dx.concatenate(nodes, axis=axis), values),
                                  np.concatenate(list(values.values()), axis=axis))
    check_grads(lambda a, b, c: dx.concatenate([a, b, c], axis=axis), shapes)


def test_concatenate_mismatch_names_both_shapes():
    with pytest.raises(dx.ShapeError, match=r"\(2, 3\) and \(4, 5\)"):
        dx.concatenate([dx.variable("a", shape=(2, 3)), dx.variable("b", shape=(4, 5))], axis=1)


# ---- indexing and one-hot selection ------------------------------------------------------------------

INDICES = [0, (1, 2), slice(1, 3), (slice(None), 1), (..., 0), ([0, 2, 2, 1],), (slice(None), [3, 0, 3]),
           (np.array([True, False, True, True]),), (None, 1)]


@pytest.mark.parametrize("index", INDICES, ids=repr)
def test_indexing_is_numpys_and_repeated_indices_add_in_the_gradient(index):
    x = np.arange(16.0).reshape(4, 4)
    a = dx.variable("a", shape=(4, 4))
    np.testing.assert_array_equal(dx.evaluate(a[index], {"a": x}), x[index])
    check_grads(lambda a: a[index], {"a": (4, 4)})


def test_gradient_of_a_selection_counts_how_often_each_element_was_picked():
    a = dx.variable("a", shape=(5,))
    g = dx.grad(dx.sum(a[[1, 1, 1, 4]]), {"a": np.zeros(5)})["a"]
    np.testing.assert_array_equal(g, [0.0, 3.0, 0.0, 0.0, 1.0])


def test_index_out_of_range_names_the_index_and_the_shape():
    with pytest.raises(dx.ShapeError, match=r"\[7\].*\(4, 4\)"):
        dx.variable("a", shape=(4, 4))[7]


def test_one_hot_selection_picks_the_labelled_entries():
    logits = np.arange(12.0).reshape(3, 4)
    picked = dx.sum(dx.variable("s", shape=(3, 4)) * dx.one_hot([2, 0, 3], 4), axis=1)
    np.testing.assert_array_equal(dx.evaluate(picked, {"s": logits}), [2.0, 4.0, 11.0])


# ---- log-softmax and cross-entropy -------------------------------------------------------------------


@pytest.mark.parametrize("axis", [0, -1])
def test_log_softmax_equals_its_definition_and_its_rules_match_finite_differences(axis):
    x = np.random.default_rng(0).normal(size=(3, 5)) * 3
    direct = x - np.log(np.exp(x).sum(axis=axis, keepdims=True))
    got = dx.evaluate(dx.log_softmax(dx.variable("a", shape=(3, 5)), axis=axis), {"a": x})
    np.testing.assert_allclose(got, direct, rtol=1e-13)
    check_grads(lambda a: dx.log_softmax(a, axis=axis), {"a": (3, 5)})


def test_log_softmax_is_stable_for_large_logits():
    got = dx.log_softmax(np.array([1000.0, 1000.0]))
    np.testing.assert_allclose(got, [-np.log(2.0)] * 2, rtol=1e-15)


def test_softmax_cross_entropy_gradient_is_softmax_minus_targets_over_batch():
    rng = np.random.default_rng(5)
    s, labels = rng.normal(size=(4, 3)), np.array([2, 0, 1, 2])
    node = dx.softmax_cross_entropy(dx.variable("s", shape=(4, 3)), labels)
    probabilities = np.exp(s) / np.exp(s).sum(axis=1, keepdims=True)
    assert dx.evaluate(node, {"s": s}) == pytest.approx(
        -np.mean(np.log(probabilities[np.arange(4), labels])), rel=1e-14)
    expected = (probabilities - np.eye(3)[labels]) / 4
    np.testing.assert_allclose(dx.grad(node, {"s": s})["s"], expected, rtol=1e-13, atol=1e-16)
    check_grads(lambda s, y: dx.softmax_cross_entropy(s, y, axis=0), {"s": (3, 4), "y": (3, 4)})


# ---- convolution -------------------------------------------------------------------------------------


def naive_conv2d(x, w, stride, padding):
    """The definition, one output element at a time:
    out[n,o,i,j] = Σ_c,p,q x_pad[n,c,i·s+p,j·s+q] w[o,c,p,q]."""
    n, c, h, wd = x.shape
    o, _, kh, kw = w.shape
    xp = np.zeros((n, c, h + 2 * padding, wd + 2 * padding))
    xp[:, :, padding:padding + h, padding:padding + wd] = x
    ho, wo = (h + 2 * padding - kh) // stride + 1, (wd + 2 * padding - kw) // stride + 1
    out = np.zeros((n, o, ho, wo))
    for b, oc, i, j in itertools.product(range(n), range(o), range(ho), range(wo)):
        out[b, oc, i, j] = np.sum(xp[b, :, i * stride:i * stride + kh, j * stride:j * stride + kw] * w[oc])
    return out


CONV_CASES = [((2, 3, 5, 5), (4, 3, 3, 3), 1, 0), ((1, 2, 6, 7), (3, 2, 3, 2), 2, 1),
              ((2, 1, 4, 4), (2, 1, 1, 1), 1, 0), ((1, 2, 5, 6), (2, 2, 2, 3), 3, 2)]


@pytest.mark.parametrize("sx, sw, stride, padding", CONV_CASES, ids=str)
def test_conv2d_equals_the_definition_and_its_rules_match_finite_differences(sx, sw, stride, padding):
    rng = np.random.default_rng(7)
    x, w = rng.normal(size=sx), rng.normal(size=sw)
    node = dx.conv2d(dx.variable("x", shape=sx), dx.variable("w", shape=sw), stride=stride, padding=padding)
    np.testing.assert_allclose(dx.evaluate(node, {"x": x, "w": w}), naive_conv2d(x, w, stride, padding),
                               rtol=1e-12, atol=1e-12)
    check_grads(lambda x, w: dx.conv2d(x, w, stride=stride, padding=padding), {"x": sx, "w": sw})


def test_conv2d_channel_mismatch_names_both_shapes():
    with pytest.raises(dx.ShapeError, match=r"\(1, 3, 5, 5\).*\(2, 4, 3, 3\)"):
        dx.conv2d(dx.variable("x", shape=(1, 3, 5, 5)), dx.variable("w", shape=(2, 4, 3, 3)))


# ---- max pooling -------------------------------------------------------------------------------------


def naive_max_pool(x, k, s):
    n, c, h, w = x.shape
    ho, wo = (h - k) // s + 1, (w - k) // s + 1
    out = np.zeros((n, c, ho, wo))
    for b, ch, i, j in itertools.product(range(n), range(c), range(ho), range(wo)):
        out[b, ch, i, j] = x[b, ch, i * s:i * s + k, j * s:j * s + k].max()
    return out


@pytest.mark.parametrize("shape, k, s", [((2, 3, 4, 4), 2, 2), ((1, 2, 5, 7), 3, 1), ((1, 1, 6, 5), 2, 3)],
                         ids=str)
def test_max_pool_equals_the_definition_and_its_rules_match_finite_differences(shape, k, s):
    x = np.random.default_rng(9).normal(size=shape)
    node = dx.max_pool2d(dx.variable("x", shape=shape), k, stride=s)
    np.testing.assert_array_equal(dx.evaluate(node, {"x": x}), naive_max_pool(x, k, s))
    check_grads(lambda x: dx.max_pool2d(x, k, stride=s), {"x": shape}, seed=9)


def test_max_pool_sends_the_gradient_to_each_window_maximum_and_adds_on_overlap():
    x = np.array([[[[1.0, 5.0, 2.0], [0.0, 3.0, 4.0]]]])        # windows of 2x2 at stride 1: both see 5
    g = dx.grad(dx.sum(dx.max_pool2d(dx.variable("x", shape=x.shape), 2, stride=1)), {"x": x})["x"]
    np.testing.assert_array_equal(g, [[[[0.0, 2.0, 0.0], [0.0, 0.0, 0.0]]]])


# ---- dropout -----------------------------------------------------------------------------------------


def test_dropout_with_a_seed_is_deterministic_keeps_about_1_minus_p_and_rescales():
    ones = np.ones((200, 50))
    first, second = dx.dropout(ones, 0.3, seed=4), dx.dropout(ones, 0.3, seed=4)
    np.testing.assert_array_equal(first, second)
    assert set(np.unique(first)) == {0.0, 1.0 / 0.7}
    kept = np.mean(first > 0)
    assert abs(kept - 0.7) < 4 * np.sqrt(0.21 / ones.size)      # within 4 standard deviations
    assert dx.dropout(dx.variable("h", shape=(3,)), 0.3, seed=4) is dx.dropout(
        dx.variable("h", shape=(3,)), 0.3, seed=4)


def test_dropout_gradient_is_the_scaled_mask():
    mask = np.array([1, 0, 1, 1])
    g = dx.grad(dx.sum(dx.dropout(dx.variable("h", shape=(4,)), 0.5, mask=mask)), {"h": np.ones(4)})["h"]
    np.testing.assert_array_equal(g, mask * 2.0)
    check_grads(lambda h: dx.dropout(h, 0.25, seed=1), {"h": (3, 4)})


def test_dropout_without_seed_or_mask_is_refused():
    with pytest.raises(dx.DiffexploreError, match="seed= or mask="):
        dx.dropout(dx.variable("h", shape=(3,)), 0.5)


# ---- batch normalisation -----------------------------------------------------------------------------


@pytest.mark.parametrize("shape, axis", [((5, 3), 0), ((4, 2, 3, 3), (0, 2, 3)), ((3, 6), 1)], ids=str)
def test_batch_norm_equals_its_formula_and_its_rules_match_finite_differences(shape, axis):
    rng = np.random.default_rng(11)
    axes = (axis,) if isinstance(axis, int) else axis
    kept = tuple(1 if i in axes else n for i, n in enumerate(shape))
    param = tuple(n for i, n in enumerate(shape) if i not in axes)
    x, gamma, beta = rng.normal(size=shape) * 2 + 1, rng.normal(size=param), rng.normal(size=param)
    mu, var = x.mean(axis=axes, keepdims=True), x.var(axis=axes, keepdims=True)
    expected = gamma.reshape(kept) * (x - mu) / np.sqrt(var + 1e-5) + beta.reshape(kept)
    node = dx.batch_norm(dx.variable("x", shape=shape), dx.variable("g", shape=param),
                         dx.variable("b", shape=param), axis=axis)
    np.testing.assert_allclose(dx.evaluate(node, {"x": x, "g": gamma, "b": beta}), expected, rtol=1e-13)
    check_grads(lambda x, g, b: dx.batch_norm(x, g, b, axis=axis), {"x": shape, "g": param, "b": param})


def test_batch_norm_output_has_zero_mean_so_a_plain_sum_has_zero_input_gradient():
    # sum over the batch of x̂ is 0 whatever x is, so d/dx sum(batch_norm(x)) = 0 (gamma = 1, beta = 0)
    x = dx.variable("x", shape=(6, 2))
    f = dx.sum(dx.batch_norm(x, np.ones(2), np.zeros(2)))
    g = dx.grad(f, {"x": np.random.default_rng(2).normal(size=(6, 2))})["x"]
    np.testing.assert_allclose(g, 0.0, atol=1e-14)


def test_batch_norm_parameter_shape_mismatch_names_the_shapes():
    with pytest.raises(dx.ShapeError, match=r"\(3,\).*\(5, 4\)"):
        dx.batch_norm(dx.variable("x", shape=(5, 4)), np.ones(3), np.zeros(3))


# ---- second derivatives: the rules of the adjoint helpers (conv2dᵀ, pool scatter/select, untake) ----

SECOND_ORDER = {
    "conv2d": (lambda x, w: dx.conv2d(x, w, stride=2, padding=1), {"x": (1, 2, 5, 5), "w": (2, 2, 3, 3)}),
    "max_pool2d": (lambda x: dx.max_pool2d(dx.sin(x), 2, stride=1), {"x": (1, 2, 4, 4)}),
    "take": (lambda a: a[[0, 2, 2], 1:], {"a": (3, 4)}),
    "batch_norm": (lambda x, g, b: dx.batch_norm(x, g, b), {"x": (4, 3), "g": (3,), "b": (3,)}),
    "log_softmax": (lambda a: dx.log_softmax(a, axis=0), {"a": (3, 4)}),
    "matmul_concatenate": (lambda a, b: dx.concatenate([a @ b, a.T], axis=0), {"a": (2, 2), "b": (2, 2)}),
}


@pytest.mark.parametrize("name", sorted(SECOND_ORDER))
def test_hessian_vector_products_through_the_gradient_graph_match_differences_of_the_gradient(name):
    # H v by reverse-over-reverse (vjps of the gradient graph's nodes) and forward-over-reverse (their
    # jvps), against central differences of the reverse-mode gradient along v.
    build, shapes = SECOND_ORDER[name]
    rng = np.random.default_rng(13)
    variables = {k: dx.variable(k, shape=s) for k, s in shapes.items()}
    out = build(**variables)
    f = dx.sum(dx.tanh(out) * rng.normal(size=out.shape))
    at = {k: rng.normal(size=s) for k, s in shapes.items()}
    v = {k: rng.normal(size=s) for k, s in shapes.items()}
    gradient = dx.gradient_graph(f)
    directional = sum(dx.sum(gradient[k] * v[k]) for k in shapes)
    reverse_over_reverse = dx.grad(directional, at)
    h = 1e-5
    plus = dx.grad(f, {k: at[k] + h * v[k] for k in shapes})
    minus = dx.grad(f, {k: at[k] - h * v[k] for k in shapes})
    for k in shapes:
        difference = (plus[k] - minus[k]) / (2 * h)
        np.testing.assert_allclose(reverse_over_reverse[k], difference, rtol=1e-6, atol=1e-7, err_msg=k)
        forward_over_reverse = dx.forward(gradient[k], at, seed=v).tangent
        np.testing.assert_allclose(forward_over_reverse, reverse_over_reverse[k], rtol=1e-11, atol=1e-12)


@pytest.mark.parametrize("name", sorted(SECOND_ORDER))
def test_forward_symbolic_derivative_differentiated_again_equals_reverse_over_reverse(name):
    # Forward accumulation on nodes with the seed all ones is ⟨∇ₓf, 1⟩; its reverse gradient is H·1 and
    # its forward tangent along v is vᵀH·1: the rules of the jvp-built nodes (pool select, ...). (dx.diff
    # with respect to an array variable is the gradient, by reverse accumulation, so the forward
    # accumulation on nodes is called directly.)
    build, shapes = SECOND_ORDER[name]
    first = next(iter(shapes))
    rng = np.random.default_rng(17)
    variables = {k: dx.variable(k, shape=s) for k, s in shapes.items()}
    out = build(**variables)
    f = dx.sum(dx.tanh(out) * rng.normal(size=out.shape))
    at = {k: rng.normal(size=s) for k, s in shapes.items()}
    along_ones = _diff_once(Plan([f], evaluation=False), variables[first], prune=True)
    np.testing.assert_allclose(dx.evaluate(dx.diff(f, first), at), dx.grad(f, at)[first], rtol=1e-12)
    assert dx.evaluate(along_ones, at) == pytest.approx(float(np.sum(dx.grad(f, at)[first])), rel=1e-12)
    hessian_times_ones = dx.grad(dx.sum(dx.gradient_graph(f)[first]), at)
    got = dx.grad(along_ones, at)
    v = {k: rng.normal(size=s) for k, s in shapes.items()}
    for k in shapes:
        np.testing.assert_allclose(got[k], hessian_times_ones[k], rtol=1e-11, atol=1e-12, err_msg=k)
    tangent = dx.forward(along_ones, at, seed=v).tangent
    expected = sum(float(np.sum(hessian_times_ones[k] * v[k])) for k in shapes)
    assert tangent == pytest.approx(expected, rel=1e-11, abs=1e-12)


# ---- random shapes and compositions (hypothesis) -----------------------------------------------------


@settings(max_examples=15)
@given(rows=st.integers(1, 4), inner=st.integers(1, 4), cols=st.integers(1, 4), bias_row=st.booleans(),
       reduce_axis=st.sampled_from([None, 0, 1]))
def test_random_affine_reductions_match_finite_differences(rows, inner, cols, bias_row, reduce_axis):
    bias_shape = (cols,) if bias_row else (rows, 1)
    check_grads(lambda W, z, b: dx.mean(dx.tanh(W @ z + b), axis=reduce_axis) * 3.0,
                {"W": (rows, inner), "z": (inner, cols), "b": bias_shape}, seed=rows * 16 + inner * 4 + cols)


@settings(max_examples=10)
@given(n=st.integers(1, 2), c=st.integers(1, 2), size=st.integers(3, 6), k=st.integers(1, 3),
       stride=st.integers(1, 2), padding=st.integers(0, 1))
def test_random_convolution_shapes_match_finite_differences(n, c, size, k, stride, padding):
    check_grads(lambda x, w: dx.conv2d(x, w, stride=stride, padding=padding),
                {"x": (n, c, size, size + 1), "w": (2, c, k, k)}, seed=size * 7 + k)


def test_symbolic_gradient_graph_of_an_array_graph_is_made_of_array_operations():
    W, z = dx.variable("W", shape=(3, 4)), dx.variable("z", shape=(4, 2))
    gradient = dx.gradient_graph(dx.sum(dx.tanh(W @ z)))
    ops = {n.op for n in dx.nodes(gradient["W"])}
    assert "matmul" in ops and "transpose" in ops
    assert gradient["W"].shape == (3, 4) and gradient["z"].shape == (4, 2)
