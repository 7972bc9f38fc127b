"""Test-suite setup: this file's folder is put on sys.path, so every test imports ``reference_release`` from here."""

import os
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

# The SLURM fixture's module lives in tests/slurm/; put it on sys.path once, under its own name, for every test folder.
sys.path.insert(0, str(Path(__file__).resolve().parent / "slurm"))

from slurm_cluster import SlurmCluster, SlurmUnavailableError, start_cluster


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
