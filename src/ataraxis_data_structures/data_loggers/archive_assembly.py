"""Consolidates a log directory into one .npz archive per source: assemble_log_archives.

Sources are the live ``.axlog`` files DataLogger writes (see log_format) and, for recordings made with the reference
release, per-message ``{source:03d}_{timestamp:020d}.npy`` files. An archive that already exists is merged with new
sources, so running assembly again after an interruption (or after another logger session) finishes the job
without losing or repeating a message:

- the archive is written under a temporary name, fsynced, optionally verified, and only then moved into place;
- sources are removed only after that, so an interruption before the move leaves every source in place;
- the archive's manifest (its ZIP comment) records how many bytes of each ``.axlog`` file it holds, and a ``.npy``
  file whose member already holds the same bytes is recognised, so a rerun after an interruption during source
  removal archives nothing twice.
"""

from __future__ import annotations

import os
import re
import warnings
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from pathlib import Path
from typing import TypeVar

import numpy as np
from numpy.typing import NDArray
from tqdm import tqdm

from .._durable_files import fsync_directory
from ..file_locks import LockHeldError, is_locked, try_lock
from .archive_format import (
    SourceRecord,
    decode_manifest,
    encode_manifest,
    fingerprint,
    npy_array_bytes,
    repeat_counts,
)
from .archive_layout import MESSAGE_PREFIX, archive_name, member_stem, parse_archive_name
from .log_format import FILE_HEADER, RECORD_HEADER_SIZE, parse_log_file_name, scan_records
from .logger_lock import LOCK_FILE_NAME
from .zip_index import ArchiveIndex, open_mapped
from .zip_writer import ArchiveWriter, member_names

_NPY_SOURCE = re.compile(r"^(\d{3})_(\d{20})\.npy$")
_PARTIAL_SUFFIX = ".partial"
_MESSAGE_HEAD = np.dtype([("source", "u1"), ("timestamp", "<u8")])
_BATCH = 32768
_MAX_REPEAT = 1_000_000


_T = TypeVar("_T")
_R = TypeVar("_R")


class TornLogWarning(UserWarning):
    """Warns that a source file ends in bytes that are not whole records (or is unreadable) and was kept."""


@dataclass
class _SourceFiles:
    """The files in a log directory that belong to one source."""

    source_id: int
    archive: Path | None = None
    live_logs: list[tuple[int, Path]] = field(default_factory=list)
    npy_files: list[str] = field(default_factory=list)
    """Paths of reference-style .npy files (strings: there can be millions, and Path objects cost microseconds)."""


@dataclass
class _Chunk:
    """A buffer holding some of a source's messages, and where they lie in it."""

    origin: str
    buffer: NDArray[np.uint8]
    timestamps: NDArray[np.uint64]
    heads: NDArray[np.uint8]
    """The first 9 bytes of each message (source ID, timestamp) as rows."""
    offsets: NDArray[np.int64]
    """Where each message's payload starts in the buffer."""
    sizes: NDArray[np.int64]
    """The size of each message's payload."""


def _whole_messages(
    origin: str, buffer: NDArray[np.uint8], offsets: NDArray[np.int64], sizes: NDArray[np.int64]
) -> _Chunk:
    """Returns the chunk of messages stored whole (head and payload) at the given offsets of a buffer."""
    heads = buffer[offsets[:, None] + np.arange(MESSAGE_PREFIX.size)]
    timestamps = np.ascontiguousarray(heads[:, 1:]).view("<u8").ravel().astype(np.uint64)
    return _Chunk(origin, buffer, timestamps, heads, offsets + MESSAGE_PREFIX.size, sizes - MESSAGE_PREFIX.size)


