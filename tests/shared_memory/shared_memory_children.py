"""Code that the shared-memory tests run in child processes (spawned or forked)."""

from __future__ import annotations

import multiprocessing.synchronize
import sys
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


def create_then_obey(name: str, channel: Any) -> None:
    """Creates an array, tells ``channel`` (a Connection, or None for stdout/stdin), then does what it is told:
    "destroy" (then exits) or "exit" (exits leaving it to the finalizers)."""
    import numpy as np

    array = SharedMemoryArray.create_array(name, np.zeros(4, dtype=np.int64))
    if channel is None:
        print("created", flush=True)
        command = sys.stdin.readline().strip()
    else:
        channel.send("created")
        command = channel.recv()
    if command == "destroy":
        array.destroy()


def takeover_victim(name: str, how: str) -> None:
    """Run as a script: the creator of ``name`` whose buffer the test takes over. ``how`` is "alone" (this process
    creates it, with its own resource tracker) or a start method: a multiprocessing child of this process creates it
    (sharing this process's tracker), and this process lives on until told "end" after the child exits."""
    from multiprocessing import resource_tracker

    if how == "alone":
        create_then_obey(name, None)
        print(resource_tracker._resource_tracker._pid, flush=True)  # type: ignore[attr-defined]  # the tracker that outlives this process
        return
    resource_tracker.ensure_running()  # as in a program that already used it: its children share it
    print(resource_tracker._resource_tracker._pid, flush=True)  # type: ignore[attr-defined]
    method, _, within = how.partition("-")
    parent_end, child_end = multiprocessing.Pipe()
    context: Any = multiprocessing.get_context(method)
    child = context.Process(target=create_then_obey, args=(name, child_end))
    child.start()
    print(parent_end.recv(), flush=True)
    if within:  # "<method>-tree": this process, sharing the child's tracker, takes the name over itself
        import numpy as np

        replacement = SharedMemoryArray.create_array(name, np.ones(4, dtype=np.int64), exists_ok=True)
    parent_end.send(sys.stdin.readline().strip())
    child.join(120)
    print(f"child exited {child.exitcode}", flush=True)
    if within:
        print(f"kept {replacement[:].tolist()}", flush=True)
        replacement.destroy()  # the shared tracker must still hold the name (else it reports a KeyError)
    sys.stdin.readline()  # "end"


if __name__ == "__main__":
    import json

    if sys.argv[1] == "behaviour":
        print(json.dumps(behaviour(sys.argv[2])))
    elif sys.argv[1] == "victim":
        takeover_victim(sys.argv[2], sys.argv[3])
    else:
        create_and_wait(sys.argv[2])
