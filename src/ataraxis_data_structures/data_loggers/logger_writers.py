"""The writer threads of the logger process: append records to one live log file per source.

The receiving thread hands over records grouped by source; a source's records wait in its ``pending`` list until a
writer thread takes them all and appends them with one vectored write. A source is served by at most one writer at a
time (its ``busy`` flag), which keeps every file in arrival order while different sources are written in parallel.
Each write goes straight to the kernel (no user-space buffer), so a killed logger process loses nothing it wrote; a
file is fsynced at most every ``sync_interval`` seconds while it receives data, and once more on close, which bounds
what a power loss can take.
"""

from __future__ import annotations

import os
import queue
import sys
import threading
import time
from pathlib import Path

from . import log_format
from .logger_io import write_all

_OPEN_FLAGS = os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_APPEND | getattr(os, "O_BINARY", 0) | os.O_CLOEXEC

Record = tuple[int, bytes]
"""One message as the writers take it: (timestamp, payload)."""


class _SourceFile:
    """The live log file of one source and the records waiting for it."""

    __slots__ = ("busy", "dirty", "fd", "pending", "source_id", "synced_at")

    def __init__(self, source_id: int) -> None:
        self.source_id = source_id
        self.fd: int | None = None  # opened by the first writer that serves the source
        self.pending: list[Record] = []
        self.busy = False
        self.dirty = False  # written since the last fsync
        self.synced_at = time.monotonic()


class WriterPool:
    """Appends records to the live log files of a directory with a pool of writer threads.

    Args:
        directory: The log directory; it must exist.
        thread_count: The number of writer threads.
        sync_interval: The longest time, in seconds, that written data stays without fsync while the file is active.
    """

    def __init__(self, directory: Path, thread_count: int, sync_interval: float) -> None:
        self._directory = directory
        self._sync_interval = sync_interval
        self._lock = threading.Lock()
        self._jobs: queue.SimpleQueue[_SourceFile | None] = queue.SimpleQueue()
        self._files: dict[int, _SourceFile] = {}
        self._directory_dirty = False  # a file was created since the directory was last fsynced
        self.error: BaseException | None = None
        """The first error a writer thread met; the pool stops writing once it is set."""
        self.queued_bytes = 0
        """The payload bytes handed over and not yet written."""
        self.peak_queued_bytes = 0
        self.written_records = 0
        self._threads = [
            threading.Thread(target=self._work, name=f"log-writer-{index}", daemon=True)
            for index in range(max(1, thread_count))
        ]
        for thread in self._threads:
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

    def sync_due_files(self) -> None:
        """Has the writers fsync the idle files whose written data has waited sync_interval or longer."""
        now = time.monotonic()
        with self._lock:
            for source in self._files.values():
                if source.dirty and not source.busy and now - source.synced_at >= self._sync_interval:
                    source.busy = True
                    self._jobs.put(source)

    def close(self) -> None:
        """Writes everything queued, fsyncs and closes every file and the directory, and stops the threads.

        Raises:
            BaseException: The first error a writer met, if any (after closing whatever could be closed).
        """
        for _ in self._threads:
            self._jobs.put(None)
        for thread in self._threads:
            thread.join()
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
            self._sync_directory()
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
                if self.error is not None or (not records and not self._sync_due(source)):
                    source.busy = False
                    return
                source.pending = []
            if records:
                self._append(source, records)
                size = sum(len(payload) for _, payload in records)
                with self._lock:
                    self.queued_bytes -= size
                    self.written_records += len(records)
            if self._sync_due(source):
                assert source.fd is not None
                os.fsync(source.fd)
                if self._directory_dirty:
                    self._sync_directory()
                source.dirty = False
                source.synced_at = time.monotonic()

    def _sync_due(self, source: _SourceFile) -> bool:
        return source.dirty and time.monotonic() - source.synced_at >= self._sync_interval

    def _append(self, source: _SourceFile, records: list[Record]) -> None:
        if source.fd is None:
            source.fd = self._create_file(source.source_id)
        write_all(source.fd, log_format.encode_records(records))
        source.dirty = True

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
        if sys.platform == "win32":
            return
        fd = os.open(self._directory, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)
