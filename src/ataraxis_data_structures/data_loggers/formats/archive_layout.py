r"""The byte layout of a .npz log archive, stated once: every module that writes or reads archives imports it.

Layout (interchangeable with ataraxis-data-structures 6.2.0 and 7.2.0)
----------------------------------------------------------------------
An archive is named ``{source_id}_log.npz`` (no zero padding) and is a ZIP file whose members are all STORED
(uncompressed). Each member holds one message and is named ``{source_id:03d}_{timestamp:020d}.npy``; a message
whose source and timestamp repeat an earlier one gets ``_{k:06d}`` appended to the stem (k = 1, 2, ... in arrival
order), so names stay unique and sort in archive order. ``numpy.load`` exposes each member under its stem.

Each member is a ``.npy`` file (format version 1.0, written byte for byte as ``numpy.save`` writes it: see
:data:`NPY_PREAMBLE_V1`) of a 1-D uint8 array holding one message::

    MESSAGE_PREFIX (source_id: uint8 | timestamp: uint64 LE, elapsed microseconds) | payload

Members are ordered by timestamp, then by arrival. The first member is the onset message: timestamp
:data:`ONSET_TIMESTAMP` (0), payload :data:`ONSET_PAYLOAD` (the uint64 UTC epoch in microseconds that every other
timestamp is relative to).

The ZIP structure, each record one :class:`RecordLayout` below (all integers little-endian)::

    [LOCAL_FILE_HEADER, name, extra, member bytes] * N
    [CENTRAL_DIRECTORY_ENTRY, name, extra, comment] * N
    [ZIP64_END_RECORD, ZIP64_END_LOCATOR]      (only past 65,534 members or 4 GiB)
    END_RECORD, comment                        (the comment carries the assembly manifest)

A size or offset that does not fit its 32-bit field holds :data:`U32_MAX` and moves to the ZIP64 extra field
(:data:`ZIP64_EXTRA_ID`: its uint64 values in the order size, compressed size, offset, for those that overflowed).
"""

from __future__ import annotations

import io
import re
import struct
from functools import lru_cache
from typing import Generic, NamedTuple, TypeVar

import numpy as np

__all__ = [
    "ARCHIVE_SUFFIX",
    "CENTRAL_DIRECTORY_ENTRY",
    "CENTRAL_SIGNATURE",
    "CentralDirectoryEntry",
    "DOS_DATE_1980",
    "END_RECORD",
    "END_SIGNATURE",
    "EXTRA_FIELD_HEADER",
    "EndRecord",
    "ExtraFieldHeader",
    "FILE_MODE",
    "LOCAL_FILE_HEADER",
    "LOCAL_SIGNATURE",
    "LocalFileHeader",
    "MADE_BY_UNIX",
    "MEMBER_STEM_WIDTH",
    "MEMBER_SUFFIX",
    "MESSAGE_PREFIX",
    "MessagePrefix",
    "NPY_DESCR_PREFIX",
    "NPY_MAGIC",
    "NPY_PREAMBLE_V1",
    "NPY_PREAMBLE_V2",
    "NpyPreamble",
    "ONSET_MESSAGE_SIZE",
    "ONSET_PAYLOAD",
    "ONSET_TIMESTAMP",
    "REPEAT_SUFFIX_WIDTH",
    "Record",
    "RecordLayout",
    "STORED",
    "U16_MAX",
    "U32_MAX",
    "VERSION_DEFAULT",
    "VERSION_ZIP64",
    "ZIP64_END_LOCATOR",
    "ZIP64_END_RECORD",
    "ZIP64_END_SIGNATURE",
    "ZIP64_EXTRA_ID",
    "ZIP64_LOCATOR_SIGNATURE",
    "Zip64EndRecord",
    "Zip64Locator",
    "archive_name",
    "member_stem",
    "npy_header",
    "parse_archive_name",
    "signature_bytes",
]

ARCHIVE_SUFFIX = "_log.npz"
"""The suffix of archive file names: ``{source_id}_log.npz``."""

MEMBER_SUFFIX = ".npy"
"""The suffix of every member name; numpy.load exposes members under their names without it."""

_ARCHIVE_NAME = re.compile(r"^(\d+)" + re.escape(ARCHIVE_SUFFIX) + r"$")

Record = TypeVar("Record", bound=tuple[object, ...])

_NUMPY_CODES = {"B": "u1", "H": "<u2", "I": "<u4", "Q": "<u8"}


