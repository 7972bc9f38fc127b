"""Consolidates a log directory into one .npz archive per source: assemble_log_archives.

Sources are the live ``.axlog.npy`` files DataLogger writes (and the ``.axlog`` files of earlier versions; see
log_format) and, for recordings made with the reference release, per-message ``{source:03d}_{timestamp:020d}.npy``
files. An archive that already exists is merged with new
sources, so running assembly again after an interruption (or after another logger session) finishes the job
without losing or repeating a message:

- the archive is written under a temporary name, fsynced, optionally verified, and only then moved into place;
- sources are removed only after that, so an interruption before the move leaves every source in place;
- the archive's manifest (its ZIP comment) records how many bytes of each live log file it holds, and a ``.npy``
  file whose member already holds the same bytes is recognised, so a rerun after an interruption during source
  removal archives nothing twice;
- an existing archive's members are checked against their CRC-32s before a merge, so a member damaged on disk is
  refused instead of being rewritten under a fresh, valid CRC.

Sessions: every onset message (timestamp 0, an 8-byte payload holding the UTC epoch in microseconds) starts a
session of its source, and the records after it in arrival order (across segments, in segment order) are timed from
it. An archive holds one onset member, the earliest session's; later sessions' elapsed times are rebased onto it, so
every reader (both original releases included) gets exact absolute times, and the archive comment lists the session
boundaries (see read_archive_sessions).

Descriptions: the source descriptions a DataLogger stored in the folder (source_description) are carried into each
source's archive comment, merged with those the archive already carries (the latest wins, earlier ones are kept);
once every described source's archive carries its descriptions, assembly with remove_sources removes the file.

Memory: a source whose records arrive in archive order is written (and verified) in one streaming pass, a window of
records at a time, with the mapped pages behind it dropped; any other source is assembled in memory.
"""

from __future__ import annotations

import mmap
import os
import re
import warnings
import zlib
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import NamedTuple, TypeVar

import numpy as np
from numpy.typing import NDArray

from .._durable_files import fsync_directory
from .._progress import ProgressBar
from ..errors import ArchiveFormatError, ArchiveVerificationError, DirectoryBusyError
from ..file_locks import LockHeldError, is_locked, try_lock
from ..processing._safety import refuse_unsafe_path
from .archive_format import (
    SourceRecord,
    decode_manifest,
    encode_manifest,
    fingerprint,
    npy_array_bytes,
    repeat_counts,
)
from .archive_layout import (
    MEMBER_SUFFIX,
    MESSAGE_PREFIX,
    ONSET_MESSAGE_SIZE,
    ONSET_PAYLOAD,
    ONSET_TIMESTAMP,
    U16_MAX,
    archive_name,
    member_stem,
    npy_header,
    parse_archive_name,
)
from .log_format import (
    DAMAGED_HEADER,
    FILE_HEADER,
    RECORD_HEADER_SIZE,
    RecordIndex,
    iter_record_windows,
    parse_log_file_name,
)
from .logger_lock import LOCK_FILE_NAME
from .source_description import (
    SOURCES_FILE_NAME,
    DescribedSource,
    decode_archive_lines,
    encode_archive_lines,
    merge_history,
    read_sources_file,
)
from .zip_index import ArchiveIndex, open_mapped
from .zip_writer import ArchiveWriter, member_names

_NPY_SOURCE = re.compile(r"^(\d{3})_(\d{20})" + re.escape(MEMBER_SUFFIX) + "$")
_PARTIAL_SUFFIX = ".partial"
_MESSAGE_HEAD = MESSAGE_PREFIX.dtype
_BATCH = 32768
_MAX_REPEAT = 1_000_000
_ONSET_PAYLOAD_SIZE = ONSET_PAYLOAD.size  # the UTC epoch in microseconds as a uint64
_SESSION_LINE = "@session"
_MAX_NOTES = 20  # problems listed in one source's warning; the rest are counted


_T = TypeVar("_T")
_R = TypeVar("_R")


class TornLogWarning(UserWarning):
    """Warns that a source file ends in bytes that are not whole records (or is unreadable) and was kept."""


class LoggerRunningWarning(UserWarning):
    """Warns that a DataLogger was still writing to the directory being assembled.

    Every record written so far is archived; the files the logger may still append to are kept, and a later
    assembly (after stop()) adds the rest to the same archives, each message exactly once.
    """


class LogSession(NamedTuple):
    """One recording session held in a log archive (see read_archive_sessions)."""

    onset_us: int
    """The session's onset: UTC epoch microseconds, the payload of the onset message its producer logged."""
    elapsed_offset_us: int
    """Where the session starts on the archive's elapsed timeline: onset_us minus the archive's onset."""


class _LiveLog(NamedTuple):
    segment: int
    path: Path


@dataclass
class _SourceFiles:
    """The files in a log directory that belong to one source."""

    source_id: int
    archive: Path | None = None
    live_logs: list[_LiveLog] = field(default_factory=list)
    open_log: Path | None = None
    """The live log a running logger may still append to (see _mark_open_logs): read up to its last whole record,
    its tail not reported as torn, and never removed."""
    npy_files: list[str] = field(default_factory=list)
    """Paths of reference-style .npy files (strings: there can be millions, and Path objects cost microseconds)."""
    described: list[DescribedSource] = field(default_factory=list)
    """The source's descriptions in the folder's description file, oldest first."""


@dataclass
class _Chunk:
    """A buffer holding some of a source's messages, and where they lie in it."""

    origin: str
    buffer: NDArray[np.uint8]
    timestamps: NDArray[np.uint64]
    """The elapsed timestamp of each message as it will be archived (rebased onto the archive's onset)."""
    heads: NDArray[np.uint8]
    """The MESSAGE_PREFIX of each message (source ID, timestamp) as rows."""
    offsets: NDArray[np.int64]
    """Where each message's payload starts in the buffer."""
    sizes: NDArray[np.int64]
    """The size of each message's payload."""
    onsets: NDArray[np.uint64] | None = None
    """The onset (UTC epoch µs) each message is timed from, 0 for the session the chunk starts in (see _Sessions)."""

    def rebase(self, shift: NDArray[np.uint64]) -> None:
        """Adds each message's shift to its timestamp and rewrites its head to match."""
        if not np.any(shift):
            return
        self.timestamps = self.timestamps + shift
        heads = np.array(self.heads)  # may be a view of a read-only buffer
        heads[:, 1:] = self.timestamps.astype("<u8").view(np.uint8).reshape(-1, 8)
        self.heads = heads


