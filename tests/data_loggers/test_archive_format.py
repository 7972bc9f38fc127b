"""The archive writer and index against Python's zipfile and numpy.load, including ZIP64 member counts."""

from __future__ import annotations

import io
import os
import zipfile
from pathlib import Path
from typing import Any, cast

import numpy as np
import pytest
from log_builders import message_bytes

from ataraxis_data_structures.data_loggers.assembly import zip_writer
from ataraxis_data_structures.data_loggers.formats import archive_format as fmt
from ataraxis_data_structures.data_loggers.formats import archive_layout as layout
from ataraxis_data_structures.data_loggers.reading import zip_index
from ataraxis_data_structures.data_loggers.reading.member_names import MemberNames
from reference_release import REFERENCE_PYTHON, run_reference


def write_archive(path: Path, source_id: int, messages: list[tuple[int, bytes]], comment: bytes = b"") -> None:
    """Writes messages (already in archive order) through the batch path."""
    timestamps = np.asarray([t for t, _ in messages], dtype=np.uint64)
    repeats = fmt.repeat_counts(timestamps)
    names, lengths = zip_writer.member_names(source_id, timestamps, repeats)
    heads = np.stack([message_bytes(source_id, t, b"") for t, _ in messages]) if messages else np.zeros((0, 9))
    writer = zip_writer.ArchiveWriter(path)
    writer.add_batch(names, lengths, heads.astype(np.uint8), [memoryview(p) for _, p in messages])
    writer.close(comment)


MESSAGES = [(0, np.uint64(1_700_000_000_000_000).tobytes()), (3, b"abc"), (3, b""), (3, b"x" * 300), (10, b"end")]


def test_written_archive_passes_zipfile_and_numpy(tmp_path: Path) -> None:
    path = tmp_path / "9_log.npz"
    write_archive(path, 9, MESSAGES, comment=b"note")
    with zipfile.ZipFile(path) as archive:
        assert archive.testzip() is None
        assert archive.comment == b"note"
        assert archive.namelist() == [
            "009_00000000000000000000.npy",
            "009_00000000000000000003.npy",
            "009_00000000000000000003_000001.npy",
            "009_00000000000000000003_000002.npy",
            "009_00000000000000000010.npy",
        ]
        assert all(info.compress_type == zipfile.ZIP_STORED for info in archive.infolist())
    with np.load(path) as data:
        loaded = [data[key] for key in data.files]
    assert all(array.dtype == np.uint8 and array.ndim == 1 for array in loaded)
    assert [array.tobytes() for array in loaded] == [message_bytes(9, t, p).tobytes() for t, p in MESSAGES]


def test_member_bytes_equal_what_numpy_save_writes(tmp_path: Path) -> None:
    path = tmp_path / "1_log.npz"
    write_archive(path, 1, MESSAGES)
    with zipfile.ZipFile(path) as archive:
        for (timestamp, payload), name in zip(MESSAGES, archive.namelist(), strict=True):
            expected = io.BytesIO()
            np.save(expected, message_bytes(1, timestamp, payload))
            assert archive.read(name) == expected.getvalue()


def test_scalar_and_batch_paths_write_identical_archives(tmp_path: Path) -> None:
    write_archive(tmp_path / "batch.npz", 4, MESSAGES)
    writer = zip_writer.ArchiveWriter(tmp_path / "scalar.npz")
    repeats = fmt.repeat_counts(np.asarray([t for t, _ in MESSAGES], dtype=np.uint64)).tolist()
    for (timestamp, payload), repeat in zip(MESSAGES, repeats, strict=True):
        writer.add(layout.member_stem(4, timestamp, repeat), message_bytes(4, timestamp, b"").tobytes(), payload)
    writer.close()
    assert (tmp_path / "batch.npz").read_bytes() == (tmp_path / "scalar.npz").read_bytes()


