"""A function written with NumPy and traced by dx.trace has the value and the gradient that HIPS autograd
computes for the same function written with autograd.numpy, at float64 to 1e-12: operation by operation,
on an MLP, on softmax attention and on a function that selects with np.where; the traced graph stays valid
at a second point (np.where selects on both sides); batch traces give the per-point gradients; NumPy
functions without a rule and operations of JAX and PyTorch are refused with what to do instead."""

import warnings

import autograd.numpy as anp
import numpy as np
import pytest
from autograd import grad

import diffexplore as dx
from diffexplore.trace import Comparison, branch_decisions

TOLERANCE = {"rtol": 1e-12, "atol": 1e-12}


def random_point(shapes: dict, seed: int) -> dict:
    """Values for each name: normal draws, except names starting with P (positive, in [0.5, 2])."""
    rng = np.random.default_rng(seed)
    point = {}
    for name, shape in shapes.items():
        point[name] = rng.uniform(0.5, 2.0, size=shape) if name.startswith("P") else rng.normal(size=shape)
    return point


def traced(function, point, **options):
    """The graph of ``function(np, **point)`` traced at ``point``."""
    return dx.trace(lambda **operands: function(np, **operands), point, **options)


def autograd_gradient(function, point):
    """HIPS autograd's gradient of ``function(anp, **point)`` with respect to every value."""
    names = list(point)
    values = [point[n] for n in names]

    def loss(*operands):
        return function(anp, **dict(zip(names, operands, strict=True)))

    return {n: grad(loss, argnum=i)(*values) for i, n in enumerate(names)}


def assert_matches_autograd(graph, function, point):
    """The graph's value and gradient at ``point`` equal autograd's, and no branch guard warns."""
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        value = dx.evaluate(graph, point)
        gradient = dx.grad(graph, point)
    np.testing.assert_allclose(value, function(np, **point), **TOLERANCE)
    expected = autograd_gradient(function, point)
    assert set(gradient) == set(expected)
    for name in expected:
        np.testing.assert_allclose(gradient[name], expected[name], **TOLERANCE, err_msg=name)


