"""dx.from_jax: a jaxpr converted to diffexplore nodes gives JAX's own values and gradients.

The reference is JAX itself, run in float64 inside ``jax.enable_x64(True)`` (a context: JAX's global
configuration is left as it was). The imports are made in JAX's default float32 mode unless a test says
otherwise; diffexplore evaluates them in float64.
"""

from __future__ import annotations

import warnings

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from hypothesis import assume, given

import diffexplore as dx
from diffexplore.imports import framework_path
from diffexplore.imports.jax import from_jax

from .strategies import expressions, near_kink, points

TIGHT = 1e-12


def jax_value_and_gradients(fn, *args):
    """JAX's value and gradient with respect to every argument, in float64, as NumPy."""
    with jax.enable_x64(True):
        value, gradients = jax.jit(jax.value_and_grad(fn, argnums=tuple(range(len(args)))))(*args)
        return float(value), jax.tree_util.tree_map(np.asarray, gradients)


def assert_close(actual, expected, tolerance=TIGHT):
    actual, expected = np.asarray(actual, dtype=np.float64), np.asarray(expected, dtype=np.float64)
    assert actual.shape == expected.shape
    scale = 1.0 + np.max(np.abs(expected), initial=0.0)
    assert np.max(np.abs(actual - expected), initial=0.0) <= tolerance * scale, (actual, expected)


def assert_matches_jax(imported, fn, *args):
    """The imported graph's value and gradient equal JAX's (float64) for every argument leaf."""
    value, gradients = jax_value_and_gradients(fn, *args)
    assert_close(dx.evaluate(imported.output, imported.point), value)
    ours = dx.grad(imported.output, imported.point)
    leaves = jax.tree_util.tree_leaves(gradients)
    assert set(ours) == set(imported.names)
    for name, expected in zip(imported.names, leaves, strict=True):
        assert_close(ours[name], expected)


rng = np.random.default_rng(16)


# ---- the fixed functions -------------------------------------------------------------------------------


def test_seed_function_imports_as_the_same_graph_with_jax_gradients():
    def seed(x, y):
        return 1 + x + jnp.exp(jnp.sin(x * y))

    imported = from_jax(seed, 1.0, 2.0)
    assert imported.output is dx.parse("1 + x + exp(sin(x*y))")
    assert imported.point == {"x": 1.0, "y": 2.0} and imported.source == "jax"
    assert_matches_jax(imported, seed, 1.0, 2.0)


def mlp_loss(params, x, labels):
    hidden = jnp.tanh(x @ params["W1"] + params["b1"])
    logits = hidden @ params["W2"] + params["b2"]
    log_probabilities = jax.nn.log_softmax(logits, axis=-1)
    return -jnp.mean(jnp.sum(jax.nn.one_hot(labels, 3) * log_probabilities, axis=-1))


def mlp_arguments():
    params = {"W1": rng.normal(size=(4, 5)), "b1": rng.normal(size=5), "W2": rng.normal(size=(5, 3)),
              "b2": rng.normal(size=3)}
    return params, rng.normal(size=(6, 4)), np.array([0, 2, 1, 1, 0, 2])


def test_mlp_with_dict_params_and_softmax_cross_entropy_equals_jax_grad():
    params, x, labels = mlp_arguments()
    imported = from_jax(mlp_loss, params, x, labels)
    assert imported.names == {"params_W1": "params['W1']", "params_W2": "params['W2']",
                              "params_b1": "params['b1']", "params_b2": "params['b2']", "x": "x"}
    assert any("labels" in note and "example value" in note for note in imported.notes)
    value, (param_gradients, x_gradient) = jax_value_and_gradients(
        lambda p, x: mlp_loss(p, x, labels), params, x)
    assert_close(dx.evaluate(imported.output, imported.point), value)
    ours = dx.grad(imported.output, imported.point)
    for key in params:
        assert_close(ours[f"params_{key}"], param_gradients[key])
    assert_close(ours["x"], x_gradient)


