"""Reads the .npz log archives that assemble_log_archives writes (or that the reference releases wrote)."""

from __future__ import annotations

import math
import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, NamedTuple

import numpy as np
from numpy.typing import NDArray

from ..errors import ArchiveFormatError
from .archive_layout import MEMBER_SUFFIX, MESSAGE_PREFIX, ONSET_MESSAGE_SIZE, ONSET_PAYLOAD, ONSET_TIMESTAMP
from .zip_index import CHUNK_MEMBERS, ArchiveIndex, equal_stride, rows_at, shared_index

TYPE_CHECKING = False
if TYPE_CHECKING:
    from .source_description import DescribedSource, SourceDescription

PARALLEL_THRESHOLD = 2000
"""Archives with fewer data messages than this are returned by get_batches() as a single batch."""

_BLOCK = CHUNK_MEMBERS  # messages prepared at a time by iter_messages: bounds the memory iteration holds


@dataclass(frozen=True, slots=True)
class LogMessage:
    """Stores a single message extracted from a log archive.

    Notes:
        This class is yielded by LogArchiveReader.iter_messages() for each message in the archive. The structure of
        the payload is domain-specific and must be parsed by the consumer.
    """

    timestamp_us: np.uint64
    """The absolute UTC timestamp of when the message was logged, in microseconds since epoch."""
    payload: NDArray[np.uint8]
    """The message payload as a byte array."""


_new_message = object.__new__
_set_timestamp = vars(LogMessage)["timestamp_us"].__set__  # the slot descriptors, which bypass the frozen check
_set_payload = vars(LogMessage)["payload"].__set__


def _message(timestamp_us: np.uint64, payload: NDArray[np.uint8]) -> LogMessage:
    """Returns LogMessage(timestamp_us, payload) without the frozen dataclass's __init__ (a quarter of its cost)."""
    message = _new_message(LogMessage)
    _set_timestamp(message, timestamp_us)
    _set_payload(message, payload)
    return message


class MessageColumns(NamedTuple):
    """The data messages of an archive (or of a time range of it) as arrays: no Python object per message.

    Exactly one of ``payloads`` (all payloads have one length) and ``buffer``/``offsets`` (they differ) is set.
    """

    timestamps_us: NDArray[np.uint64]
    """The absolute UTC timestamp of each message, in microseconds since epoch (sorted for archives we write)."""
    payloads: NDArray[np.uint8] | None
    """The payloads as rows of a 2-D array when all have one length (a read-only view of the mapped file when the
    members lie at equal distances, else a copy); None otherwise."""
    buffer: NDArray[np.uint8] | None
    """All payloads back to back, when their lengths differ (None otherwise)."""
    offsets: NDArray[np.int64] | None
    """Where each payload starts in ``buffer``, plus the end of the last: payload i is
    ``buffer[offsets[i]:offsets[i + 1]]`` (None when ``payloads`` is set)."""

    def payload(self, index: int) -> NDArray[np.uint8]:
        """Returns the payload of one message."""
        if self.payloads is not None:
            row: NDArray[np.uint8] = self.payloads[index]
            return row
        assert self.buffer is not None and self.offsets is not None
        payload: NDArray[np.uint8] = self.buffer[int(self.offsets[index]) : int(self.offsets[index + 1])]
        return payload


def _uniform_key_rows(keys: list[str]) -> NDArray[np.uint8] | None:
    """Returns the keys as rows of ASCII bytes when all have one length and none ends in .npy, else None.

    The canonical keys (the ones get_batches hands out) all qualify: one join and one encode, no Python object per
    key.
    """
    count = len(keys)
    width = len(keys[0]) if count else 0
    if width == 0:
        return None
    lengths = np.fromiter(map(len, keys), dtype=np.int64, count=count)
    if int(lengths.min()) != width or int(lengths.max()) != width:
        return None
    try:
        encoded = "".join(keys).encode("ascii")
    except UnicodeEncodeError:
        return None
    rows = np.frombuffer(encoded, dtype=np.uint8).reshape(count, width)
    suffix = np.frombuffer(MEMBER_SUFFIX.encode("ascii"), dtype=np.uint8)
    if width >= len(suffix) and np.any(np.all(rows[:, -len(suffix) :] == suffix, axis=1)):
        return None
    return rows