def assemble_log_archives(
    log_directory: Path,
    max_workers: int | None = None,
    *,
    remove_sources: bool = True,
    memory_mapping: bool = True,
    verbose: bool = False,
    verify_integrity: bool = False,
) -> None:
    """Consolidates all log files in the target log directory into .npz archives, one for each unique source.

    Notes:
        Messages are ordered by acquisition timestamp, then by arrival; each archive is named after its source ID
        (``{source_id}_log.npz``). Live ``.axlog`` files and reference-style per-message ``.npy`` files are both
        consolidated; an existing archive is merged with new sources. A torn tail in a live log is reported with a
        TornLogWarning (file, offset, bytes): every whole record before it is archived and the file is kept.

    Args:
        log_directory: The path to the directory that stores the log files.
        max_workers: The number of threads that assemble sources in parallel. None uses the number of CPU cores - 2
            (at least 1).
        remove_sources: Determines whether to remove the consolidated source files once the archive is complete,
            flushed to disk and (if requested) verified.
        memory_mapping: Determines whether to memory-map the source files and archives or read them into RAM.
        verbose: Determines whether to show the assembly progress with tqdm progress bars.
        verify_integrity: Determines whether to compare every archived message against its source (and every
            member against its CRC-32) before the archive replaces the old one and sources are removed.

    Raises:
        FileNotFoundError: If the log directory does not exist.
        NotADirectoryError: If the log directory is not a directory.
        ValueError: If a live log file or an existing archive is malformed.
        RuntimeError: If integrity verification finds an archived message that differs from its source, another
            assembly of the directory is running, or a running DataLogger still writes to it.
    """
    directory = Path(log_directory)
    if not directory.exists():
        raise FileNotFoundError(f"Unable to assemble log archives: the log directory {directory} does not exist.")
    if not directory.is_dir():
        raise NotADirectoryError(f"Unable to assemble log archives: {directory} is not a directory.")
    if max_workers is None or max_workers < 1:
        max_workers = max(1, (os.cpu_count() or 1) - 2)
    options = _Options(directory, remove_sources, memory_mapping, verbose, verify_integrity)
    with _exclusive(directory):
        sources = [group for group in _discover(directory).values() if group.live_logs or group.npy_files]
        if max_workers == 1 or len(sources) <= 1:
            for position, group in enumerate(sources):
                _assemble_source(group, options, position)
        else:
            with ThreadPoolExecutor(max_workers=min(max_workers, len(sources))) as pool:
                futures = [
                    pool.submit(_assemble_source, group, options, position) for position, group in enumerate(sources)
                ]
                errors = [error for future in futures if (error := future.exception()) is not None]
            if errors:
                raise errors[0]
        if remove_sources:
            _remove_idle_logger_lock(directory)


def _remove_idle_logger_lock(directory: Path) -> None:
    """Removes the lock file a stopped DataLogger left in the directory, so only the archives remain.

    The file is removed while this process holds its lock, so a logger that starts meanwhile either fails to lock
    it (and reports the directory busy) or creates a fresh one.
    """
    lock_path = directory / LOCK_FILE_NAME
    if not lock_path.exists():
        return
    try:
        with try_lock(lock_path):
            lock_path.unlink(missing_ok=True)
    except LockHeldError:  # a logger started meanwhile: the file is in use again
        pass


@contextmanager
def _exclusive(directory: Path) -> Iterator[None]:
    """Holds an exclusive lock on the log directory itself, so two assemblies never share partial archives.

    Locking the directory (not a lock file in it) leaves the directory's contents, and so its checksum, unchanged.
    """
    try:
        held = try_lock(directory, directory=True)
    except LockHeldError:
        raise RuntimeError(
            f"Unable to assemble log archives in {directory}: another assembly of this directory is running."
        ) from None
    with held:
        if is_locked(directory / LOCK_FILE_NAME):
            raise RuntimeError(
                f"Unable to assemble log archives in {directory}: a DataLogger is still writing to it "
                f"(it holds {LOCK_FILE_NAME}); stop the logger first."
            )
        yield


@dataclass(frozen=True)
class _Options:
    directory: Path
    remove_sources: bool
    memory_mapping: bool
    verbose: bool
    verify_integrity: bool


def _discover(directory: Path) -> dict[int, _SourceFiles]:
    """Groups the directory's source files and archives by source ID and removes leftovers of interrupted runs."""
    groups: dict[int, _SourceFiles] = {}

    def group(source_id: int) -> _SourceFiles:
        return groups.setdefault(source_id, _SourceFiles(source_id))

    with os.scandir(directory) as entries:
        for entry in entries:
            name = entry.name
            if name.endswith(".npy"):
                match = _NPY_SOURCE.match(name)
                if match is not None:
                    group(int(match.group(1))).npy_files.append(entry.path)
            elif (parsed := parse_log_file_name(name)) is not None:
                group(parsed[0]).live_logs.append((parsed[1], Path(entry.path)))
            elif (source_id := parse_archive_name(name)) is not None:
                group(source_id).archive = Path(entry.path)
            elif name.startswith(".") and name.endswith(_PARTIAL_SUFFIX) and parse_archive_name(name[1:-8]) is not None:
                Path(entry.path).unlink(missing_ok=True)  # an archive an interrupted run never finished
    for files in groups.values():
        files.live_logs.sort()
        files.npy_files.sort()  # one directory: sorting the paths sorts the names (timestamp order)
    return groups


