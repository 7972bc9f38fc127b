"""The lab's batch pattern on one archive, run under either package: python workload_batches.py JOB ARCHIVE [ARGS].

Jobs:
- make ARCHIVE COUNT (ours only): writes a synthetic archive of one source: the onset, then COUNT messages of 24
  bytes, 4 ms apart (the shape of a 60-minute behaviour-encoder log at COUNT = 840,000).
- pattern ARCHIVE WORKERS: the analysis code of issue 9, timed from the first line to the last result:
  ``reader = LogArchiveReader(path)``, ``batches = reader.get_batches(workers=n)``, then a spawn-context process pool
  of n workers in which each task opens the archive again (with the onset) and iterates its keys. Reports the
  time, what was read (count, checksum) and the peak RSS of the parent and of every worker.
- count ARCHIVE: the time of ``LogArchiveReader(path).message_count`` and of ``read_archive_message_count(path)``
  (where the package has it), each in this fresh process.
- columns ARCHIVE (ours only): the time of ``read_columns()`` (all timestamps and payloads as arrays).
Prints one JSON line.
"""

from __future__ import annotations

import json
import multiprocessing
import os
import resource
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np

from ataraxis_data_structures.data_loggers import LogArchiveReader

ONSET_US = 1_700_000_000_000_000
PAYLOAD = 24


def peak_rss_mb() -> float:
    """Returns this process's peak resident set size in MB.

    VmHWM, not ru_maxrss: a spawned worker's ru_maxrss starts at its parent's peak (it survives exec).
    """
    with open("/proc/self/status", encoding="ascii") as status:
        for line in status:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def make(archive: Path, count: int) -> None:
    from ataraxis_data_structures.data_loggers.assembly.zip_writer import ArchiveWriter, member_names
    from ataraxis_data_structures.data_loggers.formats.archive_format import repeat_counts

    timestamps = np.arange(count + 1, dtype=np.uint64) * np.uint64(4000)
    payloads = np.random.default_rng(1).integers(0, 256, (count + 1, PAYLOAD), dtype=np.uint8)
    onset = np.frombuffer(np.uint64(ONSET_US).tobytes(), dtype=np.uint8)
    writer = ArchiveWriter(archive)
    for start in range(0, count + 1, 100_000):
        stop = min(count + 1, start + 100_000)
        stamps = timestamps[start:stop]
        names, lengths = member_names(1, stamps, repeat_counts(stamps))
        heads = np.zeros((stop - start, 9), dtype=np.uint8)
        heads[:, 0] = 1
        heads[:, 1:] = stamps.view(np.uint8).reshape(-1, 8)
        bodies = [memoryview(onset if row == 0 else payloads[row]) for row in range(start, stop)]
        writer.add_batch(names, lengths, heads, bodies)
    writer.close()


def work(path: str, onset: int, keys: list[str]) -> tuple[int, int, int, int, float]:
    """One task of the pool: open the archive again and walk the keys.

    The 'parse' is kept to what any parser does first, taking each payload's length and timestamp, so the figure is
    the reader's cost; a real parser adds its own, the same under either package.
    """
    count = 0
    total = 0
    last = np.uint64(0)
    for message in LogArchiveReader(Path(path), onset_us=np.uint64(onset)).iter_messages(keys=keys):
        count += 1
        total += len(message.payload)
        last = message.timestamp_us
    return os.getpid(), count, total + int(last) % 1000, len(keys), peak_rss_mb()


def ready() -> int:
    return os.getpid()


def pattern(archive: Path, workers: int) -> dict[str, Any]:
    start = time.perf_counter()
    reader = LogArchiveReader(archive)
    onset = int(reader.onset_timestamp_us)
    batches = reader.get_batches(workers=workers)
    batched = time.perf_counter()
    context = multiprocessing.get_context("spawn")
    with context.Pool(workers) as pool:
        # The pool's start-up (interpreters importing numpy and the package) is timed apart: it does not grow with
        # the archive, so the bench does not scale it when it scales a smaller reference run.
        pool.starmap(ready, [()] * workers)
        started = time.perf_counter()
        results = pool.starmap(work, [(str(archive), onset, keys) for keys in batches])
    elapsed = time.perf_counter() - start
    worker_rss: dict[int, float] = {}
    for pid, _, _, _, rss in results:
        worker_rss[pid] = max(rss, worker_rss.get(pid, 0.0))
    return {
        "seconds": elapsed,
        "batches_seconds": batched - start,
        "startup_seconds": started - batched,
        "batches": len(batches),
        "messages": sum(result[1] for result in results),
        "checksum": sum(result[2] for result in results),
        "parent_rss_mb": peak_rss_mb(),
        "worker_rss_mb": sorted(worker_rss.values()),
    }


def count_job(archive: Path) -> dict[str, Any]:
    start = time.perf_counter()
    count = LogArchiveReader(archive).message_count
    result: dict[str, Any] = {"message_count": count, "message_count_seconds": time.perf_counter() - start}
    try:
        from ataraxis_data_structures.data_loggers import read_archive_message_count
    except ImportError:
        return result
    start = time.perf_counter()
    result["read_archive_message_count"] = read_archive_message_count(archive)
    result["read_archive_message_count_seconds"] = time.perf_counter() - start
    return result


def columns_job(archive: Path) -> dict[str, Any]:
    start = time.perf_counter()
    columns = LogArchiveReader(archive).read_columns()  # type: ignore[attr-defined]
    elapsed = time.perf_counter() - start
    assert columns.payloads is not None
    return {
        "seconds": elapsed,
        "messages": len(columns.timestamps_us),
        "payload_shape": list(columns.payloads.shape),
        "rss_mb": peak_rss_mb(),
    }


def main() -> None:
    job, archive = sys.argv[1], Path(sys.argv[2])
    if job == "make":
        make(archive, int(sys.argv[3]))
        result: dict[str, Any] = {"size": archive.stat().st_size}
    elif job == "pattern":
        result = pattern(archive, int(sys.argv[3]))
    elif job == "count":
        result = count_job(archive)
    elif job == "columns":
        result = columns_job(archive)
    else:
        sys.exit(f"unknown job {job}")
    print(json.dumps(result))


if __name__ == "__main__":
    main()
