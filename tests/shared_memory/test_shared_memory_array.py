"""SharedMemoryArray: the 7.2 API and lifecycle, locked access from real processes, and what survives a SIGKILL."""

from __future__ import annotations

import gc
import multiprocessing
import os
import pickle
import signal
import subprocess
import sys
import threading
import time
import warnings
from multiprocessing.context import DefaultContext
from multiprocessing.shared_memory import SharedMemory
from pathlib import Path
from typing import cast

import numpy as np
import pytest
import shared_memory_children as children
from shared_memory_children import SHM, ours

from ataraxis_data_structures import SharedMemoryArray, SharedMemoryFormatError, SharedMemoryLockWarning
from ataraxis_data_structures import shared_memory as shared_memory_package
from ataraxis_data_structures._platform import FORCE_PORTABLE

pytestmark = pytest.mark.usefixtures("no_leaked_buffers")  # conftest.py: no buffer may outlive its test
START_METHODS = ["spawn", "fork"]


# ----- creation, access, casting -----
def test_exported_from_the_subpackage_and_the_top_level() -> None:
    assert shared_memory_package.SharedMemoryArray is SharedMemoryArray
    assert "SharedMemoryArray" in shared_memory_package.__all__


def test_creator_is_connected_and_sees_the_prototype(buffer_name: str) -> None:
    prototype = np.arange(6, dtype=np.int32).reshape(2, 3)
    array = SharedMemoryArray.create_array(buffer_name, prototype)
    try:
        assert array.is_connected
        assert (array.name, array.shape, array.datatype) == (buffer_name, (2, 3), np.dtype(np.int32))
        assert repr(array) == f"SharedMemoryArray(name='{buffer_name}', shape=(2, 3), datatype=int32, connected=True)"
        assert (SHM / buffer_name).exists()
        with array.array() as data:
            assert np.array_equal(data, prototype)
        prototype[0, 0] = 99  # the buffer holds a copy of the prototype
        assert array[0, 0] == 0
    finally:
        array.destroy()


def test_reads_are_copies_and_writes_are_cast(buffer_name: str) -> None:
    array = SharedMemoryArray.create_array(buffer_name, np.zeros(4, dtype=np.int32))
    try:
        array[0] = 5
        array[1:3] = [7.9, 8.2]
        array[3] = "3"
        assert isinstance(array[0], np.int32) and array[0] == 5
        window = array[0:3]
        assert isinstance(window, np.ndarray) and window.tolist() == [5, 7, 8]
        window[0] = 1000
        assert array[0] == 5  # a slice read is a copy, not a view of the buffer
        array[0] = -1.5
        assert array[0] == -1
        with array.array() as data:
            data[:] += 1  # the yielded array is the shared one
        assert array[:].tolist() == [0, 8, 9, 4]
    finally:
        array.destroy()


@pytest.mark.parametrize(
    ("index", "value", "error"),
    [
        (10, 1, IndexError),
        (0, 2**40, OverflowError),
        (0, None, TypeError),
        (slice(0, 2), [1, 2, 3], ValueError),
    ],
)
def test_bad_writes_name_the_array_index_and_value(buffer_name: str, index: object, value: object, error: type) -> None:
    array = SharedMemoryArray.create_array(buffer_name, np.zeros(4, dtype=np.int32))
    try:
        with pytest.raises(error) as caught:
            array[index] = value  # type: ignore[index]
        assert buffer_name in str(caught.value) and repr(value) in str(caught.value)
        # The lock was released on the way out.
        array[0] = 1
        assert array[0] == 1
    finally:
        array.destroy()


def test_out_of_bounds_read_is_an_index_error_naming_the_array(buffer_name: str) -> None:
    array = SharedMemoryArray.create_array(buffer_name, np.zeros(4))
    try:
        with pytest.raises(IndexError, match=f"{buffer_name}.*index 10"):
            array[10]
    finally:
        array.destroy()


@pytest.mark.parametrize(
    ("prototype", "error", "match"),
    [
        ([1, 2], TypeError, "must be a NumPy array, but got list"),
        (np.array([]), ValueError, "empty"),
        (np.array(5), IndexError, "0-dimensional"),
        (np.array(5), ValueError, "0-dimensional"),
        (np.array([object()]), TypeError, "Python objects"),
    ],
)
def test_bad_prototypes_are_refused_and_leave_nothing(
    buffer_name: str, prototype: object, error: type, match: str
) -> None:
    with pytest.raises(error, match=match):
        SharedMemoryArray.create_array(buffer_name, prototype)  # type: ignore[arg-type]
    assert not (SHM / buffer_name).exists()


