"""The live log format: framing, checksums and torn-tail detection."""

from pathlib import Path

import numpy as np
import pytest

from ataraxis_data_structures.data_loggers.formats import log_format as fmt
from ataraxis_data_structures.errors import LogFormatError


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


def test_flipped_payload_byte_costs_only_its_record() -> None:
    data = bytearray(build_file(RECORDS))
    index = fmt.scan_records(bytes(data))
    data[int(index.payload_offsets[1])] ^= 0xFF
    damaged = fmt.scan_records(bytes(data))
    assert damaged.timestamps.tolist() == [0, 5, 9]  # the record after the damaged one is recovered
    assert damaged.defect is None
    assert len(damaged.damaged) == 1
    region = damaged.damaged[0]
    assert region.reason == "checksum mismatch"
    assert region.offset == int(index.payload_offsets[1]) - fmt.RECORD_HEADER_SIZE
    assert region.offset + region.size == int(index.payload_offsets[2]) - fmt.RECORD_HEADER_SIZE
    assert len(fmt.scan_records(bytes(data), verify=False)) == len(RECORDS)


def test_damaged_length_field_resynchronizes_on_the_next_valid_record() -> None:
    records = [(t, bytes([t % 256]) * (t % 50)) for t in range(200)]
    data = bytearray(build_file(records))
    index = fmt.scan_records(bytes(data))
    damaged_at = int(index.payload_offsets[100]) - fmt.RECORD_HEADER_SIZE
    data[damaged_at : damaged_at + 4] = (0x7FFFFFF0).to_bytes(4, "little")  # a length past the end of the file
    recovered = fmt.scan_records(bytes(data))
    assert recovered.timestamps.tolist() == [t for t, _ in records if t != 100]
    assert recovered.defect is None
    assert [(r.offset, r.reason) for r in recovered.damaged] == [(damaged_at, "truncated payload")]


def test_a_zeroed_block_inside_the_file_loses_only_the_records_it_covers() -> None:
    records = [(t, np.uint64(t).tobytes() * 4) for t in range(1, 301)]  # 48-byte records
    data = bytearray(build_file(records))
    index = fmt.scan_records(bytes(data))
    block = slice(4096, 8192)  # a page a power loss left unwritten
    data[block] = bytes(4096)
    recovered = fmt.scan_records(bytes(data))
    record_starts = index.payload_offsets - fmt.RECORD_HEADER_SIZE
    record_ends = index.payload_offsets + index.payload_sizes
    untouched = [t for (t, _), a, b in zip(records, record_starts, record_ends, strict=True) if b <= 4096 or a >= 8192]
    assert recovered.timestamps.tolist() == untouched
    assert recovered.defect is None and len(recovered.damaged) == 1


def test_garbage_after_a_damaged_record_is_a_tail_not_a_region() -> None:
    data = bytearray(build_file(RECORDS))
    index = fmt.scan_records(bytes(data))
    data[int(index.payload_offsets[1])] ^= 0xFF
    cut = int(index.payload_offsets[2]) - 3  # the following record is torn too: nothing valid after the damage
    recovered = fmt.scan_records(bytes(data[:cut]))
    assert recovered.timestamps.tolist() == [0]
    assert recovered.damaged == ()
    assert recovered.defect is not None and recovered.defect.reason == "checksum mismatch"


def test_bad_header_names_the_file() -> None:
    with pytest.raises(ValueError, match=r"x\.axlog.*not a live log file"):
        fmt.scan_records(b"NOTALOG!" + bytes(8), "x.axlog")
    with pytest.raises(ValueError, match="too short"):
        fmt.scan_records(b"AX", "x.axlog")


def test_file_names_round_trip_and_segments_count_up(tmp_path: Path) -> None:
    assert fmt.log_file_name(3, 0) == "003-0000.axlog.npy"
    assert fmt.parse_log_file_name("003-0012.axlog") == (3, 12)
    assert fmt.parse_log_file_name("003_00000000000000000012.npy") is None
    assert fmt.next_segment(tmp_path, 3) == 0
    (tmp_path / fmt.log_file_name(3, 0)).touch()
    (tmp_path / fmt.log_file_name(3, 4)).touch()
    assert fmt.next_segment(tmp_path, 3) == 5
    assert fmt.next_segment(tmp_path, 4) == 0
    # Earlier versions named the files .axlog: they are live logs too, and their numbers are never reused.
    assert fmt.parse_log_file_name("003-0012.axlog.npy") == (3, 12)
    (tmp_path / "003-0007.axlog").touch()
    assert fmt.next_segment(tmp_path, 3) == 8
    for not_ours in ("003-0012.npy", "003-0012.axlog.npz", "003-0012.axlog.npy.partial", "x003-0012.axlog.npy"):
        assert fmt.parse_log_file_name(not_ours) is None, not_ours


