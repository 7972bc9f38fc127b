r"""The live log format written by DataLogger: append-only files of framed, checksummed records.

This module is the single place that states the format; the writer (the logger process) and the readers
(archive assembly, inspection) import it and never encode or decode records themselves.

Layout
------
A log directory (``{output_directory}/{instance_name}_data_log``) holds one file per source and logger session,
named ``{source_id:03d}-{segment:04d}.axlog.npy``. ``segment`` counts up from 0: a logger that starts in a directory
that already holds segments of a source opens the next free number, so an earlier (possibly torn) file is never
appended to.

The name ends in ``.npy`` because the lab's code recognises a live log directory by its ``*.npy`` entries (it skips
assembly of a folder without them) and the API reference describes the entries as .npy files. The files are NOT
NumPy arrays: the name is chosen so that neither release's ``assemble_log_archives`` can take one for a message
(6.2.0 and 7.2.0 read the source ID and timestamp from a message's name, ``{source_id:03d}_{timestamp:020d}.npy``,
and raise ``ValueError`` on these names before writing anything; tests/data_loggers/test_live_entry_names.py runs
both on a folder of ours). Files named ``{source_id:03d}-{segment:04d}.axlog``, written by earlier versions of this
library, are read the same way (LEGACY_FILE_SUFFIX), and segment numbers count across both names.

Each file is::

    file header (16 bytes): magic b"AXDSLOG\x00" | version: uint16 | source_id: uint8 | 5 reserved zero bytes
    record, record, ...

and each record is::

    record header (16 bytes): payload_length: uint32 | timestamp: uint64 | crc32: uint32
    payload (payload_length bytes)

All integers are little-endian. ``timestamp`` is the LogPackage's acquisition time (elapsed microseconds; the onset
message has timestamp 0 and an 8-byte payload holding the UTC epoch in microseconds). ``crc32`` is zlib's CRC-32 of
the first 12 bytes of the record header followed by the payload, so a torn or corrupted length, timestamp or
payload is detected. Records are appended in arrival order; a record is whole only when its checksum matches.

A process that dies mid-write can leave a torn tail: a partial header, a partial payload, or (after a power loss)
bytes that never reached the disk. Readers recover every whole record and report the rest as a :class:`TailDefect`
instead of hiding it. Damage inside a file (a flipped bit on the disk, a block of zeros a power loss left) costs only
the damaged bytes: the reader looks for the next record that validates after them (first where the damaged
record's own length points, then byte by byte), recovers everything from there on, and reports the skipped region.
A false resynchronization needs a random 32-bit CRC to match and is not a practical concern. A damaged file header
(a zeroed first page, a flipped bit in the magic) is such a region too when the caller knows the source from the file
name (``expected_source_id``): the records after it are recovered and the header is reported as damaged.
"""

from __future__ import annotations

import re
import struct
import zlib
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import NamedTuple

import numpy as np
from numpy.typing import NDArray

from ...errors import LogFormatError

__all__ = [
    "DAMAGED_HEADER",
    "FILE_HEADER",
    "FILE_MAGIC",
    "FILE_SUFFIX",
    "FORMAT_VERSION",
    "LARGE_PAYLOAD_SIZE",
    "LEGACY_FILE_SUFFIX",
    "LogFileName",
    "MAX_PAYLOAD_SIZE",
    "RECORD_HEADER_SIZE",
    "RecordIndex",
    "TailDefect",
    "decode_file_header",
    "encode_file_header",
    "encode_record",
    "encode_record_header",
    "encode_records",
    "iter_record_windows",
    "log_file_name",
    "next_segment",
    "parse_log_file_name",
    "scan_records",
]

FILE_MAGIC = b"AXDSLOG\x00"
"""The first 8 bytes of every live log file."""

FORMAT_VERSION = 1
"""The version of the record layout described in this module."""

FILE_SUFFIX = ".axlog.npy"
"""The extension of the live log files this library writes (``*.npy``, as the lab's code expects; see above)."""

LEGACY_FILE_SUFFIX = ".axlog"
"""The extension of the live log files written by earlier versions of this library (still read and assembled)."""

FILE_HEADER = struct.Struct("<8sHB5x")
"""magic, version, source_id, reserved: 16 bytes."""

