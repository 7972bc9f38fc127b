"""The portable logger transport: loopback TCP (127.0.0.1, an ephemeral port), what Windows uses.

Any local user can connect to a loopback port, so the logger closes (and counts) every connection whose first bytes
are not its token (see transport.HELLO). The address is ``127.0.0.1:PORT``. Listening again on the same port after a
logger process died may fail if another program took the port meanwhile (the restart then fails and says so).
"""

from __future__ import annotations

import socket
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

NAME = "tcp"
STOP_GRACE = 0.25
"""How long the logger reads on at stop, once no producer is inside put(), until its connections are quiet (bytes
already in the kernel). TCP accepts bytes sent to a connection whose reader shut down, so put() looks for the stop
before each send (a peek, one more system call, and the put board's stop byte: see put_board), and the logger waits
for every put() in progress before it stops reading.
TCP may also send part of a small frame: put_nowait() (or a timeout) that started a frame then waits to finish it,
as it does for a large frame on any transport, while the logger process cannot run."""
_HOST = "127.0.0.1"
_JOIN_BELOW = 64 * 1024
"""Payloads smaller than this are sent with their header in one copy and one system call (sendmsg is POSIX-only)."""


def _split(address: str) -> tuple[str, int]:
    host, _, port = address.rpartition(":")
    return host, int(port)


def open_listener(address: str | None) -> tuple[socket.socket, str]:
    """Returns a listening socket on the loopback interface and its address (a new ephemeral port if None)."""
    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    try:
        if hasattr(socket, "SO_EXCLUSIVEADDRUSE"):  # Windows: SO_REUSEADDR there would let others take the port
            listener.setsockopt(socket.SOL_SOCKET, socket.SO_EXCLUSIVEADDRUSE, 1)
        else:  # POSIX: the port is bound again at once although the dead logger's connections linger in TIME_WAIT
            listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind((_HOST, 0) if address is None else _split(address))
        listener.listen(socket.SOMAXCONN)
        host, port = listener.getsockname()[:2]
    except BaseException:
        listener.close()
        raise
    return listener, f"{host}:{port}"


def close_listener(listener: socket.socket) -> None:
    """Closes the listening socket."""
    listener.close()


def connect(address: str) -> socket.socket:
    """Returns a blocking connection to the listener at address, with Nagle's delay off (each put() goes out now)."""
    connection = socket.create_connection(_split(address))
    try:
        connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    except BaseException:
        connection.close()
        raise
    return connection


def send(connection: socket.socket, header: bytes | memoryview, payload: Any) -> int:
    """Sends what fits of header + payload (a 1-D byte buffer): joined when small, else one after the other."""
    if len(payload) < _JOIN_BELOW:
        return connection.send(b"".join((header, payload)))
    sent = connection.send(header)
    if sent < len(header):
        return sent
    try:
        return sent + connection.send(payload)
    except BlockingIOError:
        return sent


def ended(connection: socket.socket) -> bool:
    """Returns True if the logger ended the connection or sent its stop notice on it (a peek that does not block)."""
    try:
        connection.recv(1, socket.MSG_PEEK)
    except BlockingIOError:
        return False
    except OSError:
        return True
    return True  # the notice, or the end of the connection


def reader(connection: socket.socket) -> Callable[[memoryview], int]:
    """Returns the connection's non-blocking recv_into (sockets are not file descriptors on Windows)."""
    return connection.recv_into
