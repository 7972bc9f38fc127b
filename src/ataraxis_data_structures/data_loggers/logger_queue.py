"""The queue producers use to send LogPackages to a DataLogger's logger process.

It is a plain ``multiprocessing.Queue`` (a pipe plus a feeder thread in every process that puts), not a Manager
queue: ``put()`` only copies the payload and appends it to an in-process buffer, so a producer never waits for the
logger or the disk. On top of the standard queue:

- ``put()`` accepts only LogPackages, checks their fields, and raises ChildProcessError once the parent has seen the
  logger process die;
- it is unbounded, without the standard queue's per-put semaphore;
- ``put()`` copies the payload at once, so a producer may reuse its array right after (as with the reference's
  Manager queue), and the feeder thread does not pickle LogPackages: it writes each one as a fixed 14-byte header
  and the payload, many messages per system call (the standard feeder pays one pickling, one lock and one system
  call per message).

Wire format (POSIX): the pipe carries the framing of ``multiprocessing.connection.Connection`` (a big-endian int32
body length, or -1 then a big-endian uint64 length), and a body is either a message, ``MESSAGE_KIND`` (1 byte) +
source_id (1 byte) + timestamp (big-endian uint64) + payload, or any other object pickled (which starts with the
pickle PROTO opcode 0x80). On Windows the standard feeder pickles (source_id, timestamp, payload) tuples instead.
"""

from __future__ import annotations

import contextlib
import ctypes
import logging
import multiprocessing.queues
import os
import pickle
import struct
import sys
import threading
import time
import weakref
from collections import deque
from multiprocessing.context import BaseContext
from multiprocessing.util import Finalize, is_exiting
from typing import Any

import numpy as np

from .._durable_files import write_all
from .log_package import LogPackage, payload_bytes

_log = logging.getLogger(__name__)

MESSAGE_KIND = 0x01
"""The first byte of a message body (a pickle starts with 0x80)."""
MESSAGE_PREFIX = struct.Struct(">BBQ")
"""kind, source_id, timestamp: the start of a message body, before the payload."""
SHORT_LENGTH = struct.Struct(">i")
"""The Connection length prefix of a body up to 2 GiB - 1."""
LONG_LENGTH = struct.Struct(">iQ")
"""The Connection length prefix of a larger body: -1, then the length."""
_MESSAGE_HEADER = struct.Struct(">iBBQ")
_LONG_MESSAGE_HEADER = struct.Struct(">iQBBQ")
_MAX_SHORT_BODY = 0x7FFFFFFF
_MAX_TIMESTAMP = 0xFFFFFFFFFFFFFFFF

_PIPE_SIZE = 1 << 20
"""The pipe capacity asked for on Linux: slack for bursts while the logger is busy, and fewer wake-ups."""
_BATCH_MESSAGES = 512
"""The most messages the feeder thread takes from the buffer at a time."""
_BATCH_BYTES = 1 << 20
"""The feeder thread writes out what it holds once it reaches this many bytes."""
_GIL_FREE_COPY_BYTES = 64 * 1024
"""Payloads of at least this size are copied at put() without holding the GIL."""
_STOPPED_RECHECK_INTERVAL = 0.05
"""How often a feeder holding messages while the logger is stopped checks whether it runs again."""


NOT_STARTED, RUNNING, STOPPED, FAILED = range(4)
"""The states of the logger a queue feeds, as the parent sets them; every process holding the queue sees them."""


_COUNTER_SLOTS = 1024
"""How many processes a queue counts in-flight messages for; more make the logger fall back to its quiet period."""

_fork_generation = 0
"""Counts the forks this process came out of: a forked child must count its messages in a slot of its own."""


def _after_fork_in_child() -> None:
    global _fork_generation
    _fork_generation += 1


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_after_fork_in_child)


