"""The live log format: framing, checksums and torn-tail detection."""

from pathlib import Path

import numpy as np
import pytest

from ataraxis_data_structures.data_loggers import log_format as fmt


def build_file(records: list[tuple[int, bytes]], source_id: int = 7) -> bytes:
    return fmt.encode_file_header(source_id) + b"".join(fmt.encode_record(t, p) for t, p in records)


RECORDS = [(0, np.uint64(1_700_000_000_000_000).tobytes()), (5, b"hello"), (5, b"same time"), (9, b"")]


def test_whole_file_indexes_every_record_in_arrival_order() -> None:
    data = build_file(RECORDS)
    index = fmt.scan_records(data)
    assert index.source_id == 7
    assert index.defect is None
    assert index.timestamps.tolist() == [0, 5, 5, 9]
    payloads = [data[o : o + s] for o, s in zip(index.payload_offsets, index.payload_sizes, strict=True)]
    assert payloads == [p for _, p in RECORDS]


@pytest.mark.parametrize("cut", range(1, 30))
def test_torn_tail_keeps_whole_records_and_reports_the_rest(cut: int) -> None:
    data = build_file(RECORDS)
    torn = data[:-cut]
    index = fmt.scan_records(torn)
    whole = len(index)
    assert whole < len(RECORDS)
    assert index.timestamps.tolist() == [t for t, _ in RECORDS[:whole]]
    boundary = len(build_file(RECORDS[:whole]))
    if boundary == len(torn):  # a cut exactly between records leaves only whole records
        assert index.defect is None
        return
    assert index.defect is not None
    assert index.defect.offset == boundary
    assert index.defect.offset + index.defect.size == len(torn)
    assert index.defect.reason in {"truncated header", "truncated payload"}


def test_flipped_payload_byte_is_a_checksum_mismatch() -> None:
    data = bytearray(build_file(RECORDS))
    index = fmt.scan_records(bytes(data))
    data[int(index.payload_offsets[1])] ^= 0xFF
    damaged = fmt.scan_records(bytes(data))
    assert len(damaged) == 1
    assert damaged.defect is not None and damaged.defect.reason == "checksum mismatch"
    assert len(fmt.scan_records(bytes(data), verify=False)) == len(RECORDS)


def test_bad_header_names_the_file() -> None:
    with pytest.raises(ValueError, match=r"x\.axlog.*not a live log file"):
        fmt.scan_records(b"NOTALOG!" + bytes(8), "x.axlog")
    with pytest.raises(ValueError, match="too short"):
        fmt.scan_records(b"AX", "x.axlog")


def test_file_names_round_trip_and_segments_count_up(tmp_path: Path) -> None:
    assert fmt.log_file_name(3, 0) == "003-0000.axlog"
    assert fmt.parse_log_file_name("003-0012.axlog") == (3, 12)
    assert fmt.parse_log_file_name("003_00000000000000000012.npy") is None
    assert fmt.next_segment(tmp_path, 3) == 0
    (tmp_path / fmt.log_file_name(3, 0)).touch()
    (tmp_path / fmt.log_file_name(3, 4)).touch()
    assert fmt.next_segment(tmp_path, 3) == 5
    assert fmt.next_segment(tmp_path, 4) == 0


def test_encode_records_matches_record_by_record_encoding() -> None:
    big = bytes(range(256)) * 400  # over LARGE_PAYLOAD_SIZE: written as its own buffer
    records = [(0, b"onset..."), (1, b"a"), (2, big), (2, b""), (3, b"tail")]
    buffers = fmt.encode_records(records)
    joined = b"".join(buffers)
    assert joined == b"".join(fmt.encode_record(t, p) for t, p in records)
    assert any(buffer is big for buffer in buffers)  # the large payload is not copied
    index = fmt.scan_records(fmt.encode_file_header(9) + joined)
    assert index.defect is None
    assert index.timestamps.tolist() == [0, 1, 2, 2, 3]
    assert index.payload_sizes.tolist() == [len(p) for _, p in records]


def test_encode_records_of_nothing_is_nothing() -> None:
    assert fmt.encode_records([]) == []
