"""Reading archives of any size in bounded memory, ours only: python workload_archive_memory.py JOB DIRECTORY TOTAL.

Jobs:
- make DIRECTORY TOTAL: writes 4 archives (sources 1-4) of TOTAL / 4 messages of 64 bytes each, 250 µs apart.
- iterate DIRECTORY TOTAL: a full ``iter_messages()`` pass over the 4 archives, one after the other, touching every
  payload; reports messages per second and this process's peak RSS (VmHWM).
- columns DIRECTORY TOTAL: ``read_columns()`` of each archive in turn (the arrays of one archive dropped before the
  next), summing a payload column; reports seconds and peak RSS.
Prints one JSON line.
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np

from ataraxis_data_structures.data_loggers import LogArchiveReader

SOURCES = (1, 2, 3, 4)
PAYLOAD = 64
ONSET_US = 1_700_000_000_000_000


def peak_rss_mb() -> float:
    with open("/proc/self/status", encoding="ascii") as status:
        for line in status:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    return 0.0


def make(directory: Path, per_source: int) -> None:
    from ataraxis_data_structures.data_loggers.assembly.zip_writer import ArchiveWriter, member_names
    from ataraxis_data_structures.data_loggers.formats.archive_format import repeat_counts

    directory.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(3)
    block = rng.integers(0, 256, (100_000, PAYLOAD), dtype=np.uint8)
    onset = np.frombuffer(np.uint64(ONSET_US).tobytes(), dtype=np.uint8)
    for source in SOURCES:
        writer = ArchiveWriter(directory / f"{source}_log.npz")
        timestamps = np.arange(per_source + 1, dtype=np.uint64) * np.uint64(250)
        for start in range(0, per_source + 1, 100_000):
            stop = min(per_source + 1, start + 100_000)
            stamps = timestamps[start:stop]
            names, lengths = member_names(source, stamps, repeat_counts(stamps))
            heads = np.zeros((stop - start, 9), dtype=np.uint8)
            heads[:, 0] = source
            heads[:, 1:] = stamps.view(np.uint8).reshape(-1, 8)
            bodies = [memoryview(onset if row == 0 else block[row % 100_000]) for row in range(start, stop)]
            writer.add_batch(names, lengths, heads, bodies)
        writer.close()


def iterate(directory: Path) -> dict[str, Any]:
    count = 0
    checksum = 0
    start = time.perf_counter()
    for source in SOURCES:
        for message in LogArchiveReader(directory / f"{source}_log.npz").iter_messages():
            count += 1
            checksum += int(message.payload[-1])
    elapsed = time.perf_counter() - start
    return {"messages": count, "messages_per_s": count / elapsed, "checksum": checksum, "rss_mb": peak_rss_mb()}


def columns(directory: Path) -> dict[str, Any]:
    count = 0
    checksum = 0
    start = time.perf_counter()
    for source in SOURCES:
        result = LogArchiveReader(directory / f"{source}_log.npz").read_columns()
        assert result.payloads is not None
        count += len(result.timestamps_us)
        checksum += int(result.payloads[:, -1].sum())
        del result
    elapsed = time.perf_counter() - start
    return {"messages": count, "seconds": elapsed, "checksum": checksum, "rss_mb": peak_rss_mb()}


def main() -> None:
    job, directory, total = sys.argv[1], Path(sys.argv[2]), int(sys.argv[3])
    if job == "make":
        make(directory, total // len(SOURCES))
        result: dict[str, Any] = {"bytes": sum(path.stat().st_size for path in directory.glob("*_log.npz"))}
    elif job == "iterate":
        result = iterate(directory)
    elif job == "columns":
        result = columns(directory)
    else:
        sys.exit(f"unknown job {job}")
    print(json.dumps(result))


if __name__ == "__main__":
    main()