def test_a_central_directory_moved_to_disk_writes_the_same_archive_and_leaves_no_file(tmp_path: Path) -> None:
    """Past its memory limit the central directory goes to an unnamed temporary file: same bytes, nothing left."""
    messages = [(0, np.uint64(1).tobytes())] + [(t, bytes([t % 251]) * (t % 40)) for t in range(1, 3001)]
    timestamps = np.asarray([t for t, _ in messages], dtype=np.uint64)
    names, lengths = zip_writer.member_names(5, timestamps, fmt.repeat_counts(timestamps))
    heads = np.stack([message_bytes(5, t, b"") for t, _ in messages]).astype(np.uint8)
    bodies = [memoryview(p) for _, p in messages]
    (tmp_path / "memory").mkdir()
    (tmp_path / "spilled").mkdir()
    write_archive(tmp_path / "memory" / "5_log.npz", 5, messages, comment=b"c")
    writer = zip_writer.ArchiveWriter(tmp_path / "spilled" / "5_log.npz", central_memory=1000)
    for first in range(0, 2100, 700):  # batches, each past the limit
        writer.add_batch(names[first : first + 700], lengths[first : first + 700], heads[first : first + 700],
                         bodies[first : first + 700])  # fmt: skip
    for row in range(2100, len(messages)):  # then member by member
        writer.add(names[row, : lengths[row] - 4].tobytes().decode(), heads[row].tobytes(), bodies[row])
    spilled = tmp_path / "spilled"
    open_files = {os.readlink(link) for link in Path("/proc/self/fd").iterdir() if link.is_symlink()}
    assert any(name.startswith(str(spilled)) and "5_log.npz" not in name for name in open_files)  # the spill file
    writer.close(b"c")
    assert (tmp_path / "spilled" / "5_log.npz").read_bytes() == (tmp_path / "memory" / "5_log.npz").read_bytes()
    assert sorted(path.name for path in (tmp_path / "spilled").iterdir()) == ["5_log.npz"]
    aborted = zip_writer.ArchiveWriter(tmp_path / "spilled" / "6_log.npz", central_memory=100)
    aborted.add_batch(names[:50], lengths[:50], heads[:50], bodies[:50])
    aborted.abort()
    assert sorted(path.name for path in (tmp_path / "spilled").iterdir()) == ["5_log.npz"]


@pytest.mark.slow
def test_more_than_65535_members_use_zip64_end_records(tmp_path: Path) -> None:
    count = 70_000
    path = tmp_path / "2_log.npz"
    messages = [(0, np.uint64(1).tobytes())] + [(t, t.to_bytes(4, "little")) for t in range(1, count)]
    write_archive(path, 2, messages)
    tail = path.read_bytes()[-200:]
    assert b"PK\x06\x06" in tail and b"PK\x06\x07" in tail
    with zipfile.ZipFile(path) as archive:
        assert len(archive.namelist()) == count
        assert archive.testzip() is None
    with np.load(path) as data:
        assert len(data.files) == count
        assert (
            data["002_00000000000000069999"].tobytes()
            == message_bytes(2, 69999, (69999).to_bytes(4, "little")).tobytes()
        )
    index = zip_index.ArchiveIndex(path)
    assert len(index) == count
    assert index.timestamps.tolist() == list(range(count))
    assert index.check_crcs() is None
    if REFERENCE_PYTHON.exists():
        out = run_reference(
            "import sys; from pathlib import Path; from ataraxis_data_structures.data_loggers import LogArchiveReader;"
            "r = LogArchiveReader(Path(sys.argv[1])); ts, p = r.read_all_messages();"
            "print(r.message_count, int(ts[-1]))",
            str(path),
        )
        assert out.split() == [str(count - 1), str(1 + count - 1)]


