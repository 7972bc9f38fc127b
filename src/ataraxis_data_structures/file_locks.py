"""Every OS file lock the package takes: the blocking lock of a tracker and the non-blocking ownership locks.

This is the only module that takes OS file locks, through one primitive chosen once at import: ``flock`` on POSIX
(_file_locks_posix), an exclusive per-file lock elsewhere (_file_locks_portable: ``msvcrt.locking`` on Windows; forced
with ``AXDS_FORCE_PORTABLE=1``). Two kinds of lock:

- :func:`hold_lock` waits (up to a timeout) for an exclusive lock on a lock file, for short critical sections shared
  by processes, threads and hosts (the processing tracker). ``flock`` is taken directly with ``fcntl``: it is the
  primitive filelock uses, so it excludes processes of the reference release too, at a fraction of filelock's cost
  per call. Linux NFS clients implement ``flock`` with byte-range locks that the server arbitrates across hosts.
  Those locks belong to a process, not to an open file, so threads of one process are also serialized by an
  in-process lock per lock file.
- :func:`try_lock` takes a lock at once or reports who holds it, for ownership held as long as a process runs (a
  logger's instance name and log directory, an assembly's directory). Directories can be locked too, which leaves
  their contents unchanged.

The kernel drops a lock when its holder dies, even by SIGKILL, so no lock is ever stale and lock files are never
deleted on release: deleting one lets two processes lock two different files of the same name. The one exception is
a lock taken with ``try_lock(..., removable=True)``, which every taker of that lock file must use: the holder deletes
the file before releasing (:meth:`HeldLock.release_and_remove`), and a taker that locked a file which no longer has
that name (deleted after it was opened) lets it go and locks the file now there, so two processes can never both hold
"the" lock. A log directory's lock uses it so that a stopped logger leaves nothing in the directory.
"""

from __future__ import annotations

import errno
import os
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from pathlib import Path

import filelock

from ._platform import FORCE_PORTABLE
from .errors import LockFileUnavailableError, LockHeldError  # defined there with every error; importable here

try:
    if FORCE_PORTABLE:
        raise ImportError("the portable locks are forced")
    from . import _file_locks_posix as _os_lock
except ImportError:  # no fcntl (Windows), or forced
    from . import _file_locks_portable as _os_lock  # type: ignore[no-redef]

__all__ = [
    "HeldLock",
    "LockFileUnavailableError",
    "LockHeldError",
    "close_locked_descriptor",
    "hold_lock",
    "is_locked",
    "try_lock",
    "try_lock_descriptor",
]

_FIRST_WAIT = 0.001  # Seconds; the wait between attempts doubles up to _LONGEST_WAIT while another process holds it.
_LONGEST_WAIT = 0.02


_thread_locks: dict[str, threading.Lock] = {}
_thread_locks_guard = threading.Lock()
# Descriptors of lock files this process holds right now. A child forked meanwhile (by another thread) shares their
# flocks, and would keep them held for as long as it lives, since the code that releases them does not run in it.
_held_descriptors: set[int] = set()


def _reset_after_fork() -> None:
    """In a forked child: drops the parent's held flocks and gives it fresh in-process locks."""
    global _thread_locks_guard
    for descriptor in list(_held_descriptors):
        with suppress(OSError):
            os.close(descriptor)
    _held_descriptors.clear()
    _thread_locks.clear()
    _thread_locks_guard = threading.Lock()


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_reset_after_fork)


def _thread_lock(lock_path: str) -> threading.Lock:
    """Returns the in-process lock that serializes this process's threads on one lock file."""
    lock = _thread_locks.get(lock_path)
    if lock is None:
        with _thread_locks_guard:
            lock = _thread_locks.setdefault(lock_path, threading.Lock())
    return lock


def _open_lock_file(lock_path: str) -> int:
    """Opens (creating it and its directory if needed) the lock file and returns the descriptor."""
    try:
        return os.open(lock_path, os.O_RDWR | os.O_CREAT | getattr(os, "O_BINARY", 0), 0o666)
    except FileNotFoundError:
        Path(lock_path).parent.mkdir(parents=True, exist_ok=True)
        return os.open(lock_path, os.O_RDWR | os.O_CREAT | getattr(os, "O_BINARY", 0), 0o666)
    except OSError as error:
        if not isinstance(error, PermissionError) and error.errno != errno.EROFS:
            raise
        try:  # Another user's lock file, or a read-only mount: flock works on a read-only descriptor.
            return os.open(lock_path, os.O_RDONLY)
        except FileNotFoundError:
            raise LockFileUnavailableError(
                error.errno, f"cannot create the lock file (read-only location): {error.strerror}", lock_path
            ) from None


def _flock(descriptor: int) -> bool:
    """Tries once to take the exclusive lock on the open file; returns False if another holder has it."""
    return _os_lock.lock(descriptor)


