"""The recording sessions a log archive holds: read_archive_sessions, through a lazily validated index."""

from __future__ import annotations

from pathlib import Path
from typing import NamedTuple

import numpy as np

from ..formats.archive_format import LogSession, decode_sessions
from ..formats.archive_layout import MESSAGE_PREFIX, ONSET_MESSAGE_SIZE, ONSET_TIMESTAMP
from .zip_index import ArchiveIndex

__all__ = ["LogSession", "OnsetMember", "archive_onset", "read_archive_sessions"]


def read_archive_sessions(archive_path: Path) -> list[LogSession]:
    """Returns the recording sessions a log archive holds, in time order.

    Notes:
        An archive assembled from several logger sessions of one source (a recording restarted in the same log
        directory) stores one onset member, the earliest session's; the elapsed times of later sessions are rebased
        onto it, so absolute times (onset + elapsed) are exact for every reader. A message belongs to the last
        session whose elapsed_offset_us is not after the message's elapsed timestamp. Archives of one session
        (including every archive the original releases wrote) return that one session.

    Args:
        archive_path: The .npz log archive.

    Returns:
        The sessions, earliest first; empty if the archive has no onset message.

    Raises:
        FileNotFoundError: If the archive does not exist.
        ValueError: If the file is not a readable log archive.
    """
    index = ArchiveIndex(Path(archive_path))
    listed = decode_sessions(index.comment)
    index = ArchiveIndex(Path(archive_path), lazy=True)
    listed = decode_sessions(index.comment)
    if listed:
        return listed
    onset = archive_onset(index)
    return [] if onset is None else [LogSession(onset.onset_us, 0)]


class OnsetMember(NamedTuple):
    """An archive's onset member."""

    position: int
    """The member's position in the archive."""
    onset_us: int
    """The onset it holds: UTC epoch microseconds."""


def archive_onset(index: ArchiveIndex) -> OnsetMember | None:
    """Returns an archive's onset member (its first with timestamp 0, as the readers take it), or None.

    The onset is the first member of every archive assembly or the releases write: only that member is validated then.
    """
    if len(index) == 0:
        return None
    if index.message_timestamp(0) == ONSET_TIMESTAMP:
        position = 0
    else:
        zeros = np.flatnonzero(index.timestamps == ONSET_TIMESTAMP)
        if len(zeros) == 0:
            return None
        position = int(zeros[0])
    message = index.message(position, alone=True)
    if len(message) != ONSET_MESSAGE_SIZE:
        return None
    return OnsetMember(position, int.from_bytes(message[MESSAGE_PREFIX.size :].tobytes(), "little"))
