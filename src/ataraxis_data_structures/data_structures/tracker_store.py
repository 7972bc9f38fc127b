"""Locked, crash-safe reads and read-modify-writes of tracker files, re-parsing only what changed on disk.

Every operation takes the tracker's lock (:func:`hold_tracker_lock`), reads the file, applies one change, writes the new
text atomically and releases the lock. The new text goes to a temporary file in the same directory, which is flushed
to disk (fdatasync) and then renamed over the tracker, so a process killed at any moment (or a power loss) leaves
either the old or the new complete file, never a torn one. The directory is not fsynced after the rename: that would
only make the very last change survive a power loss (without it, the previous complete version may come back), and
it costs as much as the rest of an operation.

The last snapshot of each file is kept in memory with the exact bytes it came from: when the file still holds those
bytes (nobody else wrote it), the snapshot is reused as is; otherwise the parser reuses every job block it has
already seen.
"""

from __future__ import annotations

import contextlib
import errno
import os
import stat
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import NamedTuple, TypeVar

from .._durable_files import replace_file_atomically
from ..errors import TrackerFormatError
from ..file_locks import LockFileUnavailableError, hold_lock
from .tracker_format import JobRecord, job_block, parse_tracker, render_tracker

__all__ = ["TrackerSnapshot", "hold_tracker_lock", "locked_read", "read_unlocked", "reset_tracker", "update_tracker"]

T = TypeVar("T")

Change = Callable[[Mapping[str, JobRecord]], tuple[Mapping[str, JobRecord | None], T]]
"""Receives the current records and returns (records to add or replace, None for those to remove; a result)."""

_SNAPSHOTS_KEPT = 16


def hold_tracker_lock(tracker_path: Path, lock_path: str, timeout: float) -> contextlib.AbstractContextManager[None]:
    """Holds the tracker's lock (an exclusive flock on ``lock_path``) for the duration of a ``with`` block.

    Raises:
        TimeoutError: If the lock cannot be acquired within ``timeout`` seconds; the message names both files.
    """

    def timeout_error() -> TimeoutError:
        return TimeoutError(
            f"Unable to acquire the lock file {lock_path} of the processing tracker {tracker_path} within {timeout} "
            f"s: another process holds it (a holder that dies releases it automatically)."
        )

    return hold_lock(lock_path, timeout, timeout_error)


class TrackerSnapshot(NamedTuple):
    """The state of a tracker file, in file order.

    ``base`` and ``changed`` say how it was derived: from the records ``base`` by replacing the jobs ``changed``
    (both empty when it was parsed from disk), so that derived views can be updated instead of rebuilt.
    ``file_path`` and ``lock_path`` are the file's header values (None when absent: the 7.x layout), kept on
    rewrites so a file stays in the layout it has.
    """

    raw: bytes | None
    blocks: dict[str, str]
    records: dict[str, JobRecord]
    base: dict[str, JobRecord] | None = None
    changed: tuple[str, ...] = ()
    file_path: str | None = None
    lock_path: str | None = None


_EMPTY = TrackerSnapshot(None, {}, {})
_snapshots: dict[str, TrackerSnapshot] = {}
_modes: dict[str, int] = {}  # Permission bits of each tracker file as last read, kept across rewrites.


def _read_file(path: Path) -> bytes | None:
    """Returns the content of the file (None if it does not exist), noting its permission bits."""
    try:
        descriptor = os.open(path, os.O_RDONLY | getattr(os, "O_BINARY", 0))
    except FileNotFoundError:
        return None
    try:
        info = os.fstat(descriptor)
        if stat.S_ISDIR(info.st_mode):
            raise IsADirectoryError(errno.EISDIR, "Unable to use a directory as a processing tracker file", str(path))
        _modes[str(path)] = stat.S_IMODE(info.st_mode)
        chunks = []
        remaining = info.st_size + 1  # One byte more, so a file that grew meanwhile is still read to its end.
        while True:
            chunk = os.read(descriptor, max(remaining, 65536))
            if not chunk:
                break
            chunks.append(chunk)
            remaining -= len(chunk)
        return chunks[0] if len(chunks) == 1 else b"".join(chunks)
    finally:
        os.close(descriptor)


def read_unlocked(path: Path) -> TrackerSnapshot:
    """Returns the current snapshot of the tracker file without taking its lock.

    Writers replace the file atomically, so the content read is always a complete version of it. Use this for
    read-only inspection where creating the lock file is not wanted (for example, on a read-only share).

    Args:
        path: The tracker file.

    Returns:
        The snapshot; an empty one if the file does not exist.

    Raises:
        TrackerFormatError: If the file's content is not a valid tracker.
    """
    raw = _read_file(path)
    key = str(path)
    cached = _snapshots.get(key)
    if cached is not None and cached.raw == raw:
        return cached
    if raw is None:
        snapshot = _EMPTY
    else:
        document = parse_tracker(raw, key)
        snapshot = TrackerSnapshot(
            raw, document.blocks, document.records, file_path=document.file_path, lock_path=document.lock_path
        )
    _remember(key, snapshot)
    return snapshot


