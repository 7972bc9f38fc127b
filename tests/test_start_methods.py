"""The library's process-shared objects under every multiprocessing start method: spawn, fork and forkserver.

Python 3.14 made ``forkserver`` the default start method on Linux (it was ``fork``), so a program that starts its
workers with ``multiprocessing.Process`` now hands them DataLogger queues, SharedMemoryArrays and trackers by pickling
them to a child of the fork server. Each test runs the same work under each method; the code the children run is in
start_methods_children.py.
"""

from __future__ import annotations

import multiprocessing
import os
import signal
import uuid
import warnings
from collections import Counter
from multiprocessing.context import DefaultContext
from pathlib import Path
from typing import cast

import numpy as np
import pytest

from ataraxis_data_structures import ProcessingTracker, SharedMemoryArray
from ataraxis_data_structures._platform import FORCE_PORTABLE
from ataraxis_data_structures.data_loggers import DataLogger, LogArchiveReader, assemble_log_archives
from ataraxis_data_structures.shared_memory import SharedMemoryLockWarning
from start_methods_children import ONSET_US, drain, hold_lock_and_die, increment, payload_for, produce

WAIT = 120.0
METHODS = [
    pytest.param(
        method,
        marks=pytest.mark.skipif(
            method not in multiprocessing.get_all_start_methods(), reason=f"no {method} start method on this platform"
        ),
    )
    for method in ("spawn", "fork", "forkserver")
]


@pytest.mark.slow
@pytest.mark.parametrize("method", METHODS)
# The running DataLogger keeps a watchdog thread in this process, and Python 3.12+ warns about any fork of a
# multi-threaded process; the forked producers only put messages, which takes none of that thread's locks.
@pytest.mark.filterwarnings("ignore:This process .* is multi-threaded:DeprecationWarning")
def test_datalogger_producers_of_each_start_method_lose_nothing(tmp_path: Path, method: str) -> None:
    context = cast("DefaultContext", multiprocessing.get_context(method))  # typeshed's BaseContext lacks Process
    name = f"start_methods_{uuid.uuid4().hex[:8]}"  # instance names are machine-wide: unique even beside other runs
    logger = DataLogger(tmp_path, name)
    logger.start()
    try:
        producers = [context.Process(target=produce, args=(logger.input_queue, source, 1000)) for source in (1, 2)]
        for process in producers:
            process.start()
        for process in producers:
            process.join(WAIT)
            assert process.exitcode == 0
    finally:
        logger.stop()
    directory = tmp_path / f"{name}_data_log"
    assemble_log_archives(directory, verify_integrity=True)
    for source in (1, 2):
        reader = LogArchiveReader(directory / f"{source}_log.npz")
        assert reader.onset_timestamp_us == ONSET_US
        timestamps, payloads = reader.read_all_messages()
        assert (timestamps - ONSET_US).tolist() == list(range(1, 1001))
        assert all(np.array_equal(p, payload_for(source, t)) for t, p in zip(range(1, 1001), payloads, strict=True))


@pytest.fixture
def buffer_name() -> str:
    return f"axds-test-start-{uuid.uuid4().hex[:12]}"


@pytest.mark.slow
@pytest.mark.parametrize("method", METHODS)
def test_shared_memory_array_writers_of_each_start_method_lose_no_increment(buffer_name: str, method: str) -> None:
    context = cast("DefaultContext", multiprocessing.get_context(method))  # typeshed's BaseContext lacks Process
    array = SharedMemoryArray.create_array(buffer_name, np.zeros(2, dtype=np.int64))
    try:
        start = context.Event()
        workers = [context.Process(target=increment, args=(array, 500, start)) for _ in range(3)]
        for worker in workers:
            worker.start()
        start.set()
        for worker in workers:
            worker.join(WAIT)
        assert [worker.exitcode for worker in workers] == [0, 0, 0]
        assert array[0] == 1500
        assert Path("/dev/shm", buffer_name).exists()  # no child's exit removed the creator's buffer
    finally:
        array.destroy()


@pytest.mark.slow
@pytest.mark.skipif(FORCE_PORTABLE, reason="fallback lock: a killed holder leaves it held (documented)")
@pytest.mark.parametrize("method", METHODS)
def test_a_lock_held_by_a_killed_child_of_each_start_method_is_taken_over(buffer_name: str, method: str) -> None:
    context = cast("DefaultContext", multiprocessing.get_context(method))  # typeshed's BaseContext lacks Process
    array = SharedMemoryArray.create_array(buffer_name, np.zeros(2, dtype=np.int64))
    try:
        locked = context.Event()
        holder = context.Process(target=hold_lock_and_die, args=(array, locked))
        holder.start()
        assert locked.wait(WAIT)
        os.kill(holder.pid, signal.SIGKILL)  # type: ignore[arg-type]
        holder.join(WAIT)
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            assert array[1] == 99  # the lock is taken over (with a warning) instead of waiting forever
        assert [type(warning.message) for warning in caught] == [SharedMemoryLockWarning]
    finally:
        array.destroy()


@pytest.mark.slow
@pytest.mark.parametrize("method", METHODS)
def test_tracker_workers_of_each_start_method_do_every_job_once(tmp_path: Path, method: str) -> None:
    context = cast("DefaultContext", multiprocessing.get_context(method))  # typeshed's BaseContext lacks Process
    tracker = ProcessingTracker(file_path=tmp_path / "tracker.yaml")
    ids = tracker.initialize_jobs([("job", str(index)) for index in range(30)])
    workers = [context.Process(target=drain, args=(tracker, tmp_path / f"w{index}.log")) for index in range(3)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(WAIT)
    assert [worker.exitcode for worker in workers] == [0, 0, 0]
    claimed = Counter(line for log in tmp_path.glob("w*.log") for line in log.read_text().split())
    assert claimed == Counter(ids)  # each job by exactly one worker, none lost
    assert tracker.complete
