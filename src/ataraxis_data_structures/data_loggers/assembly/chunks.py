"""A source's messages on their way into an archive: chunks of messages, and what both assembly passes share.

A chunk is a buffer (a mapped live log, an existing archive, loose ``.npy`` files read into memory) with the position,
size, archived timestamp and head of each message in it; the in-memory pass sorts chunks' messages into one plan, the
streaming pass writes them a window at a time.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from numpy.typing import NDArray

from ..formats.archive_layout import MESSAGE_PREFIX

__all__ = [
    "BATCH",
    "MAX_REPEAT",
    "UNKNOWN_ONSET",
    "WINDOW",
    "Chunk",
    "NotInOrderError",
    "naming_disk_errors",
    "whole_messages",
    "windows_of",
]

BATCH = 32768
MAX_REPEAT = 1_000_000
UNKNOWN_ONSET = 0  # a record logged before any onset of its source: it joins the first session

WINDOW = 65536
"""Records per window of the streaming pass: large enough that numpy does the work, small enough to stay cheap."""


@dataclass
class Chunk:
    """A buffer holding some of a source's messages, and where they lie in it."""

    origin: str
    buffer: NDArray[np.uint8]
    timestamps: NDArray[np.uint64]
    """The elapsed timestamp of each message as it will be archived (rebased onto the archive's onset)."""
    heads: NDArray[np.uint8]
    """The MESSAGE_PREFIX of each message (source ID, timestamp) as rows."""
    offsets: NDArray[np.int64]
    """Where each message's payload starts in the buffer."""
    sizes: NDArray[np.int64]
    """The size of each message's payload."""
    onsets: NDArray[np.uint64] | None = None
    """The onset (UTC epoch µs) each message is timed from, UNKNOWN_ONSET for records before any onset."""

    def rebase(self, shift: NDArray[np.uint64]) -> None:
        """Adds each message's shift to its timestamp and rewrites its head to match."""
        if not np.any(shift):
            return
        self.timestamps = self.timestamps + shift
        heads = np.array(self.heads)  # may be a view of a read-only buffer
        heads[:, 1:] = self.timestamps.astype("<u8").view(np.uint8).reshape(-1, 8)
        self.heads = heads


def whole_messages(
    origin: str, buffer: NDArray[np.uint8], offsets: NDArray[np.int64], sizes: NDArray[np.int64]
) -> Chunk:
    """Returns the chunk of messages stored whole (head and payload) at the given offsets of a buffer."""
    heads = buffer[offsets[:, None] + np.arange(MESSAGE_PREFIX.size)]
    timestamps = np.ascontiguousarray(heads[:, 1:]).view("<u8").ravel().astype(np.uint64)
    return Chunk(origin, buffer, timestamps, heads, offsets + MESSAGE_PREFIX.size, sizes - MESSAGE_PREFIX.size)


class NotInOrderError(Exception):
    """The source's records are not in archive order as they are read: it is assembled in memory instead."""


@contextmanager
def naming_disk_errors(source_id: int, temporary: Path) -> Iterator[None]:
    """Turns an I/O error while writing an archive (a full disk) into one naming the file; removes the partial."""
    try:
        yield
    except OSError as error:
        temporary.unlink(missing_ok=True)
        raise OSError(
            error.errno,
            f"Unable to write the log archive of source {source_id} to {temporary}: {error.strerror or error}; "
            "the sources and any earlier archive are untouched",
            str(temporary),
        ) from error


def windows_of(chunk: Chunk) -> Iterator[Chunk]:
    """Yields a chunk as consecutive windows of WINDOW messages."""
    for first in range(0, len(chunk.timestamps), WINDOW):
        window = slice(first, first + WINDOW)
        onsets = chunk.onsets[window] if chunk.onsets is not None else None
        yield Chunk(
            chunk.origin,
            chunk.buffer,
            chunk.timestamps[window],
            chunk.heads[window],
            chunk.offsets[window],
            chunk.sizes[window],
            onsets,
        )