@pytest.mark.parametrize("name", ["", "a/b", "x" * 300])
def test_bad_names_are_refused(name: str) -> None:
    with pytest.raises(ValueError, match="buffer name"):
        SharedMemoryArray.create_array(name, np.zeros(2))


def test_existing_name_is_refused_unless_exists_ok(buffer_name: str) -> None:
    first = SharedMemoryArray.create_array(buffer_name, np.zeros(4, dtype=np.int32))
    first[0] = 5
    with pytest.raises(FileExistsError, match=buffer_name):
        SharedMemoryArray.create_array(buffer_name, np.zeros(4))
    assert first[0] == 5
    second = SharedMemoryArray.create_array(buffer_name, np.ones(3), exists_ok=True)
    try:
        assert second[:].tolist() == [1.0, 1.0, 1.0]
        # The replaced instance lost the right to destroy: its destroy() and collection leave the new buffer alone.
        first.destroy()
        del first
        gc.collect()
        assert (SHM / buffer_name).exists()
        assert second[0] == 1.0
    finally:
        second.destroy()


def test_exists_ok_replaces_a_leftover_of_another_program(buffer_name: str) -> None:
    leftover = SharedMemory(buffer_name, create=True, size=64)
    leftover.close()
    try:
        with pytest.raises(FileExistsError, match="exists_ok"):
            SharedMemoryArray.create_array(buffer_name, np.zeros(2))
        array = SharedMemoryArray.create_array(buffer_name, np.arange(3), exists_ok=True)
        assert array[:].tolist() == [0, 1, 2]
        array.destroy()
    finally:
        if (SHM / buffer_name).exists():
            leftover.unlink()


# ----- lifecycle -----
def test_disconnect_connect_destroy(buffer_name: str) -> None:
    array = SharedMemoryArray.create_array(buffer_name, np.zeros(3, dtype=np.uint8))
    array[1] = 7
    array.connect()  # already connected: nothing happens (6.2 code calls it)
    array.disconnect()
    array.disconnect()
    assert not array.is_connected
    assert repr(array).endswith("connected=False)")
    with pytest.raises(ConnectionError, match="not connected"):
        array[0]
    with pytest.raises(ConnectionError, match="not connected"):
        array[0] = 1
    with pytest.raises(ConnectionError, match="not connected"), array.array():
        pass
    assert (SHM / buffer_name).exists()  # disconnecting never destroys
    array.connect()
    assert array[1] == 7
    array.destroy()
    assert not array.is_connected and not (SHM / buffer_name).exists()
    array.destroy()  # again: nothing to do
    with pytest.raises(FileNotFoundError, match=buffer_name):
        array.connect()


def test_code_written_for_6_2_keeps_working(buffer_name: str) -> None:
    array = SharedMemoryArray.create_array(buffer_name, np.zeros(2, dtype=np.bool_))
    array.connect()
    array.enable_buffer_destruction()
    array[0] = True
    assert bool(array[0]) is True
    array.disconnect()
    array.destroy()
    assert not (SHM / buffer_name).exists()


def test_collecting_the_creator_destroys_the_buffer(buffer_name: str) -> None:
    array = SharedMemoryArray.create_array(buffer_name, np.zeros(2))
    assert (SHM / buffer_name).exists()
    del array
    gc.collect()
    assert not (SHM / buffer_name).exists()


def test_a_held_view_outlives_disconnect_safely(buffer_name: str) -> None:
    array = SharedMemoryArray.create_array(buffer_name, np.zeros(2))
    with array.array() as data:
        kept = data
    array.destroy()
    kept[0] = 3.0  # still mapped (unmapping under a live view would crash the interpreter)
    assert kept[0] == 3.0
    del kept


def test_an_exception_in_a_locked_block_releases_the_lock(buffer_name: str) -> None:
    array = SharedMemoryArray.create_array(buffer_name, np.zeros(2))
    try:
        with pytest.raises(KeyError), array.array() as data:
            data[0] = 1.0
            raise KeyError("boom")
        assert array[0] == 1.0  # would raise "already holds the lock" if the block had kept it
    finally:
        array.destroy()


def test_disconnecting_inside_a_locked_block_still_releases_the_lock(buffer_name: str) -> None:
    array = SharedMemoryArray.create_array(buffer_name, np.zeros(2))
    try:
        with array.array() as data:
            data[0] = 2.0
            array.disconnect()
        array.connect()
        assert array[0] == 2.0  # "already holds the lock" if the block's lock had not been released
    finally:
        array.destroy()


