"""Vectorized reads of fixed-layout records and fields out of a byte buffer: one numpy operation per field.

Regular runs (records at equal distances) are read as strided views, with no gather; anything else takes a vectorized
gather. The ZIP index and the reader use them over a memory-mapped archive.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from numpy.typing import NDArray

from ..formats.archive_layout import RecordLayout

__all__ = ["equal_stride", "gather_field", "gather_uint", "records_at", "rows_at", "rows_equal"]


def gather_uint(data: NDArray[np.uint8], positions: NDArray[np.int64], width: int) -> NDArray[np.uint64]:
    """Returns the little-endian unsigned integers of the given byte width that start at each position."""
    value = data[positions].astype(np.uint64)
    for byte in range(1, width):
        value |= data[positions + byte].astype(np.uint64) << np.uint64(8 * byte)
    return value


def gather_field(
    data: NDArray[np.uint8], layout: RecordLayout[Any], field: str, records: NDArray[np.int64]
) -> NDArray[np.int64]:
    """Returns one field of the records of ``layout`` that start at each position of ``records`` in ``data``."""
    width = layout.dtype.fields[field][0].itemsize  # type: ignore[index]
    return gather_uint(data, records + layout.offset(field), width).astype(np.int64)


def equal_stride(positions: NDArray[np.int64]) -> int | None:
    """Returns the distance between consecutive positions when it is one positive constant, else None."""
    count = len(positions)
    if count < 2:
        return 1 if count else None
    positions = positions.astype(np.int64, copy=False)  # unsigned differences would wrap
    stride = int(positions[1] - positions[0])
    if stride <= 0 or int(positions[-1] - positions[0]) != stride * (count - 1):
        return None
    if count > 2 and not np.all(np.diff(positions) == stride):
        return None
    return stride


def rows_at(
    data: NDArray[np.uint8], starts: NDArray[np.int64], width: int, *, writeable: bool = False
) -> NDArray[np.uint8]:
    """Returns ``width`` bytes from each start as rows: a zero-copy strided view when starts are equally spaced.

    The caller guarantees that every row lies inside ``data``. The view is read-only unless ``writeable``; rows
    gathered from unequally spaced starts are a copy.
    """
    count = len(starts)
    if count == 0:
        return np.zeros((0, width), dtype=np.uint8)
    stride = equal_stride(starts)
    if stride is not None:
        view: NDArray[np.uint8] = np.lib.stride_tricks.as_strided(
            data[int(starts[0]) :], shape=(count, width), strides=(stride, 1), writeable=writeable
        )
        return view
    rows: NDArray[np.uint8] = data[starts[:, None] + np.arange(width)]
    return rows


def rows_equal(rows: NDArray[np.uint8], expected: NDArray[np.uint8]) -> NDArray[np.bool_]:
    """Returns, for each row, whether it equals ``expected`` (compared 8 bytes at a time: 10x faster on views)."""
    width = rows.shape[1]
    words = width // 8 * 8
    equal = np.ones(len(rows), dtype=bool)
    if words:
        equal &= np.all(rows[:, :words].view(np.uint64) == expected[:words].view(np.uint64), axis=1)
    if words < width:
        equal &= np.all(rows[:, words:] == expected[words:], axis=1)
    return equal


def records_at(data: NDArray[np.uint8], layout: RecordLayout[Any], starts: NDArray[np.int64]) -> NDArray[Any]:
    """Returns the records of ``layout`` at each start as a structured array (a strided view when regular).

    The caller guarantees that every record lies inside ``data``.
    """
    count = len(starts)
    stride = equal_stride(starts)
    if stride is not None and stride >= layout.size:
        strided: NDArray[Any] = np.ndarray(
            (count,), layout.dtype, buffer=data, offset=int(starts[0]), strides=(stride,)
        )
        return strided
    if count > 2 and (rest := equal_stride(starts[1:])) is not None and rest >= layout.size:
        # Regular but for the first record (the onset message is shorter than the data messages).
        return np.concatenate((records_at(data, layout, starts[:1]), records_at(data, layout, starts[1:])))
    if count == 0:
        return np.zeros(0, dtype=layout.dtype)
    gathered: NDArray[Any] = data[starts[:, None] + np.arange(layout.size)].view(layout.dtype).reshape(count)
    return gathered