def _read(path: Path, memory_mapping: bool) -> NDArray[np.uint8]:
    if memory_mapping:
        return open_mapped(path)[0]
    return np.fromfile(path, dtype=np.uint8)


@dataclass(frozen=True)
class _Plan:
    """Where each archived message (in archive order) comes from: its chunk, its byte range and its built head."""

    chunk_ids: NDArray[np.int64]
    offsets: NDArray[np.int64]
    ends: NDArray[np.int64]
    heads: NDArray[np.uint8]


class _SourceAssembly:
    """Collects one source's messages from its archive and source files, then writes, verifies and cleans up."""

    def __init__(self, files: _SourceFiles, options: _Options) -> None:
        self.files = files
        self.options = options
        self.chunks: list[_Chunk] = []
        self.records: list[SourceRecord] = []
        self.removable: list[Path | str] = []
        self.existing: ArchiveIndex | None = None
        self.manifest: dict[str, SourceRecord] = {}
        self.new_messages = 0

    def collect(self) -> None:
        if self.files.archive is not None:
            self.existing = ArchiveIndex(self.files.archive, memory_mapping=self.options.memory_mapping)
            self.manifest = decode_manifest(self.existing.comment)
            index = self.existing
            self.chunks.append(
                _whole_messages(str(index.path), index.buffer, index.message_offsets, index.message_sizes)
            )
        if self.files.npy_files:
            self._collect_npy_files()
        for _, path in self.files.live_logs:
            self._collect_live_log(path)

    def _collect_live_log(self, path: Path) -> None:
        data = _read(path, self.options.memory_mapping)
        view = memoryview(data)  # type: ignore[arg-type]
        if len(data) < FILE_HEADER.size:  # created by a logger that died before its header reached the disk
            warnings.warn(
                f"{path}: torn file header: {len(data)} bytes, no records; skipped and kept for inspection",
                TornLogWarning,
                stacklevel=4,
            )
            return
        index = scan_records(view, path)
        if index.source_id != self.files.source_id:
            raise ValueError(
                f"{path}: the file header names source {index.source_id}, but the file name names source "
                f"{self.files.source_id}"
            )
        consumed = index.defect.offset if index.defect is not None else len(data)
        if index.defect is not None:
            defect = index.defect
            warnings.warn(
                f"{path}: torn tail at byte offset {defect.offset}: {defect.size} bytes ({defect.reason}) are not "
                f"archived; the {len(index)} whole records before them are, and the file is kept for inspection",
                TornLogWarning,
                stacklevel=4,
            )
        for region in index.damaged:
            warnings.warn(
                f"{path}: damaged region at byte offset {region.offset}: {region.size} bytes ({region.reason}) are "
                f"not archived; the records before and after it are, and the file is kept for inspection",
                TornLogWarning,
                stacklevel=4,
            )
        if index.defect is None and not index.damaged and self.options.remove_sources:
            self.removable.append(path)
        previous = self.manifest.get(path.name)
        start = FILE_HEADER.size
        if (
            previous is not None
            and previous.consumed <= len(data)
            and fingerprint(view, previous.consumed) == previous.fingerprint
        ):
            start = previous.consumed  # records before this offset are already in the archive
        keep = index.payload_offsets - RECORD_HEADER_SIZE >= start
        self.records.append(SourceRecord(path.name, consumed, fingerprint(view, consumed)))
        if not np.any(keep):
            return
        self.new_messages += int(np.count_nonzero(keep))
        timestamps = index.timestamps[keep]
        heads = np.zeros(len(timestamps), dtype=_MESSAGE_HEAD)
        heads["source"] = self.files.source_id
        heads["timestamp"] = timestamps
        self.chunks.append(
            _Chunk(
                str(path),
                data,
                timestamps,
                heads.view(np.uint8).reshape(-1, MESSAGE_PREFIX.size),
                index.payload_offsets[keep],
                index.payload_sizes[keep],
            )
        )

    def _collect_npy_files(self) -> None:
        """Reads reference-style per-message .npy files into one buffer, skipping those the archive already holds."""
        existing_positions: dict[str, int] = {}
        if self.existing is not None:
            existing_positions = {stem: position for position, stem in enumerate(self.existing.stems)}
        messages: list[bytes] = []
        for path, raw in zip(self.files.npy_files, _read_files(self.files.npy_files), strict=True):
            if isinstance(raw, OSError):
                warnings.warn(f"{path}: unreadable ({raw}); skipped and kept", TornLogWarning, stacklevel=5)
                continue
            message = npy_array_bytes(raw)
            if message is None or len(message) < MESSAGE_PREFIX.size or message[0] != self.files.source_id:
                warnings.warn(
                    f"{path}: not a whole 1-D uint8 .npy log message of source {self.files.source_id} "
                    f"({len(raw)} bytes); skipped and kept for inspection",
                    TornLogWarning,
                    stacklevel=5,
                )
                continue
            if self.options.remove_sources:
                self.removable.append(path)
            position = existing_positions.get(os.path.basename(path)[:-4])
            if (
                position is not None
                and self.existing is not None
                and self.existing.message(position).tobytes() == message
            ):
                continue  # consolidated by an earlier run interrupted before it removed this file
            messages.append(message)
        if not messages:
            return
        sizes = np.fromiter((len(message) for message in messages), dtype=np.int64, count=len(messages))
        offsets = np.zeros(len(messages), dtype=np.int64)
        offsets[1:] = np.cumsum(sizes)[:-1]
        buffer = np.frombuffer(b"".join(messages), dtype=np.uint8)
        self.new_messages += len(messages)
        self.chunks.append(_whole_messages(os.path.dirname(self.files.npy_files[0]), buffer, offsets, sizes))

    def write(self, position: int) -> Path:
        """Writes every collected message, ordered by timestamp then arrival, into a temporary archive."""
        source_id = self.files.source_id
        directory = self.options.directory
        temporary = directory / f".{archive_name(source_id)}{_PARTIAL_SUFFIX}"
        timestamps = np.concatenate([chunk.timestamps for chunk in self.chunks])
        order = np.argsort(timestamps, kind="stable")
        ordered_timestamps = timestamps[order]
        self._warn_about_onsets(ordered_timestamps)
        chunk_ids = np.concatenate(
            [np.full(len(chunk.timestamps), number, dtype=np.int64) for number, chunk in enumerate(self.chunks)]
        )[order]
        offsets = np.concatenate([chunk.offsets for chunk in self.chunks])[order]
        ends = offsets + np.concatenate([chunk.sizes for chunk in self.chunks])[order]
        heads = np.concatenate([chunk.heads for chunk in self.chunks])[order]
        repeats = repeat_counts(ordered_timestamps)
        views = [memoryview(chunk.buffer) for chunk in self.chunks]  # type: ignore[arg-type]
        writer = ArchiveWriter(temporary)
        progress = tqdm(
            total=len(order),
            desc=f"Assembling source {source_id}",
            unit="msg",
            disable=not self.options.verbose,
            position=position,
            leave=True,
        )
        try:
            for first in range(0, len(order), _BATCH):
                last = min(first + _BATCH, len(order))
                bodies = [
                    views[chunk][start:end]
                    for chunk, start, end in zip(
                        chunk_ids[first:last].tolist(), offsets[first:last].tolist(), ends[first:last].tolist(),
                        strict=True,
                    )
                ]  # fmt: skip
                batch_repeats = repeats[first:last]
                if int(batch_repeats.max()) < _MAX_REPEAT:
                    names, name_lengths = member_names(source_id, ordered_timestamps[first:last], batch_repeats)
                    writer.add_batch(names, name_lengths, heads[first:last], bodies)
                else:  # a million messages at one timestamp: names outgrow the fixed-width layout
                    for row, body in enumerate(bodies):
                        number = first + row
                        stem = member_stem(source_id, int(ordered_timestamps[number]), int(repeats[number]))
                        writer.add(stem, heads[number].tobytes(), body)
                progress.update(last - first)
            writer.close(encode_manifest(self.records))
        except BaseException:
            writer.abort()
            raise
        finally:
            progress.close()
        if self.options.verify_integrity:
            self._verify(temporary, _Plan(chunk_ids, offsets, ends, heads))
        return temporary

    def _warn_about_onsets(self, ordered_timestamps: NDArray[np.uint64]) -> None:
        onsets = int(np.count_nonzero(ordered_timestamps == 0))
        if onsets == 0:
            warnings.warn(
                f"source {self.files.source_id} in {self.options.directory} has no onset message (timestamp 0): its "
                "archive cannot be read without passing onset_us to LogArchiveReader",
                TornLogWarning,
                stacklevel=5,
            )
        elif onsets > 1:
            warnings.warn(
                f"source {self.files.source_id} in {self.options.directory} has {onsets} messages with timestamp 0 "
                "(several logger sessions?): readers take the first as the onset",
                TornLogWarning,
                stacklevel=5,
            )

    def _verify(self, temporary: Path, plan: _Plan) -> None:
        """Re-reads the written archive and compares every member's CRC and message bytes against the sources."""
        try:
            try:
                written = ArchiveIndex(temporary, memory_mapping=True)
            except ValueError as error:
                raise RuntimeError(f"integrity verification failed: {error}") from None
            if len(written) != len(plan.chunk_ids):
                raise RuntimeError(f"{temporary}: holds {len(written)} messages, expected {len(plan.chunk_ids)}")
            failed = written.check_crcs()
            if failed is not None:
                raise RuntimeError(f"{temporary}: member {written.member_name(failed)!r} fails its CRC-32 check")
            views = [memoryview(chunk.buffer) for chunk in self.chunks]  # type: ignore[arg-type]
            archived = memoryview(written.buffer)  # type: ignore[arg-type]
            heads = memoryview(np.ascontiguousarray(plan.heads).tobytes())
            width = MESSAGE_PREFIX.size
            for number, (chunk, start, end, at, size) in enumerate(
                zip(
                    plan.chunk_ids.tolist(),
                    plan.offsets.tolist(),
                    plan.ends.tolist(),
                    written.message_offsets.tolist(),
                    written.message_sizes.tolist(),
                    strict=True,
                )
            ):
                head = heads[number * width : (number + 1) * width]
                body = at + width
                if (
                    size != width + end - start
                    or archived[at:body] != head
                    or archived[body : at + size] != views[chunk][start:end]
                ):
                    raise RuntimeError(
                        f"{temporary}: archived message {written.member_name(number)!r} differs from its source "
                        f"({self.chunks[chunk].origin}, bytes {start}..{end})"
                    )
        except BaseException:
            temporary.unlink(missing_ok=True)
            raise

    def commit(self, temporary: Path) -> None:
        """Moves the finished archive into place, then removes the consolidated sources."""
        directory = self.options.directory
        os.replace(temporary, directory / archive_name(self.files.source_id))
        fsync_directory(directory)

    def remove_sources(self) -> None:
        # Not fsynced: a removal that a power loss undoes only leaves sources the next run recognises as archived.
        _in_threads(_unlink_all, self.removable)