_RECORD_PREFIX = struct.Struct("<IQ")  # payload_length, timestamp: the checksummed 12 bytes
_RECORD_CRC = struct.Struct("<I")
RECORD_HEADER_SIZE = _RECORD_PREFIX.size + _RECORD_CRC.size
"""The size of a record header: 16 bytes."""
MAX_PAYLOAD_SIZE = 0xFFFFFFFF
"""The largest payload one record can hold (4 GiB - 1)."""

_FILE_NAME = re.compile(r"^(\d{3})-(\d{4,})" + re.escape(LEGACY_FILE_SUFFIX) + r"(?:\.npy)?$")


def log_file_name(source_id: int, segment: int) -> str:
    """Returns the name of the live log file of a source's segment."""
    return f"{source_id:03d}-{segment:04d}{FILE_SUFFIX}"


class LogFileName(NamedTuple):
    """What a live log file's name states."""

    source_id: int
    segment: int


def parse_log_file_name(name: str) -> LogFileName | None:
    """Returns the source ID and segment a live log file name states, or None when the name is not one.

    Both the current names (FILE_SUFFIX) and those of earlier versions (LEGACY_FILE_SUFFIX) are live log files.
    """
    match = _FILE_NAME.match(name)
    if match is None:
        return None
    return LogFileName(int(match.group(1)), int(match.group(2)))


def next_segment(directory: Path, source_id: int) -> int:
    """Returns the first segment number of a source that has no file in the directory yet."""
    used = [
        parsed.segment
        for path in directory.glob(f"{source_id:03d}-*")
        if (parsed := parse_log_file_name(path.name)) is not None
    ]
    return max(used) + 1 if used else 0


def encode_file_header(source_id: int) -> bytes:
    """Returns the 16-byte header that starts the live log file of a source."""
    if not 0 <= source_id <= 255:
        raise ValueError(f"source_id must fit in a uint8 (0..255), got {source_id}")
    return FILE_HEADER.pack(FILE_MAGIC, FORMAT_VERSION, source_id)


def decode_file_header(data: bytes | memoryview, path: Path | str = "<buffer>") -> int:
    """Validates a live log file header and returns its source ID.

    Raises:
        LogFormatError: If the data is shorter than a header, has the wrong magic, or an unsupported version.
    """
    if len(data) < FILE_HEADER.size:
        raise LogFormatError(f"{path}: too short for a log file header ({len(data)} of {FILE_HEADER.size} bytes)")
    magic, version, source_id = FILE_HEADER.unpack_from(data, 0)
    if magic != FILE_MAGIC:
        raise LogFormatError(f"{path}: not a live log file (magic {magic!r}, expected {FILE_MAGIC!r})")
    if version != FORMAT_VERSION:
        raise LogFormatError(f"{path}: unsupported log format version {version} (this library reads {FORMAT_VERSION})")
    return int(source_id)


def encode_record_header(timestamp: int, payload: bytes | memoryview) -> bytes:
    """Returns the 16-byte header that frames the payload as one record."""
    prefix = _RECORD_PREFIX.pack(len(payload), timestamp)
    return prefix + _RECORD_CRC.pack(zlib.crc32(payload, zlib.crc32(prefix)))


def encode_record(timestamp: int, payload: bytes | memoryview) -> bytes:
    """Returns one whole record: its header followed by the payload."""
    return encode_record_header(timestamp, payload) + bytes(payload)


LARGE_PAYLOAD_SIZE = 64 * 1024
"""Payloads of at least this size are handed to the writer as separate buffers instead of being copied together."""