def test_live_log_names_match_the_entries_the_labs_code_looks_for(tmp_path: Path) -> None:
    # The lab's pipeline skips assembly of a folder without *.npy entries: every live log file must be one.
    (tmp_path / fmt.log_file_name(1, 0)).touch()
    (tmp_path / fmt.log_file_name(255, 12345)).touch()
    assert len(list(tmp_path.glob("*.npy"))) == 2
    # ...and none can be taken for a release's message file, {source:03d}_{timestamp:020d}.npy.
    assert not any("_" in path.name for path in tmp_path.iterdir())


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


def test_a_flipped_bit_in_the_magic_costs_only_the_header_when_the_source_is_known() -> None:
    data = bytearray(build_file(RECORDS))
    data[3] ^= 0x04
    with pytest.raises(LogFormatError, match="not a live log file"):
        fmt.scan_records(bytes(data), "007-0000.axlog")
    index = fmt.scan_records(bytes(data), "007-0000.axlog", expected_source_id=7)
    assert index.source_id == 7
    assert index.timestamps.tolist() == [t for t, _ in RECORDS]
    assert index.damaged == (fmt.TailDefect(0, fmt.FILE_HEADER.size, fmt.DAMAGED_HEADER),)
    assert index.defect is None


def test_a_zeroed_first_page_costs_only_the_records_in_it() -> None:
    records = [(number, bytes([number % 256]) * 20) for number in range(2_500)]
    data = bytearray(build_file(records))
    data[:4096] = bytes(4096)
    index = fmt.scan_records(bytes(data), "007-0000.axlog", expected_source_id=7)
    record_size = fmt.RECORD_HEADER_SIZE + 20
    first_whole = -(-(4096 - fmt.FILE_HEADER.size) // record_size)  # the first record that starts past the page
    assert index.timestamps.tolist() == list(range(first_whole, 2_500))
    assert len(index.damaged) == 1
    region = index.damaged[0]
    assert (region.offset, region.reason) == (0, fmt.DAMAGED_HEADER)
    assert region.size == fmt.FILE_HEADER.size + first_whole * record_size


def test_a_damaged_header_with_nothing_valid_after_it_is_a_tail() -> None:
    index = fmt.scan_records(bytes(64), "007-0000.axlog", expected_source_id=7)
    assert len(index) == 0
    assert index.defect == fmt.TailDefect(0, 64, fmt.DAMAGED_HEADER)


def test_an_intact_header_naming_another_source_is_refused() -> None:
    with pytest.raises(LogFormatError, match="names source 7, but the file name names source 8"):
        fmt.scan_records(build_file(RECORDS, source_id=7), "008-0000.axlog", expected_source_id=8)


def test_an_unknown_version_is_refused_even_when_the_source_is_known() -> None:
    data = bytearray(build_file(RECORDS))
    data[8] = 9
    with pytest.raises(LogFormatError, match="unsupported log format version 9"):
        fmt.scan_records(bytes(data), "007-0000.axlog", expected_source_id=7)


@pytest.mark.parametrize("window", [1, 2, 3, 64])
def test_windows_of_records_add_up_to_the_whole_scan(window: int) -> None:
    records = [(number, bytes([number % 256]) * (number % 11)) for number in range(200)]
    data = bytearray(build_file(records))
    index = fmt.scan_records(bytes(data))
    data[int(index.payload_offsets[70])] ^= 0x01  # a damaged region
    data = data[:-5]  # and a torn tail
    whole = fmt.scan_records(bytes(data), expected_source_id=7)
    windows = list(fmt.iter_record_windows(bytes(data), expected_source_id=7, window=window))
    assert all(len(part) <= window for part in windows)
    assert np.concatenate([part.timestamps for part in windows]).tolist() == whole.timestamps.tolist()
    assert np.concatenate([part.payload_offsets for part in windows]).tolist() == whole.payload_offsets.tolist()
    assert [region for part in windows for region in part.damaged] == list(whole.damaged)
    assert [part.defect for part in windows[:-1]] == [None] * (len(windows) - 1)
    assert windows[-1].defect == whole.defect is not None


def test_the_bytes_on_disk_are_pinned(tmp_path: Path) -> None:
    # The format the module docstring states, byte for byte: files written by earlier versions (named .axlog) and
    # by this one (named .axlog.npy) hold the same bytes, so a change here breaks reading recorded sessions.
    header = bytes.fromhex("415844534c4f47000100070000000000")  # b"AXDSLOG\0", version 1, source 7, 5 zeros
    record = bytes.fromhex("050000000500000000000000b9ff5cd0") + b"hello"  # length, timestamp, CRC-32
    assert fmt.encode_file_header(7) == header
    assert fmt.encode_record(5, b"hello") == record
    for name in ("007-0000.axlog", fmt.log_file_name(7, 1)):
        (tmp_path / name).write_bytes(header + record)
        assert fmt.parse_log_file_name(name) is not None
        index = fmt.scan_records((tmp_path / name).read_bytes(), name)
        assert (index.source_id, index.timestamps.tolist(), index.payload_sizes.tolist()) == (7, [5], [5])
