"""LogPackage: one message on its way to a DataLogger, checked when it is made, with a compact pickled form."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import NDArray

from ..formats.archive_layout import MEMBER_SUFFIX, MESSAGE_PREFIX, MessagePrefix, member_stem

__all__ = ["LogPackage", "payload_bytes"]

_UINT64_LE = np.dtype("<u8")
_UINT8 = np.dtype(np.uint8)
_BOOL = np.dtype(np.bool_)
_MAX_SOURCE_ID = 0xFF
_MAX_TIMESTAMP = 0xFFFFFFFFFFFFFFFF


@dataclass(frozen=True, slots=True, eq=False)
class LogPackage:
    """Stores the data and ID information to be logged by the DataLogger class.

    Exposes the methods for packaging this data into the format expected by the logger.

    Notes:
        During runtime, the DataLogger class expects all data sent for logging via the input Queue object to be
        packaged into an instance of this class. The fields are checked when the package is made, so that nothing
        but the bytes meant is ever logged: ``serialized_data`` must be a one-dimensional ``np.uint8`` array (of any
        memory layout) or, as the releases accept, a one-dimensional ``np.bool_`` array, logged as one 0/1 byte per
        element (other shapes, dtypes, NumPy scalars, bytes and Python objects are refused, never reinterpreted),
        ``source_id`` an integer in 0..255 and ``acquisition_time`` an integer in 0..2**64-1
        (Python or NumPy integers; floats, bools and strings are refused). Instances pickle as three plain values
        (source ID, time, payload bytes).

    Raises:
        TypeError: If a field has a type it cannot hold; the message names LogPackage and the field.
        ValueError: If a field's value is out of range, or the payload is not one-dimensional.
    """

    source_id: np.uint8
    """The ID code of the source that produced the data. Has to be unique across all systems that send data to the
    same DataLogger instance during runtime."""
    acquisition_time: np.uint64
    """The timestamp of when the data was acquired. This value typically communicates the number of microseconds
    elapsed since the onset of the data acquisition runtime."""
    serialized_data: NDArray[np.uint8]
    """The serialized data to be logged, stored as a one-dimensional bytes' NumPy array (a bool array is logged as
    0/1 bytes and read back as uint8)."""

    def __post_init__(self) -> None:
        # Cheap checks (a few type tests per package): this runs in every producer's loop.
        data = self.serialized_data
        # A bool array is one 0/1 byte per element in memory, so it is logged as those bytes (as 6.2.0 and 7.2.0 do).
        if not isinstance(data, np.ndarray) or data.dtype not in (_UINT8, _BOOL):
            if isinstance(data, np.ndarray):
                got = f"an array of dtype {data.dtype}"
            elif isinstance(data, np.generic):
                got = f"a NumPy scalar ({type(data).__name__})"
            else:
                got = type(data).__name__
            raise TypeError(
                f"LogPackage serialized_data must be a one-dimensional numpy uint8 array holding the bytes to log, "
                f"got {got}; convert it explicitly (e.g. np.frombuffer(data, dtype=np.uint8) for bytes, "
                f"array.view(np.uint8).ravel() for another dtype)"
            )
        if data.ndim != 1:
            raise ValueError(
                f"LogPackage serialized_data must be a one-dimensional uint8 array, got shape {data.shape}; "
                f"flatten it explicitly (array.ravel()) if its bytes in C order are what is meant"
            )
        _check_integer("source_id", self.source_id, _MAX_SOURCE_ID)
        _check_integer("acquisition_time", self.acquisition_time, _MAX_TIMESTAMP)

    @property
    def data(self) -> tuple[str, NDArray[np.uint8]]:
        """Returns the filename and the serialized data package to be processed by a DataLogger instance.

        Notes:
            The package is ``[source_id: 1 byte][acquisition_time: uint64 little-endian][serialized_data]``, and the
            name is ``{source_id:03d}_{acquisition_time:020d}.npy``: the layout of one message in a log archive.
        """
        source_id = int(self.source_id)
        timestamp = int(self.acquisition_time)
        payload = self.serialized_data
        package = np.empty(MESSAGE_PREFIX.size + payload.size, dtype=np.uint8)
        prefix = MESSAGE_PREFIX.pack(MessagePrefix(source_id=source_id, timestamp=timestamp))
        package[: MESSAGE_PREFIX.size] = np.frombuffer(prefix, dtype=np.uint8)
        package[MESSAGE_PREFIX.size :] = payload
        return member_stem(source_id, timestamp) + MEMBER_SUFFIX, package

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, LogPackage):
            return NotImplemented
        return (
            int(self.source_id) == int(other.source_id)
            and int(self.acquisition_time) == int(other.acquisition_time)
            and payload_bytes(self.serialized_data) == payload_bytes(other.serialized_data)
        )

    __hash__ = None  # type: ignore[assignment]  # mutable payload: equal packages need not stay equal

    def __reduce__(self) -> tuple[Any, tuple[int, int, bytes]]:
        # Three plain values pickle several times faster than a dataclass holding NumPy objects.
        return _restore_log_package, (
            int(self.source_id),
            int(self.acquisition_time),
            payload_bytes(self.serialized_data),
        )


def _check_integer(field: str, value: Any, maximum: int) -> None:
    """Raises unless value is a Python or NumPy integer (not a bool) in 0..maximum."""
    kind = type(value)
    if kind is not int and (kind is bool or not isinstance(value, np.integer)):  # the cheap test first
        raise TypeError(
            f"LogPackage {field} must be an integer in 0..{maximum}, got {value!r} ({type(value).__name__})"
        )
    if not 0 <= value <= maximum:
        raise ValueError(f"LogPackage {field} must be in 0..{maximum}, got {value}")


def payload_bytes(data: NDArray[np.uint8]) -> bytes:
    """Returns a copy of the raw bytes of a payload (any memory layout), in element order."""
    return data.tobytes()


def _restore_log_package(source_id: int, acquisition_time: int, payload: bytes) -> LogPackage:
    """Rebuilds a LogPackage from its pickled form; the payload array is a read-only view of the received bytes."""
    return LogPackage(np.uint8(source_id), np.uint64(acquisition_time), np.frombuffer(payload, dtype=np.uint8))