def test_mse_mlp_with_list_params_names_each_leaf_by_its_index():
    def loss(layers, x, y):
        h = x
        for w, b in layers:
            h = jnp.tanh(h @ w + b)
        return jnp.mean((h - y) ** 2)

    layers = [(rng.normal(size=(3, 4)), rng.normal(size=4)), (rng.normal(size=(4, 2)), rng.normal(size=2))]
    x, y = rng.normal(size=(5, 3)), rng.normal(size=(5, 2))
    imported = from_jax(loss, layers, x, y)
    assert imported.names["layers_0_1"] == "layers[0][1]" and imported.point["layers_1_0"].shape == (4, 2)
    assert_matches_jax(imported, loss, layers, x, y)


def attention(q, k, v, w_out):
    d = q.shape[-1]
    weights = jax.nn.softmax(q @ k.T / jnp.sqrt(d), axis=-1)
    first = weights @ v
    second = jax.nn.softmax(first @ first.T / jnp.sqrt(first.shape[-1]), axis=-1) @ first
    return jnp.sum(jnp.tanh(second @ w_out))


def test_two_layer_attention_equals_jax_grad():
    args = [rng.normal(size=shape) for shape in [(3, 4), (5, 4), (5, 4), (4, 2)]]
    imported = from_jax(attention, *args)
    assert_matches_jax(imported, attention, *args)


def cnn_loss(x, w, b, dense):
    y = jax.lax.conv_general_dilated(x, w, (1, 1), [(1, 1), (1, 1)],
                                     dimension_numbers=("NCHW", "OIHW", "NCHW"))
    y = jax.nn.relu(y + b[None, :, None, None])
    y = jax.lax.reduce_window(y, -jnp.inf, jax.lax.max, (1, 1, 2, 2), (1, 1, 2, 2), "VALID")
    logits = y.reshape(y.shape[0], -1) @ dense
    log_probabilities = jax.nn.log_softmax(logits, axis=-1)
    return -jnp.mean(jnp.sum(jax.nn.one_hot(jnp.array([0, 2]), 3) * log_probabilities, axis=-1))


def test_small_cnn_with_conv_and_max_pool_equals_jax_grad():
    args = [rng.normal(size=shape) for shape in [(2, 2, 6, 6), (3, 2, 3, 3), (3,), (27, 3)]]
    with jax.enable_x64(True):
        imported = from_jax(cnn_loss, *args)
    assert "conv_general_dilated" in dx.imports.jax.supported_primitives()
    assert "reduce_window_max" in dx.imports.jax.supported_primitives()
    assert_matches_jax(imported, cnn_loss, *args)


@pytest.mark.parametrize("fn, param", [
    (lambda x, w: jax.lax.conv_general_dilated(x, w, (1, 1), [(1, 0), (1, 1)],
                                               dimension_numbers=("NCHW", "OIHW", "NCHW")), "padding"),
    (lambda x, w: jax.lax.conv_general_dilated(x, w, (1, 1), "VALID", rhs_dilation=(2, 1),
                                               dimension_numbers=("NCHW", "OIHW", "NCHW")), "rhs_dilation"),
    (lambda x, w: jax.lax.conv_general_dilated(x, w, (1, 1), [(0, 0), (0, 0)], lhs_dilation=(2, 2),
                                               dimension_numbers=("NCHW", "OIHW", "NCHW")), "lhs_dilation"),
    (lambda x, w: jax.lax.conv_general_dilated(x.transpose(0, 2, 3, 1), w, (1, 1), "VALID",
                                               dimension_numbers=("NHWC", "OIHW", "NCHW")),
     "dimension_numbers"),
    (lambda x, w: jax.lax.reduce_window(x, -jnp.inf, jax.lax.max, (1, 1, 3, 3), (1, 1, 2, 2), "SAME"),
     "padding"),
    (lambda x, w: jax.lax.reduce_window(x, -jnp.inf, jax.lax.max, (1, 2, 2, 2), (1, 1, 2, 2), "VALID"),
     "window_dimensions"),
    (lambda x, w: jax.lax.reduce_window(x, -jnp.inf, jax.lax.max, (1, 1, 2, 2), (2, 1, 2, 2), "VALID"),
     "window_strides"),
    (lambda x, w: jax.lax.reduce_window(x, -jnp.inf, jax.lax.max, (1, 1, 2, 2), (1, 1, 1, 1), "VALID",
                                        window_dilation=(1, 1, 2, 1)), "window_dilation"),
])
def test_unsupported_conv_and_pool_parameters_are_refused_by_name(fn, param):
    x, w = rng.normal(size=(1, 2, 6, 6)), rng.normal(size=(2, 2, 3, 3))
    with jax.enable_x64(True), pytest.raises(dx.DiffexploreError) as caught:
        from_jax(lambda x, w: jnp.sum(fn(x, w)), x, w)
    assert f"with {param}=" in str(caught.value)


