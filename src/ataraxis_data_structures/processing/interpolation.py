"""Interpolates data values at requested coordinates: linear for continuous data, last known value for discrete."""

from __future__ import annotations

from typing import Any

import numpy as np
from numpy.typing import NDArray

__all__ = ["interpolate_data"]


def _one_dimensional(name: str, array: Any) -> NDArray[Any]:
    """Returns array as a NumPy array (no copy for arrays), checking that it is one-dimensional."""
    converted = np.asarray(array)
    if converted.ndim != 1:
        raise ValueError(
            f"interpolate_data expects '{name}' to be one-dimensional, got an array of shape {converted.shape}."
        )
    return converted


_CHECK_BLOCK = 1 << 20
"""Elements compared per block by the monotonicity check: keeps its temporary small and reused."""


def _check_increasing(coordinates: NDArray[Any]) -> None:
    """Raises ValueError if coordinates ever decrease (equal neighbours are allowed)."""
    for start in range(0, coordinates.size - 1, _CHECK_BLOCK):
        stop = min(start + _CHECK_BLOCK, coordinates.size - 1)
        decreasing = coordinates[start + 1 : stop + 1] < coordinates[start:stop]
        if decreasing.any():
            index = start + int(np.argmax(decreasing)) + 1
            raise ValueError(
                f"interpolate_data expects 'source_coordinates' to be monotonically increasing, but element {index} "
                f"({coordinates[index]}) is smaller than element {index - 1} ({coordinates[index - 1]})."
            )


def _offsets(coordinates: NDArray[Any], origin: NDArray[Any]) -> NDArray[np.float64]:
    """Returns coordinates minus origin as float64, subtracting in integer space when the coordinates are integers.

    Large integer coordinates (microsecond timestamps of today's epoch) lose precision when converted to float64
    before subtracting; their offsets from the first source coordinate are small and therefore exact. The difference
    goes straight into the float64 result (the ufunc casts block by block), so this makes one copy of the input.
    """
    offsets = np.empty(coordinates.shape, dtype=np.float64)
    start = origin.astype(coordinates.dtype)
    np.subtract(coordinates, start, out=offsets, casting="unsafe")
    if coordinates.dtype.kind == "u" and coordinates.size and coordinates.min() < start[0]:
        # Unsigned subtraction wrapped around for targets below the origin; any negative offset clamps the same.
        offsets[coordinates < start[0]] = -1.0
    return offsets


def _as_coordinate_type(targets: NDArray[Any], dtype: np.dtype[Any]) -> NDArray[Any]:
    """Returns integer targets converted to the integer type of the coordinates, saturating instead of wrapping.

    Mixed integer types would otherwise be compared as float64, which rounds large timestamps. Targets outside the
    coordinates' type range are beyond every coordinate, so saturating them keeps the clamping right.
    """
    own, wanted = np.iinfo(targets.dtype), np.iinfo(dtype)
    converted = np.empty(targets.shape, dtype=dtype)
    np.clip(targets, max(own.min, wanted.min), min(own.max, wanted.max), out=converted, casting="unsafe")
    return converted


_BLOCK = 1 << 15
"""Targets handled per block by the blockwise searches: each block only searches the window of source coordinates
its targets fall in, which stays in the CPU cache (about 25% faster than one search over 10 million points)."""


def _blockwise_ready(coordinates: NDArray[Any], targets: NDArray[Any]) -> bool:
    """Returns True if the blockwise searches apply: integer coordinates and targets of one type (no NaN)."""
    return coordinates.dtype == targets.dtype and coordinates.dtype.kind in "iu"


def _counts_at_or_below(coordinates: NDArray[Any], targets: NDArray[Any]) -> NDArray[np.intp]:
    """Returns np.searchsorted(coordinates, targets, side="right"), computed block by block.

    Every coordinate before the window is below the block's smallest target and every one after it is above the
    largest, so the count within the window plus the window's start is the full count, for targets in any order.
    """
    counts = np.empty(targets.size, dtype=np.intp)
    for start in range(0, targets.size, _BLOCK):
        keys = targets[start : start + _BLOCK]
        low = int(np.searchsorted(coordinates, keys.min(), side="left"))
        high = int(np.searchsorted(coordinates, keys.max(), side="right"))
        np.add(np.searchsorted(coordinates[low:high], keys, side="right"), low, out=counts[start : start + _BLOCK])
    return counts


