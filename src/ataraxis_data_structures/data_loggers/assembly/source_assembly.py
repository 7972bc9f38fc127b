"""One source's assembly: collects its messages (existing archive, live logs, .npy files), writes, commits, cleans up.

A source whose records arrive in archive order goes through the streaming pass (streaming), any other through the
in-memory pass (in_memory). Sessions: every onset message starts a session; later sessions are rebased onto the
archive's onset (the earliest session's), and the archive comment lists them (formats.archive_format).
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np
from numpy.typing import NDArray

from ..._durable_files import fsync_directory
from ...errors import ArchiveFormatError, ArchiveVerificationError
from ..formats.archive_format import (
    LogSession,
    SourceRecord,
    decode_manifest,
    decode_sessions,
    encode_manifest,
    encode_sessions,
    fingerprint,
    npy_array_bytes,
    onset_values,
)
from ..formats.archive_layout import (
    MEMBER_SUFFIX,
    MESSAGE_PREFIX,
    ONSET_MESSAGE_SIZE,
    ONSET_PAYLOAD,
    ONSET_TIMESTAMP,
    U16_MAX,
    archive_name,
)
from ..formats.log_format import DAMAGED_HEADER, FILE_HEADER, RECORD_HEADER_SIZE, RecordIndex, iter_record_windows
from ..formats.source_description import (
    DescribedSource,
    decode_archive_lines,
    encode_archive_lines,
    merge_history,
)
from ..reading.archive_sessions import archive_onset
from ..reading.member_names import MemberNames
from ..reading.zip_index import ArchiveIndex
from .chunks import UNKNOWN_ONSET, WINDOW, Chunk, NotInOrderError, naming_disk_errors, whole_messages, windows_of
from .in_memory import Plan, verify_in_memory, write_in_memory
from .source_files import SourceFiles, in_threads, partial_name, read_files, read_source, unlink_all
from .streaming import PageReleaser, StreamVerifier, StreamWriter

__all__ = ["AssemblyOptions", "SourceAssembly"]

_MESSAGE_HEAD = MESSAGE_PREFIX.dtype
_ONSET_PAYLOAD_SIZE = ONSET_PAYLOAD.size  # the UTC epoch in microseconds as a uint64
_MAX_NOTES = 20  # problems listed in one source's warning; the rest are counted


@dataclass(frozen=True)
class AssemblyOptions:
    """What assemble_log_archives was asked to do, shared by every source's assembly."""

    directory: Path
    remove_sources: bool
    memory_mapping: bool
    verbose: bool
    verify_integrity: bool


