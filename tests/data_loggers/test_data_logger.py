"""DataLogger with real processes: nothing put before stop() is lost, producers of every start method, lifecycle."""

from __future__ import annotations

import contextlib
import multiprocessing
import os
import signal
import subprocess
import sys
import textwrap
import time
import uuid
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from ataraxis_data_structures.data_loggers import DataLogger, LogPackage
from ataraxis_data_structures.data_loggers import log_format as fmt
from ataraxis_data_structures.data_loggers.logger_lock import LOCK_FILE_NAME
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


def payload_of(source_id: int, number: int, size: int = 16) -> bytes:
    return (f"{source_id}:{number}:".encode() * size)[:size]


def package(source_id: int, timestamp: int, payload: bytes) -> LogPackage:
    return LogPackage(np.uint8(source_id), np.uint64(timestamp), np.frombuffer(payload, dtype=np.uint8))


def produce(queue: Any, source_id: int, count: int, size: int = 16) -> None:
    """Puts count messages of one source, logging its onset message first (timestamp 0, epoch microseconds)."""
    onset = np.array([time.time_ns() // 1000], dtype="<u8").view(np.uint8)
    queue.put(LogPackage(np.uint8(source_id), np.uint64(0), onset))
    for number in range(1, count + 1):
        queue.put(package(source_id, number, payload_of(source_id, number, size)))


def produce_and_linger(queue: Any, source_id: int, count: int, done: Any, release: Any) -> None:
    """Puts count messages, reports it, and stays alive until released (its messages may still be in flight)."""
    for number in range(count):
        queue.put(package(source_id, number, payload_of(source_id, number)))
    done.set()
    release.wait(WAIT)


def produce_after_stop(queue: Any, count: int) -> None:
    """Puts messages of 64 KiB after the logger stopped: far more than the pipe holds, then exits."""
    for number in range(count):
        queue.put(package(9, number, bytes(65536)))


def produce_and_report(queue: Any, count: int, done: Any) -> None:
    """Puts messages of 64 KiB, reports that put() returned for all of them, and exits."""
    for number in range(count):
        queue.put(package(9, number, bytes(65536)))
    done.set()


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
    with contextlib.suppress(ChildProcessError):
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
    assert sorted(p.name for p in logger.output_directory.glob("*.axlog")) == ["001-0000.axlog", "001-0001.axlog"]
    assert read_log(logger.output_directory)[1] == [(1, b"first session"), (2, b"second session")]


@pytest.mark.parametrize("method", ["spawn", "fork"])
def test_producer_processes_of_each_start_method(logger: DataLogger, method: str) -> None:
    if method not in multiprocessing.get_all_start_methods():
        pytest.skip(f"{method} is not available on this platform")
    context = multiprocessing.get_context(method)
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


def test_ctrl_c_does_not_end_the_logger(logger: DataLogger) -> None:
    logger.start()
    os.kill(logger._logger_process.pid, signal.SIGINT)  # what a terminal's Ctrl+C sends to the whole process group
    logger.input_queue.put(package(2, 1, b"after Ctrl+C"))
    logger.stop()
    assert read_log(logger.output_directory)[2] == [(1, b"after Ctrl+C")]


def test_producers_never_wait_for_the_logger(logger: DataLogger) -> None:
    logger.start()
    pid = logger._logger_process.pid
    os.kill(pid, signal.SIGSTOP)  # the logger reads nothing and writes nothing while stopped
    try:
        produce(logger.input_queue, 5, 20_000, size=64)  # far more than the pipe holds: put() must still return
    finally:
        os.kill(pid, signal.SIGCONT)
    logger.stop()
    assert read_log(logger.output_directory)[5][1:] == expected_messages(5, 20_000, size=64)


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
    with pytest.raises(ValueError, match=r"source_id must be in 0\.\.255"):
        logger.input_queue.put(LogPackage(300, np.uint64(1), np.zeros(1, dtype=np.uint8)))  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="acquisition_time"):
        logger.input_queue.put(LogPackage(np.uint8(1), -1, np.zeros(1, dtype=np.uint8)))  # type: ignore[arg-type]


def test_instance_name_must_name_a_directory(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="instance_name"):
        DataLogger(tmp_path, "a/b")


def run_logging_script(directory: Path, name: str, source_id: int, ending: str) -> subprocess.CompletedProcess[str]:
    """Runs a Python process that starts a logger, puts 5000 messages of 32 bytes valued source_id, then ends."""
    prologue = f"""
import os, signal, sys
from pathlib import Path
import numpy as np
from ataraxis_data_structures.data_loggers import DataLogger, LogPackage

if __name__ == "__main__":
    logger = DataLogger(Path({str(directory)!r}), {name!r})
    logger.start()
    for number in range(5000):
        logger.input_queue.put(LogPackage(np.uint8({source_id}), np.uint64(number), np.full(32, {source_id}, np.uint8)))
"""
    code = prologue + textwrap.indent(textwrap.dedent(ending), "    ")
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=WAIT)


