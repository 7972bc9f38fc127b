"""The OS lock primitive of file_locks on POSIX: ``flock``, shared or exclusive, on any open file or directory."""

from __future__ import annotations

import fcntl

__all__ = ["LOCKS_DIRECTORIES", "NAME", "lock", "probe"]

NAME = "flock"
LOCKS_DIRECTORIES = True
"""A directory opened read-only can be locked (its own inode), which leaves its contents unchanged."""


def lock(descriptor: int) -> bool:
    """Tries once to take the exclusive lock on the open file; returns False if another holder has a lock on it."""
    try:
        fcntl.flock(descriptor, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        return False
    return True


def probe(descriptor: int) -> bool:
    """Returns True if another holder has the exclusive lock on the open file.

    A shared lock tests it, and stays until the descriptor is closed.
    """
    try:
        fcntl.flock(descriptor, fcntl.LOCK_SH | fcntl.LOCK_NB)
    except BlockingIOError:
        return True
    return False
