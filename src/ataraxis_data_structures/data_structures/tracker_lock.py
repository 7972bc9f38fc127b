"""The tracker's lock: an exclusive lock on the tracker's ``.lock`` file, across processes, threads and hosts.

On POSIX systems the lock is ``flock`` on the lock file, taken directly with ``fcntl`` (the primitive filelock uses,
so it excludes processes of the reference release too, at a fraction of filelock's per-call cost). The kernel drops it
when its holder dies, even by SIGKILL, so a crashed process never blocks the others. Linux NFS clients implement
``flock`` with NFS byte-range locks, which the server arbitrates across hosts. Those locks belong to a process, not to
an open file, so threads of one process are additionally serialized by an in-process lock per lock file. Elsewhere
(Windows) filelock takes the lock.
"""

from __future__ import annotations

import errno
import os
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from pathlib import Path

import filelock

try:
    import fcntl
except ImportError:  # pragma: no cover - Windows
    fcntl = None  # type: ignore[assignment]

__all__ = ["LockFileUnavailableError", "hold_tracker_lock"]

_FIRST_WAIT = 0.001  # Seconds; the wait between attempts doubles up to _LONGEST_WAIT while another process holds it.
_LONGEST_WAIT = 0.02


class LockFileUnavailableError(PermissionError):
    """The lock file does not exist and cannot be created: the tracker's directory is read-only for this process."""


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


def _timeout_error(tracker_path: Path, lock_path: str, timeout: float) -> TimeoutError:
    return TimeoutError(
        f"Unable to acquire the lock file {lock_path} of the processing tracker {tracker_path} within {timeout} s: "
        f"another process holds it (a holder that dies releases it automatically)."
    )


def _open_lock_file(lock_path: str) -> int:
    """Opens (creating it and its directory if needed) the lock file and returns the descriptor."""
    try:
        return os.open(lock_path, os.O_RDWR | os.O_CREAT, 0o666)
    except FileNotFoundError:
        Path(lock_path).parent.mkdir(parents=True, exist_ok=True)
        return os.open(lock_path, os.O_RDWR | os.O_CREAT, 0o666)
    except OSError as error:
        if not isinstance(error, PermissionError) and error.errno != errno.EROFS:
            raise
        try:  # Another user's lock file, or a read-only mount: flock works on a read-only descriptor.
            return os.open(lock_path, os.O_RDONLY)
        except FileNotFoundError:
            raise LockFileUnavailableError(
                error.errno, f"cannot create the tracker lock file (read-only location): {error.strerror}", lock_path
            ) from None


@contextmanager
def hold_tracker_lock(tracker_path: Path, lock_path: str, timeout: float) -> Iterator[None]:
    """Holds the tracker's lock for the duration of the block.

    Args:
        tracker_path: The tracker file, named in the timeout error.
        lock_path: The lock file.
        timeout: The longest time, in seconds, to wait for the lock.

    Raises:
        TimeoutError: If the lock cannot be acquired within the timeout.
    """
    deadline = time.monotonic() + timeout
    thread_lock = _thread_lock(lock_path)
    if not thread_lock.acquire(timeout=min(timeout, threading.TIMEOUT_MAX)):
        raise _timeout_error(tracker_path, lock_path, timeout)
    try:
        if fcntl is None:  # pragma: no cover - Windows
            with _filelock(tracker_path, lock_path, max(0.0, deadline - time.monotonic()), timeout):
                yield
            return
        descriptor = _open_lock_file(lock_path)
        _held_descriptors.add(descriptor)
        try:
            wait = _FIRST_WAIT
            while True:
                try:
                    fcntl.flock(descriptor, fcntl.LOCK_EX | fcntl.LOCK_NB)
                    break
                except BlockingIOError:
                    remaining = deadline - time.monotonic()
                    if remaining <= 0:
                        raise _timeout_error(tracker_path, lock_path, timeout) from None
                    time.sleep(min(wait, remaining))
                    wait = min(wait * 2, _LONGEST_WAIT)
            yield
        finally:
            _held_descriptors.discard(descriptor)
            os.close(descriptor)  # Closing the descriptor releases the flock.
    finally:
        thread_lock.release()


@contextmanager
def _filelock(tracker_path: Path, lock_path: str, remaining: float, timeout: float) -> Iterator[None]:
    """Holds the lock through filelock, where fcntl is unavailable."""
    lock = filelock.FileLock(lock_path)
    try:
        lock.acquire(timeout=remaining, poll_interval=_LONGEST_WAIT)
    except filelock.Timeout:
        raise _timeout_error(tracker_path, lock_path, timeout) from None
    try:
        yield
    finally:
        lock.release()
