"""The logger side of a DataLogger's transport: one Channel per producer connection, split into messages.

A channel reads what its connection holds with one system call into a buffer of its own and splits it into frames
(the wire format is in logger_queue). A payload larger than the buffer is read straight into a buffer of its own,
which is then handed to the writers without another copy. When the connection ends, the bytes of a frame that never
completed (its producer died, or was cut off by stop(), in the middle of a put) are counted, not logged.
"""

from __future__ import annotations

import os
import socket
import struct
from typing import NamedTuple

import numpy as np

from .logger_queue import FRAME_HEADER

_BUFFER_SIZE = 256 * 1024
"""How much one read takes from a connection at most; larger payloads get a buffer of their own."""

_PEER_CREDENTIALS = struct.Struct("3i")


class Message(NamedTuple):
    """One message as received from a producer."""

    source_id: int
    timestamp: int
    payload: bytes | memoryview


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
        self.pid = _peer_pid(connection)
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

    def receive(self) -> tuple[list[Message], int] | None:
        """Reads what the connection holds; returns the completed messages and the bytes read, or None at its end."""
        large = self._large
        if large is not None:
            buffer, filled, source_id, timestamp = large
            try:
                count = os.readv(self._fd, [buffer[filled:]])
            except BlockingIOError:
                return [], 0
            if count == 0:
                return None
            filled += count
            if filled < len(buffer):
                self._large = buffer, filled, source_id, timestamp
                return [], count
            self._large = None
            return [Message(source_id, timestamp, buffer)], count
        if self._start:  # the start of an incomplete frame: move it to the front, making room behind it
            pending = self._end - self._start
            self._view[:pending] = self._view[self._start : self._end]
            self._start, self._end = 0, pending
        try:
            count = os.readv(self._fd, [self._view[self._end :]])
        except BlockingIOError:
            return [], 0
        if count == 0:
            return None
        self._end += count
        return self._parse(), count

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

    def _parse(self) -> list[Message]:
        messages: list[Message] = []
        append = messages.append
        unpack = FRAME_HEADER.unpack_from
        header_size = FRAME_HEADER.size
        view = self._view
        position, end = self._start, self._end
        while end - position >= header_size:
            size, source_id, timestamp = unpack(view, position)
            body = position + header_size
            if body + size > end:
                if header_size + size > len(view):  # it cannot fit the buffer: give it one of its own
                    large = np.empty(size, dtype=np.uint8).data  # not zeroed: it is filled at once
                    held = end - body
                    large[:held] = view[body:end]
                    self._large = large, held, source_id, timestamp
                    position = end
                break
            append(Message(source_id, timestamp, bytes(view[body : body + size])))
            position = body + size
        if position == end:
            self._start = self._end = 0
        else:
            self._start = position
        return messages


def _peer_pid(connection: socket.socket) -> int | None:
    """Returns the pid of the process that opened the connection, where the platform tells (Linux)."""
    option = getattr(socket, "SO_PEERCRED", None)
    if option is None:
        return None
    try:
        pid, _, _ = _PEER_CREDENTIALS.unpack(
            connection.getsockopt(socket.SOL_SOCKET, option, _PEER_CREDENTIALS.size)
        )
    except OSError:
        return None
    return int(pid)
