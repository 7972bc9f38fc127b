"""Writes STORED ZIP (.npz) log archives fast: thousands of members laid out at a time as rows of a numpy matrix.

Python's ``zipfile`` costs tens of microseconds per member to write, which caps assembly at tens of thousands of
messages per second. :class:`ArchiveWriter` lays out the records of :mod:`.archive_layout` with numpy; Python only
copies payloads and computes CRC-32s. Every byte it writes is what ``numpy.savez`` would write for the same arrays.
"""

from __future__ import annotations

import os
import shutil
import tempfile
import zlib
from pathlib import Path
from typing import BinaryIO, NamedTuple

import numpy as np
from numpy.typing import NDArray

from ..formats.archive_layout import (
    CENTRAL_DIRECTORY_ENTRY,
    CENTRAL_SIGNATURE,
    DOS_DATE_1980,
    END_RECORD,
    END_SIGNATURE,
    EXTRA_FIELD_HEADER,
    FILE_MODE,
    LOCAL_FILE_HEADER,
    LOCAL_SIGNATURE,
    MADE_BY_UNIX,
    MEMBER_STEM_WIDTH,
    MEMBER_SUFFIX,
    REPEAT_SUFFIX_WIDTH,
    STORED,
    U16_MAX,
    U32_MAX,
    VERSION_DEFAULT,
    VERSION_ZIP64,
    ZIP64_END_LOCATOR,
    ZIP64_END_RECORD,
    ZIP64_END_SIGNATURE,
    ZIP64_EXTRA_ID,
    ZIP64_LOCATOR_SIGNATURE,
    CentralDirectoryEntry,
    EndRecord,
    ExtraFieldHeader,
    LocalFileHeader,
    Zip64EndRecord,
    Zip64Locator,
    npy_header,
)

__all__ = ["ArchiveWriter", "member_names"]


class _NpyHeaders:
    """Caches the .npy header (and its CRC-32) of a 1-D uint8 array per length, exactly as numpy.save writes it."""

    def __init__(self) -> None:
        self._cache: dict[int, tuple[bytes, int]] = {}

    def get(self, length: int) -> tuple[bytes, int]:
        cached = self._cache.get(length)
        if cached is None:
            data = npy_header(length)
            cached = (data, zlib.crc32(data))
            if len(self._cache) < 65536:
                self._cache[length] = cached
        return cached


class _CentralDirectory:
    """The central directory entries written so far: in memory up to a limit, then in an unnamed temporary file.

    Its 74 bytes a member would otherwise be the one part of assembly's memory that grows with the messages (185 MB
    for one 2,500,000-member archive). The spill file lives next to the archive and has no name, so a crash leaves
    nothing behind.
    """

    def __init__(self, directory: Path, limit: int = 16 << 20) -> None:
        self._directory = directory
        self._limit = limit
        self._memory = bytearray()
        self._spill: BinaryIO | None = None
        self._spilled = 0

    def __len__(self) -> int:
        return self._spilled + len(self._memory)

    def append(self, entries: bytes | bytearray | memoryview) -> None:
        """Adds encoded entries; moves the buffered ones to the spill file once they pass the limit."""
        self._memory += entries
        if len(self._memory) >= self._limit:
            if self._spill is None:
                self._spill = tempfile.TemporaryFile(dir=self._directory)  # noqa: SIM115 - closed by close()
            self._spill.write(self._memory)
            self._spilled += len(self._memory)
            self._memory = bytearray()

    def copy_to(self, target: BinaryIO) -> None:
        """Writes every entry, in order, to target."""
        if self._spill is not None:
            self._spill.flush()
            self._spill.seek(0)
            shutil.copyfileobj(self._spill, target, 4 << 20)
        target.write(self._memory)

    def close(self) -> None:
        """Frees the buffer and removes the spill file."""
        self._memory = bytearray()
        if self._spill is not None:
            self._spill.close()
            self._spill = None
        self._spilled = 0


class _Batch(NamedTuple):
    """The members add_batch appends: names as zero-padded rows, their lengths, the messages' heads and bodies."""

    names: NDArray[np.uint8]
    name_lengths: NDArray[np.int64]
    heads: NDArray[np.uint8]
    bodies: list[memoryview]

    def part(self, rows: slice) -> _Batch:
        """Returns the batch of the members in rows."""
        return _Batch(self.names[rows], self.name_lengths[rows], self.heads[rows], self.bodies[rows])


