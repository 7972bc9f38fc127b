"""SharedMemoryArray: a NumPy array in a named shared memory buffer that many processes read and write under one lock.

The buffer starts with a small header: a magic, a random token that tells this buffer from a later one of the same
name, the data's size, and (on Linux) a process-shared, robust, error-checking pthread mutex. The array's data
follows the header. Keeping the lock inside the buffer means:

- the kernel tells the next locker when a holder died with the lock held (``EOWNERDEAD``): it takes the lock over,
  marks it consistent and warns, instead of every process waiting forever;
- a copy of the instance can travel by any pickle (process arguments, a Queue, a Pipe), since nothing but the name
  is sent;
- nothing outside the buffer has to be created or cleaned up.

Elsewhere (no robust mutexes: macOS, Windows; or ``AXDS_FORCE_PORTABLE=1``) a ``multiprocessing.Lock`` is used, as the
original releases do, with their limits: it travels only as a process's start arguments (pickling a connected array
any other way raises RuntimeError, and a copy connected by name alone locks nothing), it does not detect a thread
locking twice (that thread waits forever), and a holder killed while it holds it leaves it held: every later locked
access waits forever (Ctrl+C still interrupts the wait), with no warning. The two strategies are the classes
RobustMutex and FallbackLock, one chosen at import; the array uses either through the same three calls.
"""

from __future__ import annotations

import errno
import multiprocessing
import multiprocessing.util
import os
import secrets
import struct
import weakref
from contextlib import AbstractContextManager, suppress
from multiprocessing import resource_tracker
from multiprocessing.shared_memory import SharedMemory
from types import TracebackType
from typing import Any, ClassVar, NamedTuple

import numpy as np
from numpy.typing import NDArray

from ..errors import AxdsError, SharedMemoryFormatError, SharedMemoryLockWarning
from .array_locks import LOCK_KIND, ArrayLock
from .segment import Segment, tracker_identity, tracker_running, unlink_by_name

__all__ = ["SharedMemoryArray", "SharedMemoryFormatError", "SharedMemoryLockWarning"]

ArrayIndex = int | slice | tuple[int | slice, ...] | NDArray[np.integer[Any]] | NDArray[np.bool_]
"""What item access takes: any NumPy basic or integer/boolean-array index of the array."""

_MAGIC = b"AXDSSMA1"
_HEADER = struct.Struct("<8sQQ")  # magic, token, data size in bytes
_TRACKER = struct.Struct("<Q")  # right after the header: which resource tracker holds the name (see tracker_identity)
_MUTEX_OFFSET = 64
_DATA_OFFSET = 128  # Keeps the data 64-byte aligned; a glibc pthread_mutex_t is at most 48 bytes.


class _ShapeError(AxdsError, ValueError, IndexError):
    """A prototype that no shared buffer can hold (0-dimensional); an IndexError as in 7.2, and a ValueError."""


_exit_watch_pid: int | None = None
"""The process whose exit hook is registered (a forked child has its own, its parent's registry is cleared)."""


def _watch_takeovers_at_exit() -> None:
    """Registers, once per process, the exit hook that keeps the tracker from removing buffers taken over."""
    global _exit_watch_pid  # one flag per process
    if _exit_watch_pid == os.getpid():
        return
    _exit_watch_pid = os.getpid()
    # A multiprocessing finalizer runs at the exit of the main process (atexit) and of every multiprocessing child
    # (fork included, which skips atexit), before the tracker learns of the exit.
    multiprocessing.util.Finalize(None, _forget_names_taken_over, exitpriority=10)


def _forget_names_taken_over() -> None:
    """At exit: the tracker forgets the names of arrays created here whose buffers another program took over."""
    pid = os.getpid()
    for array in list(SharedMemoryArray._owners.values()):
        if array._owner_pid == pid:
            with suppress(Exception):  # at exit: one array's trouble must not keep the others from being handled
                array._forget_if_taken_over(_read_owner(array._name))


class _BufferOwner(NamedTuple):
    """Who made the buffer that now has a name: its creator's token and the tracker that holds the name."""

    token: int
    tracker: int
    """The creator's tracker_identity() (0: unknown, e.g. a buffer of an earlier version of this library)."""


def _read_owner(name: str) -> _BufferOwner | None:
    """Returns the owner of the SharedMemoryArray buffer that now has ``name``, or None if there is none."""
    try:
        segment = Segment(name, create=False)
    except FileNotFoundError:
        return None
    try:
        if segment.size < _DATA_OFFSET or segment.buf is None:
            return None
        magic, token, _ = _HEADER.unpack_from(segment.buf, 0)
        (tracker,) = _TRACKER.unpack_from(segment.buf, _HEADER.size)
        return _BufferOwner(int(token), int(tracker)) if magic == _MAGIC else None
    finally:
        segment.close()