def _member_names(keys: list[str], key_rows: NDArray[np.uint8] | None) -> NDArray[np.bytes_]:
    """Returns the member name of each key (the key with .npy appended unless it has it) as a bytes array."""
    suffix = MEMBER_SUFFIX.encode("ascii")
    if key_rows is not None:
        count, width = key_rows.shape
        names = np.empty((count, width + len(suffix)), dtype=np.uint8)
        names[:, :width] = key_rows
        names[:, width:] = np.frombuffer(suffix, dtype=np.uint8)
        return names.view(f"S{width + len(suffix)}").reshape(count)
    encoded = [(key if key.endswith(MEMBER_SUFFIX) else key + MEMBER_SUFFIX).encode("utf-8") for key in keys]
    return np.array(encoded, dtype="S")


class LogArchiveReader:
    """Reads and iterates through .npz log archives generated by DataLogger instances.

    The archive is indexed once (its central directory parsed, the file memory-mapped); messages are then views of
    the mapped file, so reading costs no per-message file access. Member pages are read and checked (against
    their local and .npy headers) chunk by chunk the first time they are needed, so counting the messages or
    reading part of a large archive touches only what it needs.

    Notes:
        Each archive holds the messages of one source, each stored as [source_id (1 byte)][timestamp (8 bytes)]
        [payload (N bytes)]. The first message with timestamp 0 holds the onset: the UTC epoch in microseconds that
        converts elapsed timestamps to absolute ones. Worker processes can pass a pre-discovered onset_us to skip
        onset discovery.

    Args:
        archive_path: The path to the .npz log archive file to read.
        onset_us: The pre-discovered onset timestamp in microseconds since epoch. If provided, skips onset discovery.
        verify: Determines whether to check every member's CRC-32 while opening (reads every byte: about 1 s per
            GB from the page cache). Without it, sizes and headers are still checked; payload bytes are not.

    Raises:
        FileNotFoundError: If the specified archive file does not exist.
        IsADirectoryError: If the path is a directory (for example, the log directory instead of an archive in it).
        ArchiveFormatError: With verify=True, if a member fails its CRC-32 check (the error names it).
    """

    def __init__(self, archive_path: Path, onset_us: np.uint64 | int | None = None, *, verify: bool = False) -> None:
        self._archive_path = Path(archive_path)
        if self._archive_path.is_dir():
            raise IsADirectoryError(
                f"Unable to open log archive {self._archive_path}: it is a directory, not a .npz archive (the "
                f"archives are the {{source_id}}_log.npz files inside the log directory)."
            )
        if not self._archive_path.is_file():
            raise FileNotFoundError(
                f"Unable to open log archive. The file does not exist at the expected path: {self._archive_path}."
            )
        self._onset_us: np.uint64 | None = None if onset_us is None else np.uint64(onset_us)
        self._index_cache: ArchiveIndex | None = None
        self._first_message: int | None = None
        self._message_keys: list[str] | None = None
        if verify:
            self.verify()

    def __repr__(self) -> str:
        known = getattr(self, "_onset_us", None)  # repr may run on an instance whose __init__ raised
        onset = "not discovered" if known is None else str(int(known))
        return f"LogArchiveReader(archive_path={getattr(self, '_archive_path', None)}, onset_us={onset})"

    def __getstate__(self) -> dict[str, Any]:
        """Returns the picklable state: the index (a memory map) is rebuilt on first use in the receiving process.

        The message keys are left out too: rebuilding them from the index costs less than pickling every key to
        every worker.
        """
        return {
            "_archive_path": self._archive_path,
            "_onset_us": self._onset_us,
            "_first_message": self._first_message,
        }

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__dict__.update(state)
        self._index_cache = None
        self._message_keys = None

    @property
    def _index(self) -> ArchiveIndex:
        if self._index_cache is None:
            self._index_cache = shared_index(self._archive_path)
        return self._index_cache

    def _locate_onset(self) -> int | None:
        """Returns the position of the onset member (the first with timestamp 0), or None when there is none."""
        index = self._index
        if len(index) == 0:
            return None
        # Members are sorted by timestamp, so the onset is nearly always the first: check it alone before reading
        # every member's timestamp.
        if index.message_timestamp(0) == ONSET_TIMESTAMP:
            return 0
        zeros = np.flatnonzero(index.timestamps == ONSET_TIMESTAMP)
        return int(zeros[0]) if len(zeros) else None

    @property
    def _data_start(self) -> int:
        """Returns the position of the first data message: the one after the onset member."""
        if self._first_message is None:
            onset = self._locate_onset()
            if onset is None and self._onset_us is None:
                raise self._no_onset()
            self._first_message = 0 if onset is None else onset + 1
        return self._first_message

    def _no_onset(self) -> ArchiveFormatError:
        return ArchiveFormatError(
            "Unable to discover onset timestamp in log archive. The archive must contain a message with timestamp "
            f"value 0 storing the UTC epoch reference, but none was found in: {self._archive_path}."
        )

    @property
    def onset_timestamp_us(self) -> np.uint64:
        """Returns the onset timestamp in microseconds since epoch.

        Returns:
            The onset timestamp: the payload of the first message with timestamp 0, or the onset_us given.

        Raises:
            ValueError: If the archive does not contain a valid onset timestamp message.
        """
        if self._onset_us is None:
            onset = self._locate_onset()
            if onset is None:
                raise self._no_onset()
            message = self._index.message(onset, alone=True)
            if len(message) != ONSET_MESSAGE_SIZE:
                raise ArchiveFormatError(
                    f"The onset message {self._index.member_name(onset)!r} of log archive {self._archive_path} holds "
                    f"{len(message) - MESSAGE_PREFIX.size} payload bytes, expected {ONSET_PAYLOAD.size} (uint64 UTC "
                    "epoch microseconds)."
                )
            (epoch,) = ONSET_PAYLOAD.unpack(message[MESSAGE_PREFIX.size :].tobytes())
            self._onset_us = np.uint64(epoch)
        return self._onset_us

    @property
    def message_count(self) -> int:
        """Returns the number of data messages in the archive, excluding the onset message."""
        return len(self._index) - self._data_start

    @property
    def source_id(self) -> int | None:
        """Returns the source ID stored in the data messages (None for an archive without data messages)."""
        first = self._data_start
        index = self._index
        if len(index) <= first:
            return None
        return int(index.message(first, alone=True)[MESSAGE_PREFIX.offset("source_id")])

    @property
    def description(self) -> SourceDescription | None:
        """Returns what the source is (its name, what a payload holds), when the DataLogger was told; else None.

        The latest description given (see DataLogger.describe_source); archives without one (the releases', ours of
        earlier versions, undescribed sources) return None.
        """
        history = self.description_history
        return history[-1].description if history else None

    @property
    def description_history(self) -> list[DescribedSource]:
        """Returns every description the source was given, with when each was given, oldest first (may be empty)."""
        from .source_description import decode_archive_lines  # here: a reading worker need not load it

        return decode_archive_lines(self._index.comment, self._archive_path)

    @property
    def message_keys(self) -> list[str]:
        """Returns the keys of the data messages (member names without .npy), in archive order."""
        if self._message_keys is None:
            self._message_keys = self._index.stems[self._data_start :]
        return self._message_keys

    def get_batches(self, workers: int = -1, batch_multiplier: int = 4) -> list[list[str]]:
        """Divides message keys into batches optimized for parallel processing.

        Notes:
            Creates (workers * batch_multiplier) batches of consecutive keys for load balancing. Archives with fewer
            than 2000 data messages return a single batch; archives without data messages return no batch.

        Args:
            workers: The number of worker processes to optimize batching for. A value less than 1 uses all available
                CPU cores minus 2 (at least 1). Values above the number of CPU cores are capped at it.
            batch_multiplier: The over-batching factor.

        Returns:
            A list of message key batches, each a list of keys that can be passed to iter_messages().

        Raises:
            ValueError: If batch_multiplier is less than 1.
        """
        if batch_multiplier < 1:
            raise ValueError(f"batch_multiplier must be at least 1, got {batch_multiplier}")
        keys = self.message_keys
        if not keys:
            return []
        if len(keys) < PARALLEL_THRESHOLD:
            return [list(keys)]
        cores = os.cpu_count() or 1
        workers = max(1, cores - 2) if workers < 1 else min(workers, cores)
        batch_size = math.ceil(len(keys) / (workers * batch_multiplier))
        return [keys[start : start + batch_size] for start in range(0, len(keys), batch_size)]

    # ----------------------------------------------------------------------------------------------------------
    # Selection
    # ----------------------------------------------------------------------------------------------------------

    def _key_positions(self, keys: list[str]) -> NDArray[np.int64]:
        """Returns the member position of each key, found by binary search over the sorted member names."""
        if not keys:
            return np.zeros(0, dtype=np.int64)
        key_rows = _uniform_key_rows(keys)
        if key_rows is not None:  # a batch of get_batches: consecutive members, checked in one comparison
            run = self._index.find_member_run(key_rows)
            if run is not None:
                return run
        positions = self._index.find_members(_member_names(keys, key_rows))
        missing = np.flatnonzero(positions < 0)
        for number in missing.tolist():
            # A key given with .npy may name a member whose name ends in .npy.npy; a key without it may name a member
            # without the suffix (a foreign writer's), whose key is its whole name, as 7.2.0 lists and reads it.
            key = keys[number]
            name = key + MEMBER_SUFFIX if key.endswith(MEMBER_SUFFIX) else key
            positions[number] = self._index.find_members(np.array([name.encode("utf-8")], "S"))[0]
            if positions[number] < 0:
                raise KeyError(f"{key} is not a message in the log archive {self._archive_path}")
        return positions

    def _time_bounds(self, start_us: int | None, end_us: int | None) -> tuple[int, int]:
        """Returns the elapsed-time bounds [low, high) of a selection of absolute UTC times."""
        onset = int(self.onset_timestamp_us)
        low = 0 if start_us is None else max(0, int(start_us) - onset)
        high = 1 << 64 if end_us is None else max(0, int(end_us) - onset)
        return low, high

    def _select(self, keys: list[str] | None, start_us: int | None, end_us: int | None) -> NDArray[np.int64]:
        """Returns the member positions of the messages selected by keys and a time range, in order."""
        index = self._index
        if keys is not None:  # the onset is not looked for: workers given onset_us never touch its member
            positions = self._key_positions(keys)
            if start_us is None and end_us is None:
                return positions
            low, high = self._time_bounds(start_us, end_us)
            stamps = index.timestamps_at(positions).astype(np.uint64)
            inside = stamps >= np.uint64(low)
            if high < 1 << 64:
                inside &= stamps < np.uint64(high)
            return positions[inside]
        first = self._data_start
        if start_us is None and end_us is None:
            return np.arange(first, len(index), dtype=np.int64)
        low, high = self._time_bounds(start_us, end_us)
        stamps = index.timestamps[first:]
        upper = np.uint64(min(high, (1 << 64) - 1))
        if len(stamps) < 2 or bool(np.all(stamps[1:] >= stamps[:-1])):  # sorted: binary search
            begin = int(np.searchsorted(stamps, np.uint64(low), side="left"))
            end = len(stamps) if high >= 1 << 64 else int(np.searchsorted(stamps, upper, side="left"))
            return np.arange(first + begin, first + max(begin, end), dtype=np.int64)
        inside = stamps >= np.uint64(low)
        if high < 1 << 64:
            inside &= stamps < upper
        return first + np.flatnonzero(inside).astype(np.int64)

    # ----------------------------------------------------------------------------------------------------------
    # Reading
    # ----------------------------------------------------------------------------------------------------------

    def _payload_rows(
        self, offsets: NDArray[np.int64], sizes: NDArray[np.int64]
    ) -> NDArray[np.uint8] | list[NDArray[np.uint8]]:
        """Returns the payloads of messages at the given offsets: rows of a 2-D view when all have one length."""
        buffer = self._index.buffer
        starts = offsets + MESSAGE_PREFIX.size
        lengths = sizes - MESSAGE_PREFIX.size
        if len(lengths) and int(lengths.min()) == int(lengths.max()):
            return rows_at(buffer, starts, int(lengths[0]), writeable=buffer.flags.writeable)
        return [buffer[start:end] for start, end in zip(starts.tolist(), (offsets + sizes).tolist(), strict=True)]

    def iter_messages(
        self, keys: list[str] | None = None, *, start_us: int | None = None, end_us: int | None = None
    ) -> Iterator[LogMessage]:
        """Iterates through messages in the archive, yielding LogMessage instances.

        Messages are prepared a block at a time (65,536 messages), so the memory iteration holds does not grow with
        the archive; each block's pages are checked (and the file size re-checked) before they are read.

        Args:
            keys: Optional list of message keys to iterate (as returned by get_batches()). If None, iterates through
                all data messages in the archive.
            start_us: Only messages at or after this absolute UTC time (microseconds since epoch).
            end_us: Only messages before this absolute UTC time.

        Yields:
            LogMessage instances containing the absolute timestamp and payload for each message.

        Raises:
            KeyError: If a key does not name a member of the archive.
            ArchiveFormatError: If a member's records disagree, or the file shrank while open.
        """
        positions = self._select(keys, start_us, end_us)
        index = self._index
        onset = self.onset_timestamp_us
        for first in range(0, len(positions), _BLOCK):
            block = positions[first : first + _BLOCK]
            offsets, sizes = index.message_layout(block, release=False)  # read next, then released below
            index.check_size()
            stamps = index.timestamps_at(block) + onset
            yield from map(_message, stamps, self._payload_rows(offsets, sizes))
            index.release_members(block)  # the payloads stay readable; their pages leave this process's memory

    def read_all_messages(self) -> tuple[NDArray[np.uint64], list[NDArray[np.uint8]]]:
        """Reads all data messages from the archive.

        Returns:
            A tuple of two elements: a numpy array of absolute timestamps in microseconds, and a list of payload
            arrays, one for each message.
        """
        index = self._index
        first = self._data_start
        onset = self.onset_timestamp_us
        timestamps: NDArray[np.uint64] = index.timestamps[first:] + onset
        offsets = index.message_offsets[first:]
        sizes = index.message_sizes[first:]
        index.check_size()
        return timestamps, list(self._payload_rows(offsets, sizes))

    def read_timestamps(self, start_us: int | None = None, end_us: int | None = None) -> NDArray[np.uint64]:
        """Returns the absolute UTC timestamps (microseconds since epoch) of the data messages as one array.

        Args:
            start_us: Only messages at or after this absolute UTC time.
            end_us: Only messages before this absolute UTC time.
        """
        positions = self._select(None, start_us, end_us)
        index = self._index
        first = self._data_start
        if len(positions) and int(positions[-1]) - int(positions[0]) == len(positions) - 1:
            elapsed = index.timestamps[int(positions[0]) : int(positions[-1]) + 1]
        else:
            elapsed = index.timestamps[positions] if len(positions) else index.timestamps[first:first]
        return elapsed + self.onset_timestamp_us

    def read_columns(self, start_us: int | None = None, end_us: int | None = None) -> MessageColumns:
        """Returns the data messages (or those of a time range) as arrays: timestamps and payloads.

        Selection by time uses binary search on the (sorted) timestamps. Payloads of one length come as a 2-D array
        that is a zero-copy view of the mapped file when the members lie at equal distances (the usual case for a
        microcontroller module or a camera: one payload size); otherwise as one buffer plus offsets.

        Args:
            start_us: Only messages at or after this absolute UTC time (microseconds since epoch).
            end_us: Only messages before this absolute UTC time.

        Returns:
            The messages' columns.
        """
        positions = self._select(None, start_us, end_us)
        timestamps = self.read_timestamps(start_us, end_us)
        index = self._index
        offsets, sizes = index.message_layout(positions)
        index.check_size()
        starts = offsets + MESSAGE_PREFIX.size
        lengths = sizes - MESSAGE_PREFIX.size
        buffer = index.buffer
        if len(lengths) == 0 or int(lengths.min()) == int(lengths.max()):
            width = int(lengths[0]) if len(lengths) else 0
            if equal_stride(starts) is not None:
                payloads = rows_at(buffer, starts, width)
            else:
                payloads = rows_at(buffer, starts, width).copy()
            return MessageColumns(timestamps, payloads, None, None)
        bounds = np.zeros(len(lengths) + 1, dtype=np.int64)
        np.cumsum(lengths, out=bounds[1:])
        flat = np.empty(int(bounds[-1]), dtype=np.uint8)
        view = flat.data
        source = memoryview(buffer.data)
        for start, begin, end in zip(starts.tolist(), bounds[:-1].tolist(), bounds[1:].tolist(), strict=True):
            view[begin:end] = source[start : start + end - begin]
        return MessageColumns(timestamps, None, flat, bounds)

    # ----------------------------------------------------------------------------------------------------------
    # Integrity and summary figures
    # ----------------------------------------------------------------------------------------------------------

    def find_corrupt_member(self) -> str | None:
        """Returns the name of the first member whose bytes fail their CRC-32, or None when all check out.

        Notes:
            Reads every byte of the archive (about 1 s per GB from the page cache).
        """
        index = self._index
        failed = index.check_crcs()
        return index.member_name(failed) if failed is not None else None

    def verify(self) -> None:
        """Checks every member's CRC-32 (reads every byte of the archive: about 1 s per GB from the page cache).

        Raises:
            ArchiveFormatError: If a member fails its check; the error names the archive and the member.
        """
        corrupt = self.find_corrupt_member()
        if corrupt is not None:
            raise ArchiveFormatError(
                f"Log archive {self._archive_path} is corrupt: member {corrupt!r} fails its CRC-32 check (its bytes "
                "changed after it was written)."
            )

    def elapsed_timestamps(self) -> NDArray[np.uint64]:
        """Returns the timestamps of the data messages relative to the onset, in microseconds (archive order)."""
        return self._index.timestamps[self._data_start :]

    def payload_sizes(self) -> NDArray[np.int64]:
        """Returns the payload size of each data message in bytes (archive order)."""
        return self._index.message_sizes[self._data_start :] - MESSAGE_PREFIX.size
