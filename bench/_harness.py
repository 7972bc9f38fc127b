"""Shared plumbing for the benchmarks: runs one workload under our package and under the reference release.

Both packages share the import name ``ataraxis_data_structures``, so every workload runs in its own interpreter:
ours from ``.venv`` (created by ``python3 dev.py test``), the reference release (6.2.0) from the virtual
environment that ``../shared/tools/reference-venv.sh`` creates (or ``$REF_PY``). A workload script prints one JSON
object on its last stdout line; the harness collects them and prints ratios measured in the same run.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
OURS = ROOT / ".venv" / "bin" / "python"


def reference_python() -> str:
    """Returns the python of the reference release's virtual environment, creating it on first use."""
    if os.environ.get("REF_PY"):
        return os.environ["REF_PY"]
    script = ROOT.parent / "shared" / "tools" / "reference-venv.sh"
    return subprocess.run(["bash", str(script)], check=True, capture_output=True, text=True).stdout.strip()


def our_python() -> str:
    """Returns the python of the project's virtual environment."""
    if not OURS.exists():
        sys.exit("run 'python3 dev.py test' once first: it creates .venv with the package installed")
    return str(OURS)


def run_workload(python: str, script: Path, *args: str, timeout: float = 1800) -> dict[str, Any]:
    """Runs a workload script under the given interpreter and returns the JSON object it printed last."""
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    result = subprocess.run(
        [python, str(script), *args], capture_output=True, text=True, timeout=timeout, env=env, check=False
    )
    if result.returncode != 0:
        raise RuntimeError(f"{script.name} {' '.join(args)} failed under {python}:\n{result.stderr[-4000:]}")
    return dict(json.loads(result.stdout.strip().splitlines()[-1]))


def side_by_side(script: Path, *args: str) -> tuple[dict[str, Any], dict[str, Any]]:
    """Runs a workload under the reference release, then under ours, and returns (reference, ours)."""
    reference = run_workload(reference_python(), script, *args)
    ours = run_workload(our_python(), script, *args)
    return reference, ours


def print_ratio(label: str, reference: float, ours: float, unit: str, *, higher_is_better: bool = True) -> float:
    """Prints one comparison row and returns the ratio of ours over the reference (>1 means we are better)."""
    ratio = (ours / reference) if higher_is_better else (reference / ours)
    print(f"{label:<58} reference {reference:>12,.1f} {unit:<10} ours {ours:>12,.1f} {unit:<10} x{ratio:,.1f}")
    return ratio
