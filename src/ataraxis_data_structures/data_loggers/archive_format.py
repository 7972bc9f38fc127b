r"""The .npz log archive format: one uncompressed ZIP of one-dimensional uint8 .npy members per source.

This module is the single place that states the archive layout; assembly and the reader import it and never
encode or decode archive structures themselves.

Layout (interchangeable with ataraxis-data-structures 6.2.0)
-----------------------------------------------------------
An archive is named ``{source_id}_log.npz`` (no zero padding) and is a ZIP file whose members are all STORED
(uncompressed). Each member holds one message and is named ``{source_id:03d}_{timestamp:020d}.npy``; a message
whose source and timestamp repeat an earlier one gets ``_{k:06d}`` appended to the stem (k = 1, 2, ... in arrival
order), so names stay unique and sort in archive order. ``numpy.load`` exposes each member under its stem.

Each member is a ``.npy`` file (format version 1.0, written byte for byte as ``numpy.save`` writes it) of a 1-D
uint8 array holding::

    source_id: uint8 | timestamp: uint64 little-endian (elapsed microseconds) | payload

Members are ordered by timestamp, then by arrival. The first member is the onset message: timestamp 0, payload the
uint64 UTC epoch in microseconds that every other timestamp is relative to.

The archive comment (which numpy ignores) carries the assembly manifest: the live log files already consolidated
into the archive, with how many of their bytes and a fingerprint of their start, so an interrupted or repeated
assembly never archives a record twice (see :func:`encode_manifest`).

Why this module writes and indexes ZIP files itself
---------------------------------------------------
Python's ``zipfile`` costs tens of microseconds per member to write or open, which caps assembly and reading at tens
of thousands of messages per second. A STORED archive is simple: each member is a local file header, its name and
its bytes; a central directory at the end lists the members; ZIP64 end records extend the counts and offsets past
65,535 members and 4 GiB. :class:`ArchiveWriter` lays out thousands of members at a time as rows of a numpy
matrix (Python only copies payloads and computes CRC-32s), and :class:`ArchiveIndex` parses the central directory
with vectorized numpy gathers over a memory map, so every payload is a zero-copy view.
"""

from __future__ import annotations

import io
import mmap
import os
import re
import struct
import zipfile
import zlib
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import BinaryIO

import numpy as np
import xxhash
from numpy.typing import NDArray

ARCHIVE_SUFFIX = "_log.npz"
"""The suffix of archive file names: ``{source_id}_log.npz``."""

MESSAGE_PREFIX = struct.Struct("<BQ")
"""The 9 bytes that start every archived message: source_id, elapsed timestamp."""

_ARCHIVE_NAME = re.compile(r"^(\d+)" + re.escape(ARCHIVE_SUFFIX) + r"$")

_LOCAL_HEADER = struct.Struct("<IHHHHHIIIHH")  # 30 bytes
_CENTRAL_HEADER = struct.Struct("<IHHHHHHIIIHHHHHII")  # 46 bytes
_END_RECORD = struct.Struct("<IHHHHIIH")  # 22 bytes
_ZIP64_END_RECORD = struct.Struct("<IQHHIIQQQQ")  # 56 bytes
_ZIP64_LOCATOR = struct.Struct("<IIQI")  # 20 bytes
_LOCAL_SIGNATURE = 0x04034B50
_CENTRAL_SIGNATURE = 0x02014B50
_END_SIGNATURE = 0x06054B50
_ZIP64_END_SIGNATURE = 0x06064B50
_ZIP64_LOCATOR_SIGNATURE = 0x07064B50
_ZIP64_EXTRA_ID = 0x0001
_U16_MAX = 0xFFFF
_U32_MAX = 0xFFFFFFFF
_VERSION_DEFAULT = 20  # 2.0: stored members
_VERSION_ZIP64 = 45  # 4.5: ZIP64 extensions
_MADE_BY_UNIX = 3 << 8
_DOS_DATE_1980 = (1 << 5) | 1  # 1980-01-01, the timestamp numpy.savez gives every member
_FILE_MODE = 0o600 << 16  # external attributes numpy.savez sets (rw for the owner)
_STORED = 0

