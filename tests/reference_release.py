"""Where the original releases live, for the tests that run them side by side with ours (marked ``reference``).

6.2.0: ``$REF_PY`` or ``/tmp/axds-reference/bin/python``; 7.2.0: ``$REF7_PY`` or ``/tmp/axds-reference-7/bin/python``
(``../shared/tools/reference-venv.sh`` creates both; ``.ci/run`` does). They run as black boxes in their own
interpreters. Where one is missing, its tests are skipped with a reason that says which release and how to install
it; in CI (``CI=true``) a missing release fails those tests instead (``conftest.py`` does both), so the interchange
checks can never vanish unnoticed. The committed golden files (``tests/golden``) cover interchange everywhere.
"""

import json
import os
import subprocess
import sys
from collections.abc import Iterable
from pathlib import Path

import pytest

REFERENCE_PYTHON = Path(os.environ.get("REF_PY") or "/tmp/axds-reference/bin/python")
"""The 6.2.0 release's interpreter."""

REFERENCE7_PYTHON = Path(os.environ.get("REF7_PY") or "/tmp/axds-reference-7/bin/python")
"""The 7.2.0 release's interpreter."""

RELEASES: dict[str, Path] = {"6.2.0": REFERENCE_PYTHON, "7.2.0": REFERENCE7_PYTHON}
_HOW = {
    "6.2.0": "set REF_PY=$(../shared/tools/reference-venv.sh)",
    "7.2.0": "set REF7_PY=$(../shared/tools/reference-venv.sh /tmp/axds-reference-7 7.2.0)",
}

IN_CI = os.environ.get("CI", "").lower() in {"1", "true", "yes"}


def missing_reason(version: str) -> str | None:
    """Why the tests of ``version`` cannot run here (None when its interpreter exists)."""
    python = RELEASES[version]
    if python.exists():
        return None
    return f"the original {version} release is not installed at {python} ({_HOW[version]})"


needs_reference = pytest.mark.reference("6.2.0")
"""Marks a test that runs 6.2.0 (``REFERENCE_PYTHON``): skipped with a reason where it is missing, failed in CI."""

needs_reference_7 = pytest.mark.reference("7.2.0")
"""Marks a test that runs 7.2.0 (``REFERENCE7_PYTHON``): skipped with a reason where it is missing, failed in CI."""

EACH_RELEASE = [pytest.param("6.2.0", marks=needs_reference), pytest.param("7.2.0", marks=needs_reference_7)]
"""``@pytest.mark.parametrize("release", EACH_RELEASE)``: the test once per release version (``RELEASES[release]`` is
its interpreter), each marked as above."""


def clean_environment(unset: Iterable[str] = ()) -> dict[str, str]:
    """This process's environment without ``PYTHONPATH`` (a release's interpreter, or a child of ours, must import the
    package installed in its own environment, never a folder of this checkout) nor the variables named in ``unset``."""
    removed = {"PYTHONPATH", *unset}
    return {key: value for key, value in os.environ.items() if key not in removed}


def run_python(
    python: str | Path,
    *arguments: str | Path,
    timeout: float = 300,
    cwd: Path | None = None,
    check: bool = True,
    unset: Iterable[str] = (),
) -> subprocess.CompletedProcess[str]:
    """Runs ``python`` (a release's interpreter, or ``sys.executable`` for ours) with ``arguments`` (``-c CODE ...`` or
    a script and its arguments) in a clean environment and returns the finished process; with ``check`` (the default)
    a non-zero exit fails the test with the end of its stderr. ``unset`` names variables the child must not see."""
    result = subprocess.run(
        [str(python), *(str(argument) for argument in arguments)],
        capture_output=True,
        text=True,
        env=clean_environment(unset),
        timeout=timeout,
        cwd=cwd,
        check=False,
    )
    if check:
        assert result.returncode == 0, f"{python} {' '.join(map(str, arguments))[:200]} failed: {result.stderr[-3000:]}"
    return result


def run_reference(
    script: str, *args: str, python: str | Path = REFERENCE_PYTHON, main_guard: bool = False, unset: Iterable[str] = ()
) -> str:
    """Runs the code ``script`` under an original release's interpreter (6.2.0 by default; ``python=`` another, or
    ``sys.executable`` for ours) with ``args`` as ``sys.argv[1:]`` and returns its stdout; a failure fails the test.

    ``main_guard`` wraps the code in ``if __name__ == "__main__":`` (7.2.0 starts processes by spawning, which re-runs
    the main module)."""
    if main_guard:
        script = "if __name__ == '__main__':\n" + "".join(f"    {line}\n" for line in script.splitlines())
    return run_python(python, "-c", script, *args, unset=unset).stdout


def run_reference_json(
    script: str, *args: str, python: str | Path = REFERENCE_PYTHON, main_guard: bool = False, unset: Iterable[str] = ()
) -> object:
    """:func:`run_reference`, returning the JSON value the code printed last."""
    stdout = run_reference(script, *args, python=python, main_guard=main_guard, unset=unset)
    return json.loads(stdout.strip().splitlines()[-1])


OURS = Path(sys.executable)
"""Our interpreter, for the helpers above when a test runs the same code under a release and under ours."""
