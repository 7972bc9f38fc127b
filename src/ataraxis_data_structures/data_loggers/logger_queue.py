"""The queue producers use to send LogPackages to a DataLogger's logger process.

It is a plain ``multiprocessing.Queue`` (a pipe plus a feeder thread in every process that puts), not a Manager
queue: ``put()`` only appends to an in-process buffer, so a producer never waits for the logger or the disk. On top
of the standard queue it is unbounded without a per-put semaphore, rejects anything but LogPackages at ``put()``,
raises ChildProcessError at ``put()`` once the parent has seen the logger process die, and its feeder thread sends
everything waiting in the buffer with one write (the standard feeder pays one lock and one system call per message).
The bytes on the pipe keep the framing of ``multiprocessing.connection.Connection``.
"""

from __future__ import annotations

import ctypes
import logging
import multiprocessing.queues
import pickle
import struct
import sys
import threading
import weakref
from collections import deque
from multiprocessing.context import BaseContext
from multiprocessing.util import Finalize, is_exiting
from typing import Any

from .log_package import LogPackage
from .logger_io import write_all

_log = logging.getLogger(__name__)

_PIPE_SIZE = 1 << 20
"""The pipe capacity asked for on Linux: slack for bursts while the logger is busy, and fewer wake-ups."""
_BATCH_MESSAGES = 512
"""The most messages the feeder thread sends with one write."""
_BATCH_BYTES = 1 << 20
"""The feeder thread stops adding messages to a write once it holds this many bytes."""
_SHORT_LENGTH = struct.Struct("!i")
_LONG_LENGTH = struct.Struct("!iQ")


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
        # Set by the parent's watchdog when the logger process dies; shared with every process holding the queue.
        self._logger_failed: Any = context.RawValue(ctypes.c_ubyte, 0)
        _enlarge_pipe(internals._reader.fileno())

    def __getstate__(self) -> Any:
        return super().__getstate__(), self._logger_name, self._logger_failed

    def __setstate__(self, state: Any) -> None:
        base, self._logger_name, self._logger_failed = state
        super().__setstate__(base)

    def put(self, obj: Any, block: bool = True, timeout: float | None = None) -> None:
        """Sends a LogPackage to the logger process; returns at once without waiting for the logger.

        Raises:
            TypeError: If the object is not a LogPackage.
            ValueError: If the package's source_id is not in 0..255 or its acquisition_time is negative.
            ChildProcessError: If the logger process this queue feeds has died.
        """
        if self._logger_failed.value:
            raise ChildProcessError(
                f"DataLogger '{self._logger_name}': the logger process is no longer running (it exited "
                f"unexpectedly), so the message was not logged"
            )
        if not isinstance(obj, LogPackage):
            raise TypeError(
                f"DataLogger '{self._logger_name}': the input queue accepts LogPackage instances, got "
                f"{type(obj).__name__}"
            )
        if not 0 <= obj.source_id <= 255:
            raise ValueError(f"LogPackage source_id must be in 0..255 (a uint8), got {obj.source_id}")
        if obj.acquisition_time < 0:
            raise ValueError(f"LogPackage acquisition_time must be a uint64 (>= 0), got {obj.acquisition_time}")
        super().put(obj, block, timeout)

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
        frames = [*_frame(pickle.dumps(StopLogging(), pickle.HIGHEST_PROTOCOL))]
        _send(frames, _pipe_fd(internals._writer), internals._writer, internals._wlock)

    @property
    def reader(self) -> Any:
        """Returns the read end of the queue's pipe (the logger process is its only reader)."""
        internals: Any = self
        return internals._reader

    def _start_thread(self) -> None:
        # The same as multiprocessing.Queue._start_thread(), with the batching feeder as the thread's target.
        internals: Any = self
        internals._buffer.clear()
        thread = threading.Thread(
            target=_feed_in_batches,
            args=(internals._buffer, internals._notempty, internals._reader, internals._writer, internals._wlock),
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

    def mark_logger_failed(self) -> None:
        """Makes every later put(), in any process, raise ChildProcessError."""
        self._logger_failed.value = 1

    @property
    def logger_failed(self) -> bool:
        """Returns True once the logger process fed by the queue has been seen to die."""
        return bool(self._logger_failed.value)


def _feed_in_batches(
    buffer: deque[Any], notempty: threading.Condition, reader: Any, writer: Any, write_lock: Any
) -> None:
    """Moves messages from the process's buffer to the pipe: pickles a batch, then sends it with one write."""
    sentinel = multiprocessing.queues._sentinel  # type: ignore[attr-defined]  # appended by the queue's close()
    fd = _pipe_fd(writer)
    while True:
        with notempty:
            while not buffer:
                notempty.wait()
            batch = [buffer.popleft() for _ in range(min(len(buffer), _BATCH_MESSAGES))]
        frames: list[bytes] = []
        size = 0
        finished = False
        for item in batch:
            if item is sentinel:
                finished = True
                break
            try:
                data = pickle.dumps(item, pickle.HIGHEST_PROTOCOL)
            except Exception:
                _log.exception("the DataLogger queue could not pickle a %s; it was not logged", type(item).__name__)
                continue
            frames.extend(_frame(data))
            size += len(data)
            if size >= _BATCH_BYTES:
                _send(frames, fd, writer, write_lock)
                frames, size = [], 0
        _send(frames, fd, writer, write_lock)
        if finished:  # the queue was closed in this process
            reader.close()
            writer.close()
            return


def _frame(data: bytes) -> tuple[bytes, bytes]:
    """Returns the message with the length prefix multiprocessing.connection puts before it."""
    size = len(data)
    return (_SHORT_LENGTH.pack(size) if size <= 0x7FFFFFFF else _LONG_LENGTH.pack(-1, size)), data


def _pipe_fd(writer: Any) -> int | None:
    """Returns the file descriptor of the pipe's write end, or None where the pipe is not a POSIX file."""
    return writer.fileno() if sys.platform != "win32" else None


def _send(frames: list[bytes], fd: int | None, writer: Any, write_lock: Any) -> None:
    """Writes framed messages to the pipe while holding the queue's write lock, so no other process interleaves."""
    if not frames:
        return
    try:
        if fd is None:  # Windows: a PipeConnection frames each message itself
            for data in frames[1::2]:
                writer.send_bytes(data)
            return
        with write_lock:
            write_all(fd, frames)
    except Exception:
        if is_exiting():
            return
        _log.exception("the DataLogger queue could not send %d messages to the logger process", len(frames) // 2)


def _enlarge_pipe(fd: int) -> None:
    """Asks Linux for a larger pipe; the default 64 KiB holds only a few hundred small messages."""
    if sys.platform != "linux":
        return
    import fcntl

    try:
        fcntl.fcntl(fd, fcntl.F_SETPIPE_SZ, _PIPE_SIZE)
    except OSError:  # the per-user pipe budget is exhausted: the default size still works
        return
