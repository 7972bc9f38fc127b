"""``axds tracker show``: the table of a tracker's jobs and the count per status, run as a real command."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from ataraxis_data_structures import ProcessingTracker


def axds(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "ataraxis_data_structures.cli", *args], capture_output=True, text=True, timeout=60
    )


@pytest.fixture
def tracker_file(tmp_path: Path) -> Path:
    tracker = ProcessingTracker(file_path=tmp_path / "tracker.yaml")
    done, failed, running, _ = tracker.initialize_jobs(
        [("process", "session_1"), ("process", "session_2"), ("verify", "session_1"), ("archive", "")]
    )
    tracker.start_job(done, executor_id="slurm:1001")
    tracker.complete_job(done)
    tracker.start_job(failed, executor_id="slurm:1002")
    tracker.fail_job(failed, "corrupted frame 17\nTraceback follows")
    tracker.start_job(running, executor_id="slurm:1003")
    return tracker.file_path


def test_show_prints_every_job_and_the_count_per_status(tracker_file: Path) -> None:
    result = axds("tracker", "show", str(tracker_file))
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[0] == f"Processing tracker {tracker_file}: 4 job(s)"
    header = lines[1].split()
    for column in ("NAME", "SPECIFIER", "STATUS", "EXECUTOR", "START", "DURATION", "ERROR"):
        assert column in header
    rows = {line.split()[1] + "/" + line.split()[2]: line for line in lines[2:6]}
    assert "SUCCEEDED" in rows["process/session_1"] and "slurm:1001" in rows["process/session_1"]
    assert rows["process/session_1"].rstrip().endswith(" s")  # A duration, no error.
    assert "FAILED" in rows["process/session_2"] and rows["process/session_2"].endswith("corrupted frame 17")
    assert "RUNNING" in rows["verify/session_1"] and "so far" in rows["verify/session_1"]
    archive = next(line for line in lines[2:6] if " archive " in line)
    assert "SCHEDULED" in archive
    assert lines[-1] == "SCHEDULED 1  RUNNING 1  SUCCEEDED 1  FAILED 1"


def test_show_can_list_one_status(tracker_file: Path) -> None:
    result = axds("tracker", "show", str(tracker_file), "--status", "failed")
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[0].endswith("1 of 4 job(s)")
    assert len(lines) == 4 and "FAILED" in lines[2]
    assert lines[-1] == "SCHEDULED 1  RUNNING 1  SUCCEEDED 1  FAILED 1"


def test_show_reads_without_creating_a_lock_file(tracker_file: Path) -> None:
    Path(f"{tracker_file}.lock").unlink()
    assert axds("tracker", "show", str(tracker_file)).returncode == 0
    assert not Path(f"{tracker_file}.lock").exists()


def test_show_reports_a_missing_or_corrupt_file_in_one_line(tmp_path: Path) -> None:
    missing = axds("tracker", "show", str(tmp_path / "nope.yaml"))
    assert missing.returncode == 1
    assert missing.stderr.strip() == f"axds tracker: no tracker file at {tmp_path / 'nope.yaml'}"
    corrupt = tmp_path / "bad.yaml"
    corrupt.write_text("jobs:\n  abc: [1, 2\n")
    result = axds("tracker", "show", str(corrupt))
    assert result.returncode == 1
    assert len(result.stderr.strip().splitlines()) == 1
    assert str(corrupt) in result.stderr and "not valid YAML" in result.stderr


def test_show_says_a_directory_is_not_a_tracker_file(tmp_path: Path) -> None:
    result = axds("tracker", "show", str(tmp_path))
    assert result.returncode == 1
    assert result.stderr.strip() == f"axds tracker: {tmp_path} is a directory, not a tracker file"


def test_tracker_help_lists_show() -> None:
    result = axds("tracker", "--help")
    assert result.returncode == 0
    assert "show" in result.stdout


def test_show_lists_a_job_whose_start_time_no_date_can_hold(tmp_path: Path) -> None:
    # A hand-edited or corrupt started_at failed the whole table with "[Errno 75] Value too large".
    path = tmp_path / "tracker.yaml"
    path.write_text("jobs:\n  abc:\n    job_name: a\n    status: 2\n    started_at: 99999999999999999999999\n")
    result = axds("tracker", "show", str(path))
    assert result.returncode == 0, result.stderr
    assert "99999999999999999999999 us?" in result.stdout and "SUCCEEDED 1" in result.stdout


def test_a_reader_that_stops_early_ends_show_quietly(tmp_path: Path) -> None:
    # `axds tracker show big.yaml | head` printed "axds tracker: [Errno 32] Broken pipe" and exited 1.
    tracker = ProcessingTracker(file_path=tmp_path / "big.yaml")
    tracker.initialize_jobs([("job", str(index)) for index in range(5000)])
    child = subprocess.Popen(
        [sys.executable, "-m", "ataraxis_data_structures.cli", "tracker", "show", str(tracker.file_path)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    assert child.stdout is not None and child.stderr is not None
    assert child.stdout.readline().startswith(b"Processing tracker")
    child.stdout.close()
    errors = child.stderr.read()
    assert child.wait(timeout=60) == 141
    assert errors == b""