class SourceAssembly:
    """Collects one source's messages from its archive and source files, then writes, verifies and cleans up."""

    def __init__(self, files: SourceFiles, options: AssemblyOptions) -> None:
        self.files = files
        self.options = options
        self.chunks: list[Chunk] = []
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
        self.current_onset = UNKNOWN_ONSET
        self.sessions: list[LogSession] = []
        self.plan: Plan | None = None
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
        """Records a problem found in this source's files (reported in one warning)."""
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
            trial = SourceAssembly(self.files, self.options)
            try:
                trial.stream(position)
            except NotInOrderError:
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
            NotInOrderError: If a record would go before one already written (out-of-order timestamps, or a
                session whose onset precedes the archive's), or a record comes before any onset: the caller then
                assembles in memory.
        """
        temporary = self.options.directory / partial_name(self.files.source_id)
        with naming_disk_errors(self.files.source_id, temporary):
            output = StreamWriter(self, temporary, position)
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

    def _stream_windows(self, *, check_archive: bool) -> Iterator[Chunk]:
        """Yields the source's messages in arrival order, a window at a time: the archive's first, then new ones."""
        if self.files.archive is not None:
            self._collect_archive(self.files.archive, check=check_archive)
            if self.existing is not None:  # its CRC check read every page: they need not stay resident
                PageReleaser().release(self.existing.buffer, len(self.existing.buffer))
            if check_archive and all(self._archived_whole(live_log.path) for live_log in self.files.live_logs):
                raise NotInOrderError  # a rerun with nothing new: the in-memory pass checks it without copying
            yield from windows_of(self.chunks.pop())
        for live_log in self.files.live_logs:
            yield from self._live_log_chunks(live_log.path, WINDOW)

    def _verify_streamed(self, temporary: Path) -> None:
        """Reads the sources again, in the same windows, and compares each message with its member in the archive."""
        try:
            written = ArchiveIndex(temporary, memory_mapping=True, lazy=True)
        except ValueError as error:
            raise ArchiveVerificationError(f"integrity verification failed: {error}") from None
        again = SourceAssembly(self.files, replace(self.options, remove_sources=False))
        again.read_sizes = self.read_sizes
        verifier = StreamVerifier(again, written)
        for chunk in again._stream_windows(check_archive=False):
            verifier.put(chunk)
        verifier.finish()

    def collect(self) -> None:
        """Collects every message of the source (archive, .npy files, live logs) as chunks: the in-memory pass."""
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
        onset = archive_onset(index)
        offsets, sizes = index.message_offsets, index.message_sizes
        if onset is not None:
            position, self.archive_onset = onset.position, onset.onset_us
            self.current_onset = self.archive_onset
            self.known_onsets = {session.onset_us for session in decode_sessions(index.comment)}
            self.known_onsets.add(self.archive_onset)
            keep = np.ones(len(offsets), dtype=bool)
            keep[position] = False  # the onset member is written anew, first, with the archive's earliest onset
            offsets, sizes = offsets[keep], sizes[keep]
        chunk = whole_messages(str(index.path), index.buffer, offsets, sizes)
        chunk.onsets = np.full(len(offsets), self.current_onset, dtype=np.uint64)
        self.chunks.append(chunk)

    def _collect_live_log(self, path: Path) -> None:
        # Windows keep the scan's Python lists small; their numpy index is what the in-memory pass holds.
        self.chunks.extend(chunk for chunk in self._live_log_chunks(path, window=WINDOW) if len(chunk.timestamps))

    def _archived_whole(self, path: Path) -> bool:
        """Returns True if the archive's manifest holds every byte of a live log file as it is now."""
        previous = self.manifest.get(path.name)
        if previous is None or previous.consumed != path.stat().st_size:
            return False
        data = memoryview(read_source(path, memory_mapping=True))  # type: ignore[arg-type]
        return fingerprint(data, previous.consumed) == previous.fingerprint

    def _live_log_chunks(self, path: Path, window: int) -> Iterator[Chunk]:
        """Yields the new records of a live log, a window of records at a time (0: all in one chunk).

        Notes the file's damage, records it in the manifest, tracks its sessions (each chunk's onsets say which
        session every record belongs to) and marks it removable when it is whole.
        """
        data = read_source(path, self.options.memory_mapping)
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

    def _live_chunk(self, path: Path, data: NDArray[np.uint8], index: RecordIndex, start: int) -> Chunk:
        """Returns the chunk of a window's records not yet archived, each with the onset it is timed from."""
        count = len(index)
        is_onset = (index.timestamps == ONSET_TIMESTAMP) & (index.payload_sizes == _ONSET_PAYLOAD_SIZE)
        onset_positions = np.flatnonzero(is_onset)
        values = onset_values(data, index.payload_offsets[onset_positions])
        fresh = index.payload_offsets - RECORD_HEADER_SIZE >= start
        for value in values[fresh[onset_positions]].tolist():
            if value != UNKNOWN_ONSET and value not in self.known_onsets and value not in self.new_onsets:
                self.new_onsets.append(value)
                self.new_messages += 1  # a new session: the archive must list it even if no data record follows
        lookup = np.zeros(count, dtype=np.uint64)
        lookup[onset_positions] = values
        latest = np.maximum.accumulate(np.where(is_onset, np.arange(count), -1)) if count else np.zeros(0, np.int64)
        onsets = np.where(latest >= 0, lookup[np.maximum(latest, 0)], np.uint64(self.current_onset))
        if len(values):
            self.current_onset = int(values[-1])
        keep = fresh & ~is_onset
        self.new_messages += int(np.count_nonzero(keep))
        timestamps = index.timestamps[keep]
        heads = np.zeros(len(timestamps), dtype=_MESSAGE_HEAD)
        heads["source_id"] = self.files.source_id
        heads["timestamp"] = timestamps
        return Chunk(
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
            existing_positions = {stem: position for position, stem in enumerate(MemberNames(self.existing).stems)}
        messages: list[bytes] = []
        for path, raw in zip(self.files.npy_files, read_files(self.files.npy_files), strict=True):
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
        chunk = whole_messages(os.path.dirname(self.files.npy_files[0]), buffer, offsets, sizes)
        chunk.onsets = np.full(len(messages), self.current_onset, dtype=np.uint64)
        self.chunks.append(chunk)

    def _rebase_sessions(self) -> None:
        """Times every message from the archive's onset (the earliest session's) and adds that onset member first."""
        onsets = self.known_onsets | set(self.new_onsets)
        onsets.discard(UNKNOWN_ONSET)
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
            resolved = np.where(chunk.onsets == UNKNOWN_ONSET, np.uint64(first), chunk.onsets)
            chunk.rebase(resolved - np.uint64(base))
        if base != self.archive_onset:
            self.new_messages += 1  # the onset member changes
        head = np.zeros(1, dtype=_MESSAGE_HEAD)
        head["source_id"] = self.files.source_id
        payload = np.frombuffer(np.uint64(base).astype("<u8").tobytes(), dtype=np.uint8)
        onset_chunk = Chunk(
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
        temporary = self.options.directory / partial_name(self.files.source_id)
        temporary = self.options.directory / partial_name(self.files.source_id)
        with naming_disk_errors(self.files.source_id, temporary):
            self.plan = write_in_memory(
                temporary,
                self.files.source_id,
                self.chunks,
                self.comment,
                self.options.verbose,
                position,
            )
        if self.options.verify_integrity and self.plan is not None:
            verify_in_memory(temporary, self.chunks, self.plan)
        return temporary

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
        """Removes the source files now held whole by the committed archive."""
        # Not fsynced: a removal that a power loss undoes only leaves sources the next run recognises as archived.
        in_threads(unlink_all, self.removable)
