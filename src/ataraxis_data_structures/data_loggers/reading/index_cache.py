"""The process-wide cache of lazily validated archive indexes that LogArchiveReader instances share.

Analysis code opens the same archive again for every batch of keys a worker receives; the cache keeps the index of
the archive being walked (one, so two large indexes are never held at once) and hands freed memory back to the system
when it lets one go.
"""

from __future__ import annotations

import ctypes
import os
from dataclasses import dataclass
from pathlib import Path

from .member_names import MemberNames
from .zip_index import ArchiveIndex

__all__ = ["SharedArchive", "shared_archive"]


@dataclass(frozen=True, slots=True)
class SharedArchive:
    """An archive's lazily validated index and the lookup table over its member names, shared in this process."""

    index: ArchiveIndex
    names: MemberNames


_SHARED: dict[Path, tuple[tuple[int, int, int, int] | None, SharedArchive]] = {}
_SHARED_LIMIT = 1  # indexes kept per process beyond their readers: the archive a worker is walking right now


def _return_freed_memory() -> None:
    """Asks glibc to hand freed heap memory back to the system (a no-op where there is no glibc).

    The arrays of an index that was let go return to the heap, not to the system: measured, a process walking four
    archives of 2,500,000 members one after the other kept ~120 MB of freed arrays resident; trimming returns them.
    """
    try:
        trim = ctypes.CDLL(None).malloc_trim
    except (AttributeError, OSError, TypeError):  # not glibc (macOS, musl) or not a POSIX loader (Windows)
        return
    trim(0)


def _identity(path: Path) -> tuple[int, int, int, int] | None:
    """Returns what tells a file apart from a changed or replaced one (None when it is gone)."""
    try:
        status = os.stat(path)
    except OSError:
        return None
    return (status.st_dev, status.st_ino, status.st_size, status.st_mtime_ns)


def shared_archive(path: Path) -> SharedArchive:
    """Returns a lazily validated index of an archive, reused while the file is unchanged (same inode, size, mtime).

    Analysis code opens the same archive again for every batch of keys a worker receives; reusing the index spares
    each reopening the central directory and the member checks already done in this process.
    """
    key = Path(os.path.abspath(path))
    identity = _identity(key)
    for other in list(_SHARED):  # an archive removed or replaced since: unmap it now (no reference kept here)
        if other != key and _identity(other) != _SHARED[other][0]:
            del _SHARED[other]
    cached = _SHARED.get(key)
    if cached is not None and cached[0] == identity:
        return cached[1]
    _SHARED.pop(key, None)
    if len(_SHARED) >= _SHARED_LIMIT:  # before opening: two large indexes are never held at once
        while len(_SHARED) >= _SHARED_LIMIT:
            _SHARED.pop(next(iter(_SHARED)))
        _return_freed_memory()
    index = ArchiveIndex(path, lazy=True)
    shared = SharedArchive(index, MemberNames(index))
    _SHARED[key] = (identity, shared)
    return shared
