"""Demo part: producer processes log through one DataLogger; the log is assembled into archives and read back."""

from __future__ import annotations

import multiprocessing
import os
import time
from pathlib import Path
from typing import Any

import numpy as np

from ataraxis_data_structures import SharedMemoryArray
from ataraxis_data_structures.data_loggers import DataLogger, LogArchiveReader, LogPackage, assemble_log_archives

PRODUCERS = {1: "lick sensor", 2: "wheel encoder", 3: "camera frame stamps"}
MESSAGES_PER_PRODUCER = 5_000  # The parent raises the stop flag once every producer has logged at least this many.
READING = np.dtype([("sequence", "<u4"), ("value", "<f8")])
STOP = 0  # Slot of the shared control array that tells the producers to stop; slot i holds producer i's count.


def _produce(queue: Any, control: SharedMemoryArray, source_id: int) -> None:
    """Logs the onset (UTC epoch in microseconds, at timestamp 0), then readings until the shared stop flag is set.

    The producer publishes how many readings it has logged in its slot of the shared control array, so the parent
    knows when to stop it and how many messages its archive must hold.
    """
    onset_ns = time.time_ns()
    started = time.perf_counter_ns()
    onset = np.array([onset_ns // 1000], dtype="<u8").view(np.uint8)
    queue.put(LogPackage(np.uint8(source_id), np.uint64(0), onset))
    reading = np.zeros(1, dtype=READING)
    sequence = 0
    while True:
        if sequence % 500 == 0:  # A locked read of the flag every 500 readings, and the count published meanwhile.
            control[source_id] = sequence
            if control[STOP]:
                break
        reading["sequence"] = sequence
        reading["value"] = np.sin(sequence / 100) * source_id
        elapsed_us = max(1, (time.perf_counter_ns() - started) // 1000)  # 0 is reserved for the onset message
        queue.put(LogPackage(np.uint8(source_id), np.uint64(elapsed_us), reading.view(np.uint8)))
        sequence += 1
    control[source_id] = sequence


def run(root: Path) -> Path:
    """Logs from several producer processes, assembles the archives with verification, checks every message.

    Returns:
        The log directory, holding one .npz archive per producer.
    """
    print("\n== Data logging: producer processes -> DataLogger -> .npz archives -> LogArchiveReader")
    logger = DataLogger(root / "recording", f"demo_session_{os.getpid()}")
    logger.start()
    # Slot 0: the stop flag; slot i: producer i's count. A copy sent to a spawned producer connects itself.
    control = SharedMemoryArray.create_array(f"axds_demo_{os.getpid()}", np.zeros(1 + max(PRODUCERS), dtype=np.uint64))
    try:
        context = multiprocessing.get_context("spawn")
        producers = [
            context.Process(target=_produce, args=(logger.input_queue, control, source_id)) for source_id in PRODUCERS
        ]
        started = time.perf_counter()
        for producer in producers:
            producer.start()
        deadline = time.monotonic() + 120
        while min(int(control[source_id]) for source_id in PRODUCERS) < MESSAGES_PER_PRODUCER:
            if time.monotonic() > deadline or not all(producer.is_alive() for producer in producers):
                raise RuntimeError("the producers stopped logging before the stop flag was raised")
            time.sleep(0.01)
        control[STOP] = 1
        for producer in producers:
            producer.join()
            if producer.exitcode != 0:
                raise RuntimeError(f"producer {producer.name} failed with exit code {producer.exitcode}")
        counts = {source_id: int(control[source_id]) for source_id in PRODUCERS}
    finally:
        control.destroy()
    logger.stop()
    elapsed = time.perf_counter() - started
    directory = logger.output_directory
    live = sorted(directory.glob("*.axlog.npy"))
    print(
        f"{len(PRODUCERS)} producer processes logged {sum(counts.values()) + len(PRODUCERS):,} messages in "
        f"{elapsed:.1f} s until a SharedMemoryArray flag stopped them (process start-up included); live log: "
        f"{', '.join(path.name for path in live)}"
    )

    assemble_log_archives(directory, verify_integrity=True)
    for source_id, name in PRODUCERS.items():
        archive = directory / f"{source_id}_log.npz"
        reader = LogArchiveReader(archive)
        count = counts[source_id]
        if reader.message_count != count:
            raise RuntimeError(f"{archive.name}: {reader.message_count} messages, the producer logged {count}")
        timestamps, payloads = reader.read_all_messages()
        readings = np.concatenate([payload.view(READING) for payload in payloads])
        if readings["sequence"].tolist() != list(range(count)):
            raise RuntimeError(f"{archive.name}: the readings are not all there in order")
        if not np.array_equal(readings["value"], np.sin(np.arange(count) / 100) * source_id):
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
    if list(directory.glob("*.npy")) or list(directory.glob(".*")):
        raise RuntimeError("assembly left live log files (or the logger's lock file) behind")
    _plot(directory)
    return directory


def _plot(directory: Path) -> None:
    """Draws each source's message rate and interval distribution, as `axds inspect DIR --plot` does."""
    from ataraxis_data_structures.cli import main as axds

    picture = directory.parent / "recording.png"
    if axds(["inspect", str(directory), "--plot", str(picture)]) != 0 or not picture.exists():
        raise RuntimeError(f"axds inspect --plot did not write {picture}")
    print(f"axds inspect {directory.name} --plot {picture.name}: message rate and intervals per source")
