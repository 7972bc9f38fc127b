"""Benchmark: SharedMemoryArray locked reads, writes and read-modify-writes, ours against the original releases.

Runs bench/workload_shared_memory.py under 7.2.0 (``$REF7_PY``, default /tmp/axds-reference-7/bin/python, when it
exists), under 6.2.0 (the reference release of the other benches) and under ours, in the same run, and prints the
ratios. Ours takes a robust pthread mutex through ctypes where the originals take a multiprocessing.Lock; what it buys
is that a process killed while holding the lock does not wedge every other one.

Usage: .venv/bin/python bench/bench_shared_memory.py [OPERATIONS] [INCREMENTS]   (defaults 100000 and 20000)
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

from _harness import our_python, print_ratio, reference_python, run_workload

WORKLOAD = Path(__file__).resolve().parent / "workload_shared_memory.py"


def main() -> None:
    operations = sys.argv[1] if len(sys.argv) > 1 else "100000"
    increments = sys.argv[2] if len(sys.argv) > 2 else "20000"
    references = []
    release_7 = os.environ.get("REF7_PY", "/tmp/axds-reference-7/bin/python")
    if Path(release_7).exists():
        references.append(("7.2.0", release_7))
    references.append(("6.2.0", reference_python()))
    ours = run_workload(our_python(), WORKLOAD, operations, increments)
    for label, python in references:
        reference = run_workload(python, WORKLOAD, operations, increments)
        print(f"SharedMemoryArray of 16 int64, against {label}")
        for row, key in [
            ("locked scalar read  array[3]", "read_ns"),
            ("locked scalar write array[3] = 7", "write_ns"),
            ("locked slice read   array[0:8]", "slice_read_ns"),
            ("with array.array() as a: a[0] += 1", "locked_block_ns"),
        ]:
            print_ratio(f"  {row}", reference[key], ours[key], "ns/op", higher_is_better=False)
        print_ratio(
            "  4 processes incrementing one counter",
            reference["contended_increments_per_s"],
            ours["contended_increments_per_s"],
            "ops/s",
        )


if __name__ == "__main__":
    main()