@contextmanager
def hold_lock(lock_path: str | Path, timeout: float, timeout_error: Callable[[], Exception]) -> Iterator[None]:
    """Holds the exclusive lock on ``lock_path`` for the duration of the block, waiting for it up to ``timeout``.

    Args:
        lock_path: The lock file; it and its folder are created when missing.
        timeout: The longest time, in seconds, to wait for the lock.
        timeout_error: Builds the exception raised when the lock cannot be had in time (it names what is locked).

    Raises:
        LockFileUnavailableError: If the lock file is missing and cannot be created.
    """
    lock_path = os.fspath(lock_path)
    deadline = time.monotonic() + timeout
    thread_lock = _thread_lock(lock_path)
    if not thread_lock.acquire(timeout=min(timeout, threading.TIMEOUT_MAX)):
        raise timeout_error()
    try:
        if not _os_lock.LOCKS_DIRECTORIES:  # the portable locks: filelock's lock, the reference's primitive there
            # Created here first, so that a read-only location is reported as on the flock path (readers then read
            # without the lock); filelock raises a bare PermissionError there, or on Windows, where it takes "access
            # denied" for a lock another process holds, waits out the timeout.
            os.close(_open_lock_file(lock_path))
            with _hold_filelock(lock_path, max(0.0, deadline - time.monotonic()), timeout_error):
                yield
            return
        descriptor = _open_lock_file(lock_path)
        _held_descriptors.add(descriptor)
        try:
            wait = _FIRST_WAIT
            while not _flock(descriptor):
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    raise timeout_error()
                time.sleep(min(wait, remaining))
                wait = min(wait * 2, _LONGEST_WAIT)
            yield
        finally:
            _held_descriptors.discard(descriptor)
            os.close(descriptor)  # Closing the descriptor releases the flock.
    finally:
        thread_lock.release()


@contextmanager
def _hold_filelock(lock_path: str, remaining: float, timeout_error: Callable[[], Exception]) -> Iterator[None]:
    """Holds the lock through filelock, where flock is unavailable (or the portable locks are forced)."""
    lock = filelock.FileLock(lock_path)
    try:
        lock.acquire(timeout=remaining, poll_interval=_LONGEST_WAIT)
    except filelock.Timeout:
        raise timeout_error() from None
    try:
        yield
    finally:
        lock.release()


class HeldLock:
    """A lock taken by :func:`try_lock`, held until :meth:`release` (or until the process ends)."""

    def __init__(self, path: Path, descriptor: int | None) -> None:
        self.path = path
        self._descriptor = descriptor

    def write_owner(self, owner: str) -> None:
        """Records who holds the lock in the lock file, for the error another process gets (not for directories)."""
        if self._descriptor is None:
            return
        os.ftruncate(self._descriptor, 0)
        os.lseek(self._descriptor, 0, os.SEEK_SET)
        os.write(self._descriptor, owner.encode())

    def release_and_remove(self) -> None:
        """Deletes the lock file, then releases the lock; only for locks taken with ``try_lock(removable=True)``.

        Deleting while still holding the lock means that any process that opened the file meanwhile finds, once it
        gets the lock, that the file lost its name, and starts over (see try_lock).
        """
        if self._descriptor is None:
            return
        with suppress(OSError):  # already gone, or Windows (an open file cannot be deleted there): it just stays
            if _names_descriptor(self.path, self._descriptor):
                os.unlink(self.path)
        self.release()

    def release(self) -> None:
        """Releases the lock; the lock file stays (see the module's notes). Calling it twice is harmless."""
        if self._descriptor is None:
            return
        descriptor, self._descriptor = self._descriptor, None
        _held_descriptors.discard(descriptor)
        os.close(descriptor)  # closing the descriptor releases the OS lock

    def __enter__(self) -> HeldLock:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.release()


def _names_descriptor(path: Path, descriptor: int) -> bool:
    """Returns True if the path still names the file open as the descriptor (it was not deleted or replaced)."""
    try:
        named = os.stat(path)
    except FileNotFoundError:
        return False
    opened = os.fstat(descriptor)
    return (named.st_dev, named.st_ino) == (opened.st_dev, opened.st_ino)


def try_lock(path: Path, *, directory: bool = False, removable: bool = False) -> HeldLock:
    """Takes the exclusive lock on a lock file, or on a directory itself, without waiting.

    Args:
        path: The lock file (created when missing) or, with ``directory=True``, the directory to lock.
        directory: Locks the directory's own inode, leaving its contents unchanged. Where directories cannot be
            locked (Windows), the returned lock protects nothing.
        removable: The lock file is one whose holders delete it on release (HeldLock.release_and_remove): a lock
            taken on a file that lost its name meanwhile is let go and the file now at the path is locked instead.

    Raises:
        LockHeldError: If another process holds the lock.
    """
    if directory and not _os_lock.LOCKS_DIRECTORIES:  # Windows cannot open a directory to lock it
        return HeldLock(path, None)
    while True:
        descriptor = os.open(path, os.O_RDONLY) if directory else _open_lock_file(os.fspath(path))
        if not _flock(descriptor):
            holder = ""
            if not directory:
                os.lseek(descriptor, 0, os.SEEK_SET)
                holder = os.read(descriptor, 512).decode(errors="replace").strip()
            os.close(descriptor)
            raise LockHeldError(path, holder)
        if not removable or directory or _names_descriptor(path, descriptor):
            break
        os.close(descriptor)  # its holder deleted it after we opened it: lock the file the path names now
    _held_descriptors.add(descriptor)
    return HeldLock(path, descriptor)


def is_locked(path: Path) -> bool:
    """Returns True when a process holds the lock on an existing lock file (False when the file is missing)."""
    try:
        descriptor = os.open(path, os.O_RDONLY)
    except FileNotFoundError:
        return False
    try:
        return _os_lock.probe(descriptor)
    finally:
        os.close(descriptor)  # closing also drops the shared lock taken to probe


def try_lock_descriptor(descriptor: int) -> bool:
    """Takes the exclusive lock on a file the caller opened, without waiting; returns False if another process holds it.

    For a lock on the very file a process writes (a transfer's temporary copy), where the caller keeps the descriptor
    and must release it with :func:`close_locked_descriptor`, so that a child forked meanwhile does not keep the lock.
    """
    if not _flock(descriptor):
        return False
    _held_descriptors.add(descriptor)
    return True


def close_locked_descriptor(descriptor: int) -> None:
    """Closes a descriptor locked by :func:`try_lock_descriptor`, which releases its lock."""
    _held_descriptors.discard(descriptor)
    os.close(descriptor)
