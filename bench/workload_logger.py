"""DataLogger workloads, run under either package: python workload_logger.py JOB OUTPUT_DIRECTORY.

Jobs (every one times from the first put() to the return of stop(), so everything is on disk when the clock stops):
- small1: the main process puts 20,000 messages of 64 bytes, then calls stop();
- small4: four producer processes (spawn, started and imported before the clock starts) put 10,000 messages of
  64 bytes each; the main process joins them, then calls stop();
- large: the main process puts 300 messages of 1 MiB, then calls stop(); three runs (each with a fresh logger),
  the median counts, as this one is short and the most sensitive to other work on the machine.
Each put() call is timed in the producer's loop (the LogPackage is made outside the timed call). Prints one JSON
line: the rate, the put() latency p50/p99/max in microseconds, the number of messages found on disk afterwards (.npy
files for the reference, whole records of the live log files for ours), and the peak RSS of the largest child
process (the logger; for the reference also its Manager process) in MiB.
"""

from __future__ import annotations

import json
import multiprocessing
import resource
import shutil
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np

from ataraxis_data_structures.data_loggers import DataLogger, LogPackage

SMALL = 64
LARGE = 1 << 20


def timed_puts(queue: Any, source_id: int, count: int, size: int) -> np.ndarray:
    """Puts count messages and returns how long each put() call took, in nanoseconds (the package is made outside)."""
    payload = np.full(size, source_id, dtype=np.uint8)
    durations = np.empty(count, dtype=np.int64)
    clock = time.perf_counter_ns
    put = queue.put
    for number in range(1, count + 1):
        package = LogPackage(np.uint8(source_id), np.uint64(number), payload)
        started = clock()
        put(package)
        durations[number - 1] = clock() - started
    return durations


def produce(queue: Any, source_id: int, count: int, size: int, ready: Any, go: Any, report: str) -> None:
    ready.set()
    go.wait()
    np.save(report, timed_puts(queue, source_id, count, size))


def messages_on_disk(directory: Path) -> int:
    try:  # ours: live log files (named *.axlog.npy), records counted by scanning them
        from ataraxis_data_structures.data_loggers.formats import log_format
    except ImportError:  # the reference: one .npy file per message
        return sum(1 for _ in directory.glob("*.npy"))
    live = [path for path in directory.iterdir() if log_format.parse_log_file_name(path.name) is not None]
    return sum(len(log_format.scan_records(path.read_bytes(), path)) for path in live)


def run_in_main(logger: DataLogger, count: int, size: int) -> tuple[float, np.ndarray]:
    started = time.perf_counter()
    durations = timed_puts(logger.input_queue, 1, count, size)
    logger.stop()
    return time.perf_counter() - started, durations


def run_in_producers(logger: DataLogger, producers: int, count: int, size: int, root: Path) -> tuple[float, np.ndarray]:
    context = multiprocessing.get_context("spawn")
    go = context.Event()
    readies = [context.Event() for _ in range(producers)]
    reports = [str(root.parent / f"{root.name}-put-{source}.npy") for source in range(1, producers + 1)]
    processes = [
        context.Process(
            target=produce,
            args=(logger.input_queue, source, count, size, readies[source - 1], go, reports[source - 1]),
        )
        for source in range(1, producers + 1)
    ]
    for process in processes:
        process.start()
    for ready in readies:
        ready.wait()
    started = time.perf_counter()
    go.set()
    for process in processes:
        process.join()
    logger.stop()
    elapsed = time.perf_counter() - started
    durations = np.concatenate([np.load(report) for report in reports])
    for report in reports:
        Path(report).unlink()
    return elapsed, durations


def main() -> None:
    job, root = sys.argv[1], Path(sys.argv[2])
    runs = 3 if job == "large" else 1
    times = []
    on_disk = 0
    peak_rss_mib = 0.0
    all_durations: list[np.ndarray] = []
    for _ in range(runs):
        shutil.rmtree(root, ignore_errors=True)
        root.mkdir(parents=True)
        logger = DataLogger(root, "bench")
        logger.start()
        if job == "small1":
            count, size = 20_000, SMALL
            seconds, durations = run_in_main(logger, count, size)
        elif job == "small4":
            count, size = 4 * 10_000, SMALL
            seconds, durations = run_in_producers(logger, 4, count // 4, size, root)
        elif job == "large":
            count, size = 300, LARGE
            seconds, durations = run_in_main(logger, count, size)
        else:
            sys.exit(f"unknown job {job!r}")
        times.append(seconds)
        all_durations.append(durations)
        # Our stop() returns on the logger's final report, before its process is reaped: reap it, so that its peak
        # RSS is in RUSAGE_CHILDREN (outside the timed part).
        for child in multiprocessing.active_children():
            child.join(timeout=30)
        if len(times) == 1:
            # Only the first run counts: a child forked (before exec) from a parent that holds the previous runs'
            # freed buffers would report the parent's memory as its own.
            peak_rss_mib = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
        on_disk = messages_on_disk(logger.output_directory)
        shutil.rmtree(root, ignore_errors=True)
    elapsed = sorted(times)[len(times) // 2]
    put_us = np.concatenate(all_durations) / 1000
    print(
        json.dumps(
            {
                "messages": count,
                "on_disk": on_disk,
                "seconds": elapsed,
                "messages_per_s": count / elapsed,
                "mb_per_s": count * size / elapsed / 1e6,
                "child_peak_rss_mib": peak_rss_mib,
                "put_p50_us": float(np.percentile(put_us, 50)),
                "put_p99_us": float(np.percentile(put_us, 99)),
                "put_max_us": float(put_us.max()),
            }
        )
    )


if __name__ == "__main__":
    main()
