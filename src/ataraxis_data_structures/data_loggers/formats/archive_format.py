"""The archive's contents above the byte layout: its comment lines (manifest, sessions), repeats, loose .npy files.

The byte layout (message prefix, onset, member names, .npy header, ZIP records) is in :mod:`.archive_layout`; the
ZIP writer and index are ``assembly.zip_writer`` and ``reading.zip_index``.

The archive comment (which numpy ignores) is stated here, whole: the assembly manifest (the live log files already
consolidated into the archive, with how many of their bytes and a fingerprint of their start, so an interrupted or
repeated assembly never archives a record twice: see :func:`encode_manifest`), followed by the session lines of an
archive that holds several recording sessions (see :func:`encode_sessions`).
"""

from __future__ import annotations

import io
from dataclasses import dataclass
from typing import NamedTuple

import numpy as np
import xxhash
from numpy.typing import NDArray

from .archive_layout import NPY_DESCR_PREFIX, NPY_MAGIC, NPY_PREAMBLE_V1, NPY_PREAMBLE_V2, ONSET_PAYLOAD

__all__ = [
    "LogSession",
    "SourceRecord",
    "decode_manifest",
    "decode_sessions",
    "encode_manifest",
    "encode_sessions",
    "fingerprint",
    "npy_array_bytes",
    "onset_values",
    "repeat_counts",
]

_MANIFEST_MAGIC = b"axds-archive-sources 1\n"
_FINGERPRINT_SPAN = 65536
_SESSION_LINE = "@session"
_ONSET_PAYLOAD_SIZE = ONSET_PAYLOAD.size  # the UTC epoch in microseconds as a uint64


def repeat_counts(sorted_timestamps: NDArray[np.uint64]) -> NDArray[np.int64]:
    """Returns, for timestamps sorted ascending, how many earlier entries share each one's timestamp."""
    count = len(sorted_timestamps)
    if count == 0:
        return np.zeros(0, dtype=np.int64)
    starts = np.ones(count, dtype=bool)
    starts[1:] = sorted_timestamps[1:] != sorted_timestamps[:-1]
    run_start = np.maximum.accumulate(np.where(starts, np.arange(count), 0))
    return np.arange(count, dtype=np.int64) - run_start


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


class LogSession(NamedTuple):
    """One recording session held in a log archive (see read_archive_sessions)."""

    onset_us: int
    """The session's onset: UTC epoch microseconds, the payload of the onset message its producer logged."""
    elapsed_offset_us: int
    """Where the session starts on the archive's elapsed timeline: onset_us minus the archive's onset."""


def onset_values(buffer: NDArray[np.uint8], offsets: NDArray[np.int64]) -> NDArray[np.uint64]:
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


def npy_array_bytes(raw: bytes) -> bytes | None:
    """Returns the array bytes of a 1-D uint8 .npy file, or None when the file is not one (or is truncated)."""
    if raw[: len(NPY_MAGIC)] != NPY_MAGIC or len(raw) < NPY_PREAMBLE_V1.size:
        return None
    preamble = NPY_PREAMBLE_V1.unpack(raw)
    if preamble.major == 1:
        layout = NPY_PREAMBLE_V1
    elif preamble.major in (2, 3) and len(raw) >= NPY_PREAMBLE_V2.size:
        layout = NPY_PREAMBLE_V2
    else:
        return None
    header_end = layout.size + layout.unpack(raw).header_length
    header = raw[layout.size : header_end]
    if header.startswith(NPY_DESCR_PREFIX):
        digits_end = header.find(b",", len(NPY_DESCR_PREFIX))
        shape = header[len(NPY_DESCR_PREFIX) : digits_end]
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