def test_a_forgotten_stop_runs_at_interpreter_exit(tmp_path: Path) -> None:
    result = run_logging_script(
        tmp_path, f"forgotten_{SUFFIX}", 2, "pass  # no stop(): the interpreter exits, messages in flight"
    )
    assert result.returncode == 0, result.stderr
    directory = tmp_path / f"forgotten_{SUFFIX}_data_log"
    assert read_log(directory)[2] == [(number, bytes([2]) * 32) for number in range(5000)]
    assert not is_locked(directory / LOCK_FILE_NAME)


def test_the_logger_finishes_its_work_when_the_parent_is_killed(tmp_path: Path) -> None:
    ending = """
    logger.input_queue.close()  # flush this process's feeder: every message is then in the pipe
    logger.input_queue._thread.join()
    print(logger._logger_process.pid, flush=True)
    os.kill(os.getpid(), signal.SIGKILL)
    """
    result = run_logging_script(tmp_path, f"orphan_{SUFFIX}", 3, ending)
    assert result.returncode == -signal.SIGKILL
    logger_pid = int(result.stdout.split()[0])

    def gone() -> bool:
        try:
            os.kill(logger_pid, 0)
        except ProcessLookupError:
            return True
        return False

    wait_until(gone, "the orphaned logger process exits")
    directory = tmp_path / f"orphan_{SUFFIX}_data_log"
    wait_until(lambda: not is_locked(directory / LOCK_FILE_NAME), "the orphaned logger releases its directory")
    # Everything that had left the parent before it died was received, written and closed by the orphaned logger.
    assert read_log(directory)[3] == [(number, bytes([3]) * 32) for number in range(5000)]


def test_a_killed_logger_leaves_readable_records_and_stop_names_it(logger: DataLogger) -> None:
    logger.start()
    queue = logger.input_queue
    payloads = [bytes([number % 251]) * 200_000 for number in range(400)]  # ~80 MB: the kill lands mid-run
    for number, payload in enumerate(payloads):
        queue.put(package(6, number, payload))

    def has_records() -> bool:
        files = list(logger.output_directory.glob("*.axlog"))
        return bool(files) and files[0].stat().st_size > 4_000_000

    wait_until(has_records, "the logger has written part of the messages")
    os.kill(logger._logger_process.pid, signal.SIGKILL)
    wait_until(lambda: not logger.alive, "alive turns False")
    wait_until(lambda: logger.input_queue.logger_failed, "the watchdog flags the queue")
    with pytest.raises(ChildProcessError, match=f"DataLogger '{logger.name}'"):
        queue.put(package(6, 9999, b"too late"))
    with pytest.raises(
        ChildProcessError,
        match=rf"DataLogger '{logger.name}': the logger process .* failed \(killed by signal SIGKILL\)",
    ):
        logger.stop()
    logger.stop()  # the failure was reported once; the instance is stopped now

    # Every whole record written before the kill reads back intact and in order; a torn tail is reported, not hidden.
    (path,) = logger.output_directory.glob("*.axlog")
    data = path.read_bytes()
    index = fmt.scan_records(data, path)
    assert len(index) > 0
    for number, (timestamp, offset, size) in enumerate(
        zip(index.timestamps, index.payload_offsets, index.payload_sizes, strict=True)
    ):
        assert (int(timestamp), data[offset : offset + size]) == (number, payloads[number])
    if index.defect is not None:
        assert index.defect.offset + index.defect.size == len(data)

    # A restart gets a fresh queue (the old pipe may end in a torn message) and a new segment.
    logger.start()
    assert logger.input_queue is not queue
    logger.input_queue.put(package(6, 0, b"after the crash"))
    logger.stop()
    assert read_log_segment(logger.output_directory / fmt.log_file_name(6, 1)) == [(0, b"after the crash")]