class ArchiveWriter:
    """Streams STORED members into a new ZIP file and finishes it with a central directory and end records.

    Args:
        path: The file to create (truncated if it exists).
        buffer_size: The size of the write buffer in bytes.
        central_memory: How many bytes of central directory entries are kept in memory before they move to an
            unnamed temporary file next to the archive (memory that does not grow with the members).
    """

    def __init__(self, path: Path, buffer_size: int = 4 << 20, *, central_memory: int = 16 << 20) -> None:
        self._path = path
        self._file: BinaryIO = open(path, "wb", buffering=buffer_size)  # noqa: SIM115 - closed by close()/abort()
        self._position = 0
        self._central = _CentralDirectory(path.parent, central_memory)
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
        name = stem.encode("ascii") + MEMBER_SUFFIX.encode("ascii")
        offset = self._position
        wide = size >= U32_MAX
        local_extra = _zip64_extra([size, size]) if wide else b""
        local = LOCAL_FILE_HEADER.pack(
            LocalFileHeader(
                signature=LOCAL_SIGNATURE,
                version=VERSION_ZIP64 if wide else VERSION_DEFAULT,
                flags=0,
                method=STORED,
                time=0,
                date=DOS_DATE_1980,
                crc=crc,
                compressed=U32_MAX if wide else size,
                size=U32_MAX if wide else size,
                name_length=len(name),
                extra_length=len(local_extra),
            )
        )
        write = self._file.write
        write(b"".join((local, name, local_extra, npy, head)))
        write(body)
        self._position = offset + len(local) + len(name) + len(local_extra) + size
        self._central.append(_central_entry(name, crc, size, offset))
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
        batch = _Batch(names, name_lengths, heads, bodies)
        head_width = heads.shape[1]
        lengths = np.fromiter(map(len, bodies), dtype=np.int64, count=count) + head_width
        if int(lengths.max()) + 128 >= U32_MAX or self._position + int(lengths.sum()) + 256 * count >= U32_MAX:
            self._add_each(batch)  # ZIP64 territory: add() writes the extra fields
            return
        header_table, inverse, npy_sizes = self._npy_header_table(lengths)
        record_sizes = LOCAL_FILE_HEADER.size + name_lengths + npy_sizes + lengths
        width = int(record_sizes.max())
        if width > _MAX_ROW or count * width > _MAX_LAYOUT:
            if count == 1:  # one large member: lay it out directly
                self._add_each(batch)
                return
            half = count // 2
            self.add_batch(*batch.part(slice(None, half)))
            self.add_batch(*batch.part(slice(half, None)))
            return
        data_sizes = npy_sizes + lengths
        out = _lay_out_records(batch, (header_table, inverse), npy_sizes, data_sizes)
        starts = np.zeros(count, dtype=np.int64)
        np.cumsum(record_sizes[:-1], out=starts[1:])
        crcs = _fill_crcs(out, starts + LOCAL_FILE_HEADER.size + name_lengths, starts + record_sizes, starts)
        offsets = starts + self._position
        self._file.write(memoryview(out))  # type: ignore[arg-type]
        self._position += len(out)
        self._central.append(_central_entries(names, name_lengths, crcs, data_sizes, offsets))
        self._count += count

    def _add_each(self, batch: _Batch) -> None:
        """Appends the members one by one (add()), for ZIP64 sizes and members too large to lay out as rows."""
        names, name_lengths, heads, bodies = batch
        for row in range(len(bodies)):
            name = names[row, : name_lengths[row] - 4].tobytes().decode("ascii")
            self.add(name, heads[row].tobytes(), bodies[row])

    def _npy_header_table(
        self, lengths: NDArray[np.int64]
    ) -> tuple[NDArray[np.uint8], NDArray[np.intp], NDArray[np.int64]]:
        """Returns the .npy headers of the distinct message lengths as rows, each message's row and header size."""
        distinct, inverse = np.unique(lengths, return_inverse=True)
        npy = [self._headers.get(int(length))[0] for length in distinct]
        npy_sizes = np.asarray([len(header) for header in npy], dtype=np.int64)
        header_table = np.zeros((len(npy), int(npy_sizes.max())), dtype=np.uint8)
        for number, header in enumerate(npy):
            header_table[number, : len(header)] = np.frombuffer(header, dtype=np.uint8)
        return header_table, inverse, npy_sizes[inverse]

    def close(self, comment: bytes = b"") -> None:
        """Writes the central directory and end records, then flushes and fsyncs the file.

        Raises:
            ValueError: If the comment is longer than the 65,535 bytes a ZIP comment can hold.
        """
        if len(comment) > U16_MAX:
            self.abort()
            raise ValueError(f"{self._path}: archive comment of {len(comment)} bytes exceeds the ZIP limit of 65535")
        central_offset = self._position
        central_size = len(self._central)
        self._central.copy_to(self._file)
        end_position = central_offset + central_size
        needs_zip64 = self._count >= U16_MAX or central_offset >= U32_MAX or central_size >= U32_MAX
        if needs_zip64:
            self._file.write(
                ZIP64_END_RECORD.pack(
                    Zip64EndRecord(
                        signature=ZIP64_END_SIGNATURE,
                        record_size=ZIP64_END_RECORD.size - ZIP64_END_RECORD.offset("made_by"),
                        made_by=MADE_BY_UNIX | VERSION_ZIP64,
                        version=VERSION_ZIP64,
                        disk=0,
                        central_disk=0,
                        disk_entries=self._count,
                        entries=self._count,
                        central_size=central_size,
                        central_offset=central_offset,
                    )
                )
            )
            self._file.write(
                ZIP64_END_LOCATOR.pack(
                    Zip64Locator(signature=ZIP64_LOCATOR_SIGNATURE, disk=0, record_offset=end_position, disks=1)
                )
            )
        entries = min(self._count, U16_MAX)
        end = EndRecord(
            signature=END_SIGNATURE,
            disk=0,
            central_disk=0,
            disk_entries=entries,
            entries=entries,
            central_size=min(central_size, U32_MAX),
            central_offset=min(central_offset, U32_MAX),
            comment_length=len(comment),
        )
        self._file.write(END_RECORD.pack(end) + comment)
        self._file.flush()
        os.fsync(self._file.fileno())
        self._file.close()
        self._central.close()

    def abort(self) -> None:
        """Closes the file without finishing it and removes it."""
        self._file.close()
        self._central.close()
        self._path.unlink(missing_ok=True)


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
    prefix = f"{source_id:03d}_".encode("ascii")
    suffix = np.frombuffer(MEMBER_SUFFIX.encode("ascii"), dtype=np.uint8)
    stem_end = MEMBER_STEM_WIDTH  # the timestamp's last digit is the stem's last character
    plain_width = stem_end + len(suffix)
    repeat_end = stem_end + REPEAT_SUFFIX_WIDTH
    repeated_width = repeat_end + len(suffix)
    width = repeated_width if count and int(repeats.max()) else plain_width
    names = np.zeros((count, width), dtype=np.uint8)
    names[:, : len(prefix)] = np.frombuffer(prefix, dtype=np.uint8)
    remaining = timestamps.astype(np.uint64)
    for column in range(stem_end - 1, len(prefix) - 1, -1):
        names[:, column] = (remaining % np.uint64(10)).astype(np.uint8) + ord("0")
        remaining = remaining // np.uint64(10)
    lengths = np.where(repeats > 0, repeated_width, plain_width).astype(np.int64)
    plain = repeats == 0
    names[plain, stem_end:plain_width] = suffix
    if width == repeated_width:
        repeated = ~plain
        names[repeated, stem_end] = ord("_")
        digits = repeats[repeated].copy()
        for column in range(repeat_end - 1, stem_end, -1):
            names[repeated, column] = (digits % 10).astype(np.uint8) + ord("0")
            digits //= 10
        names[repeated, repeat_end:repeated_width] = suffix
    return names, lengths


