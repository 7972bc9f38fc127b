"""The streaming pass: writes (and verifies) a source whose records arrive in archive order, a window at a time.

Memory does not grow with the number of messages: each window is written straight to the archive, and the mapped
pages behind it are dropped. A record that would go before one already written raises NotInOrderError, and the
source is assembled in memory instead (see in_memory).
"""

from __future__ import annotations

import mmap
import zlib
from contextlib import suppress
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
from numpy.typing import NDArray

from ..._progress import ProgressBar
from ...errors import ArchiveVerificationError
from ..formats.archive_format import LogSession, repeat_counts
from ..formats.archive_layout import MESSAGE_PREFIX, ONSET_PAYLOAD, ONSET_TIMESTAMP, member_stem, npy_header
from ..reading.zip_index import ArchiveIndex
from .chunks import BATCH, MAX_REPEAT, UNKNOWN_ONSET, Chunk, NotInOrderError
from .zip_writer import ArchiveWriter, member_names

if TYPE_CHECKING:
    from .source_assembly import SourceAssembly

__all__ = ["PageReleaser", "StreamVerifier", "StreamWriter"]


def _mapped_file(array: NDArray[np.uint8]) -> mmap.mmap | None:
    """Returns the memory map an array views, or None when it views memory of its own."""
    base: object = array
    while base is not None:
        if isinstance(base, mmap.mmap):
            return base
        base = base.obj if isinstance(base, memoryview) else getattr(base, "base", None)
    return None


class PageReleaser:
    """Drops the pages of memory-mapped sources behind the streaming pass, so they stop counting as resident."""

    def __init__(self) -> None:
        self._released: dict[int, int] = {}

    def release(self, array: NDArray[np.uint8], end: int) -> None:
        """Drops the mapped pages of the file an array views, up to end (a no-op for memory of its own)."""
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

    def __init__(self, assembly: SourceAssembly) -> None:
        self.assembly = assembly
        self.source_id = assembly.files.source_id
        self.releaser = PageReleaser()
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
            raise NotInOrderError  # records before any onset: the in-memory pass times them from the first one found
        self.base = base
        head = MESSAGE_PREFIX.pack(MESSAGE_PREFIX.record(self.source_id, ONSET_TIMESTAMP))
        self._onset(head, ONSET_PAYLOAD.pack(base))
        self.last_timestamp, self.last_run = ONSET_TIMESTAMP, 1

    def put(self, chunk: Chunk) -> None:
        """Takes the next window of messages (in arrival order, with their onsets)."""
        count = len(chunk.timestamps)
        if count == 0:
            return
        if self.base is None:
            self._start()
        base = np.uint64(self.base or 0)
        onsets = chunk.onsets if chunk.onsets is not None else np.full(count, base, np.uint64)
        if np.any(onsets == UNKNOWN_ONSET) or np.any(onsets < base):
            raise NotInOrderError
        chunk.rebase(onsets - base)
        timestamps = chunk.timestamps
        if int(timestamps[0]) < self.last_timestamp or np.any(timestamps[1:] < timestamps[:-1]):
            raise NotInOrderError
        repeats = repeat_counts(timestamps)
        repeats[: int(np.count_nonzero(timestamps == self.last_timestamp))] += self.last_run
        self.last_timestamp, self.last_run = int(timestamps[-1]), int(repeats[-1]) + 1
        self._members(chunk, repeats)
        self.releaser.release(chunk.buffer, int(chunk.offsets[-1] + chunk.sizes[-1]))

    def check_sessions(self) -> int:
        """Returns the archive's onset once every window is in, after checking no session began before it."""
        assembly = self.assembly
        onsets = assembly.known_onsets | set(assembly.new_onsets)
        onsets.discard(UNKNOWN_ONSET)
        if self.base is None:
            self._start()
        if min(onsets) != self.base:
            raise NotInOrderError  # a session found after the last window began before the archive's onset
        assembly.sessions = [LogSession(onset, onset - int(self.base)) for onset in sorted(onsets)]
        return int(self.base)

    def _onset(self, head: bytes, payload: bytes) -> None:
        raise NotImplementedError

    def _members(self, chunk: Chunk, repeats: NDArray[np.int64]) -> None:
        raise NotImplementedError


class StreamWriter(_StreamOrder):
    """Appends windows of one source's messages to its archive in order, carrying names across windows."""

    def __init__(self, assembly: SourceAssembly, path: Path, position: int) -> None:
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

    def _members(self, chunk: Chunk, repeats: NDArray[np.int64]) -> None:
        timestamps = chunk.timestamps
        view = memoryview(chunk.buffer)  # type: ignore[arg-type]
        ends = chunk.offsets + chunk.sizes
        for first in range(0, len(timestamps), BATCH):
            last = min(first + BATCH, len(timestamps))
            bodies = [
                view[start:end]
                for start, end in zip(chunk.offsets[first:last].tolist(), ends[first:last].tolist(), strict=True)
            ]
            batch_repeats = repeats[first:last]
            if int(batch_repeats.max()) < MAX_REPEAT:
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
        """Closes the progress bar and removes the unfinished archive."""
        self.progress.close()
        with suppress(OSError):  # closing flushes the buffer, which fails again on a full disk
            self.writer.abort()


class StreamVerifier(_StreamOrder):
    """Reads the sources again in the same order and compares each with the member written for it."""

    def __init__(self, assembly: SourceAssembly, written: ArchiveIndex) -> None:
        super().__init__(assembly)
        self.written = written
        self.next_member = 0

    def _onset(self, head: bytes, payload: bytes) -> None:
        buffer = np.frombuffer(payload, dtype=np.uint8)
        chunk = Chunk("the archive's onset", buffer, np.zeros(1, np.uint64), np.frombuffer(head, np.uint8)[None, :],
                       np.zeros(1, np.int64), np.full(1, len(payload), np.int64))  # fmt: skip
        self._members(chunk, np.zeros(1, dtype=np.int64))

    def _members(self, chunk: Chunk, repeats: NDArray[np.int64]) -> None:
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
        """Checks the sessions and that the archive holds no member beyond the sources'."""
        self.check_sessions()
        if self.next_member != len(self.written):
            raise ArchiveVerificationError(
                f"{self.written.path}: holds {len(self.written)} messages, expected {self.next_member}"
            )
