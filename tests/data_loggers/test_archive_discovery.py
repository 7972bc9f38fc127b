"""The 7.x archive discovery API: discover/find archives, count messages from the index, reader repr."""

from __future__ import annotations

import json
import zipfile
from pathlib import Path

import numpy as np
import pytest
from log_builders import ONSET_US, sample_messages, write_live_log

from ataraxis_data_structures import (
    LOG_ARCHIVE_SUFFIX,
    LOG_DIRECTORY_SUFFIX,
    PARALLEL_PROCESSING_THRESHOLD,
    LogArchiveReader,
    assemble_log_archives,
    discover_log_archives,
    find_log_archive,
    find_log_archives,
    read_archive_message_count,
)
from ataraxis_data_structures.errors import ArchiveFormatError
from reference_release import OURS, REFERENCE7_PYTHON, needs_reference_7, run_python

CHILD = Path(__file__).with_name("archive_discovery_children.py")


def savez_archive(path: Path, count: int, *, onset: bool = True) -> None:
    """Writes an archive the way the releases' numpy.savez does (messages 1..count, optional onset)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    arrays = {}
    if onset:
        arrays["001_00000000000000000000"] = np.frombuffer(
            bytes([1]) + np.uint64(0).tobytes() + np.uint64(ONSET_US).tobytes(), dtype=np.uint8
        )
    for timestamp in range(1, count + 1):
        arrays[f"001_{timestamp:020d}"] = np.frombuffer(
            bytes([1]) + np.uint64(timestamp).tobytes() + b"abc", dtype=np.uint8
        )
    np.savez(path, **arrays)  # type: ignore[arg-type]


def build_tree(root: Path) -> Path:
    savez_archive(root / "a_data_log" / "1_log.npz", 5)
    savez_archive(root / "a_data_log" / "2_log.npz", 3, onset=False)
    savez_archive(root / "b" / "x_data_log" / "1_log.npz", 4)
    savez_archive(root / "b" / "x_data_log" / "01_log.npz", 4)
    (root / "a_data_log" / "notes.txt").write_text("not an archive")
    (root / "a_data_log" / "3_log.npz").mkdir()
    (root / "linked").symlink_to(root / "b", target_is_directory=True)  # not followed: no third 1_log.npz
    return root


def test_constants_match_the_release() -> None:
    assert (LOG_ARCHIVE_SUFFIX, LOG_DIRECTORY_SUFFIX, PARALLEL_PROCESSING_THRESHOLD) == ("_log.npz", "_data_log", 2000)


def test_discover_lists_the_directory_only_keyed_by_source(tmp_path: Path) -> None:
    root = build_tree(tmp_path)
    assert discover_log_archives(root / "a_data_log") == {
        "1": root / "a_data_log" / "1_log.npz",
        "2": root / "a_data_log" / "2_log.npz",
    }
    assert discover_log_archives(root) == {}
    with pytest.raises(FileNotFoundError, match="missing"):
        discover_log_archives(root / "missing")
    with pytest.raises(FileNotFoundError, match=r"1_log\.npz"):
        discover_log_archives(root / "a_data_log" / "1_log.npz")


def test_find_searches_the_tree_once_and_refuses_ambiguity(tmp_path: Path) -> None:
    root = build_tree(tmp_path)
    assert find_log_archive(root, "2") == root / "a_data_log" / "2_log.npz"
    assert find_log_archive(root, 2) == root / "a_data_log" / "2_log.npz"  # type: ignore[arg-type]
    assert find_log_archive(root, "01") == root / "b" / "x_data_log" / "01_log.npz"
    with pytest.raises(ValueError, match=r"1_log\.npz.*2 were found"):
        find_log_archive(root, "1")
    with pytest.raises(FileNotFoundError, match="source '3'"):  # a folder named like an archive is none
        find_log_archive(root, "3")
    with pytest.raises(FileNotFoundError, match="source '9'"):
        find_log_archives(root, ["2", "9"])
    assert find_log_archives(root, ["01", "2", "01"]) == {
        "01": root / "b" / "x_data_log" / "01_log.npz",
        "2": root / "a_data_log" / "2_log.npz",
    }
    assert find_log_archives(root, []) == {}
    with pytest.raises(FileNotFoundError, match="missing"):
        find_log_archives(root / "missing", ["1"])


def test_message_count_reads_the_index_alone(tmp_path: Path) -> None:
    root = build_tree(tmp_path)
    assert read_archive_message_count(root / "a_data_log" / "1_log.npz") == 5
    assert read_archive_message_count(root / "a_data_log" / "2_log.npz") == 3
    write_live_log(tmp_path / "ours", 4, sample_messages(3000))
    assemble_log_archives(tmp_path / "ours")
    ours = tmp_path / "ours" / "4_log.npz"
    assert read_archive_message_count(ours) == LogArchiveReader(ours).message_count == 3000
    # The count never reads a member: an archive whose members are all overwritten still counts.
    data = bytearray(ours.read_bytes())
    central = data.rindex(b"PK\x01\x02")
    data[: central // 2] = bytes(central // 2)
    ours.write_bytes(bytes(data))
    assert read_archive_message_count(ours) == 3000
    with pytest.raises(ArchiveFormatError):
        list(LogArchiveReader(ours, onset_us=ONSET_US).iter_messages())
    with pytest.raises(FileNotFoundError, match=r"none\.npz"):
        read_archive_message_count(tmp_path / "none.npz")
    with pytest.raises(FileNotFoundError):
        read_archive_message_count(tmp_path)
    (tmp_path / "junk.npz").write_bytes(b"hello")
    with pytest.raises(ValueError, match=r"junk\.npz"):
        read_archive_message_count(tmp_path / "junk.npz")
    with zipfile.ZipFile(tmp_path / "empty.npz", "w"):
        pass
    assert read_archive_message_count(tmp_path / "empty.npz") == 0


def test_reader_repr_shows_path_and_onset(tmp_path: Path) -> None:
    savez_archive(tmp_path / "1_log.npz", 2)
    reader = LogArchiveReader(tmp_path / "1_log.npz")
    assert repr(reader) == f"LogArchiveReader(archive_path={tmp_path / '1_log.npz'}, onset_us=not discovered)"
    assert repr(LogArchiveReader(tmp_path / "1_log.npz", onset_us=7)).endswith("onset_us=7)")
    _ = reader.onset_timestamp_us
    assert repr(reader).endswith(f"onset_us={ONSET_US})")


@needs_reference_7
def test_discovery_answers_as_release_7_2_does(tmp_path: Path) -> None:
    root = build_tree(tmp_path)
    answers = []
    for python in (REFERENCE7_PYTHON, OURS):
        answers.append(json.loads(run_python(python, CHILD, root, timeout=120).stdout.strip().splitlines()[-1]))
    assert answers[0] == answers[1]
