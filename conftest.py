"""Settings for every test and doctest of the repository (tests/conftest.py adds the test suite's own)."""

import pytest

from diffexplore.plan import clear_plans, guards


@pytest.fixture(autouse=True)
def _no_plans_carried_between_tests():
    """Each test starts with an empty plan cache. A cached plan keeps its graph alive, and a traced graph
    kept alive keeps its branch guard, which then checks any later graph that contains the same nodes
    (hash-consing shares them): tests stay independent of what ran before."""
    yield
    clear_plans()


@pytest.fixture(autouse=True)
def _no_guards_carried_between_tests():
    """Traced graphs are hash-consed nodes shared with other tests: the branch checks a test attached are
    dropped when it ends (earlier traces' checks included), so they cannot warn in later tests."""
    before = set(guards.guarded())
    yield
    for node in guards.guarded():
        if node not in before:
            guards.forget(node)
