"""Runs labcheck drivers under the release venv and ours, and prints every step whose record differs.

Usage::

    python tools/labcheck/compare.py [--release PY] [--ours PY] [--timeout S] [--keep DIR] [driver ...]

PY defaults to /tmp/labcheck/rel/bin/python and /tmp/labcheck/ours/bin/python (made by ``setup_venvs.sh``); drivers
default to every ``*.py`` here but this file, ``_harness.py`` and ``junit_diff.py``. Each run's raw JSON lines and
stderr are kept in DIR (default /tmp/labcheck/runs). Exit status 1 when any step differs.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
VOLATILE = {"traceback_tail"}


def run(python: str, driver: Path, timeout: float, keep: Path, label: str) -> list[dict[str, Any]]:
    """Runs one driver under one interpreter; returns its JSON lines (what ran before a hang or crash survives)."""
    out = keep / f"{driver.stem}-{label}.jsonl"
    err = keep / f"{driver.stem}-{label}.err"
    with out.open("w") as stdout, err.open("w") as stderr:
        try:
            code: int | str = subprocess.run(
                [python, str(driver)], stdout=stdout, stderr=stderr, timeout=timeout, check=False, cwd=HERE
            ).returncode
        except subprocess.TimeoutExpired:
            code = f"timeout after {timeout} s"
    records = []
    for line in out.read_text().splitlines():
        try:
            records.append(json.loads(line))
        except json.JSONDecodeError:
            records.append({"step": "<non-JSON output>", "result": line[:300]})
    records.append({"step": "<exit>", "result": code})
    return records


def keyed(records: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """Keys the records by step name, numbering repeats so that a step run twice compares with its twin."""
    seen: dict[str, int] = {}
    result: dict[str, dict[str, Any]] = {}
    for record in records:
        if "header" in record:
            continue
        name = record["step"]
        seen[name] = seen.get(name, 0) + 1
        result[name if seen[name] == 1 else f"{name} #{seen[name]}"] = record
    return result


def main() -> int:
    """Parses arguments, runs the drivers, prints the differences."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--release", default="/tmp/labcheck/rel/bin/python")
    parser.add_argument("--ours", default="/tmp/labcheck/ours/bin/python")
    parser.add_argument("--timeout", type=float, default=900.0)
    parser.add_argument("--keep", type=Path, default=Path("/tmp/labcheck/runs"))
    parser.add_argument("drivers", nargs="*")
    arguments = parser.parse_args()
    arguments.keep.mkdir(parents=True, exist_ok=True)
    drivers = [Path(name).resolve() for name in arguments.drivers] or sorted(
        path for path in HERE.glob("*.py") if path.name not in {"compare.py", "_harness.py", "junit_diff.py"}
    )
    differing = 0
    for driver in drivers:
        release = run(arguments.release, driver, arguments.timeout, arguments.keep, "release")
        ours = run(arguments.ours, driver, arguments.timeout, arguments.keep, "ours")
        headers = [next((r["header"] for r in records if "header" in r), None) for records in (release, ours)]
        print(f"=== {driver.name}\n  release imports {headers[0]}\n  ours imports    {headers[1]}")
        left, right = keyed(release), keyed(ours)
        for name in list(left) + [name for name in right if name not in left]:
            a = {k: v for k, v in left.get(name, {"missing": True}).items() if k not in VOLATILE}
            b = {k: v for k, v in right.get(name, {"missing": True}).items() if k not in VOLATILE}
            if a == b:
                continue
            differing += 1
            print(f"--- DIFF {name}")
            for key in sorted(set(a) | set(b)):
                if a.get(key) != b.get(key):
                    release_text, ours_text = json.dumps(a.get(key))[:1500], json.dumps(b.get(key))[:1500]
                    print(f"    {key}:\n      release: {release_text}\n      ours:    {ours_text}")
            tail = right.get(name, {}).get("traceback_tail")
            if tail:
                print("    ours traceback tail:\n      " + tail.replace("\n", "\n      "))
    print(f"=== {differing} differing step(s)")
    return 1 if differing else 0


if __name__ == "__main__":
    sys.exit(main())