def test_member_names_match_member_stem() -> None:
    timestamps = np.asarray([0, 5, 5, 5, 2**64 - 1], dtype=np.uint64)
    repeats = fmt.repeat_counts(timestamps)
    assert repeats.tolist() == [0, 0, 1, 2, 0]
    names, lengths = zip_writer.member_names(200, timestamps, repeats)
    decoded = [names[row, : lengths[row]].tobytes().decode() for row in range(len(timestamps))]
    expected = [layout.member_stem(200, int(t), int(r)) + ".npy" for t, r in zip(timestamps, repeats, strict=True)]
    assert decoded == expected
    assert sorted(decoded) == decoded


def test_index_reads_numpy_savez_and_savez_compressed(tmp_path: Path) -> None:
    arrays = {f"001_{t:020d}": message_bytes(1, t, bytes([t]) * t) for t in range(5)}
    np.savez(tmp_path / "plain.npz", **cast("dict[str, Any]", arrays))
    np.savez_compressed(tmp_path / "packed.npz", **cast("dict[str, Any]", arrays))
    for name in ("plain.npz", "packed.npz"):
        index = zip_index.ArchiveIndex(tmp_path / name)
        assert MemberNames(index).stems == list(arrays)
        assert [index.message(i).tobytes() for i in range(len(index))] == [a.tobytes() for a in arrays.values()]


def test_index_reports_missing_and_foreign_files(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError, match=r"nothing\.npz"):
        zip_index.ArchiveIndex(tmp_path / "nothing.npz")
    (tmp_path / "text.npz").write_text("hello")
    with pytest.raises(ValueError, match="not a ZIP"):
        zip_index.ArchiveIndex(tmp_path / "text.npz")
    np.savez(tmp_path / "floats.npz", a=np.zeros(3))
    with pytest.raises(ValueError, match="expected a 1-D uint8 array"):
        _ = zip_index.ArchiveIndex(tmp_path / "floats.npz").message_offsets  # members are checked when first read


@pytest.mark.parametrize("keep", [40, 300, 600])
def test_truncated_archive_names_the_member_cut_off(tmp_path: Path, keep: int) -> None:
    path = tmp_path / "3_log.npz"
    write_archive(path, 3, MESSAGES)
    data = path.read_bytes()
    path.write_bytes(data[:keep])
    with pytest.raises(ValueError, match=r"truncated .*member '003_") as caught:
        zip_index.ArchiveIndex(path)
    assert str(path) in str(caught.value)


def test_corrupted_member_fails_its_crc(tmp_path: Path) -> None:
    path = tmp_path / "3_log.npz"
    write_archive(path, 3, MESSAGES)
    data = bytearray(path.read_bytes())
    position = data.index(b"x" * 300)
    data[position + 10] ^= 0xFF
    path.write_bytes(bytes(data))
    index = zip_index.ArchiveIndex(path)
    assert index.check_crcs() == 3
    with zipfile.ZipFile(path) as archive:
        assert archive.testzip() == "003_00000000000000000003_000002.npy"


def test_manifest_round_trips_and_ignores_foreign_comments() -> None:
    records = [fmt.SourceRecord("001-0000.axlog", 1234, 0xDEADBEEF), fmt.SourceRecord("001-0001.axlog", 16, 7)]
    assert list(fmt.decode_manifest(fmt.encode_manifest(records)).values()) == records
    assert fmt.decode_manifest(b"") == {}
    assert fmt.decode_manifest(b"some other tool's comment") == {}


def test_members_past_4_gib_get_zip64_offsets(tmp_path: Path) -> None:
    path = tmp_path / "5_log.npz"
    writer = zip_writer.ArchiveWriter(path)
    writer.add(layout.member_stem(5, 0), message_bytes(5, 0, b"").tobytes(), np.uint64(7).tobytes())
    writer._file.flush()
    hole = (1 << 32) + 4096
    writer._file.seek(hole)  # a sparse hole stands in for 4 GiB of earlier members
    writer._position = hole
    names, lengths = zip_writer.member_names(5, np.asarray([9, 9], dtype=np.uint64), np.asarray([0, 1]))
    heads = np.stack([message_bytes(5, 9, b"")] * 2)
    writer.add_batch(names, lengths, heads, [memoryview(b"far"), memoryview(b"away")])
    writer.close()
    with zipfile.ZipFile(path) as archive:
        infos = archive.infolist()
        assert [info.header_offset > 1 << 32 for info in infos] == [False, True, True]
        assert archive.read(infos[2].filename)[-4:] == b"away"
    index = zip_index.ArchiveIndex(path)
    assert [index.message(i).tobytes()[9:] for i in range(3)] == [np.uint64(7).tobytes(), b"far", b"away"]
    assert index.check_crcs() is None


