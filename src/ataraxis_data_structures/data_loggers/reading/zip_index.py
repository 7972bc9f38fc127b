"""Indexes a .npz log archive: validates and locates its members over a memory map, vectorized (``vectors``).

The records parsed are those of ``formats.archive_layout``: ZIP end records, central directory, local headers and
each member's ``.npy`` header.

Python's ``zipfile`` costs tens of microseconds per member to open; :class:`ArchiveIndex` parses the records over a
memory map instead, so every message is a zero-copy view of the mapped file. This module validates and locates
members; the lookup of members by name is ``member_names``, the process-wide cache of indexes ``index_cache``.

Trust: the index (central directory) is never taken on its word. Each member's CRC-32, sizes and name length are
compared with its local header, its extent must end before the next member starts, and its ``.npy`` header must be
the one numpy writes for exactly the bytes the ZIP records state (or parse as a 1-D uint8 array of that length), so a
flipped bit in any size or offset is an :class:`~ataraxis_data_structures.errors.ArchiveFormatError` naming the
archive and the member, never a payload that runs into the next member. Payload bytes themselves are covered only
by the CRC-32, which :meth:`ArchiveIndex.check_crcs` verifies on request (it reads every byte).

Speed: archives that assembly (or numpy) writes are regular: every central directory entry has the same size, and
members of one payload length lie at equal distances. Regular runs are read as strided structured views (one numpy
operation per field, no gather); anything else takes the general path (vectorized gathers) with the same checks.
Members are validated lazily, in chunks, when their messages are first needed, so counting the messages or
reading a part of a large archive touches only the pages it needs.

Truncation: a mapped file that shrinks (re-copied with ``cp``, an NFS hiccup) would kill the process with SIGBUS
when a page past its new end is touched. The index re-checks the file size before it touches member pages (before
each chunk), and raises an ArchiveFormatError naming the file instead.
"""

from __future__ import annotations

import io
import mmap
import os
import zipfile
import zlib
from functools import cached_property
from pathlib import Path
from tokenize import TokenError
from typing import Any, NamedTuple

import numpy as np
from numpy.typing import NDArray

from ...errors import ArchiveFormatError
from ..formats.archive_layout import (
    CENTRAL_DIRECTORY_ENTRY,
    CENTRAL_SIGNATURE,
    END_RECORD,
    END_SIGNATURE,
    EXTRA_FIELD_HEADER,
    LOCAL_FILE_HEADER,
    LOCAL_SIGNATURE,
    MESSAGE_PREFIX,
    NPY_MAGIC,
    NPY_PREAMBLE_V1,
    STORED,
    U16_MAX,
    U32_MAX,
    ZIP64_END_LOCATOR,
    ZIP64_END_RECORD,
    ZIP64_END_SIGNATURE,
    ZIP64_EXTRA_ID,
    ZIP64_LOCATOR_SIGNATURE,
    npy_header,
    signature_bytes,
)
from .vectors import equal_stride, gather_field, gather_uint, records_at, rows_at, rows_equal

__all__ = ["CHUNK_MEMBERS", "VALIDATION_GRAIN", "ArchiveIndex", "open_mapped"]

_CENTRAL = CENTRAL_DIRECTORY_ENTRY
_LOCAL = LOCAL_FILE_HEADER
_DATA_DESCRIPTOR_FLAG = 0x08  # general purpose bit 3: CRC and sizes follow the data, the local header holds zeros

_DONT_NEED: int | None = getattr(mmap, "MADV_DONTNEED", None)  # absent on Windows: pages then stay mapped

CHUNK_MEMBERS = 1 << 16
"""Members are validated (and the file size re-checked) in chunks of at most this many members."""

VALIDATION_GRAIN = 1 << 12
"""Which members were validated is tracked in grains of this many members, so a batch of keys validates little
beyond its own members (a worker given every other batch would otherwise validate whole chunks twice)."""


def _map(path: Path, access: int = mmap.ACCESS_COPY) -> tuple[NDArray[np.uint8], mmap.mmap | None, int]:
    """Returns a memory map of a file as a uint8 array (private and writable by default), the map and its size."""
    with open(path, "rb") as file:
        size = os.fstat(file.fileno()).st_size
        if size == 0:
            return np.zeros(0, dtype=np.uint8), None, 0
        mapped = mmap.mmap(file.fileno(), 0, access=access)
    return np.frombuffer(mapped, dtype=np.uint8), mapped, size


def open_mapped(path: Path) -> tuple[NDArray[np.uint8], int]:
    """Returns a private (copy-on-write) memory map of a file as a uint8 array, and the file's size."""
    data, _, size = _map(path)
    return data, size


