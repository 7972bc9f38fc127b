"""The writer threads of the logger process: append records to one live log file per source.

The receiving thread hands over records grouped by source; a source's records wait in its ``pending`` list until a
writer thread takes them all and appends them with one vectored write. A source is served by at most one thread at a
time (its ``busy`` flag), which keeps every file in arrival order while different sources are written in parallel.

Each write goes straight to the kernel (no user-space buffer), so a killed logger process loses nothing it wrote. A
separate sync thread fsyncs each file once it holds ``sync_bytes`` unsynced bytes or its oldest unsynced write is
``sync_interval`` seconds old, while the writers keep appending; close() fsyncs everything once more. That bounds
what a power loss can take, and spreads the disk's work over the run instead of leaving it all to stop().

Disk trouble never ends the pool: a failed write is undone (the file is truncated back to its last whole record),
its records go back to the front of their source's queue and are retried every ``RETRY_INTERVAL`` (a removed log
directory is recreated first); records are given up, and counted in ``lost_records``, only when the records held for
retries exceed ``HOLD_LIMIT`` bytes or at close() after a last attempt. Once per ``sync_interval`` (and at close) the
sync thread checks that every open file still has a name: a file whose name was removed (``rm -rf`` of the
directory) is still readable through its descriptor, so its content is copied to a new file in the (recreated)
directory, and writing goes on there. Every such event is described in ``problems``.
"""

from __future__ import annotations

import contextlib
import errno
import os
import queue
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, cast

from ..._durable_files import fsync_directory, write_all
from ..formats import log_format

__all__ = ["HOLD_LIMIT", "RETRY_INTERVAL", "Record", "WriterPool"]

# Read-write, so that a file whose name was removed can still be read back through its descriptor and rewritten.
_OPEN_FLAGS = (
    os.O_RDWR | os.O_CREAT | os.O_EXCL | os.O_APPEND | getattr(os, "O_BINARY", 0) | getattr(os, "O_CLOEXEC", 0)
)
_SYNC_CHECK_INTERVAL = 0.05
"""How often the sync thread looks for files due for an fsync and for sources due for a retry."""
RETRY_INTERVAL = 0.5
"""How long a source whose write failed waits before the next attempt."""
HOLD_LIMIT = 512 << 20
"""The most payload bytes held in memory for retries while writes fail; beyond it the oldest held records are given
up (counted), so a full disk costs messages, never the logger's memory."""
_COPY_CHUNK = 8 << 20
_MAX_PROBLEMS = 20

Record = tuple[int, bytes | memoryview]
"""One message as the writers take it: (timestamp, payload)."""


class _SourceFile:
    """The live log file of one source and the records waiting for it."""

    __slots__ = (
        "busy",
        "fd",
        "pending",
        "records",
        "retry_at",
        "size",
        "source_id",
        "unsynced_bytes",
        "unsynced_since",
    )

    def __init__(self, source_id: int) -> None:
        self.source_id = source_id
        self.fd: int | None = None  # opened by the first writer that serves the source
        self.pending: list[Record] = []
        self.busy = False  # a thread serves the source, or it waits for a retry (retry_at set)
        self.unsynced_bytes = 0  # written since the last fsync began
        self.unsynced_since = 0.0  # when the oldest unsynced write happened
        self.size = 0  # the bytes of the open file: its header and whole records
        self.records = 0  # the records in the open file
        self.retry_at = 0.0  # when a failed write is tried again (0: not failing)


