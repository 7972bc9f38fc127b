"""interpolate_data: linear and last-known-value interpolation, clamping, exact timestamps, bad input."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

from ataraxis_data_structures.processing import interpolate_data


def test_continuous_is_linear_float64_and_clamped() -> None:
    coordinates = np.array([10, 20, 30], dtype=np.uint64)
    values = np.array([1, 2, 4], dtype=np.int16)
    targets = np.array([5, 10, 15, 20, 25, 30, 35], dtype=np.uint64)
    result = interpolate_data(coordinates, values, targets, is_discrete=False)
    assert result.dtype == np.float64
    assert result.tolist() == [1.0, 1.0, 1.5, 2.0, 3.0, 4.0, 4.0]


def test_discrete_takes_last_known_value_and_keeps_dtype() -> None:
    coordinates = np.array([10, 20, 30], dtype=np.uint64)
    values = np.array([1, 2, 3], dtype=np.int16)
    targets = np.array([5, 10, 15, 20, 29, 30, 35], dtype=np.uint64)
    result = interpolate_data(coordinates, values, targets, is_discrete=True)
    assert result.dtype == np.int16
    # Before the first coordinate: the first value (the reference does the same).
    assert result.tolist() == [1, 1, 1, 2, 2, 3, 3]
    floats = interpolate_data(
        np.array([1.0, 2.0]), np.array([1.5, 2.5], dtype=np.float32), np.array([0.0, 1.5, 3.0]), is_discrete=True
    )
    assert floats.dtype == np.float32
    assert floats.tolist() == [1.5, 1.5, 2.5]
    flags = interpolate_data(np.array([1, 2]), np.array([True, False]), np.array([1, 2, 3]), is_discrete=True)
    assert flags.tolist() == [True, False, False]


def test_repeated_coordinates_and_unsorted_targets() -> None:
    discrete = interpolate_data(np.array([1, 1, 2]), np.array([1, 2, 3]), np.array([1, 2]), is_discrete=True)
    assert discrete.tolist() == [2, 3]
    unsorted = interpolate_data(
        np.array([10, 20, 30]), np.array([1.0, 2.0, 3.0]), np.array([25, 12]), is_discrete=False
    )
    assert unsorted.tolist() == [2.5, 1.2]


def test_microsecond_timestamps_are_exact() -> None:
    base = 1_764_100_000_000_000  # microseconds since the epoch, late 2025
    coordinates = np.array([base, base + 1000, base + 3000], dtype=np.uint64)
    values = np.array([base, base + 7, base + 21], dtype=np.uint64)
    continuous = interpolate_data(coordinates, values, coordinates + np.uint64(500), is_discrete=False)
    assert (continuous - base).tolist() == [3.5, 10.5, 21.0]
    discrete = interpolate_data(coordinates, values, coordinates + np.uint64(1), is_discrete=True)
    assert discrete.dtype == np.uint64
    assert (discrete - np.uint64(base)).tolist() == [0, 7, 21]
    # Mixed integer types compare exactly too (not through float64).
    mixed = interpolate_data(coordinates, values, (coordinates - np.uint64(1)).astype(np.int64), is_discrete=True)
    assert (mixed - np.uint64(base)).tolist() == [0, 0, 7]


def test_nanosecond_timestamps_beyond_float64_precision() -> None:
    base = 1_764_100_000_000_000_000  # nanoseconds: far beyond 2**53
    coordinates = np.array([base, base + 10], dtype=np.uint64)
    values = np.array([0.0, 10.0])
    targets = np.array([base + 3, base + 7, 0, 2**64 - 1], dtype=np.uint64)
    result = interpolate_data(coordinates, values, targets, is_discrete=False)
    assert result.tolist() == [3.0, 7.0, 0.0, 10.0]


def test_bad_input_is_named() -> None:
    good = np.array([1, 2, 3])
    with pytest.raises(ValueError, match="2 coordinates and 3 values"):
        interpolate_data(np.array([1, 2]), good, good, is_discrete=False)
    with pytest.raises(ValueError, match="empty"):
        interpolate_data(np.array([]), np.array([]), good, is_discrete=True)
    with pytest.raises(ValueError, match=r"monotonically increasing.*element 1"):
        interpolate_data(np.array([3, 1, 2]), good, good, is_discrete=False)
    with pytest.raises(ValueError, match="'source_coordinates' to be one-dimensional"):
        interpolate_data(np.ones((3, 1)), good, good, is_discrete=False)
    with pytest.raises(ValueError, match="'source_values' to be one-dimensional"):
        interpolate_data(good, np.ones((3, 1)), good, is_discrete=True)


def test_targets_of_any_shape_give_a_result_of_that_shape_like_the_reference() -> None:
    # Users look up one timestamp (a LogMessage's np.uint64) or a grid of them; the reference accepts both.
    coordinates = np.array([1_764_100_000_000_000, 1_764_100_000_001_000], dtype=np.uint64)
    values = np.array([10, 20], dtype=np.int16)
    single = interpolate_data(coordinates, values, coordinates[0] + np.uint64(250), is_discrete=False)
    assert isinstance(single, np.float64) and single == 12.5
    held = interpolate_data(coordinates, values, coordinates[1], is_discrete=True)
    assert held.shape == () and held.dtype == np.int16 and held == 20
    grid = np.array([[coordinates[0], coordinates[1]], [coordinates[0] + np.uint64(500), coordinates[0]]])
    assert interpolate_data(coordinates, values, grid, is_discrete=False).tolist() == [[10.0, 20.0], [15.0, 10.0]]
    assert interpolate_data(coordinates, values, grid, is_discrete=True).tolist() == [[10, 20], [10, 10]]
    nanoseconds = coordinates * np.uint64(1000)  # beyond 2**53: the offset path
    assert interpolate_data(nanoseconds, values, nanoseconds.reshape(2, 1), is_discrete=False).shape == (2, 1)


def test_empty_targets_and_inputs_unchanged() -> None:
    coordinates = np.array([10, 20, 30], dtype=np.uint64)
    values = np.array([1, 2, 3], dtype=np.int16)
    assert interpolate_data(coordinates, values, np.array([], dtype=np.uint64), is_discrete=True).dtype == np.int16
    targets = np.array([0, 15, 40], dtype=np.uint64)
    before: tuple[np.ndarray[Any, Any], ...] = (coordinates.copy(), values.copy(), targets.copy())
    interpolate_data(coordinates, values, targets, is_discrete=False)
    interpolate_data(coordinates, values, targets, is_discrete=True)
    after: tuple[np.ndarray[Any, Any], ...] = (coordinates, values, targets)
    for original, now in zip(before, after, strict=True):
        assert np.array_equal(original, now)


def test_decrease_deep_in_a_long_source_is_located() -> None:
    coordinates = np.arange(3_000_000, dtype=np.uint64)
    coordinates[2_500_000] = 5
    with pytest.raises(ValueError, match="element 2500000 "):
        interpolate_data(coordinates, np.zeros(coordinates.size), np.array([1], dtype=np.uint64), is_discrete=False)


def test_mixed_integer_types_saturate_instead_of_wrapping() -> None:
    coordinates = np.array([10, 20], dtype=np.uint64)
    values = np.array([1, 2], dtype=np.uint8)
    signed_targets = np.array([-5, 15, 25], dtype=np.int64)
    assert interpolate_data(coordinates, values, signed_targets, is_discrete=True).tolist() == [1, 1, 2]
    small = np.array([-100, 0, 100], dtype=np.int16)
    wide = np.array([-(2**40), 50, 2**40], dtype=np.int64)
    assert interpolate_data(
        small, values[:1].repeat(3) + np.arange(3, dtype=np.uint8), wide, is_discrete=True
    ).tolist() == [
        1,
        2,
        3,
    ]


@pytest.mark.parametrize("sorted_targets", [True, False])
def test_blockwise_search_matches_a_single_search(sorted_targets: bool) -> None:
    generator = np.random.default_rng(11)
    base = 1_764_100_000_000_000
    steps = generator.integers(0, 4, 200_000)  # zero steps: repeated coordinates
    coordinates = (base + np.cumsum(steps)).astype(np.uint64)
    values = generator.normal(size=coordinates.size)
    labels = generator.integers(0, 50, coordinates.size).astype(np.int32)
    low, high = int(coordinates[0]) - 1000, int(coordinates[-1]) + 1000  # some targets outside the source range
    targets = generator.integers(low, high, 300_000).astype(np.uint64)
    targets = np.sort(targets) if sorted_targets else targets
    targets[:5] = coordinates[[0, 1, 2, -2, -1]]  # exact hits, including repeated coordinates
    expected_index = np.maximum(np.searchsorted(coordinates, targets, side="right") - 1, 0)
    discrete = interpolate_data(coordinates, labels, targets, is_discrete=True)
    assert np.array_equal(discrete, labels[expected_index])
    continuous = interpolate_data(coordinates, values, targets, is_discrete=False)
    assert np.array_equal(continuous, np.interp(targets.astype(np.float64), coordinates.astype(np.float64), values))