class _Central(NamedTuple):
    """What the central directory states about each member, as one array per field.

    Each column has the smallest dtype its values need (32-bit sizes and offsets unless the archive uses ZIP64), so
    the index of a 2,500,000-member archive costs about 60 MB, not 200.
    """

    entry_offsets: NDArray[np.unsignedinteger[Any]] | NDArray[np.int64]
    """Where each entry starts, relative to the start of the central directory."""
    name_lengths: NDArray[np.uint16]
    methods: NDArray[np.uint16]
    crcs: NDArray[np.uint32]
    compressed: NDArray[np.uint32] | NDArray[np.int64]
    sizes: NDArray[np.uint32] | NDArray[np.int64]
    local_offsets: NDArray[np.uint32] | NDArray[np.int64]
    wide: NDArray[np.bool_]
    """Members whose sizes or offset are in a ZIP64 extra field (their local header holds 0xFFFFFFFF)."""


class ArchiveIndex:
    """Indexes the members of a .npz log archive once, giving every message as a view of one buffer.

    With ``lazy=True``, opening reads the end records and the central directory only; member pages are read (and
    validated) in chunks the first time their messages are needed. STORED members are views of a private memory
    map of the file (or of its bytes read into memory). Archives with compressed members are decoded through zipfile.

    Args:
        path: The archive file.
        memory_mapping: Determines whether the file is memory-mapped (True) or read into memory (False).
        lazy: Determines whether members are checked when first read (True) or all while opening (False). A lazy
            index maps the file read-only and returns pages to the page cache after reading them (see release()).

    Raises:
        FileNotFoundError: If the file does not exist.
        ArchiveFormatError: If the file is not a ZIP archive, is truncated (naming the member cut off), or its
            records disagree (naming the member).
    """

    def __init__(self, path: Path, *, memory_mapping: bool = True, lazy: bool = False) -> None:
        self.path = path
        if not path.is_file():
            raise FileNotFoundError(f"Unable to open log archive: no file at {path}")
        self._mapping: mmap.mmap | None = None
        if memory_mapping:
            # A lazy index serves readers: a read-only shared map, whose pages it can hand back to the page cache
            # once read (bounded memory). The eager one serves assembly, which has always had a private map.
            self._data, self._mapping, size = _map(path, mmap.ACCESS_READ if lazy else mmap.ACCESS_COPY)
        else:
            self._data = np.fromfile(path, dtype=np.uint8)
            size = len(self._data)
        self.size = size
        central_offset, central_size, entries, self.comment = self._read_end_records()
        self._central_offset = central_offset
        self._central = self._data[central_offset : central_offset + central_size]
        self._lazy = lazy
        self._columns = self._parse_central(entries)
        if lazy:  # the columns are copied out: the directory's pages are read again only for names
            self.release(central_offset, central_offset + central_size)
        self.crcs = self._columns.crcs
        count = entries
        # Per member: where its message starts, its size, its .npy header's size and its timestamp, in the smallest
        # dtypes that hold them (20 bytes a member for files under 4 GiB).
        position: type[np.integer[Any]] = np.uint32 if size < U32_MAX else np.int64
        self._decoded = False  # read through zipfile, which checks every CRC
        self._offsets: NDArray[Any] = np.zeros(count, dtype=position)
        self._sizes: NDArray[Any] = np.zeros(count, dtype=position)
        self._header_sizes = np.zeros(count, dtype=np.uint32)
        self._stamps = np.zeros(count, dtype=np.uint64)
        self._validated = np.zeros((count + VALIDATION_GRAIN - 1) // VALIDATION_GRAIN, dtype=bool)
        self._next_offsets: NDArray[np.int64] | None = None
        if count and np.any(self._columns.methods != STORED):
            self._decoded = True
            self._decode_through_zipfile()
        if not lazy:
            self.ensure()

    @property
    def buffer(self) -> NDArray[np.uint8]:
        """Returns the uint8 buffer that message_offsets and message_sizes refer to."""
        return self._data

    def __len__(self) -> int:
        return len(self._columns.entry_offsets)

    def _fail(self, problem: str) -> ArchiveFormatError:
        return ArchiveFormatError(f"Unable to read log archive {self.path}: {problem}")

    def check_size(self) -> None:
        """Raises an ArchiveFormatError when the mapped file has shrunk since it was opened.

        Touching a mapped page past the file's new end would kill the process with SIGBUS.
        """
        if self._mapping is None:
            return
        current = self._mapping.size()
        if current < self.size:
            raise self._fail(
                f"the file shrank from {self.size} to {current} bytes while it was open (truncated, or re-copied "
                "over); open it again once it is complete"
            )

    def release(self, start: int, end: int) -> None:
        """Returns the mapped pages inside the file range [start, end) to the page cache (lazy indexes only).

        The bytes stay readable: the next access maps them again from the page cache. This keeps a reader's
        resident memory from growing with the archive as it walks it.
        """
        if self._mapping is None or not self._lazy or _DONT_NEED is None:
            return
        page = mmap.PAGESIZE
        first = (start + page - 1) // page * page
        last = min(end, self.size) // page * page
        if last > first:
            self._mapping.madvise(_DONT_NEED, first, last - first)

    def release_members(self, positions: NDArray[np.int64]) -> None:
        """Returns the pages of the members between the lowest and the highest position to the page cache."""
        if len(positions) == 0 or self._mapping is None or not self._lazy:
            return
        low, high = int(positions.min()), int(positions.max())
        self.release(int(self._columns.local_offsets[low]), int(self._following_offsets(high, high + 1)[0]))

    # ----------------------------------------------------------------------------------------------------------
    # End records and central directory
    # ----------------------------------------------------------------------------------------------------------

    def _signature_at(self, position: int) -> int | None:
        """Returns the 4-byte record signature at a file position, or None past the end."""
        if position < 0 or position + 4 > len(self._data):
            return None
        return int.from_bytes(self._data[position : position + 4].tobytes(), "little")

    def _read_end_records(self) -> tuple[int, int, int, bytes]:
        """Locates the end of central directory record (and its ZIP64 companions) and returns what they state."""
        data = self._data
        tail_start = max(0, self.size - (END_RECORD.size + U16_MAX))
        tail = data[tail_start:].tobytes()
        position = len(tail)
        while True:
            position = tail.rfind(signature_bytes(END_SIGNATURE), 0, position)
            if position < 0:
                raise self._diagnose_missing_end()
            if position + END_RECORD.size <= len(tail):
                end = END_RECORD.unpack(tail, position)
                if position + END_RECORD.size + end.comment_length == len(tail):
                    break
        entries, central_size, central_offset = end.entries, end.central_size, end.central_offset
        comment = tail[position + END_RECORD.size : position + END_RECORD.size + end.comment_length]
        end_position = tail_start + position
        locator_position = end_position - ZIP64_END_LOCATOR.size
        if locator_position >= 0 and self._signature_at(locator_position) == ZIP64_LOCATOR_SIGNATURE:
            locator = ZIP64_END_LOCATOR.unpack(data[locator_position:end_position].tobytes())
            zip64_position = locator.record_offset
            if (
                zip64_position + ZIP64_END_RECORD.size > locator_position
                or self._signature_at(zip64_position) != ZIP64_END_SIGNATURE
            ):
                raise self._fail(f"the ZIP64 end record at offset {zip64_position} is missing or corrupt")
            zip64 = ZIP64_END_RECORD.unpack(data[zip64_position : zip64_position + ZIP64_END_RECORD.size].tobytes())
            entries, central_size, central_offset = zip64.entries, zip64.central_size, zip64.central_offset
            end_position = zip64_position
        if central_offset + central_size > end_position:
            raise self._fail(
                f"the central directory (offset {central_offset}, {central_size} bytes) runs past the end records "
                f"at offset {end_position}: the file is truncated or corrupt"
            )
        return central_offset, central_size, entries, comment

    def _diagnose_missing_end(self) -> ArchiveFormatError:
        """Returns the error for a file without end records: not a ZIP, or a truncated one (naming the member)."""
        data = self._data
        if self._signature_at(0) != LOCAL_SIGNATURE:
            return self._fail("not a ZIP (.npz) archive: no end of central directory record and no ZIP header")
        position = 0
        last_whole = None
        count = 0
        while position + _LOCAL.size <= self.size and self._signature_at(position) == LOCAL_SIGNATURE:
            header = _LOCAL.unpack(data[position : position + _LOCAL.size].tobytes())
            name_start = position + _LOCAL.size
            name = data[name_start : name_start + header.name_length].tobytes().decode("utf-8", "replace")
            end = name_start + header.name_length + header.extra_length + header.compressed
            if end > self.size:
                return self._fail(
                    f"the archive is truncated inside member {name!r} (member {count + 1}, local header at offset "
                    f"{position}, needs {end - self.size} more bytes); {count} whole members precede it"
                )
            last_whole = name
            count += 1
            position = end
        return self._fail(
            f"the archive is truncated after member {last_whole!r} ({count} whole members): its central directory "
            "is missing; run assemble_log_archives again on the log directory if the sources are still there"
        )

    def _parse_central(self, entries: int) -> _Central:
        """Reads every central directory entry's fields and checks them against the directory's own bounds."""
        central = self._central
        entry_offsets = self._locate_entries(entries)
        if len(entry_offsets) == 0:
            empty = np.zeros(0, dtype=np.int64)
            short = np.zeros(0, dtype=np.uint16)
            return _Central(empty, short, short, np.zeros(0, np.uint32), empty, empty, empty, np.zeros(0, bool))
        fields = records_at(central, _CENTRAL, entry_offsets)
        count = len(entry_offsets)
        stated_sizes = np.zeros(count, dtype=np.uint32)
        stated_compressed = np.zeros(count, dtype=np.uint32)
        stated_offsets = np.zeros(count, dtype=np.uint32)
        name_lengths = np.zeros(count, dtype=np.uint16)
        methods = np.zeros(count, dtype=np.uint16)
        crcs = np.zeros(count, dtype=np.uint32)
        for low in range(0, count, CHUNK_MEMBERS):  # a chunk at a time, its pages handed back after
            high = min(count, low + CHUNK_MEMBERS)
            part = fields[low:high]
            stated_sizes[low:high] = part["size"]
            stated_compressed[low:high] = part["compressed"]
            stated_offsets[low:high] = part["offset"]
            name_lengths[low:high] = part["name_length"]
            methods[low:high] = part["method"]
            crcs[low:high] = part["crc"]
            self.release(
                self._central_offset + int(entry_offsets[low]),
                self._central_offset + int(entry_offsets[high - 1]) + _CENTRAL.size,
            )
        wide = (stated_sizes == U32_MAX) | (stated_compressed == U32_MAX) | (stated_offsets == U32_MAX)
        width: type[np.integer[Any]] = np.int64 if np.any(wide) else np.uint32  # ZIP64 values need 64 bits
        sizes = stated_sizes.astype(width, copy=False)
        compressed = stated_compressed.astype(width, copy=False)
        local_offsets = stated_offsets.astype(width, copy=False)
        if len(central) < U32_MAX:
            entry_offsets = entry_offsets.astype(np.uint32)
        columns = _Central(
            entry_offsets=entry_offsets,
            name_lengths=name_lengths,
            methods=methods,
            crcs=crcs,
            compressed=compressed,
            sizes=sizes,
            local_offsets=local_offsets,
            wide=wide,
        )
        for index in np.flatnonzero(wide):  # ZIP64 extra fields: rare (members or offsets past 4 GiB)
            sizes[index], compressed[index], local_offsets[index] = self._zip64_values(
                columns, int(index), int(sizes[index]), int(compressed[index]), int(local_offsets[index])
            )
        past = local_offsets.astype(np.int64) + _LOCAL.size + columns.name_lengths + compressed > self._central_offset
        if np.any(past):
            bad = int(np.argmax(past))
            raise self._fail(
                f"member {self._name(columns, bad)!r} (local header at offset {int(local_offsets[bad])}, "
                f"{int(compressed[bad])} bytes) runs past the start of the central directory at offset "
                f"{self._central_offset}: the archive is truncated or its index is corrupt"
            )
        return columns

    def _locate_entries(self, entries: int) -> NDArray[np.int64]:
        """Returns the offset of each central directory entry (relative to the directory start)."""
        central = self._central
        size = len(central)
        if size < _CENTRAL.size:
            if entries or size:
                raise self._fail(f"the central directory ({size} bytes) cannot hold the {entries} members it states")
            return np.zeros(0, dtype=np.int64)
        # Regular: every entry has the first one's size (one name length, no extra field): one strided check.
        first = _CENTRAL.unpack(central[: _CENTRAL.size].tobytes())
        stride = _CENTRAL.size + first.name_length + first.extra_length + first.comment_length
        if entries > 0 and stride * entries == size:
            fields = np.ndarray((entries,), _CENTRAL.dtype, buffer=central, strides=(stride,))
            regular = True
            for low in range(0, entries, CHUNK_MEMBERS):  # a chunk at a time, its pages handed back after
                part = fields[low : low + CHUNK_MEMBERS]
                regular = bool(
                    np.all(part["signature"] == CENTRAL_SIGNATURE)
                    and np.all(part["name_length"] == first.name_length)
                    and np.all(part["extra_length"] == first.extra_length)
                    and np.all(part["comment_length"] == first.comment_length)
                )
                self.release(self._central_offset + low * stride, self._central_offset + (low + len(part)) * stride)
                if not regular:
                    break
            if regular:
                return np.arange(entries, dtype=np.int64) * stride
        signature = signature_bytes(CENTRAL_SIGNATURE)
        marks = np.flatnonzero(
            (central[:-3] == signature[0])
            & (central[1:-2] == signature[1])
            & (central[2:-1] == signature[2])
            & (central[3:] == signature[3])
        ).astype(np.int64)
        marks = marks[marks + _CENTRAL.size <= size]
        if len(marks) == entries and entries > 0 and marks[0] == 0:
            following = marks + self._entry_sizes(marks)
            if np.array_equal(following[:-1], marks[1:]) and following[-1] == size:
                return marks
        # A signature inside a name or extra field (or a damaged directory): walk the chain entry by entry.
        offsets: list[int] = []
        position = 0
        while position < size:
            if position + _CENTRAL.size > size or central[position : position + 4].tobytes() != signature:
                raise self._fail(f"central directory entry {len(offsets) + 1} at offset {position} is corrupt")
            offsets.append(position)
            position += int(self._entry_sizes(np.array([position], dtype=np.int64))[0])
        if position != size:
            raise self._fail(f"central directory entry {len(offsets)} runs past the end of the directory")
        if len(offsets) != entries:
            raise self._fail(f"the central directory lists {len(offsets)} members but the end record {entries}")
        return np.asarray(offsets, dtype=np.int64)

    def _entry_sizes(self, entries: NDArray[np.int64]) -> NDArray[np.int64]:
        """Returns the size of each central directory entry: the fixed record, its name, extra field and comment."""
        central = self._central
        return (
            _CENTRAL.size
            + gather_field(central, _CENTRAL, "name_length", entries)
            + gather_field(central, _CENTRAL, "extra_length", entries)
            + gather_field(central, _CENTRAL, "comment_length", entries)
        )

    def _zip64_values(
        self, columns: _Central, index: int, size: int, compressed: int, offset: int
    ) -> tuple[int, int, int]:
        entry = int(columns.entry_offsets[index])
        record = _CENTRAL.unpack(self._central[entry : entry + _CENTRAL.size].tobytes())
        extra_start = entry + _CENTRAL.size + record.name_length
        extra = self._central[extra_start : extra_start + record.extra_length].tobytes()
        position = 0
        while position + EXTRA_FIELD_HEADER.size <= len(extra):
            header = EXTRA_FIELD_HEADER.unpack(extra, position)
            if header.header_id == ZIP64_EXTRA_ID:
                body = extra[position + EXTRA_FIELD_HEADER.size : position + EXTRA_FIELD_HEADER.size + header.length]
                values = [int.from_bytes(body[at : at + 8], "little") for at in range(0, len(body) - 7, 8)]
                if size == U32_MAX and values:
                    size = values.pop(0)
                if compressed == U32_MAX and values:
                    compressed = values.pop(0)
                if offset == U32_MAX and values:
                    offset = values.pop(0)
                return size, compressed, offset
            position += EXTRA_FIELD_HEADER.size + header.length
        raise self._fail(f"member {self._name(columns, index)!r} needs a ZIP64 extra field but has none")

    def _name(self, columns: _Central, index: int) -> str:
        start = int(columns.entry_offsets[index]) + _CENTRAL.size
        return self._central[start : start + int(columns.name_lengths[index])].tobytes().decode("utf-8", "replace")

    def member_name(self, index: int) -> str:
        """Returns the full name (with the .npy suffix) of a member."""
        return self._name(self._columns, index)

    # ----------------------------------------------------------------------------------------------------------
    # Members: validated lazily, chunk by chunk
    # ----------------------------------------------------------------------------------------------------------

    def ensure(self, positions: NDArray[np.int64] | None = None, *, release: bool = True) -> None:
        """Validates the members at the given positions (all members for None) if that has not happened yet.

        With ``release=False`` the validated members' pages stay mapped (the caller reads them next and releases
        them itself).
        """
        if self._decoded or len(self._validated) == 0:
            return
        if positions is None:
            grains = np.flatnonzero(~self._validated)
        else:
            if len(positions) == 0:
                return
            low, high = int(positions.min()) // VALIDATION_GRAIN, int(positions.max()) // VALIDATION_GRAIN
            # A run of keys: validate the span (cheaper than finding the distinct grains).
            span = high - low < 1 << 12
            candidates = np.arange(low, high + 1) if span else np.unique(positions // VALIDATION_GRAIN)
            grains = candidates[~self._validated[candidates]]
        if len(grains) == 0:
            return
        # Consecutive grains are validated together, up to a chunk at a time (fewer, larger vectorized passes).
        breaks = np.flatnonzero(np.diff(grains) != 1) + 1
        per_chunk = CHUNK_MEMBERS // VALIDATION_GRAIN
        for run in np.split(grains, breaks):
            for first in range(0, len(run), per_chunk):
                low, high = int(run[first]), int(run[min(len(run), first + per_chunk) - 1])
                start, stop = low * VALIDATION_GRAIN, min(len(self), (high + 1) * VALIDATION_GRAIN)
                self._validate(start, stop, release=release)
                self._validated[low : high + 1] = True

    def _following_offsets(self, start: int, stop: int) -> NDArray[np.int64]:
        """Returns where the next member (or the central directory) starts, for members start..stop."""
        local_offsets = self._columns.local_offsets
        if self._members_in_order:
            following = np.empty(stop - start, dtype=np.int64)
            following[: stop - start - 1] = local_offsets[start + 1 : stop]
            following[-1:] = local_offsets[stop] if stop < len(local_offsets) else self._central_offset
            return following
        if self._next_offsets is None:
            count = len(local_offsets)
            if count < 2 or np.all(local_offsets[1:] > local_offsets[:-1]):
                following = np.empty(count, dtype=np.int64)
                following[:-1] = local_offsets[1:]
                following[-1:] = self._central_offset
            else:  # members listed out of file order (a foreign writer): the next member by position
                order = np.argsort(local_offsets, kind="stable")
                ordered = local_offsets[order]
                following_ordered = np.append(ordered[1:], self._central_offset)
                following = np.empty(count, dtype=np.int64)
                following[order] = following_ordered
            self._next_offsets = following
        return self._next_offsets[start:stop]

    @cached_property
    def _members_in_order(self) -> bool:
        """Returns whether the members lie in the file in directory order (as every writer we know puts them)."""
        local_offsets = self._columns.local_offsets
        return len(local_offsets) < 2 or bool(np.all(local_offsets[1:] > local_offsets[:-1]))

    def _validate(self, start: int, stop: int, *, release: bool = True) -> None:
        """Checks members start..stop against their local and .npy headers and records where their messages lie."""
        self.check_size()
        columns = self._columns
        data = self._data
        local_offsets = columns.local_offsets[start:stop].astype(np.int64)
        local = records_at(data, _LOCAL, local_offsets)
        bad_signature = local["signature"] != LOCAL_SIGNATURE
        if np.any(bad_signature):
            bad = start + int(np.argmax(bad_signature))
            raise self._fail(
                f"member {self.member_name(bad)!r}: no local header at offset {int(columns.local_offsets[bad])} "
                "(the central directory's offset is wrong, or the member was overwritten)"
            )
        name_lengths = local["name_length"].astype(np.int64)
        extra_lengths = local["extra_length"].astype(np.int64)
        compared = (local["flags"] & _DATA_DESCRIPTOR_FLAG) == 0
        compared &= ~columns.wide[start:stop]
        local_sizes = local["size"].astype(np.int64)
        local_compressed = local["compressed"].astype(np.int64)
        zip64 = (local_sizes == U32_MAX) | (local_compressed == U32_MAX)
        if np.any(zip64):  # zipfile (numpy.savez) gives every member a ZIP64 extra field with both sizes
            self._read_local_zip64(local_offsets, name_lengths, extra_lengths, zip64, local_sizes, local_compressed)
            compared &= (local_sizes != U32_MAX) & (local_compressed != U32_MAX)
        checks = (
            ("name length", name_lengths, columns.name_lengths[start:stop], np.ones(stop - start, dtype=bool)),
            ("compression method", local["method"].astype(np.int64), columns.methods[start:stop], compared),
            ("CRC-32", local["crc"].astype(np.int64), columns.crcs[start:stop].astype(np.int64), compared),
            ("compressed size", local_compressed, columns.compressed[start:stop], compared),
            ("size", local_sizes, columns.sizes[start:stop], compared),
        )
        for label, stated_locally, stated_centrally, mask in checks:
            differs = mask & (stated_locally != stated_centrally)
            if np.any(differs):
                bad = int(np.argmax(differs))
                raise self._fail(
                    f"member {self.member_name(start + bad)!r}: the central directory states {label} "
                    f"{int(stated_centrally[bad])} but the member's local header {int(stated_locally[bad])} (a "
                    "damaged index or header: the member cannot be trusted)"
                )
        starts = local_offsets + _LOCAL.size + name_lengths + extra_lengths
        sizes = columns.sizes[start:stop].astype(np.int64)
        ends = starts + columns.compressed[start:stop]
        overruns = ends > self._following_offsets(start, stop)
        if np.any(overruns):
            bad = int(np.argmax(overruns))
            raise self._fail(
                f"member {self.member_name(start + bad)!r}: its stated size ({int(sizes[bad])} bytes) runs past the "
                "start of the next member (a damaged index: the member cannot be trusted)"
            )
        unstored = sizes != columns.compressed[start:stop]
        if np.any(unstored):
            bad = int(np.argmax(unstored))
            raise self._fail(f"member {self.member_name(start + bad)!r}: a stored member's two sizes differ")
        offsets, lengths = self._read_npy_headers(start, starts, sizes)
        self._header_sizes[start:stop] = offsets - starts
        self._offsets[start:stop] = offsets
        self._sizes[start:stop] = lengths
        # The timestamps are read now, while the pages are at hand, so they never have to be mapped again for them.
        self._stamps[start:stop] = records_at(data, MESSAGE_PREFIX, offsets)["timestamp"]
        if release:
            self.release_members(np.array([start, stop - 1], dtype=np.int64))

    def _read_local_zip64(  # noqa: PLR0917 - one call site, arrays of one chunk
        self,
        local_offsets: NDArray[np.int64],
        name_lengths: NDArray[np.int64],
        extra_lengths: NDArray[np.int64],
        zip64: NDArray[np.bool_],
        sizes: NDArray[np.int64],
        compressed: NDArray[np.int64],
    ) -> None:
        """Replaces the 0xFFFFFFFF sizes of local headers by the values of their ZIP64 extra field, in place.

        Only the layout zipfile writes (the extra field first, holding both sizes) is read; any other keeps
        0xFFFFFFFF, which leaves that member's sizes to the .npy header check.
        """
        members = np.flatnonzero(zip64 & (sizes == U32_MAX) & (compressed == U32_MAX) & (extra_lengths >= 20))
        if len(members) == 0:
            return
        extra = local_offsets[members] + _LOCAL.size + name_lengths[members]
        header_ids = gather_field(self._data, EXTRA_FIELD_HEADER, "header_id", extra)
        lengths = gather_field(self._data, EXTRA_FIELD_HEADER, "length", extra)
        members = members[(header_ids == ZIP64_EXTRA_ID) & (lengths >= 16)]
        extra = local_offsets[members] + _LOCAL.size + name_lengths[members] + EXTRA_FIELD_HEADER.size
        sizes[members] = gather_uint(self._data, extra, 8).astype(np.int64)
        compressed[members] = gather_uint(self._data, extra + 8, 8).astype(np.int64)

    def _read_npy_headers(
        self, first: int, starts: NDArray[np.int64], sizes: NDArray[np.int64]
    ) -> tuple[NDArray[np.int64], NDArray[np.int64]]:
        """Checks each member's .npy header and returns where its array bytes start and how many there are.

        A header byte for byte as numpy.save writes it for the member's stated size passes in one vectorized
        comparison per distinct length; any other header is parsed the careful way (and refused unless it states a
        1-D uint8 array of exactly the bytes that follow it).
        """
        data = self._data
        count = len(starts)
        offsets = np.zeros(count, dtype=np.int64)
        lengths = np.zeros(count, dtype=np.int64)
        careful = np.ones(count, dtype=bool)
        plausible = np.flatnonzero(sizes >= NPY_PREAMBLE_V1.size + MESSAGE_PREFIX.size)
        if len(plausible):
            preamble = records_at(data, NPY_PREAMBLE_V1, starts[plausible])
            header_sizes = NPY_PREAMBLE_V1.size + preamble["header_length"].astype(np.int64)
            fits = (preamble["magic"] == NPY_MAGIC) & (preamble["major"] == 1) & (preamble["minor"] == 0)
            fits &= header_sizes + MESSAGE_PREFIX.size <= sizes[plausible]
            members = plausible[fits]
            array_lengths = sizes[members] - header_sizes[fits]
            distinct, inverse = np.unique(array_lengths, return_inverse=True)
            for number, length in enumerate(distinct.tolist()):
                expected = np.frombuffer(npy_header(length), dtype=np.uint8)
                group = members[inverse == number]
                group = group[sizes[group] - len(expected) == length]
                if len(group) == 0:
                    continue
                matches = rows_equal(rows_at(data, starts[group], len(expected)), expected)
                passed = group[matches]
                offsets[passed] = starts[passed] + len(expected)
                lengths[passed] = length
                careful[passed] = False
        for index in np.flatnonzero(careful).tolist():
            offsets[index], lengths[index] = self._parse_npy(first + index, int(starts[index]), int(sizes[index]))
        return offsets, lengths

    def _parse_npy(self, index: int, start: int, size: int) -> tuple[int, int]:
        stream = io.BytesIO(self._data[start : start + size].tobytes())
        name = self.member_name(index)
        try:
            version = np.lib.format.read_magic(stream)
            if version == (1, 0):
                shape, _fortran, dtype = np.lib.format.read_array_header_1_0(stream)
            else:
                shape, _fortran, dtype = np.lib.format.read_array_header_2_0(stream)
        except (ValueError, OSError, SyntaxError, EOFError, TokenError) as error:  # numpy parses the header text
            raise self._fail(f"member {name!r} is not a valid .npy array ({error})") from None
        if dtype != np.uint8 or len(shape) != 1:
            raise self._fail(f"member {name!r} holds a {dtype} array of shape {shape}, expected a 1-D uint8 array")
        header = stream.tell()
        if shape[0] != size - header:
            raise self._fail(
                f"member {name!r}: its .npy header states {shape[0]} bytes but the ZIP records give it "
                f"{size - header} (a damaged header or index: the member cannot be trusted)"
            )
        if shape[0] < MESSAGE_PREFIX.size:
            raise self._fail(
                f"member {name!r} holds {shape[0]} bytes, fewer than a message prefix ({MESSAGE_PREFIX.size} bytes)"
            )
        return start + header, size - header

    def _decode_through_zipfile(self) -> None:
        """Reads an archive with compressed members through zipfile into memory (slow, but rare)."""
        chunks: list[bytes] = []
        try:
            with zipfile.ZipFile(self.path) as archive:
                for index in range(len(self)):
                    chunks.append(archive.read(self.member_name(index)))
        except (zipfile.BadZipFile, zlib.error) as error:
            raise self._fail(f"a compressed member is corrupt ({error})") from None
        sizes = np.asarray([len(chunk) for chunk in chunks], dtype=np.int64)
        starts = np.zeros(len(chunks), dtype=np.int64)
        if chunks:
            starts[1:] = np.cumsum(sizes)[:-1]
        self._data = np.frombuffer(b"".join(chunks), dtype=np.uint8) if chunks else np.zeros(0, dtype=np.uint8)
        self._mapping = None
        offsets, lengths = self._read_npy_headers(0, starts, sizes)
        self._offsets, self._sizes = offsets, lengths
        self._stamps = records_at(self._data, MESSAGE_PREFIX, offsets)["timestamp"].astype(np.uint64)
        self._validated[:] = True

    # ----------------------------------------------------------------------------------------------------------
    # Messages
    # ----------------------------------------------------------------------------------------------------------

    @property
    def message_offsets(self) -> NDArray[np.int64]:
        """Returns where each member's message (source ID, timestamp, payload) starts in the buffer."""
        self.ensure()
        return self._offsets.astype(np.int64)

    @property
    def message_sizes(self) -> NDArray[np.int64]:
        """Returns the size of each member's message in bytes."""
        self.ensure()
        return self._sizes.astype(np.int64)

    def message_layout(
        self, positions: NDArray[np.int64], *, release: bool = True
    ) -> tuple[NDArray[np.int64], NDArray[np.int64]]:
        """Returns the message offsets and sizes of the members at the given positions (validating them first)."""
        self.ensure(positions, release=release)
        return self._offsets[positions].astype(np.int64), self._sizes[positions].astype(np.int64)

    def timestamps_at(self, positions: NDArray[np.int64]) -> NDArray[np.uint64]:
        """Returns the elapsed timestamp stored in the messages at the given positions."""
        self.ensure(positions)
        stamps: NDArray[np.uint64] = self._stamps[positions]
        return stamps

    @property
    def timestamps(self) -> NDArray[np.uint64]:
        """Returns the elapsed timestamp stored in each message."""
        self.ensure()
        return self._stamps

    @cached_property
    def source_ids(self) -> NDArray[np.uint8]:
        """Returns the source ID stored in each message."""
        self.check_size()
        source_ids: NDArray[np.uint8] = self._data[self.message_offsets + MESSAGE_PREFIX.offset("source_id")]
        return source_ids

    def _ensure_member(self, index: int) -> None:
        """Validates one member, not its whole chunk, unless the chunk already is (the onset of a large archive)."""
        if self._decoded or self._validated[index // VALIDATION_GRAIN]:
            return
        self._validate(index, index + 1)

    def message(self, index: int, *, alone: bool = False) -> NDArray[np.uint8]:
        """Returns the bytes of one message (source ID, timestamp, payload) as a view of the buffer.

        With ``alone``, only this member is validated, not its chunk (for a lookup that reads nothing else).
        """
        if not 0 <= index < len(self):
            raise IndexError(f"member {index} is out of range: the archive {self.path} holds {len(self)} members")
        if alone:
            self._ensure_member(index)
        else:
            self.ensure(np.array([index], dtype=np.int64))
        self.check_size()
        offset = int(self._offsets[index])
        return self._data[offset : offset + int(self._sizes[index])]

    def message_timestamp(self, index: int) -> int:
        """Returns the elapsed timestamp stored in one message (validating only that member)."""
        if not 0 <= index < len(self):
            raise IndexError(f"member {index} is out of range: the archive {self.path} holds {len(self)} members")
        self._ensure_member(index)
        return int(self._stamps[index])

    # ----------------------------------------------------------------------------------------------------------
    # Names (the lookup table over them is member_names.MemberNames)
    # ----------------------------------------------------------------------------------------------------------

    @cached_property
    def name_rows(self) -> NDArray[np.uint8]:
        """Returns every member's full name as zero-padded rows of bytes (zero-copy when all have one length)."""
        columns = self._columns
        if len(self) == 0:
            return np.zeros((0, 1), dtype=np.uint8)
        width = int(columns.name_lengths.max())
        starts = columns.entry_offsets.astype(np.int64) + _CENTRAL.size
        if int(columns.name_lengths.min()) == width and equal_stride(starts) is not None:
            return rows_at(self._central, starts, width)
        beyond = np.arange(width) >= columns.name_lengths[:, None]
        positions = np.where(beyond, 0, starts[:, None] + np.arange(width))  # the last name may end the directory
        rows: NDArray[np.uint8] = self._central[positions]
        rows[beyond] = 0
        return rows

    @property
    def name_lengths(self) -> NDArray[np.uint16]:
        """Returns the length of each member's name, as the central directory states it."""
        return self._columns.name_lengths

    def release_entries(self, first: int, last: int) -> None:
        """Hands back the pages of the central directory entries first..last (inclusive) once their names are read."""
        starts = self._columns.entry_offsets
        self.release(
            self._central_offset + int(starts[first]), self._central_offset + int(starts[last]) + _CENTRAL.size
        )

    # ----------------------------------------------------------------------------------------------------------
    # Integrity
    # ----------------------------------------------------------------------------------------------------------

    def check_crcs(self) -> int | None:
        """Returns the index of the first member whose bytes fail the CRC-32 of the central directory, or None.

        Reads every byte of every member (chunk by chunk, re-checking the file size before each chunk).
        """
        if self._decoded:  # read through zipfile, which checked every CRC
            return None
        crc32 = zlib.crc32
        crcs = self.crcs
        for first in range(0, len(self), CHUNK_MEMBERS):
            last = min(len(self), first + CHUNK_MEMBERS)
            self.ensure(np.array([first, last - 1], dtype=np.int64))
            self.check_size()
            data = memoryview(self._data)  # type: ignore[arg-type]
            offsets = self._offsets[first:last].astype(np.int64)
            starts = (offsets - self._header_sizes[first:last]).tolist()
            ends = (offsets + self._sizes[first:last]).tolist()
            for index, (start, end, expected) in enumerate(zip(starts, ends, crcs[first:last].tolist(), strict=True)):
                if crc32(data[start:end]) != expected:
                    return first + index
        return None
