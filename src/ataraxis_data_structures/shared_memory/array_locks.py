"""The lock of a SharedMemoryArray, one of two strategies chosen once at import.

RobustMutex: a robust, process-shared, error-checking pthread mutex kept inside the buffer (Linux). FallbackLock: a
``multiprocessing.Lock`` (macOS, Windows, or ``AXDS_FORCE_PORTABLE=1``), with the limits the array module names.
Both offer ``try_acquire``/``release`` (plain callables) and ``wait``/``acquire``.
"""

from __future__ import annotations

import ctypes
import errno
import functools
import multiprocessing
import os
import sys
import time
import warnings
from typing import Any, Protocol

from .._platform import FORCE_PORTABLE
from ..errors import SharedMemoryLockWarning

__all__ = ["LOCK_KIND", "ArrayLock", "FallbackLock", "RobustMutex"]

_LOCK_POLL = 0.1  # Seconds a blocked locker waits in C before Python gets a chance to run signal handlers.


class _PthreadApi:
    """The pthread calls the robust mutex needs, bound once; ``None`` where the platform lacks any of them."""

    def __init__(self) -> None:
        gil_releasing = ctypes.CDLL(None, use_errno=True)
        # trylock and unlock never block: calling them with the GIL held halves their cost.
        gil_holding = ctypes.PyDLL(None)
        self.attr_init = gil_releasing.pthread_mutexattr_init
        self.attr_setpshared = gil_releasing.pthread_mutexattr_setpshared
        self.attr_setrobust = gil_releasing.pthread_mutexattr_setrobust
        self.attr_settype = gil_releasing.pthread_mutexattr_settype
        self.attr_destroy = gil_releasing.pthread_mutexattr_destroy
        self.init = gil_releasing.pthread_mutex_init
        self.consistent = gil_releasing.pthread_mutex_consistent
        self.timedlock = gil_releasing.pthread_mutex_timedlock
        self.trylock = gil_holding.pthread_mutex_trylock
        self.unlock = gil_holding.pthread_mutex_unlock


class _Timespec(ctypes.Structure):
    _fields_ = [("tv_sec", ctypes.c_long), ("tv_nsec", ctypes.c_long)]


def _load_pthread() -> _PthreadApi | None:
    if FORCE_PORTABLE or not sys.platform.startswith("linux"):
        return None
    try:
        return _PthreadApi()
    except (OSError, AttributeError):  # pragma: no cover - a libc without robust mutexes
        return None


_PTHREAD = _load_pthread()
_PTHREAD_PROCESS_SHARED = 1
_PTHREAD_MUTEX_ROBUST = 1
_PTHREAD_MUTEX_ERRORCHECK = 2


class ArrayLock(Protocol):
    """What SharedMemoryArray needs of its lock.

    ``try_acquire()`` returns 0 when it took the lock, else a code for ``wait``, which finishes taking it; ``release()``
    lets it go. The first and last are plain callables (C calls for the robust mutex).
    """

    try_acquire: Any
    release: Any

    def wait(self, code: int, stacklevel: int) -> None:
        """Finishes taking the lock after try_acquire() answered ``code``."""

    def acquire(self, stacklevel: int = 3) -> None:
        """Takes the lock, waiting as long as needed."""


