"""Indexes a .npz log archive: parses its ZIP records (:mod:`.archive_layout`) with vectorized numpy gathers.

Python's ``zipfile`` costs tens of microseconds per member to open; :class:`ArchiveIndex` parses the central
directory over a memory map instead, so every message is a zero-copy view of the mapped file.
"""

from __future__ import annotations

import io
import mmap
import os
import zipfile
import zlib
from functools import cached_property
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import NDArray

from ..errors import ArchiveFormatError
from .archive_layout import (
    CENTRAL_DIRECTORY_ENTRY,
    CENTRAL_SIGNATURE,
    END_RECORD,
    END_SIGNATURE,
    EXTRA_FIELD_HEADER,
    LOCAL_FILE_HEADER,
    LOCAL_SIGNATURE,
    MEMBER_SUFFIX,
    MESSAGE_PREFIX,
    NPY_DESCR_PREFIX,
    NPY_HEADER_END,
    NPY_MAGIC,
    NPY_PREAMBLE_V1,
    NPY_PREAMBLE_V2,
    STORED,
    U16_MAX,
    U32_MAX,
    ZIP64_END_LOCATOR,
    ZIP64_END_RECORD,
    ZIP64_END_SIGNATURE,
    ZIP64_EXTRA_ID,
    ZIP64_LOCATOR_SIGNATURE,
    CentralDirectoryEntry,
    RecordLayout,
    signature_bytes,
)

_CENTRAL = CENTRAL_DIRECTORY_ENTRY
_LOCAL = LOCAL_FILE_HEADER


def _gather_uint(data: NDArray[np.uint8], positions: NDArray[np.int64], width: int) -> NDArray[np.uint64]:
    """Returns the little-endian unsigned integers of the given byte width that start at each position."""
    value = data[positions].astype(np.uint64)
    for byte in range(1, width):
        value |= data[positions + byte].astype(np.uint64) << np.uint64(8 * byte)
    return value


def gather_field(
    data: NDArray[np.uint8], layout: RecordLayout[Any], field: str, records: NDArray[np.int64]
) -> NDArray[np.int64]:
    """Returns one field of the records of ``layout`` that start at each position of ``records`` in ``data``."""
    width = layout.dtype.fields[field][0].itemsize  # type: ignore[index]
    return _gather_uint(data, records + layout.offset(field), width).astype(np.int64)


def open_mapped(path: Path) -> tuple[NDArray[np.uint8], int]:
    """Returns a private (copy-on-write) memory map of a file as a uint8 array, and the file's size."""
    with open(path, "rb") as file:
        size = os.fstat(file.fileno()).st_size
        if size == 0:
            return np.zeros(0, dtype=np.uint8), 0
        mapped = mmap.mmap(file.fileno(), 0, access=mmap.ACCESS_COPY)
    return np.frombuffer(mapped, dtype=np.uint8), size


