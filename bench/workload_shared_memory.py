"""Workload: SharedMemoryArray locked access, alone and from 4 competing processes; prints one JSON line.

Runs unchanged under the original releases (6.2.0, 7.2.0) and under ours (all import ``ataraxis_data_structures``).
Single-process figures are the median of 5 timed batches; the contended figure is 4 spawned processes each adding 1
to one counter ``INCREMENTS`` times under the lock, with the final count checked (a lost increment fails the run).

Usage: python workload_shared_memory.py OPERATIONS INCREMENTS
"""

from __future__ import annotations

import json
import multiprocessing
import os
import statistics
import sys
import time
from typing import Any

import numpy as np

from ataraxis_data_structures import SharedMemoryArray


def _connected(array: SharedMemoryArray) -> SharedMemoryArray:
    if not array.is_connected:  # 6.2: every process connects itself; 7.x: a no-op
        array.connect()
    return array


def _increment(array: SharedMemoryArray, times: int, start: Any) -> None:
    _connected(array)
    start.wait()
    for _ in range(times):
        with array.array() as data:
            data[0] += 1
    array.disconnect()


def _per_op_ns(action: Any, operations: int) -> float:
    batches = []
    for _ in range(5):
        began = time.perf_counter()
        for _ in range(operations):
            action()
        batches.append((time.perf_counter() - began) / operations * 1e9)
    return statistics.median(batches)


def main() -> None:
    operations, increments = int(sys.argv[1]), int(sys.argv[2])
    name = f"axds-bench-{os.getpid()}"
    array = _connected(SharedMemoryArray.create_array(name, np.zeros(16, dtype=np.int64)))

    def locked_block() -> None:
        with array.array() as data:
            data[0] += 1

    result = {
        "read_ns": _per_op_ns(lambda: array[3], operations),
        "write_ns": _per_op_ns(lambda: array.__setitem__(3, 7), operations),
        "slice_read_ns": _per_op_ns(lambda: array[0:8], operations),
        "locked_block_ns": _per_op_ns(locked_block, operations),
    }
    with array.array() as data:
        data[0] = 0
    context = multiprocessing.get_context("spawn")
    start = context.Event()
    workers = [context.Process(target=_increment, args=(array, increments, start)) for _ in range(4)]
    for worker in workers:
        worker.start()
    time.sleep(1.0)  # let every worker import and connect before the clock starts
    began = time.perf_counter()
    start.set()
    for worker in workers:
        worker.join()
    elapsed = time.perf_counter() - began
    count = int(array[0])
    array.destroy()
    if count != 4 * increments or any(worker.exitcode != 0 for worker in workers):
        raise SystemExit(f"lost increments: {count} of {4 * increments}")
    result["contended_increments_per_s"] = 4 * increments / elapsed
    print(json.dumps(result))


if __name__ == "__main__":
    main()