_NPY_MAGIC = b"\x93NUMPY"
_NPY_DESCR_PREFIX = b"{'descr': '|u1', 'fortran_order': False, 'shape': ("

_MANIFEST_MAGIC = b"axds-archive-sources 1\n"
_FINGERPRINT_SPAN = 65536


def archive_name(source_id: int) -> str:
    """Returns the file name of a source's archive."""
    return f"{source_id}{ARCHIVE_SUFFIX}"


def parse_archive_name(name: str) -> int | None:
    """Returns the source ID of an archive file name, or None when the name is not one."""
    match = _ARCHIVE_NAME.match(name)
    return int(match.group(1)) if match is not None else None


def member_stem(source_id: int, timestamp: int, repeat: int = 0) -> str:
    """Returns the member stem (the key numpy.load exposes) of a message; repeat > 0 marks a duplicate timestamp."""
    stem = f"{source_id:03d}_{timestamp:020d}"
    return f"{stem}_{repeat:06d}" if repeat else stem


def repeat_counts(sorted_timestamps: NDArray[np.uint64]) -> NDArray[np.int64]:
    """Returns, for timestamps sorted ascending, how many earlier entries share each one's timestamp."""
    count = len(sorted_timestamps)
    if count == 0:
        return np.zeros(0, dtype=np.int64)
    starts = np.ones(count, dtype=bool)
    starts[1:] = sorted_timestamps[1:] != sorted_timestamps[:-1]
    run_start = np.maximum.accumulate(np.where(starts, np.arange(count), 0))
    return np.arange(count, dtype=np.int64) - run_start


class _NpyHeaders:
    """Caches the .npy header (and its CRC-32) of a 1-D uint8 array per length, exactly as numpy.save writes it."""

    def __init__(self) -> None:
        self._cache: dict[int, tuple[bytes, int]] = {}

    def get(self, length: int) -> tuple[bytes, int]:
        cached = self._cache.get(length)
        if cached is None:
            buffer = io.BytesIO()
            header = {"descr": "|u1", "fortran_order": False, "shape": (length,)}
            np.lib.format.write_array_header_1_0(buffer, header)
            data = buffer.getvalue()
            cached = (data, zlib.crc32(data))
            if len(self._cache) < 65536:
                self._cache[length] = cached
        return cached


