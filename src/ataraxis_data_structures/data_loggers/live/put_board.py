"""A shared-memory board that closes the TCP transport's stop window: which producer processes are inside put().

TCP accepts bytes sent to a connection whose reader stopped reading, so a producer cannot learn from its send that the
logger stopped. The board is one shared byte per producer process (indexed by pid) that the producer sets while it
is inside put(), and one byte the logger sets when it stops:

- the producer sets its byte, then (after a system call, which orders memory: the peek that finds a logger that
  ended, or its connect and hello) looks at the stop byte before it sends any frame: a set stop byte makes it hold
  the message (logged after the next start()) instead of sending it; it clears its byte once its frame is in the
  kernel (or it gave up);
- the logger sets the stop byte, accepts every queued connection, then waits until the byte of every producer that
  still has an open connection to it is clear, then reads every connection until it is quiet and closes. It sends no
  stop notice on TCP: a producer that closes a connection holding a byte it never read resets it, and the reset drops
  what its kernel had not yet delivered (messages whose put() returned).

Whichever of the two comes first in memory order, the other sees it (each side writes, makes a system call, then
reads; the kernel's locks on that path order the write before the read): either the producer sees the stop and holds,
or the logger sees the producer inside put() and waits for its frame. A producer that dies inside put() ends its
connection, so the logger stops waiting for it; one that is stopped (SIGSTOP) or starved longer than ``WAIT_LIMIT`` is
reported by stop() by pid (its message may be lost), never waited for forever. Unix-domain sockets need none of this
(a send to a connection whose reader shut down fails), so the board exists only where the transport is TCP and put()
on Unix does not touch it.

Its name is removed by its DataLogger (collected or at exit), by the logger process if the DataLogger's process died,
or else by the resource tracker; only a kill of the whole process tree, tracker included, leaves it in /dev/shm (4 MiB
apparent size, a few pages used) on POSIX. Windows frees it with its last handle.
"""

from __future__ import annotations

import contextlib
import secrets
from typing import Any

__all__ = ["PID_SLOTS", "WAIT_LIMIT", "PutBoard", "attach"]

PID_SLOTS = 1 << 22
"""Producer slots: one byte per pid modulo this (Linux's largest pid_max, so no two live Linux processes share one)."""
WAIT_LIMIT = 5.0
"""How long the logger waits at stop for a producer inside put() (a preempted one needs milliseconds)."""
_STOP = 0  # the stop byte; producer slots follow it


class PutBoard:
    """The board of one DataLogger: created by the DataLogger, attached by name in each producer and logger process.

    Args:
        name: The shared-memory name to attach to, or None to create a new board.
    """

    def __init__(self, name: str | None = None) -> None:
        # Imported here: only the TCP transport needs shared memory (the Unix path never imports it).
        from ...shared_memory.segment import Segment

        if name is None:
            name = f"axds_put_{secrets.token_hex(8)}"
            self._segment: Any = Segment(name, create=True, size=1 + PID_SLOTS)
            self._owner = True
        else:
            self._segment = Segment(name, create=False)
            self._owner = False
        self.name = name
        self._bytes: memoryview = self._segment.buf

    def slot(self, pid: int) -> int:
        """Returns the byte index of a producer process."""
        return 1 + pid % PID_SLOTS

    def enter(self, slot: int) -> None:
        """Marks the producer as inside put() (before it looks for a stop)."""
        self._bytes[slot] = 1

    def leave(self, slot: int) -> None:
        """Marks the producer as out of put() (its frame is in the kernel, or it gave up)."""
        self._bytes[slot] = 0

    @property
    def stopping(self) -> bool:
        """Returns True once the logger stopped taking messages (until the DataLogger starts it again)."""
        return bool(self._bytes[_STOP])

    def set_stopping(self, value: bool) -> None:
        """Sets the stop byte: the logger sets it when it stops; the DataLogger clears it before starting one."""
        self._bytes[_STOP] = int(value)

    def inside(self, pid: int) -> bool:
        """Returns True if the producer process is marked as inside put()."""
        return bool(self._bytes[self.slot(pid)])

    def close(self, *, remove: bool = False) -> None:
        """Unmaps the board; the creator, or a process asked to (`remove`), also removes its name.

        Processes that mapped it keep their memory. The logger process removes it when its DataLogger's process died
        (the resource tracker they share would otherwise remove it with a "leaked" warning).
        """
        self._bytes = memoryview(b"")
        with contextlib.suppress(OSError):
            if self._owner or remove:
                self._segment.unlink()
            self._segment.close()


def attach(name: str | None) -> PutBoard | None:
    """Returns the board of that name, or None if there is none (no name, or the DataLogger is gone)."""
    if name is None:
        return None
    try:
        return PutBoard(name)
    except (FileNotFoundError, OSError):
        return None
