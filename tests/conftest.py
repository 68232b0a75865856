"""Test settings: a deterministic hypothesis profile, so a slow or noisy machine never turns CI red."""

import shutil

import pytest
from hypothesis import HealthCheck, settings

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


@pytest.fixture(scope="module")
def browser():
    """A headless Chromium for the browser tests (a failure, not a skip, when it is missing)."""
    from diffexplore.explorer.browser import BrowserNotFound, headless_chromium
    missing = None
    try:
        with headless_chromium() as running:
            yield running
    except BrowserNotFound as exc:
        missing = str(exc)
    if missing:
        pytest.fail(f"the browser tests need headless Chromium: {missing}", pytrace=False)
