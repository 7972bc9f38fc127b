"""Receives the messages waiting in a LoggerQueue in bulk, inside the logger process.

The logger process is the only reader of its queue, so instead of ``Queue.get()`` (one lock, two system calls and one
unpickling per message) it reads everything the pipe holds with one system call and splits it into messages itself
(the wire format is described in logger_queue). Messages come out as (source_id, timestamp, payload) tuples, other
objects (the stop marker) unpickled. A payload larger than the read buffer is read straight into a buffer of its own,
which is then handed to the writers without another copy.
"""

from __future__ import annotations

import math
import os
import pickle
import select
import sys
from typing import Any, Protocol

import numpy as np

from .logger_queue import LONG_LENGTH, MESSAGE_KIND, MESSAGE_PREFIX, SHORT_LENGTH

_BUFFER_SIZE = 1 << 20
"""How much one read takes from the pipe at most (also the Linux pipe size the queue asks for)."""
_HEADER_PEEK = LONG_LENGTH.size + MESSAGE_PREFIX.size
"""Enough bytes for any frame header and a message's kind, source and timestamp."""


def decode_body(body: bytes) -> Any:
    """Returns the message or object a frame body holds."""
    if body[0] == MESSAGE_KIND:
        _, source_id, timestamp = MESSAGE_PREFIX.unpack_from(body)
        return source_id, timestamp, body[MESSAGE_PREFIX.size :]
    return pickle.loads(body)


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
        # A body larger than the buffer, read in place: (buffer, bytes filled, (source_id, timestamp) or None when
        # the body is a pickle).
        self._large: tuple[bytearray | memoryview, int, tuple[int, int] | None] | None = None
        self._after_large = False  # the last message completed was a large one
        self._poller = select.poll()
        self._poller.register(fd, select.POLLIN)

    @property
    def holds_partial_message(self) -> bool:
        """Returns True when the start of a message was read and the rest is still to come."""
        return self._large is not None or self._end > self._start

    def wait(self, timeout: float) -> bool:
        """Returns True when data can be read, waiting at most timeout seconds."""
        return bool(self._poller.poll(max(0, math.ceil(timeout * 1000))))

    def receive(self) -> tuple[list[Any], int]:
        """Reads what the pipe holds (wait() returned True) and returns the completed messages and the bytes read."""
        if self._large is not None:
            return self._receive_large()
        if self._end == len(self._buffer):  # the start of a message sits at the end: move it to the front
            pending = bytes(self._view[self._start : self._end])
            self._view[: len(pending)] = pending
            self._start, self._end = 0, len(pending)
        limit = len(self._buffer)
        if self._after_large and self._start == self._end:
            # Large messages tend to follow each other: read just the next header, so that a large payload goes
            # straight into its own buffer instead of through this one.
            limit = self._end + _HEADER_PEEK
        count = os.readv(self._fd, [self._view[self._end : limit]])
        if count == 0:
            raise EOFError("the logger's input pipe was closed by every writer")
        self._end += count
        messages = self._parse()
        self._after_large = self._large is not None
        return messages, count

    def _receive_large(self) -> tuple[list[Any], int]:
        assert self._large is not None
        buffer, filled, message = self._large
        count = os.readv(self._fd, [memoryview(buffer)[filled:]])
        if count == 0:
            raise EOFError("the logger's input pipe was closed in the middle of a message")
        filled += count
        if filled < len(buffer):
            self._large = buffer, filled, message
            return [], count
        self._large = None
        self._after_large = True
        if message is None:
            return [pickle.loads(buffer)], count
        return [(*message, buffer)], count

    def _parse(self) -> list[Any]:
        buffer, view, end = self._buffer, self._view, self._end
        position = self._start
        messages: list[Any] = []
        append = messages.append
        unpack_length = SHORT_LENGTH.unpack_from
        unpack_prefix = MESSAGE_PREFIX.unpack_from
        prefix_size = MESSAGE_PREFIX.size
        while end - position >= 4:
            (size,) = unpack_length(buffer, position)
            body = position + 4
            if size == -1:
                if end - position < LONG_LENGTH.size:
                    break
                size = LONG_LENGTH.unpack_from(buffer, position)[1]
                body = position + LONG_LENGTH.size
            if body + size > end:
                if body - position + size > len(buffer) and self._start_large(body, size):
                    position = end
                break
            if buffer[body] == MESSAGE_KIND:
                _, source_id, timestamp = unpack_prefix(buffer, body)
                append((source_id, timestamp, bytes(view[body + prefix_size : body + size])))
            else:
                append(pickle.loads(view[body : body + size]))
            position = body + size
        self._start = position
        if position == end:
            self._start = self._end = 0
        return messages

    def _start_large(self, body: int, size: int) -> bool:
        """Moves a body that cannot fit the buffer into one of its own; returns False until its prefix is read."""
        end = self._end
        large: bytearray | memoryview
        if self._buffer[body] == MESSAGE_KIND:
            if end - body < MESSAGE_PREFIX.size:
                return False
            _, source_id, timestamp = MESSAGE_PREFIX.unpack_from(self._buffer, body)
            start = body + MESSAGE_PREFIX.size
            large = _uninitialized(size - MESSAGE_PREFIX.size)
            message: tuple[int, int] | None = (source_id, timestamp)
        else:
            start = body
            large = bytearray(size)
            message = None
        large[: end - start] = self._view[start:end]
        self._large = large, end - start, message
        return True


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
        body = self._connection.recv_bytes()
        return [decode_body(body)], len(body)


def make_receiver(reader: Any) -> Receiver:
    """Returns the fastest receiver for the read end of a queue's pipe."""
    if sys.platform != "win32":
        return PipeReceiver(reader.fileno())
    return ConnectionReceiver(reader)


def _uninitialized(size: int) -> memoryview:
    """Returns a writable buffer of size bytes, not zeroed first (bytearray(size) is: a wasted pass over memory)."""
    return np.empty(size, dtype=np.uint8).data
