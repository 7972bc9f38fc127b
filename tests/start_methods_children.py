"""Code that tests/test_start_methods.py runs in child processes started by each multiprocessing start method.

Every target takes the library's objects as arguments, so that each method hands them over its own way: inherited
through fork, pickled to a fresh interpreter (spawn), or pickled to a child of the fork server (forkserver).
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import numpy as np

from ataraxis_data_structures import ProcessingTracker, SharedMemoryArray
from ataraxis_data_structures.data_loggers import LogPackage

ONSET_US = 1_700_000_000_000_000
"""The onset every producer logs (timestamp 0), in epoch microseconds."""


def payload_for(source_id: int, timestamp: int) -> np.ndarray[Any, np.dtype[np.uint8]]:
    """The payload of one message: its length and bytes follow from the source and the timestamp."""
    return np.full(timestamp % 40, (source_id * 7 + timestamp) % 256, dtype=np.uint8)


def produce(queue: Any, source_id: int, count: int) -> None:
    """Logs the onset message, then count messages with timestamps 1..count."""
    onset = np.frombuffer(np.uint64(ONSET_US).tobytes(), dtype=np.uint8)
    queue.put(LogPackage(np.uint8(source_id), np.uint64(0), onset))
    for timestamp in range(1, count + 1):
        queue.put(LogPackage(np.uint8(source_id), np.uint64(timestamp), payload_for(source_id, timestamp)))


def increment(array: SharedMemoryArray, times: int, start: Any) -> None:
    """Adds 1 to element 0 times times under the array's lock (a read-modify-write that loses counts without it)."""
    array.connect()
    start.wait(60)
    for _ in range(times):
        with array.array() as data:
            data[0] += 1


def hold_lock_and_die(array: SharedMemoryArray, locked: Any) -> None:
    """Takes the array's lock, half-writes, says so, and waits to be killed while holding it."""
    array.connect()
    with array.array() as data:
        data[1] = 99
        locked.set()
        time.sleep(600)  # the parent kills this process here


def drain(tracker: ProcessingTracker, log: Path) -> None:
    """The README's worker loop: claims and completes jobs until none is left, logging each claimed ID to log."""
    with log.open("a", encoding="utf-8") as out:
        while (job_id := tracker.claim_job()) is not None:
            with tracker.run_job(job_id):
                out.write(job_id + "\n")
                out.flush()