class ArchiveWriter:
    """Streams STORED members into a new ZIP file and finishes it with a central directory and end records.

    Args:
        path: The file to create (truncated if it exists).
        buffer_size: The size of the write buffer in bytes.
    """

    def __init__(self, path: Path, buffer_size: int = 4 << 20) -> None:
        self._path = path
        self._file: BinaryIO = open(path, "wb", buffering=buffer_size)  # noqa: SIM115 - closed by close()/abort()
        self._position = 0
        self._central = bytearray()
        self._count = 0
        self._headers = _NpyHeaders()

    @property
    def count(self) -> int:
        """Returns the number of members written so far."""
        return self._count

    def add(self, stem: str, head: bytes | memoryview, body: bytes | memoryview) -> None:
        """Appends one member holding the message ``head + body`` as a 1-D uint8 .npy array named ``stem.npy``."""
        length = len(head) + len(body)
        npy, npy_crc = self._headers.get(length)
        crc = zlib.crc32(body, zlib.crc32(head, npy_crc))
        size = len(npy) + length
        name = stem.encode("ascii") + b".npy"
        offset = self._position
        if size >= _U32_MAX:
            local_extra = struct.pack("<HHQQ", _ZIP64_EXTRA_ID, 16, size, size)
            local = _LOCAL_HEADER.pack(
                _LOCAL_SIGNATURE,
                _VERSION_ZIP64,
                0,
                _STORED,
                0,
                _DOS_DATE_1980,
                crc,
                _U32_MAX,
                _U32_MAX,
                len(name),
                len(local_extra),
            )
        else:
            local_extra = b""
            local = _LOCAL_HEADER.pack(
                _LOCAL_SIGNATURE, _VERSION_DEFAULT, 0, _STORED, 0, _DOS_DATE_1980, crc, size, size, len(name), 0
            )
        write = self._file.write
        write(b"".join((local, name, local_extra, npy, head)))
        write(body)
        self._position = offset + len(local) + len(name) + len(local_extra) + size
        self._central += _central_entry(name, crc, size, offset)
        self._count += 1

    def add_batch(
        self,
        names: NDArray[np.uint8],
        name_lengths: NDArray[np.int64],
        heads: NDArray[np.uint8],
        bodies: list[memoryview],
    ) -> None:
        """Appends many members at once: the headers are laid out with numpy, only copies and CRCs loop.

        Args:
            names: The member names (with .npy) as rows of bytes, left-aligned and zero-padded.
            name_lengths: The length of each name.
            heads: The first bytes of each message as rows of equal width (the width may be 0).
            bodies: The rest of each message.
        """
        count = len(bodies)
        if count == 0:
            return
        head_width = heads.shape[1]
        lengths = np.fromiter(map(len, bodies), dtype=np.int64, count=count) + head_width
        if int(lengths.max()) + 128 >= _U32_MAX or self._position + int(lengths.sum()) + 256 * count >= _U32_MAX:
            for row in range(count):  # ZIP64 territory: the member-by-member path handles the extra fields
                name = names[row, : name_lengths[row] - 4].tobytes().decode("ascii")
                self.add(name, heads[row].tobytes(), bodies[row])
            return
        body_lengths = lengths - head_width
        distinct, inverse = np.unique(lengths, return_inverse=True)
        npy = [self._headers.get(int(length))[0] for length in distinct]
        npy_sizes = np.asarray([len(header) for header in npy], dtype=np.int64)
        header_table = np.zeros((len(npy), int(npy_sizes.max())), dtype=np.uint8)
        for number, header in enumerate(npy):
            header_table[number, : len(header)] = np.frombuffer(header, dtype=np.uint8)
        npy_sizes = npy_sizes[inverse]
        data_sizes = npy_sizes + lengths
        prefix_sizes = _LOCAL_HEADER.size + name_lengths + npy_sizes + head_width
        record_sizes = prefix_sizes + body_lengths
        width = int(record_sizes.max())
        if width > _MAX_ROW or count * width > _MAX_LAYOUT:
            if count == 1:  # one large member: lay it out directly
                self.add(names[0, : name_lengths[0] - 4].tobytes().decode("ascii"), heads[0].tobytes(), bodies[0])
                return
            half = count // 2
            self.add_batch(names[:half], name_lengths[:half], heads[:half], bodies[:half])
            self.add_batch(names[half:], name_lengths[half:], heads[half:], bodies[half:])
            return
        # Each record is laid out as one row of a matrix (fixed columns per name/header size), then the rows are
        # packed by a mask: numpy does the header work, Python only copies bodies and computes CRCs.
        local = np.zeros(count, dtype=_LOCAL_DTYPE)
        local["signature"] = _LOCAL_SIGNATURE
        local["version"] = _VERSION_DEFAULT
        local["date"] = _DOS_DATE_1980
        local["compressed"] = data_sizes
        local["size"] = data_sizes
        local["name_length"] = name_lengths
        rows = np.zeros((count, width), dtype=np.uint8)
        rows[:, : _LOCAL_HEADER.size] = local.view(np.uint8).reshape(count, -1)
        for name_length, npy_size, members in _layout_groups(name_lengths, npy_sizes):
            name_end = _LOCAL_HEADER.size + name_length
            rows[members, _LOCAL_HEADER.size : name_end] = names[members, :name_length]
            rows[members, name_end : name_end + npy_size] = header_table[inverse[members], :npy_size]
            rows[members, name_end + npy_size : name_end + npy_size + head_width] = heads[members]
        flat = memoryview(rows.reshape(-1))  # type: ignore[arg-type]
        for body, at in zip(bodies, (np.arange(count) * width + prefix_sizes).tolist(), strict=True):
            flat[at : at + len(body)] = body
        out = rows[np.arange(width) < record_sizes[:, None]]
        starts = np.zeros(count, dtype=np.int64)
        np.cumsum(record_sizes[:-1], out=starts[1:])
        view = memoryview(out)
        crc32 = zlib.crc32
        data_starts = starts + _LOCAL_HEADER.size + name_lengths
        crcs = np.fromiter(
            (
                crc32(view[start:end])
                for start, end in zip(data_starts.tolist(), (starts + record_sizes).tolist(), strict=True)
            ),
            dtype=np.uint32,
            count=count,
        )
        out[(starts + _LOCAL_CRC_OFFSET)[:, None] + np.arange(4)] = crcs.view(np.uint8).reshape(count, 4)
        offsets = starts + self._position
        self._file.write(view)
        self._position += len(out)
        entries = np.zeros(count, dtype=_CENTRAL_DTYPE)
        entries["signature"] = _CENTRAL_SIGNATURE
        entries["made_by"] = _MADE_BY_UNIX | _VERSION_DEFAULT
        entries["version"] = _VERSION_DEFAULT
        entries["date"] = _DOS_DATE_1980
        entries["crc"] = crcs
        entries["compressed"] = data_sizes
        entries["size"] = data_sizes
        entries["name_length"] = name_lengths
        entries["external"] = _FILE_MODE
        entries["offset"] = offsets
        entry_width = _CENTRAL_HEADER.size + names.shape[1]
        central = np.zeros((count, entry_width), dtype=np.uint8)
        central[:, : _CENTRAL_HEADER.size] = entries.view(np.uint8).reshape(count, -1)
        central[:, _CENTRAL_HEADER.size :] = names
        self._central += memoryview(central[np.arange(entry_width) < (_CENTRAL_HEADER.size + name_lengths)[:, None]])  # type: ignore[arg-type]
        self._count += count

    def close(self, comment: bytes = b"") -> None:
        """Writes the central directory and end records, then flushes and fsyncs the file.

        Raises:
            ValueError: If the comment is longer than the 65,535 bytes a ZIP comment can hold.
        """
        if len(comment) > _U16_MAX:
            self.abort()
            raise ValueError(f"{self._path}: archive comment of {len(comment)} bytes exceeds the ZIP limit of 65535")
        central_offset = self._position
        central_size = len(self._central)
        self._file.write(self._central)
        end_position = central_offset + central_size
        needs_zip64 = self._count >= _U16_MAX or central_offset >= _U32_MAX or central_size >= _U32_MAX
        if needs_zip64:
            self._file.write(
                _ZIP64_END_RECORD.pack(
                    _ZIP64_END_SIGNATURE,
                    _ZIP64_END_RECORD.size - 12,
                    _MADE_BY_UNIX | _VERSION_ZIP64,
                    _VERSION_ZIP64,
                    0,
                    0,
                    self._count,
                    self._count,
                    central_size,
                    central_offset,
                )
            )
            self._file.write(_ZIP64_LOCATOR.pack(_ZIP64_LOCATOR_SIGNATURE, 0, end_position, 1))
        entries = min(self._count, _U16_MAX)
        self._file.write(
            _END_RECORD.pack(
                _END_SIGNATURE,
                0,
                0,
                entries,
                entries,
                min(central_size, _U32_MAX),
                min(central_offset, _U32_MAX),
                len(comment),
            )
            + comment
        )
        self._file.flush()
        os.fsync(self._file.fileno())
        self._file.close()
        self._central = bytearray()

    def abort(self) -> None:
        """Closes the file without finishing it and removes it."""
        self._file.close()
        self._path.unlink(missing_ok=True)


