"""Checkpointed reverse mode: fewer values stored for some operations run again, the same gradient.

√n snapshots store O(√n) values for at most one extra forward sweep; Griewank and Walther's binomial
schedule with s snapshots reverses C(s + r, s) steps evaluating none more than r times before its
reversal, with the fewest evaluations there are; every schedule gives the gradient of the plain sweep."""

import math
from functools import lru_cache

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import diffexplore as dx
from diffexplore.checkpoint import (
    Schedule,
    beta,
    binomial_advances,
    memory_marks,
    repetitions,
    reverse_checkpointed,
    revolve,
    schedule,
)
from diffexplore.errors import DiffexploreError
from diffexplore.memory import analysis
from diffexplore.plan import plan

from .strategies import expressions, points

X = dx.variable("x")
SCHEDULES = [1, 2, 3, 5, "sqrt", ("binomial", 1), ("binomial", 2), ("binomial", 4)]


def chain(n: int) -> dx.Node:
    f = X
    for _ in range(n):
        f = dx.sin(f)
    return f


@pytest.mark.parametrize("n", [4, 16, 50, 101, 400])
def test_sqrt_checkpoints_store_order_sqrt_n_values_for_at_most_one_extra_forward_sweep(n):
    m = dx.memory(chain(n), {"x": 0.3}, checkpoints="sqrt")
    root = math.ceil(math.sqrt(n))
    assert m.stored_values <= root                  # the snapshots: one value each on a chain
    assert m.stored_values <= 2 * root + 1
    assert m.peak_values <= 2 * root + 3            # the snapshots, one segment's tape, two adjoints
    assert m.recomputed_ops <= n                    # at most one extra forward sweep
    assert m.checkpoints <= root


@pytest.mark.parametrize("k", [2, 3, 7])
def test_k_checkpoints_keep_at_most_k_snapshots(k):
    n = 60
    m = dx.memory(chain(n), {"x": 0.3}, checkpoints=k)
    assert m.checkpoints == k and m.stored_values == k - 1      # the one at the inputs holds nothing
    assert m.recomputed_ops <= n
    assert dx.memory(chain(n), {"x": 0.3}).stored_values == n - 1


@lru_cache(None)
def fewest_advances(units: int, s: int) -> int:
    """The optimum by dynamic programming over the first snapshot's place (the definition)."""
    if units <= 1:
        return 0
    if s == 1:
        return units * (units - 1) // 2
    return min(m + fewest_advances(units - m, s - 1) + fewest_advances(m, s) for m in range(1, units))


def test_binomial_advances_is_the_optimum_griewank_and_walther_give():
    for s in range(1, 6):
        for units in range(1, 70):
            assert binomial_advances(units, s) == fewest_advances(units, s), (units, s)


@pytest.mark.parametrize("s", [1, 2, 3, 4])
@pytest.mark.parametrize("r", [1, 2, 3])
def test_binomial_schedules_reverse_beta_s_r_steps_with_r_repetitions(s, r):
    n = math.comb(s + r, s)
    assert beta(s, r) == n and repetitions(n, s) == r and repetitions(n + 1, s) == r + 1
    m = dx.memory(chain(n), {"x": 0.3}, checkpoints=("binomial", s))
    plan_schedule = m.schedule
    evaluations = plan_schedule.evaluations(n)
    assert max(evaluations) <= r + 1                # r advances, then the reversal's own evaluation
    assert m.recomputed_ops == binomial_advances(n, s) == plan_schedule.recomputed_ops
    assert m.checkpoints <= s and m.stored_values <= s - 1
    # one step more needs one repetition more (the bound is tight): the optimum grows by more than n
    longer = dx.memory(chain(n + 1), {"x": 0.3}, checkpoints=("binomial", s)).schedule
    assert max(longer.evaluations(n + 1)) == r + 2


def test_revolve_reverses_every_unit_once_holding_at_most_s_snapshots():
    for s in range(1, 5):
        for units in range(1, 40):
            held, most, reversed_units = set(), 0, []
            for action in revolve(units, s):
                if action[0] == "snapshot":
                    held.add(action[1])
                    most = max(most, len(held))
                elif action[0] == "free":
                    held.discard(action[1])
                elif action[0] == "reverse":
                    reversed_units.append(action[1])
            assert reversed_units == list(range(units - 1, -1, -1)) and most <= s and not held


@given(expressions(), points, st.sampled_from(SCHEDULES))
def test_checkpointed_gradients_equal_the_plain_gradient_on_random_expressions(f, at, checkpoints):
    plain = dx.grad(f, at)
    checked = dx.grad(f, at, checkpoints=checkpoints)
    assert checked.keys() == plain.keys()
    for name, value in plain.items():
        assert checked[name] == value or abs(checked[name] - value) <= 1e-15 * abs(value)


def mlp_point(sizes=(5, 6, 6, 6, 6, 3), batch=7):
    rng = np.random.default_rng(3)
    net = dx.nn.mlp(list(sizes), batch, inputs=rng.normal(size=(sizes[0], batch)),
                    labels=rng.integers(0, sizes[-1], size=batch))
    return net, net.at(net.initial_parameters(1))


@pytest.mark.parametrize("checkpoints", SCHEDULES)
def test_checkpointed_gradients_of_the_mlp_are_the_plain_ones_to_the_last_bit(checkpoints):
    net, at = mlp_point()
    plain = dx.grad(net.loss, at)
    checked = dx.grad(net.loss, at, checkpoints=checkpoints)
    for name in plain:
        np.testing.assert_array_equal(checked[name], plain[name])