class InFlightCounters:
    """Counts, for every process using a queue, the messages it put and the messages its feeder wrote to the pipe.

    Each process has a slot of three numbers: messages put, messages written to the pipe, and its pid. Each number
    has one writer, so counting needs no lock. When no running process has a message in flight and the pipe is
    empty, the logger has received everything put so far: stop() can end then, instead of waiting for the queue to
    stay quiet for a while (and missing a producer that the machine's load delays for longer than that).

    Args:
        context: The multiprocessing context that creates the shared memory.
    """

    def __init__(self, context: BaseContext) -> None:
        self.counts: Any = context.RawArray(ctypes.c_int64, 3 * _COUNTER_SLOTS)
        self._claimed: Any = context.RawValue(ctypes.c_uint32, 0)
        self._lock: Any = context.Lock()

    def claim(self) -> int:
        """Returns the first counter of a slot of its own for the calling process, or -1 when none is left."""
        if sys.platform == "win32":  # the standard feeder Windows uses does not count what it sends
            self._claimed.value = _COUNTER_SLOTS + 1
            return -1
        with self._lock:
            slot = int(self._claimed.value)
            self._claimed.value = min(slot + 1, _COUNTER_SLOTS + 1)
        if slot >= _COUNTER_SLOTS:
            return -1
        self.counts[3 * slot + 2] = os.getpid()
        return 3 * slot

    def in_flight(self) -> int | None:
        """Returns the messages running processes put and did not yet write to the pipe, or None if not known."""
        claimed = self._claimed.value
        if claimed > _COUNTER_SLOTS:
            return None
        counts = self.counts
        pending = 0
        for first in range(0, 3 * claimed, 3):
            waiting = counts[first] - counts[first + 1]
            if waiting and _running(counts[first + 2]):  # a dead process's messages will never come
                pending += waiting
        return pending