_LOCAL_DTYPE = np.dtype(
    [
        ("signature", "<u4"), ("version", "<u2"), ("flags", "<u2"), ("method", "<u2"), ("time", "<u2"),
        ("date", "<u2"), ("crc", "<u4"), ("compressed", "<u4"), ("size", "<u4"), ("name_length", "<u2"),
        ("extra_length", "<u2"),
    ]
)  # fmt: skip
_CENTRAL_DTYPE = np.dtype(
    [
        ("signature", "<u4"), ("made_by", "<u2"), ("version", "<u2"), ("flags", "<u2"), ("method", "<u2"),
        ("time", "<u2"), ("date", "<u2"), ("crc", "<u4"), ("compressed", "<u4"), ("size", "<u4"),
        ("name_length", "<u2"), ("extra_length", "<u2"), ("comment_length", "<u2"), ("disk", "<u2"),
        ("internal", "<u2"), ("external", "<u4"), ("offset", "<u4"),
    ]
)  # fmt: skip


_LOCAL_CRC_OFFSET = 14
_MAX_ROW = 1 << 20  # a record wider than this is written on its own
_MAX_LAYOUT = 64 << 20  # the largest layout matrix add_batch builds at once, in bytes


def _layout_groups(
    name_lengths: NDArray[np.int64], npy_sizes: NDArray[np.int64]
) -> list[tuple[int, int, NDArray[np.int64] | slice]]:
    """Returns (name length, .npy header size, members) for each combination present: usually just one."""
    if name_lengths.min() == name_lengths.max() and npy_sizes.min() == npy_sizes.max():
        return [(int(name_lengths[0]), int(npy_sizes[0]), slice(None))]
    keys = name_lengths * (1 << 32) + npy_sizes
    return [(int(key >> 32), int(key & 0xFFFFFFFF), np.flatnonzero(keys == key)) for key in np.unique(keys).tolist()]


