"""Test settings: a deterministic hypothesis profile, so a slow or noisy machine never turns CI red."""

import shutil

import pytest
from hypothesis import HealthCheck, settings

from diffexplore.plan import clear_plans

settings.register_profile(
    "ci", derandomize=True, deadline=None, max_examples=60, database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much, HealthCheck.data_too_large])
settings.load_profile("ci")


def pytest_collection_modifyitems(config, items):
    if shutil.which("dot"):
        return
    skip = pytest.mark.skip(reason="Graphviz 'dot' is not installed (make test installs it)")
    for item in items:
        if "dot" in item.keywords:
            item.add_marker(skip)


@pytest.fixture(autouse=True)
def _no_plans_carried_between_tests():
    """Each test starts with an empty plan cache. A cached plan keeps its graph alive, and a traced graph
    kept alive keeps its branch guard, which then checks any later graph that contains the same nodes
    (hash-consing shares them): tests stay independent of what ran before."""
    yield
    clear_plans()