def _running(pid: int) -> bool:
    """Returns True if a process with the pid exists."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:  # e.g. it belongs to another user
        return True
    return True


class StopLogging:
    """The marker the parent puts last into the queue to ask the logger process to finish."""

    __slots__ = ()


class _Unbounded:
    """Stands in for the queue's counting semaphore: the logger's queue has no size limit, so nothing to count."""

    __slots__ = ()

    def acquire(self, block: bool = True, timeout: float | None = None) -> bool:
        return True

    def release(self) -> None:
        return None


class LoggerQueue(multiprocessing.queues.Queue):  # type: ignore[type-arg]
    """The input queue of one DataLogger; works in child processes started with spawn, fork or forkserver.

    Args:
        context: The multiprocessing context that creates the queue's pipe and locks.
        logger_name: The name of the DataLogger the queue feeds, used in error messages.
    """

    def __init__(self, context: BaseContext, logger_name: str) -> None:
        super().__init__(ctx=context)
        internals: Any = self  # the standard queue's private state, which typeshed does not describe
        internals._sem = _Unbounded()
        self._logger_name = logger_name
        # The state of the logger (NOT_STARTED, RUNNING, ...), set by the parent, shared with every process.
        self._logger_state: Any = context.RawValue(ctypes.c_ubyte, NOT_STARTED)
        self._in_flight = InFlightCounters(context)
        self._forget_slot()
        _enlarge_pipe(internals._reader.fileno())

    def __getstate__(self) -> Any:
        return super().__getstate__(), self._logger_name, self._logger_state, self._in_flight

    def __setstate__(self, state: Any) -> None:
        base, self._logger_name, self._logger_state, self._in_flight = state
        self._forget_slot()
        super().__setstate__(base)

    def _forget_slot(self) -> None:
        self._slot = -1
        self._slot_generation = -1  # never the current one: the first put() claims a slot

    def _claim_slot(self) -> None:
        self._slot = self._in_flight.claim()
        self._slot_generation = _fork_generation

    def put(self, obj: Any, block: bool = True, timeout: float | None = None) -> None:
        """Sends a LogPackage to the logger process; returns at once without waiting for the logger.

        The payload is copied before put() returns, so the producer may reuse or change its array right away.

        Raises:
            TypeError: If the object is not a LogPackage.
            ValueError: If the package's source_id is not in 0..255 or its acquisition_time is not a uint64.
            ChildProcessError: If the logger process this queue feeds has died.
        """
        if self._logger_state.value != RUNNING:
            self._check_logger_state()
        if not isinstance(obj, LogPackage):
            raise TypeError(
                f"DataLogger '{self._logger_name}': the input queue accepts LogPackage instances, got "
                f"{type(obj).__name__}"
            )
        source_id = int(obj.source_id)
        timestamp = int(obj.acquisition_time)
        if not 0 <= source_id <= 255:
            raise ValueError(f"LogPackage source_id must be in 0..255 (a uint8), got {obj.source_id}")
        if not 0 <= timestamp <= _MAX_TIMESTAMP:
            raise ValueError(f"LogPackage acquisition_time must be a uint64, got {obj.acquisition_time}")
        payload = _snapshot(obj.serialized_data)
        if self._slot_generation != _fork_generation:
            self._claim_slot()
        slot = self._slot
        if slot < 0:
            super().put((source_id, timestamp, payload), block, timeout)
            return
        counts = self._in_flight.counts
        counts[slot] += 1  # counted before the feeder can see it, so the count of in-flight messages never dips
        try:
            super().put((source_id, timestamp, payload), block, timeout)
        except BaseException:
            counts[slot] -= 1
            raise

    def _check_logger_state(self) -> None:
        state = self._logger_state.value
        internals: Any = self
        if state == FAILED:
            self.cancel_join_thread()  # nobody will take what this process still holds: do not wait for it at exit
            raise ChildProcessError(
                f"DataLogger '{self._logger_name}': the logger process is no longer running (it exited "
                f"unexpectedly), so the message was not logged"
            )
        if state == STOPPED and not internals._joincancelled:
            # The message is kept for a restart, as the reference does; if none comes before this process exits, the
            # exit must not wait forever for the feeder, which holds messages while the logger is stopped.
            self.cancel_join_thread()

    def qsize(self) -> int:
        """Raises NotImplementedError: the queue does not count its messages, so that putting one stays cheap."""
        raise NotImplementedError("the DataLogger input queue does not count its messages")

    def full(self) -> bool:
        """Returns False: the queue has no size limit."""
        return False

    def send_stop(self) -> None:
        """Sends the stop marker behind everything this process has put, without starting a feeder thread.

        A process that has put messages already runs a feeder thread, and the marker must queue behind them. A
        process that never put anything has nothing in flight, so the marker is written to the pipe directly:
        that also works at interpreter exit, when new threads can no longer start.
        """
        internals: Any = self
        if internals._thread is not None:
            super().put(StopLogging())
            return
        if sys.platform == "win32":
            internals._writer.send_bytes(pickle.dumps(StopLogging(), pickle.HIGHEST_PROTOCOL))
            return
        _send(_encode([StopLogging()]), internals._writer.fileno(), internals._wlock)

    @property
    def reader(self) -> Any:
        """Returns the read end of the queue's pipe (the logger process is its only reader)."""
        internals: Any = self
        return internals._reader

    def discard_unread(self) -> None:
        """Reads and drops what is left in the pipe of a dead logger, for as long as this process runs.

        Producers whose feeder threads were blocked on a full pipe when the logger died can then finish and exit.
        """
        if sys.platform == "win32":
            return
        fd = self.reader.fileno()

        def drain() -> None:  # raw reads: the logger may have died in the middle of a message
            with contextlib.suppress(OSError):
                while os.read(fd, _PIPE_SIZE):
                    pass

        threading.Thread(target=drain, name="DataLogger-dead-queue-drain", daemon=True).start()

    def in_flight(self) -> int | None:
        """Returns the messages put into the queue and not yet written to its pipe, or None when not known."""
        return self._in_flight.in_flight()

    def set_logger_state(self, state: int) -> None:
        """Records the state of the logger for every process holding the queue; FAILED makes put() raise."""
        self._logger_state.value = state

    @property
    def logger_failed(self) -> bool:
        """Returns True once the logger process fed by the queue has been seen to die."""
        return bool(self._logger_state.value == FAILED)

    def _start_thread(self) -> None:
        # The same as multiprocessing.Queue._start_thread(), with the batching feeder as the thread's target.
        if sys.platform == "win32":  # no POSIX pipe to write frames to: the standard feeder pickles the tuples
            super()._start_thread()  # type: ignore[misc]
            return
        internals: Any = self
        internals._buffer.clear()
        thread = threading.Thread(
            target=_feed_in_batches,
            args=(
                internals._buffer,
                internals._notempty,
                (internals._reader, internals._writer, internals._wlock),
                self._logger_state,
                (self._in_flight.counts, self._slot + 1) if self._slot >= 0 else None,
            ),
            name="QueueFeederThread",
            daemon=True,
        )
        internals._thread = thread
        try:
            thread.start()
        except BaseException:
            internals._thread = None
            raise
        base: Any = multiprocessing.queues.Queue
        if not internals._joincancelled:
            internals._jointhread = Finalize(thread, base._finalize_join, [weakref.ref(thread)], exitpriority=-5)
        internals._close = Finalize(
            self, base._finalize_close, [internals._buffer, internals._notempty], exitpriority=10
        )


