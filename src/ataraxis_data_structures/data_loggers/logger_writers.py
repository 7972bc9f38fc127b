"""The writer threads of the logger process: append records to one live log file per source.

The receiving thread hands over records grouped by source; a source's records wait in its ``pending`` list until a
writer thread takes them all and appends them with one vectored write. A source is served by at most one writer at a
time (its ``busy`` flag), which keeps every file in arrival order while different sources are written in parallel.

Each write goes straight to the kernel (no user-space buffer), so a killed logger process loses nothing it wrote. A
separate sync thread fsyncs each file once it holds ``sync_bytes`` unsynced bytes or its oldest unsynced write is
``sync_interval`` seconds old, while the writers keep appending; close() fsyncs everything once more. That bounds
what a power loss can take, and spreads the disk's work over the run instead of leaving it all to stop().
"""

from __future__ import annotations

import os
import queue
import threading
import time
from pathlib import Path
from typing import cast

from .._durable_files import fsync_directory, write_all
from . import log_format

_OPEN_FLAGS = (
    os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_APPEND | getattr(os, "O_BINARY", 0) | getattr(os, "O_CLOEXEC", 0)
)
_SYNC_CHECK_INTERVAL = 0.05
"""How often the sync thread looks for files due for an fsync."""

Record = tuple[int, bytes | memoryview]
"""One message as the writers take it: (timestamp, payload)."""


class _SourceFile:
    """The live log file of one source and the records waiting for it."""

    __slots__ = ("busy", "fd", "pending", "source_id", "unsynced_bytes", "unsynced_since")

    def __init__(self, source_id: int) -> None:
        self.source_id = source_id
        self.fd: int | None = None  # opened by the first writer that serves the source
        self.pending: list[Record] = []
        self.busy = False
        self.unsynced_bytes = 0  # written since the last fsync began
        self.unsynced_since = 0.0  # when the oldest unsynced write happened


class WriterPool:
    """Appends records to the live log files of a directory with a pool of writer threads and a sync thread.

    Args:
        directory: The log directory; it must exist.
        thread_count: The number of writer threads.
        sync_interval: The longest time, in seconds, written data stays without fsync.
        sync_bytes: The most bytes a file takes before it is fsynced.
    """

    def __init__(self, directory: Path, thread_count: int, sync_interval: float, sync_bytes: int) -> None:
        self._directory = directory
        self._sync_interval = sync_interval
        self._sync_bytes = sync_bytes
        self._lock = threading.Lock()
        self._jobs: queue.SimpleQueue[_SourceFile | None] = queue.SimpleQueue()
        self._files: dict[int, _SourceFile] = {}
        self._directory_dirty = False  # a file was created since the directory was last fsynced
        self._closing = threading.Event()
        self._sync_due = threading.Event()  # set by a writer once a file holds sync_bytes unsynced bytes
        self.error: BaseException | None = None
        """The first error a writer or the sync thread met; the pool stops writing once it is set."""
        self.queued_bytes = 0
        """The payload bytes handed over and not yet written."""
        self.peak_queued_bytes = 0
        self.written_records = 0
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

        Raises:
            BaseException: The first error a thread met, if any (after closing whatever could be closed).
        """
        for _ in self._threads:
            self._jobs.put(None)
        for thread in self._threads:
            thread.join()
        self._closing.set()
        self._sync_due.set()
        self._sync_thread.join()
        for source in self._files.values():
            if source.fd is None:
                continue
            try:
                if self.error is None:
                    os.fsync(source.fd)
            except OSError as error:
                self.error = self.error or error
            finally:
                os.close(source.fd)
                source.fd = None
        if self.error is None and self._directory_dirty:
            try:
                self._sync_directory()
            except OSError as error:
                self.error = error
        if self.error is not None:
            raise self.error

    def _work(self) -> None:
        while (source := self._jobs.get()) is not None:
            try:
                self._serve(source)
            except BaseException as error:  # reported by the receiving thread, which ends the logger
                with self._lock:
                    self.error = self.error or error
                    source.busy = False

    def _serve(self, source: _SourceFile) -> None:
        while True:
            with self._lock:
                records = source.pending
                if not records or self.error is not None:
                    source.busy = False
                    return
                source.pending = []
            if source.fd is None:
                source.fd = self._create_file(source.source_id)
            # Large payloads arrive as memoryviews (read in place), which encode_records handles like bytes.
            buffers = log_format.encode_records(cast("list[tuple[int, bytes]]", records))
            write_all(source.fd, buffers)
            size = sum(len(payload) for _, payload in records)
            with self._lock:
                if not source.unsynced_bytes:
                    source.unsynced_since = time.monotonic()
                source.unsynced_bytes += sum(len(buffer) for buffer in buffers)
                self.queued_bytes -= size
                self.written_records += len(records)
                due = source.unsynced_bytes >= self._sync_bytes
            if due:  # start the fsync now, so the disk works while the next records arrive
                self._sync_due.set()

    def _sync_periodically(self) -> None:
        while True:
            self._sync_due.wait(_SYNC_CHECK_INTERVAL)
            self._sync_due.clear()
            if self._closing.is_set():
                return
            now = time.monotonic()
            with self._lock:
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
            try:
                if due and self._directory_dirty:
                    self._sync_directory()
                for source in due:
                    assert source.fd is not None  # files close only after this thread ends
                    os.fsync(source.fd)
            except BaseException as error:
                with self._lock:
                    self.error = self.error or error
                return

    def _create_file(self, source_id: int) -> int:
        # The directory lock guarantees that no other logger creates files here, so the free segment stays free.
        segment = log_format.next_segment(self._directory, source_id)
        path = self._directory / log_format.log_file_name(source_id, segment)
        fd = os.open(path, _OPEN_FLAGS, 0o644)
        try:
            write_all(fd, [log_format.encode_file_header(source_id)])
        except BaseException:
            os.close(fd)
            raise
        self._directory_dirty = True
        return fd

    def _sync_directory(self) -> None:
        """Makes the names of newly created files durable (POSIX; Windows has no directory fsync)."""
        self._directory_dirty = False
        fsync_directory(self._directory)