@pytest.mark.slow
def test_large_and_mixed_members_take_the_split_paths(tmp_path: Path) -> None:
    big = bytes(range(256)) * 6000  # 1.5 MiB: wider than one layout row
    mixed = [(0, np.uint64(5).tobytes()), (1, big), (2, b"small"), (2, big[:70_000]), (3, b"")]
    mixed += [(4 + n, bytes([n % 256]) * 600) for n in range(120_000)]  # 120,000 x ~800 B rows: over 64 MiB at once
    path = tmp_path / "6_log.npz"
    write_archive(path, 6, mixed)
    index = zip_index.ArchiveIndex(path)
    assert len(index) == len(mixed)
    assert index.check_crcs() is None
    assert [index.message(i).tobytes()[9:] for i in (1, 2, 3, 4, len(mixed) - 1)] == [
        big,
        b"small",
        big[:70_000],
        b"",
        bytes([119_999 % 256]) * 600,
    ]
    with zipfile.ZipFile(path) as archive:
        assert archive.read("006_00000000000000000001.npy")[-len(big) :] == big


def test_record_layouts_match_zipfile_and_numpy() -> None:
    # zipfile's own struct strings are an independent statement of the ZIP records' sizes and signatures.
    zipfile_private: Any = zipfile
    assert layout.LOCAL_FILE_HEADER.size == zipfile_private.sizeFileHeader
    assert layout.CENTRAL_DIRECTORY_ENTRY.size == zipfile_private.sizeCentralDir
    assert layout.END_RECORD.size == zipfile_private.sizeEndCentDir
    assert layout.ZIP64_END_RECORD.size == zipfile_private.sizeEndCentDir64
    assert layout.ZIP64_END_LOCATOR.size == zipfile_private.sizeEndCentDir64Locator
    assert layout.signature_bytes(layout.LOCAL_SIGNATURE) == zipfile_private.stringFileHeader
    assert layout.signature_bytes(layout.CENTRAL_SIGNATURE) == zipfile_private.stringCentralDir
    assert layout.signature_bytes(layout.END_SIGNATURE) == zipfile_private.stringEndArchive
    assert layout.signature_bytes(layout.ZIP64_END_SIGNATURE) == zipfile_private.stringEndArchive64
    assert layout.signature_bytes(layout.ZIP64_LOCATOR_SIGNATURE) == zipfile_private.stringEndArchive64Locator
    for record in (layout.LOCAL_FILE_HEADER, layout.CENTRAL_DIRECTORY_ENTRY, layout.END_RECORD):
        assert record.dtype.itemsize == record.size
    buffer = io.BytesIO()
    np.save(buffer, np.zeros(5, dtype=np.uint8))
    assert buffer.getvalue()[:-5] == layout.npy_header(5)
    preamble = layout.NPY_PREAMBLE_V1.unpack(layout.npy_header(5))
    assert (preamble.magic, preamble.major, preamble.minor) == (layout.NPY_MAGIC, 1, 0)
    assert layout.NPY_PREAMBLE_V1.size + preamble.header_length == len(layout.npy_header(5))
    assert layout.MESSAGE_PREFIX.pack(layout.MessagePrefix(7, 2**40)) == bytes([7]) + (2**40).to_bytes(8, "little")
    assert layout.ONSET_MESSAGE_SIZE == 17
