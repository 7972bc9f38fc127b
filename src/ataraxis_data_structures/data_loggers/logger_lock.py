"""The locks that make a running logger's instance name and log directory its own.

The logger process holds two OS locks (flock, or msvcrt.locking on Windows) for as long as it runs: one on a file
named after the instance in a per-user folder of the system's temporary directory (instance names are unique among
running loggers, as the reference requires), and one on a lock file in the log directory (no two loggers ever write
one directory). The OS drops a lock when its process ends in any way, so a killed logger never leaves a stale lock
behind; a clean stop also removes the files.
"""

from __future__ import annotations

import hashlib
import os
import re
import sys
import tempfile
from pathlib import Path

LOCK_FILE_NAME = ".axds_logger.lock"
"""The name of the lock file inside a log directory; it is not part of the log."""


class ExclusiveLock:
    """An exclusive, non-blocking lock held through a lock file.

    Args:
        path: The lock file.
        owner: Who holds the lock, written into the file to make the error of a second logger clear.
        conflict: What a second logger is told, given the holder's description.
    """

    def __init__(self, path: Path, owner: str, conflict: str) -> None:
        self._path = path
        self._owner = owner
        self._conflict = conflict
        self._fd: int | None = None

    def acquire(self) -> None:
        """Takes the lock.

        Raises:
            RuntimeError: If another running logger holds the lock.
        """
        while True:
            fd = os.open(self._path, os.O_RDWR | os.O_CREAT | getattr(os, "O_BINARY", 0), 0o644)
            if not _try_lock(fd):
                holder = os.read(fd, 512).decode(errors="replace").strip() or "logger"
                os.close(fd)
                raise RuntimeError(self._conflict.format(holder=holder))
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


def directory_lock(directory: Path, instance_name: str) -> ExclusiveLock:
    """Returns the lock that gives a logger sole use of its log directory."""
    return ExclusiveLock(
        directory / LOCK_FILE_NAME,
        f"DataLogger '{instance_name}'",
        f"the log directory {directory} is in use by another running {{holder}}",
    )


def name_lock(instance_name: str, directory: Path) -> ExclusiveLock:
    """Returns the lock that makes an instance name unique among the user's running loggers."""
    user = os.getuid() if hasattr(os, "getuid") else os.getlogin()
    folder = Path(tempfile.gettempdir()) / f"ataraxis_data_loggers_{user}"
    folder.mkdir(mode=0o700, exist_ok=True)
    readable = re.sub(r"[^A-Za-z0-9_.-]", "_", instance_name)[:64]
    digest = hashlib.sha1(instance_name.encode(), usedforsecurity=False).hexdigest()[:12]
    return ExclusiveLock(
        folder / f"{readable}-{digest}.lock",
        f"DataLogger '{instance_name}' writing to {directory}",
        f"a DataLogger named {instance_name!r} is already running ({{holder}}); each running DataLogger needs a "
        f"unique instance name",
    )