# Each operation as an array expression; the loss is sum(sin(expression)), so that every output element
# gets its own cotangent. Names starting with P are positive.
OPERATIONS = {
    "@": (lambda xp, A, B: A @ B, {"A": (3, 4), "B": (4, 2)}),
    "@ vector": (lambda xp, A, v: A @ v, {"A": (3, 4), "v": (4,)}),
    "array @ traced": (lambda xp, A: np.linspace(0.1, 1.0, 6).reshape(2, 3) @ A, {"A": (3, 4)}),
    "np.matmul": (lambda xp, A, B: xp.matmul(A, B), {"A": (3, 4), "B": (4, 2)}),
    "np.matmul batched": (lambda xp, S, T: xp.matmul(S, T), {"S": (2, 3, 4), "T": (2, 4, 2)}),
    "np.dot matrices": (lambda xp, A, B: xp.dot(A, B), {"A": (3, 4), "B": (4, 2)}),
    "np.dot vectors": (lambda xp, u, v: xp.dot(u, v), {"u": (4,), "v": (4,)}),
    "np.dot matrix-vector": (lambda xp, A, v: xp.dot(A, v), {"A": (3, 4), "v": (4,)}),
    "np.dot vector-matrix": (lambda xp, u, B: xp.dot(u, B), {"u": (4,), "B": (4, 2)}),
    "np.dot 3-D by 2-D": (lambda xp, S, B: xp.dot(S, B), {"S": (2, 3, 4), "B": (4, 2)}),
    "np.dot 2-D by 3-D": (lambda xp, A, S: xp.dot(A, S), {"A": (2, 3), "S": (2, 3, 4)}),
    "np.dot scalar": (lambda xp, A: xp.dot(2.5, A), {"A": (3, 4)}),
    "einsum ij,jk->ik": (lambda xp, A, B: xp.einsum("ij,jk->ik", A, B), {"A": (3, 4), "B": (4, 2)}),
    "einsum ij,j->i": (lambda xp, A, v: xp.einsum("ij,j->i", A, v), {"A": (3, 4), "v": (4,)}),
    "einsum bij,bjk->bik": (lambda xp, S, T: xp.einsum("bij,bjk->bik", S, T),
                            {"S": (2, 3, 4), "T": (2, 4, 2)}),
    "einsum ik,jk->ij": (lambda xp, A, C: xp.einsum("ik,jk->ij", A, C), {"A": (3, 4), "C": (2, 4)}),
    "einsum i,i->": (lambda xp, u, v: xp.einsum("i,i->", u, v), {"u": (4,), "v": (4,)}),
    "einsum i,j->ij": (lambda xp, u, v: xp.einsum("i,j->ij", u, v), {"u": (4,), "v": (3,)}),
    "einsum bi,bj->bij": (lambda xp, A, C: xp.einsum("bi,bj->bij", A, C), {"A": (3, 4), "C": (3, 2)}),
    "einsum bqd,bkd->bqk": (lambda xp, S, T: xp.einsum("bqd,bkd->bqk", S, T),
                            {"S": (2, 3, 4), "T": (2, 5, 4)}),
    "einsum ij->ji": (lambda xp, A: xp.einsum("ij->ji", A), {"A": (3, 4)}),
    "einsum ijk,kl-> (sums)": (lambda xp, S, B: xp.einsum("ijk,kl->", S, B), {"S": (2, 3, 4), "B": (4, 2)}),
    "np.sum": (lambda xp, A: xp.sum(A), {"A": (3, 4)}),
    "np.sum axis": (lambda xp, A: xp.sum(A, axis=0), {"A": (3, 4)}),
    "np.sum axis keepdims": (lambda xp, A: xp.sum(A, axis=-1, keepdims=True), {"A": (3, 4)}),
    "np.sum axes": (lambda xp, S: xp.sum(S, axis=(0, 2)), {"S": (2, 3, 4)}),
    "np.mean": (lambda xp, A: xp.mean(A), {"A": (3, 4)}),
    "np.mean axis keepdims": (lambda xp, A: xp.mean(A, axis=1, keepdims=True), {"A": (3, 4)}),
    "np.max": (lambda xp, A: xp.max(A), {"A": (3, 4)}),
    "np.max axis": (lambda xp, A: xp.max(A, axis=1), {"A": (3, 4)}),
    "np.max axis keepdims": (lambda xp, A: xp.max(A, axis=0, keepdims=True), {"A": (3, 4)}),
    "np.min axis": (lambda xp, A: xp.min(A, axis=0), {"A": (3, 4)}),
    "np.min keepdims": (lambda xp, A: xp.min(A, axis=-1, keepdims=True), {"A": (3, 4)}),
    "np.prod": (lambda xp, P: xp.prod(P), {"P": (3, 4)}),
    "np.prod axis": (lambda xp, P: xp.prod(P, axis=1), {"P": (3, 4)}),
    ".sum()": (lambda xp, A: A.sum(), {"A": (3, 4)}),
    ".sum(axis)": (lambda xp, A: A.sum(axis=1, keepdims=True), {"A": (3, 4)}),
    ".mean()": (lambda xp, A: A.mean(axis=0), {"A": (3, 4)}),
    ".max()": (lambda xp, A: A.max(axis=1), {"A": (3, 4)}),
    ".min()": (lambda xp, A: A.min(), {"A": (3, 4)}),
    ".prod()": (lambda xp, P: P.prod(axis=0), {"P": (3, 4)}),
    ".T": (lambda xp, A: A.T * xp.arange(3.0), {"A": (3, 4)}),
    ".reshape(n, m)": (lambda xp, A: A.reshape(2, 6) * xp.arange(6.0), {"A": (3, 4)}),
    ".reshape(shape)": (lambda xp, A: A.reshape((6, -1)) * xp.arange(2.0), {"A": (3, 4)}),
    ".transpose(axes)": (lambda xp, S: S.transpose((2, 0, 1)) * xp.arange(3.0), {"S": (2, 3, 4)}),
    ".transpose()": (lambda xp, S: S.transpose() * xp.arange(2.0), {"S": (2, 3, 4)}),
    "np.transpose": (lambda xp, S: xp.transpose(S, (1, 0, 2)) * xp.arange(4.0), {"S": (2, 3, 4)}),
    "np.reshape": (lambda xp, A: xp.reshape(A, (4, 3)) * xp.arange(3.0), {"A": (3, 4)}),
    "a[int]": (lambda xp, A: A[1], {"A": (3, 4)}),
    "a[:, int]": (lambda xp, A: A[:, 2], {"A": (3, 4)}),
    "a[slices]": (lambda xp, A: A[1:3, ::2], {"A": (3, 4)}),
    "a[-1, 1:]": (lambda xp, A: A[-1, 1:], {"A": (3, 4)}),
    "a[int array]": (lambda xp, A: A[np.array([0, 2, 2])], {"A": (3, 4)}),
    "a[list, list]": (lambda xp, A: A[[0, 2, 2], [1, 3, 3]], {"A": (3, 4)}),
    "a[..., None]": (lambda xp, A: A[..., None] * xp.arange(2.0), {"A": (3, 4)}),
    "np.where one-sided": (lambda xp, A: xp.where(A > 0, A, 0.1 * A), {"A": (3, 4)}),
    "np.where two-sided": (lambda xp, A, B: xp.where(A > B, xp.exp(A), B ** 2), {"A": (3, 4), "B": (3, 4)}),
    "np.where comparison on the left": (lambda xp, A: xp.where(0.2 <= A, A * A, -A), {"A": (3, 4)}),
    "np.concatenate": (lambda xp, A, C: xp.concatenate([A, C], axis=0), {"A": (3, 4), "C": (2, 4)}),
    "np.concatenate axis 1": (lambda xp, A, C: xp.concatenate([A, C, A], axis=1), {"A": (3, 4), "C": (3, 2)}),
    "np.stack": (lambda xp, u, v: xp.stack([u, v, u * v]), {"u": (4,), "v": (4,)}),
    "np.stack axis 1": (lambda xp, u, v: xp.stack([u, v], axis=1), {"u": (4,), "v": (4,)}),
    "np.exp": (lambda xp, A: xp.exp(A), {"A": (3, 4)}),
    "np.log": (lambda xp, P: xp.log(P), {"P": (3, 4)}),
    "np.log1p": (lambda xp, P: xp.log1p(P), {"P": (3, 4)}),
    "np.expm1": (lambda xp, A: xp.expm1(A), {"A": (3, 4)}),
    "np.sqrt": (lambda xp, P: xp.sqrt(P), {"P": (3, 4)}),
    "np.square": (lambda xp, A: xp.square(A), {"A": (3, 4)}),
    "np.sin": (lambda xp, A: xp.sin(A), {"A": (3, 4)}),
    "np.cos": (lambda xp, A: xp.cos(A), {"A": (3, 4)}),
    "np.tan": (lambda xp, A: xp.tan(0.3 * A), {"A": (3, 4)}),
    "np.sinh": (lambda xp, A: xp.sinh(A), {"A": (3, 4)}),
    "np.cosh": (lambda xp, A: xp.cosh(A), {"A": (3, 4)}),
    "np.tanh": (lambda xp, A: xp.tanh(A), {"A": (3, 4)}),
    "np.arctan": (lambda xp, A: xp.arctan(A), {"A": (3, 4)}),
    "np.abs": (lambda xp, A: xp.abs(A), {"A": (3, 4)}),
    "np.maximum": (lambda xp, A, B: xp.maximum(A, B), {"A": (3, 4), "B": (3, 4)}),
    "np.minimum with a number": (lambda xp, A: xp.minimum(A, 0.2), {"A": (3, 4)}),
    "np.clip": (lambda xp, A: xp.clip(A, -0.5, 0.5), {"A": (3, 4)}),
    "np.power": (lambda xp, P: xp.power(P, 1.5), {"P": (3, 4)}),
    "np.power array exponent": (lambda xp, P, B: xp.power(P, B), {"P": (3, 4), "B": (3, 4)}),
    "** int": (lambda xp, A: A ** 3, {"A": (3, 4)}),
    "np.inner": (lambda xp, A, C: xp.inner(A, C), {"A": (3, 4), "C": (2, 4)}),
    "np.outer": (lambda xp, u, v: xp.outer(u, v), {"u": (4,), "v": (3,)}),
    "np.linalg.norm": (lambda xp, A: xp.linalg.norm(A, axis=1) + xp.linalg.norm(A), {"A": (3, 4)}),
    "np.hstack": (lambda xp, u, v: xp.hstack([u, v]), {"u": (4,), "v": (3,)}),
    "np.vstack": (lambda xp, u, A: xp.vstack([u, A]), {"u": (4,), "A": (3, 4)}),
    "np.squeeze / expand_dims": (lambda xp, c: xp.expand_dims(xp.squeeze(c), 0) * xp.arange(2.0)[:, None],
                                 {"c": (3, 1)}),
    "np.swapaxes": (lambda xp, S: xp.swapaxes(S, 0, 2) * xp.arange(2.0), {"S": (2, 3, 4)}),
    "np.ravel / .ravel()": (lambda xp, A: xp.ravel(A) * A.ravel()[::-1], {"A": (3, 4)}),
    "np.broadcast_to": (lambda xp, v: (xp.broadcast_to(v, (3, 4)) if xp is np else v + np.zeros((3, 4)))
                        * xp.arange(3.0)[:, None], {"v": (4,)}),           # autograd's broadcast_to: no vjp
    "np.amax / np.amin": (lambda xp, A: xp.amax(A, axis=0) - xp.amin(A, axis=0), {"A": (3, 4)}),
    "np.add.reduce": (lambda xp, A: np.add.reduce(A, axis=1) if xp is np else xp.sum(A, axis=1),
                      {"A": (3, 4)}),
    "np.log2 / log10 / exp2": (lambda xp, P: xp.log2(P) + xp.log10(P) * xp.exp2(P), {"P": (3, 4)}),
    "np.reciprocal / fabs": (lambda xp, P, A: xp.reciprocal(P) * xp.fabs(A), {"P": (3, 4), "A": (3, 4)}),
    "np.hypot / float_power": (lambda xp, A, P: xp.hypot(A, P)
                               + (xp.float_power if xp is np else xp.power)(P, 0.7),   # autograd: no vjp
                               {"A": (3, 4), "P": (3, 4)}),
    "np.logaddexp": (lambda xp, A, B: xp.logaddexp(A, B), {"A": (3, 4), "B": (3, 4)}),
    "np.where with & | ~": (lambda xp, A, B: xp.where((A > 0) & (B < 0.5) | ~(A > -0.3), A * B, B),
                            {"A": (3, 4), "B": (3, 4)}),
    "broadcast row": (lambda xp, A, v: A * v - v, {"A": (3, 4), "v": (4,)}),
    "broadcast column": (lambda xp, A, c: A / (1.0 + c * c), {"A": (3, 4), "c": (3, 1)}),
    "Python numbers": (lambda xp, A, P: 3 + 2.5 * A - 1 / P + A / 4, {"A": (3, 4), "P": (3, 4)}),
}


