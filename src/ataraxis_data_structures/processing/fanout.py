"""Transfers one source directory to several destinations: one read of the source, every copy verified from storage.

Each source file is read once; its chunks are hashed and written to every destination that lacks a complete copy
(one writer thread per destination for large files, so two disks work at once). Every copy is flushed, its pages
dropped from the page cache (``posix_fadvise(POSIX_FADV_DONTNEED)``) and read back, so the digest compared with the
source's is that of the bytes the storage returns, not of the bytes this process handed to the kernel. Large files
are read back as soon as they are placed, while the small files are still being copied; the small files once every
copy is placed and each destination's filesystem was flushed once (``syncfs``: one flush, not one per file). Files
are written under the same hidden temporary names as a single transfer, so a rerun (after a crash or a full disk)
resumes every destination where it stopped; complete copies found there are read back and verified too, never
trusted.
"""

from __future__ import annotations

import contextlib
import ctypes
import os
import sys
import threading
import time
from collections.abc import Callable, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

from .._durable_files import write_fully
from .._path_safety import physical_path, refuse_unsafe_path
from ..errors import TransferVerificationError, UnsafePathError
from ..file_locks import close_locked_descriptor
from ._hashing import (
    chunk_buffer,
    directory_digest,
    hash_file,
    new_file_hasher,
    require_utf8_names,
    run_parallel,
    worker_count,
)
from ._manifest import CHECKSUM_FILE_NAME, read_stored_checksum, write_checksum
from ._tree import TreeEntry, scan_tree
from .checksum import byte_progress
from .transfer import (
    _LARGE_FILE,
    _check_locations,
    _check_source_entries,
    _clean_destination,
    _copy_folder_times,
    _copy_order,
    _is_complete_copy,
    _make_folders,
    _open_partial,
    _partial_path,
    _remove_source,
    _report_source_changes,
    _source_changes,
    _sync_folders,
    _unchanged_since_scan,
    same_file_state,
)

_READ_BACK_THREADS = 8
"""The least number of threads reading copies back (more when num_threads asks for more)."""

before_read_back: Callable[[str], None] | None = None
"""Called with each copy's path once it is flushed, right before its cached pages are dropped and it is read back. A
test hook: it lets a test change a byte of a real destination file (or of the storage beneath it) at the one moment no
copy routine would notice it. Never set in production."""


@dataclass(frozen=True, slots=True)
class DestinationReport:
    """What a multi-destination transfer did at one destination."""

    destination: Path
    """The destination directory."""
    files_total: int
    """The number of source files."""
    files_copied: int
    """Files written by this call."""
    files_present: int
    """Files already there from an earlier run (same size and modification time), read back and verified."""
    files_verified: int
    """Files whose copy, read back from storage, has the source's digest."""
    bytes_copied: int
    """Bytes written by this call."""
    seconds: float
    """Seconds from the start of the call until this destination's last file was verified."""
    first_mismatch: str | None = None
    """The first (by relative path) file whose read-back copy differs from the source; that copy was removed."""
    error: str | None = None
    """Why writing to this destination stopped (for example, no space left), or None."""

    @property
    def verified(self) -> bool:
        """Returns True if every source file is at this destination and verified."""
        return self.error is None and self.first_mismatch is None and self.files_verified == self.files_total

    def describe(self) -> str:
        """Returns a one-line summary: the outcome, the counts, the bytes and the time."""
        outcome = "verified" if self.verified else "FAILED"
        line = (
            f"{self.destination}: {outcome}, {self.files_copied} copied, {self.files_present} already there, "
            f"{self.files_verified}/{self.files_total} verified, {self.bytes_copied} bytes, {self.seconds:.2f} s"
        )
        if self.first_mismatch is not None:
            line += f"; first mismatch: {self.first_mismatch}"
        if self.error is not None:
            line += f"; stopped: {self.error}"
        return line


@dataclass(slots=True)
class _Destination:
    """The running tally of one destination, updated by the copying threads under its lock."""

    path: Path
    lock: threading.Lock = field(default_factory=threading.Lock)
    copied: int = 0
    present: int = 0
    verified: int = 0
    bytes_copied: int = 0
    done_at: float = 0.0
    mismatches: list[str] = field(default_factory=list)
    error: str | None = None

    def fail(self, error: BaseException) -> None:
        """Records the first error that stopped writing here; later files skip this destination."""
        with self.lock:
            if self.error is None:
                self.error = str(error)


_libc = ctypes.CDLL(None, use_errno=True) if sys.platform.startswith("linux") else None