class RecordLayout(Generic[Record]):
    """One fixed-size binary record: its fields (a NamedTuple), their struct codes and, for ZIP records, signature.

    The struct (for one record), the numpy dtype (for many records at once) and each field's byte offset all derive
    from the one field list, so the writer and the reader cannot disagree.

    Args:
        record: The NamedTuple type naming the fields in order.
        codes: The struct codes of the fields, little-endian, without padding (e.g. ``"<IHH"``).
    """

    def __init__(self, record: type[Record], codes: str) -> None:
        self.record = record
        self.struct = struct.Struct(codes)
        fields: tuple[str, ...] = getattr(record, "_fields")  # noqa: B009 - NamedTuple types carry _fields
        formats = re.findall(r"\d*[BHIQs]", codes[1:])
        if len(formats) != len(fields):
            raise ValueError(f"{record.__name__}: {len(fields)} fields but {len(formats)} struct codes")
        self.dtype = np.dtype(
            [
                (name, f"S{code[:-1]}" if code.endswith("s") else _NUMPY_CODES[code])
                for name, code in zip(fields, formats, strict=True)
            ]
        )
        self.size = self.struct.size
        self.offsets: dict[str, int] = {name: int(self.dtype.fields[name][1]) for name in fields}  # type: ignore[index]

    def pack(self, record: Record) -> bytes:
        """Returns the bytes of one record."""
        return self.struct.pack(*record)

    def unpack(self, buffer: bytes | bytearray | memoryview, offset: int = 0) -> Record:
        """Returns the record that starts at ``offset`` of ``buffer``."""
        return self.record(*self.struct.unpack_from(buffer, offset))

    def offset(self, field: str) -> int:
        """Returns the byte offset of a field from the start of the record."""
        return self.offsets[field]


# ---------------------------------------------------------------------------------------------------------------
# Messages and members
# ---------------------------------------------------------------------------------------------------------------


class MessagePrefix(NamedTuple):
    """The bytes that start every archived message."""

    source_id: int
    timestamp: int
    """Elapsed microseconds since the onset (0 for the onset message itself)."""


MESSAGE_PREFIX = RecordLayout(MessagePrefix, "<BQ")
"""The 9-byte prefix of every archived message: source ID (uint8) and elapsed timestamp (uint64)."""

ONSET_TIMESTAMP = 0
"""The elapsed timestamp of the onset message."""

ONSET_PAYLOAD = struct.Struct("<Q")
"""The onset message's payload: the UTC epoch in microseconds that elapsed timestamps are relative to."""

ONSET_MESSAGE_SIZE = MESSAGE_PREFIX.size + ONSET_PAYLOAD.size
"""The size of a whole onset message (prefix and payload): 17 bytes."""


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


MEMBER_STEM_WIDTH = len(member_stem(0, 0))
"""The length of a member stem without a repeat suffix (``SSS_TTTTTTTTTTTTTTTTTTTT``: 24 characters)."""

REPEAT_SUFFIX_WIDTH = len(member_stem(0, 0, 1)) - MEMBER_STEM_WIDTH
"""The length of the ``_kkkkkk`` suffix that marks a repeated timestamp (7 characters)."""


# ---------------------------------------------------------------------------------------------------------------
# The .npy header of a member
# ---------------------------------------------------------------------------------------------------------------


class NpyPreamble(NamedTuple):
    """The fixed start of a .npy file: magic, format version and the length of the header text that follows."""

    magic: bytes
    """:data:`NPY_MAGIC`."""
    major: int
    minor: int
    header_length: int


NPY_MAGIC = b"\x93NUMPY"
"""The first 6 bytes of every .npy file."""

NPY_PREAMBLE_V1 = RecordLayout(NpyPreamble, "<6sBBH")
"""The 10-byte preamble of a version 1.0 .npy file (uint16 header length); numpy.save writes this version."""

NPY_PREAMBLE_V2 = RecordLayout(NpyPreamble, "<6sBBI")
"""The 12-byte preamble of a version 2.0 or 3.0 .npy file (uint32 header length)."""

NPY_DESCR_PREFIX = b"{'descr': '|u1', 'fortran_order': False, 'shape': ("
"""How numpy.save starts the header text of a 1-D uint8 array (the length and ``,), }`` follow)."""


@lru_cache(maxsize=4096)
def npy_header(length: int) -> bytes:
    """Returns the .npy header (preamble and padded header text) of a 1-D uint8 array, as numpy.save writes it."""
    buffer = io.BytesIO()
    np.lib.format.write_array_header_1_0(buffer, {"descr": "|u1", "fortran_order": False, "shape": (length,)})
    return buffer.getvalue()


