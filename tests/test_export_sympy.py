"""dx.to_sympy of array graphs, element by element: a 2-D variable's entries are a MatrixSymbol's, the
expression SymPy gets evaluates (by SymPy, at the same numbers) to diffexplore's value, and its SymPy
derivative by an entry is diffexplore's gradient there; primitives without an element-wise form are
refused by name."""

from __future__ import annotations

import numpy as np
import pytest
import sympy as sp
from sympy.matrices.expressions.matexpr import MatrixElement

import diffexplore as dx


def substitutions(expression, at: dict) -> dict:
    """Each entry symbol of the expression with its number from ``at``."""
    values = {}
    for entry in expression.free_symbols | expression.atoms(MatrixElement, sp.Indexed):
        if isinstance(entry, MatrixElement):
            values[entry] = at[entry.parent.name][int(entry.i), int(entry.j)]
        elif isinstance(entry, sp.Indexed):
            values[entry] = at[entry.base.label.name][tuple(int(i) for i in entry.indices)]
        elif isinstance(entry, sp.Symbol) and np.ndim(at.get(entry.name)) == 0 and entry.name in at:
            values[entry] = at[entry.name]
    return values


def test_a_layer_written_element_by_element_gives_diffexplores_value_and_gradient():
    """L = Σ tanh(W x + b)·c with W 2×3: SymPy's value and ∂L/∂W[i, j] at the point are diffexplore's."""
    W, x, b = dx.variable("W", shape=(2, 3)), dx.variable("x", shape=(3,)), dx.variable("b")
    f = dx.sum(dx.tanh(W @ x + b) * np.array([1.5, -0.5]))
    at = {"W": np.array([[0.1, -0.2, 0.3], [0.4, 0.5, -0.6]]), "x": np.array([1.0, 2.0, -1.0]), "b": 0.25}
    expression = dx.to_sympy(f)
    values = substitutions(expression, at)
    assert float(expression.subs(values)) == pytest.approx(dx.evaluate(f, at), rel=1e-14)
    gradient = dx.grad(f, at)
    W_symbol = sp.MatrixSymbol("W", 2, 3)
    for i in range(2):
        for j in range(3):
            derivative = sp.diff(expression, W_symbol[i, j]).subs(values)
            assert float(derivative) == pytest.approx(gradient["W"][i, j], rel=1e-13)
    assert float(sp.diff(expression, sp.Symbol("b", real=True)).subs(values)) == pytest.approx(
        gradient["b"], rel=1e-13)


def test_an_array_output_is_a_sympy_array_of_the_entries():
    v = dx.variable("v", shape=(3,))
    expression = dx.to_sympy(dx.transpose(dx.reshape(v * 2.0, (3, 1))))
    assert isinstance(expression, sp.Array) and expression.shape == (1, 3)
    base = sp.IndexedBase("v", real=True)
    assert expression.tolist() == [[2 * base[0], 2 * base[1], 2 * base[2]]]


def test_an_array_primitive_without_an_elementwise_form_is_refused_by_name():
    with pytest.raises(dx.DiffexploreError, match="'log_softmax'"):
        dx.to_sympy(dx.sum(dx.log_softmax(dx.variable("a", shape=(2, 3)))))
