"""DataLogger workloads, run under either package: python workload_logger.py JOB OUTPUT_DIRECTORY.

Jobs (every one times from the first put() to the return of stop(), so everything is on disk when the clock stops):
- small1: the main process puts 20,000 messages of 64 bytes, then calls stop();
- small4: four producer processes (spawn, started and imported before the clock starts) put 10,000 messages of
  64 bytes each; the main process joins them, then calls stop();
- large: the main process puts 300 messages of 1 MiB, then calls stop(); three runs (each with a fresh logger),
  the median counts, as this one is short and the most sensitive to other work on the machine.
Prints one JSON line: the rate, the number of messages found on disk afterwards (.npy files for the reference,
whole records of the live log files for ours), and the peak RSS of the largest child process (the logger; for the
reference also its Manager process) in MiB.
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


def produce(queue: Any, source_id: int, count: int, size: int, ready: Any, go: Any) -> None:
    payload = np.full(size, source_id, dtype=np.uint8)
    ready.set()
    go.wait()
    for number in range(1, count + 1):
        queue.put(LogPackage(np.uint8(source_id), np.uint64(number), payload))


def messages_on_disk(directory: Path) -> int:
    npy = sum(1 for _ in directory.glob("*.npy"))
    if npy:
        return npy
    from ataraxis_data_structures.data_loggers import log_format

    return sum(len(log_format.scan_records(path.read_bytes(), path)) for path in directory.glob("*.axlog"))


def run_in_main(logger: DataLogger, count: int, size: int) -> float:
    payload = np.full(size, 1, dtype=np.uint8)
    queue = logger.input_queue
    started = time.perf_counter()
    for number in range(1, count + 1):
        queue.put(LogPackage(np.uint8(1), np.uint64(number), payload))
    logger.stop()
    return time.perf_counter() - started


def run_in_producers(logger: DataLogger, producers: int, count: int, size: int) -> float:
    context = multiprocessing.get_context("spawn")
    go = context.Event()
    readies = [context.Event() for _ in range(producers)]
    processes = [
        context.Process(target=produce, args=(logger.input_queue, source, count, size, readies[source - 1], go))
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
    return time.perf_counter() - started


def main() -> None:
    job, root = sys.argv[1], Path(sys.argv[2])
    runs = 3 if job == "large" else 1
    times = []
    on_disk = 0
    peak_rss_mib = 0.0
    for _ in range(runs):
        shutil.rmtree(root, ignore_errors=True)
        root.mkdir(parents=True)
        logger = DataLogger(root, "bench")
        logger.start()
        if job == "small1":
            count, size = 20_000, SMALL
            seconds = run_in_main(logger, count, size)
        elif job == "small4":
            count, size = 4 * 10_000, SMALL
            seconds = run_in_producers(logger, 4, count // 4, size)
        elif job == "large":
            count, size = 300, LARGE
            seconds = run_in_main(logger, count, size)
        else:
            sys.exit(f"unknown job {job!r}")
        times.append(seconds)
        if len(times) == 1:
            # Only the first run counts: a child forked (before exec) from a parent that holds the previous runs'
            # freed buffers would report the parent's memory as its own.
            peak_rss_mib = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
        on_disk = messages_on_disk(logger.output_directory)
        shutil.rmtree(root, ignore_errors=True)
    elapsed = sorted(times)[len(times) // 2]
    print(
        json.dumps(
            {
                "messages": count,
                "on_disk": on_disk,
                "seconds": elapsed,
                "messages_per_s": count / elapsed,
                "mb_per_s": count * size / elapsed / 1e6,
                "child_peak_rss_mib": peak_rss_mib,
            }
        )
    )


if __name__ == "__main__":
    main()
