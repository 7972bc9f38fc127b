"""Locked, crash-safe reads and read-modify-writes of tracker files, re-parsing only what changed on disk.

Every operation takes the tracker's ``.lock`` file (an OS-level ``flock`` through filelock, released by the kernel
when the holder dies, and honoured across hosts by NFS clients), reads the file, applies one change, writes the new
text atomically (temporary file, fsync, ``os.replace``) and releases the lock. The last snapshot of each file is kept
in memory with the exact bytes it came from: when the file still holds those bytes (nobody else wrote it), the
snapshot is reused as is; otherwise the parser reuses every job block it has already seen.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import Any, NamedTuple, TypeVar

import filelock

from .tracker_format import EMPTY_TRACKER_TEXT, JobRecord, job_block, parse_tracker, render_tracker
from .yaml_atomic_write import write_text_atomically

__all__ = ["TrackerSnapshot", "locked_read", "read_unlocked", "reset_tracker", "update_tracker"]

T = TypeVar("T")

Change = Callable[[Mapping[str, JobRecord]], tuple[dict[str, JobRecord], T]]
"""Receives the current records and returns (records to add or replace, result for the caller)."""

_POLL_INTERVAL = 0.005  # Seconds between attempts while another process holds the lock.
_SNAPSHOTS_KEPT = 64
# A soft lock (a file that merely exists) stays behind when its holder is killed, blocking everyone until a person
# removes it; filelock falls back to one where flock is unavailable unless told not to (filelock >= 4).
_LOCK_OPTIONS: dict[str, Any] = (
    {"fallback_to_soft": False}
    if "fallback_to_soft" in inspect.signature(filelock.FileLock.__init__).parameters
    else {}
)


class TrackerSnapshot(NamedTuple):
    """The state of a tracker file: its bytes (None if it does not exist), job blocks and records in file order."""

    raw: bytes | None
    blocks: dict[str, str]
    records: dict[str, JobRecord]


_EMPTY = TrackerSnapshot(None, {}, {})
_snapshots: dict[str, TrackerSnapshot] = {}


def _read_bytes(path: Path) -> bytes | None:
    """Returns the content of the file, or None if it does not exist."""
    try:
        with open(path, "rb") as stream:
            return stream.read()
    except FileNotFoundError:
        return None


def read_unlocked(path: Path) -> TrackerSnapshot:
    """Returns the current snapshot of the tracker file without taking its lock.

    Writers replace the file atomically, so the content read is always a complete version of it. Use this for
    read-only inspection where creating the lock file is not wanted (for example, on a read-only share).

    Args:
        path: The tracker file.

    Returns:
        The snapshot; an empty one if the file does not exist.

    Raises:
        ValueError: If the file's content is not a valid tracker.
    """
    raw = _read_bytes(path)
    key = str(path)
    cached = _snapshots.get(key)
    if cached is not None and cached.raw == raw:
        return cached
    if raw is None:
        snapshot = _EMPTY
    else:
        document = parse_tracker(raw, key)
        snapshot = TrackerSnapshot(raw, document.blocks, document.records)
    _remember(key, snapshot)
    return snapshot


def _remember(key: str, snapshot: TrackerSnapshot) -> None:
    """Keeps the snapshot as the latest known state of the file, forgetting the least recently used ones."""
    _snapshots.pop(key, None)
    if len(_snapshots) >= _SNAPSHOTS_KEPT:
        del _snapshots[next(iter(_snapshots))]
    _snapshots[key] = snapshot


@contextmanager
def _tracker_lock(path: Path, lock_path: str, timeout: float) -> Iterator[None]:
    """Holds the tracker's lock file for the duration of the block."""
    lock = filelock.FileLock(lock_path, **_LOCK_OPTIONS)
    try:
        try:
            lock.acquire(timeout=timeout, poll_interval=_POLL_INTERVAL)
        except FileNotFoundError:  # Older filelock releases do not create the lock file's directory.
            Path(lock_path).parent.mkdir(parents=True, exist_ok=True)
            lock.acquire(timeout=timeout, poll_interval=_POLL_INTERVAL)
    except filelock.Timeout:
        raise TimeoutError(
            f"Unable to acquire the lock file {lock_path} of the processing tracker {path} within {timeout} s: "
            f"another process holds it. A holder that dies releases it automatically."
        ) from None
    try:
        yield
    finally:
        lock.release()


def locked_read(path: Path, lock_path: str, timeout: float) -> TrackerSnapshot:
    """Returns the snapshot of the tracker file, read while holding its lock.

    Args:
        path: The tracker file.
        lock_path: The tracker's lock file.
        timeout: The longest time, in seconds, to wait for the lock.

    Returns:
        The snapshot; an empty one if the file does not exist.

    Raises:
        TimeoutError: If the lock cannot be acquired within the timeout.
        ValueError: If the file's content is not a valid tracker.
    """
    with _tracker_lock(path, lock_path, timeout):
        return read_unlocked(path)


def update_tracker(path: Path, lock_path: str, timeout: float, change: Change[T]) -> tuple[TrackerSnapshot, T]:
    """Applies one change to the tracker file under its lock and writes the result atomically.

    Args:
        path: The tracker file.
        lock_path: The tracker's lock file.
        timeout: The longest time, in seconds, to wait for the lock.
        change: Receives the current records and returns the records to add or replace, and a result. When it
            returns no records, nothing is written. When it raises, the file is left untouched.

    Returns:
        The snapshot after the change, and the change's result.

    Raises:
        TimeoutError: If the lock cannot be acquired within the timeout.
        ValueError: If the file's content is not a valid tracker.
    """
    with _tracker_lock(path, lock_path, timeout):
        snapshot = read_unlocked(path)
        changed, result = change(snapshot.records)
        if not changed:
            return snapshot, result
        blocks = dict(snapshot.blocks)
        records = dict(snapshot.records)
        for job_id, record in changed.items():
            blocks[job_id] = job_block(job_id, record)
            records[job_id] = record
        text = render_tracker(blocks.values())
        write_text_atomically(path, text)
        snapshot = TrackerSnapshot(text.encode("utf-8"), blocks, records)
        _remember(str(path), snapshot)
        return snapshot, result


def reset_tracker(path: Path, lock_path: str, timeout: float) -> TrackerSnapshot:
    """Replaces the tracker file with an empty tracker under its lock.

    Args:
        path: The tracker file.
        lock_path: The tracker's lock file.
        timeout: The longest time, in seconds, to wait for the lock.

    Returns:
        The empty snapshot.

    Raises:
        TimeoutError: If the lock cannot be acquired within the timeout.
    """
    with _tracker_lock(path, lock_path, timeout):
        write_text_atomically(path, EMPTY_TRACKER_TEXT)
        snapshot = TrackerSnapshot(EMPTY_TRACKER_TEXT.encode("utf-8"), {}, {})
        _remember(str(path), snapshot)
        return snapshot