def loss_of(expression):
    return lambda xp, **operands: xp.sum(xp.sin(expression(xp, **operands)))


@pytest.mark.parametrize("name", list(OPERATIONS))
def test_traced_numpy_operation_has_autograds_value_and_gradient_at_two_points(name):
    expression, shapes = OPERATIONS[name]
    function = loss_of(expression)
    first, second = random_point(shapes, seed=1), random_point(shapes, seed=2)
    graph = traced(function, first)
    assert_matches_autograd(graph, function, first)
    assert_matches_autograd(graph, function, second)     # the same graph, valid away from its trace point


# ---- whole models ------------------------------------------------------------------------------------


def mlp_loss(xp, W1, b1, W2, b2, X, Y):
    hidden = xp.tanh(W1 @ X + b1)
    prediction = W2 @ hidden + b2
    return xp.mean((prediction - Y) ** 2)


def attention(xp, Q, K, V):
    d = Q.shape[-1]
    scores = Q @ K.T / np.sqrt(d)
    scores = scores - scores.max(axis=1, keepdims=True)
    weights = xp.exp(scores)
    weights = weights / xp.sum(weights, axis=1, keepdims=True)
    return xp.sum(xp.sin(weights @ V))


def gated(xp, W, x):
    h = W @ x
    h = xp.where(h > 0, h, 0.01 * h)           # leaky relu by selection
    h = xp.clip(h, -1.0, 1.0)
    return xp.sum(h[np.array([0, 2])] ** 2) + h[1] * x[0] + h[-2:].max()