def _interpolate_blockwise(
    coordinates: NDArray[Any], values: NDArray[Any], targets: NDArray[Any]
) -> NDArray[np.float64]:
    """Returns np.interp(targets, coordinates, values), computed block by block on windows of the source.

    A window runs from the last coordinate at or below the block's smallest target to one past the last coordinate
    at or below its largest, so every target keeps the bracketing pair (and clamping) np.interp would use globally.
    """
    result = np.empty(targets.size, dtype=np.float64)
    last = coordinates.size
    for start in range(0, targets.size, _BLOCK):
        keys = targets[start : start + _BLOCK]
        low = max(int(np.searchsorted(coordinates, keys.min(), side="right")) - 1, 0)
        high = min(int(np.searchsorted(coordinates, keys.max(), side="right")) + 1, last)
        result[start : start + _BLOCK] = np.interp(keys, coordinates[low:high], values[low:high])
    return result


_EXACT_FLOAT_LIMIT = 2**53
"""Integers up to this magnitude convert to float64 exactly (microsecond timestamps of today are about 2**50.6)."""


def _needs_offsets(coordinates: NDArray[Any], targets: NDArray[Any]) -> bool:
    """Returns True if integer source coordinates are too large to convert to float64 exactly.

    Below 2**53 the conversion and every difference np.interp takes between coordinates are exact, so offsets would
    only cost time and memory; beyond it (nanosecond timestamps), offsets from the first coordinate keep them exact.
    Targets need no check: one beyond 2**53 is beyond the source range too and is clamped correctly after rounding.
    """
    if coordinates.dtype.kind not in "iu" or targets.dtype.kind not in "iu":
        return False
    return max(abs(int(coordinates[0])), abs(int(coordinates[-1]))) >= _EXACT_FLOAT_LIMIT


def interpolate_data(
    source_coordinates: NDArray[np.number[Any]],
    source_values: NDArray[np.number[Any]],
    target_coordinates: NDArray[np.number[Any]],
    *,
    is_discrete: bool,
) -> NDArray[np.number[Any]]:
    """Interpolates the data values at the requested coordinates using the source coordinate-value distribution.

    Continuous data is interpolated linearly and returned as float64. Discrete data takes the last known value at or
    to the left of each target coordinate and keeps the input's data type. Targets below or above the source range
    get the first or last source value. Integer coordinates (such as uint64 microsecond timestamps) are handled as
    offsets computed in integer space, so they are exact.

    Args:
        source_coordinates: The source coordinate values, monotonically increasing.
        source_values: The data values at each source coordinate.
        target_coordinates: The target coordinates for which to interpolate the data values.
        is_discrete: Determines whether the interpolated data is discrete or continuous.

    Returns:
        A NumPy array with the shape of 'target_coordinates' that stores the interpolated data (for a single target
        coordinate: a float64 scalar for continuous data, a zero-dimensional array for discrete data).

    Raises:
        ValueError: If a source array is not one-dimensional, the source is empty, the source coordinates and values
            differ in length, or the source coordinates are not monotonically increasing.
    """
    coordinates = _one_dimensional("source_coordinates", source_coordinates)
    values = _one_dimensional("source_values", source_values)
    # Targets of any shape (a single np.uint64 timestamp, a 2-D grid) are accepted, as by the reference: the work is
    # done on the flat view and the result takes the targets' shape.
    target_array = np.asarray(target_coordinates)
    targets = target_array.ravel()
    if coordinates.size == 0:
        raise ValueError("interpolate_data needs at least one source point, but 'source_coordinates' is empty.")
    if coordinates.size != values.size:
        raise ValueError(
            f"interpolate_data expects one source value per source coordinate, got {coordinates.size} coordinates "
            f"and {values.size} values."
        )
    _check_increasing(coordinates)

    if is_discrete:
        if coordinates.dtype != targets.dtype and coordinates.dtype.kind in "iu" and targets.dtype.kind in "iu":
            targets = _as_coordinate_type(targets, coordinates.dtype)
        # The count of source coordinates at or below each target, minus one, indexes the last known value; targets
        # before the first coordinate are clamped to the first value.
        if _blockwise_ready(coordinates, targets):
            indices = _counts_at_or_below(coordinates, targets)
        else:
            indices = np.searchsorted(coordinates, targets, side="right")
        indices -= 1
        discrete: NDArray[np.number[Any]] = np.take(values, indices, mode="clip")  # "clip" maps -1 to 0.
        return discrete.reshape(target_array.shape)

    continuous: NDArray[np.number[Any]]
    if _blockwise_ready(coordinates, targets) and not _needs_offsets(coordinates, targets):
        continuous = _interpolate_blockwise(coordinates, values, targets)
    else:
        if _needs_offsets(coordinates, targets):
            origin = coordinates[:1]
            targets = _offsets(targets, origin)
            coordinates = _offsets(coordinates, origin)
        continuous = np.interp(targets, coordinates, values).astype(np.float64, copy=False)
    # A single target gives a float64 scalar, like np.interp (and the reference) do.
    return continuous.reshape(target_array.shape) if target_array.ndim else continuous[0]
