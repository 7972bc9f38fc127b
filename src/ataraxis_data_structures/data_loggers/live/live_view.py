"""A reader of a log directory while a DataLogger writes it: per-source progress for ``axds tail``.

The reader only opens the live ``.axlog.npy`` (and older ``.axlog``) files read-only and reads what was appended
since its last look, so it never blocks or disturbs the writer (which appends with O_APPEND and takes no lock
readers could hold). The last record of a file may be half-written when it looks: only whole records (their
checksum matches) are taken, and the rest is read again at the next refresh. Damaged regions inside a file are
skipped and counted, as the format module (``log_format.scan_records``) reports them.
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from numpy.typing import NDArray

from ..formats import log_format

__all__ = ["LiveLogReader", "RATE_WINDOW_US", "SourceStatus"]

RATE_WINDOW_US = 1_000_000
"""The span of acquisition time, ending at a source's newest message, over which its current rate is counted."""
_MAX_READ = 64 << 20
"""The most bytes read from one file in one refresh (the rest follows at the next), which bounds memory."""
_ONSET_SIZE = 8


@dataclass(slots=True)
class SourceStatus:
    """What the live log shows of one source so far (all its segments together)."""

    source_id: int
    messages: int = 0
    """The data messages so far (the onset message, timestamp 0, is not counted)."""
    onset_us: int | None = None
    """The UTC epoch, in microseconds, of the newest session's onset message, if one was logged."""
    last_timestamp_us: int | None = None
    """The acquisition time of the newest message (microseconds since the onset)."""
    last_seen: float = 0.0
    """The wall-clock time (time.time()) at which the reader first saw the newest message."""
    largest_gap_us: int = 0
    """The largest interval between consecutive messages of one session, in microseconds."""
    files: int = 0
    damaged_bytes: int = 0
    """Bytes inside files that were damaged and skipped."""
    problem: str | None = None
    """Why a file of the source could not be read at all (e.g. a damaged file header), if one could not."""
    recent: NDArray[np.uint64] = field(default_factory=lambda: np.empty(0, dtype=np.uint64))
    """The timestamps within RATE_WINDOW_US of the newest one."""
    first_timestamp_us: int | None = None

    @property
    def rate(self) -> float:
        """Returns the current rate in messages per second (over the last second of acquisition time)."""
        if self.last_timestamp_us is None or self.first_timestamp_us is None:
            return 0.0
        span = min(RATE_WINDOW_US, self.last_timestamp_us - self.first_timestamp_us)
        if span <= 0:
            return 0.0
        return float(len(self.recent)) * 1e6 / span

    def seconds_since_last(self, now: float | None = None) -> float | None:
        """Returns the seconds since the newest message, or None before any message.

        Counted from the message's acquisition time when the source's onset is known, else from when the reader
        first saw it.
        """
        if self.last_timestamp_us is None:
            return None
        now = time.time() if now is None else now
        if self.onset_us is not None:
            return max(0.0, now - (self.onset_us + self.last_timestamp_us) / 1e6)
        return max(0.0, now - self.last_seen)


@dataclass(slots=True)
class _FileState:
    source_id: int
    header: bytes = b""
    offset: int = 0  # the file offset up to which every byte was taken (whole records or skipped damage)
    last_timestamp_us: int | None = None  # of this file (session), for its gaps


class LiveLogReader:
    """Follows the live log files of a DataLogger output directory and keeps per-source statistics.

    Args:
        directory: The ``*_data_log`` directory a DataLogger writes (it need not exist yet).
    """

    def __init__(self, directory: Path) -> None:
        self._directory = Path(directory)
        self._files: dict[str, _FileState] = {}
        self._sources: dict[int, SourceStatus] = {}

    @property
    def directory(self) -> Path:
        """Returns the directory the reader follows."""
        return self._directory

    def refresh(self) -> dict[int, SourceStatus]:
        """Reads what was appended since the last refresh and returns the status of every source, by source ID."""
        if self._directory.is_dir():
            now = time.time()
            for entry in sorted(os.scandir(self._directory), key=lambda item: item.name):
                parsed = log_format.parse_log_file_name(entry.name)
                if parsed is None or not entry.is_file():
                    continue
                state = self._files.get(entry.name)
                if state is None:
                    state = self._files[entry.name] = _FileState(parsed[0])
                    self._status(parsed[0]).files += 1
                self._read_new(Path(entry.path), state, now)
        return dict(sorted(self._sources.items()))

    def _status(self, source_id: int) -> SourceStatus:
        status = self._sources.get(source_id)
        if status is None:
            status = self._sources[source_id] = SourceStatus(source_id)
        return status

    def _read_new(self, path: Path, state: _FileState, now: float) -> None:
        status = self._status(state.source_id)
        try:
            with open(path, "rb") as file:
                if not state.header:
                    header = file.read(log_format.FILE_HEADER.size)
                    if len(header) < log_format.FILE_HEADER.size:
                        return  # being created: its header is not complete yet
                    try:
                        log_format.decode_file_header(header, path)
                    except ValueError as error:
                        status.problem = str(error)
                        state.header, state.offset = header, -1  # never read again
                        return
                    state.header, state.offset = header, len(header)
                if state.offset < 0:
                    return
                file.seek(state.offset)
                chunk = file.read(_MAX_READ)
        except FileNotFoundError:  # assembled (and removed) meanwhile
            return
        if not chunk:
            return
        data = state.header + chunk
        index = log_format.scan_records(data, path)
        consumed = int(index.payload_offsets[-1] + index.payload_sizes[-1]) if len(index) else len(state.header)
        for region in index.damaged:
            if region.offset < consumed:
                status.damaged_bytes += region.size
        state.offset += consumed - len(state.header)
        if not len(index):
            return
        timestamps = index.timestamps
        onset = (timestamps == 0) & (index.payload_sizes == _ONSET_SIZE)
        if onset.any():
            at = int(index.payload_offsets[np.flatnonzero(onset)[-1]])
            status.onset_us = int(np.frombuffer(data, dtype="<u8", count=1, offset=at)[0])
        self._count(status, state, timestamps[~onset], now)

    @staticmethod
    def _count(status: SourceStatus, state: _FileState, timestamps: NDArray[np.uint64], now: float) -> None:
        if not len(timestamps):
            return
        status.messages += len(timestamps)
        values = timestamps.astype(np.int64)
        if state.last_timestamp_us is not None:
            values_with_previous = np.concatenate(([state.last_timestamp_us], values))
        else:
            values_with_previous = values
        if len(values_with_previous) > 1:
            status.largest_gap_us = max(status.largest_gap_us, int(np.diff(values_with_previous).max()))
        newest = int(values[-1])
        state.last_timestamp_us = newest
        if status.first_timestamp_us is None or status.last_timestamp_us is None or newest < status.last_timestamp_us:
            status.first_timestamp_us = int(values[0])  # a new session restarts the clock
            status.recent = np.empty(0, dtype=np.uint64)
        status.last_timestamp_us = newest
        status.last_seen = now
        recent = np.concatenate((status.recent, timestamps))
        status.recent = recent[recent.astype(np.int64) > newest - RATE_WINDOW_US]
