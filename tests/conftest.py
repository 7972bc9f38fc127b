"""Test-suite setup (the helper modules' folders are on sys.path through pyproject's ``pythonpath``): enforces the rule
for side-by-side tests with the original releases (a ``reference``-marked test whose release is missing is skipped with
a clear reason, and in CI it fails instead); provides the one-node SLURM cluster and the shared-memory leak fixtures.
"""

from __future__ import annotations

import os
import time
import uuid
from collections.abc import Generator, Iterator

import pytest
from shared_memory_children import PREFIX, SHM, ours
from slurm_cluster import SlurmCluster, SlurmUnavailableError, start_cluster

from reference_release import IN_CI, RELEASES, missing_reason


@pytest.fixture(scope="session")
def slurm_cluster() -> Iterator[SlurmCluster]:
    """A one-node SLURM cluster of this test session's own (see tests/slurm/README.md), stopped by PID at the end.

    Skipped with the reason printed only where SLURM/munge are not installed; a start failure where they are is an
    error carrying the daemons' logs. ``SLURM_CONF`` points at it for every subprocess while it runs.
    """
    try:
        cluster = start_cluster()
    except SlurmUnavailableError as error:
        pytest.skip(str(error))
    saved = os.environ.get("SLURM_CONF")
    os.environ["SLURM_CONF"] = str(cluster.conf_path)
    try:
        yield cluster
    finally:
        if saved is None:
            os.environ.pop("SLURM_CONF", None)
        else:
            os.environ["SLURM_CONF"] = saved
        survivors = cluster.stop()
        if survivors:
            pytest.fail(f"SLURM cluster processes survived the stop: {survivors}")


@pytest.fixture
def no_leaked_buffers() -> Iterator[None]:
    """Fails the test when a shared-memory buffer named with the shared-memory tests' PREFIX outlives it (the
    shared-memory test modules use it on every test: ``pytestmark = pytest.mark.usefixtures("no_leaked_buffers")``)."""
    before = ours()
    yield
    # A buffer removed by a child's resource tracker or a dying process's finalizer may take a moment to go.
    deadline = time.monotonic() + 10
    leaked = ours() - before
    while leaked and time.monotonic() < deadline:
        time.sleep(0.05)
        leaked = ours() - before
    for name in leaked:
        os.unlink(SHM / name)  # so that one leak does not fail every later test too
    assert not leaked, f"shared memory buffers leaked by this test: {sorted(leaked)}"


@pytest.fixture
def buffer_name() -> str:
    """A shared-memory buffer name no other test (or test run) uses."""
    return f"{PREFIX}{uuid.uuid4().hex[:12]}"


def pytest_report_header() -> list[str]:
    lines = []
    for version, python in RELEASES.items():
        reason = missing_reason(version)
        lines.append(f"original {version}: {python}" if reason is None else f"original {version}: MISSING - {reason}")
    if IN_CI:
        lines.append("CI=true: a test that needs a missing original release fails instead of skipping")
    return lines


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Side-by-side tests that guard themselves with their own ``skipif`` (not ``needs_reference``) get the
    ``reference`` marker too, so ``-m reference`` / ``-m "not reference"`` select every one of them."""
    for item in items:
        if item.get_closest_marker("reference") is not None:
            continue
        for mark in item.iter_markers("skipif"):
            reason = str(mark.kwargs.get("reason", "")).lower()
            if "reference" in reason and "not installed" in reason:
                item.add_marker(pytest.mark.reference())
                break


def pytest_runtest_setup(item: pytest.Item) -> None:
    """``reference("6.2.0")`` / ``reference("7.2.0")``: skip (or, in CI, fail) where that release is missing. A bare
    ``reference`` mark only labels the test (its own ``skipif`` guards it)."""
    for mark in item.iter_markers("reference"):
        for version in mark.args:
            reason = missing_reason(version)
            if reason is None:
                continue
            if IN_CI:
                pytest.fail(f"CI=true, but {reason}", pytrace=False)
            pytest.skip(reason)


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(
    item: pytest.Item, call: pytest.CallInfo[None]
) -> Generator[None, pytest.TestReport, pytest.TestReport]:
    """In CI, a test that skipped itself because a reference release is missing (its own ``skipif``) fails."""
    report = yield
    if not (IN_CI and report.skipped and isinstance(report.longrepr, tuple)):
        return report
    reason = str(report.longrepr[2]).lower()
    if ("reference" in reason or "original" in reason) and "not installed" in reason:
        report.outcome = "failed"
        report.longrepr = f"CI=true, but this side-by-side test skipped itself: {report.longrepr[2]}"
    return report
