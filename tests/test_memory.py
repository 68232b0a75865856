"""What each sweep holds, measured on lean sweeps: evaluation and forward mode keep O(1) values on a chain,
reverse mode stores every value its partials read (Θ(n)); the counts are those the sweeps held."""

import math

import numpy as np
import pytest

import diffexplore as dx
from diffexplore.errors import DiffexploreError, DomainError
from diffexplore.memory import Ledger, analysis, reads
from diffexplore.plan import plan

X = dx.variable("x")


def chain(n: int, function=dx.sin, start=X) -> dx.Node:
    f = start
    for _ in range(n):
        f = function(f)
    return f


@pytest.mark.parametrize("n", [2, 3, 10, 57, 400])
def test_on_a_chain_evaluation_holds_two_values_forward_mode_four_and_reverse_mode_stores_n_minus_1(n):
    f, at = chain(n), {"x": 0.3}
    evaluation = dx.memory(f, at, method="evaluate")
    forward = dx.memory(f, at, method="forward")
    reverse = dx.memory(f, at, method="reverse")
    # evaluation: the value being made and its argument; forward mode: each with its tangent
    assert (evaluation.peak_values, evaluation.stored_values) == (2, 0)
    assert (forward.peak_values, forward.stored_values) == (4, 0)
    # sin's partial cos(a) reads its argument: v1 … v(n-1) (x is an input, held by the caller)
    assert reverse.stored_values == n - 1
    assert reverse.stored_bytes == 8 * (n - 1)
    # at the turn: the tape, the value of f, its adjoint (the seed) and the first adjoint made
    assert reverse.peak_values == n + 2
    assert reverse.recomputed_ops == 0 and reverse.checkpoints == 0 and reverse.ops == n


def test_a_partial_that_reads_its_output_stores_the_outputs():
    n = 12
    f = chain(n, dx.tanh)                           # tanh' = 1 - out²: v1 … vn
    assert dx.memory(f, {"x": 0.3}).stored_values == n


def test_a_partial_that_reads_nothing_stores_nothing():
    f = X
    for k in range(20):
        f = f + float(k)                            # add's partials are 1
    m = dx.memory(f, {"x": 0.3})
    assert m.stored_values == 0 and m.peak_values <= 3


def test_bytes_are_counted_per_buffer_for_arrays():
    a = dx.variable("a", shape=(100,))
    f = dx.sum(chain(6, dx.tanh, a))
    m = dx.memory(f, {"a": np.linspace(-1, 1, 100)})
    assert m.stored_values == 6 and m.stored_bytes == 6 * 800
    assert dx.memory(f, {"a": np.linspace(-1, 1, 100)}, method="evaluate").peak_bytes == 2 * 800


def test_the_results_report_the_lean_sweeps_and_keep_full_records():
    f, at = chain(9), {"x": 0.4}
    r = dx.reverse(f, at)
    assert r.memory == dx.memory(f, at)
    assert len(r.primals) == 10 and all(v is not None for v in r.primals.values())   # full records
    forward = dx.forward(f, at, seed="x")
    assert forward.memory == dx.memory(f, at, method="forward")
    assert forward.memory.peak_values == 4


def test_reads_sees_which_arguments_a_rule_uses():
    assert reads(lambda a, out: 1.0 - out ** 2.0, 2) == (False, True)
    assert reads(lambda a, b, out: b, 3) == (False, True, False)
    assert reads(lambda *args: args[0], 2) == (True, True)
    matmul_vjp = dx.matmul.rule.vjp if hasattr(dx.matmul, "rule") else None
    if matmul_vjp is not None:                      # (g, a, b, out): the output is not read
        assert reads(matmul_vjp, 4) == (True, True, True, False)


def test_the_tape_of_an_mlp_layer_is_its_input_and_its_activation():
    net = dx.nn.mlp([3, 4, 4, 2], batch=5)
    p = plan(net.loss)
    tape = {p.order[j] for ops in analysis(p).tape for j in ops}
    assert net.nodes["z1"] in tape and net.nodes["z2"] in tape
    assert net.nodes["s1"] not in tape              # tanh's partial reads only its output


def test_ledger_counts_a_shared_value_once_and_its_buffer_once():
    ledger = Ledger()
    array = np.zeros(10)
    ledger.hold(("v", 1), array)
    ledger.hold(("v", 1), array)
    ledger.hold(("v", 2), array[2:])                # a view of the same buffer
    assert (ledger.values, ledger.bytes) == (2, 80)
    ledger.drop(("v", 1), array)
    ledger.drop(("v", 1), array)
    ledger.drop(("v", 2), array[2:])
    assert (ledger.values, ledger.bytes, ledger.peak_values, ledger.peak_bytes) == (0, 0, 2, 80)


def test_memory_refuses_what_it_cannot_measure():
    with pytest.raises(DiffexploreError, match="unknown method"):
        dx.memory(X, {"x": 1.0}, method="symbolic")
    with pytest.raises(DiffexploreError, match="reverse mode only"):
        dx.memory(X, {"x": 1.0}, method="forward", checkpoints=2)


def test_a_domain_error_names_the_node_in_the_lean_sweeps_too():
    f = dx.log(chain(3) - 2.0)
    for method in ("evaluate", "forward", "reverse"):
        with pytest.raises(DomainError, match="log"):
            dx.memory(f, {"x": 0.5}, method=method)
    with pytest.raises(DomainError, match="log"):
        dx.grad(f, {"x": 0.5}, checkpoints=2)


def test_nan_in_gives_nan_out_with_checkpoints_as_without():
    f = chain(6)
    g = dx.grad(f, {"x": math.nan}, checkpoints="sqrt")
    assert math.isnan(g["x"]) and math.isnan(dx.grad(f, {"x": math.nan})["x"])


def test_a_formula_string_and_a_leaf_are_measured():
    assert dx.memory("sin(x) * y", {"x": 1.0, "y": 2.0}).stored_values == 1     # sin(x), for y
    assert dx.memory(X, {"x": 1.0}).peak_values == 1
    assert dx.grad(X, {"x": 1.0}, checkpoints=3) == {"x": 1.0}