def _whole_messages(
    origin: str, buffer: NDArray[np.uint8], offsets: NDArray[np.int64], sizes: NDArray[np.int64]
) -> _Chunk:
    """Returns the chunk of messages stored whole (head and payload) at the given offsets of a buffer."""
    heads = buffer[offsets[:, None] + np.arange(MESSAGE_PREFIX.size)]
    timestamps = np.ascontiguousarray(heads[:, 1:]).view("<u8").ravel().astype(np.uint64)
    return _Chunk(origin, buffer, timestamps, heads, offsets + MESSAGE_PREFIX.size, sizes - MESSAGE_PREFIX.size)


def _onset_values(buffer: NDArray[np.uint8], offsets: NDArray[np.int64]) -> NDArray[np.uint64]:
    """Returns the uint64 onset values stored in the 8-byte payloads that start at the given offsets."""
    if len(offsets) == 0:
        return np.zeros(0, dtype=np.uint64)
    rows = buffer[offsets[:, None] + np.arange(_ONSET_PAYLOAD_SIZE)]
    return np.ascontiguousarray(rows).view("<u8").ravel().astype(np.uint64)


def encode_sessions(sessions: list[LogSession]) -> bytes:
    """Returns the archive comment lines that list an archive's sessions (none for a single session).

    Each line is ``@session {number} {onset_us} {elapsed_offset_us}``; manifest readers skip lines of four fields.
    """
    if len(sessions) < 2:
        return b""
    return b"".join(
        f"{_SESSION_LINE} {number} {session.onset_us} {session.elapsed_offset_us}\n".encode("ascii")
        for number, session in enumerate(sessions)
    )


def decode_sessions(comment: bytes) -> list[LogSession]:
    """Returns the sessions listed in an archive comment, in onset order (empty when none are listed)."""
    sessions: list[LogSession] = []
    for line in comment.decode("ascii", "replace").splitlines():
        parts = line.split()
        if len(parts) == 4 and parts[0] == _SESSION_LINE and parts[2].isdigit() and parts[3].isdigit():
            sessions.append(LogSession(int(parts[2]), int(parts[3])))
    return sorted(sessions)


def read_archive_sessions(archive_path: Path) -> list[LogSession]:
    """Returns the recording sessions a log archive holds, in time order.

    Notes:
        An archive assembled from several logger sessions of one source (a recording restarted in the same log
        directory) stores one onset member, the earliest session's; the elapsed times of later sessions are rebased
        onto it, so absolute times (onset + elapsed) are exact for every reader. A message belongs to the last
        session whose elapsed_offset_us is not after the message's elapsed timestamp. Archives of one session
        (including every archive the original releases wrote) return that one session.

    Args:
        archive_path: The .npz log archive.

    Returns:
        The sessions, earliest first; empty if the archive has no onset message.

    Raises:
        FileNotFoundError: If the archive does not exist.
        ValueError: If the file is not a readable log archive.
    """
    index = ArchiveIndex(Path(archive_path))
    listed = decode_sessions(index.comment)
    if listed:
        return listed
    onset = _archive_onset(index)
    return [] if onset is None else [LogSession(onset.onset_us, 0)]


class _OnsetMember(NamedTuple):
    position: int
    """The member's position in the archive."""
    onset_us: int
    """The onset it holds: UTC epoch microseconds."""


def _archive_onset(index: ArchiveIndex) -> _OnsetMember | None:
    """Returns an archive's onset member (its first with timestamp 0, as the readers take it), or None."""
    zeros = np.flatnonzero(index.timestamps == ONSET_TIMESTAMP)
    if len(zeros) == 0:
        return None
    position = int(zeros[0])
    if int(index.message_sizes[position]) != ONSET_MESSAGE_SIZE:
        return None
    value = _onset_values(index.buffer, index.message_offsets[position : position + 1] + MESSAGE_PREFIX.size)
    return _OnsetMember(position, int(value[0]))


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
        (``{source_id}_log.npz``). Live log files (``.axlog.npy``, and ``.axlog`` from earlier versions) and
        reference-style per-message ``.npy`` files are both consolidated; an existing archive is merged with new
        sources after its members pass their CRC-32 checks. Several recording sessions of one source (a logger
        restarted in the same directory) share the archive: later sessions are rebased onto the earliest onset, so
        absolute times stay exact (see read_archive_sessions). Damage in a source (a torn tail, a damaged region or
        header, an unreadable file) is reported with one TornLogWarning per source, pointing at the caller's line:
        every whole record is archived and the damaged file is kept.

        A DataLogger still writing to the directory does not stop the assembly (as with both releases): every record
        written so far is archived, with a LoggerRunningWarning; only the files the logger has finished with are
        removed. Assembling again after the logger stops adds the rest to the same archives (the manifest records how
        far each live file was read), so each message is archived exactly once.

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
        UnsafePathError: If remove_sources is True and log_directory is an empty or relative path naming the working
            directory (an unset variable, not a choice), or the filesystem root or home directory.
        FileNotFoundError: If the log directory does not exist.
        NotADirectoryError: If the log directory is not a directory.
        LogFormatError: If a live log file's intact header names another source than its file name, or states an
            unsupported format version.
        ArchiveFormatError: If an existing archive is malformed or one of its members fails its CRC-32 check.
        OSError: If the archive cannot be written (a full disk, for example); the message names the file.
        ArchiveVerificationError: If integrity verification finds an archived message that differs from its source
            (a RuntimeError).
        DirectoryBusyError: If another assembly of the directory is running (a RuntimeError).
    """
    if remove_sources:
        refuse_unsafe_path(log_directory, "log_directory", "remove the assembled source files in")
    directory = Path(log_directory)
    if not directory.exists():
        raise FileNotFoundError(f"Unable to assemble log archives: the log directory {directory} does not exist.")
    if not directory.is_dir():
        raise NotADirectoryError(f"Unable to assemble log archives: {directory} is not a directory.")
    if max_workers is None or max_workers < 1:
        max_workers = max(1, (os.cpu_count() or 1) - 2)
    options = _Options(directory, remove_sources, memory_mapping, verbose, verify_integrity)
    with _exclusive(directory) as logger_running:
        groups = _discover(directory)
        described = read_sources_file(directory)
        for source_id, history in described.items():
            if source_id in groups:
                groups[source_id].described = history
        if logger_running:
            _mark_open_logs(groups)
            warnings.warn(
                f"assembling {directory} while a DataLogger is still writing to it (it holds {LOCK_FILE_NAME}): "
                "every record written so far is archived; the live log files it may still append to are kept, and "
                "assembling again after the logger stops adds the rest to the same archives",
                LoggerRunningWarning,
                stacklevel=2,
            )
        assemblies = [
            _SourceAssembly(group, options)
            for group in groups.values()
            if group.live_logs or group.npy_files or (group.described and group.archive is not None)
        ]
        try:
            errors = _run_all(assemblies, max_workers)
        finally:
            # Raised here, in the caller's thread, so the warning points at the caller's line (stacklevel 2), not
            # into a worker thread or concurrent.futures.
            for assembly in assemblies:
                if assembly.notes:
                    warnings.warn(assembly.report(), TornLogWarning, stacklevel=2)
        if errors:
            raise errors[0]
        if remove_sources and not logger_running:
            _remove_idle_logger_lock(directory)
            _remove_carried_descriptions(directory, described)


def _remove_carried_descriptions(directory: Path, described: dict[int, list[DescribedSource]]) -> None:
    """Removes the folder's description file once every source it describes has an archive that carries it all.

    A source described but not yet archived (it logged nothing yet), or an unreadable file, keeps the file.
    """
    if not described:
        return
    for source_id, history in described.items():
        archive = directory / archive_name(source_id)
        if not archive.is_file():
            return
        try:
            carried = decode_archive_lines(ArchiveIndex(archive, lazy=True).comment, archive)
        except (OSError, ValueError):  # an archive damaged meanwhile: keep the file, the assembly itself succeeded
            return
        if merge_history(carried, history) != carried:
            return
    (directory / SOURCES_FILE_NAME).unlink(missing_ok=True)


def _run_all(assemblies: list[_SourceAssembly], max_workers: int) -> list[Exception]:
    """Assembles every source (in threads when allowed) and returns the errors; one source's error stops no other."""
    if max_workers == 1 or len(assemblies) <= 1:
        errors: list[Exception] = []
        for position, assembly in enumerate(assemblies):
            try:
                assembly.run(position)
            except Exception as error:  # reraised by the caller once every source had its turn
                errors.append(error)
        return errors
    with ThreadPoolExecutor(max_workers=min(max_workers, len(assemblies))) as pool:
        futures = [pool.submit(assembly.run, position) for position, assembly in enumerate(assemblies)]
        return [failure for future in futures if isinstance(failure := future.exception(), Exception)]


