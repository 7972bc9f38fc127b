"""LogPackage: the message layout it hands to the logger and its compact pickled form."""

import pickle

import numpy as np
import pytest

from ataraxis_data_structures.data_loggers import LogPackage


def make_package(source_id: int = 3, timestamp: int = 12345, payload: bytes = b"\x00\x01\x02\x03\x04") -> LogPackage:
    return LogPackage(np.uint8(source_id), np.uint64(timestamp), np.frombuffer(payload, dtype=np.uint8).copy())


def test_data_is_the_archive_name_and_the_message_layout() -> None:
    name, package = make_package().data
    assert name == "003_00000000000000012345.npy"
    assert package.dtype == np.uint8
    assert package.ndim == 1
    # [source_id][uint64 little-endian timestamp][payload], as the reference release lays it out
    assert package.tolist() == [3, 57, 48, 0, 0, 0, 0, 0, 0, 0, 1, 2, 3, 4]


def test_onset_package_holds_the_epoch_in_its_payload() -> None:
    onset = 1_700_000_000_123_456
    name, package = LogPackage(np.uint8(1), np.uint64(0), np.array([onset], dtype="<u8").view(np.uint8)).data
    assert name == "001_00000000000000000000.npy"
    assert package[1:9].view("<u8")[0] == 0
    assert package[9:].view("<u8")[0] == onset


def test_pickle_round_trip_keeps_fields_and_types() -> None:
    original = make_package(200, 2**64 - 1, bytes(range(256)))
    restored = pickle.loads(pickle.dumps(original))
    assert restored == original
    assert isinstance(restored.source_id, np.uint8)
    assert isinstance(restored.acquisition_time, np.uint64)
    assert restored.serialized_data.dtype == np.uint8
    assert restored.serialized_data.tobytes() == bytes(range(256))
    assert restored.data[1].tobytes() == original.data[1].tobytes()


def test_pickled_form_is_compact() -> None:
    # Pickled as (int, int, bytes): a NumPy-holding dataclass pickles to several hundred bytes of overhead.
    package = make_package(payload=bytes(64))
    assert len(pickle.dumps(package, pickle.HIGHEST_PROTOCOL)) < 64 + 160


def test_equality_compares_payload_contents() -> None:
    assert make_package() == make_package()
    assert make_package() != make_package(payload=b"other")
    assert make_package() != make_package(timestamp=1)
    assert make_package() != "not a package"


def test_package_is_frozen() -> None:
    package = make_package()
    with pytest.raises(AttributeError):
        package.source_id = np.uint8(4)  # type: ignore[misc]