def test_where_and_stop_gradient_keep_a_graph_valid_at_other_points():
    def fn(x, y):
        chosen = jnp.where(x > y, x * y, jax.lax.stop_gradient(x) ** 2 + y)
        return jnp.sum(chosen * jnp.exp(-jax.lax.stop_gradient(y)))

    x, y = rng.normal(size=6), rng.normal(size=6)
    imported = from_jax(fn, x, y)
    ops = {node.op for node in dx.nodes(imported.output)}
    assert {"stop_gradient", "select", "greater"} <= ops
    assert_matches_jax(imported, fn, x, y)
    elsewhere_x, elsewhere_y = rng.normal(size=6), rng.normal(size=6)      # the same graph, other sides
    value, (gx, gy) = jax_value_and_gradients(fn, elsewhere_x, elsewhere_y)
    at = {"x": elsewhere_x, "y": elsewhere_y}
    assert_close(dx.evaluate(imported.output, at), value)
    ours = dx.grad(imported.output, at)
    assert_close(ours["x"], gx)
    assert_close(ours["y"], gy)


def test_jitted_custom_jvp_and_custom_vjp_inner_functions_are_inlined():
    @jax.custom_vjp
    def scaled_sin(x):
        return 2.0 * jnp.sin(x)

    scaled_sin.defvjp(lambda x: (scaled_sin(x), x), lambda x, g: (2.0 * jnp.cos(x) * g,))

    @jax.jit
    def inner(w, x):
        return jax.nn.relu(x @ w) + jax.nn.softplus(x @ w)

    def fn(w, x):
        return jnp.sum(scaled_sin(inner(w, x)))

    w, x = rng.normal(size=(3, 2)), rng.normal(size=(4, 3))
    imported = from_jax(fn, w, x)
    assert_matches_jax(imported, fn, w, x)


@pytest.mark.parametrize("spec, shapes", [
    ("i,i->", [(4,), (4,)]),
    ("ij,j->i", [(3, 4), (4,)]),
    ("j,jk->k", [(4,), (4, 2)]),
    ("i,j->ij", [(3,), (2,)]),
    ("ij,kj->ik", [(3, 4), (2, 4)]),
    ("bij,bjk->bik", [(2, 3, 4), (2, 4, 5)]),
    ("bij,bkj->bki", [(2, 3, 4), (2, 5, 4)]),
    ("abij,abj->abi", [(2, 3, 4, 5), (2, 3, 5)]),
    ("ijk,jkl->il", [(2, 3, 4), (3, 4, 5)]),
])
def test_dot_general_forms_equal_jax(spec, shapes):
    def fn(a, b):
        return jnp.sum(jnp.sin(jnp.einsum(spec, a, b)))

    a, b = (rng.normal(size=shape) for shape in shapes)
    imported = from_jax(fn, a, b)
    assert "dot_general" in str(jax.make_jaxpr(fn)(a, b))
    assert_matches_jax(imported, fn, a, b)


def test_slices_gathers_and_shape_plumbing_are_plain_indexing():
    def fn(x, s):
        picked = x[jnp.array([0, -1, 2])] + x[1] + x[::2, 1:].sum() + x[:, jnp.array([3, 0])].T.sum()
        stacked = jnp.concatenate([x, x[:1] * s], axis=0)
        return (jnp.sum(picked ** 2) + jnp.max(stacked) - jnp.min(stacked, axis=1).sum()
                + jnp.sum(jnp.expand_dims(x, 0).reshape(-1)[5:9] * s) + jnp.prod(x[0, :2]))

    x, s = rng.normal(size=(4, 4)), 0.7
    imported = from_jax(fn, x, s)
    assert imported.point["s"] == 0.7 and dx.variable("s") in dx.nodes(imported.output)
    assert {"take"} <= {node.op for node in dx.nodes(imported.output)}
    assert_matches_jax(imported, fn, x, s)


