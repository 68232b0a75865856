"""Reverse mode on a layered network reproduces the textbook backprop equations, and the general engine
handles the units outside the layered framework (convolution, batch norm, pooling, dropout, concat)."""

from __future__ import annotations

import hypothesis.strategies as st
import numpy as np
import pytest
from hypothesis import given, settings

import diffexplore as dx
from diffexplore.nn import cnn, mlp, textbook_backprop


def relative_error(got, want) -> float:
    """‖got − want‖ / ‖want‖ (Frobenius norms), 0 when both are zero."""
    scale = np.linalg.norm(want)
    return float(np.linalg.norm(np.asarray(got) - want) / scale) if scale else float(np.linalg.norm(got))


def random_problem(sizes, batch, activation, seed):
    net = mlp(sizes, batch=batch, activation=activation)
    rng = np.random.default_rng(seed)
    parameters = net.initial_parameters(seed)
    x = rng.normal(size=(sizes[0], batch))
    labels = rng.integers(0, sizes[-1], size=batch)
    at = net.at(parameters, inputs=x, targets=dx.one_hot(labels, sizes[-1], axis=0))
    weights = [parameters[f"W{k}"] for k in range(1, len(sizes))]
    biases = [parameters[f"b{k}"] for k in range(1, len(sizes))]
    return net, at, textbook_backprop(weights, biases, x, labels, activation=activation)


mlp_shapes = st.tuples(st.lists(st.integers(1, 7), min_size=2, max_size=5), st.integers(2, 6),
                       st.integers(1, 6), st.sampled_from(["tanh", "sigmoid", "relu"]), st.integers(0, 99))


@settings(max_examples=25)
@given(mlp_shapes)
def test_adjoints_of_every_pre_activation_equal_the_textbook_deltas(shape):
    hidden, classes, batch, activation, seed = shape
    sizes = [hidden[0]] + hidden[1:] + [classes]
    net, at, textbook = random_problem(sizes, batch, activation, seed)
    result = dx.reverse(net.loss, at)
    assert result.value == pytest.approx(textbook.loss, rel=1e-13)
    for layer, s in enumerate(net.pre_activations):
        assert s.shape == textbook.deltas[layer].shape
        np.testing.assert_allclose(result.primals[s], textbook.pre_activations[layer], rtol=1e-13, atol=1e-14)
        error = relative_error(result.adjoints[s], textbook.deltas[layer])
        assert error < 1e-12, f"delta of layer {layer + 1}"


@settings(max_examples=25)
@given(mlp_shapes)
def test_weight_gradients_are_delta_times_z_transposed_and_bias_gradients_sum_delta(shape):
    hidden, classes, batch, activation, seed = shape
    sizes = [hidden[0]] + hidden[1:] + [classes]
    net, at, textbook = random_problem(sizes, batch, activation, seed + 1)
    gradient = dx.grad(net.loss, at)
    for layer in range(len(sizes) - 1):
        delta, z_previous = textbook.deltas[layer], textbook.post_activations[layer]
        assert relative_error(gradient[f"W{layer + 1}"], delta @ z_previous.T) < 1e-12
        assert relative_error(gradient[f"b{layer + 1}"], delta.sum(axis=1, keepdims=True)) < 1e-12


def test_the_textbook_reference_itself_matches_finite_differences_of_its_loss():
    # The reference is checked independently: central differences of a plain NumPy loss.
    rng = np.random.default_rng(4)
    sizes, batch = [3, 4, 2], 5
    weights = [rng.normal(size=(sizes[k + 1], sizes[k])) for k in range(2)]
    biases = [rng.normal(size=(sizes[k + 1], 1)) for k in range(2)]
    x, labels = rng.normal(size=(3, batch)), rng.integers(0, 2, size=batch)

    def loss(ws, bs):
        return textbook_backprop(ws, bs, x, labels).loss

    reference = textbook_backprop(weights, biases, x, labels)
    h = 1e-6
    for layer in range(2):
        for index in np.ndindex(weights[layer].shape):
            plus = [w.copy() for w in weights]
            minus = [w.copy() for w in weights]
            plus[layer][index] += h
            minus[layer][index] -= h
            difference = (loss(plus, biases) - loss(minus, biases)) / (2 * h)
            assert reference.weight_gradients[layer][index] == pytest.approx(difference, rel=1e-6, abs=1e-9)


def test_textbook_delta_recursion_is_the_article_formula():
    # δ⁽ˡ⁻¹⁾ = φ'(s⁽ˡ⁻¹⁾) ⊙ (W⁽ˡ⁾)ᵀ δ⁽ˡ⁾, checked on the reference's own numbers with tanh' = 1 − tanh²
    net, at, textbook = random_problem([3, 4, 4, 2], 3, "tanh", 6)
    for layer in (1, 2):
        s = textbook.pre_activations[layer - 1]
        expected = (1 - np.tanh(s) ** 2) * (at[f"W{layer + 1}"].T @ textbook.deltas[layer])
        np.testing.assert_allclose(textbook.deltas[layer - 1], expected, rtol=1e-15)


