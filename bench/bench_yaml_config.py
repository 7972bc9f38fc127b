"""Benchmark: YamlConfig round trips (to_yaml + from_yaml) of a 64-field config, ours against the reference release.

Runs bench/workload_yaml_config.py under the reference release and under ours, in the same run, and prints the
ratios. The config has 64 leaf fields in nested dataclasses, with paths, Enum/IntEnum/StrEnum members, unions of
them with primitives, a date and a timestamp, tuples, lists, nested dicts and optional fields.

Our to_yaml pays for durability the reference does not: it fsyncs the new file before the atomic rename, and the
directory after it. On a disk that cost dominates our write (about 0.5-1 ms here, far more when other processes
keep the disk busy), so the workload runs twice: in a directory on the project's disk (the figure that matters),
and in /dev/shm (memory, where fsync is free) to show the conversion cost alone.

Usage: .venv/bin/python bench/bench_yaml_config.py [ROUNDS]   (default 200; takes under a minute)
"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

from _harness import print_ratio, side_by_side

WORKLOAD = Path(__file__).resolve().parent / "workload_yaml_config.py"
PROJECT = Path(__file__).resolve().parent.parent


def compare(label: str, directory: Path, rounds: str) -> None:
    with tempfile.TemporaryDirectory(prefix="bench_yaml_config_", dir=directory) as tmp:
        reference, ours = side_by_side(WORKLOAD, tmp, rounds)
    print(f"YamlConfig, 64-field config, files {label} ({ours['bytes']} bytes; reference {reference['bytes']} bytes)")
    rows = [
        ("round trip (to_yaml + from_yaml)", "round_trips_per_s"),
        ("to_yaml (ours: atomic, fsynced)", "writes_per_s"),
        ("from_yaml", "reads_per_s"),
    ]
    for row_label, key in rows:
        print_ratio(f"  {row_label}", reference[key], ours[key], "ops/s")


def main() -> None:
    rounds = sys.argv[1] if len(sys.argv) > 1 else "200"
    compare("on disk", PROJECT, rounds)
    memory = Path("/dev/shm")
    if memory.is_dir():
        compare("in /dev/shm", memory, rounds)


if __name__ == "__main__":
    main()