def _assemble_source(files: _SourceFiles, options: _Options, position: int) -> None:
    assembly = _SourceAssembly(files, options)
    assembly.collect()
    if assembly.new_messages:
        assembly.commit(assembly.write(position))
    assembly.chunks.clear()
    assembly.existing = None
    if options.remove_sources:
        assembly.remove_sources()


_IO_THREADS = 4  # file opens, reads and unlinks wait on the filesystem, not the CPU: threads overlap the waits
_IO_CHUNK = 256


def _in_threads(job: Callable[[list[_T]], list[_R]], items: list[_T]) -> list[_R]:
    """Runs job over consecutive chunks of items in I/O threads and returns the results in order."""
    if len(items) <= _IO_CHUNK:
        return job(items)
    chunks = [items[start : start + _IO_CHUNK] for start in range(0, len(items), _IO_CHUNK)]
    with ThreadPoolExecutor(max_workers=_IO_THREADS) as pool:
        return [result for chunk_results in pool.map(job, chunks) for result in chunk_results]


def _read_all(paths: list[str]) -> list[bytes | OSError]:
    results: list[bytes | OSError] = []
    for path in paths:
        try:
            with open(path, "rb", buffering=0) as file:
                results.append(file.readall())
        except OSError as error:
            results.append(error)
    return results


def _read_files(paths: list[str]) -> list[bytes | OSError]:
    """Returns the contents of each file (or the error reading it), reading in I/O threads."""
    return _in_threads(_read_all, paths)


def _unlink_all(paths: list[Path | str]) -> list[None]:
    for path in paths:
        with suppress(FileNotFoundError):
            os.unlink(path)
    return [None] * len(paths)