def _check_prototype(name: str, prototype: Any) -> None:
    """Raises the error create_array() gives for a name or prototype it cannot share (see its Raises)."""
    if not isinstance(prototype, np.ndarray):
        raise TypeError(
            f"Unable to create the '{name}' SharedMemoryArray object using the provided prototype. The "
            f"'prototype' argument must be a NumPy array, but got {type(prototype).__name__}."
        )
    if not isinstance(name, str) or not name or "/" in name or "\0" in name or len(name) > 250:
        raise ValueError(
            f"Unable to create a SharedMemoryArray named {name!r}: a buffer name is a non-empty string of at "
            f"most 250 characters without '/'."
        )
    if prototype.ndim == 0:
        raise _ShapeError(
            f"Unable to create the '{name}' SharedMemoryArray object: the prototype is a 0-dimensional array "
            f"({prototype!r}); use a 1-element array (np.array([value])) instead."
        )
    if prototype.size == 0:
        raise ValueError(
            f"Unable to create the '{name}' SharedMemoryArray object: the prototype array of shape "
            f"{prototype.shape} is empty, and a shared memory buffer cannot have a size of zero bytes."
        )
    if prototype.dtype.hasobject:
        raise TypeError(
            f"Unable to create the '{name}' SharedMemoryArray object: the prototype's datatype "
            f"{prototype.dtype} holds Python objects, whose references mean nothing in another process; use a "
            f"numeric, boolean, or fixed-size bytes/str datatype."
        )


def _fill_segment(segment: Segment, prototype: NDArray[Any]) -> tuple[int, Any]:
    """Writes a new segment's header (a fresh token), makes its lock and copies the prototype in.

    Returns the token and what of the lock travels with pickled copies (see SharedMemoryArray._shared_lock).
    """
    assert segment.buf is not None
    nbytes = int(prototype.nbytes)
    token = secrets.randbits(63) + 1
    _HEADER.pack_into(segment.buf, 0, _MAGIC, token, nbytes)
    _TRACKER.pack_into(segment.buf, _HEADER.size, tracker_identity())  # Segment registered the name
    raw = np.frombuffer(segment.buf, dtype=np.uint8)
    shared_lock = LOCK_KIND.create(raw.ctypes.data + _MUTEX_OFFSET)
    del raw
    data = np.frombuffer(segment.buf, dtype=np.uint8, count=nbytes, offset=_DATA_OFFSET)
    data.view(prototype.dtype).reshape(prototype.shape)[...] = prototype
    del data
    return token, shared_lock