def encode_records(records: Iterable[tuple[int, bytes]]) -> list[bytes]:
    """Encodes many records at once for one vectored write.

    Args:
        records: The (timestamp, payload) pairs to encode, in the order they are to be appended.

    Returns:
        The buffers that, written one after another, append the records: runs of small records are joined into one
        buffer, while each large payload (LARGE_PAYLOAD_SIZE or more) stays a buffer of its own, so it is never
        copied.
    """
    buffers: list[bytes] = []
    small: list[bytes] = []
    pack_prefix = _RECORD_PREFIX.pack
    pack_crc = _RECORD_CRC.pack
    crc32 = zlib.crc32
    for timestamp, payload in records:
        size = len(payload)
        if size > MAX_PAYLOAD_SIZE:
            raise ValueError(f"a record payload holds at most {MAX_PAYLOAD_SIZE} bytes, got {size}")
        prefix = pack_prefix(size, timestamp)
        header = prefix + pack_crc(crc32(payload, crc32(prefix)))
        if size < LARGE_PAYLOAD_SIZE:
            small.append(header)
            small.append(payload)
            continue
        if small:
            buffers.append(b"".join(small))
            small = []
        buffers.append(header)
        buffers.append(payload)
    if small:
        buffers.append(b"".join(small))
    return buffers


@dataclass(frozen=True, slots=True)
class TailDefect:
    """Describes bytes of a log file that do not form whole, valid records: its tail, or a damaged region."""

    offset: int
    """The file offset where the first invalid or incomplete record starts."""
    size: int
    """The number of bytes skipped from that offset: to the end of the file for a tail, else to the next record."""
    reason: str
    """Why the bytes were not accepted: 'truncated header', 'truncated payload', 'checksum mismatch' or
    'damaged file header'."""


@dataclass(frozen=True, slots=True)
class RecordIndex:
    """The whole records found in a log file, in file (arrival) order."""

    source_id: int
    timestamps: NDArray[np.uint64]
    """The timestamp of each record."""
    payload_offsets: NDArray[np.int64]
    """The file offset of each record's payload."""
    payload_sizes: NDArray[np.int64]
    """The size of each record's payload in bytes."""
    defect: TailDefect | None
    """What was wrong with the tail of the file, or None when the file ends on a whole record."""
    damaged: tuple[TailDefect, ...] = ()
    """The damaged regions inside the file that were skipped; the records after each one were recovered."""

    def __len__(self) -> int:
        return len(self.timestamps)


DAMAGED_HEADER = "damaged file header"
"""The reason given for a file header whose magic does not match (see scan_records' expected_source_id)."""


def scan_records(
    data: bytes | memoryview,
    path: Path | str = "<buffer>",
    *,
    verify: bool = True,
    expected_source_id: int | None = None,
) -> RecordIndex:
    """Indexes the whole records of a live log file held in memory (bytes or a memory map).

    Args:
        data: The complete contents of the file, starting with the file header.
        path: The file the data came from, used in error messages.
        verify: Determines whether each record's checksum is checked. Without it, only the framing is checked.
        expected_source_id: The source the file belongs to by its name. When given, a header whose magic is
            damaged costs only itself: the records after it are recovered (the header and any records it covers
            are reported as a damaged region, or as the tail when nothing valid follows) and this ID is used.

    Returns:
        The index of every whole record, the damaged regions skipped inside the file, and the torn tail.

    Raises:
        LogFormatError: If the file is shorter than a header, states an unsupported version, or (without
            expected_source_id) has the wrong magic; or if its intact header names another source than
            expected_source_id.
    """
    windows = iter_record_windows(data, path, verify=verify, expected_source_id=expected_source_id, window=0)
    return next(windows)