def member_names(
    source_id: int, timestamps: NDArray[np.uint64], repeats: NDArray[np.int64]
) -> tuple[NDArray[np.uint8], NDArray[np.int64]]:
    """Returns the member names (``member_stem(...) + '.npy'``) of many messages as zero-padded rows of bytes."""
    count = len(timestamps)
    width = 35 if count and int(repeats.max()) else 28
    names = np.zeros((count, width), dtype=np.uint8)
    names[:, :4] = np.frombuffer(f"{source_id:03d}_".encode("ascii"), dtype=np.uint8)
    remaining = timestamps.astype(np.uint64)
    for column in range(23, 3, -1):
        names[:, column] = (remaining % np.uint64(10)).astype(np.uint8) + 48
        remaining = remaining // np.uint64(10)
    suffix = np.frombuffer(b".npy", dtype=np.uint8)
    lengths = np.where(repeats > 0, 35, 28).astype(np.int64)
    plain = repeats == 0
    names[plain, 24:28] = suffix
    if width == 35:
        repeated = ~plain
        names[repeated, 24] = ord("_")
        digits = repeats[repeated].copy()
        for column in range(30, 24, -1):
            names[repeated, column] = (digits % 10).astype(np.uint8) + 48
            digits //= 10
        names[repeated, 31:35] = suffix
    return names, lengths


def _central_entry(name: bytes, crc: int, size: int, offset: int) -> bytes:
    """Returns the central directory entry of a STORED member, with a ZIP64 extra field where a value needs one."""
    extra_values = []
    if size >= _U32_MAX:
        extra_values += [size, size]
    if offset >= _U32_MAX:
        extra_values.append(offset)
    extra = (
        struct.pack(f"<HH{len(extra_values)}Q", _ZIP64_EXTRA_ID, 8 * len(extra_values), *extra_values)
        if (extra_values)
        else b""
    )
    version = _VERSION_ZIP64 if extra else _VERSION_DEFAULT
    stored_size = _U32_MAX if size >= _U32_MAX else size
    return (
        _CENTRAL_HEADER.pack(
            _CENTRAL_SIGNATURE,
            _MADE_BY_UNIX | version,
            version,
            0,
            _STORED,
            0,
            _DOS_DATE_1980,
            crc,
            stored_size,
            stored_size,
            len(name),
            len(extra),
            0,
            0,
            0,
            _FILE_MODE,
            min(offset, _U32_MAX),
        )
        + name
        + extra
    )


@dataclass(frozen=True, slots=True)
class SourceRecord:
    """One live log file named in an archive's manifest: how much of it the archive already holds."""

    name: str
    """The live log file's name."""
    consumed: int
    """The number of bytes from the start of the file whose records are in the archive."""
    fingerprint: int
    """The xxHash3-64 of the file's first min(consumed, 64 KiB) bytes: tells a new file under a reused name apart."""


def fingerprint(data: bytes | memoryview, consumed: int) -> int:
    """Returns the fingerprint that identifies a live log file in a manifest."""
    return int(xxhash.xxh3_64_intdigest(memoryview(data)[: min(consumed, _FINGERPRINT_SPAN)]))


def encode_manifest(records: list[SourceRecord]) -> bytes:
    """Returns the archive comment that lists the live log files consolidated into the archive."""
    lines = [f"{record.name} {record.consumed} {record.fingerprint:016x}\n".encode("ascii") for record in records]
    return _MANIFEST_MAGIC + b"".join(lines)


