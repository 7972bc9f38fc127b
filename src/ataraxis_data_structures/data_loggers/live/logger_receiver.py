"""The logger side of a DataLogger's transport: one Channel per producer connection, split into messages.

A channel first reads the connection's hello (transport.HELLO): a wrong token closes the connection unread, and the pid
and connection number it names order one producer's connections. Then it reads what its connection holds with one system
call into a buffer of its own and splits it into frames (the wire format is in logger_queue). A payload larger than the
buffer is read straight into a buffer of its own, which is then handed to the writers without another copy. When the
connection ends, the bytes of a frame that never completed (its producer died, or was cut off by stop(), in the middle
of a put) are counted, not logged.
"""

from __future__ import annotations

import hmac
import socket
from enum import Enum
from typing import NamedTuple

import numpy as np

from .logger_queue import FRAME_HEADER, MAX_PAYLOAD_SIZE
from .logger_writers import Record
from .transport import HELLO, TRANSPORT

__all__ = ["Channel", "Received", "TornFrame"]

_BUFFER_SIZE = 256 * 1024
"""How much one read takes from a connection at most; larger payloads get a buffer of their own."""


class Received(NamedTuple):
    """What one read of a connection brought."""

    bytes_read: int
    messages: int
    payload_bytes: int


_NOTHING = Received(0, 0, 0)


class Hello(Enum):
    """Where a channel's hello stands after a read."""

    PENDING = "pending"  # not all of it arrived yet
    ACCEPTED = "accepted"  # complete, with the logger's token: the pid and number are known
    REJECTED = "rejected"  # complete with another token: someone else's connection, closed unread
    ENDED = "ended"  # the connection ended before its hello was complete


class TornFrame(NamedTuple):
    """The incomplete frame a connection ended with: who sent it and how many of its bytes were discarded."""

    pid: int | None
    source_id: int | None
    discarded_bytes: int


class Channel:
    """Receives the frames of one producer's connection (a non-blocking socket).

    Args:
        connection: The accepted connection.
    """

    def __init__(self, connection: socket.socket) -> None:
        connection.setblocking(False)
        self.connection = connection
        self.pid: int | None = None  # the producer's pid and connection number, once its hello is read
        self.number = -1
        self._hello = bytearray(HELLO.size)
        self._hello_filled = 0
        self._read = TRANSPORT.reader(connection)
        self._fd = connection.fileno()
        self._buffer = bytearray(_BUFFER_SIZE)
        self._view = memoryview(self._buffer)
        self._start = 0  # the first unparsed byte
        self._end = 0  # one past the last byte read
        # A payload larger than the buffer, read in place: (buffer, bytes filled, source_id, timestamp).
        self._large: tuple[memoryview, int, int, int] | None = None

    def fileno(self) -> int:
        """Returns the connection's file descriptor (for selectors)."""
        return self._fd

    def read_hello(self, token: bytes) -> Hello:
        """Reads what arrived of the connection's hello and checks its token once complete."""
        if self.pid is not None:
            return Hello.ACCEPTED
        try:
            count = self._read(memoryview(self._hello)[self._hello_filled :])
        except BlockingIOError:
            return Hello.PENDING
        except OSError:
            return Hello.ENDED
        if count == 0:
            return Hello.ENDED
        self._hello_filled += count
        if self._hello_filled < HELLO.size:
            return Hello.PENDING
        presented, pid, number = HELLO.unpack(self._hello)
        if not hmac.compare_digest(presented, token):
            return Hello.REJECTED
        self.pid, self.number = pid, number
        return Hello.ACCEPTED

    def receive(self, batches: dict[int, list[Record]]) -> Received | None:
        """Reads what the connection holds and appends each completed message to batches[source_id].

        Returns what was read, or None at the connection's end.
        """
        large = self._large
        if large is not None:
            buffer, filled, source_id, timestamp = large
            try:
                count = self._read(buffer[filled:])
            except BlockingIOError:
                return _NOTHING
            if count == 0:
                return None
            filled += count
            if filled < len(buffer):
                self._large = buffer, filled, source_id, timestamp
                return Received(count, 0, 0)
            self._large = None
            batch = batches.get(source_id)
            if batch is None:
                batch = batches[source_id] = []
            batch.append((timestamp, buffer))
            return Received(count, 1, len(buffer))
        if self._start:  # the start of an incomplete frame: move it to the front, making room behind it
            pending = self._end - self._start
            self._view[:pending] = self._view[self._start : self._end]
            self._start, self._end = 0, pending
        try:
            count = self._read(self._view[self._end :])
        except BlockingIOError:
            return _NOTHING
        if count == 0:
            return None
        self._end += count
        messages, size = self._parse(batches)
        return Received(count, messages, size)

    def torn_frame(self) -> TornFrame | None:
        """Returns what is known of the incomplete frame the channel holds, or None if it holds none."""
        if self._large is not None:
            _, filled, large_source, _ = self._large
            return TornFrame(self.pid, large_source, FRAME_HEADER.size + filled)
        held = self._end - self._start
        if not held:
            return None
        source_id: int | None = self._buffer[self._start + 8] if held > 8 else None
        return TornFrame(self.pid, source_id, held)

    def _parse(self, batches: dict[int, list[Record]]) -> tuple[int, int]:
        """Appends the completed frames of the buffer to batches; returns their number and payload bytes."""
        unpack = FRAME_HEADER.unpack_from
        header_size = FRAME_HEADER.size
        view = self._view
        position, end = self._start, self._end
        messages = size = 0
        source_id = -1
        batch: list[Record] = []
        while end - position >= header_size:
            length, source, timestamp = unpack(view, position)
            if length > MAX_PAYLOAD_SIZE:  # not a frame put() writes: the stream is corrupt, so drop the connection
                self._start = position
                raise ConnectionResetError(f"a frame header claims {length} payload bytes")
            body = position + header_size
            if body + length > end:
                if header_size + length > len(view):  # it cannot fit the buffer: give it one of its own
                    large = np.empty(length, dtype=np.uint8).data  # not zeroed: it is filled at once
                    held = end - body
                    large[:held] = view[body:end]
                    self._large = large, held, source, timestamp
                    position = end
                break
            if source != source_id:  # a producer usually sends one source: look its batch up only on a change
                source_id = source
                found = batches.get(source)
                batch = batches[source] = [] if found is None else found
            batch.append((timestamp, bytes(view[body : body + length])))
            messages += 1
            size += length
            position = body + length
        if position == end:
            self._start = self._end = 0
        else:
            self._start = position
        return messages, size