class SharedMemoryArray:
    """A NumPy array kept in a named shared memory buffer, read and written by many processes under one lock.

    Build it with :meth:`create_array` (never directly). The creating process is connected and owns the buffer: the
    buffer is destroyed when the creator calls :meth:`destroy` or its instance is garbage-collected. A copy passed to
    another process (as a ``Process`` argument, through a Queue or Pipe, or inherited by fork) connects on arrival
    when ``auto_connect`` is True and only disconnects at its end. Indexing (``array[i]``, ``array[a:b]``) locks,
    reads copies and writes values cast to the array's datatype; :meth:`array` yields the shared array itself.

    Args:
        name: The unique name of the shared memory buffer.
        shape: The shape of the array.
        datatype: The datatype of the array.
        buffer: The SharedMemory buffer holding the data (made by :meth:`create_array`).
        auto_connect: Whether a copy connects to the buffer as it arrives in another process.
    """

    # The instance that owns each buffer name in this process, so that exists_ok can take the right away from it.
    _owners: ClassVar[weakref.WeakValueDictionary[str, SharedMemoryArray]] = weakref.WeakValueDictionary()

    def __init__(
        self,
        name: str,
        shape: tuple[int, ...],
        datatype: np.dtype[Any],
        buffer: SharedMemory,
        *,
        auto_connect: bool = True,
    ) -> None:
        self._name = name
        self._shape = tuple(shape)
        self._datatype = np.dtype(datatype)
        self._buffer: SharedMemory | None = buffer
        self._auto_connect = auto_connect
        self._token = 0
        self._owner_pid: int | None = None
        self._array: NDArray[Any] | None = None
        self._lock: ArrayLock | None = None  # while connected
        # What of the lock travels with a pickled copy: the fallback's multiprocessing.Lock (made by create_array,
        # inherited as the original's is); None for the robust mutex, which lives in the buffer.
        self._shared_lock: Any = None
        if buffer is not None:
            self._bind()

    # ----- creation and lifecycle -----
    @classmethod
    def create_array(
        cls, name: str, prototype: NDArray[Any], *, exists_ok: bool = False, auto_connect: bool = True
    ) -> SharedMemoryArray:
        """Creates a shared buffer named ``name`` holding a copy of ``prototype`` and returns it, connected.

        The calling process owns the buffer: it is destroyed by :meth:`destroy` or when the returned instance is
        garbage-collected, so keep it referenced while other processes use the array.

        Args:
            name: The unique name of the shared memory buffer.
            prototype: The NumPy array whose shape, datatype and values the shared array starts with.
            exists_ok: Whether an existing buffer of that name is removed and replaced (else FileExistsError).
            auto_connect: Whether copies connect to the buffer as they arrive in other processes (else each one
                calls :meth:`connect`).

        Returns:
            The created and connected SharedMemoryArray.

        Raises:
            TypeError: ``prototype`` is not a NumPy array, or holds Python objects (which cannot be shared).
            ValueError: ``prototype`` is empty, or ``name`` is not a valid buffer name.
            IndexError: ``prototype`` is 0-dimensional (also a ValueError).
            FileExistsError: A buffer named ``name`` exists and ``exists_ok`` is False.
        """
        _check_prototype(name, prototype)
        nbytes = int(prototype.nbytes)
        segment = cls._new_segment(name, _DATA_OFFSET + nbytes, exists_ok=exists_ok)
        try:
            token, shared_lock = _fill_segment(segment, prototype)
        except BaseException:
            segment.close()
            segment.unlink()
            raise
        instance = cls.__new__(cls)
        instance._init_fields(name, prototype.shape, prototype.dtype, auto_connect)
        instance._buffer = segment
        instance._token = token
        instance._owner_pid = os.getpid()
        instance._shared_lock = shared_lock
        instance._bind()
        cls._owners[name] = instance
        _watch_takeovers_at_exit()
        return instance

    @classmethod
    def _new_segment(cls, name: str, size: int, *, exists_ok: bool) -> Segment:
        """Creates the named segment; with exists_ok, an existing one is removed first (its owner here disowns it)."""
        try:
            return Segment(name, create=True, size=size)
        except FileExistsError:
            if not exists_ok:
                raise FileExistsError(
                    f"Unable to create the '{name}' SharedMemoryArray object, as an object with this name already "
                    f"exists. If this method is called from a child process, use the connect() method instead to "
                    f"connect to the existing buffer. To clean-up the buffer left over from a previous runtime, run "
                    f"this method with the 'exists_ok' flag set to True."
                ) from None
        previous = cls._owners.get(name)
        if previous is not None:
            previous._owner_pid = None
        # Not "forget": a leftover of another run is unknown to this tracker (it would print a KeyError), and the new
        # buffer registers the same name again anyway.
        unlink_by_name(name, forget=False)
        try:
            return Segment(name, create=True, size=size)
        except FileExistsError:
            raise FileExistsError(
                f"Unable to create the '{name}' SharedMemoryArray object: another process created a buffer of that "
                f"name again right after the old one was removed. Buffer names must stay unique across the processes "
                f"that run at the same time."
            ) from None

    def _init_fields(self, name: str, shape: tuple[int, ...], datatype: np.dtype[Any], auto_connect: bool) -> None:
        self._name = name
        self._shape = tuple(int(size) for size in shape)
        self._datatype = np.dtype(datatype)
        self._auto_connect = auto_connect
        self._buffer = None
        self._token = 0
        self._owner_pid = None
        self._array = None
        self._lock = None
        self._shared_lock = None

    def _bind(self) -> None:
        """Checks the connected buffer's header and builds the views of its lock and data."""
        buffer = self._buffer
        assert buffer is not None and buffer.buf is not None
        nbytes = int(np.prod(self._shape, dtype=np.int64)) * self._datatype.itemsize
        if buffer.size < _DATA_OFFSET + nbytes:
            raise SharedMemoryFormatError(
                f"The shared memory buffer '{self._name}' holds {buffer.size} bytes, too few for a SharedMemoryArray "
                f"of shape {self._shape} and datatype {self._datatype}: it was not made by this library's "
                f"create_array() (an original release's buffer, or another program's)."
            )
        magic, token, stored = _HEADER.unpack_from(buffer.buf, 0)
        if magic != _MAGIC or stored != nbytes:
            raise SharedMemoryFormatError(
                f"The shared memory buffer '{self._name}' is not a SharedMemoryArray of shape {self._shape} and "
                f"datatype {self._datatype} (header {magic!r}, {stored} data bytes): it was made by another program "
                f"or another release, or replaced by a different array of the same name."
            )
        if self._token and token != self._token:
            raise FileNotFoundError(
                f"The shared memory buffer '{self._name}' this SharedMemoryArray was created with no longer exists: "
                f"the name now belongs to a new buffer made with create_array(..., exists_ok=True)."
            )
        self._token = int(token)
        # frombuffer keeps a buffer export for as long as any view of the data lives, which makes closing the
        # mapping under a view that code still holds fail (and be skipped) instead of crashing on the next access.
        raw = np.frombuffer(buffer.buf, dtype=np.uint8, count=nbytes, offset=_DATA_OFFSET)
        self._array = raw.view(self._datatype).reshape(self._shape)
        # The data view keeps the mapping, and so the mutex's address, alive for as long as the lock is used.
        self._lock = LOCK_KIND(self._array.ctypes.data - _DATA_OFFSET + _MUTEX_OFFSET, self._name, self._shared_lock)

    def connect(self) -> None:
        """Makes sure the instance is connected to its buffer when the call returns (a no-op when it already is).

        Raises:
            FileNotFoundError: The buffer no longer exists (it was destroyed).
            SharedMemoryFormatError: A buffer of that name exists but is not this array's.
        """
        if self._array is not None:
            return
        try:
            segment = Segment(self._name, create=False)
        except FileNotFoundError:
            raise FileNotFoundError(
                errno.ENOENT,
                f"Unable to connect to the SharedMemoryArray '{self._name}': its shared memory buffer does not exist "
                f"(it was destroyed, or its creator ended)",
                f"/{self._name}",
            ) from None
        self._buffer = segment
        try:
            self._bind()
        except BaseException:
            self._drop_views()
            raise

    def _drop_views(self) -> None:
        self._array = None
        self._lock = None
        buffer, self._buffer = self._buffer, None
        if buffer is not None:
            buffer.close()

    def disconnect(self) -> None:
        """Disconnects this instance from the buffer without destroying it (a no-op when not connected)."""
        if self._array is None and self._buffer is None:
            return
        self._drop_views()

    def destroy(self) -> None:
        """Disconnects and removes the buffer, so that no process can connect to it any more.

        Processes still connected keep their memory until they disconnect. An instance whose buffer name was taken
        over by ``create_array(..., exists_ok=True)`` only disconnects: it never removes another array's buffer.
        Calling it again, or after the buffer is gone, does nothing.
        """
        self._drop_views()
        created_here = self._owner_pid is not None and self._owner_pid == os.getpid()
        self._owner_pid = None
        if SharedMemoryArray._owners.get(self._name) is self:
            del SharedMemoryArray._owners[self._name]
        owner = _read_owner(self._name)
        if self._token and owner is not None and owner.token == self._token:
            with suppress(FileNotFoundError):
                unlink_by_name(self._name)
        elif created_here:
            self._forget_if_taken_over(owner)

    def _forget_if_taken_over(self, owner: _BufferOwner | None) -> None:
        """Makes this process's resource tracker forget the name if another tracker's process took it over.

        The tracker removes every name it holds when the process tree that shares it ends; once another program
        replaced the buffer (``create_array(..., exists_ok=True)``), the name is that program's to remove. A buffer
        taken over within this process tree is held by the same tracker, under the same name, for the new owner.
        """
        if owner is None or owner.token == self._token or not tracker_running():
            return
        if owner.tracker != tracker_identity():
            resource_tracker.unregister("/" + self._name, "shared_memory")

    def enable_buffer_destruction(self) -> None:
        """Kept for code written for 6.2: the creator destroys the buffer when collected anyway, so it does nothing."""

    def __del__(self) -> None:
        try:
            if self._owner_pid is not None and self._owner_pid == os.getpid():
                self.destroy()
            else:
                self._drop_views()
        except Exception:
            pass

    # ----- pickling: a copy connects itself in the process that receives it -----
    def __getstate__(self) -> dict[str, Any]:
        """Returns what a copy needs to reconnect in another process: name, shape, datatype, token, auto_connect."""
        state: dict[str, Any] = {
            "name": self._name,
            "shape": self._shape,
            "datatype": self._datatype,
            "token": self._token,
            "auto_connect": self._auto_connect,
        }
        if self._shared_lock is not None:  # the fallback lock (see the module's notes)
            state["lock"] = self._shared_lock
        return state

    def __setstate__(self, state: dict[str, Any]) -> None:
        """Rebuilds the copy and, with ``auto_connect``, connects it to the buffer.

        Raises:
            FileNotFoundError: ``auto_connect`` is set and the buffer no longer exists.
        """
        self._init_fields(state["name"], state["shape"], state["datatype"], state["auto_connect"])
        self._token = int(state.get("token", 0))
        self._shared_lock = state.get("lock")
        if self._auto_connect:
            self.connect()

    # ----- data access -----
    @property
    def name(self) -> str:
        """Returns the name of the shared memory buffer."""
        return self._name

    @property
    def shape(self) -> tuple[int, ...]:
        """Returns the shape of the shared array."""
        return self._shape

    @property
    def datatype(self) -> np.dtype[Any]:
        """Returns the datatype of the shared array."""
        return self._datatype

    @property
    def is_connected(self) -> bool:
        """Returns True if this instance is connected to the buffer that holds the array's data."""
        return self._array is not None

    def __repr__(self) -> str:
        return (
            f"SharedMemoryArray(name={self._name!r}, shape={self._shape}, datatype={self._datatype}, "
            f"connected={self._array is not None})"
        )

    def _not_connected(self, what: str) -> ConnectionError:
        return ConnectionError(
            f"Unable to access the data stored in the {self._name} SharedMemoryArray instance, as the instance is "
            f"not connected to the shared memory buffer. Call the connect() method prior to {what}."
        )

    def array(self, *, with_lock: bool = True) -> AbstractContextManager[NDArray[Any]]:
        """Returns a context manager that yields the shared array itself (not a copy), locked for the whole block.

        Args:
            with_lock: Whether to hold the lock while the block runs. Without it, no other process may write
                meanwhile.

        Raises:
            ConnectionError: The instance is not connected to the buffer (raised by the ``with`` statement).
        """
        return _ArrayAccess(self, with_lock)

    def __getitem__(self, index: ArrayIndex) -> Any:
        """Returns a copy of the value(s) at ``index`` (an index, a slice, or any NumPy index), read under the lock.

        Raises:
            ConnectionError: The instance is not connected to the buffer.
            IndexError: The index is out of bounds.
        """
        array = self._array
        if array is None:
            raise self._not_connected("accessing the array's data")
        lock = self._lock
        assert lock is not None  # connected
        code = lock.try_acquire()
        if code:
            lock.wait(code, 3)
        try:
            value = array[index]
        except (IndexError, TypeError, ValueError) as error:
            raise type(error)(f"SharedMemoryArray '{self._name}' {self._shape}: index {index!r}: {error}") from None
        finally:
            lock.release()
        # Scalars come out as copies already; array results are views into the buffer.
        return value.copy() if isinstance(value, np.ndarray) else value

    def __setitem__(self, index: ArrayIndex, value: Any) -> None:
        """Writes ``value`` at ``index`` under the lock, cast to the array's datatype.

        Raises:
            ConnectionError: The instance is not connected to the buffer.
            IndexError: The index is out of bounds.
            ValueError: The value's shape does not fit the selection (or it cannot be converted).
            TypeError, OverflowError: The value cannot be converted to the array's datatype.
        """
        array = self._array
        if array is None:
            raise self._not_connected("accessing the array's data")
        lock = self._lock
        assert lock is not None  # connected
        code = lock.try_acquire()
        if code:
            lock.wait(code, 3)
        try:
            array[index] = value
        except (IndexError, TypeError, ValueError, OverflowError) as error:
            raise type(error)(
                f"SharedMemoryArray '{self._name}' {self._shape} {self._datatype}: cannot write {value!r} at index "
                f"{index!r}: {error}"
            ) from None
        finally:
            lock.release()


class _ArrayAccess(AbstractContextManager[NDArray[Any]]):
    """The context manager of :meth:`SharedMemoryArray.array` (a class: a third of a generator's cost per block)."""

    __slots__ = ("_array", "_lock", "_owner", "_with_lock")

    def __init__(self, owner: SharedMemoryArray, with_lock: bool) -> None:
        self._owner = owner
        self._with_lock = with_lock
        self._lock: ArrayLock | None = None
        self._array: NDArray[Any] | None = None

    def __enter__(self) -> NDArray[Any]:
        owner = self._owner
        array = owner._array
        if array is None:
            raise owner._not_connected("calling the array() method")
        if self._with_lock:
            lock = owner._lock
            assert lock is not None  # connected
            code = lock.try_acquire()
            if code:
                lock.wait(code, 3)  # the warning about a dead holder points at the user's 'with' line
            # The lock taken is the one released, even if the block disconnects; the array keeps its memory (and
            # so the mutex) mapped until then.
            self._lock = lock
            self._array = array
        return array

    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None, traceback: TracebackType | None
    ) -> None:
        lock, self._lock, self._array = self._lock, None, None
        if lock is not None:
            lock.release()
