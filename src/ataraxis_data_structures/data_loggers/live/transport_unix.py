"""The logger transport on POSIX: Unix-domain stream sockets (an abstract name on Linux, a socket file elsewhere).

Linux's abstract names have no file permissions: the hello's token (see transport) keeps other local users out.
"""

from __future__ import annotations

import contextlib
import os
import socket
import sys
import tempfile
import uuid
from collections.abc import Callable
from typing import Any

__all__ = [
    "NAME",
    "STOP_GRACE",
    "close_listener",
    "connect",
    "ended",
    "open_listener",
    "reader",
    "send",
]

NAME = "unix"
STOP_GRACE = 0.0
"""None needed: once the logger shuts down a connection's reading side, the producer's next send fails."""
_SEND_BUFFER = 4 << 20
"""The send buffer asked for on each connection (the kernel caps it, at about 400 KB by default on Linux)."""


def _new_address() -> str:
    token = uuid.uuid4().hex[:20]
    if sys.platform == "linux":
        return f"\0axds-logger-{token}"
    folder = "/tmp" if os.path.isdir("/tmp") else tempfile.gettempdir()  # socket paths are limited to ~104 bytes
    return os.path.join(folder, f"axds-logger-{token}.sock")


def open_listener(address: str | None) -> tuple[socket.socket, str]:
    """Returns a listening socket and its address (replacing a stale socket file left by a killed logger)."""
    if address is None:
        address = _new_address()
    elif not address.startswith("\0"):
        with contextlib.suppress(FileNotFoundError):
            os.unlink(address)
    listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        listener.bind(address)
        listener.listen(socket.SOMAXCONN)
    except BaseException:
        listener.close()
        raise
    return listener, address


def close_listener(listener: socket.socket) -> None:
    """Closes the listening socket, removing its socket file where it has one (not Linux's abstract names)."""
    try:
        address = listener.getsockname()
    except OSError:
        address = None
    listener.close()
    if isinstance(address, str) and address and not address.startswith("\0"):
        with contextlib.suppress(OSError):
            os.unlink(address)


def connect(address: str) -> socket.socket:
    """Returns a blocking connection to the listener at address."""
    connection = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        connection.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, _SEND_BUFFER)
        connection.connect(address)
    except BaseException:
        connection.close()
        raise
    return connection


def send(connection: socket.socket, header: bytes | memoryview, payload: Any) -> int:
    """Sends what fits of header + payload in one gathering system call."""
    return connection.sendmsg([header, payload])


def ended(connection: socket.socket) -> bool:
    """Returns False: a send to an ended connection fails by itself, so put() never asks."""
    return False


def reader(connection: socket.socket) -> Callable[[memoryview], int]:
    """Returns a non-blocking read into a buffer: readv on the descriptor, without the socket object's timeout logic."""
    descriptor = connection.fileno()

    def read(buffer: memoryview) -> int:
        return os.readv(descriptor, [buffer])

    return read