class ArchiveIndex:
    """Indexes the members of a .npz log archive once, giving every message as a view of one buffer.

    The central directory is parsed with vectorized gathers; STORED members are views of a private memory map of
    the file (or of its bytes read into memory). Archives with compressed members are decoded through zipfile.

    Args:
        path: The archive file.
        memory_mapping: Determines whether the file is memory-mapped (True) or read into memory (False).

    Raises:
        FileNotFoundError: If the file does not exist.
        ValueError: If the file is not a ZIP archive, is truncated (naming the member cut off), or holds a member
            that is not a 1-D uint8 .npy array of at least 9 bytes.
    """

    def __init__(self, path: Path, *, memory_mapping: bool = True) -> None:
        self.path = path
        if not path.is_file():
            raise FileNotFoundError(f"Unable to open log archive: no file at {path}")
        if memory_mapping:
            self._data, size = open_mapped(path)
        else:
            self._data = np.fromfile(path, dtype=np.uint8)
            size = len(self._data)
        self.size = size
        central_offset, central_size, entries, self.comment = self._read_end_records()
        self._central = self._data[central_offset : central_offset + central_size]
        self._entry_offsets = self._walk_central_directory(entries)
        self._read_members(central_offset)

    @property
    def buffer(self) -> NDArray[np.uint8]:
        """Returns the uint8 buffer that message_offsets and message_sizes refer to."""
        return self._data

    def __len__(self) -> int:
        return len(self.message_offsets)

    def _fail(self, problem: str) -> ArchiveFormatError:
        return ArchiveFormatError(f"Unable to read log archive {self.path}: {problem}")

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
            record = data[zip64_position : zip64_position + ZIP64_END_RECORD.size].tobytes()
            if len(record) < ZIP64_END_RECORD.size or self._signature_at(zip64_position) != ZIP64_END_SIGNATURE:
                raise self._fail(f"the ZIP64 end record at offset {zip64_position} is missing or corrupt")
            zip64 = ZIP64_END_RECORD.unpack(record)
            entries, central_size, central_offset = zip64.entries, zip64.central_size, zip64.central_offset
            end_position = zip64_position
        if central_offset + central_size > end_position:
            raise self._fail(
                f"the central directory (offset {central_offset}, {central_size} bytes) runs past the end records "
                f"at offset {end_position}: the file is truncated or corrupt"
            )
        return central_offset, central_size, entries, comment

    def _signature_at(self, position: int) -> int | None:
        """Returns the 4-byte record signature at a file position, or None past the end."""
        if position < 0 or position + 4 > len(self._data):
            return None
        return int.from_bytes(self._data[position : position + 4].tobytes(), "little")

    def _diagnose_missing_end(self) -> ValueError:
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

    def _walk_central_directory(self, entries: int) -> NDArray[np.int64]:
        """Returns the offset of each central directory entry (relative to the directory start)."""
        central = self._central
        size = len(central)
        if size < 4:
            if entries:
                raise self._fail(f"the central directory is empty but the end record states {entries} members")
            return np.zeros(0, dtype=np.int64)
        signature = signature_bytes(CENTRAL_SIGNATURE)
        marks = np.flatnonzero(
            (central[:-3] == signature[0])
            & (central[1:-2] == signature[1])
            & (central[2:-1] == signature[2])
            & (central[3:] == signature[3])
        ).astype(np.int64)
        if len(marks) == entries and entries > 0 and marks[0] == 0 and marks[-1] + _CENTRAL.size <= size:
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

    def _read_members(self, central_offset: int) -> None:
        """Locates every member's data, validates its .npy header and records where each message lies."""
        entries = self._entry_offsets
        central = self._central
        methods = gather_field(central, _CENTRAL, "method", entries)
        self.crcs = gather_field(central, _CENTRAL, "crc", entries).astype(np.uint32)
        sizes = gather_field(central, _CENTRAL, "size", entries)
        compressed_sizes = gather_field(central, _CENTRAL, "compressed", entries)
        self._name_lengths = gather_field(central, _CENTRAL, "name_length", entries)
        local_offsets = gather_field(central, _CENTRAL, "offset", entries)
        wide = np.flatnonzero((sizes == U32_MAX) | (compressed_sizes == U32_MAX) | (local_offsets == U32_MAX))
        for index in wide:  # ZIP64 extra fields: rare (members or offsets past 4 GiB), parsed one by one
            sizes[index], compressed_sizes[index], local_offsets[index] = self._zip64_values(
                int(index), int(sizes[index]), int(compressed_sizes[index]), int(local_offsets[index])
            )
        data = self._data
        if len(local_offsets) and int(local_offsets.max()) + _LOCAL.size > central_offset:
            bad = int(np.argmax(local_offsets + _LOCAL.size > central_offset))
            raise self._fail(f"member {self.member_name(bad)!r} has its local header past the central directory")
        signatures = gather_field(data, _LOCAL, "signature", local_offsets)
        if np.any(signatures != LOCAL_SIGNATURE):
            bad = int(np.argmax(signatures != LOCAL_SIGNATURE))
            raise self._fail(f"member {self.member_name(bad)!r}: no local header at offset {int(local_offsets[bad])}")
        starts = local_offsets + _LOCAL.size + gather_field(data, _LOCAL, "name_length", local_offsets)
        starts += gather_field(data, _LOCAL, "extra_length", local_offsets)
        ends = starts + compressed_sizes
        if len(ends) and int(ends.max()) > central_offset:
            bad = int(np.argmax(ends > central_offset))
            raise self._fail(
                f"member {self.member_name(bad)!r} runs past the start of the central directory: the archive is "
                "truncated or corrupt"
            )
        if np.any(methods != STORED):
            self._member_starts: NDArray[np.int64] | None = None
            self._decode_through_zipfile()
            return
        self._member_starts = starts
        self._set_messages(starts, sizes)

    def _zip64_values(self, index: int, size: int, compressed: int, offset: int) -> tuple[int, int, int]:
        entry = self._central_record(index)
        extra_start = int(self._entry_offsets[index]) + _CENTRAL.size + entry.name_length
        extra = self._central[extra_start : extra_start + entry.extra_length].tobytes()
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
        raise self._fail(f"member {self.member_name(index)!r} needs a ZIP64 extra field but has none")

    def _central_record(self, index: int) -> CentralDirectoryEntry:
        """Returns the fixed part of a member's central directory entry."""
        entry = int(self._entry_offsets[index])
        return _CENTRAL.unpack(self._central[entry : entry + _CENTRAL.size].tobytes())

    def _set_messages(self, starts: NDArray[np.int64], sizes: NDArray[np.int64]) -> None:
        """Validates the .npy header of each member starting at ``starts`` and records its message bytes."""
        data = self._data
        count = len(starts)
        if count == 0:
            self.message_offsets = np.zeros(0, dtype=np.int64)
            self.message_sizes = np.zeros(0, dtype=np.int64)
            return
        last = len(data) - 1
        magic_ok = sizes >= NPY_PREAMBLE_V1.size
        magic_at = NPY_PREAMBLE_V1.offset("magic")
        for position, byte in enumerate(NPY_MAGIC):
            magic_ok &= data[np.minimum(starts + magic_at + position, last)] == byte
        major = data[np.minimum(starts + NPY_PREAMBLE_V1.offset("major"), last)].astype(np.int64)
        safe_starts = np.minimum(starts, len(data) - NPY_PREAMBLE_V2.size)
        header_sizes = np.where(
            major == 1,
            NPY_PREAMBLE_V1.size + gather_field(data, NPY_PREAMBLE_V1, "header_length", safe_starts),
            NPY_PREAMBLE_V2.size + gather_field(data, NPY_PREAMBLE_V2, "header_length", safe_starts),
        )
        prefix_start = starts + np.where(major == 1, NPY_PREAMBLE_V1.size, NPY_PREAMBLE_V2.size)
        fast = magic_ok & (major >= 1) & (major <= 3) & (header_sizes + MESSAGE_PREFIX.size <= sizes)
        fast &= prefix_start + len(NPY_DESCR_PREFIX) <= starts + sizes
        safe_prefix = np.where(fast, prefix_start, 0)
        for position, byte in enumerate(NPY_DESCR_PREFIX):
            fast &= data[safe_prefix + position] == byte
        fast &= data[np.where(fast, starts + header_sizes - 1, 0)] == NPY_HEADER_END
        offsets = starts + header_sizes
        lengths = sizes - header_sizes
        for index in np.flatnonzero(~fast):  # headers numpy.save would not write: parse them the careful way
            offsets[index], lengths[index] = self._parse_npy(int(index), int(starts[index]), int(sizes[index]))
        self.message_offsets = offsets
        self.message_sizes = lengths

    def _parse_npy(self, index: int, start: int, size: int) -> tuple[int, int]:
        stream = io.BytesIO(self._data[start : start + size].tobytes())
        name = self.member_name(index)
        try:
            version = np.lib.format.read_magic(stream)
            if version == (1, 0):
                shape, _fortran, dtype = np.lib.format.read_array_header_1_0(stream)
            else:
                shape, _fortran, dtype = np.lib.format.read_array_header_2_0(stream)
        except (ValueError, OSError, SyntaxError) as error:
            raise self._fail(f"member {name!r} is not a valid .npy array ({error})") from None
        if dtype != np.uint8 or len(shape) != 1:
            raise self._fail(f"member {name!r} holds a {dtype} array of shape {shape}, expected a 1-D uint8 array")
        header = stream.tell()
        if shape[0] != size - header:
            raise self._fail(f"member {name!r} states {shape[0]} bytes but holds {size - header}: it is truncated")
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
                for index in range(len(self._entry_offsets)):
                    chunks.append(archive.read(self.member_name(index)))
        except (zipfile.BadZipFile, zlib.error) as error:
            raise self._fail(f"a compressed member is corrupt ({error})") from None
        sizes = np.asarray([len(chunk) for chunk in chunks], dtype=np.int64)
        starts = np.zeros(len(chunks), dtype=np.int64)
        if chunks:
            starts[1:] = np.cumsum(sizes)[:-1]
        self._data = np.frombuffer(b"".join(chunks), dtype=np.uint8) if chunks else np.zeros(0, dtype=np.uint8)
        self._set_messages(starts, sizes)

    def member_name(self, index: int) -> str:
        """Returns the full name (with the .npy suffix) of a member."""
        start = int(self._entry_offsets[index]) + _CENTRAL.size
        length = self._central_record(index).name_length
        return self._central[start : start + length].tobytes().decode("utf-8", "replace")

    @cached_property
    def stems(self) -> list[str]:
        """Returns every member's key as numpy.load exposes it: the name without the .npy suffix."""
        suffix = MEMBER_SUFFIX.encode("ascii")
        names = [
            self._central[start : start + length].tobytes()
            for start, length in zip(
                (self._entry_offsets + _CENTRAL.size).tolist(), self._name_lengths.tolist(), strict=True
            )
        ]
        return [
            name[: -len(suffix)].decode("utf-8", "replace")
            if name.endswith(suffix)
            else name.decode("utf-8", "replace")
            for name in names
        ]

    @cached_property
    def timestamps(self) -> NDArray[np.uint64]:
        """Returns the elapsed timestamp stored in each message."""
        width = MESSAGE_PREFIX.dtype["timestamp"].itemsize
        return _gather_uint(self._data, self.message_offsets + MESSAGE_PREFIX.offset("timestamp"), width)

    @cached_property
    def source_ids(self) -> NDArray[np.uint8]:
        """Returns the source ID stored in each message."""
        return self._data[self.message_offsets + MESSAGE_PREFIX.offset("source_id")]

    def message(self, index: int) -> NDArray[np.uint8]:
        """Returns the bytes of one message (source ID, timestamp, payload) as a view of the buffer."""
        start = int(self.message_offsets[index])
        return self._data[start : start + int(self.message_sizes[index])]

    def check_crcs(self) -> int | None:
        """Returns the index of the first member whose bytes fail the CRC-32 of the central directory, or None."""
        if self._member_starts is None:  # decoded through zipfile, which checked every CRC
            return None
        data = memoryview(self._data)  # type: ignore[arg-type]
        crc32 = zlib.crc32
        ends = (self.message_offsets + self.message_sizes).tolist()
        for index, (start, end, expected) in enumerate(
            zip(self._member_starts.tolist(), ends, self.crcs.tolist(), strict=True)
        ):
            if crc32(data[start:end]) != expected:
                return index
        return None
