#!/usr/bin/env python3
"""Runs the project's jobs in a local virtual environment that this script creates and keeps up to date.

Usage: ``python3 dev.py demo`` (the end-to-end demo) or ``python3 dev.py test`` (ruff, mypy and the test suite).
Only a Python 3.11+ interpreter is needed; everything else is installed into ``.venv``.
"""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
import venv
from pathlib import Path

ROOT = Path(__file__).resolve().parent
VENV = ROOT / ".venv"
BIN = VENV / ("Scripts" if os.name == "nt" else "bin")
PY = BIN / ("python.exe" if os.name == "nt" else "python")
STAMP = VENV / ".installed"


def ensure_venv() -> None:
    """Creates .venv and installs the package with its test extras whenever pyproject.toml changed."""
    if sys.version_info < (3, 11):
        sys.exit(f"dev.py needs Python 3.11 or newer, this is {sys.version.split()[0]}")
    if not PY.exists():
        venv.EnvBuilder(with_pip=True).create(VENV)
    wanted = hashlib.sha256((ROOT / "pyproject.toml").read_bytes()).hexdigest()
    if STAMP.exists() and STAMP.read_text() == wanted:
        return
    subprocess.run([PY, "-m", "pip", "install", "-q", "--upgrade", "pip"], check=True)
    subprocess.run([PY, "-m", "pip", "install", "-q", "-e", f"{ROOT}[test]"], check=True)
    STAMP.write_text(wanted)


def run(*args: str | Path) -> int:
    """Runs one command in the project root and returns its exit code."""
    print("+", " ".join(str(a) for a in args), flush=True)
    return subprocess.run(list(args), cwd=ROOT, check=False).returncode


def main() -> int:
    """Dispatches the 'demo' and 'test' jobs."""
    job = sys.argv[1] if len(sys.argv) > 1 else ""
    extra = sys.argv[2:]
    if job not in {"demo", "test"}:
        print(__doc__)
        return 2
    ensure_venv()
    if job == "demo":
        return run(PY, ROOT / "demo" / "demo.py", *extra)
    if sys.platform == "linux" and (ROOT / ".ci" / "install-slurm.sh").exists():
        # The SLURM tests' one-node cluster needs slurm-wlm and munge; the script is quiet and never fails.
        subprocess.run(["bash", ROOT / ".ci" / "install-slurm.sh"], check=False)
    for step in (
        (PY, "-m", "ruff", "check", "src", "tests", "bench", "demo"),
        (PY, "-m", "mypy"),
        (PY, "-m", "pytest", *extra),
    ):
        code = run(*step)
        if code != 0:
            return code
    return 0


if __name__ == "__main__":
    sys.exit(main())