def test_checkpoints_cut_the_stored_activations_of_a_deep_mlp():
    net, at = mlp_point(sizes=(4,) + (8,) * 16 + (3,), batch=32)
    plain = dx.memory(net.loss, at)
    checked = dx.memory(net.loss, at, checkpoints=4)
    activation = 8 * 32 * 8
    assert plain.stored_bytes >= 15 * activation            # every layer's activation
    assert checked.stored_bytes <= 3 * activation           # three snapshots of one activation
    assert checked.peak_bytes < plain.peak_bytes


def test_a_graph_that_is_not_a_chain_is_cut_at_narrow_points():
    x, y = dx.variables("x y")
    f = x
    for _ in range(12):                     # a ladder: each rung uses the last two values
        g = dx.sin(f) * y + f
        f = dx.tanh(g) + g
    p = plan(f)
    plan_schedule = schedule(p, 4)
    assert "not a chain" in plan_schedule.description
    live = plan_schedule.live
    assert all(len(live[c]) <= 2 for c in plan_schedule.cuts[1:-1])
    at = {"x": 0.3, "y": 0.7}
    assert dx.grad(f, at, checkpoints=4) == dx.grad(f, at)
    assert dx.grad(f, at, checkpoints=("binomial", 3)) == dx.grad(f, at)


def test_a_convolutional_network_gives_the_same_gradient_checkpointed():
    net = dx.nn.cnn(batch=2)
    rng = np.random.default_rng(0)
    at = net.at(net.initial_parameters(0), inputs=rng.normal(size=(2, 1, 8, 8)),
                targets=dx.one_hot(rng.integers(0, 3, 2), 3, axis=0))
    plain = dx.grad(net.loss, at)
    for checkpoints in (2, "sqrt", ("binomial", 2)):
        checked = dx.grad(net.loss, at, checkpoints=checkpoints)
        for name in plain:
            np.testing.assert_array_equal(checked[name], plain[name])


def test_a_schedule_is_plain_data():
    plan_schedule = schedule(plan(chain(20)), ("binomial", 3))
    actions = plan_schedule.actions
    assert all(isinstance(a[0], str) and all(isinstance(v, int) for v in a[1:]) for a in actions)
    assert all(isinstance(c, int) for c in plan_schedule.cuts)
    assert all(isinstance(s, int) for slots in plan_schedule.live.values() for s in slots)
    assert "binomial" in plan_schedule.description


def test_reverse_with_checkpoints_keeps_full_records_unless_asked_not_to():
    f, at = chain(10), {"x": 0.2}
    recorded = dx.reverse(f, at, checkpoints="sqrt")
    assert recorded.memory.recomputed_ops > 0
    assert all(v is not None for v in recorded.primals.values())
    assert recorded.adjoints == dx.reverse(f, at).adjoints
    lean = dx.reverse(f, at, checkpoints="sqrt", record=False)
    assert lean.gradient == recorded.gradient and lean.value == recorded.value
    assert sum(v is not None for v in lean.primals.values()) == 2       # x and f: what is left


def test_the_marks_name_the_stored_values_the_checkpoints_and_the_recomputed():
    p = plan(chain(9))
    stored = memory_marks(p)
    assert set(stored.values()) == {"stored"} and len(stored) == 8
    marks = memory_marks(p, 3)
    assert sum(mark.startswith("checkpoint") for mark in marks.values()) == 2
    assert any(mark.startswith("↻ run again") for mark in marks.values())
    again = sum(int(mark.split("run again ")[1].rstrip("×")) for mark in marks.values()
                if "run again" in mark)
    assert again == schedule(p, 3).recomputed_ops


def test_bad_checkpoints_are_refused():
    for bad in (0, -1, "half", ("binomial", 0), 2.5, True):
        with pytest.raises(DiffexploreError, match="checkpoints|snapshots"):
            dx.grad(chain(5), {"x": 0.1}, checkpoints=bad)
    with pytest.raises(DiffexploreError, match="no option"):
        dx.grad(chain(5), {"x": 0.1}, method="forward", checkpoints=2)


def test_binomial_units_on_the_logistic_map_are_its_steps_so_each_snapshot_holds_one_value():
    f = dx.families.logistic(32)            # three operations a step; two values live inside a step
    p = plan(f)
    widths = analysis(p).widths
    for s in (2, 3, 5):
        plan_schedule = schedule(p, ("binomial", s))
        assert all(widths[c] == 1 for c in plan_schedule.cuts[1:-1])
        assert all(len(slots) <= 1 for slots in plan_schedule.live.values())
        m = dx.memory(f, {"x": 0.3}, checkpoints=("binomial", s))
        assert m.stored_values == s - 1
    # cutting inside the steps too (every operation a unit) stores more and runs more operations again
    every_operation = reverse_checkpointed(p, {"x": 0.3}, lambda value: 1.0, _every_operation(p, 3))[2]
    steps = dx.memory(f, {"x": 0.3}, checkpoints=("binomial", 3))
    assert steps.recomputed_ops < every_operation.recomputed_ops
    assert steps.peak_values < every_operation.peak_values


def _every_operation(p, s):
    """A binomial schedule whose units are single operations (revolve's actions are then positions)."""
    actions = revolve(len(p.ops), s)
    taken = sorted({a[1] for a in actions if a[0] == "snapshot"})
    return Schedule("binomial", s, tuple(range(len(p.ops) + 1)), tuple(actions), analysis(p).live(taken))