def flush_filesystem(path: Path) -> None:
    """Writes every dirty page of the filesystem holding path to its storage (Linux ``syncfs``; elsewhere ``sync``).

    Raises:
        OSError: If the filesystem reports a write error (for example, EIO from a failing disk or share).
    """
    syncfs = getattr(_libc, "syncfs", None)
    if syncfs is None:
        os.sync()
        return
    descriptor = os.open(path, os.O_RDONLY)
    try:
        if syncfs(descriptor) != 0:
            code = ctypes.get_errno()
            raise OSError(code, f"Unable to flush {path} to its storage: {os.strerror(code)}")
    finally:
        os.close(descriptor)


def _read_back(target: str, relative: str) -> bytes:
    """Returns the digest of target as its storage holds it: its cached pages are dropped before it is read.

    The pages must be clean to be dropped: the fdatasync writes back whatever is still dirty (a large copy read back
    right after it was placed; a small one is already flushed). Without posix_fadvise (not Linux), the read may come
    from the cache.
    """
    hasher = new_file_hasher(relative)
    view = chunk_buffer()
    descriptor = os.open(target, os.O_RDONLY | getattr(os, "O_BINARY", 0))
    try:
        drop = hasattr(os, "posix_fadvise")
        if drop:
            os.fdatasync(descriptor)  # cheap when clean; waits for a write-back still running
        if before_read_back is not None:
            before_read_back(target)
        if drop:
            os.posix_fadvise(descriptor, 0, 0, os.POSIX_FADV_DONTNEED)
        while count := os.readv(descriptor, [view]):
            hasher.update(view[:count])
    except OSError as error:
        raise OSError(error.errno, f"Unable to read back {target}: {error.strerror or error}") from error
    finally:
        os.close(descriptor)
    return hasher.digest()


@dataclass(frozen=True, slots=True)
class _PendingCheck:
    """A placed (or already present) copy waiting to be read back."""

    state: _Destination
    entry: TreeEntry
    digest: bytes
    """The digest of the source's bytes, read while copying (or hashed apart when no copy was needed)."""
    copied: bool
    """Whether this call wrote the copy (False: it was there from an earlier run)."""


def _check_destinations(source: Path, destinations: list[Path]) -> None:
    """Refuses a destination that is the source, holds it or lies in it, and two destinations that overlap."""
    for destination in destinations:
        _check_locations(source, destination)
    resolved = [destination.resolve() for destination in destinations]
    for index, first in enumerate(resolved):
        for second in resolved[index + 1 :]:
            if first == second or first.is_relative_to(second) or second.is_relative_to(first):
                raise UnsafePathError(
                    f"Unable to transfer {source}: the destinations {first} and {second} overlap (the same folder, "
                    f"or one inside the other); each destination must be a separate folder."
                )


