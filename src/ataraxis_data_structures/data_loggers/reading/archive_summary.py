"""Summarizes a .npz log archive from its index alone: what `axds inspect` reports."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np

from ..formats.source_description import description_fields
from .archive_reader import LogArchiveReader

__all__ = ["ArchiveSummary", "summarize_archive"]


@dataclass(frozen=True, slots=True, kw_only=True)
class ArchiveSummary:
    """The timing and size figures of one log archive's data messages (the onset message excluded).

    The figures of the data messages are None (counts 0) for an archive that holds none.
    """

    path: str
    source_id: int | None = None
    """The source ID stored in the messages (None for an archive without data messages)."""
    onset_us: int
    """The onset: UTC epoch microseconds that elapsed timestamps are relative to."""
    onset_utc: str
    """The onset as an ISO 8601 UTC date and time."""
    message_count: int = 0
    first_elapsed_us: int | None = None
    last_elapsed_us: int | None = None
    span_s: float = 0.0
    """The time between the first and the last data message, in seconds."""
    mean_rate_hz: float | None = None
    """Messages per second over the span (None when the span is zero)."""
    largest_gap_us: int | None = None
    """The largest time between two consecutive data messages, in microseconds."""
    largest_gap_at_us: int | None = None
    """The elapsed timestamp of the message that ends the largest gap."""
    payload_min_bytes: int | None = None
    payload_max_bytes: int | None = None
    payload_total_bytes: int = 0
    first_corrupt_member: str | None = None
    """The first member whose bytes fail their CRC-32 (None when every member checks out, or when not checked)."""
    crc_checked: bool = False
    """Whether every member's CRC-32 was checked (``verify=True``); sizes and headers are always checked."""
    description: dict[str, Any] | None = None
    """What the source is (name, dtype, shape, schema, units, note), when the DataLogger was told (see
    source_description); None otherwise."""

    def to_dict(self) -> dict[str, Any]:
        """Returns the summary as a JSON-serializable dictionary."""
        return asdict(self)


def _utc_text(microseconds: int) -> str:
    """Returns a UTC epoch in microseconds in ISO format, or says it is no date (a corrupt or foreign onset)."""
    try:
        return datetime.fromtimestamp(microseconds / 1e6, tz=UTC).isoformat(timespec="microseconds")
    except (OverflowError, OSError, ValueError):
        return f"not a date ({microseconds} us since the epoch)"


def summarize_archive(path: Path, *, verify: bool = False) -> ArchiveSummary:
    """Returns the summary of a log archive.

    Every member's sizes and headers are checked against the ZIP index; with ``verify``, every member's CRC-32 too
    (reads every byte of the archive: about 1 s per GB from the page cache).

    Raises:
        FileNotFoundError: If the archive does not exist.
        ValueError: If the file is not a readable log archive or holds no onset message.
    """
    reader = LogArchiveReader(path)
    described = reader.description
    description = None if described is None else description_fields(described)
    onset = int(reader.onset_timestamp_us)
    timestamps = reader.elapsed_timestamps().astype(np.int64)
    payload_sizes = reader.payload_sizes()
    count = len(timestamps)
    onset_utc = _utc_text(onset)
    corrupt = reader.find_corrupt_member() if verify else None
    if count == 0:
        return ArchiveSummary(
            path=str(path),
            onset_us=onset,
            onset_utc=onset_utc,
            first_corrupt_member=corrupt,
            crc_checked=verify,
            description=description,
        )
    span_us = int(timestamps.max() - timestamps.min())
    gaps = np.diff(timestamps)
    gap_index = int(np.argmax(gaps)) if len(gaps) else None
    return ArchiveSummary(
        path=str(path),
        source_id=reader.source_id,
        onset_us=onset,
        onset_utc=onset_utc,
        message_count=count,
        first_elapsed_us=int(timestamps[0]),
        last_elapsed_us=int(timestamps[-1]),
        span_s=span_us / 1e6,
        mean_rate_hz=(count - 1) / (span_us / 1e6) if span_us > 0 else None,
        largest_gap_us=int(gaps[gap_index]) if gap_index is not None else None,
        largest_gap_at_us=int(timestamps[gap_index + 1]) if gap_index is not None else None,
        payload_min_bytes=int(payload_sizes.min()),
        payload_max_bytes=int(payload_sizes.max()),
        payload_total_bytes=int(payload_sizes.sum()),
        first_corrupt_member=corrupt,
        crc_checked=verify,
        description=description,
    )