def _zip64_extra(values: list[int]) -> bytes:
    """Returns a ZIP64 extended information extra field holding the given 64-bit values."""
    header = EXTRA_FIELD_HEADER.pack(ExtraFieldHeader(header_id=ZIP64_EXTRA_ID, length=8 * len(values)))
    return header + b"".join(value.to_bytes(8, "little") for value in values)


def _central_entry(name: bytes, crc: int, size: int, offset: int) -> bytes:
    """Returns the central directory entry of a STORED member, with a ZIP64 extra field where a value needs one."""
    extra_values = []
    if size >= U32_MAX:
        extra_values += [size, size]
    if offset >= U32_MAX:
        extra_values.append(offset)
    extra = _zip64_extra(extra_values) if extra_values else b""
    version = VERSION_ZIP64 if extra else VERSION_DEFAULT
    stored_size = U32_MAX if size >= U32_MAX else size
    entry = CentralDirectoryEntry(
        signature=CENTRAL_SIGNATURE,
        made_by=MADE_BY_UNIX | version,
        version=version,
        flags=0,
        method=STORED,
        time=0,
        date=DOS_DATE_1980,
        crc=crc,
        compressed=stored_size,
        size=stored_size,
        name_length=len(name),
        extra_length=len(extra),
        comment_length=0,
        disk=0,
        internal=0,
        external=FILE_MODE,
        offset=min(offset, U32_MAX),
    )
    return CENTRAL_DIRECTORY_ENTRY.pack(entry) + name + extra