def transfer_to_destinations(
    source: Path,
    destinations: Sequence[Path | str],
    num_threads: int = 1,
    *,
    remove_source: bool = False,
    progress: bool = False,
    reset_dirty_destination: bool = False,
) -> list[DestinationReport]:
    """Copies source to every destination with one read of the source, verifying each copy from storage.

    This is what ``transfer_directory(source, [destination, ...])`` runs; see its documentation.

    Raises:
        TransferVerificationError: If any destination is not complete and verified (full disk, a copy that reads back
            differently); the message has one line per destination, ``reports`` holds the reports, and the source
            is never removed then.
    """
    source = Path(source)
    targets = [Path(destination) for destination in destinations]
    if not targets:
        raise ValueError(f"Unable to transfer {source}: no destination was given.")
    if remove_source:
        refuse_unsafe_path(source, "source", "transfer and remove")
    if reset_dirty_destination:
        for target in targets:
            refuse_unsafe_path(target, "destination", "reset")
    source = Path(physical_path(source))
    _check_destinations(source, targets)
    # num_threads per destination, the budget of the lab's pattern (one num_threads transfer per destination).
    workers = worker_count(num_threads) * len(targets)
    tree = scan_tree(source)
    _check_source_entries(source, tree)
    require_utf8_names(tree.files, source)
    expected = read_stored_checksum(source)
    for target in targets:
        _clean_destination(source, target, tree, reset=reset_dirty_destination, writes_checksum=True)
        _make_folders(tree, target)
    states = [_Destination(target) for target in targets]
    started = time.perf_counter()
    ordered = _copy_order(tree.files)
    checks: list[Future[None]] = []
    deferred: list[_PendingCheck] = []

    def check(pending: _PendingCheck) -> None:
        state, entry = pending.state, pending.entry
        if state.error is not None:
            return
        try:
            matches = _read_back(str(state.path / entry.relative), entry.relative) == pending.digest
        except OSError as error:
            state.fail(error)
            return
        _record(state, entry, matches, copied=pending.copied)

    # Large files (copied first) are read back while the small files are copied: their write-back started when they
    # were placed (see _copy_to_all), so their fdatasync has little left to wait for, and the disk reads them while
    # the copying threads are busy creating files. Small files wait for one flush of each destination and are read
    # back together: a flush per small file (and its own read-back thread) would cost more than the file's copy.
    with (
        ThreadPoolExecutor(max_workers=workers * len(targets)) as writers,
        ThreadPoolExecutor(max_workers=workers) as verifiers,
        byte_progress(tree.total_bytes, "Transferring", enabled=progress) as on_bytes,
    ):

        def copy_one(entry: TreeEntry) -> tuple[bytes, bool]:
            live = [state for state in states if state.error is None]
            missing = [state for state in live if not _is_complete_copy(str(state.path / entry.relative), entry.status)]
            if missing:
                digest, changed, placed = _copy_to_all(entry, missing, writers, on_bytes)
            else:
                digest, changed, placed = (
                    hash_file(entry.path, entry.relative, on_bytes),
                    not _unchanged_since_scan(entry),
                    [],
                )
            copied = {id(state) for state in placed}
            failed = {id(state) for state in missing} - copied
            for state in live:
                if id(state) not in failed:
                    pending = _PendingCheck(state, entry, digest, copied=id(state) in copied)
                    if entry.status.st_size >= _LARGE_FILE:
                        checks.append(verifiers.submit(check, pending))
                    else:
                        deferred.append(pending)
            return digest, changed

        try:
            outcomes = run_parallel(copy_one, ordered, workers)
            # Every small copy is now placed but possibly only in the page cache. A copy a crash left unflushed is
            # flushed here (and its pages dropped) on the next run, then read back from storage like the others.
            for state in states:
                if state.error is None:
                    try:
                        flush_filesystem(state.path)
                    except OSError as error:
                        state.fail(error)
            # Destinations interleaved, so every disk reads at once; small files wait on storage (one seek each)
            # more than on the CPU, so more threads than cores keep the disks' queues full.
            run_parallel(check, deferred, max(workers, _READ_BACK_THREADS))
            for future in checks:
                future.result()
        except BaseException:
            verifiers.shutdown(cancel_futures=True)  # a failed copy or Ctrl+C: no more read-backs start
            raise
    digests = {entry.relative: outcome[0] for entry, outcome in zip(ordered, outcomes, strict=True)}
    changed = [entry.relative for entry, outcome in zip(ordered, outcomes, strict=True) if outcome[1]]
    label = Path(", ".join(str(target) for target in targets))
    changes = _source_changes(source, tree, changed)
    if changes.changed or changes.appeared:
        _report_source_changes(source, label, changes.changed, changes.appeared, fail=True)
    reports = [_report(state, len(tree.files), started) for state in states]
    checked = [entry.relative for entry in tree.files if os.path.basename(entry.relative) != CHECKSUM_FILE_NAME]
    actual = directory_digest(checked, [digests[name] for name in checked]) if checked else None
    stale = expected is not None and actual is not None and actual != expected
    if stale or not all(report.verified for report in reports):
        lines = [report.describe() for report in reports if not report.verified]
        if stale:
            lines.append(
                f"the source's {CHECKSUM_FILE_NAME} holds {expected}, but the source's content read now has the "
                f"checksum {actual}: the source changed since that checksum was written"
            )
        failure = TransferVerificationError(
            f"Unable to complete the transfer of {source}: {'; '.join(lines)}. The source was kept; transfer again "
            f"to resume (verified copies are not written again)."
        )
        failure.reports = reports  # type: ignore[attr-defined]
        raise failure
    if expected is None and actual is not None:
        recorded = {name: digests[name].hex() for name in checked}
        for target in targets:
            write_checksum(target, actual, recorded)
        if not remove_source:
            write_checksum(source, actual, recorded)
    for target in targets:
        _copy_folder_times(tree, target)
        _sync_folders(tree, target)
    if remove_source:
        _remove_source(source, label, tree)
    return reports


def _record(state: _Destination, entry: TreeEntry, matches: bool, *, copied: bool) -> None:
    """Counts one verified (or mismatching) file at a destination; a mismatching copy is removed.

    Removed so that a rerun copies it again rather than trusting its size and modification time.
    """
    if not matches:
        with contextlib.suppress(OSError):
            os.unlink(state.path / entry.relative)
    with state.lock:
        if copied:
            state.copied += 1
            state.bytes_copied += entry.status.st_size
        else:
            state.present += 1
        if matches:
            state.verified += 1
        else:
            state.mismatches.append(entry.relative)
        state.done_at = time.perf_counter()


