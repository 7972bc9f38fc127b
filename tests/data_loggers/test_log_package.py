"""LogPackage: the message layout it hands to the logger, its compact pickled form, and what it refuses."""

import pickle
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from ataraxis_data_structures.data_loggers import DataLogger, LogArchiveReader, LogPackage, assemble_log_archives
from reference_release import REFERENCE7_PYTHON, needs_reference, needs_reference_7, run_reference


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


GOOD_PAYLOAD = np.zeros(4, dtype=np.uint8)


@pytest.mark.parametrize(
    ("payload", "error", "message"),
    [
        (np.uint8(7), TypeError, r"got a NumPy scalar \(uint8\)"),  # was logged as seven zero bytes
        (5, TypeError, "got int"),  # was logged as five zero bytes
        (b"abc", TypeError, "got bytes"),
        ("abc", TypeError, "got str"),
        ([1, 2], TypeError, "got list"),
        (None, TypeError, "got NoneType"),
        (np.array([1, "a"], dtype=object), TypeError, "got an array of dtype object"),  # was logged as pointers
        (np.zeros(3, dtype=np.float64), TypeError, "got an array of dtype float64"),
        (np.zeros(3, dtype=np.int8), TypeError, "got an array of dtype int8"),
        (np.zeros((2, 3), dtype=np.uint8), ValueError, r"one-dimensional uint8 array, got shape \(2, 3\)"),
        (np.array(7, dtype=np.uint8), ValueError, r"got shape \(\)"),
    ],
)
def test_payloads_other_than_a_1d_uint8_array_are_refused_naming_the_field(
    payload: object, error: type[Exception], message: str
) -> None:
    with pytest.raises(error, match=rf"LogPackage serialized_data .*{message}"):
        LogPackage(np.uint8(1), np.uint64(1), payload)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("field", "value", "error", "message"),
    [
        ("source_id", 256, ValueError, r"must be in 0\.\.255, got 256"),
        ("source_id", np.int64(-1), ValueError, r"must be in 0\.\.255, got -1"),
        ("source_id", 1.0, TypeError, r"must be an integer in 0\.\.255, got 1\.0 \(float\)"),
        ("source_id", "1", TypeError, r"got '1' \(str\)"),
        ("source_id", None, TypeError, r"got None \(NoneType\)"),
        ("acquisition_time", 1.7, TypeError, r"got 1\.7 \(float\)"),  # was logged as 1
        ("acquisition_time", np.float64(2.0), TypeError, r"\(float64\)"),
        ("acquisition_time", -1, ValueError, r"must be in 0\.\.18446744073709551615, got -1"),
        ("acquisition_time", 2**64, ValueError, "got 18446744073709551616"),
        ("acquisition_time", True, TypeError, r"got True \(bool\)"),
    ],
)
def test_ids_and_timestamps_must_be_integers_in_range(
    field: str, value: object, error: type[Exception], message: str
) -> None:
    fields: dict[str, object] = {"source_id": 1, "acquisition_time": 1, "serialized_data": GOOD_PAYLOAD}
    fields[field] = value
    with pytest.raises(error, match=rf"LogPackage {field} .*{message}"):
        LogPackage(**fields)  # type: ignore[arg-type]


def test_accepted_forms_log_exactly_the_elements_given() -> None:
    strided = np.arange(20, dtype=np.uint8)[::3]  # a view with a stride: its elements, not its memory, are logged
    forms: list[tuple[int | np.integer[Any], int | np.integer[Any]]]
    forms = [(0, 0), (255, 2**64 - 1), (np.int64(7), np.int32(9)), (np.uint8(3), np.uint64(4))]
    for source_id, timestamp in forms:
        package = LogPackage(source_id, timestamp, strided)  # type: ignore[arg-type]
        _, message = package.data
        assert message[0] == int(source_id)
        assert int(message[1:9].view("<u8")[0]) == int(timestamp)
        assert message[9:].tobytes() == strided.tobytes() == bytes(range(0, 20, 3))
    empty = LogPackage(np.uint8(1), np.uint64(1), np.zeros(0, dtype=np.uint8))
    assert empty.data[1].size == 9


