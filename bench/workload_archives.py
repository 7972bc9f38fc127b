"""Archive workloads, run under either package: python workload_archives.py JOB DIRECTORY COUNT.

Jobs:
- assemble-native: writes COUNT messages of 64 bytes (one source, plus the onset) in the package's own live format
  (per-message .npy files for the reference, one .axlog.npy file for ours), then times assemble_log_archives (defaults:
  sources removed afterwards);
- assemble-npy: the same messages as reference-style per-message .npy files, for both packages;
- read-all: times LogArchiveReader(DIRECTORY/1_log.npz) + read_all_messages() (a fresh reader every repeat);
- iterate: times LogArchiveReader(...) + a full pass of iter_messages().
Input preparation (including an os.sync() so fsyncs in the timed part do not pay for writing the input) is not
timed. Each job repeats until 2 s are spent (at most 5 times) and reports its best rate.
Prints one JSON line: the rate in messages per second and a checksum of what was read or archived.
"""

from __future__ import annotations

import json
import os
import shutil
import sys
import time
import zlib
from pathlib import Path
from typing import Any

import numpy as np

from ataraxis_data_structures.data_loggers import LogArchiveReader, assemble_log_archives

SOURCE = 1
ONSET_US = 1_700_000_000_000_000
PAYLOAD = 64


def messages(count: int) -> list[tuple[int, bytes]]:
    rng = np.random.default_rng(7)
    payloads = rng.integers(0, 256, (count, PAYLOAD), dtype=np.uint8)
    return [(0, np.uint64(ONSET_US).tobytes())] + [(10 * (n + 1), payloads[n].tobytes()) for n in range(count)]


def write_npy(directory: Path, count: int) -> None:
    directory.mkdir(parents=True)
    for timestamp, payload in messages(count):
        data = bytes([SOURCE]) + np.uint64(timestamp).tobytes() + payload
        np.save(directory / f"{SOURCE:03d}_{timestamp:020d}.npy", np.frombuffer(data, dtype=np.uint8))


def write_native(directory: Path, count: int) -> None:
    try:
        from ataraxis_data_structures.data_loggers.formats import log_format  # type: ignore[attr-defined]
    except ImportError:  # the reference release: its logger writes one .npy file per message
        write_npy(directory, count)
        return
    directory.mkdir(parents=True)
    records = b"".join(log_format.encode_record(t, p) for t, p in messages(count))
    (directory / log_format.log_file_name(SOURCE, 0)).write_bytes(log_format.encode_file_header(SOURCE) + records)


def archive_checksum(path: Path) -> int:
    with np.load(path) as data:
        return zlib.crc32(b"".join(data[key].tobytes() for key in data.files))


def best_rate(run: Any, count: int, prepare: Any = None) -> float:
    best = 0.0
    spent = 0.0
    for _ in range(5):
        if prepare is not None:
            prepare()
        start = time.perf_counter()
        run()
        elapsed = time.perf_counter() - start
        spent += elapsed
        best = max(best, count / elapsed)
        if spent >= 2.0:
            break
    return best


def main() -> None:
    job, directory, count = sys.argv[1], Path(sys.argv[2]), int(sys.argv[3])
    result: dict[str, Any] = {"job": job, "count": count}
    if job.startswith("assemble"):
        writer = write_native if job == "assemble-native" else write_npy

        def prepare() -> None:
            shutil.rmtree(directory, ignore_errors=True)
            writer(directory, count)
            os.sync()  # the input reaches the disk before the clock starts, as a recording's files would have

        result["messages_per_s"] = best_rate(lambda: assemble_log_archives(directory), count + 1, prepare)
        result["checksum"] = archive_checksum(directory / f"{SOURCE}_log.npz")
        shutil.rmtree(directory, ignore_errors=True)
    elif job == "read-all":
        archive = directory / f"{SOURCE}_log.npz"
        outcome: list[Any] = []
        result["messages_per_s"] = best_rate(
            lambda: outcome.append(LogArchiveReader(archive).read_all_messages()), count
        )
        timestamps, payloads = outcome[-1]
        result["checksum"] = zlib.crc32(timestamps.tobytes() + b"".join(p.tobytes() for p in payloads))
    elif job == "iterate":
        archive = directory / f"{SOURCE}_log.npz"
        collected: list[Any] = []

        def iterate() -> None:
            collected[:] = [(m.timestamp_us, m.payload) for m in LogArchiveReader(archive).iter_messages()]

        result["messages_per_s"] = best_rate(iterate, count)
        result["checksum"] = zlib.crc32(
            np.asarray([t for t, _ in collected], dtype=np.uint64).tobytes()
            + b"".join(p.tobytes() for _, p in collected)
        )
    else:
        sys.exit(f"unknown job {job}")
    print(json.dumps(result))


if __name__ == "__main__":
    main()