def _snapshot(data: Any) -> bytes | memoryview:
    """Returns a copy of a payload's raw bytes for the feeder thread to send.

    A large NumPy payload is copied with NumPy, which lets go of the GIL while it copies, so the feeder thread keeps
    writing earlier messages to the pipe meanwhile (bytes(), tobytes() hold it). Windows's standard feeder pickles
    what it sends, and a memoryview does not pickle: there, and for small payloads, a bytes copy.
    """
    if (
        type(data) is np.ndarray
        and data.nbytes >= _GIL_FREE_COPY_BYTES
        and not data.dtype.hasobject
        and sys.platform != "win32"
    ):
        return np.array(data, order="C", copy=True).reshape(-1).view(np.uint8).data
    return payload_bytes(data)


def _feed_in_batches(
    buffer: deque[Any],
    notempty: threading.Condition,
    pipe: tuple[Any, Any, Any],
    logger_state: Any,
    sent_counter: tuple[Any, int] | None,
) -> None:
    """Moves messages from the process's buffer to the pipe, many per write.

    While the logger is stopped, nobody reads the pipe: the feeder then holds its messages until a restart instead
    of writing into a pipe that may fill up, so a process that exits meanwhile never leaves a half-written message
    (or the queue's write lock) behind.
    """
    sentinel = multiprocessing.queues._sentinel  # type: ignore[attr-defined]  # appended by the queue's close()
    reader, writer, write_lock = pipe
    fd = writer.fileno()
    while True:
        with notempty:
            while not buffer:
                notempty.wait()
            batch = [buffer.popleft() for _ in range(min(len(buffer), _BATCH_MESSAGES))]
        taken = batch
        finished = sentinel in batch
        if finished:
            batch = batch[: batch.index(sentinel)]
        while logger_state.value == STOPPED and batch:
            time.sleep(_STOPPED_RECHECK_INTERVAL)
        if logger_state.value == FAILED:  # the logger died: nothing reads these, and writing could block forever
            batch = []
        try:
            _send(_encode(batch), fd, write_lock)
        except Exception:
            if is_exiting():
                return
            _log.exception("the DataLogger queue could not send %d messages to the logger process", len(batch))
        if sent_counter is not None:
            counts, index = sent_counter
            counts[index] += sum(1 for item in taken if type(item) is tuple)
        if finished:  # the queue was closed in this process
            reader.close()
            writer.close()
            return


def _encode(items: list[Any]) -> list[list[bytes]]:
    """Returns the items framed for the pipe, as groups of buffers of about _BATCH_BYTES each."""
    groups: list[list[bytes]] = []
    frames: list[bytes] = []
    size = 0
    pack = _MESSAGE_HEADER.pack
    for item in items:
        if type(item) is tuple:
            source_id, timestamp, payload = item
            body = MESSAGE_PREFIX.size + len(payload)
            if body <= _MAX_SHORT_BODY:
                frames.append(pack(body, MESSAGE_KIND, source_id, timestamp))
            else:
                frames.append(_LONG_MESSAGE_HEADER.pack(-1, body, MESSAGE_KIND, source_id, timestamp))
            frames.append(payload)
        else:
            payload = pickle.dumps(item, pickle.HIGHEST_PROTOCOL)
            body = len(payload)
            frames.append(SHORT_LENGTH.pack(body) if body <= _MAX_SHORT_BODY else LONG_LENGTH.pack(-1, body))
            frames.append(payload)
        size += body
        if size >= _BATCH_BYTES:
            groups.append(frames)
            frames, size = [], 0
    if frames:
        groups.append(frames)
    return groups


def _send(groups: list[list[bytes]], fd: int, write_lock: Any) -> None:
    """Writes framed messages while holding the queue's write lock, so no other process interleaves with them."""
    for frames in groups:
        with write_lock:
            write_all(fd, frames)


def _enlarge_pipe(fd: int) -> None:
    """Asks Linux for a larger pipe; the default 64 KiB holds only a few hundred small messages."""
    if sys.platform != "linux":
        return
    import fcntl

    try:
        fcntl.fcntl(fd, fcntl.F_SETPIPE_SZ, _PIPE_SIZE)
    except OSError:  # the per-user pipe budget is exhausted: the default size still works
        return
