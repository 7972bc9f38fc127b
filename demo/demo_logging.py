"""Demo part: producer processes log through one DataLogger; the log is assembled into archives and read back."""

from __future__ import annotations

import multiprocessing
import time
from pathlib import Path
from typing import Any

import numpy as np

from ataraxis_data_structures.data_loggers import DataLogger, LogArchiveReader, LogPackage, assemble_log_archives

PRODUCERS = {1: "lick sensor", 2: "wheel encoder", 3: "camera frame stamps"}
MESSAGES_PER_PRODUCER = 5_000
READING = np.dtype([("sequence", "<u4"), ("value", "<f8")])


def _produce(queue: Any, source_id: int, count: int) -> None:
    """Logs the onset (UTC epoch in microseconds, at timestamp 0), then count readings stamped with elapsed time."""
    onset_ns = time.time_ns()
    started = time.perf_counter_ns()
    onset = np.array([onset_ns // 1000], dtype="<u8").view(np.uint8)
    queue.put(LogPackage(np.uint8(source_id), np.uint64(0), onset))
    reading = np.zeros(1, dtype=READING)
    for sequence in range(count):
        reading["sequence"] = sequence
        reading["value"] = np.sin(sequence / 100) * source_id
        elapsed_us = max(1, (time.perf_counter_ns() - started) // 1000)  # 0 is reserved for the onset message
        queue.put(LogPackage(np.uint8(source_id), np.uint64(elapsed_us), reading.view(np.uint8)))


def run(root: Path) -> Path:
    """Logs from several producer processes, assembles the archives with verification, checks every message.

    Returns:
        The log directory, holding one .npz archive per producer.
    """
    print("\n== Data logging: producer processes -> DataLogger -> .npz archives -> LogArchiveReader")
    logger = DataLogger(root / "recording", "session")
    logger.start()
    context = multiprocessing.get_context("spawn")
    producers = [
        context.Process(target=_produce, args=(logger.input_queue, source_id, MESSAGES_PER_PRODUCER))
        for source_id in PRODUCERS
    ]
    started = time.perf_counter()
    for producer in producers:
        producer.start()
    for producer in producers:
        producer.join()
        if producer.exitcode != 0:
            raise RuntimeError(f"producer {producer.name} failed with exit code {producer.exitcode}")
    logger.stop()
    elapsed = time.perf_counter() - started
    directory = logger.output_directory
    live = sorted(directory.glob("*.axlog"))
    print(
        f"{len(PRODUCERS)} producer processes logged {len(PRODUCERS) * (MESSAGES_PER_PRODUCER + 1):,} messages in "
        f"{elapsed:.1f} s (process start-up included); live log: {', '.join(path.name for path in live)}"
    )

    assemble_log_archives(directory, verify_integrity=True)
    for source_id, name in PRODUCERS.items():
        archive = directory / f"{source_id}_log.npz"
        reader = LogArchiveReader(archive)
        if reader.message_count != MESSAGES_PER_PRODUCER:
            raise RuntimeError(f"{archive.name}: {reader.message_count} messages, expected {MESSAGES_PER_PRODUCER}")
        timestamps, payloads = reader.read_all_messages()
        readings = np.concatenate([payload.view(READING) for payload in payloads])
        if readings["sequence"].tolist() != list(range(MESSAGES_PER_PRODUCER)):
            raise RuntimeError(f"{archive.name}: the readings are not all there in order")
        if not np.array_equal(readings["value"], np.sin(np.arange(MESSAGES_PER_PRODUCER) / 100) * source_id):
            raise RuntimeError(f"{archive.name}: a reading's value changed on the way")
        onset = int(reader.onset_timestamp_us)
        if not onset <= int(timestamps[0]) <= int(timestamps[-1]):
            raise RuntimeError(f"{archive.name}: the absolute timestamps do not start after the onset")
        onset_utc = np.datetime64(onset, "us")
        span_ms = (int(timestamps[-1]) - onset) / 1000
        print(
            f"{archive.name} ({name}): {reader.message_count:,} messages, onset {onset_utc} UTC, "
            f"{span_ms:.0f} ms of data, verified"
        )
    if list(directory.glob("*.axlog")):
        raise RuntimeError("assembly left live log files behind")
    return directory
