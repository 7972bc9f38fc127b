"""Shared-memory tests: every buffer a test makes is named with PREFIX, and none may outlive its test."""

from __future__ import annotations

import os
import time
import uuid
from collections.abc import Iterator

import pytest
from shared_memory_children import PREFIX, SHM, ours


@pytest.fixture(autouse=True)
def no_leaked_buffers() -> Iterator[None]:
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
    """A buffer name no other test (or test run) uses."""
    return f"{PREFIX}{uuid.uuid4().hex[:12]}"
