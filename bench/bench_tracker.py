"""ProcessingTracker speed, side by side with the reference release: ``.venv/bin/python bench/bench_tracker.py``.

Rows (each workload runs under the reference's interpreter, then ours, in this run):
- start/complete operations per second of one process on a 200-job tracker (issue target: >= 500 ops/s);
- the same on a 10,000-job tracker (issue target: >= 25 ops/s);
- four processes working on one 200-job tracker at once (aggregate rate, every operation re-reads the others' work);
- the first operation of a fresh process on an existing 10,000-job tracker (full parse, as a new cluster job does);
- ours only: milliseconds per operation at 1,000 and 10,000 jobs, to show the cost grows at most linearly;
- ours only (the releases have no atomic claim): 16 worker processes draining a 2,000-job tracker with claim_job and
  complete_job (claims per second; every job must be claimed exactly once and end SUCCEEDED), and one worker
  claiming 300 jobs of 1,000- and 10,000-job trackers (milliseconds per claim+complete).
Single-process rates are the best of three rounds (two for the reference at 10,000 jobs): every operation flushes
the file to disk, and the best round is the one least disturbed by other disk traffic on the machine.
The reference is slow (about 3 s per operation at 10,000 jobs), so it runs fewer operations; the whole bench takes
about a minute.
"""

from __future__ import annotations

import os
import statistics
import tempfile
import time
from pathlib import Path

from _harness import our_python, print_ratio, reference_python, run_workload

WORKLOAD = Path(__file__).resolve().parent / "workload_tracker.py"


def compare(label: str, reference_args: tuple[str, ...], our_args: tuple[str, ...]) -> float:
    """Runs one workload under both releases and prints the ops/s row; returns our ops/s."""
    reference = run_workload(reference_python(), WORKLOAD, *reference_args)
    ours = run_workload(our_python(), WORKLOAD, *our_args)
    print_ratio(label, reference["ops_per_s"], ours["ops_per_s"], "ops/s")
    return float(ours["ops_per_s"])


def disk_flush_ms() -> float:
    """Returns the median time of writing, flushing (fdatasync) and renaming a 40 KB file: the disk's share of an op."""
    flush = getattr(os, "fdatasync", os.fsync)
    times = []
    with tempfile.TemporaryDirectory(dir=Path(tempfile.gettempdir())) as scratch:
        for index in range(200):
            started = time.perf_counter()
            temporary = Path(scratch) / f"{index}.tmp"
            descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
            os.write(descriptor, b"x" * 40_000)
            flush(descriptor)
            os.close(descriptor)
            os.replace(temporary, Path(scratch) / "tracker.yaml")
            times.append(time.perf_counter() - started)
    return statistics.median(times) * 1000


def main() -> None:
    print(
        f"disk in this run: writing, flushing and renaming a 40 KB file (a 200-job tracker) takes "
        f"{disk_flush_ms():.2f} ms (median); every tracker operation pays this once"
    )
    small = compare("start/complete, 200-job tracker, 1 process", ("ops", "200", "30"), ("ops", "200", "1000"))
    large = compare(
        "start/complete, 10,000-job tracker, 1 process", ("ops", "10000", "2", "2"), ("ops", "10000", "150")
    )
    compare(
        "start/complete, 200-job tracker, 4 processes at once",
        ("contended", "200", "15", "4"),
        ("contended", "200", "500", "4"),
    )
    compare("first operation of a fresh process, 10,000 jobs", ("first", "10000", "1"), ("first", "10000", "3"))
    per_op = {}
    for jobs in (1000, 10000):
        per_op[jobs] = run_workload(our_python(), WORKLOAD, "ops", str(jobs), "150")["ms_per_op"]
    growth = per_op[10000] / per_op[1000]
    print(
        f"ours: {per_op[1000]:.2f} ms/op at 1,000 jobs, {per_op[10000]:.2f} ms/op at 10,000 jobs "
        f"(x{growth:.1f} for x10 jobs: {'at most linear' if growth <= 10 else 'WORSE than linear'})"
    )
    drained = run_workload(our_python(), WORKLOAD, "drain", "2000", "16")
    verdict = "nothing lost" if drained["lost"] == drained["duplicated"] == drained["not_succeeded"] == 0 else "LOST"
    print(
        f"ours: 16 workers drain 2,000 jobs: {drained['ops_per_s']:,.0f} claims/s (each a claim and a completion), "
        f"lost {drained['lost']:.0f}, duplicated {drained['duplicated']:.0f}, not succeeded "
        f"{drained['not_succeeded']:.0f}: {verdict}"
    )
    for jobs in (1000, 10000):
        one = run_workload(our_python(), WORKLOAD, "drain", str(jobs), "1", "300")
        print(f"ours: 1 worker on a {jobs:,}-job tracker: {one['ms_per_op']:.2f} ms per claim+complete (300 claims)")
    print(
        f"targets: >= 500 ops/s at 200 jobs: {'met' if small >= 500 else 'MISSED'} ({small:,.0f}); "
        f">= 25 ops/s at 10,000 jobs: {'met' if large >= 25 else 'MISSED'} ({large:,.0f})"
    )


if __name__ == "__main__":
    main()
