"""DataLogger with real processes and signals: nothing put before stop() is lost, a dead producer costs only itself.

Code that runs in other processes is in logger_children (importable and type-checked).
"""

from __future__ import annotations

import contextlib
import logging
import multiprocessing
import multiprocessing.connection
import os
import queue as queue_module
import random
import signal
import subprocess
import sys
import threading
import time
import uuid
import warnings
from multiprocessing.context import DefaultContext
from pathlib import Path
from typing import Any, cast

import numpy as np
import pytest
from logger_children import (
    package,
    payload_of,
    produce,
    produce_and_linger,
    produce_counted,
    produce_task,
    produce_until_refused,
    put_while_stopped,
)

from ataraxis_data_structures.data_loggers import DataLogger, LogPackage
from ataraxis_data_structures.data_loggers.formats import log_format as fmt
from ataraxis_data_structures.data_loggers.live.data_logger import DataLoggerWarning
from ataraxis_data_structures.data_loggers.live.logger_lock import LOCK_FILE_NAME
from ataraxis_data_structures.data_loggers.live.logger_queue import FRAME_HEADER
from ataraxis_data_structures.data_loggers.live.transport import HELLO, TOKEN_SIZE, TRANSPORT
from ataraxis_data_structures.errors import LoggerFailedError
from ataraxis_data_structures.file_locks import is_locked

WAIT = 60.0  # generous deadline for waits on other processes; never an assertion about speed
# Instance names are unique among a user's running loggers: a suffix keeps concurrent test runs apart.
SUFFIX = f"{os.getpid()}_{uuid.uuid4().hex[:6]}"


def read_log(directory: Path) -> dict[int, list[tuple[int, bytes]]]:
    """Returns every whole record of a log directory by source, in arrival order across segments."""
    records: dict[int, list[tuple[int, bytes]]] = {}
    for path in sorted(directory.glob(f"*{fmt.FILE_SUFFIX}"), key=lambda p: fmt.parse_log_file_name(p.name) or (0, 0)):
        data = path.read_bytes()
        index = fmt.scan_records(data, path)
        assert index.defect is None, f"{path.name}: {index.defect}"
        source = records.setdefault(index.source_id, [])
        for timestamp, offset, size in zip(index.timestamps, index.payload_offsets, index.payload_sizes, strict=True):
            source.append((int(timestamp), data[offset : offset + size]))
    return records


def expected_messages(source_id: int, count: int, size: int = 16) -> list[tuple[int, bytes]]:
    return [(number, payload_of(source_id, number, size)) for number in range(1, count + 1)]


def wait_until(condition: Any, what: str) -> None:
    deadline = time.monotonic() + WAIT
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting until {what}")
        time.sleep(0.01)


@pytest.fixture
def logger(tmp_path: Path) -> Any:
    instance = DataLogger(tmp_path, f"test_{SUFFIX}")
    yield instance
    with contextlib.suppress(LoggerFailedError):
        instance.stop()