REFUSED_PAYLOADS = {
    "numpy scalar": "np.uint8(7)",
    "python int": "5",
    "str": "'abc'",
    "list": "[1, 2]",
    "None": "None",
    "object array": "np.array([1, 'a'], dtype=object)",
    "float64 array": "np.zeros(3, dtype=np.float64)",
    "2-D uint8 array": "np.zeros((2, 3), dtype=np.uint8)",
}
REFERENCE_PROBE = """
import sys
import numpy as np
from ataraxis_data_structures import LogPackage
for label, expression in zip(sys.argv[1::2], sys.argv[2::2]):
    try:
        _, message = LogPackage(np.uint8(1), np.uint64(1), eval(expression)).data
        print(label, "=", message[9:].tobytes().hex())
    except Exception as error:
        print(label, "=", "refused", type(error).__name__)
"""


@needs_reference
@pytest.mark.reference
def test_what_we_refuse_the_reference_refuses_too_or_logs_other_bytes() -> None:
    arguments = [item for pair in REFUSED_PAYLOADS.items() for item in pair]
    stdout = run_reference(REFERENCE_PROBE, *arguments)
    outcomes = dict(line.split(" = ") for line in stdout.splitlines())
    assert set(outcomes) == set(REFUSED_PAYLOADS)
    for label, expression in REFUSED_PAYLOADS.items():
        # 6.2.0 builds the package but fails on .data (a NumPy error naming neither LogPackage nor the field).
        assert outcomes[label].startswith("refused"), (label, outcomes[label])
        with pytest.raises((TypeError, ValueError), match="LogPackage serialized_data"):
            LogPackage(np.uint8(1), np.uint64(1), eval(expression))  # our own literal expressions


BOOL_PAYLOAD = np.array([True, False, True, True, False])


def test_a_bool_array_is_logged_as_0_1_bytes() -> None:
    # Both releases accept a 1-D bool array and log one 0/1 byte per element.
    package = LogPackage(np.uint8(2), np.uint64(9), BOOL_PAYLOAD)
    name, message = package.data
    assert name == "002_00000000000000000009.npy"
    assert message.dtype == np.uint8 and message[9:].tolist() == [1, 0, 1, 1, 0]
    strided = LogPackage(np.uint8(2), np.uint64(9), np.array([True, False] * 4)[::2])  # a view with a stride
    assert strided.data[1][9:].tolist() == [1, 1, 1, 1]
    restored = pickle.loads(pickle.dumps(package))
    assert restored.serialized_data.tolist() == [1, 0, 1, 1, 0] and restored.serialized_data.dtype == np.uint8
    assert restored == package == LogPackage(np.uint8(2), np.uint64(9), BOOL_PAYLOAD.astype(np.uint8))
    with pytest.raises(ValueError, match=r"LogPackage serialized_data .*got shape \(2, 2\)"):
        LogPackage(np.uint8(2), np.uint64(9), np.ones((2, 2), dtype=bool))  # crashes both releases' logger


@pytest.mark.slow
def test_bool_payloads_go_through_a_running_logger_into_the_archive(tmp_path: Path) -> None:
    logger = DataLogger(tmp_path, "bools")
    logger.start()
    onset = np.frombuffer(np.uint64(1_700_000_000_000_000).tobytes(), dtype=np.uint8)
    logger.input_queue.put(LogPackage(np.uint8(4), np.uint64(0), onset))
    logger.input_queue.put(LogPackage(np.uint8(4), np.uint64(5), BOOL_PAYLOAD))
    logger.input_queue.put(LogPackage(np.uint8(4), np.uint64(6), np.zeros(0, dtype=bool)))
    logger.input_queue.put(LogPackage(np.uint8(4), np.uint64(7), np.array([True, False] * 3)[1::2]))
    logger.stop()
    directory = tmp_path / "bools_data_log"
    assemble_log_archives(directory)
    messages = list(LogArchiveReader(directory / "4_log.npz").iter_messages())
    assert [message.payload.tolist() for message in messages] == [[1, 0, 1, 1, 0], [], [0, 0, 0]]
    assert all(message.payload.dtype == np.uint8 for message in messages)


@needs_reference_7
@pytest.mark.reference
def test_bool_payload_bytes_match_the_release() -> None:
    probe = (
        "import numpy as np\nfrom ataraxis_data_structures import LogPackage\n"
        "payload = np.array([True, False, True, True, False])\n"
        "print(LogPackage(np.uint8(2), np.uint64(9), payload).data[1].tobytes().hex())"
    )
    theirs = run_reference(probe, python=REFERENCE7_PYTHON).strip()
    assert theirs == LogPackage(np.uint8(2), np.uint64(9), BOOL_PAYLOAD).data[1].tobytes().hex()