def decode_manifest(comment: bytes) -> dict[str, SourceRecord]:
    """Returns the manifest records in an archive comment by file name (empty for archives without a manifest)."""
    if not comment.startswith(_MANIFEST_MAGIC):
        return {}
    records: dict[str, SourceRecord] = {}
    for line in comment[len(_MANIFEST_MAGIC) :].decode("ascii", "replace").splitlines():
        parts = line.split()
        if len(parts) == 3 and parts[1].isdigit():
            try:
                records[parts[0]] = SourceRecord(parts[0], int(parts[1]), int(parts[2], 16))
            except ValueError:
                continue
    return records


def npy_array_bytes(raw: bytes) -> bytes | None:
    """Returns the array bytes of a 1-D uint8 .npy file, or None when the file is not one (or is truncated)."""
    if raw[:6] != _NPY_MAGIC or len(raw) < 10:
        return None
    major = raw[6]
    if major == 1:
        header_end = 10 + int.from_bytes(raw[8:10], "little")
        header = raw[10:header_end]
    elif major in (2, 3) and len(raw) >= 12:
        header_end = 12 + int.from_bytes(raw[8:12], "little")
        header = raw[12:header_end]
    else:
        return None
    if header.startswith(_NPY_DESCR_PREFIX):
        digits_end = header.find(b",", len(_NPY_DESCR_PREFIX))
        shape = header[len(_NPY_DESCR_PREFIX) : digits_end]
        if digits_end < 0 or not shape.isdigit():
            return None
        length = int(shape)
    else:
        try:
            array = np.load(io.BytesIO(raw), allow_pickle=False)
        except (ValueError, OSError, EOFError):
            return None
        if array.dtype != np.uint8 or array.ndim != 1:
            return None
        return bytes(array.tobytes())
    if len(raw) - header_end != length:
        return None
    return raw[header_end:]


