"""SharedMemoryArray side by side with the original releases: the same calls give the same values and errors."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import pytest
import shared_memory_children as children

from reference_release import EACH_RELEASE, RELEASES, run_python

pytestmark = pytest.mark.usefixtures("no_leaked_buffers")  # conftest.py: no buffer may outlive its test


def _behaviour(python: str | Path, name: str) -> dict[str, Any]:
    script = Path(children.__file__)
    result = run_python(python, script, "behaviour", name, timeout=120, cwd=script.parent)
    return dict(json.loads(result.stdout.strip().splitlines()[-1]))


@pytest.mark.parametrize("release", EACH_RELEASE)
def test_same_behaviour_as_the_release(buffer_name: str, release: str) -> None:
    python = RELEASES[release]
    theirs = _behaviour(python, buffer_name)
    ours = _behaviour(sys.executable, buffer_name)
    # 7.2 refuses a 0-d prototype by accident (IndexError); an object prototype and pickling through a Queue are
    # deliberate differences, not exercised here.
    assert ours == theirs