def _remember(key: str, snapshot: TrackerSnapshot) -> None:
    """Keeps the snapshot as the latest known state of the file, forgetting the least recently used ones."""
    _snapshots.pop(key, None)
    if len(_snapshots) >= _SNAPSHOTS_KEPT:
        forgotten = next(iter(_snapshots), "")
        _snapshots.pop(forgotten, None)
        _modes.pop(forgotten, None)
    _snapshots[key] = snapshot


def _warm_up(path: Path) -> None:
    """Parses a tracker this process has not read yet before taking the lock, so the lock is held only briefly.

    A process's first read of a large tracker parses every job; done under the lock, that would stall every other
    process for that long. The file is replaced atomically, so an unlocked read sees a complete version; the read
    under the lock then reuses all the blocks parsed here that did not change meanwhile. Errors are left for the
    locked read to report.
    """
    if str(path) not in _snapshots:
        with contextlib.suppress(TrackerFormatError, OSError):
            read_unlocked(path)


def locked_read(path: Path, lock_path: str, timeout: float) -> TrackerSnapshot:
    """Returns the snapshot of the tracker file, read while holding its lock.

    Where the lock file does not exist and cannot be created (a read-only mount or directory), the file is read
    without the lock: nobody can change it through this location, and writers replace it atomically.

    Args:
        path: The tracker file.
        lock_path: The tracker's lock file.
        timeout: The longest time, in seconds, to wait for the lock.

    Returns:
        The snapshot; an empty one if the file does not exist.

    Raises:
        TimeoutError: If the lock cannot be acquired within the timeout.
        TrackerFormatError: If the file's content is not a valid tracker.
    """
    _warm_up(path)
    try:
        with hold_tracker_lock(path, lock_path, timeout):
            return read_unlocked(path)
    except LockFileUnavailableError:
        return read_unlocked(path)


def update_tracker(path: Path, lock_path: str, timeout: float, change: Change[T]) -> tuple[TrackerSnapshot, T]:
    """Applies one change to the tracker file under its lock and writes the result atomically.

    Args:
        path: The tracker file.
        lock_path: The tracker's lock file.
        timeout: The longest time, in seconds, to wait for the lock.
        change: Receives the current records and returns the records to add or replace (None for a job to
            remove), and a result. When it returns no records, nothing is written. When it raises, the file is
            left untouched.

    Returns:
        The snapshot after the change, and the change's result.

    Raises:
        TimeoutError: If the lock cannot be acquired within the timeout.
        TrackerFormatError: If the file's content is not a valid tracker.
    """
    _warm_up(path)
    with hold_tracker_lock(path, lock_path, timeout):
        snapshot = read_unlocked(path)
        changed, result = change(snapshot.records)
        if not changed:
            return snapshot, result
        blocks = snapshot.blocks.copy()
        records = snapshot.records.copy()
        for job_id, record in changed.items():
            if record is None:
                blocks.pop(job_id, None)
                records.pop(job_id, None)
            else:
                blocks[job_id] = job_block(job_id, record)
                records[job_id] = record
        data = render_tracker(blocks.values(), snapshot.file_path, snapshot.lock_path).encode("utf-8")
        replace_file_atomically(path, data, mode=_modes.get(str(path)), sync_directory=False)
        snapshot = TrackerSnapshot(
            data, blocks, records, snapshot.records, tuple(changed), snapshot.file_path, snapshot.lock_path
        )
        _remember(str(path), snapshot)
        return snapshot, result


def reset_tracker(path: Path, lock_path: str, timeout: float) -> TrackerSnapshot:
    """Replaces the tracker file with an empty tracker under its lock, in the layout the file has.

    Args:
        path: The tracker file.
        lock_path: The tracker's lock file.
        timeout: The longest time, in seconds, to wait for the lock.

    Returns:
        The empty snapshot.

    Raises:
        TimeoutError: If the lock cannot be acquired within the timeout.
    """
    with hold_tracker_lock(path, lock_path, timeout):
        try:
            old = read_unlocked(path)
        except TrackerFormatError:  # A damaged file is what a reset is for: replace it in the 7.x layout.
            old = _EMPTY
        data = render_tracker((), old.file_path, old.lock_path).encode("utf-8")
        replace_file_atomically(path, data, mode=_modes.get(str(path)), sync_directory=False)
        snapshot = TrackerSnapshot(data, {}, {}, file_path=old.file_path, lock_path=old.lock_path)
        _remember(str(path), snapshot)
        return snapshot
