"""Benchmarks DataLogger against the reference release, side by side in one run.

Run: ``.venv/bin/python bench/bench_logger.py`` (about 1-2 minutes, most of it the reference). Workloads
(bench/workload_logger.py), each timed from the first put() to the return of stop():
- 20,000 messages of 64 bytes from one producer (the main process); target >= 30x the reference;
- 40,000 messages of 64 bytes from four producer processes together; target >= 30x;
- 300 messages of 1 MiB from one producer, median of three runs; target >= 2x. Our stop() returns only after every
  byte is fsynced (the reference never fsyncs), so this one is bounded by the disk: the bench prints how long the
  disk takes to write and fsync the same 300 MiB, and runs the workload once more with both logs on tmpfs
  (/dev/shm, no disk), which shows what the logging pipeline itself does.
It also prints put() latency percentiles measured in the producers' loops, the peak RSS of the largest child
process (the logger; for the reference also its Manager process), and checks that every message reached the disk.
"""

from __future__ import annotations

import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _harness import our_python, print_ratio, reference_python, run_workload

WORKLOAD = Path(__file__).resolve().parent / "workload_logger.py"
JOBS = {
    "small1": "logger, 64 B messages, 1 producer (target >= 30x)",
    "small4": "logger, 64 B messages, 4 producer processes (target >= 30x)",
    "large": "logger, 1 MiB messages, 1 producer (target >= 2x)",
    "large_tmpfs": "logger, 1 MiB messages, 1 producer, logs on tmpfs (no disk)",
}
SHM = Path("/dev/shm")


def disk_flush_seconds(directory: Path, size: int = 300 << 20) -> float:
    """Returns how long the disk takes to take `size` bytes written in 1 MiB blocks and fsynced, like one run."""
    block = os.urandom(1 << 20)
    path = directory / "disk_probe.bin"
    started = time.perf_counter()
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        for _ in range(size >> 20):
            os.write(descriptor, block)
        os.fsync(descriptor)
    finally:
        os.close(descriptor)
    elapsed = time.perf_counter() - started
    path.unlink()
    return elapsed


def main() -> None:
    scratch = Path(tempfile.mkdtemp(prefix="axds-bench-logger-"))
    reference, ours = reference_python(), our_python()
    results = {}
    shm_scratch = Path(tempfile.mkdtemp(prefix="axds-bench-logger-", dir=SHM)) if SHM.is_dir() else None
    try:
        flush = disk_flush_seconds(scratch)
        rate = 300 * 1.048576 / flush
        print(f"disk: writing and fsyncing 300 MiB takes {flush:.2f} s ({rate:,.0f} MB/s), the floor of our 1 MiB")
        print("workload on disk (stop() returns after everything is fsynced; the reference does not fsync)")
        for job in JOBS:
            root = scratch
            if job == "large_tmpfs":
                if shm_scratch is None:
                    continue
                root = shm_scratch
            workload_job = job.removesuffix("_tmpfs")
            results[job] = (
                run_workload(reference, WORKLOAD, workload_job, str(root / f"{job}-reference")),
                run_workload(ours, WORKLOAD, workload_job, str(root / f"{job}-ours")),
            )
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
        if shm_scratch is not None:
            shutil.rmtree(shm_scratch, ignore_errors=True)
    for job, label in JOBS.items():
        if job not in results:
            continue
        ref, our = results[job]
        if job.startswith("large"):
            print_ratio(label, ref["mb_per_s"], our["mb_per_s"], "MB/s")
        else:
            print_ratio(label, ref["messages_per_s"], our["messages_per_s"], "msg/s")
    for job in ("small1", "small4", "large"):
        ref, our = results[job]
        print(
            f"{job}: put() in the producer's loop, p50 / p99 / max: reference {ref['put_p50_us']:.1f} / "
            f"{ref['put_p99_us']:.1f} / {ref['put_max_us']:,.0f} us, ours {our['put_p50_us']:.1f} / "
            f"{our['put_p99_us']:.1f} / {our['put_max_us']:,.0f} us"
        )
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