def _remove_idle_logger_lock(directory: Path) -> None:
    """Removes the lock file a killed DataLogger left in the directory (a stopped one removes its own).

    The file is taken and removed by the protocol every taker of the directory lock follows (file_locks.try_lock's
    ``removable``), so a logger that starts meanwhile either fails to lock it (and reports the directory busy) or
    locks a fresh file.
    """
    lock_path = directory / LOCK_FILE_NAME
    if not lock_path.exists():
        return
    with suppress(LockHeldError):  # a logger started meanwhile: the file is in use again
        try_lock(lock_path, removable=True).release_and_remove()


def _mark_open_logs(groups: dict[int, _SourceFiles]) -> None:
    """Marks, in each source, the live log a running logger may still append to.

    A logger appends to one segment per source, the highest-numbered (it opens the next free number), and never
    reopens an earlier one; a segment it creates after the directory was listed is not in the listing at all. So
    every segment but the highest is finished; the highest may be too (a source not yet heard from in this logger
    session), and is kept anyway until an assembly finds no logger running.
    """
    for files in groups.values():
        if files.live_logs:
            files.open_log = max(files.live_logs).path


@contextmanager
def _exclusive(directory: Path) -> Iterator[bool]:
    """Holds an exclusive lock on the log directory itself, so two assemblies never share partial archives.

    Locking the directory (not a lock file in it) leaves the directory's contents, and so its checksum, unchanged.
    Yields whether a DataLogger was writing to the directory when the lock was taken.
    """
    try:
        held = try_lock(directory, directory=True)
    except LockHeldError:
        raise DirectoryBusyError(
            f"Unable to assemble log archives in {directory}: another assembly of this directory is running."
        ) from None
    with held:
        yield is_locked(directory / LOCK_FILE_NAME)


@dataclass(frozen=True)
class _Options:
    directory: Path
    remove_sources: bool
    memory_mapping: bool
    verbose: bool
    verify_integrity: bool


def _partial_name(source_id: int) -> str:
    return f".{archive_name(source_id)}{_PARTIAL_SUFFIX}"


def _discover(directory: Path) -> dict[int, _SourceFiles]:
    """Groups the directory's source files and archives by source ID and removes leftovers of interrupted runs."""
    groups: dict[int, _SourceFiles] = {}

    def group(source_id: int) -> _SourceFiles:
        return groups.setdefault(source_id, _SourceFiles(source_id))

    with os.scandir(directory) as entries:
        for entry in entries:
            name = entry.name
            # Live log files end in .npy too (see log_format): they are told apart by name before messages are.
            if (parsed := parse_log_file_name(name)) is not None:
                group(parsed.source_id).live_logs.append(_LiveLog(parsed.segment, Path(entry.path)))
            elif name.endswith(MEMBER_SUFFIX):
                match = _NPY_SOURCE.match(name)
                if match is not None:
                    group(int(match.group(1))).npy_files.append(entry.path)
            elif (source_id := parse_archive_name(name)) is not None:
                group(source_id).archive = Path(entry.path)
            elif (
                name.startswith(".")
                and name.endswith(_PARTIAL_SUFFIX)
                and (source_id := parse_archive_name(name.removeprefix(".").removesuffix(_PARTIAL_SUFFIX))) is not None
                and name == _partial_name(source_id)
            ):
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