def test_keyword_and_star_arguments_are_named_by_the_signature():
    def fn(a, b, *rest, scale=1.0):
        return jnp.sum(a * b) * scale + rest[0][1]

    args = (np.array([0.5, 2.0]), 2.0, (1.0, 3.0))
    imported = dx.from_jax(fn, *args, scale=0.5)
    assert imported.names == {"a": "a", "b": "b", "rest_0_0": "rest[0][0]", "rest_0_1": "rest[0][1]",
                              "scale": "scale"}
    assert imported.point["scale"] == 0.5 and dx.variable("b") in dx.nodes(imported.output)
    gradient = dx.grad(imported, imported.point)
    assert_close(gradient["scale"], 5.0)
    assert_close(gradient["a"], [1.0, 1.0])


def test_several_outputs_import_as_a_tuple():
    imported = from_jax(lambda x: (jnp.sin(x), jnp.sum(x ** 2)), np.array([0.5, 1.5]))
    assert isinstance(imported.output, tuple) and len(imported.output) == 2
    assert_close(dx.evaluate(imported.output[1], imported.point), 2.5)


# ---- float32, naming, refusals ---------------------------------------------------------------------------


def test_float32_jaxpr_is_evaluated_in_float64_with_a_note_and_jax_config_untouched():
    x64_before = jax.config.jax_enable_x64
    imported = from_jax(lambda x: jnp.sum(0.1 * x * x), np.array([0.3, 1.0 / 3.0]))
    assert jax.config.jax_enable_x64 == x64_before
    assert any("float64" in note for note in imported.notes)
    assert imported.point["x"].dtype == np.float64 and imported.point["x"][1] == 1.0 / 3.0
    expected = 0.1 * (0.3 ** 2 + (1.0 / 3.0) ** 2)          # float64 arithmetic with the literal 0.1
    assert abs(dx.evaluate(imported.output, imported.point) - expected) <= 1e-16


def test_float64_jaxpr_has_no_float32_note():
    with jax.enable_x64(True):
        imported = from_jax(lambda x: jnp.sum(jnp.sqrt(2.0) * x), np.array([1.0, 2.0]))
    assert not imported.notes
    assert dx.evaluate(imported.output, imported.point) == np.sqrt(2.0) * 1.0 + np.sqrt(2.0) * 2.0


def test_float32_warning_is_given_once():
    from diffexplore.imports import jax as jax_import
    jax_import._warned_float32 = False
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        from_jax(lambda x: x * 2.0, 1.0)
        from_jax(lambda x: x * 3.0, 1.0)
    assert sum("float64" in str(w.message) for w in caught) == 1


def test_rendered_import_labels_leaves_with_framework_paths():
    params, x, labels = mlp_arguments()
    imported = from_jax(mlp_loss, params, x, labels)
    leaf = dx.variable("params_W1", shape=(4, 5))
    assert framework_path(leaf) == "params['W1']"
    text = dx.to_dot(imported.output, views="original")
    leaf_labels = [line for line in text.splitlines() if "(4×5)" in line]
    assert len(leaf_labels) == 1
    assert "params[&#x27;W1&#x27;] (4×5)" in leaf_labels[0] or "params['W1'] (4×5)" in leaf_labels[0]


@pytest.mark.parametrize("fn, primitive", [
    (lambda x: jax.lax.while_loop(lambda c: c < 10.0, lambda c: c * x, 1.0), "while"),
    (lambda x: jax.lax.cond(x > 0, jnp.sin, jnp.cos, x), "cond"),
    (lambda x: jax.lax.scan(lambda c, _: (c * x, None), 1.0, None, length=3)[0], "scan"),
    (lambda x: jnp.cumsum(x * jnp.ones(3)).sum(), "cumsum"),
])
def test_unsupported_primitive_is_refused_by_name_with_the_trace_hint(fn, primitive):
    with pytest.raises(dx.DiffexploreError) as caught:
        from_jax(fn, 0.5)
    message = str(caught.value)
    assert f"primitive {primitive!r}" in message and "dx.trace" in message


def test_gather_at_indices_that_depend_on_a_variable_is_refused():
    with pytest.raises(dx.DiffexploreError, match="gather"):
        from_jax(lambda x: x[jnp.argmax(x)], np.array([1.0, 3.0, 2.0]))


def test_constant_integer_computation_is_folded():
    def fn(x):
        return jnp.sum(x * jnp.arange(3)) + x[jnp.argmax(jnp.array([1.0, 5.0, 2.0]))]

    x = np.array([0.5, -1.0, 2.0])
    imported = from_jax(fn, x)
    assert_matches_jax(imported, fn, x)


