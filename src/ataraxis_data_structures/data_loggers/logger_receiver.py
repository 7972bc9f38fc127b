"""Receives the messages waiting in a LoggerQueue in bulk, inside the logger process.

The logger process is the only reader of its queue, so instead of ``Queue.get()`` (one lock, two system calls and one
unpickling per message) it reads everything the pipe holds in one system call and splits it into messages itself.
The pipe carries the framing of ``multiprocessing.connection.Connection``: a big-endian int32 length (or -1 followed
by a big-endian uint64 length for messages over 2 GiB), then the pickled message. LogPackages come out as
(source_id, acquisition_time, payload bytes) tuples: building LogPackage objects only to take them apart again would
double the logger's per-message cost.
"""

from __future__ import annotations

import io
import os
import pickle
import select
import struct
import sys
from typing import Any, Protocol

from . import log_package

_SHORT_LENGTH = struct.Struct("!i")
_LONG_LENGTH = struct.Struct("!Q")
_BUFFER_SIZE = 1 << 20
"""How much one read takes from the pipe at most (also the Linux pipe size the queue asks for)."""


def _package_fields(source_id: int, acquisition_time: int, payload: bytes) -> tuple[int, int, bytes]:
    return source_id, acquisition_time, payload


class _LoggerUnpickler(pickle.Unpickler):
    """Unpickles LogPackages as plain (source_id, acquisition_time, payload) tuples."""

    def find_class(self, module: str, name: str) -> Any:
        if name == "_restore_log_package" and module == log_package.__name__:
            return _package_fields
        return super().find_class(module, name)


def _unpickle(data: bytes) -> Any:
    return _LoggerUnpickler(io.BytesIO(data)).load()


class Receiver(Protocol):
    """Reads messages from the queue's pipe."""

    @property
    def holds_partial_message(self) -> bool:
        """Returns True when the start of a message was read and the rest is still to come."""

    def wait(self, timeout: float) -> bool:
        """Returns True when data can be read, waiting at most timeout seconds."""

    def receive(self) -> tuple[list[Any], int]:
        """Reads what is waiting (wait() returned True); returns the messages it completed and the bytes read."""


class PipeReceiver:
    """Reads a POSIX pipe in large chunks and splits them into messages.

    Args:
        fd: The read end of the queue's pipe.
    """

    def __init__(self, fd: int) -> None:
        self._fd = fd
        self._buffer = bytearray(_BUFFER_SIZE)
        self._view = memoryview(self._buffer)
        self._start = 0  # the first unparsed byte
        self._end = 0  # one past the last byte read
        self._large: bytearray | None = None  # a message larger than the buffer, being filled in place
        self._large_filled = 0
        self._poller = select.poll()
        self._poller.register(fd, select.POLLIN)

    @property
    def holds_partial_message(self) -> bool:
        """Returns True when the start of a message was read and the rest is still to come."""
        return self._large is not None or self._end > self._start

    def wait(self, timeout: float) -> bool:
        """Returns True when data can be read, waiting at most timeout seconds."""
        return bool(self._poller.poll(max(0, int(timeout * 1000))))

    def receive(self) -> tuple[list[Any], int]:
        """Reads what the pipe holds (wait() returned True) and returns the completed messages and the bytes read."""
        if self._large is not None:
            return self._receive_large()
        if self._end == len(self._buffer):  # the tail of a message sits at the end: move it to the front
            pending = bytes(self._view[self._start : self._end])
            self._view[: len(pending)] = pending
            self._start, self._end = 0, len(pending)
        count = os.readv(self._fd, [self._view[self._end :]])
        if count == 0:
            raise EOFError("the logger's input pipe was closed by every writer")
        self._end += count
        return self._parse(), count

    def _receive_large(self) -> tuple[list[Any], int]:
        assert self._large is not None
        count = os.readv(self._fd, [memoryview(self._large)[self._large_filled :]])
        if count == 0:
            raise EOFError("the logger's input pipe was closed in the middle of a message")
        self._large_filled += count
        if self._large_filled < len(self._large):
            return [], count
        message = _unpickle(bytes(self._large))
        self._large = None
        return [message], count

    def _parse(self) -> list[Any]:
        buffer, start, end = self._buffer, self._start, self._end
        # Find the whole messages first, so that an incomplete one is not copied again on every read.
        position = start
        while end - position >= 4:
            (size,) = _SHORT_LENGTH.unpack_from(buffer, position)
            header = 4
            if size == -1:
                if end - position < 12:
                    break
                (size,) = _LONG_LENGTH.unpack_from(buffer, position + 4)
                header = 12
            if position + header + size > end:
                if header + size > len(buffer):  # never fits: collect it in a buffer of its own
                    large = bytearray(size)
                    have = end - position - header
                    large[:have] = self._view[position + header : end]
                    self._large, self._large_filled = large, have
                    self._end = position  # the header and the part read so far now belong to self._large
                break
            position += header + size
        self._start = position
        if position == start:
            self._reset_if_empty()
            return []
        chunk = bytes(self._view[start:position])
        self._reset_if_empty()
        stream = io.BytesIO(chunk)  # shares the bytes object: no copy
        unpickler = _LoggerUnpickler(stream)
        messages = []
        offset = 0
        total = len(chunk)
        while offset < total:
            (size,) = _SHORT_LENGTH.unpack_from(chunk, offset)
            header = 4
            if size == -1:
                (size,) = _LONG_LENGTH.unpack_from(chunk, offset + 4)
                header = 12
            stream.seek(offset + header)
            messages.append(unpickler.load())
            offset += header + size
        return messages

    def _reset_if_empty(self) -> None:
        if self._start == self._end:
            self._start = self._end = 0


class ConnectionReceiver:
    """Reads one message per call through the Connection API: the fallback where the pipe is not a POSIX file.

    Args:
        connection: The read end of the queue's pipe.
    """

    def __init__(self, connection: Any) -> None:
        self._connection = connection

    @property
    def holds_partial_message(self) -> bool:
        """Returns False: Connection.recv_bytes() reads whole messages only."""
        return False

    def wait(self, timeout: float) -> bool:
        """Returns True when data can be read, waiting at most timeout seconds."""
        return bool(self._connection.poll(timeout))

    def receive(self) -> tuple[list[Any], int]:
        """Reads one message and returns it with its size."""
        data = self._connection.recv_bytes()
        return [_unpickle(data)], len(data)


def make_receiver(reader: Any) -> Receiver:
    """Returns the fastest receiver for the read end of a queue's pipe."""
    if sys.platform != "win32" and hasattr(reader, "fileno"):
        return PipeReceiver(reader.fileno())
    return ConnectionReceiver(reader)