# ---------------------------------------------------------------------------------------------------------------
# ZIP records
# ---------------------------------------------------------------------------------------------------------------

LOCAL_SIGNATURE = 0x04034B50
"""``PK\\x03\\x04``: starts a local file header."""
CENTRAL_SIGNATURE = 0x02014B50
"""``PK\\x01\\x02``: starts a central directory entry."""
END_SIGNATURE = 0x06054B50
"""``PK\\x05\\x06``: starts the end of central directory record."""
ZIP64_END_SIGNATURE = 0x06064B50
"""``PK\\x06\\x06``: starts the ZIP64 end of central directory record."""
ZIP64_LOCATOR_SIGNATURE = 0x07064B50
"""``PK\\x06\\x07``: starts the ZIP64 end of central directory locator."""


def signature_bytes(signature: int) -> bytes:
    """Returns a record signature as the 4 bytes that appear in the file."""
    return signature.to_bytes(4, "little")


class LocalFileHeader(NamedTuple):
    """The header before each member's name and bytes (followed by name, extra field, data)."""

    signature: int
    version: int
    flags: int
    method: int
    time: int
    date: int
    crc: int
    compressed: int
    size: int
    name_length: int
    extra_length: int


class CentralDirectoryEntry(NamedTuple):
    """One member's entry in the central directory (followed by name, extra field, comment)."""

    signature: int
    made_by: int
    version: int
    flags: int
    method: int
    time: int
    date: int
    crc: int
    compressed: int
    size: int
    name_length: int
    extra_length: int
    comment_length: int
    disk: int
    internal: int
    external: int
    offset: int
    """The offset of the member's local file header from the start of the file."""


class EndRecord(NamedTuple):
    """The end of central directory record (followed by the archive comment)."""

    signature: int
    disk: int
    central_disk: int
    disk_entries: int
    entries: int
    central_size: int
    central_offset: int
    comment_length: int


class Zip64EndRecord(NamedTuple):
    """The ZIP64 end of central directory record: the 64-bit counts and offsets."""

    signature: int
    record_size: int
    """The size of the rest of this record (the record's size minus 12)."""
    made_by: int
    version: int
    disk: int
    central_disk: int
    disk_entries: int
    entries: int
    central_size: int
    central_offset: int


class Zip64Locator(NamedTuple):
    """The ZIP64 end of central directory locator: where the ZIP64 end record starts."""

    signature: int
    disk: int
    record_offset: int
    disks: int


class ExtraFieldHeader(NamedTuple):
    """The header of one extra field block (followed by ``length`` bytes of data)."""

    header_id: int
    length: int


LOCAL_FILE_HEADER = RecordLayout(LocalFileHeader, "<IHHHHHIIIHH")
"""30 bytes."""
CENTRAL_DIRECTORY_ENTRY = RecordLayout(CentralDirectoryEntry, "<IHHHHHHIIIHHHHHII")
"""46 bytes."""
END_RECORD = RecordLayout(EndRecord, "<IHHHHIIH")
"""22 bytes."""
ZIP64_END_RECORD = RecordLayout(Zip64EndRecord, "<IQHHIIQQQQ")
"""56 bytes."""
ZIP64_END_LOCATOR = RecordLayout(Zip64Locator, "<IIQI")
"""20 bytes."""
EXTRA_FIELD_HEADER = RecordLayout(ExtraFieldHeader, "<HH")
"""4 bytes."""

ZIP64_EXTRA_ID = 0x0001
"""The header ID of the ZIP64 extended information extra field."""
U16_MAX = 0xFFFF
"""The largest value of a 16-bit field (the member count and comment length limit)."""
U32_MAX = 0xFFFFFFFF
"""The value a 32-bit size or offset field holds when the real value is in the ZIP64 extra field."""
VERSION_DEFAULT = 20
"""ZIP version 2.0: stored members."""
VERSION_ZIP64 = 45
"""ZIP version 4.5: ZIP64 extensions."""
MADE_BY_UNIX = 3 << 8
"""The host system (Unix) in the high byte of ``made_by``."""
DOS_DATE_1980 = (1 << 5) | 1
"""1980-01-01, the date numpy.savez gives every member."""
FILE_MODE = 0o600 << 16
"""The external attributes numpy.savez sets (read-write for the owner)."""
STORED = 0
"""The compression method of an uncompressed member."""