_UNKNOWN_ONSET = 0  # a record logged before any onset of its source: it joins the first session


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
        self.notes: list[str] = []
        """Problems found in this source's files, reported in one warning by the calling thread."""
        self.archive_onset: int | None = None
        self.known_onsets: set[int] = set()
        """The session onsets the existing archive already holds."""
        self.new_onsets: list[int] = []
        """Onsets of sessions the archive does not hold yet, in arrival order."""
        self.current_onset = _UNKNOWN_ONSET
        self.sessions: list[LogSession] = []
        self.plan: _Plan | None = None
        self.read_sizes: dict[Path, int] = {}
        """How many bytes of each live log this assembly read: a verification pass reads no more, even when a running
        logger appended meanwhile."""
        self.archived_descriptions: list[DescribedSource] = []
        self.descriptions: list[DescribedSource] = []
        """What the written archive carries: the archive's descriptions merged with the folder's."""

    def take_descriptions(self) -> None:
        """Merges the folder's descriptions into the archive's; a new one makes the archive worth rewriting."""
        self.descriptions = merge_history(self.archived_descriptions, self.files.described)
        if self.descriptions != self.archived_descriptions:
            self.new_messages += 1

    def comment(self) -> bytes:
        """Returns the archive comment: the manifest, the sessions and the descriptions (the oldest dropped to fit)."""
        head = encode_manifest(self.records) + encode_sessions(self.sessions)
        descriptions = self.descriptions
        while descriptions and len(head) + len(encode_archive_lines(descriptions)) > U16_MAX:
            descriptions = descriptions[1:]
        if len(descriptions) < len(self.descriptions):
            self.note(
                f"{len(self.descriptions) - len(descriptions)} of source {self.files.source_id}'s descriptions are "
                "not carried into its archive: the ZIP comment (65,535 bytes) is full; the oldest were dropped"
            )
        return head + encode_archive_lines(descriptions)

    def note(self, problem: str) -> None:
        self.notes.append(problem)

    def report(self) -> str:
        """Returns the one warning message that lists this source's problems."""
        shown = self.notes[:_MAX_NOTES]
        more = len(self.notes) - len(shown)
        lines = "\n".join(f"  - {note}" for note in shown)
        suffix = f"\n  - and {more} more" if more else ""
        return f"source {self.files.source_id} in {self.options.directory}:\n{lines}{suffix}"

    def run(self, position: int) -> None:
        """Assembles the source: in one streaming pass when its records are already in archive order, else in memory."""
        if not self.files.npy_files:
            trial = _SourceAssembly(self.files, self.options)
            try:
                trial.stream(position)
            except _NotInOrderError:
                pass  # the in-memory pass below starts over (its notes replace the trial's)
            except BaseException:
                self.notes = trial.notes
                raise
            else:
                self.notes = trial.notes
                if self.options.remove_sources:
                    trial.remove_sources()
                return
        self.collect()
        if self.new_messages:
            self.commit(self.write(position))
        self.chunks.clear()
        self.existing = None
        if self.options.remove_sources:
            self.remove_sources()

    def stream(self, position: int) -> None:
        """Writes the archive in one pass over the sources, a window of records at a time.

        Memory does not grow with the number of messages. This is the usual case: each session's records arrive in
        timestamp order, and sessions follow each other.

        Raises:
            _NotInOrderError: If a record would go before one already written (out-of-order timestamps, or a
                session whose onset precedes the archive's), or a record comes before any onset: the caller then
                assembles in memory.
        """
        temporary = self.options.directory / _partial_name(self.files.source_id)
        with _naming_disk_errors(self.files.source_id, temporary):
            output = _StreamWriter(self, temporary, position)
            try:
                for chunk in self._stream_windows(check_archive=True):
                    output.put(chunk)
                self.take_descriptions()
                if not self.new_messages:
                    output.abort()
                    return
                output.finish()
            except BaseException:
                output.abort()
                raise
        self.existing = None
        if self.options.verify_integrity:
            try:
                self._verify_streamed(temporary)
            except BaseException:
                temporary.unlink(missing_ok=True)
                raise
        self.commit(temporary)

    def _stream_windows(self, *, check_archive: bool) -> Iterator[_Chunk]:
        """Yields the source's messages in arrival order, a window at a time: the archive's first, then new ones."""
        if self.files.archive is not None:
            self._collect_archive(self.files.archive, check=check_archive)
            if self.existing is not None:  # its CRC check read every page: they need not stay resident
                _PageReleaser().release(self.existing.buffer, len(self.existing.buffer))
            if check_archive and all(self._archived_whole(live_log.path) for live_log in self.files.live_logs):
                raise _NotInOrderError  # a rerun with nothing new: the in-memory pass checks it without copying
            yield from _windows_of(self.chunks.pop())
        for live_log in self.files.live_logs:
            yield from self._live_log_chunks(live_log.path, _WINDOW)

    def _verify_streamed(self, temporary: Path) -> None:
        """Reads the sources again, in the same windows, and compares each message with its member in the archive."""
        try:
            written = ArchiveIndex(temporary, memory_mapping=True, lazy=True)
        except ValueError as error:
            raise ArchiveVerificationError(f"integrity verification failed: {error}") from None
        again = _SourceAssembly(self.files, replace(self.options, remove_sources=False))
        again.read_sizes = self.read_sizes
        verifier = _StreamVerifier(again, written)
        for chunk in again._stream_windows(check_archive=False):
            verifier.put(chunk)
        verifier.finish()

    def collect(self) -> None:
        if self.files.archive is not None:
            self._collect_archive(self.files.archive)
        if self.files.npy_files:
            self._collect_npy_files()
        for live_log in self.files.live_logs:
            self._collect_live_log(live_log.path)
        self._rebase_sessions()
        self.take_descriptions()

    def _collect_archive(self, path: Path, *, check: bool = True) -> None:
        self.existing = index = ArchiveIndex(path, memory_mapping=self.options.memory_mapping)
        failed = index.check_crcs() if check else None
        if failed is not None:
            raise ArchiveFormatError(
                f"Unable to merge new messages into the log archive {path}: its member {index.member_name(failed)!r} "
                "fails its CRC-32 check (the archive was damaged after it was written). Merging would store the "
                "damaged bytes under a fresh, valid CRC, so nothing was changed and no source was removed: restore "
                "the archive from a copy, or move it out of the directory to assemble the sources into a new one."
            )
        self.manifest = decode_manifest(index.comment)
        self.archived_descriptions = decode_archive_lines(index.comment, path)
        onset = _archive_onset(index)
        offsets, sizes = index.message_offsets, index.message_sizes
        if onset is not None:
            position, self.archive_onset = onset.position, onset.onset_us
            self.current_onset = self.archive_onset
            self.known_onsets = {session.onset_us for session in decode_sessions(index.comment)}
            self.known_onsets.add(self.archive_onset)
            keep = np.ones(len(offsets), dtype=bool)
            keep[position] = False  # the onset member is written anew, first, with the archive's earliest onset
            offsets, sizes = offsets[keep], sizes[keep]
        chunk = _whole_messages(str(index.path), index.buffer, offsets, sizes)
        chunk.onsets = np.full(len(offsets), self.current_onset, dtype=np.uint64)
        self.chunks.append(chunk)

    def _collect_live_log(self, path: Path) -> None:
        # Windows keep the scan's Python lists small; their numpy index is what the in-memory pass holds.
        self.chunks.extend(chunk for chunk in self._live_log_chunks(path, window=_WINDOW) if len(chunk.timestamps))

    def _archived_whole(self, path: Path) -> bool:
        """Returns True if the archive's manifest holds every byte of a live log file as it is now."""
        previous = self.manifest.get(path.name)
        if previous is None or previous.consumed != path.stat().st_size:
            return False
        data = memoryview(_read(path, memory_mapping=True))  # type: ignore[arg-type]
        return fingerprint(data, previous.consumed) == previous.fingerprint

    def _live_log_chunks(self, path: Path, window: int) -> Iterator[_Chunk]:
        """Yields the new records of a live log, a window of records at a time (0: all in one chunk).

        Notes the file's damage, records it in the manifest, tracks its sessions (each chunk's onsets say which
        session every record belongs to) and marks it removable when it is whole.
        """
        data = _read(path, self.options.memory_mapping)
        data = data[: self.read_sizes.setdefault(path, len(data))]
        view = memoryview(data)  # type: ignore[arg-type]
        if len(data) < FILE_HEADER.size:  # created by a logger that died before its header reached the disk
            if path == self.files.open_log:
                return  # or by the running logger a moment ago: its header is being written
            self.note(f"{path}: torn file header: {len(data)} bytes, no records; skipped and kept for inspection")
            return
        previous = self.manifest.get(path.name)
        start = FILE_HEADER.size
        if (
            previous is not None
            and previous.consumed <= len(data)
            and fingerprint(view, previous.consumed) == previous.fingerprint
        ):
            start = previous.consumed  # records before this offset are already in the archive
        whole = True
        consumed = len(data)
        count_so_far = 0
        still_written = path == self.files.open_log
        for scanned in iter_record_windows(view, path, expected_source_id=self.files.source_id, window=window):
            index = scanned
            count_so_far += len(index)
            if still_written and index.defect is not None and index.defect.reason != DAMAGED_HEADER:
                # The record the running logger is writing right now: the manifest stops before it, and the next
                # assembly reads it from there.
                consumed = index.defect.offset
                index = replace(index, defect=None)
            whole = self._note_damage(path, index, count_so_far) and whole
            if index.defect is not None:
                consumed = index.defect.offset
            yield self._live_chunk(path, data, index, start)
        self.records.append(SourceRecord(path.name, consumed, fingerprint(view, consumed)))
        if whole and not still_written and self.options.remove_sources:
            self.removable.append(path)

    def _note_damage(self, path: Path, index: RecordIndex, whole_records: int) -> bool:
        """Notes the torn tail and damaged regions of a window of records; returns True when there are none."""
        if index.defect is not None:
            defect = index.defect
            if defect.reason == DAMAGED_HEADER:
                self.note(
                    f"{path}: damaged file header and no valid record after it: {defect.size} bytes are not "
                    "archived; the file is kept for inspection"
                )
            else:
                self.note(
                    f"{path}: torn tail at byte offset {defect.offset}: {defect.size} bytes ({defect.reason}) are "
                    f"not archived; the {whole_records} whole records before them are, and the file is kept for "
                    "inspection"
                )
        for region in index.damaged:
            if region.reason == DAMAGED_HEADER:
                self.note(
                    f"{path}: damaged file header: the first {region.size} bytes are not archived; the records after "
                    "them are (the source ID is taken from the file name), and the file is kept for inspection"
                )
                continue
            self.note(
                f"{path}: damaged region at byte offset {region.offset}: {region.size} bytes ({region.reason}) are "
                "not archived; the records before and after it are, and the file is kept for inspection"
            )
        return index.defect is None and not index.damaged

    def _live_chunk(self, path: Path, data: NDArray[np.uint8], index: RecordIndex, start: int) -> _Chunk:
        """Returns the chunk of a window's records not yet archived, each with the onset it is timed from."""
        count = len(index)
        is_onset = (index.timestamps == ONSET_TIMESTAMP) & (index.payload_sizes == _ONSET_PAYLOAD_SIZE)
        onset_positions = np.flatnonzero(is_onset)
        onset_values = _onset_values(data, index.payload_offsets[onset_positions])
        fresh = index.payload_offsets - RECORD_HEADER_SIZE >= start
        for value in onset_values[fresh[onset_positions]].tolist():
            if value != _UNKNOWN_ONSET and value not in self.known_onsets and value not in self.new_onsets:
                self.new_onsets.append(value)
                self.new_messages += 1  # a new session: the archive must list it even if no data record follows
        lookup = np.zeros(count, dtype=np.uint64)
        lookup[onset_positions] = onset_values
        latest = np.maximum.accumulate(np.where(is_onset, np.arange(count), -1)) if count else np.zeros(0, np.int64)
        onsets = np.where(latest >= 0, lookup[np.maximum(latest, 0)], np.uint64(self.current_onset))
        if len(onset_values):
            self.current_onset = int(onset_values[-1])
        keep = fresh & ~is_onset
        self.new_messages += int(np.count_nonzero(keep))
        timestamps = index.timestamps[keep]
        heads = np.zeros(len(timestamps), dtype=_MESSAGE_HEAD)
        heads["source_id"] = self.files.source_id
        heads["timestamp"] = timestamps
        return _Chunk(
            str(path),
            data,
            timestamps,
            heads.view(np.uint8).reshape(-1, MESSAGE_PREFIX.size),
            index.payload_offsets[keep],
            index.payload_sizes[keep],
            onsets[keep].astype(np.uint64),
        )

    def _collect_npy_files(self) -> None:
        """Reads reference-style per-message .npy files into one buffer, skipping those the archive already holds."""
        existing_positions: dict[str, int] = {}
        if self.existing is not None:
            existing_positions = {stem: position for position, stem in enumerate(self.existing.stems)}
        messages: list[bytes] = []
        for path, raw in zip(self.files.npy_files, _read_files(self.files.npy_files), strict=True):
            if isinstance(raw, OSError):
                self.note(f"{path}: unreadable ({raw}); skipped and kept")
                continue
            message = npy_array_bytes(raw)
            if message is None or len(message) < MESSAGE_PREFIX.size or message[0] != self.files.source_id:
                self.note(
                    f"{path}: not a whole 1-D uint8 .npy log message of source {self.files.source_id} "
                    f"({len(raw)} bytes); skipped and kept for inspection"
                )
                continue
            if self.options.remove_sources:
                self.removable.append(path)
            position = existing_positions.get(os.path.basename(path).removesuffix(MEMBER_SUFFIX))
            if (
                position is not None
                and self.existing is not None
                and self.existing.message(position).tobytes() == message
            ):
                continue  # consolidated by an earlier run interrupted before it removed this file
            if len(message) == ONSET_MESSAGE_SIZE and MESSAGE_PREFIX.unpack(message).timestamp == ONSET_TIMESTAMP:
                value = int.from_bytes(message[MESSAGE_PREFIX.size :], "little")
                if value not in self.known_onsets and value not in self.new_onsets:
                    self.new_onsets.append(value)
                    self.new_messages += 1
                self.current_onset = value  # the reference names files by timestamp: the onset sorts first
                continue
            messages.append(message)
        if not messages:
            return
        sizes = np.fromiter((len(message) for message in messages), dtype=np.int64, count=len(messages))
        offsets = np.zeros(len(messages), dtype=np.int64)
        offsets[1:] = np.cumsum(sizes)[:-1]
        buffer = np.frombuffer(b"".join(messages), dtype=np.uint8)
        self.new_messages += len(messages)
        chunk = _whole_messages(os.path.dirname(self.files.npy_files[0]), buffer, offsets, sizes)
        chunk.onsets = np.full(len(messages), self.current_onset, dtype=np.uint64)
        self.chunks.append(chunk)

    def _rebase_sessions(self) -> None:
        """Times every message from the archive's onset (the earliest session's) and adds that onset member first."""
        onsets = self.known_onsets | set(self.new_onsets)
        onsets.discard(_UNKNOWN_ONSET)
        if not onsets:
            if self.new_messages:
                self.note(
                    f"source {self.files.source_id} has no onset message (timestamp 0, an 8-byte payload): its "
                    "archive cannot be read without passing onset_us to LogArchiveReader"
                )
            return
        base = min(onsets)
        first = self.archive_onset if self.archive_onset is not None else self.new_onsets[0]
        for chunk in self.chunks:
            if chunk.onsets is None:
                continue
            resolved = np.where(chunk.onsets == _UNKNOWN_ONSET, np.uint64(first), chunk.onsets)
            chunk.rebase(resolved - np.uint64(base))
        if base != self.archive_onset:
            self.new_messages += 1  # the onset member changes
        head = np.zeros(1, dtype=_MESSAGE_HEAD)
        head["source_id"] = self.files.source_id
        payload = np.frombuffer(np.uint64(base).astype("<u8").tobytes(), dtype=np.uint8)
        onset_chunk = _Chunk(
            "the archive's onset (the earliest session's)",
            payload,
            np.zeros(1, dtype=np.uint64),
            head.view(np.uint8).reshape(1, MESSAGE_PREFIX.size),
            np.zeros(1, dtype=np.int64),
            np.full(1, _ONSET_PAYLOAD_SIZE, dtype=np.int64),
        )
        self.chunks.insert(0, onset_chunk)  # first among equal timestamps: the onset stays the first member
        self.sessions = [LogSession(onset, onset - base) for onset in sorted(onsets)]

    def write(self, position: int) -> Path:
        """Writes every collected message, ordered by timestamp then arrival, into a temporary archive."""
        temporary = self.options.directory / _partial_name(self.files.source_id)
        with _naming_disk_errors(self.files.source_id, temporary):
            self._write(temporary, position)
        if self.options.verify_integrity and self.plan is not None:
            self._verify(temporary, self.plan)
        return temporary

    def _write(self, temporary: Path, position: int) -> None:
        source_id = self.files.source_id
        timestamps = np.concatenate([chunk.timestamps for chunk in self.chunks])
        order = np.argsort(timestamps, kind="stable")
        ordered_timestamps = timestamps[order]
        chunk_ids = np.concatenate(
            [np.full(len(chunk.timestamps), number, dtype=np.int64) for number, chunk in enumerate(self.chunks)]
        )[order]
        offsets = np.concatenate([chunk.offsets for chunk in self.chunks])[order]
        ends = offsets + np.concatenate([chunk.sizes for chunk in self.chunks])[order]
        heads = np.concatenate([chunk.heads for chunk in self.chunks])[order]
        self.plan = _Plan(chunk_ids, offsets, ends, heads)
        repeats = repeat_counts(ordered_timestamps)
        views = [memoryview(chunk.buffer) for chunk in self.chunks]  # type: ignore[arg-type]
        writer = ArchiveWriter(temporary)
        progress = ProgressBar(
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
            writer.close(self.comment())
        except BaseException:
            with suppress(OSError):  # closing flushes the buffer, which fails again on a full disk
                writer.abort()
            raise
        finally:
            progress.close()

    def _verify(self, temporary: Path, plan: _Plan) -> None:
        """Re-reads the written archive and checks every member's CRC-32 and message bytes against the sources.

        Works a window of members at a time and drops the archive's pages behind it, so the check does not hold the
        whole archive in memory.
        """
        try:
            try:
                written = ArchiveIndex(temporary, memory_mapping=True, lazy=True)
            except ValueError as error:
                raise ArchiveVerificationError(f"integrity verification failed: {error}") from None
            if len(written) != len(plan.chunk_ids):
                raise ArchiveVerificationError(
                    f"{temporary}: holds {len(written)} messages, expected {len(plan.chunk_ids)}"
                )
            views = [memoryview(chunk.buffer) for chunk in self.chunks]  # type: ignore[arg-type]
            heads = memoryview(np.ascontiguousarray(plan.heads).tobytes())
            releaser = _PageReleaser()
            for first in range(0, len(written), _WINDOW):
                last = min(first + _WINDOW, len(written))
                try:
                    offsets, sizes = written.message_layout(np.arange(first, last, dtype=np.int64))
                except ValueError as error:
                    raise ArchiveVerificationError(f"integrity verification failed: {error}") from None
                self._verify_window(written, first, offsets, sizes, plan, views, heads)
                releaser.release(written.buffer, int(offsets[-1] + sizes[-1]))
        except BaseException:
            temporary.unlink(missing_ok=True)
            raise

    def _verify_window(  # noqa: PLR0917 - one call site, the arrays of one window
        self,
        written: ArchiveIndex,
        first: int,
        offsets: NDArray[np.int64],
        sizes: NDArray[np.int64],
        plan: _Plan,
        views: list[memoryview],
        heads: memoryview,
    ) -> None:
        archived = memoryview(written.buffer)  # type: ignore[arg-type]
        width = MESSAGE_PREFIX.size
        last = first + len(offsets)
        crc32 = zlib.crc32
        for number, (chunk, start, end, at, size, crc) in enumerate(
            zip(
                plan.chunk_ids[first:last].tolist(),
                plan.offsets[first:last].tolist(),
                plan.ends[first:last].tolist(),
                offsets.tolist(),
                sizes.tolist(),
                written.crcs[first:last].tolist(),
                strict=True,
            ),
            start=first,
        ):
            header = npy_header(size)
            member = archived[at - len(header) : at + size]
            body = at + width
            if crc32(member) != crc:
                raise ArchiveVerificationError(
                    f"{written.path}: member {written.member_name(number)!r} fails its CRC-32 check"
                )
            if (
                member[: len(header)] != header
                or size != width + end - start
                or archived[at:body] != heads[number * width : (number + 1) * width]
                or archived[body : at + size] != views[chunk][start:end]
            ):
                raise ArchiveVerificationError(
                    f"{written.path}: archived message {written.member_name(number)!r} differs from its "
                    f"source ({self.chunks[chunk].origin}, bytes {start}..{end})"
                )

    def commit(self, temporary: Path) -> None:
        """Moves the finished archive into place (replacing the old one) and fsyncs the directory."""
        directory = self.options.directory
        destination = directory / archive_name(self.files.source_id)
        try:
            os.replace(temporary, destination)
            fsync_directory(directory)
        except OSError as error:
            raise OSError(
                error.errno,
                f"Unable to move the log archive {temporary} into place as {destination}: {error.strerror or error}",
                str(destination),
            ) from error

    def remove_sources(self) -> None:
        # Not fsynced: a removal that a power loss undoes only leaves sources the next run recognises as archived.
        _in_threads(_unlink_all, self.removable)


class _NotInOrderError(Exception):
    """The source's records are not in archive order as they are read: it is assembled in memory instead."""


_WINDOW = 65536
"""Records per window of the streaming pass: large enough that numpy does the work, small enough to stay cheap."""


@contextmanager
def _naming_disk_errors(source_id: int, temporary: Path) -> Iterator[None]:
    """Turns an I/O error while writing an archive (a full disk) into one naming the file; removes the partial."""
    try:
        yield
    except OSError as error:
        temporary.unlink(missing_ok=True)
        raise OSError(
            error.errno,
            f"Unable to write the log archive of source {source_id} to {temporary}: {error.strerror or error}; "
            "the sources and any earlier archive are untouched",
            str(temporary),
        ) from error


def _windows_of(chunk: _Chunk) -> Iterator[_Chunk]:
    """Yields a chunk as consecutive windows of _WINDOW messages."""
    for first in range(0, len(chunk.timestamps), _WINDOW):
        window = slice(first, first + _WINDOW)
        onsets = chunk.onsets[window] if chunk.onsets is not None else None
        yield _Chunk(
            chunk.origin,
            chunk.buffer,
            chunk.timestamps[window],
            chunk.heads[window],
            chunk.offsets[window],
            chunk.sizes[window],
            onsets,
        )


def _mapped_file(array: NDArray[np.uint8]) -> mmap.mmap | None:
    """Returns the memory map an array views, or None when it views memory of its own."""
    base: object = array
    while base is not None:
        if isinstance(base, mmap.mmap):
            return base
        base = base.obj if isinstance(base, memoryview) else getattr(base, "base", None)
    return None


class _PageReleaser:
    """Drops the pages of memory-mapped sources behind the streaming pass, so they stop counting as resident."""

    def __init__(self) -> None:
        self._released: dict[int, int] = {}

    def release(self, array: NDArray[np.uint8], end: int) -> None:
        mapped = _mapped_file(array)
        if mapped is None or not hasattr(mmap, "MADV_DONTNEED"):
            return
        aligned = end - end % mmap.PAGESIZE
        start = self._released.get(id(mapped), 0)
        if aligned > start:
            # A private, read-only use of the map: dropped pages are read again from the file if touched.
            mapped.madvise(mmap.MADV_DONTNEED, start, aligned - start)
            self._released[id(mapped)] = aligned


class _StreamOrder:
    """Puts windows of one source's messages in archive order; subclasses write or verify the members.

    Fixes the onset, rebases sessions onto it, checks the order and numbers repeated timestamps across windows.
    """

    def __init__(self, assembly: _SourceAssembly) -> None:
        self.assembly = assembly
        self.source_id = assembly.files.source_id
        self.releaser = _PageReleaser()
        self.base: int | None = None
        self.last_timestamp = -1
        self.last_run = 0

    def _start(self) -> None:
        """Fixes the archive's onset (the archive's own, else the first session's); its member comes first."""
        assembly = self.assembly
        base = assembly.archive_onset if assembly.archive_onset is not None else None
        if base is None and assembly.new_onsets:
            base = assembly.new_onsets[0]
        if base is None:
            raise _NotInOrderError  # records before any onset: the in-memory pass times them from the first one found
        self.base = base
        head = MESSAGE_PREFIX.pack(MESSAGE_PREFIX.record(self.source_id, ONSET_TIMESTAMP))
        self._onset(head, ONSET_PAYLOAD.pack(base))
        self.last_timestamp, self.last_run = ONSET_TIMESTAMP, 1

    def put(self, chunk: _Chunk) -> None:
        """Takes the next window of messages (in arrival order, with their onsets)."""
        count = len(chunk.timestamps)
        if count == 0:
            return
        if self.base is None:
            self._start()
        base = np.uint64(self.base or 0)
        onsets = chunk.onsets if chunk.onsets is not None else np.full(count, base, np.uint64)
        if np.any(onsets == _UNKNOWN_ONSET) or np.any(onsets < base):
            raise _NotInOrderError
        chunk.rebase(onsets - base)
        timestamps = chunk.timestamps
        if int(timestamps[0]) < self.last_timestamp or np.any(timestamps[1:] < timestamps[:-1]):
            raise _NotInOrderError
        repeats = repeat_counts(timestamps)
        repeats[: int(np.count_nonzero(timestamps == self.last_timestamp))] += self.last_run
        self.last_timestamp, self.last_run = int(timestamps[-1]), int(repeats[-1]) + 1
        self._members(chunk, repeats)
        self.releaser.release(chunk.buffer, int(chunk.offsets[-1] + chunk.sizes[-1]))

    def check_sessions(self) -> int:
        """Returns the archive's onset once every window is in, after checking no session began before it."""
        assembly = self.assembly
        onsets = assembly.known_onsets | set(assembly.new_onsets)
        onsets.discard(_UNKNOWN_ONSET)
        if self.base is None:
            self._start()
        if min(onsets) != self.base:
            raise _NotInOrderError  # a session found after the last window began before the archive's onset
        assembly.sessions = [LogSession(onset, onset - int(self.base)) for onset in sorted(onsets)]
        return int(self.base)

    def _onset(self, head: bytes, payload: bytes) -> None:
        raise NotImplementedError

    def _members(self, chunk: _Chunk, repeats: NDArray[np.int64]) -> None:
        raise NotImplementedError


class _StreamWriter(_StreamOrder):
    """Appends windows of one source's messages to its archive in order, carrying names across windows."""

    def __init__(self, assembly: _SourceAssembly, path: Path, position: int) -> None:
        super().__init__(assembly)
        self.writer = ArchiveWriter(path)
        self.progress = ProgressBar(
            desc=f"Assembling source {self.source_id}",
            unit="msg",
            disable=not assembly.options.verbose,
            position=position,
            leave=True,
        )

    def _onset(self, head: bytes, payload: bytes) -> None:
        self.writer.add(member_stem(self.source_id, ONSET_TIMESTAMP), head, payload)

    def _members(self, chunk: _Chunk, repeats: NDArray[np.int64]) -> None:
        timestamps = chunk.timestamps
        view = memoryview(chunk.buffer)  # type: ignore[arg-type]
        ends = chunk.offsets + chunk.sizes
        for first in range(0, len(timestamps), _BATCH):
            last = min(first + _BATCH, len(timestamps))
            bodies = [
                view[start:end]
                for start, end in zip(chunk.offsets[first:last].tolist(), ends[first:last].tolist(), strict=True)
            ]
            batch_repeats = repeats[first:last]
            if int(batch_repeats.max()) < _MAX_REPEAT:
                names, name_lengths = member_names(self.source_id, timestamps[first:last], batch_repeats)
                self.writer.add_batch(names, name_lengths, chunk.heads[first:last], bodies)
            else:  # a million messages at one timestamp: names outgrow the fixed-width layout
                for row, body in enumerate(bodies):
                    stem = member_stem(self.source_id, int(timestamps[first + row]), int(batch_repeats[row]))
                    self.writer.add(stem, chunk.heads[first + row].tobytes(), body)
        self.progress.update(len(timestamps))

    def finish(self) -> None:
        """Writes the onset of a source without data messages, checks the sessions, and closes the archive."""
        self.check_sessions()
        assembly = self.assembly
        self.writer.close(assembly.comment())
        self.progress.close()

    def abort(self) -> None:
        self.progress.close()
        with suppress(OSError):  # closing flushes the buffer, which fails again on a full disk
            self.writer.abort()


class _StreamVerifier(_StreamOrder):
    """Reads the sources again in the same order and compares each with the member written for it."""

    def __init__(self, assembly: _SourceAssembly, written: ArchiveIndex) -> None:
        super().__init__(assembly)
        self.written = written
        self.next_member = 0

    def _onset(self, head: bytes, payload: bytes) -> None:
        buffer = np.frombuffer(payload, dtype=np.uint8)
        chunk = _Chunk("the archive's onset", buffer, np.zeros(1, np.uint64), np.frombuffer(head, np.uint8)[None, :],
                       np.zeros(1, np.int64), np.full(1, len(payload), np.int64))  # fmt: skip
        self._members(chunk, np.zeros(1, dtype=np.int64))

    def _members(self, chunk: _Chunk, repeats: NDArray[np.int64]) -> None:
        del repeats  # names are not verified: the bytes and CRCs are
        written = self.written
        first = self.next_member
        count = len(chunk.timestamps)
        if first + count > len(written):
            raise ArchiveVerificationError(f"{written.path}: holds {len(written)} messages, fewer than its sources")
        try:
            offsets, sizes = written.message_layout(np.arange(first, first + count, dtype=np.int64))
        except ValueError as error:
            raise ArchiveVerificationError(f"integrity verification failed: {error}") from None
        archived = memoryview(written.buffer)  # type: ignore[arg-type]
        source = memoryview(chunk.buffer)  # type: ignore[arg-type]
        heads = memoryview(np.ascontiguousarray(chunk.heads).tobytes())
        width = MESSAGE_PREFIX.size
        crc32 = zlib.crc32
        for row, (start, size_in_source, at, size, crc) in enumerate(
            zip(
                chunk.offsets.tolist(),
                chunk.sizes.tolist(),
                offsets.tolist(),
                sizes.tolist(),
                written.crcs[first : first + count].tolist(),
                strict=True,
            )
        ):
            header = npy_header(size)
            member = archived[at - len(header) : at + size]
            if crc32(member) != crc:
                raise ArchiveVerificationError(
                    f"{written.path}: member {written.member_name(first + row)!r} fails its CRC-32 check"
                )
            body = at + width
            if (
                member[: len(header)] != header
                or size != width + size_in_source
                or archived[at:body] != heads[row * width : (row + 1) * width]
                or archived[body : at + size] != source[start : start + size_in_source]
            ):
                raise ArchiveVerificationError(
                    f"{written.path}: archived message {written.member_name(first + row)!r} differs from its source "
                    f"({chunk.origin}, bytes {start}..{start + size_in_source})"
                )
        self.next_member = first + count
        self.releaser.release(written.buffer, int(offsets[-1] + sizes[-1]))

    def finish(self) -> None:
        self.check_sessions()
        if self.next_member != len(self.written):
            raise ArchiveVerificationError(
                f"{self.written.path}: holds {len(self.written)} messages, expected {self.next_member}"
            )


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