# ---- random expressions, written as jnp functions ------------------------------------------------------

JNP_FUNCTIONS = {
    "add": jnp.add, "sub": jnp.subtract, "mul": jnp.multiply, "div": jnp.divide, "neg": jnp.negative,
    "pow": jnp.power, "exp": jnp.exp, "log": jnp.log, "sin": jnp.sin, "cos": jnp.cos, "tan": jnp.tan,
    "tanh": jnp.tanh, "sqrt": jnp.sqrt, "sigmoid": jax.nn.sigmoid, "relu": jax.nn.relu, "abs": jnp.abs,
    "sign": jnp.sign, "step": lambda a: jnp.heaviside(a, 0.0), "maximum": jnp.maximum,
    "minimum": jnp.minimum, "log1p": jnp.log1p, "expm1": jnp.expm1, "sinh": jnp.sinh, "cosh": jnp.cosh,
    "atan": jnp.arctan, "stop_gradient": jax.lax.stop_gradient, "norm_cdf": jax.scipy.special.ndtr,
    "greater": lambda a, b: (a > b) * 1.0, "greater_equal": lambda a, b: (a >= b) * 1.0,
    "less": lambda a, b: (a < b) * 1.0, "less_equal": lambda a, b: (a <= b) * 1.0,
    "equal": lambda a, b: (a == b) * 1.0, "not_equal": lambda a, b: (a != b) * 1.0,
    "select": lambda c, a, b: jnp.where(c != 0, a, b),
}


def as_jnp_function(f: dx.Node):
    """The graph ``f`` written as a JAX function of x, y, z: its nodes in evaluation order, each
    primitive replaced by its jnp equivalent."""
    order = dx.nodes(f)

    def fn(x, y, z):
        values = {}
        arguments = {"x": x, "y": y, "z": z}
        for node in order:
            if node.is_variable:
                values[node] = arguments[node.name]
            elif node.is_constant:
                values[node] = node.value
            else:
                values[node] = JNP_FUNCTIONS[node.op](*(values[a] for a in node.args))
        return values[f] + 0.0 * (x + y + z)

    return fn


def test_every_drawn_primitive_has_a_jnp_equivalent():
    from .strategies import drawn_primitives
    assert set(drawn_primitives()) <= set(JNP_FUNCTIONS)


@given(expressions(), points)
def test_random_expressions_gradients_equal_jax_grad(f, at):
    """Tolerance, conditioning-aware: both sides round differently (JAX's own kernels, the order of a
    select's branches), and an error of one rounding in a node's value reaches the gradient scaled by
    that node's adjoint and the partials above it. So the bound is 1e-13·(1 + S), with
    S = Σ over nodes of |adjoint|·(1 + |value|) (from dx.reverse). S is of order 1–10 on a
    well-conditioned expression and grows only where the gradient itself amplifies rounding; the
    differences seen are below 4e-17·(1 + S), and a wrong conversion differs by order one. At a kink
    (abs at 0, ties of max/min) each side picks its own subgradient: JAX's |x|' at 0 is 1, diffexplore's 0."""
    assume(not near_kink(f, at, margin=1e-9))
    fn = as_jnp_function(f)
    with jax.enable_x64(True):      # a float64 jaxpr: the constants of ndtr etc. exactly as JAX's
        imported = from_jax(fn, at["x"], at["y"], at["z"])
    with jax.enable_x64(True), jax.disable_jit():     # op by op: no compilation per drawn expression
        reference_value, reference = jax.value_and_grad(fn, argnums=(0, 1, 2))(at["x"], at["y"], at["z"])
        reference_value, reference = float(reference_value), [float(g) for g in reference]
    sweep = dx.reverse(imported.output, imported.point)
    scale = sum(float(np.abs(sweep.adjoints.get(node, 0.0))) * (1.0 + float(np.abs(value)))
                for node, value in sweep.primals.items())
    tolerance = 1e-13 * (1.0 + scale)
    assert abs(sweep.value - reference_value) <= tolerance + 1e-12 * abs(reference_value)
    for name, expected in zip("xyz", reference, strict=True):
        assert abs(sweep.gradient.get(name, 0.0) - expected) <= tolerance, (name, str(f))