def _lay_out_records(
    batch: _Batch,
    npy_headers: tuple[NDArray[np.uint8], NDArray[np.intp]],
    npy_sizes: NDArray[np.int64],
    data_sizes: NDArray[np.int64],
) -> NDArray[np.uint8]:
    """Returns the local records of a batch (header, name, .npy header, head, body) packed back to back, CRCs zero.

    Each record is laid out as one row of a matrix (fixed columns per name/header size), then the rows are packed by
    a mask: numpy does the header work, Python only copies the bodies.
    """
    names, name_lengths, heads, bodies = batch
    count = len(bodies)
    header_table, header_of = npy_headers  # the distinct .npy headers as rows, and each member's row
    head_width = heads.shape[1]
    prefix_sizes = LOCAL_FILE_HEADER.size + name_lengths + npy_sizes + head_width
    record_sizes = LOCAL_FILE_HEADER.size + name_lengths + data_sizes
    width = int(record_sizes.max())
    local = np.zeros(count, dtype=LOCAL_FILE_HEADER.dtype)
    local["signature"] = LOCAL_SIGNATURE
    local["version"] = VERSION_DEFAULT
    local["date"] = DOS_DATE_1980
    local["compressed"] = data_sizes
    local["size"] = data_sizes
    local["name_length"] = name_lengths
    rows = np.zeros((count, width), dtype=np.uint8)
    rows[:, : LOCAL_FILE_HEADER.size] = local.view(np.uint8).reshape(count, -1)
    for name_length, npy_size, members in _layout_groups(name_lengths, npy_sizes):
        name_end = LOCAL_FILE_HEADER.size + name_length
        rows[members, LOCAL_FILE_HEADER.size : name_end] = names[members, :name_length]
        rows[members, name_end : name_end + npy_size] = header_table[header_of[members], :npy_size]
        rows[members, name_end + npy_size : name_end + npy_size + head_width] = heads[members]
    flat = memoryview(rows.reshape(-1))  # type: ignore[arg-type]
    for body, at in zip(bodies, (np.arange(count) * width + prefix_sizes).tolist(), strict=True):
        flat[at : at + len(body)] = body
    packed: NDArray[np.uint8] = rows[np.arange(width) < record_sizes[:, None]]
    return packed


def _fill_crcs(
    out: NDArray[np.uint8], data_starts: NDArray[np.int64], data_ends: NDArray[np.int64], starts: NDArray[np.int64]
) -> NDArray[np.uint32]:
    """Writes the CRC-32 of each member's data (out[data_starts:data_ends]) into its local header; returns them."""
    view = memoryview(out)  # type: ignore[arg-type]
    crc32 = zlib.crc32
    count = len(starts)
    crcs = np.fromiter(
        (crc32(view[start:end]) for start, end in zip(data_starts.tolist(), data_ends.tolist(), strict=True)),
        dtype=np.uint32,
        count=count,
    )
    out[(starts + LOCAL_FILE_HEADER.offset("crc"))[:, None] + np.arange(4)] = crcs.view(np.uint8).reshape(count, 4)
    return crcs


def _central_entries(
    names: NDArray[np.uint8],
    name_lengths: NDArray[np.int64],
    crcs: NDArray[np.uint32],
    data_sizes: NDArray[np.int64],
    offsets: NDArray[np.int64],
) -> memoryview:
    """Returns the central directory entries (record and name) of a batch of members, packed back to back."""
    count = len(crcs)
    entries = np.zeros(count, dtype=CENTRAL_DIRECTORY_ENTRY.dtype)
    entries["signature"] = CENTRAL_SIGNATURE
    entries["made_by"] = MADE_BY_UNIX | VERSION_DEFAULT
    entries["version"] = VERSION_DEFAULT
    entries["date"] = DOS_DATE_1980
    entries["crc"] = crcs
    entries["compressed"] = data_sizes
    entries["size"] = data_sizes
    entries["name_length"] = name_lengths
    entries["external"] = FILE_MODE
    entries["offset"] = offsets
    entry_width = CENTRAL_DIRECTORY_ENTRY.size + names.shape[1]
    central = np.zeros((count, entry_width), dtype=np.uint8)
    central[:, : CENTRAL_DIRECTORY_ENTRY.size] = entries.view(np.uint8).reshape(count, -1)
    central[:, CENTRAL_DIRECTORY_ENTRY.size :] = names
    entry_sizes = CENTRAL_DIRECTORY_ENTRY.size + name_lengths
    return memoryview(central[np.arange(entry_width) < entry_sizes[:, None]])  # type: ignore[arg-type]