class WriterPool:
    """Appends records to the live log files of a directory with a pool of writer threads and a sync thread.

    Args:
        directory: The log directory; it must exist.
        thread_count: The number of writer threads.
        sync_interval: The longest time, in seconds, written data stays without fsync; also how often the files'
            names are checked.
        sync_bytes: The most bytes a file takes before it is fsynced.
        progress: A shared array whose element 1 the pool keeps equal to written_records (element 0 belongs to the
            receiving thread), so that the parent can count what a killed logger process held; or None.
    """

    def __init__(
        self,
        directory: Path,
        thread_count: int,
        sync_interval: float,
        sync_bytes: int,
        progress: Any = None,
        *,
        on_new_directory: Callable[[], str | None] | None = None,
    ) -> None:
        self._directory = directory
        self._on_new_directory = on_new_directory
        """Called when the log directory was recreated or replaced (the logger locks the new one); returns a problem."""
        self._identity = _identity(directory)
        self._sync_interval = sync_interval
        self._sync_bytes = sync_bytes
        self._progress = progress
        self._lock = threading.Lock()
        self._jobs: queue.SimpleQueue[_SourceFile | None] = queue.SimpleQueue()
        self._files: dict[int, _SourceFile] = {}
        self._directory_dirty = False  # a file was created since the directory was last fsynced
        self._closing = threading.Event()
        self._sync_due = threading.Event()  # set by a writer once a file holds sync_bytes unsynced bytes
        self._next_name_check = time.monotonic() + sync_interval
        self.queued_bytes = 0
        """The payload bytes handed over and not yet written (or given up)."""
        self.peak_queued_bytes = 0
        self.written_records = 0
        self.lost_records = 0
        """The records given up: not written after retries (see HOLD_LIMIT), or in a nameless file not rewritten."""
        self.rewritten_files = 0
        """Files whose names were removed while open, copied to a new file in the (recreated) directory."""
        self.rewritten_records = 0
        self.unconfirmed = False
        """True once an fsync failed: what was written may not all be on the disk."""
        self.problems: list[str] = []
        """What went wrong, each described once (at most _MAX_PROBLEMS)."""
        self._threads = [
            threading.Thread(target=self._work, name=f"log-writer-{index}", daemon=True)
            for index in range(max(1, thread_count))
        ]
        self._sync_thread = threading.Thread(target=self._sync_periodically, name="log-sync", daemon=True)
        for thread in [*self._threads, self._sync_thread]:
            thread.start()

    def submit(self, batches: dict[int, list[Record]], size: int) -> None:
        """Queues records for writing, grouped by source, each group in arrival order."""
        with self._lock:
            self.queued_bytes += size
            self.peak_queued_bytes = max(self.peak_queued_bytes, self.queued_bytes)
            for source_id, records in batches.items():
                source = self._files.get(source_id)
                if source is None:
                    source = self._files[source_id] = _SourceFile(source_id)
                source.pending.extend(records)
                if not source.busy:
                    source.busy = True
                    self._jobs.put(source)

    def close(self) -> None:
        """Writes everything queued, fsyncs and closes every file and the directory, and stops the threads.

        Never raises for disk trouble: what could not be written is counted in lost_records and described in
        problems.
        """
        for _ in self._threads:
            self._jobs.put(None)
        for thread in self._threads:
            thread.join()
        self._closing.set()
        self._sync_due.set()
        self._sync_thread.join()
        for source in self._files.values():  # a last attempt for records held after failed writes
            if not source.pending:
                continue
            records, source.pending = source.pending, []
            try:
                self._append(source, records)
            except Exception as error:
                self.note_problem(f"writing source {source.source_id} failed at stop ({_describe(error)})")
                with self._lock:
                    self.lost_records += len(records)
                    self.queued_bytes -= sum(len(payload) for _, payload in records)
        self._check_names(final=True)
        for source in self._files.values():
            if source.fd is None:
                continue
            try:
                os.fsync(source.fd)
            except OSError as error:
                self.unconfirmed = True
                self.note_problem(f"fsync of the file of source {source.source_id} failed ({_describe(error)})")
            finally:
                os.close(source.fd)
                source.fd = None
        if self._directory_dirty:
            with contextlib.suppress(OSError):
                self._sync_directory()
        self._publish()

    def _work(self) -> None:
        while (source := self._jobs.get()) is not None:
            try:
                self._serve(source)
            except Exception as error:  # a bug, not disk trouble (_serve handles that): keep the thread serving
                self.note_problem(f"a writer thread failed serving source {source.source_id} ({_describe(error)})")
                with self._lock:
                    source.busy = False

    def _serve(self, source: _SourceFile) -> None:
        while True:
            with self._lock:
                records = source.pending
                if not records:
                    source.busy = False
                    return
                source.pending = []
            try:
                written = self._append(source, records)
            except Exception as error:
                self._write_failed(source, records, error)
                return
            size = sum(len(payload) for _, payload in records)
            with self._lock:
                if not source.unsynced_bytes:
                    source.unsynced_since = time.monotonic()
                source.unsynced_bytes += written
                self.queued_bytes -= size
                self.written_records += len(records)
                self._publish()
                due = source.unsynced_bytes >= self._sync_bytes
            if due:  # start the fsync now, so the disk works while the next records arrive
                self._sync_due.set()

    def _append(self, source: _SourceFile, records: list[Record]) -> int:
        """Appends records to the source's file (opening one if needed); returns the bytes written.

        A failed write is undone: the file is truncated back to its last whole record before the error propagates.
        """
        if source.fd is None:
            source.fd = self._create_file(source.source_id)
            source.size = len(log_format.encode_file_header(source.source_id))
            source.records = 0
        # Large payloads arrive as memoryviews (read in place), which encode_records handles like bytes.
        buffers = log_format.encode_records(cast("list[tuple[int, bytes]]", records))
        try:
            write_all(source.fd, buffers)
        except BaseException:
            self._undo_partial_write(source)
            raise
        written = sum(len(buffer) for buffer in buffers)
        source.size += written
        source.records += len(records)
        return written

    def _undo_partial_write(self, source: _SourceFile) -> None:
        assert source.fd is not None
        try:
            os.ftruncate(source.fd, source.size)
        except OSError as error:
            # The torn tail stays (readers report it and read past it); new records go to a new segment.
            self.note_problem(
                f"a failed write to the file of source {source.source_id} left a torn tail ({_describe(error)})"
            )
            with contextlib.suppress(OSError):
                if os.fstat(source.fd).st_nlink == 0:
                    return  # keep the nameless file open: its records are rewritten at the next name check
            os.close(source.fd)
            source.fd = None

    def _write_failed(self, source: _SourceFile, records: list[Record], error: Exception) -> None:
        """Puts the records of a failed write back for a retry, giving up the oldest beyond HOLD_LIMIT."""
        self.note_problem(
            f"writing source {source.source_id} to {self._directory} failed ({_describe(error)}); retried"
        )
        with self._lock:
            source.pending[:0] = records
            dropped = 0
            while self.queued_bytes > HOLD_LIMIT and dropped < len(source.pending):
                self.queued_bytes -= len(source.pending[dropped][1])
                dropped += 1
            if dropped:
                del source.pending[:dropped]
                self.lost_records += dropped
                self._publish()
            source.retry_at = time.monotonic() + RETRY_INTERVAL  # busy stays set: the sync thread queues the retry

    def _sync_periodically(self) -> None:
        while True:
            self._sync_due.wait(_SYNC_CHECK_INTERVAL)
            self._sync_due.clear()
            if self._closing.is_set():
                return
            now = time.monotonic()
            with self._lock:
                for source in self._files.values():
                    if source.retry_at and now >= source.retry_at:
                        source.retry_at = 0.0
                        self._jobs.put(source)
                due = [
                    source
                    for source in self._files.values()
                    if source.unsynced_bytes
                    and (
                        source.unsynced_bytes >= self._sync_bytes or now - source.unsynced_since >= self._sync_interval
                    )
                ]
                for source in due:  # what is written from here on waits for the next fsync
                    source.unsynced_bytes = 0
            if now >= self._next_name_check:
                self._next_name_check = now + self._sync_interval
                self._check_names(final=False)
            try:
                if due and self._directory_dirty:
                    self._sync_directory()
            except OSError as error:
                self.note_problem(f"fsync of the log directory {self._directory} failed ({_describe(error)})")
            for source in due:
                fd = source.fd  # only this thread closes a nameless file's old descriptor, after replacing it
                if fd is None:
                    continue
                try:
                    os.fsync(fd)
                except OSError as error:
                    self.unconfirmed = True
                    self.note_problem(f"fsync of the file of source {source.source_id} failed ({_describe(error)})")

    def _check_names(self, *, final: bool) -> None:
        """Rewrites every open file whose name was removed into a new file of the (recreated) directory."""
        current = _identity(self._directory)
        if current is not None and current != self._identity:  # a removed directory is noted when recreated
            self.note_problem(f"the log directory {self._directory} was replaced during recording")
            self._identity = current
            self._lock_new_directory()
        with self._lock:
            sources = [source for source in self._files.values() if source.fd is not None]
        for source in sources:
            fd = source.fd
            if fd is None:
                continue
            try:
                if os.fstat(fd).st_nlink:
                    continue
            except OSError:
                continue
            if not final:
                with self._lock:
                    if source.busy:  # a writer holds it: the next check takes it
                        continue
                    source.busy = True
            try:
                self._rewrite(source)
            except Exception as error:
                if final:
                    self.note_problem(
                        f"the file of source {source.source_id} lost its name and could not be rewritten "
                        f"({_describe(error)}): its {source.records} records are lost"
                    )
                    with self._lock:
                        self.lost_records += source.records
                        self._publish()
                else:
                    self.note_problem(
                        f"the file of source {source.source_id} lost its name and could not be rewritten yet "
                        f"({_describe(error)}); retried"
                    )
            finally:
                if not final:
                    with self._lock:  # the claim ends: records that arrived meanwhile go to a writer
                        if source.pending:
                            self._jobs.put(source)
                        else:
                            source.busy = False

    def _rewrite(self, source: _SourceFile) -> None:
        """Copies a nameless file's content, read through its descriptor, to a new file; writing goes on there."""
        old = source.fd
        assert old is not None
        new, path = self._open_new_file(source.source_id)
        try:
            offset = 0
            while offset < source.size:
                chunk = os.pread(old, min(_COPY_CHUNK, source.size - offset), offset)
                if not chunk:
                    raise OSError(errno.EIO, f"the nameless file ended at byte {offset} of {source.size}")
                write_all(new, [chunk])
                offset += len(chunk)
            os.fsync(new)
        except BaseException:
            os.close(new)
            with contextlib.suppress(OSError):
                os.unlink(path)
            raise
        source.fd = new
        source.unsynced_bytes = 0
        os.close(old)
        with self._lock:
            self.rewritten_files += 1
            self.rewritten_records += source.records
        self.note_problem(
            f"the live log file of source {source.source_id} lost its name during recording (the log directory was "
            f"removed or replaced): its {source.records} records, read back from the open file, were rewritten to "
            f"{path.name}"
        )

    def _create_file(self, source_id: int) -> int:
        fd, path = self._open_new_file(source_id)
        try:
            write_all(fd, [log_format.encode_file_header(source_id)])
        except BaseException:
            os.close(fd)
            with contextlib.suppress(OSError):
                os.unlink(path)
            raise
        return fd

    def _open_new_file(self, source_id: int) -> tuple[int, Path]:
        """Creates the source's next segment file (recreating a removed directory first) and opens it."""
        if not self._directory.is_dir():
            self._recreate_directory()
        # The directory lock guarantees that no other logger creates files here, so the free segment stays free.
        segment = log_format.next_segment(self._directory, source_id)
        path = self._directory / log_format.log_file_name(source_id, segment)
        fd = os.open(path, _OPEN_FLAGS, 0o644)
        self._directory_dirty = True
        return fd, path

    def _recreate_directory(self) -> None:
        self._directory.parent.mkdir(parents=True, exist_ok=True)
        try:
            self._directory.mkdir()
        except FileExistsError:
            return  # another thread recreated it
        self._identity = _identity(self._directory)
        self.note_problem(f"the log directory {self._directory} was removed during recording; it was recreated")
        self._lock_new_directory()

    def _lock_new_directory(self) -> None:
        # The directory's lock file went with the removed folder: without a new one, an assembly would not see that a
        # logger still writes here, and a second logger could start in it.
        if self._on_new_directory is not None:
            problem = self._on_new_directory()
            if problem is not None:
                self.note_problem(f"the recreated log directory {self._directory} could not be locked again: {problem}")

    def note_problem(self, text: str) -> None:
        """Describes a problem once (the summary sent to the parent lists them)."""
        with self._lock:
            if text not in self.problems and len(self.problems) < _MAX_PROBLEMS:
                self.problems.append(text)

    def _publish(self) -> None:
        """Updates the shared progress counters (under self._lock or after the threads ended)."""
        if self._progress is not None:
            self._progress[1] = self.written_records

    def _sync_directory(self) -> None:
        """Makes the names of newly created files durable (POSIX; Windows has no directory fsync)."""
        self._directory_dirty = False
        fsync_directory(self._directory)


def _identity(directory: Path) -> tuple[int, int] | None:
    """Returns the directory's (device, inode), or None if it does not exist."""
    try:
        status = os.stat(directory)
    except OSError:
        return None
    return status.st_dev, status.st_ino


def _describe(error: BaseException) -> str:
    if isinstance(error, OSError) and error.errno is not None:
        name = errno.errorcode.get(error.errno, str(error.errno))
        return f"{name}: {error.strerror}"
    return f"{type(error).__name__}: {error}"
