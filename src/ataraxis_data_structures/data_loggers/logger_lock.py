"""The lock that gives one running logger process sole use of a log directory.

The logger process holds an OS lock (flock, or msvcrt.locking on Windows) on a lock file in the log directory for as
long as it runs. The OS drops the lock when the process ends in any way, so a killed logger never leaves a stale
lock behind; a clean stop also removes the file.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

LOCK_FILE_NAME = ".axds_logger.lock"
"""The name of the lock file inside a log directory; it is not part of the log."""


class DirectoryLock:
    """An exclusive, non-blocking lock on a log directory.

    Args:
        directory: The log directory to lock.
        owner: Who holds the lock, written into the file to make the error of a second logger clear.
    """

    def __init__(self, directory: Path, owner: str) -> None:
        self._path = directory / LOCK_FILE_NAME
        self._owner = owner
        self._fd: int | None = None

    def acquire(self) -> None:
        """Takes the lock.

        Raises:
            RuntimeError: If another running logger holds the lock on the directory.
        """
        while True:
            fd = os.open(self._path, os.O_RDWR | os.O_CREAT | getattr(os, "O_BINARY", 0), 0o644)
            if not _try_lock(fd):
                holder = os.read(fd, 512).decode(errors="replace").strip() or "logger"
                os.close(fd)
                raise RuntimeError(
                    f"the log directory {self._path.parent} is in use by another running {holder}; "
                    f"each running DataLogger needs its own instance name (or output directory)"
                )
            # A releasing holder unlinks the file before unlocking it: the lock is ours only if the file we locked
            # is still the one at the path.
            try:
                current = os.stat(self._path)
            except FileNotFoundError:
                os.close(fd)
                continue
            if os.path.samestat(os.fstat(fd), current):
                break
            os.close(fd)
        os.ftruncate(fd, 0)
        os.write(fd, f"{self._owner} (logger pid {os.getpid()})".encode())
        self._fd = fd

    def release(self) -> None:
        """Removes the lock file and releases the lock."""
        if self._fd is None:
            return
        try:
            self._path.unlink(missing_ok=True)
        except OSError:  # Windows cannot remove an open file; the OS lock is what counts
            pass
        finally:
            os.close(self._fd)  # closing the descriptor releases the OS lock
            self._fd = None


def _try_lock(fd: int) -> bool:
    """Returns True if the exclusive lock on the open file was taken, False if another process holds it."""
    if sys.platform == "win32":
        import msvcrt

        try:
            msvcrt.locking(fd, msvcrt.LK_NBLCK, 1)
        except OSError:
            return False
        return True
    import fcntl

    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        return False
    return True