def test_everything_put_before_stop_is_on_disk_including_duplicates(logger: DataLogger) -> None:
    logger.start()
    queue = logger.input_queue
    sent = []
    for number in range(2000):
        # Every timestamp twice with different payloads: both copies must survive, in the order they were put.
        for copy in (b"first", b"second"):
            message = (number // 2, copy + number.to_bytes(4, "little"))
            sent.append(message)
            queue.put(package(7, *message))
    queue.put(package(8, 5, b"another source"))
    logger.stop()
    records = read_log(logger.output_directory)
    assert records[7] == sent
    assert records[8] == [(5, b"another source")]
    assert not is_locked(logger.output_directory / LOCK_FILE_NAME)


def test_lifecycle_is_idempotent_and_reports_alive(tmp_path: Path) -> None:
    logger = DataLogger(tmp_path, f"cycle_{SUFFIX}", thread_count=0, poll_interval=-3)
    assert logger.name == f"cycle_{SUFFIX}"
    assert logger.output_directory == tmp_path / f"cycle_{SUFFIX}_data_log"
    assert logger.output_directory.is_dir()
    assert "thread_count=1, poll_interval=0 ms, started=False" in repr(logger)
    assert not logger.alive
    logger.stop()  # never started: nothing to do
    logger.start()
    logger.start()
    assert logger.alive
    logger.input_queue.put(package(1, 1, b"first session"))
    logger.stop()
    logger.stop()
    assert not logger.alive
    logger.start()  # a restart appends a new segment instead of touching the old file
    logger.input_queue.put(package(1, 2, b"second session"))
    logger.stop()
    assert sorted(p.name for p in logger.output_directory.iterdir()) == ["001-0000.axlog.npy", "001-0001.axlog.npy"]
    assert read_log(logger.output_directory)[1] == [(1, b"first session"), (2, b"second session")]


@pytest.mark.parametrize("method", ["spawn", "fork"])
def test_producer_processes_of_each_start_method(logger: DataLogger, method: str) -> None:
    if method not in multiprocessing.get_all_start_methods():
        pytest.skip(f"{method} is not available on this platform")
    context = cast("DefaultContext", multiprocessing.get_context(method))  # typeshed's BaseContext lacks Process
    logger.start()
    producers = [context.Process(target=produce, args=(logger.input_queue, source_id, 1500)) for source_id in (1, 2, 3)]
    for producer in producers:
        producer.start()
    for producer in producers:
        producer.join()
        assert producer.exitcode == 0
    logger.stop()
    records = read_log(logger.output_directory)
    assert sorted(records) == [1, 2, 3]
    for source_id in (1, 2, 3):
        assert records[source_id][0][0] == 0 and len(records[source_id][0][1]) == 8  # the onset message leads
        assert records[source_id][1:] == expected_messages(source_id, 1500)


def test_the_queue_reaches_a_pool_started_before_the_logger_through_a_task(logger: DataLogger) -> None:
    with multiprocessing.get_context("spawn").Pool(2) as pool:  # its workers exist before the logger starts
        logger.start()
        results = [pool.apply_async(produce_task, (logger.input_queue, source_id, 2000)) for source_id in (1, 2, 3)]
        pids = {result.get(WAIT) for result in results}
        assert os.getpid() not in pids
    logger.stop()
    records = read_log(logger.output_directory)
    for source_id in (1, 2, 3):
        assert records[source_id] == [(n, payload_of(source_id, n)) for n in range(2000)]


def test_a_child_forked_from_a_producer_opens_a_connection_of_its_own(logger: DataLogger) -> None:
    if "fork" not in multiprocessing.get_all_start_methods():
        pytest.skip("fork is not available on this platform")
    logger.start()
    queue = logger.input_queue
    queue.put(package(1, 0, payload_of(1, 0)))  # this process has its connection now; the child inherits its socket
    size = 300_000  # larger than a socket buffer: each message takes several writes, which must not interleave
    child = multiprocessing.get_context("fork").Process(target=produce, args=(queue, 2, 200, size))
    child.start()
    for number in range(1, 201):
        queue.put(package(1, number, payload_of(1, number, size)))
    child.join(WAIT)
    assert child.exitcode == 0
    logger.stop()
    records = read_log(logger.output_directory)
    assert records[1] == [(0, payload_of(1, 0)), *expected_messages(1, 200, size)]
    assert records[2][1:] == expected_messages(2, 200, size)


def test_threads_of_one_process_share_its_connection_without_mixing_messages(logger: DataLogger) -> None:
    logger.start()
    sizes = [16, 5000, 300_000]  # small, medium and larger than a socket buffer: sends that need several writes

    def put_all(source_id: int) -> None:
        for number in range(300):
            logger.input_queue.put(package(source_id, number, payload_of(source_id, number, sizes[number % 3])))

    threads = [threading.Thread(target=put_all, args=(source_id,)) for source_id in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    logger.stop()
    records = read_log(logger.output_directory)
    for source_id in range(4):
        assert records[source_id] == [(n, payload_of(source_id, n, sizes[n % 3])) for n in range(300)]


def test_messages_still_in_flight_from_a_running_producer_are_received(logger: DataLogger) -> None:
    context = multiprocessing.get_context("spawn")
    done, release = context.Event(), context.Event()
    logger.start()
    producer = context.Process(target=produce_and_linger, args=(logger.input_queue, 4, 3000, done, release))
    producer.start()
    try:
        assert done.wait(WAIT)
        logger.stop()  # the producer still runs: part of its messages may still be in its feeder or the pipe
    finally:
        release.set()
        producer.join()
    assert read_log(logger.output_directory)[4] == [(n, payload_of(4, n)) for n in range(3000)]


@pytest.mark.parametrize("size", [64, 300_000])
def test_a_put_running_during_stop_is_logged_or_raises_never_lost_silently(logger: DataLogger, size: int) -> None:
    context = multiprocessing.get_context("spawn")
    logger.start()
    returned = context.RawValue("q", 0)
    producer = context.Process(target=produce_until_refused, args=(logger.input_queue, 7, size, returned, 100_000_000))
    producer.start()
    wait_until(lambda: returned.value > 50, "the producer is putting")
    logger.stop()  # while the producer keeps putting
    producer.join(WAIT)
    assert producer.exitcode == 0  # its first put() after the stop raised (the strict mode: DataLoggerWarning)
    # Exactly the messages put() returned for are on disk: the one cut off by stop() raised instead.
    assert read_log(logger.output_directory)[7] == [(number, bytes(size)) for number in range(returned.value)]


def test_ctrl_c_does_not_end_the_logger(logger: DataLogger) -> None:
    logger.start()
    os.kill(logger._logger_process.pid, signal.SIGINT)  # what a terminal's Ctrl+C sends to the whole process group
    logger.input_queue.put(package(2, 1, b"after Ctrl+C"))
    logger.stop()
    assert read_log(logger.output_directory)[2] == [(1, b"after Ctrl+C")]


@pytest.mark.skipif(
    TRANSPORT.NAME == "tcp",
    reason="TCP may send part of a small frame; put_nowait() then waits to finish it while the logger is stalled",
)
def test_a_stalled_logger_makes_put_nowait_refuse_and_loses_nothing_it_accepted(logger: DataLogger) -> None:
    logger.start()
    pid = logger._logger_process.pid
    os.kill(pid, signal.SIGSTOP)  # the logger reads nothing while stopped: this process's socket buffer fills up
    accepted = 0
    try:
        with pytest.raises(queue_module.Full):
            for number in range(1_000_000):  # far more than any socket buffer holds
                logger.input_queue.put_nowait(package(5, number, payload_of(5, number, 64)))
                accepted += 1
        with pytest.raises(queue_module.Full):
            logger.input_queue.put(package(5, accepted, b"waits, then gives up"), timeout=0.05)
    finally:
        os.kill(pid, signal.SIGCONT)
    logger.input_queue.put(package(5, accepted, payload_of(5, accepted, 64)))  # blocks until there is room again
    logger.stop()
    assert accepted > 100
    assert read_log(logger.output_directory)[5] == [(n, payload_of(5, n, 64)) for n in range(accepted + 1)]


def test_a_connection_without_the_logger_token_is_closed_unread_and_reported(logger: DataLogger) -> None:
    """Another local program (another user) that connects to the logger's address cannot inject messages."""
    logger.start()
    forged = FRAME_HEADER.pack(6, 9, 1) + b"forged"
    intruder = TRANSPORT.connect(logger.input_queue.address)
    intruder.sendall(HELLO.pack(bytes(TOKEN_SIZE), os.getpid(), 0) + forged)
    logger.input_queue.put(package(9, 2, b"genuine"))
    with pytest.warns(DataLoggerWarning, match="1 connections to the logger were closed unread"):
        logger.stop()
    intruder.close()
    assert read_log(logger.output_directory) == {9: [(2, b"genuine")]}


class _Interrupted(Exception):
    """Raised by a timer signal inside put(), as Ctrl+C raises KeyboardInterrupt there."""


def _interrupt(signum: int, frame: Any) -> None:
    raise _Interrupted


def test_a_put_interrupted_midway_costs_only_its_message_and_a_reentrant_put_is_refused(
    logger: DataLogger, caplog: pytest.LogCaptureFixture
) -> None:
    """Part of an interrupted message on the connection must not swallow or garble the messages put after it."""
    logger.start()
    queue = logger.input_queue
    queue.put(package(1, 0, b"first"))
    pid = logger._logger_process.pid
    # A payload of 8-byte frame-header look-alikes: misframed, it would be read as messages of other sources.
    lookalike = FRAME_HEADER.pack(5, 9, 777) + b"EVIL!"
    previous = signal.signal(signal.SIGALRM, _interrupt)
    reentered: list[BaseException] = []

    def put_again(signum: int, frame: Any) -> None:
        try:
            queue.put(package(3, 1, b"from a signal handler"))
        except RuntimeError as error:
            reentered.append(error)
        raise _Interrupted

    large = package(2, 1, b"\x42" * 12_000_000)  # made before the timer runs: its signal must land inside put()
    os.kill(pid, signal.SIGSTOP)  # the logger reads nothing: the large put() below waits with part of it sent
    try:
        for handler in (_interrupt, put_again):
            signal.signal(signal.SIGALRM, handler)
            signal.setitimer(signal.ITIMER_REAL, 0.3)
            with pytest.raises(_Interrupted):
                queue.put(large)
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)
        os.kill(pid, signal.SIGCONT)
    for number in range(1, 501):
        queue.put(package(1, number, lookalike * 40))
    logger.stop()
    log = read_log(logger.output_directory)
    assert log[1] == [(0, b"first")] + [(number, lookalike * 40) for number in range(1, 501)]
    assert sorted(log) == [1]  # no message of the interrupted source, nor any made of payload bytes
    assert len(reentered) == 1 and "inside put()" in str(reentered[0])
    assert "interrupted" in caplog.text


@pytest.mark.slow
def test_two_instances_run_side_by_side_and_a_duplicate_name_fails(tmp_path: Path) -> None:
    left, right = f"left_{SUFFIX}", f"right_{SUFFIX}"
    first, second = DataLogger(tmp_path, left), DataLogger(tmp_path, right)
    first.start()
    second.start()
    try:
        duplicate = DataLogger(tmp_path, left)
        with pytest.raises(
            RuntimeError,
            match=rf"'{left}' did not start: a DataLogger named '{left}' is already running \(DataLogger '{left}' ",
        ):
            duplicate.start()
        assert not duplicate.alive
        elsewhere = DataLogger(tmp_path / "elsewhere", left)  # instance names are unique among running loggers
        with pytest.raises(RuntimeError, match=f"a DataLogger named '{left}' is already running"):
            elsewhere.start()
        first.input_queue.put(package(1, 1, b"left"))
        second.input_queue.put(package(1, 1, b"right"))
    finally:
        first.stop()
        second.stop()
    assert read_log(first.output_directory) == {1: [(1, b"left")]}
    assert read_log(second.output_directory) == {1: [(1, b"right")]}
    # Once the first is stopped, its name is free again.
    again = DataLogger(tmp_path, left)
    again.start()
    again.stop()


def test_bad_input_is_rejected_at_put(logger: DataLogger) -> None:
    with pytest.raises(TypeError, match="accepts LogPackage instances, got bytes"):
        logger.input_queue.put(b"raw bytes")
    with pytest.raises(TypeError, match="accepts LogPackage instances, got tuple"):
        logger.input_queue.put((1, 2, np.zeros(1, dtype=np.uint8)))


def test_a_logger_process_killed_during_start_is_reported_with_how_it_ended(tmp_path: Path) -> None:
    logger = DataLogger(tmp_path, f"killed_at_start_{SUFFIX}")
    process_name = f"DataLogger-{logger.name}"

    def kill_it_when_it_appears() -> None:
        deadline = time.monotonic() + WAIT
        while time.monotonic() < deadline:
            for child in multiprocessing.active_children():
                if child.name == process_name and child.pid is not None:
                    os.kill(child.pid, signal.SIGKILL)  # long before it has imported NumPy and reported ready
                    return
            time.sleep(0.001)

    killer = threading.Thread(target=kill_it_when_it_appears)
    killer.start()
    try:
        with pytest.raises(RuntimeError, match=r"exited during start \(killed by signal SIGKILL\)"):
            logger.start()  # it said "(still running)" when asked before the exit code was known
    finally:
        killer.join()
    assert not logger.alive
    logger.start()  # the instance is usable afterwards
    logger.input_queue.put(package(1, 1, b"after the failed start"))
    logger.stop()
    assert read_log(logger.output_directory)[1] == [(1, b"after the failed start")]


def run_program(directory: Path, name: str, ending: str) -> subprocess.CompletedProcess[str]:
    """Runs logger_children.program in a new interpreter: a logger, 5000 messages of 32 bytes, then `ending`."""
    script = Path(__file__).with_name("logger_children.py")
    return subprocess.run(
        [sys.executable, str(script), ending, str(directory), name], capture_output=True, text=True, timeout=WAIT
    )


def process_gone(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    return False


def test_a_forgotten_stop_runs_at_interpreter_exit(tmp_path: Path) -> None:
    result = run_program(tmp_path, f"forgotten_{SUFFIX}", "forgotten_stop")
    assert result.returncode == 0, result.stderr
    assert "Traceback" not in result.stderr
    directory = tmp_path / f"forgotten_{SUFFIX}_data_log"
    assert read_log(directory)[2] == [(number, bytes([2]) * 32) for number in range(5000)]
    assert not is_locked(directory / LOCK_FILE_NAME)


@pytest.mark.slow
def test_the_logger_finishes_its_work_quietly_when_the_parent_is_killed(tmp_path: Path) -> None:
    result = run_program(tmp_path, f"orphan_{SUFFIX}", "killed")
    assert result.returncode == -signal.SIGKILL
    logger_pid = int(result.stdout.split()[0])
    wait_until(lambda: process_gone(logger_pid), "the orphaned logger process exits")
    directory = tmp_path / f"orphan_{SUFFIX}_data_log"
    wait_until(lambda: not is_locked(directory / LOCK_FILE_NAME), "the orphaned logger releases its directory")
    # Everything put() returned for before the parent died was received, written and closed by the orphaned logger,
    # and the logger said nothing on its way out (it printed a BrokenPipeError traceback when it could not report).
    assert read_log(directory)[3] == [(number, bytes([3]) * 32) for number in range(5000)]
    assert result.stderr == ""


@pytest.mark.slow
def test_a_producer_still_putting_when_the_parent_is_killed_is_refused_and_exits(tmp_path: Path) -> None:
    result = run_program(tmp_path, f"orphan2_{SUFFIX}", "killed_with_producer")
    assert result.returncode == -signal.SIGKILL
    logger_pid, producer_pid = (int(word) for word in result.stdout.split()[:2])
    wait_until(lambda: process_gone(logger_pid), "the orphaned logger process exits")
    wait_until(lambda: process_gone(producer_pid), "the orphaned producer exits (it hung at exit before)")
    directory = tmp_path / f"orphan2_{SUFFIX}_data_log"
    report = tmp_path / "producer_returned.txt"
    wait_until(report.exists, "the producer reports how many put() calls returned")
    returned = int(report.read_text())
    # Every message put() returned for is on disk, and nothing else: the refused put() raised instead.
    assert read_log(directory)[4] == [(number, bytes(64)) for number in range(returned)]
    assert result.stderr == ""


def read_log_segment(path: Path) -> list[tuple[int, bytes]]:
    data = path.read_bytes()
    index = fmt.scan_records(data, path)
    assert index.defect is None
    return [
        (int(t), data[o : o + s])
        for t, o, s in zip(index.timestamps, index.payload_offsets, index.payload_sizes, strict=True)
    ]


def test_large_and_small_messages_keep_their_order_and_bytes(logger: DataLogger) -> None:
    logger.start()
    rng = np.random.default_rng(7)
    sizes = [0, 10, 3 << 20, 100, (3 << 19) + 7, 70_000, 1, 5 << 20, 64] * 3  # some larger than the logger's buffer
    sent = [(number, rng.integers(0, 256, size, dtype=np.uint8).tobytes()) for number, size in enumerate(sizes)]
    for number, payload in sent:
        logger.input_queue.put(package(9, number, payload))
    logger.stop()
    assert read_log(logger.output_directory)[9] == sent


def test_a_producer_may_reuse_its_array_right_after_put(logger: DataLogger) -> None:
    logger.start()
    buffer = np.zeros(32, dtype=np.uint8)
    for number in range(3000):
        buffer[:] = number % 256  # the same array, changed after every put
        logger.input_queue.put(LogPackage(np.uint8(1), np.uint64(number), buffer))
    logger.stop()
    assert read_log(logger.output_directory)[1] == [(number, bytes([number % 256]) * 32) for number in range(3000)]


def test_a_large_array_reused_right_after_put_and_strided_arrays_log_their_bytes(logger: DataLogger) -> None:
    logger.start()
    large = np.zeros(300_000, dtype=np.uint8)  # larger than the logger's read buffer: read in place
    for number in range(20):
        large[:] = number
        logger.input_queue.put(LogPackage(np.uint8(1), np.uint64(number), large))
    strided = np.arange(400_000, dtype=np.uint8)[::3]  # not contiguous: its elements are logged, in order
    logger.input_queue.put(LogPackage(np.uint8(2), np.uint64(0), strided))
    logger.stop()
    log = read_log(logger.output_directory)
    assert log[1] == [(number, bytes([number]) * 300_000) for number in range(20)]
    assert log[2] == [(0, strided.tobytes())]


def test_messages_put_before_start_are_kept_and_put_after_stop_is_held_until_the_restart(logger: DataLogger) -> None:
    logger.input_queue.put(package(1, 1, b"before start"))
    logger.start()
    logger.stop()
    with pytest.warns(DataLoggerWarning, match=f"DataLogger '{logger.name}' is not running .* held in process"):
        logger.input_queue.put(package(1, 2, b"after stop"))
    logger.input_queue.put(package(1, 3, b"after stop, no second warning"))  # pytest's filters make a warning fail
    assert logger.input_queue.held_messages == 2
    logger.start()  # sends what this process held, before anything put later
    assert logger.input_queue.held_messages == 0
    logger.input_queue.put(package(1, 4, b"after the restart"))
    logger.stop()
    assert read_log(logger.output_directory)[1] == [
        (1, b"before start"),
        (2, b"after stop"),
        (3, b"after stop, no second warning"),
        (4, b"after the restart"),
    ]


@pytest.mark.slow
def test_a_producer_holds_what_it_puts_while_the_logger_is_stopped_and_sends_it_after_the_restart(
    logger: DataLogger,
) -> None:
    context = multiprocessing.get_context("spawn")
    logger.start()
    logger.stop()
    held, go_on = context.RawValue("q", 0), context.Event()
    producer = context.Process(target=put_while_stopped, args=(logger.input_queue, 8, held, go_on))
    producer.start()
    wait_until(lambda: held.value == 3, "the producer holds its three messages")
    logger.start()
    go_on.set()
    producer.join(WAIT)
    assert producer.exitcode == 0
    logger.stop()
    assert read_log(logger.output_directory)[8] == [
        (0, b"held 0"),
        (1, b"held 1"),
        (2, b"held 2"),
        (3, b"after the restart"),
    ]


def test_a_process_that_ends_holding_messages_says_how_many_were_not_logged(tmp_path: Path) -> None:
    code = (
        "import numpy as np, warnings\n"
        "from ataraxis_data_structures import DataLogger, LogPackage\n"
        f"logger = DataLogger({str(tmp_path)!r}, 'held_{SUFFIX}')\n"
        "logger.start(); logger.stop()\n"
        "warnings.simplefilter('ignore')\n"
        "for n in range(4): logger.input_queue.put(LogPackage(np.uint8(1), np.uint64(n), np.zeros(3, np.uint8)))\n"
        "warnings.simplefilter('default')\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=WAIT, check=False)
    assert result.returncode == 0, result.stderr
    assert f"DataLogger 'held_{SUFFIX}': process" in result.stderr
    assert "ends holding 4 messages put while the logger was not running; they were not logged" in result.stderr


def test_a_strict_producer_that_puts_after_the_final_stop_is_refused_and_exits(logger: DataLogger) -> None:
    context = multiprocessing.get_context("spawn")
    logger.start()
    logger.stop()
    returned = context.RawValue("q", 0)
    producer = context.Process(target=produce_until_refused, args=(logger.input_queue, 9, 65536, returned, 100))
    producer.start()
    producer.join(WAIT)
    assert producer.exitcode == 0  # refused at its first put(), and it did not hang at exit
    assert returned.value == 0


def test_many_sources_interleaved_each_keep_their_order(logger: DataLogger) -> None:
    logger.start()
    rng = np.random.default_rng(3)
    sources = rng.integers(0, 256, 20_000)  # every source ID, interleaved at random, served by 5 writer threads
    for number, source_id in enumerate(sources):
        logger.input_queue.put(package(int(source_id), number, number.to_bytes(4, "little")))
    logger.stop()
    records = read_log(logger.output_directory)
    assert sorted(records) == sorted(set(sources.tolist()))
    for source_id, messages in records.items():
        numbers = np.flatnonzero(sources == source_id).tolist()
        assert messages == [(number, number.to_bytes(4, "little")) for number in numbers]


def test_producers_blocked_on_a_stalled_logger_go_on_with_its_replacement_when_it_dies(logger: DataLogger) -> None:
    context = multiprocessing.get_context("spawn")
    logger.start()
    pid = logger._logger_process.pid
    os.kill(pid, signal.SIGSTOP)  # the producer's socket buffer fills up and its put() waits
    returned = context.RawValue("q", 0)
    producer = context.Process(target=produce_until_refused, args=(logger.input_queue, 9, 65536, returned, 10_000))
    producer.start()
    wait_until(lambda: returned.value > 0, "the producer has put a few messages")
    time.sleep(0.2)  # lets it run into the full buffer
    os.kill(pid, signal.SIGKILL)
    producer.join(WAIT)
    assert producer.exitcode == 3  # its waiting put() went on with the new logger process: it never raised
    with pytest.warns(DataLoggerWarning, match="SIGKILL"):
        logger.stop()


def process_state(pid: int) -> str:
    """Returns the state letter of a process from /proc (R running, S sleeping, ...)."""
    stat = Path(f"/proc/{pid}/stat").read_text()
    return stat[stat.rindex(")") + 2]


def start_counted_producer(logger: DataLogger, source_id: int, sizes: list[int], finish: Any) -> Any:
    """Starts a spawn producer of produce_counted and waits until it runs; returns (process, returned counter)."""
    context = multiprocessing.get_context("spawn")
    returned, started = context.RawValue("q", 0), context.Event()
    arguments = (logger.input_queue, source_id, sizes, returned, started, finish)
    process = context.Process(target=produce_counted, args=arguments)
    process.start()
    assert started.wait(WAIT)
    return process, returned


def counted_messages(source_id: int, count: int, sizes: list[int]) -> list[tuple[int, bytes]]:
    return [(number, payload_of(source_id, number, sizes[number % len(sizes)])) for number in range(count)]


@pytest.mark.slow
@pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="needs /proc to see that a put() is waiting")
@pytest.mark.parametrize("ending", ["SIGKILL", "terminate"])
def test_a_producer_killed_in_the_middle_of_a_put_costs_only_that_message(
    logger: DataLogger, ending: str, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING)
    # A lock-free flag: producers are killed at random moments, and one killed inside an Event's (or a locked Value's)
    # lock would leave it held forever, hanging every other producer and this test.
    finish = multiprocessing.get_context("spawn").RawValue("b", 0)
    small = [16, 64, 3000]
    logger.start()
    survivors = [start_counted_producer(logger, source_id, small, finish) for source_id in (1, 2, 3)]
    wait_until(lambda: all(returned.value > 100 for _, returned in survivors), "the survivors put messages")
    logger_pid = logger._logger_process.pid
    os.kill(logger_pid, signal.SIGSTOP)  # nothing is read now: every producer's put() soon waits for buffer room
    try:
        large = [1 << 20]  # larger than a socket buffer: the victim's first put() is left waiting mid-message
        victim, victim_returned = start_counted_producer(logger, 9, large, finish)
        wait_until(lambda: process_state(victim.pid) == "S", "the victim waits inside put(), mid-message")
        if ending == "SIGKILL":
            victim.kill()
        else:
            victim.terminate()
        victim.join(WAIT)
    finally:
        os.kill(logger_pid, signal.SIGCONT)
    time.sleep(0.2)  # the survivors go on putting after the victim's death
    finish.value = 1
    for process, _ in survivors:
        process.join(WAIT)
        assert process.exitcode == 0
    logger.stop()
    records = read_log(logger.output_directory)
    for source_id, (_, returned) in zip((1, 2, 3), survivors, strict=True):
        assert records[source_id] == counted_messages(source_id, returned.value, small)
    assert records.get(9, []) == counted_messages(9, victim_returned.value, large)
    torn = [record.getMessage() for record in caplog.records if "ended in the middle of a message" in record.message]
    assert len(torn) == 1
    assert f"producer process {victim.pid} " in torn[0] and "of source 9" in torn[0]
    assert "bytes of that incomplete message were discarded" in torn[0]


@pytest.mark.slow
def test_fault_injection_killing_random_producers_costs_no_survivor_anything(logger: DataLogger) -> None:
    rng = random.Random(int.from_bytes(os.urandom(4), "little"))
    # A lock-free flag: producers are killed at random moments, and one killed inside an Event's (or a locked Value's)
    # lock would leave it held forever, hanging every other producer and this test.
    finish = multiprocessing.get_context("spawn").RawValue("b", 0)
    sizes = [16, 64] * 499 + [70_000, 16]  # small messages at full rate, now and then a large one
    logger.start()
    slots = [(source_id, *start_counted_producer(logger, source_id, sizes, finish)) for source_id in range(4)]
    killed: list[tuple[int, int]] = []
    next_source = 4
    for _ in range(8):
        time.sleep(rng.uniform(0.0, 0.3))
        index = rng.randrange(len(slots))
        source_id, process, returned = slots[index]
        if rng.random() < 0.5:
            process.kill()
        else:
            process.terminate()
        process.join(WAIT)
        killed.append((source_id, returned.value))
        slots[index] = (next_source, *start_counted_producer(logger, next_source, sizes, finish))
        next_source += 1
    finish.value = 1
    for _, process, _ in slots:
        process.join(WAIT)
        assert process.exitcode == 0
    stopper = threading.Thread(target=logger.stop)
    stopper.start()
    stopper.join(WAIT)
    assert not stopper.is_alive(), "stop() did not return"
    records = read_log(logger.output_directory)
    for source_id, _, returned in slots:
        # A replacement started just before the finish may not have put anything: it has no live file then.
        assert records.get(source_id, []) == counted_messages(source_id, returned.value, sizes)
    for source_id, returned_at_kill in killed:
        # Killed right after a put() returned, before it counted that: one more message than counted is logged.
        logged = records.get(source_id, [])
        assert len(logged) in (returned_at_kill, returned_at_kill + 1), (source_id, len(logged), returned_at_kill)
        assert logged == counted_messages(source_id, len(logged), sizes)


@pytest.mark.slow
def test_a_killed_logger_process_is_replaced_and_stop_warns_with_the_count_lost(logger: DataLogger) -> None:
    """SIGKILL of the logger process: a new one takes over, put() never raises, stop() warns and returns."""
    logger.start()
    queue = logger.input_queue
    payloads = [bytes([number % 251]) * 200_000 for number in range(400)]  # ~80 MB: the kill lands mid-run
    for number, payload in enumerate(payloads):
        queue.put(package(6, number, payload))

    def has_records() -> bool:
        files = list(logger.output_directory.glob(f"*{fmt.FILE_SUFFIX}"))
        return bool(files) and files[0].stat().st_size > 4_000_000

    wait_until(has_records, "the logger has written part of the messages")
    first = logger._logger_process.pid
    os.kill(first, signal.SIGKILL)
    multiprocessing.connection.wait([logger._logger_process.sentinel], timeout=WAIT)
    logger.start()  # waits for the new process (the watchdog starts it); it does not begin another session
    assert logger.alive and logger._logger_process.pid != first
    queue.put(package(6, 9999, b"after the kill"))  # reconnects to the new logger process: never raises
    with pytest.warns(DataLoggerWarning, match=rf"Unable to confirm that the {logger.name} DataLogger saved all"):
        logger.stop()
    assert not logger.data_complete
    # The new process writes a new segment; every whole record written before the kill reads back intact and in
    # order, a torn tail is reported, not hidden; what the killed process held is counted.
    assert read_log_segment(logger.output_directory / fmt.log_file_name(6, 1)) == [(9999, b"after the kill")]
    path = logger.output_directory / fmt.log_file_name(6, 0)
    data = path.read_bytes()
    index = fmt.scan_records(data, path)
    for number, (timestamp, offset, size) in enumerate(
        zip(index.timestamps, index.payload_offsets, index.payload_sizes, strict=True)
    ):
        assert (int(timestamp), data[offset : offset + size]) == (number, payloads[number])
    if index.defect is not None:
        assert index.defect.offset + index.defect.size == len(data)
    assert len(index) > 0 and logger.messages_lost > 0  # received, not confirmed written (a batch may be both)


@pytest.mark.slow
def test_the_log_folder_removed_while_four_producers_put_keeps_every_message_it_held(tmp_path: Path) -> None:
    """rm -rf of the live log folder: the logger rewrites its open (nameless) files into a recreated folder."""
    logger = DataLogger(tmp_path, f"rmrf_{SUFFIX}")
    logger.start()
    context = multiprocessing.get_context("spawn")
    count = 20_000
    producers = [context.Process(target=produce, args=(logger.input_queue, source, count)) for source in (1, 2, 3, 4)]
    for producer in producers:
        producer.start()
    wait_until(lambda: len(list(logger.output_directory.glob(f"*{fmt.FILE_SUFFIX}"))) == 4, "every source has a file")
    subprocess.run(["rm", "-rf", str(logger.output_directory)], check=True)
    for producer in producers:
        producer.join()
        assert producer.exitcode == 0
    # The lock file went with the folder: the logger locks the recreated one, so an assembly (or a second logger)
    # sees that it still writes there.
    wait_until(lambda: is_locked(logger.output_directory / LOCK_FILE_NAME), "the recreated folder is locked again")
    with pytest.warns(DataLoggerWarning, match="lost its name") as caught:
        logger.stop()
    assert "no message lost" in str(caught[0].message)
    assert not (logger.output_directory / LOCK_FILE_NAME).exists()  # released and removed at stop(), as always
    assert logger.messages_lost == 0 and logger.data_complete
    records = read_log(logger.output_directory)
    for source in (1, 2, 3, 4):  # the onset message included: everything the logger held survived
        assert records[source][0][0] == 0
        assert records[source][1:] == expected_messages(source, count)


def test_a_renamed_log_folder_keeps_its_data(logger: DataLogger) -> None:
    logger.start()
    logger.input_queue.put(package(2, 1, b"before the rename"))
    wait_until(lambda: any(logger.output_directory.glob(f"*{fmt.FILE_SUFFIX}")), "the first record is written")
    moved = logger.output_directory.with_name("moved")
    logger.output_directory.rename(moved)
    logger.input_queue.put(package(2, 2, b"after the rename"))
    logger.stop()
    assert read_log(moved)[2] == [(1, b"before the rename"), (2, b"after the rename")]


def test_a_removed_output_folder_is_recreated_and_neither_put_nor_stop_raises(logger: DataLogger) -> None:
    logger.start()
    for path in logger.output_directory.iterdir():  # the directory vanishes before the first write
        path.unlink()
    logger.output_directory.rmdir()
    logger.input_queue.put(package(1, 1, b"nowhere to go"))
    with pytest.warns(DataLoggerWarning, match="was recreated"):
        logger.stop()
    assert logger.messages_lost == 0
    assert read_log(logger.output_directory)[1] == [(1, b"nowhere to go")]


@pytest.mark.slow
@pytest.mark.skipif(
    TRANSPORT.NAME == "tcp",
    reason="POSIX transport only: a TCP listener shut down at stop resets the connections still waiting in its backlog",
)
def test_producers_beyond_the_open_file_limit_wait_and_every_accepted_message_is_kept(logger: DataLogger) -> None:
    """The logger's open-file limit exhausted by lingering producers: nobody's messages are lost (issue 16.5)."""
    resource = pytest.importorskip("resource")
    if not hasattr(resource, "prlimit") or "fork" not in multiprocessing.get_all_start_methods():
        pytest.skip("needs prlimit and fork (Linux)")
    logger.start()
    pid = logger._logger_process.pid
    in_use = len(os.listdir(f"/proc/{pid}/fd"))
    resource.prlimit(pid, resource.RLIMIT_NOFILE, (in_use + 6, in_use + 6))  # room for a few connections and files
    context = multiprocessing.get_context("fork")
    release = context.Event()
    producers, dones = [], []
    for index in range(16):  # connections stay open while the producers linger: most are refused at first
        done = context.Event()
        producer = context.Process(
            target=produce_and_linger, args=(logger.input_queue, 1 + index % 4, 50, done, release)
        )
        producer.start()
        producers.append(producer)
        dones.append(done)
    for done in dones:
        assert done.wait(WAIT)  # every put() returned: the messages wait in the kernel
    try:
        with pytest.warns(DataLoggerWarning, match="open-file limit"):
            logger.stop()  # closes finished connections one by one, accepting those that waited
    finally:
        release.set()
        for producer in producers:
            producer.join(WAIT)
    assert logger.messages_lost == 0
    records = read_log(logger.output_directory)
    for source in (1, 2, 3, 4):  # four producers per source, each with its 50 messages in order
        assert sorted(records[source]) == sorted([(number, payload_of(source, number)) for number in range(50)] * 4)


@pytest.mark.slow
def test_a_message_too_large_for_the_logger_fails_its_put_and_is_not_held(logger: DataLogger) -> None:
    resource = pytest.importorskip("resource")
    if not hasattr(resource, "prlimit"):
        pytest.skip("needs prlimit (Linux)")
    logger.start()
    pid = logger._logger_process.pid
    size = int(Path(f"/proc/{pid}/status").read_text().split("VmSize:")[1].split()[0]) * 1024
    resource.prlimit(pid, resource.RLIMIT_AS, (size + (400 << 20), size + (400 << 20)))  # 400 MB more, at most
    logger.input_queue.put(package(1, 1, b"before"))
    huge = np.zeros(800 << 20, dtype=np.uint8)  # more than the logger may allocate
    with pytest.raises(LoggerFailedError, match="too large for the logger's memory"):
        logger.input_queue.put(LogPackage(np.uint8(1), np.uint64(2), huge))
    assert logger.input_queue.held_messages == 0  # refused by a running logger: not held for a restart
    logger.input_queue.put(package(1, 3, b"after"))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DataLoggerWarning)  # the torn frame of the refused message is reported
        logger.stop()
    assert read_log(logger.output_directory)[1] == [(1, b"before"), (3, b"after")]


def run_stop_in_the_window(tmp_path: Path, fate: str) -> tuple[int, list[str], int]:
    """Runs logger_children.stop_in_the_window on the TCP transport; returns the producer's pid, warnings, held."""
    script = Path(__file__).with_name("logger_children.py")
    result = subprocess.run(
        [sys.executable, str(script), "stop_in_the_window", fate, str(tmp_path), f"window_{SUFFIX}"],
        capture_output=True,
        text=True,
        timeout=WAIT,
        env={**os.environ, "AXDS_FORCE_PORTABLE": "1"},  # the window is TCP's, whatever this run's transport
    )
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    pid = int(next(line.split()[1] for line in lines if line.startswith("PID ")))
    held = int(next(line.split()[1] for line in lines if line.startswith("HELD ")))
    return pid, [line[len("WARNING ") :] for line in lines if line.startswith("WARNING ")], held


@pytest.mark.slow
@pytest.mark.parametrize("fate", ["finishes", "killed"])
def test_a_tcp_put_preempted_between_its_stop_check_and_its_send_is_logged_not_lost(tmp_path: Path, fate: str) -> None:
    # TCP accepts bytes sent to a connection the logger no longer reads: a put() held off the CPU between its look
    # for the stop and its send (1 s here, longer than the logger's quiet grace) lost its message silently.
    _, caught, held = run_stop_in_the_window(tmp_path, fate)
    records = read_log(tmp_path / f"window_{SUFFIX}_data_log").get(5, [])
    if fate == "finishes":
        # The logger waited for the put() in progress: message 2 is logged in the first session, nothing held.
        assert records == [(1, b"before the stop"), (2, b"inside the window"), (3, b"after the restart")], caught
        assert held == 0
        assert caught == []
    else:  # killed inside put(): its connection ended, so stop() did not wait for it; its message was never sent
        assert records == [(1, b"before the stop")]
        assert not any("inside put()" in text for text in caught), caught


@pytest.mark.slow
def test_a_tcp_producer_stopped_inside_put_delays_stop_a_bounded_time_and_is_reported(tmp_path: Path) -> None:
    pid, caught, _ = run_stop_in_the_window(tmp_path, "stopped")
    first = [text for text in caught if "inside put()" in text]
    assert len(first) == 1 and f"[{pid}]" in first[0], caught
    assert first[0].startswith("Unable to confirm that the"), first[0]
    records = read_log(tmp_path / f"window_{SUFFIX}_data_log").get(5, [])
    assert records[0] == (1, b"before the stop") and records[-1] == (3, b"after the restart")
