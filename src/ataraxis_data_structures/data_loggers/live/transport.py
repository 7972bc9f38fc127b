"""The logger transport's interface, and the one implementation this platform uses, chosen once at import.

Unix-domain stream sockets where the platform has them (Linux, macOS: the measured fast path), loopback TCP elsewhere
(Windows) or when ``AXDS_FORCE_PORTABLE=1``. Both carry the same byte stream: a hello (``HELLO``: the logger's
token, the producer's pid and its connection count) and then the frames of ``logger_queue``.
"""

from __future__ import annotations

import socket
import struct
from collections.abc import Callable
from typing import Any, Protocol

from ..._platform import FORCE_PORTABLE

__all__ = ["HELLO", "TOKEN_SIZE", "TRANSPORT", "Transport"]

TOKEN_SIZE = 32
"""The size of the random token a logger's producers must present (kept in the LoggerQueue's pickled state)."""
HELLO = struct.Struct(f"<{TOKEN_SIZE}sQQ")
"""token, pid, connection number: the first bytes of every producer connection. The pid and number order one
producer process's connections (an interrupted put() closes one and opens the next) without SO_PEERCRED."""


class Transport(Protocol):
    """What the logger needs of a transport (a module implements it)."""

    NAME: str
    STOP_GRACE: float
    """0 where a send to a connection whose reading side the logger shut down fails (Unix-domain sockets). Else (TCP
    accepts such bytes silently) how long the logger keeps reading at stop, once no producer is inside put(), until
    its connections are quiet that long; producers look for the stop before each send (see put_board)."""

    def open_listener(self, address: str | None) -> tuple[socket.socket, str]:
        """Returns a listening socket and its address: a new address if None, else that one (listening again)."""
        ...

    def close_listener(self, listener: socket.socket) -> None:
        """Closes a listening socket, removing what it left behind (a socket file)."""
        ...

    def connect(self, address: str) -> socket.socket:
        """Returns a blocking connection to the listener at address (ConnectionRefusedError if nobody listens)."""
        ...

    def send(self, connection: socket.socket, header: bytes | memoryview, payload: Any) -> int:
        """Sends what fits of header + payload (a 1-D byte buffer) without blocking; returns the bytes sent.

        Raises BlockingIOError if no byte could be sent.
        """
        ...

    def ended(self, connection: socket.socket) -> bool:
        """Returns True if the logger sent its stop notice on the connection or ended it (asked if STOP_GRACE)."""
        ...

    def reader(self, connection: socket.socket) -> Callable[[memoryview], int]:
        """Returns a function that reads into a buffer without blocking (0 at the end, BlockingIOError if empty)."""
        ...


if FORCE_PORTABLE or not hasattr(socket, "AF_UNIX"):
    from . import transport_tcp as _chosen
else:
    from . import transport_unix as _chosen  # type: ignore[no-redef]

TRANSPORT: Transport = _chosen
"""The transport of this platform (or the portable one, when forced)."""