def read_log_segment(path: Path) -> list[tuple[int, bytes]]:
    data = path.read_bytes()
    index = fmt.scan_records(data, path)
    assert index.defect is None
    return [
        (int(t), data[o : o + s])
        for t, o, s in zip(index.timestamps, index.payload_offsets, index.payload_sizes, strict=True)
    ]


def test_a_write_failure_ends_the_logger_and_stop_reports_it(logger: DataLogger) -> None:
    logger.start()
    for path in logger.output_directory.iterdir():  # the directory vanishes under the running logger
        path.unlink()
    logger.output_directory.rmdir()
    logger.input_queue.put(package(1, 1, b"nowhere to go"))
    wait_until(lambda: not logger.alive, "the logger process ends")
    with pytest.raises(ChildProcessError, match=rf"'{logger.name}'.*failed \(exit code 1\): FileNotFoundError"):
        logger.stop()


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


def test_a_large_array_reused_right_after_put_and_arrays_of_any_layout_log_their_bytes(logger: DataLogger) -> None:
    logger.start()
    large = np.zeros(300_000, dtype=np.uint8)  # large payloads take another copy path at put()
    for number in range(20):
        large[:] = number
        logger.input_queue.put(LogPackage(np.uint8(1), np.uint64(number), large))
    strided = np.arange(400_000, dtype=np.uint8)[::3]
    wide = np.arange(50_000, dtype=">f8").reshape(500, 100).T  # not C-contiguous, not uint8
    for number, array in enumerate((strided, wide)):
        logger.input_queue.put(LogPackage(np.uint8(2), np.uint64(number), array))  # type: ignore[arg-type]
    logger.stop()
    log = read_log(logger.output_directory)
    assert log[1] == [(number, bytes([number]) * 300_000) for number in range(20)]
    assert log[2] == [(0, strided.tobytes()), (1, wide.tobytes())]


def test_messages_put_before_start_and_after_stop_are_kept_for_the_next_session(logger: DataLogger) -> None:
    logger.input_queue.put(package(1, 1, b"before start"))
    logger.start()
    logger.stop()
    logger.input_queue.put(package(1, 2, b"after stop"))
    logger.start()
    logger.stop()
    assert read_log(logger.output_directory)[1] == [(1, b"before start"), (2, b"after stop")]


def test_a_producer_that_puts_after_the_final_stop_still_exits(logger: DataLogger) -> None:
    logger.start()
    logger.stop()
    producer = multiprocessing.get_context("spawn").Process(target=produce_after_stop, args=(logger.input_queue, 100))
    producer.start()
    producer.join(WAIT)
    assert producer.exitcode == 0  # it did not hang at exit waiting for a reader of the full pipe


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


def test_producers_still_exit_after_the_logger_died_under_them(logger: DataLogger) -> None:
    context = multiprocessing.get_context("spawn")
    logger.start()
    pid = logger._logger_process.pid
    os.kill(pid, signal.SIGSTOP)  # the pipe fills up and the producer's feeder blocks on it
    done = context.Event()
    producer = context.Process(target=produce_and_report, args=(logger.input_queue, 100, done))
    producer.start()
    assert done.wait(WAIT)
    os.kill(pid, signal.SIGKILL)
    producer.join(WAIT)
    assert producer.exitcode == 0  # its exit did not hang on the messages the dead logger will never take
    with pytest.raises(ChildProcessError, match="SIGKILL"):
        logger.stop()
