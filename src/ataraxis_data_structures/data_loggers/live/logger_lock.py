"""The locks that make a running logger's instance name and log directory its own.

The logger process holds two OS locks (taken through ``file_locks``) for as long as it runs: one on a file
named after the instance in a per-user folder of the system's temporary directory (instance names are unique among
running loggers, as the reference requires), and one on a lock file in the log directory (no two loggers ever write
one directory). The OS drops a lock when its process ends in any way, so a killed logger never leaves a stale lock
behind. The name lock's file stays after a stop. The log directory's lock file is deleted when the logger releases
it (at stop(), or by the next assembly after a killed logger), so a stopped and assembled log directory holds only
what the releases leave there; every taker of that lock follows the delete-while-held protocol of
``file_locks.try_lock(removable=True)``, so a logger that starts while another stops can never hold a deleted file's
lock next to a new file's.
"""

from __future__ import annotations

import hashlib
import os
import re
import tempfile
from pathlib import Path

from ...file_locks import HeldLock, LockHeldError, try_lock

__all__ = ["ExclusiveLock", "LOCK_FILE_NAME", "directory_lock", "name_lock"]

LOCK_FILE_NAME = ".axds_logger.lock"
"""The name of the lock file inside a log directory; it is not part of the log."""


class ExclusiveLock:
    """An exclusive, non-blocking lock held through a lock file (see :mod:`ataraxis_data_structures.file_locks`).

    Args:
        path: The lock file.
        owner: Who holds the lock, written into the file to make the error of a second logger clear.
        conflict: What a second logger is told, given the holder's description.
    """

    def __init__(self, path: Path, owner: str, conflict: str, *, removable: bool = False) -> None:
        self._path = path
        self._owner = owner
        self._conflict = conflict
        self._removable = removable
        self._held: HeldLock | None = None

    def acquire(self) -> None:
        """Takes the lock.

        Raises:
            RuntimeError: If another running logger holds the lock.
        """
        try:
            held = try_lock(self._path, removable=self._removable)
        except LockHeldError as error:
            raise RuntimeError(self._conflict.format(holder=error.holder or "logger")) from None
        held.write_owner(f"{self._owner} (logger pid {os.getpid()})")
        self._held = held

    def reacquire(self) -> str | None:
        """Takes the lock again on a new file at the same path, after the held file's folder was removed or replaced.

        The lock on the removed file protects nothing: no other process can reach that file. Returns None once the
        new file is locked, or the reason it could not be (another logger holds it).
        """
        if self._held is not None:
            self._held.release()
            self._held = None
        try:
            self.acquire()
        except (RuntimeError, OSError) as error:
            return str(error)
        return None

    def release(self) -> None:
        """Releases the lock; a removable lock's file is deleted first (see file_locks.try_lock)."""
        if self._held is not None:
            if self._removable:
                self._held.release_and_remove()
            else:
                self._held.release()
            self._held = None


def directory_lock(directory: Path, instance_name: str) -> ExclusiveLock:
    """Returns the lock that gives a logger sole use of its log directory."""
    return ExclusiveLock(
        directory / LOCK_FILE_NAME,
        f"DataLogger '{instance_name}'",
        f"the log directory {directory} is in use by another running {{holder}}",
        removable=True,
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
