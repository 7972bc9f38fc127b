"""Benchmark: YamlConfig round trips (to_yaml + from_yaml) of a 60-field config, ours against the reference release.

Runs bench/workload_yaml_config.py under the reference release and under ours, in the same run, and prints the
ratios. The config has 60 leaf fields in nested dataclasses, with paths, Enum/IntEnum/StrEnum members, tuples,
lists, nested dicts and optional fields. Our to_yaml pays for durability the reference does not: it fsyncs the
file and its directory before and after the atomic rename, so the write figures include two fsyncs.

Usage: .venv/bin/python bench/bench_yaml_config.py [ROUNDS]   (default 200; takes well under a minute)
"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

from _harness import print_ratio, side_by_side

WORKLOAD = Path(__file__).resolve().parent / "workload_yaml_config.py"


def main() -> None:
    rounds = sys.argv[1] if len(sys.argv) > 1 else "200"
    with tempfile.TemporaryDirectory(prefix="bench_yaml_config_", dir=Path(__file__).resolve().parent.parent) as tmp:
        reference, ours = side_by_side(WORKLOAD, tmp, rounds)
    print(f"YamlConfig, 60-field config ({ours['bytes']} bytes of YAML; reference file {reference['bytes']} bytes)")
    print_ratio("round trip (to_yaml + from_yaml)", reference["round_trips_per_s"], ours["round_trips_per_s"], "ops/s")
    print_ratio("to_yaml (ours: atomic, fsynced)", reference["writes_per_s"], ours["writes_per_s"], "ops/s")
    print_ratio("from_yaml", reference["reads_per_s"], ours["reads_per_s"], "ops/s")


if __name__ == "__main__":
    main()