def test_mlp_with_data_as_constants_gives_the_same_parameter_gradient():
    sizes, batch = [4, 3, 2], 3
    rng = np.random.default_rng(8)
    x, labels = rng.normal(size=(4, batch)), np.array([1, 0, 1])
    variable_net = mlp(sizes, batch)
    constant_net = mlp(sizes, batch, inputs=x, labels=labels)
    assert constant_net.inputs.is_constant and constant_net.targets.is_constant
    parameters = variable_net.initial_parameters(8)
    with_variables = dx.grad(variable_net.loss, variable_net.at(parameters, x, dx.one_hot(labels, 2, axis=0)))
    with_constants = dx.grad(constant_net.loss, constant_net.at(parameters))
    assert set(with_constants) == set(parameters)
    for name in parameters:
        np.testing.assert_array_equal(with_constants[name], with_variables[name])


def test_symbolic_gradient_graph_of_an_mlp_evaluates_to_reverse_mode():
    net, at, textbook = random_problem([5, 4, 3], 4, "tanh", 2)
    gradient = dx.gradient_graph(net.loss)
    reverse = dx.grad(net.loss, at)
    for name in ("W1", "b1", "W2", "b2", "x"):
        assert relative_error(dx.evaluate(gradient[name], at), reverse[name]) < 1e-13
    assert relative_error(dx.evaluate(gradient["W1"], at), textbook.weight_gradients[0]) < 1e-12


# ---- the units outside the layered framework ----------------------------------------------------------


def cnn_problem(seed: int = 0):
    net = cnn(batch=3, image=(2, 6, 6), channels=3, classes=3, seed=seed)
    rng = np.random.default_rng(seed)
    at = net.at(net.initial_parameters(seed), inputs=rng.normal(size=(3, 2, 6, 6)),
                targets=dx.one_hot(rng.integers(0, 3, size=3), 3, axis=0))
    return net, at


def test_cnn_is_built_from_the_units_that_do_not_fit_the_layered_framework():
    net, _ = cnn_problem()
    ops = {n.op for n in dx.nodes(net.loss)}
    assert {"conv2d", "batch_norm", "relu", "max_pool2d", "dropout", "concatenate", "reshape", "matmul",
            "log_softmax"} <= ops


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_cnn_reverse_gradient_matches_central_differences_along_random_directions(seed):
    net, at = cnn_problem(seed)
    gradient = dx.grad(net.loss, at)
    rng = np.random.default_rng(100 + seed)
    for _ in range(3):
        v = {k: rng.normal(size=np.shape(value)) for k, value in at.items()}
        h = 1e-6
        plus = dx.evaluate(net.loss, {k: at[k] + h * v[k] for k in at})
        minus = dx.evaluate(net.loss, {k: at[k] - h * v[k] for k in at})
        directional = sum(float(np.sum(gradient[k] * v[k])) for k in at)
        assert directional == pytest.approx((plus - minus) / (2 * h), rel=1e-6, abs=1e-9)
        assert dx.forward(net.loss, at, seed=v).tangent == pytest.approx(directional, rel=1e-12, abs=1e-14)


def test_cnn_symbolic_gradient_graph_evaluates_to_reverse_mode():
    net, at = cnn_problem(3)
    gradient = dx.gradient_graph(net.loss)
    reverse = dx.grad(net.loss, at)
    for name in net.parameters:
        assert relative_error(dx.evaluate(gradient[name], at), reverse[name]) < 1e-12, name


def test_cnn_dropout_blocks_the_gradient_of_dropped_units():
    net, at = cnn_problem(4)
    result = dx.reverse(net.loss, at)
    dropped, pooled = net.nodes["dropout"], net.nodes["pool"]
    kept = dropped.attr.kept.array != 0            # the node's fixed keep-mask, scaled by 1/(1 − p)
    assert (~kept).any() and kept.any()
    assert np.all(result.adjoints[pooled][~kept] == 0.0)
    np.testing.assert_allclose(result.adjoints[pooled][kept], result.adjoints[dropped][kept] / (1 - 0.25),
                               rtol=1e-15)


# ---- errors ------------------------------------------------------------------------------------------


def test_unknown_activation_lists_the_known_ones():
    with pytest.raises(dx.DiffexploreError, match="tanh, sigmoid, relu"):
        mlp([2, 2], batch=1, activation="softplus")


def test_inputs_of_the_wrong_shape_name_both_shapes():
    with pytest.raises(dx.ShapeError, match=r"\(3, 2\).*\(2, 3\)"):
        mlp([3, 2], batch=2, inputs=np.zeros((2, 3)))


def test_a_missing_input_value_names_the_variable():
    net = mlp([2, 2], batch=1)
    with pytest.raises(dx.DiffexploreError, match="'x'"):
        net.at(net.initial_parameters())
