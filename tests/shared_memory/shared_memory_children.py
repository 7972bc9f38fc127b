"""Code that the shared-memory tests run in child processes (spawned or forked)."""

from __future__ import annotations

import multiprocessing.synchronize
import time
import warnings
from multiprocessing.queues import Queue
from pathlib import Path
from typing import Any

from ataraxis_data_structures import SharedMemoryArray

PREFIX = "axds-test-sma-"
SHM = Path("/dev/shm")


def ours() -> set[str]:
    """The buffers of these tests that exist now (/dev/shm is shared with other programs: only PREFIX counts)."""
    return {entry.name for entry in SHM.iterdir() if entry.name.startswith(PREFIX)} if SHM.is_dir() else set()


def increment(array: SharedMemoryArray, times: int, start: multiprocessing.synchronize.Event) -> None:
    """Adds 1 to element 0, ``times`` times, each as a locked read-modify-write."""
    start.wait(60)
    for _ in range(times):
        with array.array() as data:
            data[0] += 1


def report(array: SharedMemoryArray, queue: Queue[Any]) -> None:
    """Sends what the child sees (connected or not, the values) and writes its answer into element 0."""
    connected = array.is_connected
    if not connected:
        array.connect()
    queue.put({"connected": connected, "values": array[:].tolist(), "repr": repr(array)})
    array[0] = -7


def hold_lock(array: SharedMemoryArray, locked: multiprocessing.synchronize.Event) -> None:
    """Takes the lock, half-writes, tells the parent, and waits to be killed while holding it."""
    with array.array() as data:
        data[0] = 123
        locked.set()
        time.sleep(600)


def lock_after_holder_died(array: SharedMemoryArray, queue: Queue[Any]) -> None:
    """Reads under the lock that a killed process held, and reports the warning it got."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        value = int(array[0])
    queue.put({"value": value, "warnings": [(type(w.message).__name__, Path(w.filename).name) for w in caught]})


def create_and_wait(name: str) -> None:
    """Run as a script: creates an array (this process owns it), says so, and waits to be killed."""
    import numpy as np

    array = SharedMemoryArray.create_array(name, np.zeros(4, dtype=np.int64))
    array[0] = 1
    print("created", flush=True)
    time.sleep(600)


if __name__ == "__main__":
    import sys

    create_and_wait(sys.argv[1])
