"""The reader never trusts an archive's index: damaged sizes, offsets, headers and payloads, and files that shrink.

Every test damages a real archive on disk (single-bit flips at named ZIP fields, truncation while a reader in
another process has it mapped) and reads it through the public API.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from log_builders import sample_messages, write_live_log

from ataraxis_data_structures.data_loggers import LogArchiveReader, assemble_log_archives
from ataraxis_data_structures.data_loggers.formats import archive_layout as layout
from ataraxis_data_structures.errors import ArchiveFormatError

CHILD = Path(__file__).with_name("archive_trust_children.py")


def build(directory: Path, count: int = 60) -> tuple[Path, bytes]:
    """Assembles an archive of ``count`` data messages and returns its path and pristine bytes."""
    write_live_log(directory, 3, sample_messages(count, seed=4))
    assemble_log_archives(directory)
    archive = directory / "3_log.npz"
    return archive, archive.read_bytes()


def central_entries(data: bytes) -> list[tuple[int, layout.CentralDirectoryEntry]]:
    """Returns (file offset, entry) of every central directory entry, walked with the layout module."""
    end = layout.END_RECORD.unpack(data, data.rindex(layout.signature_bytes(layout.END_SIGNATURE)))
    position = end.central_offset
    entries = []
    for _ in range(end.entries):
        entry = layout.CENTRAL_DIRECTORY_ENTRY.unpack(data, position)
        entries.append((position, entry))
        position += layout.CENTRAL_DIRECTORY_ENTRY.size + entry.name_length + entry.extra_length
    return entries


def flip(path: Path, pristine: bytes, offset: int, bit: int) -> None:
    damaged = bytearray(pristine)
    damaged[offset] ^= 1 << bit
    path.write_bytes(bytes(damaged))


def read_everything(archive: Path) -> list[tuple[int, bytes]]:
    reader = LogArchiveReader(archive)
    return [(int(message.timestamp_us), message.payload.tobytes()) for message in reader.iter_messages()]


@pytest.mark.parametrize("field", ["size", "compressed", "offset", "crc"])
def test_every_bit_flip_in_a_central_directory_field_is_an_error_naming_the_member(tmp_path: Path, field: str) -> None:
    archive, pristine = build(tmp_path)
    expected = read_everything(archive)
    position, entry = central_entries(pristine)[7]
    name = pristine[position + layout.CENTRAL_DIRECTORY_ENTRY.size :][: entry.name_length].decode()
    field_at = position + layout.CENTRAL_DIRECTORY_ENTRY.offset(field)
    for bit in range(32):
        flip(archive, pristine, field_at + bit // 8, bit % 8)
        with pytest.raises(ArchiveFormatError) as caught:
            read_everything(archive)
        message = str(caught.value)
        assert str(archive) in message
        if field != "offset":  # a wrong offset may land on another member's header, named instead
            assert name in message, message
    archive.write_bytes(pristine)
    assert read_everything(archive) == expected


@pytest.mark.parametrize("field", ["size", "compressed", "name_length", "crc"])
def test_bit_flips_in_a_local_header_field_are_errors(tmp_path: Path, field: str) -> None:
    archive, pristine = build(tmp_path)
    _, entry = central_entries(pristine)[12]
    field_at = entry.offset + layout.LOCAL_FILE_HEADER.offset(field)
    width = layout.LOCAL_FILE_HEADER.dtype[field].itemsize
    for bit in range(8 * width):
        flip(archive, pristine, field_at + bit // 8, bit % 8)
        with pytest.raises(ArchiveFormatError, match=str(archive)):
            read_everything(archive)


def test_bit_flips_in_a_npy_header_are_errors(tmp_path: Path) -> None:
    archive, pristine = build(tmp_path)
    _, entry = central_entries(pristine)[20]
    header_at = entry.offset + layout.LOCAL_FILE_HEADER.size + entry.name_length
    header = layout.npy_header(entry.size - len(layout.npy_header(0)))
    assert pristine[header_at : header_at + len(header)] == header
    shape_at = header_at + header.index(b"'shape': (") + len(b"'shape': (")
    for offset in (header_at + 8, header_at + 9, shape_at, shape_at + 1, header_at + 6):  # length, digits, version
        for bit in range(8):
            flip(archive, pristine, offset, bit)
            with pytest.raises(ArchiveFormatError, match=str(archive)):
                read_everything(archive)


def test_a_batch_is_checked_wherever_it_starts_and_a_damaged_member_fails_every_batch_holding_it(
    tmp_path: Path,
) -> None:
    """Members are checked in grains, not whole chunks: batches beside a damaged member read, those holding it fail."""
    archive, pristine = build(tmp_path, count=20_000)
    keys = LogArchiveReader(archive).message_keys
    position, entry = central_entries(pristine)[15_001]  # data message 15,000 (after the onset)
    flip(archive, pristine, entry.offset + layout.LOCAL_FILE_HEADER.offset("crc"), 0)
    name = pristine[position + layout.CENTRAL_DIRECTORY_ENTRY.size :][: entry.name_length].decode()
    reader = LogArchiveReader(archive)
    assert len(list(reader.iter_messages(keys[:8000]))) == 8000  # another grain: readable
    assert len(list(reader.iter_messages(keys[8000:12000]))) == 4000
    for batch in (keys[14_990:15_010], keys[12_000:], [keys[15_000]]):
        with pytest.raises(ArchiveFormatError, match=name):
            list(LogArchiveReader(archive).iter_messages(batch))
    with pytest.raises(ArchiveFormatError, match=name):  # the same reader, after reading beside it
        list(reader.iter_messages(keys[15_000:15_001]))


def test_payload_bit_flips_are_caught_by_verification_and_name_the_member(tmp_path: Path) -> None:
    archive, pristine = build(tmp_path)
    entries = central_entries(pristine)
    rng = np.random.default_rng(11)
    for trial in range(40):
        number = int(rng.integers(1, len(entries)))
        _, entry = entries[number]
        data_at = entry.offset + layout.LOCAL_FILE_HEADER.size + entry.name_length
        message_at = data_at + len(layout.npy_header(0))  # one header size for every small 1-D uint8 array
        message_length = entry.size - len(layout.npy_header(0))
        damaged_at = message_at + int(rng.integers(0, message_length))
        flip(archive, pristine, damaged_at, int(rng.integers(0, 8)))
        name = pristine[entries[number][0] + layout.CENTRAL_DIRECTORY_ENTRY.size :][: entry.name_length].decode()
        with pytest.raises(ArchiveFormatError, match=name) as caught:
            LogArchiveReader(archive, verify=True)
        assert str(archive) in str(caught.value), trial
        assert LogArchiveReader(archive).find_corrupt_member() == name
    archive.write_bytes(pristine)
    LogArchiveReader(archive, verify=True).verify()


@pytest.mark.parametrize("keep", [0.9, 0.5, 0.02])
def test_an_archive_truncated_while_a_reader_maps_it_raises_instead_of_sigbus(tmp_path: Path, keep: float) -> None:
    write_live_log(tmp_path, 5, [(0, np.uint64(1_700_000_000_000_000).tobytes())] + [
        (t, bytes(range(256)) * 4) for t in range(1, 3001)
    ])  # fmt: skip
    assemble_log_archives(tmp_path)
    archive = tmp_path / "5_log.npz"
    size = archive.stat().st_size
    env = {**os.environ, "PYTHONPATH": str(CHILD.parent)}
    child = subprocess.Popen(
        [sys.executable, str(CHILD), str(archive)], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, env=env
    )
    assert child.stdout is not None and child.stdin is not None
    try:
        assert child.stdout.readline().strip() == "ready"
        os.truncate(archive, int(size * keep))  # what cp does to the file it overwrites, before it writes
        child.stdin.write("go\n")
        child.stdin.flush()
        outcome = json.loads(child.stdout.readline())
        assert child.wait(timeout=60) == 0
    finally:
        child.kill()
        child.wait()
    assert outcome["count"] == 3000
    assert "read" not in outcome
    assert str(archive) in outcome["error"] and "shrank" in outcome["error"]


def test_a_shrunk_archive_is_refused_in_process_before_any_page_is_touched(tmp_path: Path) -> None:
    archive, _ = build(tmp_path, count=300)
    reader = LogArchiveReader(archive)
    assert reader.message_count == 300
    os.truncate(archive, archive.stat().st_size // 2)
    with pytest.raises(ArchiveFormatError, match="shrank"):
        list(reader.iter_messages())
    with pytest.raises(ArchiveFormatError, match="shrank"):
        reader.read_columns()