def _gather_uint(data: NDArray[np.uint8], positions: NDArray[np.int64], width: int) -> NDArray[np.uint64]:
    """Returns the little-endian unsigned integers of the given byte width that start at each position."""
    value = data[positions].astype(np.uint64)
    for byte in range(1, width):
        value |= data[positions + byte].astype(np.uint64) << np.uint64(8 * byte)
    return value


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

    def _fail(self, problem: str) -> ValueError:
        return ValueError(f"Unable to read log archive {self.path}: {problem}")

    def _read_end_records(self) -> tuple[int, int, int, bytes]:
        """Locates the end of central directory record (and its ZIP64 companions) and returns what they state."""
        data = self._data
        tail_start = max(0, self.size - (_END_RECORD.size + _U16_MAX))
        tail = data[tail_start:].tobytes()
        position = len(tail)
        while True:
            position = tail.rfind(b"PK\x05\x06", 0, position)
            if position < 0:
                raise self._diagnose_missing_end()
            if position + _END_RECORD.size <= len(tail):
                fields = _END_RECORD.unpack_from(tail, position)
                if position + _END_RECORD.size + fields[7] == len(tail):
                    break
        _, _, _, _, entries, central_size, central_offset, comment_length = fields
        comment = tail[position + _END_RECORD.size : position + _END_RECORD.size + comment_length]
        end_position = tail_start + position
        locator_position = end_position - _ZIP64_LOCATOR.size
        if locator_position >= 0 and data[locator_position : locator_position + 4].tobytes() == b"PK\x06\x07":
            _, _, zip64_position, _ = _ZIP64_LOCATOR.unpack(data[locator_position:end_position].tobytes())
            record = data[zip64_position : zip64_position + _ZIP64_END_RECORD.size].tobytes()
            if len(record) < _ZIP64_END_RECORD.size or record[:4] != b"PK\x06\x06":
                raise self._fail(f"the ZIP64 end record at offset {zip64_position} is missing or corrupt")
            zip64 = _ZIP64_END_RECORD.unpack(record)
            entries, central_size, central_offset = zip64[7], zip64[8], zip64[9]
            end_position = zip64_position
        if central_offset + central_size > end_position:
            raise self._fail(
                f"the central directory (offset {central_offset}, {central_size} bytes) runs past the end records "
                f"at offset {end_position}: the file is truncated or corrupt"
            )
        return central_offset, central_size, entries, comment

    def _diagnose_missing_end(self) -> ValueError:
        """Returns the error for a file without end records: not a ZIP, or a truncated one (naming the member)."""
        data = self._data
        if self.size < 4 or data[:4].tobytes() != b"PK\x03\x04":
            return self._fail("not a ZIP (.npz) archive: no end of central directory record and no ZIP header")
        position = 0
        last_whole = None
        count = 0
        while position + _LOCAL_HEADER.size <= self.size and data[position : position + 4].tobytes() == b"PK\x03\x04":
            header = _LOCAL_HEADER.unpack(data[position : position + _LOCAL_HEADER.size].tobytes())
            name_start = position + _LOCAL_HEADER.size
            name = data[name_start : name_start + header[9]].tobytes().decode("utf-8", "replace")
            end = name_start + header[9] + header[10] + header[7]
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
        marks = np.flatnonzero(
            (central[:-3] == 0x50) & (central[1:-2] == 0x4B) & (central[2:-1] == 0x01) & (central[3:] == 0x02)
        ).astype(np.int64)
        if len(marks) == entries and entries > 0 and marks[0] == 0 and marks[-1] + 46 <= size:
            following = marks + 46 + self._u(marks + 28, 2) + self._u(marks + 30, 2) + self._u(marks + 32, 2)
            if np.array_equal(following[:-1], marks[1:]) and following[-1] == size:
                return marks
        # A signature inside a name or extra field (or a damaged directory): walk the chain entry by entry.
        offsets: list[int] = []
        position = 0
        while position < size:
            if position + 46 > size or central[position : position + 4].tobytes() != b"PK\x01\x02":
                raise self._fail(f"central directory entry {len(offsets) + 1} at offset {position} is corrupt")
            offsets.append(position)
            lengths = self._u(np.array([position + 28, position + 30, position + 32], dtype=np.int64), 2)
            position += 46 + int(lengths.sum())
        if len(offsets) != entries:
            raise self._fail(f"the central directory lists {len(offsets)} members but the end record {entries}")
        return np.asarray(offsets, dtype=np.int64)

    def _u(self, positions: NDArray[np.int64], width: int, data: NDArray[np.uint8] | None = None) -> NDArray[np.int64]:
        source = self._central if data is None else data
        return _gather_uint(source, positions, width).astype(np.int64)

    def _read_members(self, central_offset: int) -> None:
        """Locates every member's data, validates its .npy header and records where each message lies."""
        entries = self._entry_offsets
        methods = self._u(entries + 10, 2)
        self.crcs = _gather_uint(self._central, entries + 16, 4).astype(np.uint32)
        sizes = self._u(entries + 24, 4)
        compressed_sizes = self._u(entries + 20, 4)
        self._name_lengths = self._u(entries + 28, 2)
        local_offsets = self._u(entries + 42, 4)
        wide = np.flatnonzero((sizes == _U32_MAX) | (compressed_sizes == _U32_MAX) | (local_offsets == _U32_MAX))
        for index in wide:  # ZIP64 extra fields: rare (members or offsets past 4 GiB), parsed one by one
            sizes[index], compressed_sizes[index], local_offsets[index] = self._zip64_values(
                int(index), int(sizes[index]), int(compressed_sizes[index]), int(local_offsets[index])
            )
        data = self._data
        if len(local_offsets) and int(local_offsets.max()) + _LOCAL_HEADER.size > central_offset:
            bad = int(np.argmax(local_offsets + _LOCAL_HEADER.size > central_offset))
            raise self._fail(f"member {self.member_name(bad)!r} has its local header past the central directory")
        signatures = self._u(local_offsets, 4, data)
        if np.any(signatures != _LOCAL_SIGNATURE):
            bad = int(np.argmax(signatures != _LOCAL_SIGNATURE))
            raise self._fail(f"member {self.member_name(bad)!r}: no local header at offset {int(local_offsets[bad])}")
        starts = local_offsets + _LOCAL_HEADER.size + self._u(local_offsets + 26, 2, data)
        starts += self._u(local_offsets + 28, 2, data)
        ends = starts + compressed_sizes
        if len(ends) and int(ends.max()) > central_offset:
            bad = int(np.argmax(ends > central_offset))
            raise self._fail(
                f"member {self.member_name(bad)!r} runs past the start of the central directory: the archive is "
                "truncated or corrupt"
            )
        if np.any(methods != _STORED):
            self._member_starts: NDArray[np.int64] | None = None
            self._decode_through_zipfile()
            return
        self._member_starts = starts
        self._set_messages(starts, sizes)

    def _zip64_values(self, index: int, size: int, compressed: int, offset: int) -> tuple[int, int, int]:
        entry = int(self._entry_offsets[index])
        central = self._central
        name_length, extra_length = (int(value) for value in self._u(np.array([entry + 28, entry + 30]), 2))
        extra = central[entry + 46 + name_length : entry + 46 + name_length + extra_length].tobytes()
        position = 0
        while position + 4 <= len(extra):
            header_id, length = struct.unpack_from("<HH", extra, position)
            if header_id == _ZIP64_EXTRA_ID:
                values = list(struct.unpack_from(f"<{length // 8}Q", extra, position + 4))
                if size == _U32_MAX:
                    size = values.pop(0)
                if compressed == _U32_MAX:
                    compressed = values.pop(0)
                if offset == _U32_MAX:
                    offset = values.pop(0)
                return size, compressed, offset
            position += 4 + length
        raise self._fail(f"member {self.member_name(index)!r} needs a ZIP64 extra field but has none")

    def _set_messages(self, starts: NDArray[np.int64], sizes: NDArray[np.int64]) -> None:
        """Validates the .npy header of each member starting at ``starts`` and records its message bytes."""
        data = self._data
        count = len(starts)
        if count == 0:
            self.message_offsets = np.zeros(0, dtype=np.int64)
            self.message_sizes = np.zeros(0, dtype=np.int64)
            return
        magic_ok = sizes >= 10
        for position, byte in enumerate(_NPY_MAGIC):
            magic_ok &= data[np.minimum(starts + position, len(data) - 1)] == byte
        major = data[np.minimum(starts + 6, len(data) - 1)].astype(np.int64)
        header_sizes = np.where(
            major == 1,
            10 + self._u(np.minimum(starts + 8, len(data) - 2), 2, data),
            12 + self._u(np.minimum(starts + 8, len(data) - 4), 4, data),
        )
        prefix_start = starts + np.where(major == 1, 10, 12)
        fast = magic_ok & (major >= 1) & (major <= 3) & (header_sizes + 9 <= sizes)
        fast &= prefix_start + len(_NPY_DESCR_PREFIX) <= starts + sizes
        safe_prefix = np.where(fast, prefix_start, 0)
        for position, byte in enumerate(_NPY_DESCR_PREFIX):
            fast &= data[safe_prefix + position] == byte
        fast &= data[np.where(fast, starts + header_sizes - 1, 0)] == 0x0A  # numpy ends every header with a newline
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
            raise self._fail(f"member {name!r} holds {shape[0]} bytes, fewer than a message header (9 bytes)")
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
        entry = int(self._entry_offsets[index])
        length = int(_gather_uint(self._central, np.array([entry + 28]), 2)[0])
        return self._central[entry + 46 : entry + 46 + length].tobytes().decode("utf-8", "replace")

    @cached_property
    def stems(self) -> list[str]:
        """Returns every member's key as numpy.load exposes it: the name without the .npy suffix."""
        names = [
            self._central[entry + 46 : entry + 46 + length].tobytes()
            for entry, length in zip(self._entry_offsets.tolist(), self._name_lengths.tolist(), strict=True)
        ]
        return [
            name[:-4].decode("utf-8", "replace") if name.endswith(b".npy") else name.decode("utf-8", "replace")
            for name in names
        ]

    @cached_property
    def timestamps(self) -> NDArray[np.uint64]:
        """Returns the elapsed timestamp stored in each message."""
        return _gather_uint(self._data, self.message_offsets + 1, 8)

    @cached_property
    def source_ids(self) -> NDArray[np.uint8]:
        """Returns the source ID stored in each message."""
        return self._data[self.message_offsets]

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
