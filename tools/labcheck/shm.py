"""Drives SharedMemoryArray as the lab's VideoSystem and MicroControllerInterface use it (terminator arrays).

Both packages ``create_array(name=f"{id}_terminator_array", prototype=np.zeros(N, np.uint8), exists_ok=True)``, hand
the array to spawned children that ``connect()``, index it (``array[0] = 1``, ``while array[1] != 1``), and
``disconnect()``; the parent ``disconnect()`` + ``destroy()``. A crashed session leaves the name behind, and the next
session creates it again with ``exists_ok=True``. Prints one JSON line per step.

Run: ``PY tools/labcheck/shm.py``.
"""

from __future__ import annotations

import multiprocessing
import os
import time
from pathlib import Path
from typing import Any

import numpy as np

from _harness import Recorder
from ataraxis_data_structures import SharedMemoryArray

PREFIX = f"labcheck_{os.getpid()}"
NAME = f"{PREFIX}_terminator_array"


def _child(array: SharedMemoryArray) -> None:
    array.connect()
    while array[1] != 1:
        time.sleep(0.001)
    array[0] = 1
    array.disconnect()


def _crashing_creator(name: str) -> None:
    SharedMemoryArray.create_array(name=name, prototype=np.zeros(shape=4, dtype=np.uint8), exists_ok=True)
    os._exit(1)  # A crash: no disconnect, no destroy.


def main() -> None:
    """Runs the terminator-array life cycle, a second create, and a create after a crashed session."""
    rec = Recorder(Path(PREFIX))  # Records show the per-run name prefix as <tmp>.
    context = multiprocessing.get_context("spawn")
    array = rec.step(
        "create_array(exists_ok=True)",
        lambda: SharedMemoryArray.create_array(name=NAME, prototype=np.zeros(shape=4, dtype=np.uint8), exists_ok=True),
    )
    rec.step("read fresh [0], [1]", lambda: (int(array[0]), int(array[1]), type(array[0]).__name__))
    process = context.Process(target=_child, args=(array,))
    process.start()
    rec.step(
        "parent array[1] = 1; child sets [0]", lambda: (array.__setitem__(1, 1), process.join(60), int(array[0]))[2]
    )
    rec.step("child exit code", lambda: process.exitcode)
    rec.step(
        "create_array again while the first is connected (exists_ok=True)",
        lambda: SharedMemoryArray.create_array(name=NAME, prototype=np.zeros(shape=4, dtype=np.uint8), exists_ok=True),
    )
    rec.step("first array still reads", lambda: int(array[0]))
    rec.step(
        "create_array with another shape (exists_ok=True)",
        lambda: repr(
            SharedMemoryArray.create_array(name=NAME, prototype=np.zeros(shape=2, dtype=np.uint8), exists_ok=True)
        ),
    )
    rec.step(
        "create_array(exists_ok=False) on an existing name",
        lambda: repr(SharedMemoryArray.create_array(name=NAME, prototype=np.zeros(shape=4, dtype=np.uint8))),
    )
    rec.step("disconnect + destroy", lambda: (array.disconnect(), array.destroy()))
    rec.step("destroy twice", array.destroy)
    crashed = f"{NAME}_crashed"
    process = context.Process(target=_crashing_creator, args=(crashed,))
    process.start()
    process.join(60)
    rec.step("crashed creator exit code", lambda: process.exitcode)

    def recreate() -> Any:
        again = SharedMemoryArray.create_array(
            name=crashed, prototype=np.zeros(shape=4, dtype=np.uint8), exists_ok=True
        )
        values = [int(again[index]) for index in range(4)]
        again.disconnect()
        again.destroy()
        return values

    rec.step("create_array(exists_ok=True) after a crashed session", recreate)


if __name__ == "__main__":
    main()
