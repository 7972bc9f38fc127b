"""A POSIX shared memory segment mapped whole, and the resource tracker's bookkeeping of segment names.

Used by SharedMemoryArray and by the logger's put board (TCP transport); attaching never registers the name with
the resource tracker, so only the creator's tracker removes it.
"""

from __future__ import annotations

import mmap
import os
from contextlib import suppress
from multiprocessing import resource_tracker
from multiprocessing.shared_memory import SharedMemory

__all__ = ["Segment", "tracker_identity", "tracker_running", "unlink_by_name"]

try:
    import _posixshmem  # type: ignore[import-not-found]
except ImportError:  # pragma: no cover - Windows
    _posixshmem = None


class Segment(SharedMemory):
    """A POSIX shared memory segment, mapped whole; attaching does not register it with the resource tracker.

    Python before 3.13 registers every attached segment with the resource tracker, which unlinks it when a process
    that is not a child of the creator exits; only the creator registers here, so the tracker removes the buffer
    when the creator dies without destroying it (SIGKILL included) and never earlier.
    """

    def __init__(self, name: str, *, create: bool, size: int = 0) -> None:
        if _posixshmem is None:  # pragma: no cover - Windows: the stdlib's own handling
            super().__init__(name, create=create, size=size)
            return
        self._name = "/" + name
        self._flags = os.O_RDWR | (os.O_CREAT | os.O_EXCL if create else 0)
        self._mode = 0o600
        descriptor = _posixshmem.shm_open(self._name, self._flags, mode=self._mode)
        try:
            if create:
                os.ftruncate(descriptor, size)
            else:
                size = os.fstat(descriptor).st_size
            self._mmap = mmap.mmap(descriptor, size) if size else None
        except BaseException:
            os.close(descriptor)
            if create:
                _posixshmem.shm_unlink(self._name)
            raise
        os.close(descriptor)
        self._fd = -1
        self._size = size
        self._buf = memoryview(self._mmap) if self._mmap is not None else None
        if create:
            resource_tracker.register(self._name, "shared_memory")

    def close(self) -> None:
        """Unmaps the segment; a NumPy view still held somewhere keeps the mapping alive until it is dropped."""
        # Views of the data that code still references keep the mapping alive until they are collected, which is
        # safer than unmapping memory that code can still touch.
        if self._buf is not None:
            with suppress(BufferError):
                self._buf.release()
            self._buf = None
        if self._mmap is not None:
            with suppress(BufferError):
                self._mmap.close()
            self._mmap = None

    def unlink(self) -> None:
        """Removes the segment's name; processes that still map it keep their memory until they unmap."""
        if _posixshmem is None:  # pragma: no cover
            super().unlink()
            return
        unlink_by_name(self._name[1:])


def tracker_running() -> bool:
    """True when this process has a resource tracker: its own, or its parent's (inherited by multiprocessing)."""
    return getattr(resource_tracker._resource_tracker, "_fd", None) is not None


def unlink_by_name(name: str, *, forget: bool = True) -> None:
    """Removes a segment's name; with ``forget``, the resource tracker (where there is one) forgets it too.

    The tracker of the creator is shared by its multiprocessing children, so a copy that destroys the buffer makes
    it forget the name, and it never removes a later buffer of that name when the creator ends.
    """
    if _posixshmem is None:  # pragma: no cover - Windows
        segment = SharedMemory(name)
        segment.close()
        segment.unlink()
        return
    _posixshmem.shm_unlink("/" + name)
    if forget and tracker_running():
        resource_tracker.unregister("/" + name, "shared_memory")


def tracker_identity() -> int:
    """Returns what identifies this process's resource tracker in every process that shares it, 0 without one.

    A tracker is shared by the process that started it and all its multiprocessing children (fork, spawn and
    forkserver pass its pipe on), and each holds the pipe's write end: the pipe's inode names the tracker.
    """
    descriptor = getattr(resource_tracker._resource_tracker, "_fd", None)
    if descriptor is None:
        return 0
    try:
        return os.fstat(descriptor).st_ino
    except OSError:
        return 0
