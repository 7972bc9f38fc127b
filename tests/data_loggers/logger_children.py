"""Code the DataLogger tests run in other processes: producers (multiprocessing targets) and whole programs.

Run as a script (``python logger_children.py PROGRAM DIRECTORY NAME``), it is a program that starts a DataLogger,
logs 5000 messages of 32 bytes and then ends the way PROGRAM says, so tests can check what an interpreter exit or a
killed parent leaves behind.
"""

from __future__ import annotations

import os
import random
import signal
import sys
import time
import warnings
from pathlib import Path
from typing import Any

import numpy as np

from ataraxis_data_structures.data_loggers import DataLogger, LogPackage
from ataraxis_data_structures.errors import DataLoggerWarning, LoggerFailedError

WAIT = 60.0


def payload_of(source_id: int, number: int, size: int = 16) -> bytes:
    """Returns the payload of message `number` of a source: its bytes say which message it is."""
    return (f"{source_id}:{number}:".encode() * size)[:size]


def package(source_id: int, timestamp: int, payload: bytes) -> LogPackage:
    """Returns a LogPackage of the given bytes."""
    return LogPackage(np.uint8(source_id), np.uint64(timestamp), np.frombuffer(payload, dtype=np.uint8))


def produce(queue: Any, source_id: int, count: int, size: int = 16) -> None:
    """Puts count messages of one source, logging its onset message first (timestamp 0, epoch microseconds)."""
    onset = np.array([time.time_ns() // 1000], dtype="<u8").view(np.uint8)
    queue.put(LogPackage(np.uint8(source_id), np.uint64(0), onset))
    for number in range(1, count + 1):
        queue.put(package(source_id, number, payload_of(source_id, number, size)))


def describe_and_produce(queue: Any, source_id: int, count: int, name: str) -> None:
    """Describes its own source through the queue (as a camera process would), then puts count messages."""
    from ataraxis_data_structures import SourceDescription

    queue.describe_source(source_id, SourceDescription(name, dtype="<u1", shape=(16,), note=f"pid {os.getpid()}"))
    produce(queue, source_id, count)


def produce_and_linger(queue: Any, source_id: int, count: int, done: Any, release: Any) -> None:
    """Puts count messages, reports it, and stays alive until released."""
    for number in range(count):
        queue.put(package(source_id, number, payload_of(source_id, number)))
    done.set()
    release.wait(WAIT)


def produce_until_refused(
    queue: Any, source_id: int, size: int, returned: Any, limit: int, report: str | None = None
) -> None:
    """Puts messages in the strict mode until put() refuses one (or `limit` messages), counting those put() returned.

    The strict mode (DataLoggerWarning turned into an error) makes put() raise where it would otherwise hold the
    message for a later start(). Writes the count into the file `report` (if given) once refused; exits with code 3 if
    put() never raised.
    """
    warnings.simplefilter("error", DataLoggerWarning)
    payload = bytes(size)
    for number in range(limit):
        try:
            queue.put(package(source_id, number, payload))
        except (LoggerFailedError, DataLoggerWarning):
            if report is not None:
                Path(report).write_text(str(returned.value))
            return
        returned.value = number + 1
    sys.exit(3)


def put_while_stopped(queue: Any, source_id: int, held: Any, go_on: Any) -> None:
    """Puts messages 0..2 while the logger is stopped (held, with one warning), then message 3 once `go_on` is set."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        for number in range(3):
            queue.put(package(source_id, number, b"held %d" % number))
    assert len(caught) == 1 and "held in process" in str(caught[0].message), [str(w.message) for w in caught]
    held.value = queue.held_messages
    go_on.wait(60)
    queue.put(package(source_id, 3, b"after the restart"))


def produce_counted(queue: Any, source_id: int, sizes: list[int], returned: Any, started: Any, finish: Any) -> None:
    """Puts messages of the given sizes until `finish.value` is set, counting in `returned` those put() returned.

    Message n of the source has timestamp n and payload payload_of(source_id, n, sizes[n % len(sizes)]).
    """
    started.set()
    number = 0
    while not finish.value:
        queue.put(package(source_id, number, payload_of(source_id, number, sizes[number % len(sizes)])))
        number += 1
        returned.value = number


def produce_forever(queue: Any, source_id: int, returned: Any, started: Any) -> None:
    """Puts messages of random sizes (16 B to 256 KB) as fast as it can until killed; counts those put() returned."""
    rng = random.Random(source_id)
    started.set()
    number = 0
    while True:
        size = rng.choice((16, 16, 64, 1000, 70_000, 262_144))
        queue.put(package(source_id, number, payload_of(source_id, number, size)))
        number += 1
        returned.value = number


def produce_task(queue: Any, source_id: int, count: int) -> int:
    """A pool task: puts count messages of one source through a queue it received as a task argument."""
    for number in range(count):
        queue.put(package(source_id, number, payload_of(source_id, number)))
    return os.getpid()


def record_live(directory: Path, name: str) -> None:
    """Logs two sources until the file `stop` appears in directory, then stops and writes the counts to `counts`.

    Source 1 logs its onset, then a message every millisecond of acquisition time, with one 500 ms jump after
    message 200 (its largest gap is 501 ms). Source 2 logs its onset and 50 messages, then falls silent.
    """
    logger = DataLogger(directory, name)
    logger.start()
    queue = logger.input_queue
    onset = np.array([time.time_ns() // 1000], dtype="<u8").view(np.uint8)
    for source_id in (1, 2):
        queue.put(LogPackage(np.uint8(source_id), np.uint64(0), onset))
    for number in range(1, 51):
        queue.put(package(2, number * 1000, payload_of(2, number)))
    number = 0
    timestamp = 0
    while not (directory / "stop").exists():
        number += 1
        timestamp += 501_000 if number == 201 else 1000
        queue.put(package(1, timestamp, payload_of(1, number, 100)))
        time.sleep(0.0005)
    logger.stop()
    (directory / "counts").write_text(f"{number} 50")


def program(ending: str, directory: Path, name: str) -> None:
    """Starts a logger, puts 5000 messages of 32 bytes (source 2 or 3), then ends as `ending` says."""
    logger = DataLogger(directory, name)
    logger.start()
    source_id = 3 if ending.startswith("killed") else 2
    for number in range(5000):
        logger.input_queue.put(LogPackage(np.uint8(source_id), np.uint64(number), np.full(32, source_id, np.uint8)))
    if ending == "forgotten_stop":
        return  # no stop(): the interpreter exits with the logger running
    print(logger._logger_process.pid, flush=True)
    if ending == "killed_with_producer":
        import multiprocessing

        context = multiprocessing.get_context("spawn")
        returned = context.RawValue("q", 0)
        producer = context.Process(
            target=produce_until_refused,
            args=(logger.input_queue, 4, 64, returned, 100_000_000, str(directory / "producer_returned.txt")),
        )
        producer.start()
        while returned.value < 1000:
            time.sleep(0.01)
        print(producer.pid, flush=True)
    os.kill(os.getpid(), signal.SIGKILL)


def put_late_in_the_stop_window(queue: Any, inside: Any, go_on: Any, held: Any) -> None:
    """Puts message 1, then message 2 with the TCP transport's send made to sleep 1 s after put() looked for a stop.

    Sets `inside` when message 2's put() is between that look and its send, writes how many messages the process holds
    into `held` once put() returned, and puts message 3 once `go_on` is set.
    """
    from ataraxis_data_structures.data_loggers.live import transport_tcp

    queue.put(package(5, 1, b"before the stop"))
    real_send = transport_tcp.send

    def late_send(connection: Any, header: Any, payload: Any) -> int:
        inside.set()
        time.sleep(1.0)  # preempted: the stop happens now
        return real_send(connection, header, payload)

    transport_tcp.send = late_send
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DataLoggerWarning)  # held (on the old Unix-like path) warns once
        queue.put(package(5, 2, b"inside the window"))
    transport_tcp.send = real_send
    held.value = queue.held_messages
    go_on.wait(WAIT)
    queue.put(package(5, 3, b"after the restart"))


def stop_in_the_window(fate: str, directory: Path, name: str) -> None:
    """Stops a TCP logger while a producer's put() is between its look for a stop and its send (1 s long).

    `fate` is what happens to the producer meanwhile: "finishes" (it sends after the stop began), "killed" (SIGKILL)
    or "stopped" (SIGSTOP until stop() returned). Prints the producer's pid, each warning stop() gave and the count of
    messages the producer held; the test reads the log.
    """
    import multiprocessing

    from ataraxis_data_structures.data_loggers.live.transport import TRANSPORT

    assert TRANSPORT.NAME == "tcp", TRANSPORT.NAME
    logger = DataLogger(directory, name)
    logger.start()
    context = multiprocessing.get_context("spawn")
    inside, go_on, held = context.Event(), context.Event(), context.RawValue("q", -1)
    producer = context.Process(target=put_late_in_the_stop_window, args=(logger.input_queue, inside, go_on, held))
    producer.start()
    pid = int(producer.pid or 0)
    print("PID", pid, flush=True)
    assert inside.wait(WAIT)
    if fate == "killed":
        os.kill(pid, signal.SIGKILL)
    elif fate == "stopped":
        os.kill(pid, signal.SIGSTOP)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        logger.stop()
        if fate == "stopped":
            os.kill(pid, signal.SIGCONT)
        if fate != "killed":
            while held.value < 0 and producer.is_alive():
                time.sleep(0.01)
            logger.start()
            go_on.set()
            producer.join(WAIT)
            logger.stop()
    producer.join(WAIT)
    for item in caught:
        print("WARNING", str(item.message).replace("\n", " "), flush=True)
    print("HELD", held.value, flush=True)


if __name__ == "__main__":
    if sys.argv[1] == "record_live":
        record_live(Path(sys.argv[2]), sys.argv[3])
    elif sys.argv[1] == "stop_in_the_window":
        stop_in_the_window(sys.argv[2], Path(sys.argv[3]), sys.argv[4])
    else:
        program(sys.argv[1], Path(sys.argv[2]), sys.argv[3])


def contend_for_removable_lock(path: str, rounds: int, holders: Any, overlaps: Any) -> None:
    """Takes and releases a removable lock (as loggers take a log directory's) `rounds` times, deleting it each time.

    Counts in `overlaps` every time it held the lock while another process did too.
    """
    from ataraxis_data_structures.file_locks import LockHeldError, try_lock

    taken = 0
    while taken < rounds:
        try:
            held = try_lock(Path(path), removable=True)
        except LockHeldError:
            continue
        with holders.get_lock():
            holders.value += 1
            if holders.value > 1:
                overlaps.value += 1
        with holders.get_lock():
            holders.value -= 1
        held.release_and_remove()
        taken += 1
