"""Interchange with the original releases through committed golden files, so it is tested everywhere, with or without
the releases installed: our library reads what 6.2.0 and 7.2.0 wrote (tracker state, config values with their exact
types, archive messages in order, checksums), and where the format is deterministic (tracker, config, checksum) what
we write for the same inputs equals the golden bytes. ``golden/make_golden.py`` wrote them and says how to redo it.
"""

from __future__ import annotations

import dataclasses
import json
import shutil
from pathlib import Path
from typing import Any

import numpy as np
import pytest

import golden_inputs
from ataraxis_data_structures import (
    LogArchiveReader,
    ProcessingStatus,
    ProcessingTracker,
    YamlConfig,
    calculate_directory_checksum,
)

GOLDEN = Path(__file__).parent / "golden"
RELEASES = ["6.2.0", "7.2.0"]
EXPECTED_FILES = {
    "tracker-empty.yaml",
    "tracker-initialized.yaml",
    "tracker.yaml",
    "tracker-expected.json",
    "config.yaml",
    "log-expected.json",
    "log/1_log.npz",
    "log/2_log.npz",
    "checksum/ax_checksum.txt",
    *(f"checksum/{relative}" for relative in golden_inputs.CHECKSUM_TREE),
}


def _copy(release: str, name: str, tmp_path: Path) -> Path:
    """A private copy, so nothing a test does (lock files, rewrites) reaches the committed files."""
    source = GOLDEN / release / name
    target = tmp_path / Path(name).name
    if source.is_dir():
        shutil.copytree(source, target)
    else:
        shutil.copyfile(source, target)
    return target


@pytest.mark.parametrize("release", RELEASES)
def test_every_golden_file_is_committed(release: str) -> None:
    present = {str(p.relative_to(GOLDEN / release)) for p in (GOLDEN / release).rglob("*") if p.is_file()}
    assert present == EXPECTED_FILES


@pytest.mark.parametrize("release", RELEASES)
def test_golden_tracker_layouts_are_the_ones_each_release_writes(release: str) -> None:
    """Guards the premise of the tracker tests: 6.x writes `file_path: .` and `lock_path: ''`, 7.x omits both."""
    text = (GOLDEN / release / "tracker.yaml").read_text()
    six = release.startswith("6.")
    assert ("\nfile_path: .\n" in text) is six
    assert ("\nlock_path: ''\n" in text) is six


# --- ProcessingTracker -----------------------------------------------------------------------------------------------


@pytest.mark.parametrize("release", RELEASES)
def test_tracker_written_by_the_release_reads_as_the_release_reads_it(release: str, tmp_path: Path) -> None:
    expected = json.loads((GOLDEN / release / "tracker-expected.json").read_text())
    tracker = ProcessingTracker(file_path=_copy(release, "tracker.yaml", tmp_path))
    assert list(tracker.find_jobs(job_name="")) == expected["order"]
    for job_id, fields in expected["jobs"].items():
        info = tracker.get_job_info(job_id)
        assert dataclasses.asdict(info) | {"status": int(info.status)} == fields, job_id
        assert type(info.status) is ProcessingStatus
    assert tracker.get_job_status(expected["order"][1]) is ProcessingStatus.FAILED
    assert tracker.get_job_info(expected["order"][1]).error_message == "ValueError: frame 12 is 'torn'\nsee log"


@pytest.mark.parametrize("release", RELEASES)
def test_tracker_loaded_and_saved_by_us_is_byte_identical(release: str, tmp_path: Path) -> None:
    """``to_yaml`` writes a new file, and a new file gets the 7.x layout (issue 8), so what 6.2.0 wrote comes back
    without its ``file_path: .`` / ``lock_path: ''`` lines and otherwise byte for byte (both releases read either)."""
    golden = (GOLDEN / release / "tracker.yaml").read_text()
    expected = golden.replace("\nfile_path: .\n", "\n").replace("\nlock_path: ''\n", "\n")
    saved = tmp_path / "saved.yaml"
    ProcessingTracker.from_yaml(_copy(release, "tracker.yaml", tmp_path)).to_yaml(saved)
    assert saved.read_text() == expected


@pytest.mark.parametrize("release", RELEASES)
def test_jobs_we_add_to_a_release_file_match_the_release_byte_for_byte_and_keep_its_layout(
    release: str, tmp_path: Path
) -> None:
    """The release reset a tracker and then added TRACKER_JOBS; we add the same jobs to its reset file."""
    path = _copy(release, "tracker-empty.yaml", tmp_path)
    ids = ProcessingTracker(file_path=path).initialize_jobs(golden_inputs.TRACKER_JOBS)
    assert ids == json.loads((GOLDEN / release / "tracker-expected.json").read_text())["order"]
    assert path.read_text() == (GOLDEN / release / "tracker-initialized.yaml").read_text()