def _report(state: _Destination, total: int, started: float) -> DestinationReport:
    """Returns the immutable report of a destination's tally."""
    return DestinationReport(
        destination=state.path,
        files_total=total,
        files_copied=state.copied,
        files_present=state.present,
        files_verified=state.verified,
        bytes_copied=state.bytes_copied,
        seconds=max(state.done_at - started, 0.0),
        first_mismatch=min(state.mismatches) if state.mismatches else None,
        error=state.error,
    )


@dataclass(slots=True)
class _Open:
    """One destination's temporary copy being written."""

    state: _Destination
    target: str
    partial: str
    descriptor: int | None
    placed: bool = False


def _discard(copy: _Open) -> None:
    """Closes and removes this run's temporary copy (it holds its lock, so it is never another transfer's)."""
    if copy.descriptor is not None:
        if not copy.placed:  # once renamed, the partial name may already be another transfer's file
            with contextlib.suppress(OSError):
                os.unlink(copy.partial)
        close_locked_descriptor(copy.descriptor)
        copy.descriptor = None


def _copy_to_all(
    entry: TreeEntry,
    states: list[_Destination],
    writers: ThreadPoolExecutor,
    on_bytes: Callable[[int], None] | None,
) -> tuple[bytes, bool, list[_Destination]]:
    """Reads entry once and writes it to each state's destination (temporary name, then renamed).

    Returns the source digest, whether the source changed since the scan, and the destinations it was placed at. A
    destination that fails (no space left, an I/O error) is marked failed and its temporary copy removed; the others
    continue. Reading errors fail the whole call. Copies are not flushed here, only their write-back started: the
    caller reads each copy back after it is flushed.
    """
    copies: list[_Open] = []
    for state in states:
        target = str(state.path / entry.relative)
        partial = _partial_path(target)
        try:
            copies.append(_Open(state, target, partial, _open_partial(partial, target)))
        except OSError as error:
            state.fail(OSError(error.errno, f"Unable to copy {entry.path} to {target}: {error.strerror or error}"))
    hasher = new_file_hasher(entry.relative)
    view = chunk_buffer()
    # One thread per destination (two disks write at once) for large files; small files are written inline,
    # where a thread hand-off would cost more than the write.
    parallel = len(copies) > 1 and entry.status.st_size >= _LARGE_FILE

    def run(copy: _Open, step: Callable[[_Open, int], None]) -> None:
        if copy.descriptor is None:
            return
        try:
            step(copy, copy.descriptor)
        except OSError as error:
            copy.state.fail(
                OSError(error.errno, f"Unable to copy {entry.path} to {copy.target}: {error.strerror or error}")
            )
            _discard(copy)

    def each(step: Callable[[_Open, int], None]) -> None:
        if parallel:
            list(writers.map(lambda copy: run(copy, step), copies))
        else:
            for copy in copies:
                run(copy, step)

    def place(copy: _Open, descriptor: int) -> None:
        os.fchmod(descriptor, entry.status.st_mode & 0o7777)
        os.utime(descriptor, ns=(entry.status.st_atime_ns, entry.status.st_mtime_ns))
        os.replace(copy.partial, copy.target)  # the lock, held until close, kept the name this run's file
        copy.placed = True
        if hasattr(os, "posix_fadvise"):
            # On dirty pages, DONTNEED starts their write-back without waiting for it: the disk writes while the
            # next files are copied, and the flush before the read-back has less left to do.
            os.posix_fadvise(descriptor, 0, 0, os.POSIX_FADV_DONTNEED)

    try:
        with open(entry.path, "rb", buffering=0) as reader:
            while count := reader.readinto(view):
                chunk = view[:count]
                hasher.update(chunk)
                each(lambda _copy, descriptor: write_fully(descriptor, chunk))  # noqa: B023 - used before next chunk
                if on_bytes is not None:
                    on_bytes(count)
            read_state = os.fstat(reader.fileno())
        each(place)
    finally:
        for copy in copies:
            if copy.descriptor is not None and not copy.placed:
                _discard(copy)  # interrupted before its rename
            elif copy.descriptor is not None:
                close_locked_descriptor(copy.descriptor)
                copy.descriptor = None
    changed = not same_file_state(entry.status, read_state) or not _unchanged_since_scan(entry)
    return hasher.digest(), changed, [copy.state for copy in copies if copy.placed]


__all__ = ["DestinationReport", "flush_filesystem", "transfer_to_destinations"]