class RobustMutex:
    """A robust, process-shared, error-checking pthread mutex that lives at a fixed address of a mapped buffer."""

    __slots__ = ("_address", "_name", "release", "try_acquire")

    def __init__(self, address: int, name: str, shared: Any = None) -> None:
        assert _PTHREAD is not None
        self._address = ctypes.c_void_p(address)
        self._name = name
        # Bound once: the uncontended lock and unlock of every item access are one C call each, with no Python frame.
        self.try_acquire = functools.partial(_PTHREAD.trylock, self._address)
        self.release = functools.partial(_PTHREAD.unlock, self._address)

    @staticmethod
    def create(address: int) -> Any:
        """Initializes a new mutex at ``address`` (only the creator does this, before anyone else can map it).

        Returns None: nothing but the buffer's name has to travel to other processes.
        """
        assert _PTHREAD is not None
        attributes = ctypes.create_string_buffer(64)
        _PTHREAD.attr_init(attributes)
        try:
            for call, value in (
                (_PTHREAD.attr_setpshared, _PTHREAD_PROCESS_SHARED),
                (_PTHREAD.attr_setrobust, _PTHREAD_MUTEX_ROBUST),
                (_PTHREAD.attr_settype, _PTHREAD_MUTEX_ERRORCHECK),
            ):
                code = call(attributes, value)
                if code != 0:  # pragma: no cover - glibc supports all three
                    raise OSError(code, os.strerror(code))
            code = _PTHREAD.init(ctypes.c_void_p(address), attributes)
            if code != 0:  # pragma: no cover
                raise OSError(code, os.strerror(code))
        finally:
            _PTHREAD.attr_destroy(attributes)
        return None

    def acquire(self, stacklevel: int = 3) -> None:
        """Takes the lock, waiting as long as needed; recovers it from a holder that died.

        Args:
            stacklevel: Where the warning about a dead holder points (3: the caller of the caller).
        """
        code = self.try_acquire()
        if code != 0:
            self.wait(code, stacklevel + 1)

    def wait(self, code: int, stacklevel: int) -> None:
        """Finishes taking the lock after a trylock answered ``code`` (busy, or its holder died)."""
        assert _PTHREAD is not None
        while code in (errno.EBUSY, errno.ETIMEDOUT):
            # A bounded wait in C, then back to Python, so that Ctrl-C (KeyboardInterrupt) still works while blocked.
            deadline = time.time() + _LOCK_POLL
            stamp = _Timespec(int(deadline), int((deadline % 1) * 1e9))
            code = _PTHREAD.timedlock(self._address, ctypes.byref(stamp))
        if code == 0:
            return
        if code == errno.EOWNERDEAD:
            _PTHREAD.consistent(self._address)
            warnings.warn(
                f"A process died while it held the lock of SharedMemoryArray '{self._name}'; the lock was taken over "
                f"and the array's data may hold a half-finished write of that process.",
                SharedMemoryLockWarning,
                stacklevel=stacklevel,
            )
            return
        if code == errno.EDEADLK:
            raise RuntimeError(
                f"This thread already holds the lock of SharedMemoryArray '{self._name}' (a locked access inside "
                f"'with array.array():'); use the yielded array there, or array(with_lock=False)."
            )
        raise OSError(code, f"Unable to lock SharedMemoryArray '{self._name}': {os.strerror(code)}")


def _no_wait() -> int:
    return 0


def _nothing_to_release() -> None:
    return None


class FallbackLock:
    """A ``multiprocessing.Lock`` made by the creator and inherited by the processes it starts.

    See the module's notes for its limits; a copy that got none (connected by name) locks nothing.
    """

    __slots__ = ("_lock", "release", "try_acquire")

    def __init__(self, address: int, name: str, shared: Any = None) -> None:
        self._lock = shared
        if shared is None:
            self.try_acquire: Any = _no_wait
            self.release: Any = _nothing_to_release
        else:
            self.try_acquire = self._try
            self.release = shared.release

    @staticmethod
    def create(address: int) -> Any:
        """Returns the new lock, which travels with the array's pickled state (as process start arguments only)."""
        # The spawn context's lock may also go to fork and forkserver children (a fork context's may not).
        return multiprocessing.get_context("spawn").Lock()

    def _try(self) -> int:
        return 0 if self._lock.acquire(False) else errno.EBUSY

    def wait(self, code: int, stacklevel: int) -> None:
        """Waits for the lock (forever if its holder died holding it)."""
        self._lock.acquire()

    def acquire(self, stacklevel: int = 3) -> None:
        """Takes the lock, waiting as long as needed."""
        if self.try_acquire():
            self.wait(errno.EBUSY, stacklevel + 1)


LOCK_KIND: type[RobustMutex] | type[FallbackLock] = RobustMutex if _PTHREAD is not None else FallbackLock
"""The array lock of this platform, chosen once."""
