"""LogPackage: one message on its way to a DataLogger, with a compact pickled form."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import NDArray

from .archive_layout import MEMBER_SUFFIX, MESSAGE_PREFIX, MessagePrefix, member_stem


@dataclass(frozen=True, slots=True, eq=False)
class LogPackage:
    """Stores the data and ID information to be logged by the DataLogger class.

    Exposes the methods for packaging this data into the format expected by the logger.

    Notes:
        During runtime, the DataLogger class expects all data sent for logging via the input Queue object to be
        packaged into an instance of this class. Instances pickle as three plain values (source ID, time, payload
        bytes), which is what keeps putting them into the logger's queue cheap.
    """

    source_id: np.uint8
    """The ID code of the source that produced the data. Has to be unique across all systems that send data to the
    same DataLogger instance during runtime."""
    acquisition_time: np.uint64
    """The timestamp of when the data was acquired. This value typically communicates the number of microseconds
    elapsed since the onset of the data acquisition runtime."""
    serialized_data: NDArray[np.uint8]
    """The serialized data to be logged, stored as a one-dimensional bytes' NumPy array."""

    @property
    def data(self) -> tuple[str, NDArray[np.uint8]]:
        """Returns the filename and the serialized data package to be processed by a DataLogger instance.

        Notes:
            The package is ``[source_id: 1 byte][acquisition_time: uint64 little-endian][serialized_data]``, and the
            name is ``{source_id:03d}_{acquisition_time:020d}.npy``: the layout of one message in a log archive.
        """
        source_id = int(self.source_id)
        timestamp = int(self.acquisition_time)
        payload = np.frombuffer(payload_bytes(self.serialized_data), dtype=np.uint8)
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
        # Three plain values pickle several times faster than a dataclass holding NumPy objects, and pickling is
        # the main cost of every message a producer sends.
        return _restore_log_package, (
            int(self.source_id),
            int(self.acquisition_time),
            payload_bytes(self.serialized_data),
        )


def payload_bytes(data: Any) -> bytes:
    """Returns a copy of the raw bytes of a payload given as a NumPy array or any bytes-like object."""
    if type(data) is np.ndarray:
        return data.tobytes()
    return bytes(data)


def _restore_log_package(source_id: int, acquisition_time: int, payload: bytes) -> LogPackage:
    """Rebuilds a LogPackage from its pickled form; the payload array is a read-only view of the received bytes."""
    return LogPackage(np.uint8(source_id), np.uint64(acquisition_time), np.frombuffer(payload, dtype=np.uint8))
