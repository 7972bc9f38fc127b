"""``axds tracker show``: the table of a tracker's jobs and the count per status, run as a real command."""

from __future__ import annotations

import json
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from ataraxis_data_structures import ProcessingStatus, ProcessingTracker
from ataraxis_data_structures.cli import main


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


@pytest.mark.slow
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


@pytest.mark.slow
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


# ------------------------------------------------------------------ summary, stale, retry, reset, watch (in process)


def run_main(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = main(list(args))
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def test_summary_lists_every_tracker_under_a_folder_without_locks(
    tracker_file: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    other = ProcessingTracker(file_path=tmp_path / "b" / "tracker.yaml")
    ids = other.initialize_jobs([("x", ""), ("y", "")])
    for job_id in ids:
        other.start_job(job_id, "e")
        other.complete_job(job_id)
    (tmp_path / "config.yaml").write_text("fps: 30\n")  # some other YAML file: skipped
    for lock in tmp_path.rglob("*.lock"):
        lock.unlink()
    code, out, err = run_main(capsys, "tracker", "summary", str(tmp_path))
    assert code == 0, err
    lines = out.splitlines()
    assert len(lines) == 3
    assert lines[0].startswith(str(other.file_path)) and lines[0].endswith(
        "total 2  succeeded 2  failed 0  running 0  scheduled 0  completed"
    )
    assert lines[1].startswith(str(tracker_file)) and lines[1].endswith(
        "total 4  succeeded 1  failed 1  running 1  scheduled 1  failed"
    )
    assert lines[2] == "2 tracker(s): total 6  succeeded 3  failed 1  running 1  scheduled 1  failed"
    assert not list(tmp_path.rglob("*.lock"))
    code, out, _ = run_main(capsys, "tracker", "summary", str(tmp_path), "--json")
    document = json.loads(out)
    assert document["status"] == "failed" and document["summary"]["total"] == 6
    assert [entry["file"] for entry in document["trackers"]] == [str(other.file_path), str(tracker_file)]
    assert document["trackers"][0]["status"] == "completed"


def test_summary_with_a_name_reports_a_damaged_tracker(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "a").mkdir()
    (tmp_path / "a" / "tracker.yaml").write_text("jobs:\n  abc: [1, 2\n")
    ProcessingTracker(file_path=tmp_path / "b" / "tracker.yaml").initialize_jobs([("x", "")])
    code, out, _ = run_main(capsys, "tracker", "summary", str(tmp_path), "--name", "tracker.yaml")
    assert code == 1
    assert "ERROR" in out.splitlines()[0] and "not valid YAML" in out.splitlines()[0]
    assert out.splitlines()[1].endswith("not_started")
    code, _, err = run_main(capsys, "tracker", "summary", str(tmp_path / "missing"))
    assert code == 1 and "no directory at" in err


def test_stale_lists_then_recovers_and_retry_reschedules(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    tracker = ProcessingTracker(file_path=tmp_path / "t.yaml")
    dead, alive = tracker.initialize_jobs([("dead", "1"), ("alive", "")])
    # A process that starts the job and ends without ending it (its identity is recorded beside 'pid:<pid>').
    start = (
        "import sys; from ataraxis_data_structures import ProcessingTracker as T; T(sys.argv[1]).start_job(sys.argv[2])"
    )
    subprocess.run([sys.executable, "-c", start, str(tracker.file_path), dead], check=True)
    tracker.start_job(alive)
    code, out, _ = run_main(capsys, "tracker", "stale", str(tracker.file_path))
    assert code == 0
    assert out.splitlines()[0] == f"Found 1 stale job(s) in {tracker.file_path}:"
    assert dead in out and "dead/1" in out and "no longer exists" in out and alive not in out
    assert tracker.get_job_status(dead) is ProcessingStatus.RUNNING
    code, out, _ = run_main(capsys, "tracker", "stale", str(tracker.file_path), "--recover")
    assert code == 0 and out.startswith("Failed 1 stale job(s)")
    assert tracker.get_job_status(dead) is ProcessingStatus.FAILED
    code, out, _ = run_main(capsys, "tracker", "stale", str(tracker.file_path))
    assert out.startswith("No stale jobs")
    code, out, _ = run_main(capsys, "tracker", "retry", str(tracker.file_path))
    assert code == 0 and out.splitlines() == [f"Rescheduled 1 failed job(s) in {tracker.file_path}.", f"  {dead}"]
    assert tracker.get_job_status(dead) is ProcessingStatus.SCHEDULED


def test_reset_named_jobs_or_all_and_refuses_unknown_ids(
    tracker_file: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    tracker = ProcessingTracker(file_path=tracker_file)
    ids = list(tracker.snapshot())
    code, out, _ = run_main(capsys, "tracker", "reset", str(tracker_file), ids[1])
    assert code == 0 and out.startswith("Reset 1 job(s)")
    assert tracker.get_job_status(ids[1]) is ProcessingStatus.SCHEDULED
    assert tracker.get_job_status(ids[0]) is ProcessingStatus.SUCCEEDED
    before = tracker_file.read_bytes()
    code, _, err = run_main(capsys, "tracker", "reset", str(tracker_file), ids[0], "feedbeef")
    assert code == 1 and "feedbeef" in err and tracker_file.read_bytes() == before
    code, out, _ = run_main(capsys, "tracker", "reset", str(tracker_file))
    assert code == 0 and out.startswith("Reset 4 job(s)")
    assert tracker.get_summary()[ProcessingStatus.SCHEDULED] == 4


@pytest.mark.parametrize("fail_one", [False, True])
def test_watch_waits_until_every_job_ended_and_says_whether_any_failed(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, fail_one: bool
) -> None:
    tracker = ProcessingTracker(file_path=tmp_path / "t.yaml")
    ids = tracker.initialize_jobs([("job", str(index)) for index in range(3)])
    tracker.start_job(ids[0], "e")
    watched = threading.Event()

    def work() -> None:
        watched.wait(60)
        for job_id in ids:
            tracker.start_job(job_id, "e")
            if fail_one and job_id == ids[1]:
                tracker.fail_job(job_id, "bad")
            else:
                tracker.complete_job(job_id)

    worker = threading.Thread(target=work)
    worker.start()
    original = time.sleep

    def sleep(seconds: float) -> None:  # the first table has been printed: let the jobs run
        watched.set()
        original(seconds)

    monkeypatch.setattr(time, "sleep", sleep)
    try:
        code, out, _ = run_main(capsys, "tracker", "watch", str(tracker.file_path), "--interval", "0.05")
    finally:
        watched.set()
        worker.join()
    assert code == (1 if fail_one else 0)
    assert out.splitlines()[-1] == f"All 3 job(s) ended: {1 if fail_one else 0} failed."
    assert out.count("Processing tracker") >= 2  # printed again as the statuses changed