@pytest.mark.parametrize("release", RELEASES)
def test_our_changes_to_a_release_tracker_keep_its_other_jobs_and_layout(release: str, tmp_path: Path) -> None:
    expected = json.loads((GOLDEN / release / "tracker-expected.json").read_text())
    path = _copy(release, "tracker.yaml", tmp_path)
    running = expected["order"][2]
    ProcessingTracker(file_path=path).complete_job(running)
    before = (GOLDEN / release / "tracker.yaml").read_text().splitlines()
    after = path.read_text().splitlines()
    assert len(after) == len(before)
    changed = [index for index, (old, new) in enumerate(zip(before, after, strict=True)) if old != new]
    assert [before[index].split(":")[0].strip() for index in changed] == ["status", "completed_at"], changed
    state = ProcessingTracker(file_path=path).get_job_info(running)
    assert state.status is ProcessingStatus.SUCCEEDED
    assert state.started_at == expected["jobs"][running]["started_at"]


# --- YamlConfig ------------------------------------------------------------------------------------------------------


def _assert_same_values_and_types(loaded: Any, wanted: Any, where: str) -> None:
    assert type(loaded) is type(wanted), f"{where}: {type(loaded).__name__} instead of {type(wanted).__name__}"
    if dataclasses.is_dataclass(wanted):
        for field in dataclasses.fields(wanted):
            name = field.name
            _assert_same_values_and_types(getattr(loaded, name), getattr(wanted, name), f"{where}.{name}")
    elif isinstance(wanted, list | tuple):
        assert len(loaded) == len(wanted), where
        for index, (item, wanted_item) in enumerate(zip(loaded, wanted, strict=True)):
            _assert_same_values_and_types(item, wanted_item, f"{where}[{index}]")
    elif isinstance(wanted, dict):
        assert list(loaded) == list(wanted), where
        for key in wanted:
            _assert_same_values_and_types(loaded[key], wanted[key], f"{where}[{key!r}]")
    else:
        assert loaded == wanted, where


@pytest.mark.parametrize("release", RELEASES)
def test_config_written_by_the_release_loads_with_exact_values_and_types(release: str) -> None:
    wanted = golden_inputs.config_instance(YamlConfig)
    loaded = type(wanted).from_yaml(GOLDEN / release / "config.yaml")
    _assert_same_values_and_types(loaded, wanted, "Session")


@pytest.mark.parametrize("release", RELEASES)
def test_config_we_write_is_byte_identical_to_the_release(release: str, tmp_path: Path) -> None:
    path = tmp_path / "config.yaml"
    golden_inputs.config_instance(YamlConfig).to_yaml(path)
    assert path.read_text() == (GOLDEN / release / "config.yaml").read_text()


# --- Log archives ----------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("release", RELEASES)
@pytest.mark.parametrize("archive", ["1_log.npz", "2_log.npz"])
def test_archive_assembled_by_the_release_reads_the_same_messages_in_order(release: str, archive: str) -> None:
    expected = json.loads((GOLDEN / release / "log-expected.json").read_text())[archive]
    reader = LogArchiveReader(GOLDEN / release / "log" / archive)
    assert int(reader.onset_timestamp_us) == expected["onset_us"] == golden_inputs.ONSET_US
    messages = [[int(m.timestamp_us), bytes(m.payload).hex()] for m in reader.iter_messages()]
    assert messages == expected["messages"]
    assert reader.message_count == len(expected["messages"])
    timestamps, payloads = reader.read_all_messages()
    assert timestamps.tolist() == [timestamp for timestamp, _ in expected["messages"]]
    assert [bytes(np.asarray(p)).hex() for p in payloads] == [payload for _, payload in expected["messages"]]


@pytest.mark.parametrize("release", RELEASES)
def test_golden_archives_hold_one_message_per_repeated_timestamp_as_the_release_kept_it(release: str) -> None:
    """The releases name each message file by source and timestamp, so a repeated timestamp kept one message (ours
    keeps both: CHANGELOG). This pins what the golden archives hold, so a regenerated set cannot change it unseen."""
    expected = json.loads((GOLDEN / release / "log-expected.json").read_text())
    for archive, content in expected.items():
        source = int(archive.split("_")[0])
        sent = sorted({elapsed for s, elapsed, _ in golden_inputs.LOG_MESSAGES if s == source})
        assert [timestamp - golden_inputs.ONSET_US for timestamp, _ in content["messages"]] == sent


# --- Directory checksum ----------------------------------------------------------------------------------------------


@pytest.mark.parametrize("release", RELEASES)
def test_checksum_of_the_release_folder_verifies(release: str, tmp_path: Path) -> None:
    folder = _copy(release, "checksum", tmp_path)
    recorded = (folder / "ax_checksum.txt").read_text()
    assert calculate_directory_checksum(folder, save_checksum=False) == recorded.strip()


@pytest.mark.parametrize("release", RELEASES)
def test_checksum_file_we_write_is_byte_identical_to_the_release(release: str, tmp_path: Path) -> None:
    folder = _copy(release, "checksum", tmp_path)
    recorded = (folder / "ax_checksum.txt").read_bytes()
    (folder / "ax_checksum.txt").unlink()
    calculate_directory_checksum(folder, save_checksum=True)
    assert (folder / "ax_checksum.txt").read_bytes() == recorded


@pytest.mark.parametrize("release", RELEASES)
def test_a_changed_file_in_the_release_folder_no_longer_verifies(release: str, tmp_path: Path) -> None:
    folder = _copy(release, "checksum", tmp_path)
    (folder / "nested" / "b.txt").write_bytes(b"hellO\n")
    assert calculate_directory_checksum(folder, save_checksum=False) != (folder / "ax_checksum.txt").read_text().strip()