def small_cnn(xp, X, K, W):
    """conv (3x3, by shifted slices), relu by selection, 2x2 max pooling (by reshape), flatten, dense,
    softmax cross-entropy with fixed labels: the CNN of the issue in plain NumPy."""
    n, c, h, w = X.shape
    out_channels = K.shape[0]
    conv = 0.0
    for i in range(3):
        for j in range(3):
            patch = X[:, :, i:i + h - 2, j:j + w - 2]                     # (n, c, h-2, w-2)
            conv = conv + (patch[:, None] * K[None, :, :, i, j, None, None]).sum(axis=2)
    activated = xp.where(conv > 0, conv, 0.0)
    pooled = activated.reshape(n, out_channels, (h - 2) // 2, 2, (w - 2) // 2, 2).max(axis=(3, 5))
    flat = pooled.reshape(n, -1)
    logits = flat @ W
    logits = logits - logits.max(axis=1, keepdims=True)
    log_probabilities = logits - xp.log(xp.sum(xp.exp(logits), axis=1, keepdims=True))
    return -xp.mean(log_probabilities[np.arange(n), np.array([0, 2])])


MODELS = {
    "mlp": (mlp_loss, {"W1": (4, 3), "b1": (4, 1), "W2": (2, 4), "b2": (2, 1), "X": (3, 5), "Y": (2, 5)}),
    "small cnn": (small_cnn, {"X": (2, 2, 6, 6), "K": (3, 2, 3, 3), "W": (12, 3)}),
    "attention": (attention, {"Q": (4, 3), "K": (5, 3), "V": (5, 2)}),
    "where, clip and indexing": (gated, {"W": (5, 3), "x": (3,)}),
}


@pytest.mark.parametrize("name", list(MODELS))
def test_traced_numpy_model_has_autograds_value_and_gradient_at_two_points(name):
    function, shapes = MODELS[name]
    first = random_point(shapes, seed=3)
    graph = traced(function, first)
    assert branch_decisions(graph) == []
    assert_matches_autograd(graph, function, first)
    for seed in (4, 5, 6):
        assert_matches_autograd(graph, function, random_point(shapes, seed=seed))


def test_ndarray_methods_take_numpys_argument_forms():
    S = dx.variable("S", shape=(2, 3, 4))

    def forms(S):
        assert (len(S), S.ndim, S.size, S.dtype) == (2, 3, 24, np.float64)
        assert [row.node for row in S] == [S[0].node, S[1].node]
        assert S.transpose(2, 0, 1).node is S.transpose((2, 0, 1)).node is np.transpose(S, (2, 0, 1)).node
        assert S.reshape(4, 6).node is S.reshape((4, 6)).node is S.reshape(-1, 6).node
        vector = S[0, 0]
        assert S.T.node is dx.transpose(S.node) and vector.T is vector       # a vector's .T is itself
        assert np.shape(S) == (2, 3, 4) and np.ndim(S) == 3 and np.size(S) == 24
        assert np.zeros_like(S).shape == (2, 3, 4)
        return S.sum()

    assert dx.trace(forms, S=np.ones((2, 3, 4))) is dx.sum(S)


def test_np_where_graph_is_valid_where_the_selection_flips():
    x = dx.variable("x", shape=(4,))
    graph = dx.trace(lambda x: np.sum(np.where(x > 0, x ** 2, -3 * x)), x=np.array([1.0, 2.0, 3.0, 4.0]))
    assert graph is dx.sum(dx.select(dx.greater(x, 0.0), x ** 2, -3 * x))
    other = {"x": np.array([-1.0, 2.0, -0.5, 0.0])}       # three elements on the other side (0 included)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        np.testing.assert_allclose(dx.grad(graph, other)["x"], [-3.0, 4.0, -3.0, -3.0], rtol=0, atol=0)


def test_a_comparison_is_a_node_until_its_truth_is_asked_then_a_decision():
    x = dx.variable("t")

    def f(t):
        positive = t > 0
        assert isinstance(positive, Comparison) and positive.node is dx.greater(x, 0.0)
        scale = 2.0 if t > 1 else 3.0                 # its truth: a recorded decision
        return np.where(positive, t, -t) * scale       # its node: a select, no decision

    graph = dx.trace(f, t=2.0)
    assert graph is dx.select(dx.greater(x, 0.0), x, -x) * 2.0
    assert [d.condition() for d in branch_decisions(graph)] == ["t > 1"]
    assert dx.trace(lambda t: (t > 1) * t + (t <= 1) * t ** 2, t=0.5) is \
        dx.greater(x, 1.0) * x + dx.less_equal(x, 1.0) * x ** 2


# ---- batches -----------------------------------------------------------------------------------------


def scalar_program(x, y):
    bump = np.where(x > y, x - y, (y - x) ** 2)
    if x + y > -10:                                   # the same answer at every point of the batch below
        bump = bump + np.exp(-x * x)
    return np.sin(x * y) + bump + np.clip(y, -0.5, 0.5) * np.log1p(x * x)


def test_batch_trace_gives_each_points_gradient_as_its_own_scalar_trace():
    xs, ys = np.array([-1.5, -0.2, 0.3, 1.1, 2.0]), np.array([0.4, -0.9, 0.3 + 1e-3, 0.2, 2.5])
    graph = dx.trace(scalar_program, batch=True, x=xs, y=ys)
    assert dx.variable("x") in dx.free_variables(graph)            # scalar variables (shape ())
    batch_gradient = dx.grad(graph, {"x": xs, "y": ys})
    values = dx.evaluate(graph, {"x": xs, "y": ys})
    for i, (x, y) in enumerate(zip(xs, ys, strict=True)):
        assert values[i] == pytest.approx(scalar_program(x, y), rel=1e-14)
        alone = dx.grad(dx.trace(scalar_program, x=x, y=y), {"x": x, "y": y})
        assert batch_gradient["x"][i] == pytest.approx(alone["x"], rel=1e-12, abs=1e-12)
        assert batch_gradient["y"][i] == pytest.approx(alone["y"], rel=1e-12, abs=1e-12)


def test_batch_whose_points_take_different_paths_is_refused():
    with pytest.raises(dx.DiffexploreError, match=r"points of the batch take different paths at x > 0 "
                                                  r"\(1 of 3 points"):
        dx.trace(lambda x: x if x > 0 else -x, batch=True, x=[1.0, 2.0, -1.0])


def test_an_array_comparison_asked_for_its_truth_says_to_select_instead():
    with pytest.raises(dx.DiffexploreError, match=r"ambiguous; select with np\.where.*batch=True"):
        dx.trace(lambda x: np.sum(x) if x > 0 else 0.0, x=np.array([1.0, -1.0]))


# ---- refusals ----------------------------------------------------------------------------------------


@pytest.mark.parametrize("call, written, defined", [
    (lambda x: np.sum(np.cumsum(x)), r"np\.cumsum", r"dx\.define\('cumsum', arity"),
    (lambda x: np.sum(np.linalg.inv(x.reshape(2, 2))), r"np\.linalg\.inv", r"dx\.define\('inv', arity"),
    (lambda x: np.sum(np.arcsin(x)), r"np\.arcsin", r"dx\.define\('arcsin', 1"),
])
def test_numpy_function_without_a_rule_names_it_and_how_to_add_it(call, written, defined):
    with pytest.raises(dx.DiffexploreError,
                       match=rf"{written} has no rule.*{defined}, impl, partials, numpy={written}\) or "
                             rf"@dx\.primitive\(partials=\[\.\.\.\], numpy={written}\)"):
        dx.trace(call, x=np.array([0.1, 0.2, 0.3, 0.4]))


def test_a_user_primitive_with_a_numpy_facet_is_what_tracing_that_function_records():
    with dx.primitive_scope():
        cumulative = dx.define("cumsum_example", 1, np.cumsum, None, numpy=np.cumsum, public=False,
                               shape=lambda s: s, linear=True,
                               vjp=lambda g, a, out: (np.cumsum(g[::-1])[::-1],))
        x = dx.variable("x", shape=(3,))
        assert dx.trace(lambda x: np.cumsum(x), x=np.array([1.0, 2.0, 3.0])) is cumulative(x)


@pytest.mark.parametrize("call, message", [
    (lambda x: np.sum(x, where=x > 0), r"np\.sum: the option\(s\) where are not supported"),
    (lambda x: np.asarray(x).sum(), r"np\.array/np\.asarray of the traced value x .*np\.stack"),
    (lambda x: np.einsum("ii->", x.reshape(2, 2)), r"repeated within 'ii' \(a diagonal\)"),
    (lambda x: x[int(x[0] > 0)] + x[x[0]], r"the index .* is computed from traced values"),
])
def test_what_tracing_numpy_does_not_follow_is_refused_naming_it(call, message):
    with pytest.raises(dx.DiffexploreError, match=message):
        dx.trace(call, x=np.array([0.1, 0.2, 0.3, 0.4]))


def jax_program(x, y):
    import jax.numpy as jnp
    return 1 + x + jnp.exp(jnp.sin(x * y))


def torch_program(x, y):
    import torch
    return torch.sin(x * y)


def torch_module_program(x, y):
    import torch
    layer = torch.nn.Linear(1, 1)
    return layer(x)


@pytest.mark.parametrize("program, call, framework, route", [
    (jax_program, r"jnp\.sin in `return 1 \+ x \+ jnp\.exp\(jnp\.sin\(x \* y\)\)`", "JAX", r"dx\.from_jax"),
    (torch_program, r"torch\.sin in `return torch\.sin\(x \* y\)`", "PyTorch", r"dx\.from_torch"),
    (torch_module_program, r"layer in `return layer\(x\)`", "PyTorch", r"dx\.from_torch"),
])
def test_a_jax_or_torch_call_that_rejects_the_tracer_names_the_call_and_the_import(program, call, framework,
                                                                                   route):
    name = program.__name__
    with pytest.raises(dx.DiffexploreError,
                       match=rf"tracing {name}\(\) at x=1, y=2: {call} "
                             rf"\(test_numpy_trace\.py:\d+ in {name}\) rejected diffexplore's tracing value "
                             rf"\(TypeError: .*\)\. This is {framework} code.*"
                             rf"import its graph with {route}\({name}, "):
        dx.trace(program, x=1.0, y=2.0)


def test_an_ordinary_mistake_of_the_program_is_not_blamed_on_another_framework():
    with pytest.raises(TypeError, match="unsupported operand"):
        dx.trace(lambda x: x + "a", x=1.0)