def iter_record_windows(
    data: bytes | memoryview,
    path: Path | str = "<buffer>",
    *,
    verify: bool = True,
    expected_source_id: int | None = None,
    window: int = 65536,
) -> Iterator[RecordIndex]:
    """Indexes the whole records of a live log file a window at a time, so the index never holds the whole file.

    Takes the arguments of scan_records and yields RecordIndex windows of at most ``window`` records (0: one window
    for the whole file), in file order. Each window lists the damaged regions found while scanning it; only the
    last window carries the torn tail (``defect``). The header is validated before the first window is yielded.
    """
    view = memoryview(data)
    total = len(view)
    damaged: list[TailDefect] = []
    position = FILE_HEADER.size
    if expected_source_id is not None and total >= FILE_HEADER.size and bytes(view[:8]) != FILE_MAGIC:
        source_id = expected_source_id
        resumed = _next_valid_record(view, FILE_HEADER.size - 1, FILE_HEADER.size)
        if resumed is None:
            empty = np.zeros(0, dtype=np.int64)
            yield RecordIndex(
                source_id, empty.astype(np.uint64), empty, empty.copy(), TailDefect(0, total, DAMAGED_HEADER)
            )
            return
        damaged.append(TailDefect(0, resumed, DAMAGED_HEADER))
        position = resumed
    else:
        source_id = decode_file_header(view, path)
        if expected_source_id is not None and source_id != expected_source_id:
            raise LogFormatError(
                f"{path}: the file header names source {source_id}, but the file name names source "
                f"{expected_source_id}; refusing to guess which is right (rename the file after its header if it "
                "was misnamed)"
            )
    limit = window if window > 0 else total
    unpack_prefix = _RECORD_PREFIX.unpack_from
    unpack_crc = _RECORD_CRC.unpack_from
    crc32 = zlib.crc32
    defect: TailDefect | None = None
    while True:
        timestamps: list[int] = []
        offsets: list[int] = []
        sizes: list[int] = []
        while position < total and len(timestamps) < limit:
            if total - position < RECORD_HEADER_SIZE:
                defect = TailDefect(position, total - position, "truncated header")
                break
            length, timestamp = unpack_prefix(view, position)
            start = position + RECORD_HEADER_SIZE
            end = start + length
            reason = ""
            if end > total:
                reason = "truncated payload"
            elif verify:
                (stored,) = unpack_crc(view, position + 12)
                if crc32(view[start:end], crc32(view[position : position + 12])) != stored:
                    reason = "checksum mismatch"
            if reason:
                resumed = _next_valid_record(view, position, end) if verify else None
                if resumed is None:
                    defect = TailDefect(position, total - position, reason)
                    break
                damaged.append(TailDefect(position, resumed - position, reason))
                position = resumed
                continue
            timestamps.append(timestamp)
            offsets.append(start)
            sizes.append(length)
            position = end
        finished = defect is not None or position >= total
        yield RecordIndex(
            source_id=source_id,
            timestamps=np.asarray(timestamps, dtype=np.uint64),
            payload_offsets=np.asarray(offsets, dtype=np.int64),
            payload_sizes=np.asarray(sizes, dtype=np.int64),
            defect=defect if finished else None,
            damaged=tuple(damaged),
        )
        if finished:
            return
        damaged = []


def _is_valid_record(view: memoryview, position: int) -> bool:
    """Returns True if a whole record whose checksum matches starts at position."""
    total = len(view)
    if total - position < RECORD_HEADER_SIZE:
        return False
    length, _ = _RECORD_PREFIX.unpack_from(view, position)
    start = position + RECORD_HEADER_SIZE
    if start + length > total:
        return False
    (stored,) = _RECORD_CRC.unpack_from(view, position + 12)
    return bool(zlib.crc32(view[start : start + length], zlib.crc32(view[position : position + 12])) == stored)


_RESYNC_WINDOW = 1 << 20
"""How many candidate offsets one vectorized resynchronization step screens."""


def _next_valid_record(view: memoryview, damaged_at: int, claimed_end: int) -> int | None:
    """Returns the offset of the first valid record after a damaged one, or None when no valid record follows.

    The damaged record's own length is tried first (a flipped payload bit leaves the framing intact); otherwise every
    later offset whose length field fits in the file is checked, screened with numpy a window at a time.
    """
    total = len(view)
    if damaged_at < claimed_end < total and _is_valid_record(view, claimed_end):
        return claimed_end
    raw = np.frombuffer(view, dtype=np.uint8)
    first = damaged_at + 1
    last = total - RECORD_HEADER_SIZE  # the last offset where a header still fits
    while first <= last:
        stop = min(first + _RESYNC_WINDOW, last + 1)
        count = stop - first
        lengths = raw[first : first + count].astype(np.uint64)
        for shift in (1, 2, 3):
            lengths |= raw[first + shift : first + shift + count].astype(np.uint64) << np.uint64(8 * shift)
        candidates = np.arange(first, stop, dtype=np.uint64)
        fits = candidates + np.uint64(RECORD_HEADER_SIZE) + lengths <= np.uint64(total)
        for candidate in np.flatnonzero(fits):
            if _is_valid_record(view, first + int(candidate)):
                return first + int(candidate)
        first = stop
    return None
