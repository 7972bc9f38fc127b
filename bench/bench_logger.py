"""Benchmarks DataLogger against the reference release, side by side in one run.

Run: ``.venv/bin/python bench/bench_logger.py`` (about 1-2 minutes, most of it the reference). Workloads
(bench/workload_logger.py), each timed from the first put() to the return of stop():
- 20,000 messages of 64 bytes from one producer (the main process); target >= 30x the reference;
- 40,000 messages of 64 bytes from four producer processes together; target >= 30x;
- 300 messages of 1 MiB from one producer, median of three runs; target >= 2x.
It also prints the peak RSS of the largest child process (the logger; for the reference also its Manager process)
and checks that every message reached the disk.
"""

from __future__ import annotations

import shutil
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _harness import our_python, print_ratio, reference_python, run_workload

WORKLOAD = Path(__file__).resolve().parent / "workload_logger.py"
JOBS = {
    "small1": "logger, 64 B messages, 1 producer (target >= 30x)",
    "small4": "logger, 64 B messages, 4 producer processes (target >= 30x)",
    "large": "logger, 1 MiB messages, 1 producer (target >= 2x)",
}


def main() -> None:
    scratch = Path(tempfile.mkdtemp(prefix="axds-bench-logger-"))
    reference, ours = reference_python(), our_python()
    results = {}
    try:
        for job in JOBS:
            results[job] = (
                run_workload(reference, WORKLOAD, job, str(scratch / f"{job}-reference")),
                run_workload(ours, WORKLOAD, job, str(scratch / f"{job}-ours")),
            )
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    for job, label in JOBS.items():
        ref, our = results[job]
        if job == "large":
            print_ratio(label, ref["mb_per_s"], our["mb_per_s"], "MB/s")
        else:
            print_ratio(label, ref["messages_per_s"], our["messages_per_s"], "msg/s")
    for job in ("small1", "large"):
        ref, our = results[job]
        print(
            f"{job}: peak RSS of the largest child process: reference {ref['child_peak_rss_mib']:.0f} MiB, "
            f"ours {our['child_peak_rss_mib']:.0f} MiB"
        )
    for job, (ref, our) in results.items():
        for name, result in (("reference", ref), ("ours", our)):
            if result["on_disk"] != result["messages"]:
                print(f"{job}: {name} has {result['on_disk']} of {result['messages']} messages on disk")


if __name__ == "__main__":
    main()
