"""The OS lock primitive of file_locks where ``flock`` is missing (Windows), or forced by ``AXDS_FORCE_PORTABLE=1``.

Windows has ``msvcrt.locking``: an exclusive lock on a byte range of one open file, dropped when the file is closed
or its process dies, with no shared mode and no way to lock a directory. This module uses it where it exists. On
POSIX (the forced-portable test pass) the same semantics run through Linux's open-file-description locks
(``F_OFD_SETLK`` on the first byte: per open file, exclusive, dropped at close or death), so the code paths Windows
takes (no directory locks, a probe that must take the exclusive lock) are exercised. ``msvcrt`` itself cannot run
here. The tracker's waiting lock goes through ``filelock`` on these platforms (see file_locks.hold_lock).
"""

from __future__ import annotations

import os
import struct
import sys

__all__ = ["LOCKS_DIRECTORIES", "NAME", "lock", "probe"]

LOCKS_DIRECTORIES = False
"""Windows cannot open a directory to lock it: a directory lock protects nothing there."""

if sys.platform == "win32":  # pragma: no cover - cannot run on the Linux CI
    import msvcrt

    NAME = "msvcrt"

    def lock(descriptor: int) -> bool:
        """Tries once to take the exclusive lock on the open file's first byte; False if another holder has it."""
        os.lseek(descriptor, 0, os.SEEK_SET)  # msvcrt locks from the current position
        try:
            msvcrt.locking(descriptor, msvcrt.LK_NBLCK, 1)
        except OSError:
            return False
        return True

else:
    import fcntl

    NAME = "ofd"
    _RANGE = struct.Struct("hhqqi")  # struct flock: type, whence, start, length, pid (0 for OFD locks)

    def lock(descriptor: int) -> bool:
        """Tries once to take the exclusive lock on the open file's first byte; False if another holder has it."""
        read_only = fcntl.fcntl(descriptor, fcntl.F_GETFL) & os.O_ACCMODE == os.O_RDONLY
        kind = fcntl.F_RDLCK if read_only else fcntl.F_WRLCK  # a read-only file takes only a read lock
        try:
            fcntl.fcntl(descriptor, fcntl.F_OFD_SETLK, _RANGE.pack(kind, os.SEEK_SET, 0, 1, 0))
        except (BlockingIOError, PermissionError):
            return False
        return True


def probe(descriptor: int) -> bool:
    """Returns True if another holder has the lock on the open file.

    Only an attempt to lock can tell (there is no shared mode), so the probe holds the lock while it looks; closing
    the descriptor drops it.
    """
    return not lock(descriptor)