def test_without_robust_mutexes_a_multiprocessing_lock_is_used(
    buffer_name: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The path of platforms without robust pthread mutexes (macOS, Windows), run here by hiding them; forked
    # children inherit the patched module, as the lock itself is inherited.
    from ataraxis_data_structures.shared_memory import array_locks
    from ataraxis_data_structures.shared_memory import shared_memory_array as module

    monkeypatch.setattr(module, "LOCK_KIND", array_locks.FallbackLock)
    context = multiprocessing.get_context("fork")
    array = SharedMemoryArray.create_array(buffer_name, np.zeros(2, dtype=np.int64))
    try:
        assert isinstance(array._lock, array_locks.FallbackLock) and array._shared_lock is not None
        start = context.Event()
        workers = [context.Process(target=children.increment, args=(array, 500, start)) for _ in range(3)]
        for worker in workers:
            worker.start()
        start.set()
        for worker in workers:
            worker.join(120)
        assert [worker.exitcode for worker in workers] == [0, 0, 0]
        assert array[0] == 1500
    finally:
        array.destroy()


@pytest.mark.skipif(FORCE_PORTABLE, reason="fallback lock: a thread locking twice waits forever")
def test_locked_access_inside_a_locked_block_is_an_error_not_a_deadlock(buffer_name: str) -> None:
    array = SharedMemoryArray.create_array(buffer_name, np.zeros(2))
    try:
        with array.array(), pytest.raises(RuntimeError, match="already holds the lock"):
            array[0]
        with array.array(with_lock=False):
            assert array[0] == 0.0
    finally:
        array.destroy()


@pytest.mark.skipif(FORCE_PORTABLE, reason="fallback lock: travels only as process start arguments")
def test_a_foreign_buffer_of_the_same_name_is_a_clear_error(buffer_name: str) -> None:
    array = SharedMemoryArray.create_array(buffer_name, np.zeros(4), auto_connect=False)
    copy = pickle.loads(pickle.dumps(array))
    assert not copy.is_connected
    array.destroy()
    foreign = SharedMemory(buffer_name, create=True, size=4096)
    try:
        with pytest.raises(SharedMemoryFormatError, match=f"'{buffer_name}' is not a SharedMemoryArray"):
            copy.connect()
        assert not copy.is_connected
    finally:
        foreign.close()
        foreign.unlink()


@pytest.mark.skipif(FORCE_PORTABLE, reason="fallback lock: travels only as process start arguments")
def test_a_recreated_name_is_not_silently_joined(buffer_name: str) -> None:
    array = SharedMemoryArray.create_array(buffer_name, np.zeros(4), auto_connect=False)
    copy = pickle.loads(pickle.dumps(array))
    replacement = SharedMemoryArray.create_array(buffer_name, np.ones(4), exists_ok=True)
    try:
        with pytest.raises(FileNotFoundError, match="no longer exists"):
            copy.connect()
    finally:
        replacement.destroy()
        array.destroy()


def test_threads_of_one_process_lose_no_increment(buffer_name: str) -> None:
    array = SharedMemoryArray.create_array(buffer_name, np.zeros(1, dtype=np.int64))
    try:

        def work() -> None:
            for _ in range(2000):
                with array.array() as data:
                    value = int(data[0])
                    time.sleep(0) if value % 97 == 0 else None
                    data[0] = value + 1

        threads = [threading.Thread(target=work) for _ in range(4)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(120)
        assert array[0] == 8000
    finally:
        array.destroy()


# ----- real processes -----
@pytest.mark.parametrize("method", START_METHODS)
def test_writers_in_several_processes_lose_no_increment(buffer_name: str, method: str) -> None:
    context = cast("DefaultContext", multiprocessing.get_context(method))  # typeshed's BaseContext lacks Process
    array = SharedMemoryArray.create_array(buffer_name, np.zeros(2, dtype=np.int64))
    try:
        start = context.Event()
        workers = [context.Process(target=children.increment, args=(array, 1000, start)) for _ in range(4)]
        for worker in workers:
            worker.start()
        start.set()
        for worker in workers:
            worker.join(120)
        assert [worker.exitcode for worker in workers] == [0, 0, 0, 0]
        assert array[0] == 4000
    finally:
        array.destroy()


@pytest.mark.parametrize("method", START_METHODS)
@pytest.mark.parametrize("auto_connect", [True, False])
def test_a_child_reads_what_the_parent_wrote(buffer_name: str, method: str, auto_connect: bool) -> None:
    context = cast("DefaultContext", multiprocessing.get_context(method))  # typeshed's BaseContext lacks Process
    array = SharedMemoryArray.create_array(buffer_name, np.zeros(3, dtype=np.float64), auto_connect=auto_connect)
    try:
        array[1:] = [2.5, 3.5]
        queue = context.Queue()
        child = context.Process(target=children.report, args=(array, queue))
        child.start()
        seen = queue.get(timeout=60)
        child.join(60)
        assert child.exitcode == 0
        assert seen["values"] == [0.0, 2.5, 3.5]
        # A spawned copy connects on arrival only with auto_connect; a forked child inherits the connection.
        assert seen["connected"] is (auto_connect or method == "fork")
        assert array[0] == -7.0  # and the parent sees what the child wrote
        assert (SHM / buffer_name).exists()  # the child's end did not destroy the parent's buffer
    finally:
        array.destroy()


@pytest.mark.skipif(FORCE_PORTABLE, reason="fallback lock: travels only as process start arguments")
def test_a_copy_can_travel_through_a_queue(buffer_name: str) -> None:
    # 7.2 refuses this (its lock travels only as process arguments); the lock here lives in the buffer itself.
    context = multiprocessing.get_context("spawn")
    array = SharedMemoryArray.create_array(buffer_name, np.zeros(3))
    try:
        inbox, outbox = context.Queue(), context.Queue()
        child = context.Process(target=_relay, args=(inbox, outbox))
        child.start()
        inbox.put(array)
        assert outbox.get(timeout=60)["values"] == [0.0, 0.0, 0.0]
        child.join(60)
        assert array[0] == -7.0
    finally:
        array.destroy()


def _relay(inbox: multiprocessing.Queue, outbox: multiprocessing.Queue) -> None:  # type: ignore[type-arg]
    children.report(inbox.get(timeout=60), outbox)


@pytest.mark.parametrize("method", START_METHODS)
@pytest.mark.skipif(FORCE_PORTABLE, reason="fallback lock: a killed holder leaves it held (documented)")
def test_a_child_killed_while_holding_the_lock_does_not_wedge_or_leak(buffer_name: str, method: str) -> None:
    context = cast("DefaultContext", multiprocessing.get_context(method))  # typeshed's BaseContext lacks Process
    array = SharedMemoryArray.create_array(buffer_name, np.zeros(2, dtype=np.int64))
    try:
        locked = context.Event()
        holder = context.Process(target=children.hold_lock, args=(array, locked))
        holder.start()
        assert locked.wait(60)
        os.kill(holder.pid, signal.SIGKILL)  # type: ignore[arg-type]
        holder.join(60)
        assert holder.exitcode == -signal.SIGKILL
        assert (SHM / buffer_name).exists()  # a child never destroys the buffer
        # Another process takes the lock over, told that its holder died mid-write.
        queue = context.Queue()
        reader = context.Process(target=children.lock_after_holder_died, args=(array, queue))
        reader.start()
        seen = queue.get(timeout=60)
        reader.join(60)
        # The warning points at the line that read (warnings are shown with their caller's line).
        assert seen == {"value": 123, "warnings": [("SharedMemoryLockWarning", "shared_memory_children.py")]}
        # Then the lock works as before, without warnings, for this process too.
        with warnings.catch_warnings():
            warnings.simplefilter("error", SharedMemoryLockWarning)
            array[1] = 5
            assert array[1] == 5
    finally:
        array.destroy()


def test_a_process_blocked_on_the_lock_still_answers_ctrl_c(buffer_name: str) -> None:
    context = multiprocessing.get_context("spawn")
    array = SharedMemoryArray.create_array(buffer_name, np.zeros(2, dtype=np.int64))
    holder = waiter = None
    try:
        locked, waiting = context.Event(), context.Event()
        holder = context.Process(target=children.hold_lock, args=(array, locked))
        holder.start()
        assert locked.wait(60)
        waiter = context.Process(target=children.wait_for_lock, args=(array, waiting))
        waiter.start()
        assert waiting.wait(60)
        # Let it block in the kernel's futex wait (a lock call that ignored signals would then never return).
        wchan = Path(f"/proc/{waiter.pid}/wchan")
        deadline = time.monotonic() + 30
        while "futex" not in wchan.read_text() and time.monotonic() < deadline:
            time.sleep(0.01)
        os.kill(waiter.pid, signal.SIGINT)  # type: ignore[arg-type]
        waiter.join(30)
        assert waiter.exitcode == 1  # ended by an uncaught KeyboardInterrupt, not still waiting (None)
        # A block without the lock does not wait for the holder.
        with array.array(with_lock=False) as data:
            assert data[0] == 123
    finally:
        for process in (holder, waiter):
            if process is not None and process.is_alive():
                process.kill()
                process.join(60)
        array.destroy()


def test_a_killed_creator_leaves_no_buffer(buffer_name: str) -> None:
    # The creator's resource tracker outlives it and removes what it created when it dies without destroying it.
    script = Path(children.__file__)
    creator = subprocess.Popen(
        [sys.executable, str(script), "create", buffer_name], stdout=subprocess.PIPE, text=True, cwd=script.parent
    )
    try:
        assert creator.stdout is not None and creator.stdout.readline().strip() == "created"
        assert (SHM / buffer_name).exists()
        creator.kill()
        creator.wait(60)
        deadline = time.monotonic() + 30
        while (SHM / buffer_name).exists() and time.monotonic() < deadline:
            time.sleep(0.05)
        assert buffer_name not in ours()
    finally:
        creator.kill()
        creator.wait(60)
        if creator.stdout is not None:
            creator.stdout.close()


def _gone(pid: int) -> bool:
    """True once process pid has ended (a zombie counts: its cleanup is over)."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] == "Z"
    except (FileNotFoundError, ProcessLookupError, IndexError):
        return True


@pytest.mark.slow
@pytest.mark.parametrize("how", ["alone", "spawn", "fork", "forkserver"])
@pytest.mark.parametrize("command", ["destroy", "exit"])
@pytest.mark.skipif(FORCE_PORTABLE, reason="fallback lock: travels only as process start arguments")
def test_a_buffer_taken_over_survives_its_old_creator_and_its_tracker(buffer_name: str, how: str, command: str) -> None:
    # A creates the name (alone, or as a multiprocessing child sharing its parent's resource tracker); this process
    # takes the name over with exists_ok=True while A runs; A destroys or just exits, and the tracker that held
    # A's name ends too: the new buffer must still be there for this process's workers.
    script = Path(children.__file__)
    victim = subprocess.Popen(
        [sys.executable, str(script), "victim", buffer_name, how],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
        cwd=script.parent,
    )
    assert victim.stdin is not None and victim.stdout is not None
    array = None
    try:
        tracker = None if how == "alone" else int(victim.stdout.readline())
        assert victim.stdout.readline().strip() == "created"
        array = SharedMemoryArray.create_array(buffer_name, np.arange(4, dtype=np.int64), exists_ok=True)
        victim.stdin.write(command + "\n")
        victim.stdin.flush()
        if how == "alone":
            tracker = int(victim.stdout.readline())
        else:
            assert victim.stdout.readline().strip() == "child exited 0"
            victim.stdin.write("end\n")
            victim.stdin.flush()
        assert victim.wait(120) == 0
        deadline = time.monotonic() + 30
        while tracker is not None and not _gone(tracker) and time.monotonic() < deadline:
            time.sleep(0.05)
        assert (SHM / buffer_name).exists(), "the old creator's resource tracker removed the new buffer"
        worker_copy = pickle.loads(pickle.dumps(array))  # connects by name, as a worker's copy does
        assert worker_copy[:].tolist() == [0, 1, 2, 3]
        worker_copy.disconnect()
    finally:
        victim.kill()
        victim.wait(60)
        victim.stdin.close()
        victim.stdout.close()
        if array is not None:
            array.destroy()
    assert not (SHM / buffer_name).exists()


@pytest.mark.slow
@pytest.mark.parametrize("how", ["spawn", "fork"])
def test_a_takeover_within_one_process_tree_keeps_the_shared_tracker_holding_the_name(
    buffer_name: str, how: str
) -> None:
    # The parent takes over the name its child created; both share one resource tracker, which must keep holding
    # the name for the parent when the child destroys its array (and so remove it if the parent dies unannounced).
    script = Path(children.__file__)
    victim = subprocess.run(
        [sys.executable, str(script), "victim", buffer_name, f"{how}-tree"],
        input="destroy\nend\n",
        capture_output=True,
        text=True,
        cwd=script.parent,
        timeout=120,
    )
    assert victim.returncode == 0, victim.stderr
    lines = victim.stdout.splitlines()
    assert lines[1:] == ["created", "child exited 0", "kept [1, 1, 1, 1]"]
    assert "KeyError" not in victim.stderr and "leaked" not in victim.stderr, victim.stderr
    assert not (SHM / buffer_name).exists()
