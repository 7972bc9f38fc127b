"""An archive's member names as a lookup table: the keys in archive order, and the member each key names.

Built over an ArchiveIndex's central directory names (ArchiveIndex.name_rows); LogArchiveReader looks its keys up
here. Sorted names are searched with one binary search per batch, and a batch of consecutive keys (what get_batches
hands out) is checked in one comparison.
"""

from __future__ import annotations

from functools import cached_property
from pathlib import Path

import numpy as np
from numpy.typing import NDArray

from ..formats.archive_layout import MEMBER_SUFFIX
from .zip_index import CHUNK_MEMBERS, ArchiveIndex

__all__ = ["MemberNames"]


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


class MemberNames:
    """The member names of an archive, and the position of the member each key or name names.

    Args:
        index: The archive's index.
    """

    def __init__(self, index: ArchiveIndex) -> None:
        self._index = index

    @cached_property
    def names(self) -> NDArray[np.bytes_]:
        """Returns every member's full name as a fixed-width bytes array (zero-copy when all have one length)."""
        rows = self._index.name_rows
        return rows.view(f"S{rows.shape[1]}")[:, 0]

    @cached_property
    def stems(self) -> list[str]:
        """Returns every member's key as numpy.load exposes it: the name without the .npy suffix."""
        names = self.names
        count = len(names)
        suffix = MEMBER_SUFFIX.encode("ascii")
        width = names.dtype.itemsize
        lengths = self._index.name_lengths
        if count and int(lengths.min()) == width and width > len(suffix):
            stems = self._uniform_stems(width - len(suffix))
            if stems is not None:
                return stems
        decoded = [self._index.member_name(index) for index in range(count)]
        return [name[: -len(MEMBER_SUFFIX)] if name.endswith(MEMBER_SUFFIX) else name for name in decoded]

    def _uniform_stems(self, stem_width: int) -> list[str] | None:
        """Returns the stems of names that all have one length and the .npy suffix (None if they do not).

        Built a chunk at a time with one decode and one split each (no Python object per name until the str
        itself), handing the directory's pages back after each chunk.
        """
        rows = self._index.name_rows
        suffix = np.frombuffer(MEMBER_SUFFIX.encode("ascii"), dtype=np.uint8)
        stems: list[str] = []
        for first in range(0, len(rows), CHUNK_MEMBERS):
            block = rows[first : first + CHUNK_MEMBERS]
            if not np.all(block[:, stem_width:] == suffix):
                return None
            table = np.empty((len(block), stem_width + 1), dtype=np.uint8)
            table[:, :stem_width] = block[:, :stem_width]
            table[:, stem_width] = ord("\n")
            try:
                text = table.tobytes().decode("ascii")
            except UnicodeDecodeError:
                return None
            if text.count("\n") != len(block):
                return None
            stems += text.split("\n")[:-1]
            self._index.release_entries(first, min(len(rows), first + CHUNK_MEMBERS) - 1)
        return stems

    @cached_property
    def name_order(self) -> NDArray[np.int64] | None:
        """Returns the member positions in name order, or None when the members already are in name order."""
        names = self.names
        if len(names) < 2 or bool(np.all(names[1:] >= names[:-1])):
            return None
        return np.argsort(names, kind="stable").astype(np.int64)

    def find_member_run(self, stem_rows: NDArray[np.uint8]) -> NDArray[np.int64] | None:
        """Returns the positions of consecutive members named by the rows (stems, .npy omitted), or None.

        A batch of keys from get_batches names a run of members in directory order: the first is found by binary
        search, the rest are checked in one comparison of the whole run's names, with no search per key. None
        when the rows are not such a run (the caller then searches key by key).
        """
        count, width = stem_rows.shape
        suffix = np.frombuffer(MEMBER_SUFFIX.encode("ascii"), dtype=np.uint8)
        rows = self._index.name_rows
        if count == 0 or rows.shape[1] != width + len(suffix):
            return None
        first = int(self.find_members(np.array([stem_rows[0].tobytes() + suffix.tobytes()], dtype="S"))[0])
        if first < 0 or first + count > len(rows):
            return None
        run = rows[first : first + count]
        if not (np.array_equal(run[:, :width], stem_rows) and bool(np.all(run[:, width:] == suffix))):
            return None
        return np.arange(first, first + count, dtype=np.int64)

    def find_members(self, names: NDArray[np.bytes_]) -> NDArray[np.int64]:
        """Returns the position of the member with each full name, or -1 for a name that is no member's."""
        ordered = self.names
        order = self.name_order
        if order is not None:
            ordered = ordered[order]
        if len(ordered) == 0:
            return np.full(len(names), -1, dtype=np.int64)
        found = np.searchsorted(ordered, names).astype(np.int64)
        clipped = np.minimum(found, len(ordered) - 1)
        matches = ordered[clipped] == names
        positions = clipped if order is None else order[clipped]
        return np.where(matches, positions, -1)

    def positions(self, keys: list[str], archive: Path) -> NDArray[np.int64]:
        """Returns the member position of each key, found by binary search over the sorted member names.

        Raises:
            KeyError: If a key names no member, naming the key and the archive (as the caller spells its path).
        """
        if not keys:
            return np.zeros(0, dtype=np.int64)
        key_rows = _uniform_key_rows(keys)
        if key_rows is not None:  # a batch of get_batches: consecutive members, checked in one comparison
            run = self.find_member_run(key_rows)
            if run is not None:
                return run
        positions = self.find_members(_member_names(keys, key_rows))
        missing = np.flatnonzero(positions < 0)
        for number in missing.tolist():
            # A key given with .npy may name a member whose name ends in .npy.npy; a key without it may name a member
            # without the suffix (a foreign writer's), whose key is its whole name, as 7.2.0 lists and reads it.
            key = keys[number]
            name = key + MEMBER_SUFFIX if key.endswith(MEMBER_SUFFIX) else key
            positions[number] = self.find_members(np.array([name.encode("utf-8")], "S"))[0]
            if positions[number] < 0:
                raise KeyError(f"{key} is not a message in the log archive {archive}")
        return positions
