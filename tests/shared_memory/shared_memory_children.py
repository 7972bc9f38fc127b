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


def wait_for_lock(array: SharedMemoryArray, waiting: multiprocessing.synchronize.Event) -> None:
    """Says it is about to lock, then blocks on the lock another process holds (until interrupted)."""
    waiting.set()
    array[0]


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


def behaviour(name: str) -> dict[str, Any]:
    """Run as a script under any release: what the public API does, as JSON-ready values and error type names."""
    import numpy as np

    report: dict[str, Any] = {}

    def attempt(label: str, action: Any) -> None:
        try:
            value = action()
            report[label] = value.tolist() if isinstance(value, np.ndarray | np.generic) else value
        except Exception as error:
            report[label] = f"raises {type(error).__name__}"

    array = SharedMemoryArray.create_array(name, np.zeros(4, dtype=np.int32))
    if not array.is_connected:  # 6.2 connects the creator explicitly
        array.connect()
    report["repr"] = repr(array)
    report["properties"] = [array.name, list(array.shape), str(array.datatype), array.is_connected]
    array[0] = 5
    array[1:3] = [7.9, 8.2]
    array[3] = -1.5
    report["values"] = array[:].tolist()
    report["scalar type"] = type(array[0]).__name__
    report["slice type"] = type(array[0:2]).__name__
    attempt("read out of bounds", lambda: array[10])
    attempt("write out of bounds", lambda: array.__setitem__(10, 1))
    attempt("write overflow", lambda: array.__setitem__(0, 2**40))
    attempt("write None", lambda: array.__setitem__(0, None))
    attempt("write wrong shape", lambda: array.__setitem__(slice(0, 2), [1, 2, 3]))
    attempt("create duplicate", lambda: SharedMemoryArray.create_array(name, np.zeros(2)))
    attempt("create from list", lambda: SharedMemoryArray.create_array(name + "x", [1, 2]))  # type: ignore[arg-type]
    attempt("create empty", lambda: SharedMemoryArray.create_array(name + "y", np.array([])))
    with array.array() as data:
        data[:] += 1
        report["array() type"] = type(data).__name__
    report["after block"] = array[:].tolist()
    array.disconnect()
    report["after disconnect"] = [array.is_connected, repr(array)]
    attempt("read disconnected", lambda: array[0])
    array.connect()
    report["reconnected"] = array[:].tolist()
    array.destroy()
    report["after destroy"] = [array.is_connected, (SHM / name).exists()]
    attempt("connect destroyed", array.connect)
    return report


if __name__ == "__main__":
    import json
    import sys

    if sys.argv[1] == "behaviour":
        print(json.dumps(behaviour(sys.argv[2])))
    else:
        create_and_wait(sys.argv[2])
