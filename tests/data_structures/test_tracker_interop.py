"""Tracker files and locks interoperate with the original releases 6.2.0 and 7.2.0, both ways, in both layouts.

6.2.0 writes ``file_path: .`` and ``lock_path: ''`` around the jobs and cannot read a file without them; 7.2.0 writes
the jobs alone and reads both. Ours reads both and keeps the layout a file has (a new file gets 7.x's), so ours works
on one file alongside either release. (6.2.0 and 7.2.0 cannot share a file with each other: 7.2.0 rewrites a 6.x
file in its own layout, which 6.2.0 then refuses.)
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from ataraxis_data_structures import ProcessingStatus, ProcessingTracker
from ataraxis_data_structures.data_structures.tracker_format import EMPTY_TRACKER_TEXT_6
from reference_release import REFERENCE7_PYTHON as REFERENCE_PYTHON_7
from reference_release import REFERENCE_PYTHON

CHILDREN = Path(__file__).with_name("tracker_interop_children.py")
RELEASES = [
    pytest.param(
        6,
        marks=pytest.mark.skipif(not REFERENCE_PYTHON.exists(), reason="release 6.2.0 is not installed"),
        id="6.2.0",
    ),
    pytest.param(
        7,
        marks=pytest.mark.skipif(not REFERENCE_PYTHON_7.exists(), reason="release 7.2.0 is not installed"),
        id="7.2.0",
    ),
]
pytestmark = pytest.mark.reference

JOBS = [("é ü", "日本"), ("word " * 45 + "end", "x" * 250), ("123", "true"), ("a'b", "-x"), ("plain", ""), ("a", "b")]


def python_of(release: int) -> Path:
    return REFERENCE_PYTHON if release == 6 else REFERENCE_PYTHON_7


def new_tracker_file(path: Path, release: int) -> Path:
    """Creates an empty tracker in the layout of the release (6.2.0 reads only its own)."""
    if release == 6:
        path.write_text(EMPTY_TRACKER_TEXT_6)
    return path


def run_release(release: int, *args: str) -> dict[str, list[object]]:
    return run_child(python_of(release), *args)


def run_child(python: Path | str, *args: str) -> dict[str, list[object]]:
    """Runs a command of the children script under an interpreter (a release's, or ours) and returns its JSON."""
    result = subprocess.run([python, CHILDREN, *args], capture_output=True, text=True, timeout=120, check=False)
    assert result.returncode == 0, result.stderr
    return dict(json.loads(result.stdout.strip().splitlines()[-1]))


def our_jobs(tracker: ProcessingTracker) -> dict[str, list[object]]:
    return {
        job_id: [
            job.job_name,
            job.specifier,
            int(job.status),
            job.executor_id,
            job.error_message,
            job.started_at,
            job.completed_at,
        ]
        for job_id, job in tracker.snapshot().items()
    }


def layout(path: Path) -> list[str]:
    return list(yaml.safe_load(path.read_text()))


@pytest.mark.parametrize("release", RELEASES)
def test_a_tracker_written_by_a_release_reads_the_same_in_ours_and_keeps_its_layout(
    tmp_path: Path, release: int
) -> None:
    path = new_tracker_file(tmp_path / "tracker.yaml", release)
    release_view = run_release(release, "view", str(path), json.dumps(JOBS))
    expected_layout = ["file_path", "jobs", "lock_path"] if release == 6 else ["jobs"]
    assert layout(path) == expected_layout
    tracker = ProcessingTracker(file_path=path)
    assert our_jobs(tracker) == release_view
    assert list(release_view) == [ProcessingTracker.generate_job_id(*job) for job in JOBS]
    # And ours can keep working on it, in the layout it has.
    first = next(iter(release_view))
    tracker.retry_failed_jobs()
    assert tracker.get_job_status(first) is ProcessingStatus.SCHEDULED
    assert layout(path) == expected_layout


@pytest.mark.slow
@pytest.mark.parametrize("release", RELEASES)
def test_a_tracker_written_by_ours_reads_the_same_in_a_release_byte_for_byte(tmp_path: Path, release: int) -> None:
    path = new_tracker_file(tmp_path / "tracker.yaml", release)
    tracker = ProcessingTracker(file_path=path)
    ids = tracker.initialize_jobs(JOBS)
    tracker.start_job(ids[0], executor_id="ours")
    tracker.fail_job(ids[0], "err: bad\n  indented line")
    tracker.start_job(ids[1])
    tracker.complete_job(ids[1])
    assert run_release(release, "view", str(path)) == our_jobs(tracker)
    # Identical state gives an identical file: what we write is what the release writes.
    before = path.read_bytes()
    run_release(release, "resave", str(path), *JOBS[-1])  # Changes nothing, but the release writes the file.
    assert path.read_bytes() == before


def test_a_new_file_written_by_ours_is_byte_for_byte_what_7_2_0_writes(tmp_path: Path) -> None:
    if not REFERENCE_PYTHON_7.exists():
        pytest.skip("release 7.2.0 is not installed")
    ours, theirs = tmp_path / "ours.yaml", tmp_path / "theirs.yaml"
    run_release(7, "view", str(theirs), json.dumps(JOBS))
    tracker = ProcessingTracker(file_path=ours)
    tracker.initialize_jobs(JOBS)
    release_view = ProcessingTracker(file_path=theirs).snapshot()
    # Copy the times and executors the release recorded, then compare the files.
    for job_id, state in release_view.items():
        if state.status is ProcessingStatus.FAILED:
            tracker.start_job(job_id, state.executor_id)
            tracker.fail_job(job_id, state.error_message)
        elif state.status is ProcessingStatus.SUCCEEDED:
            tracker.start_job(job_id, state.executor_id)
            tracker.complete_job(job_id)
    text = ours.read_text()
    for job_id, state in release_view.items():
        mine = tracker.jobs[job_id]
        for value, wanted in ((mine.started_at, state.started_at), (mine.completed_at, state.completed_at)):
            if value is not None:
                text = text.replace(str(value), str(wanted))
    assert text == theirs.read_text()


@pytest.mark.slow
@pytest.mark.parametrize("release", RELEASES)
def test_our_processes_and_release_processes_share_one_tracker_without_losing_updates(
    tmp_path: Path, release: int
) -> None:
    path = new_tracker_file(tmp_path / "tracker.yaml", release)
    tracker = ProcessingTracker(file_path=path)
    ids = tracker.initialize_jobs([("job", str(index)) for index in range(24)])
    processes = [
        subprocess.Popen([python_of(release), CHILDREN, "hammer", str(path), "release", *ids[0::2][:6]]),
        subprocess.Popen([python_of(release), CHILDREN, "hammer", str(path), "release", *ids[0::2][6:]]),
        subprocess.Popen([sys.executable, CHILDREN, "hammer", str(path), "ours", *ids[1::2]]),
    ]
    for process in processes:
        assert process.wait(timeout=240) == 0
    for index, job_id in enumerate(ids):
        info = tracker.get_job_info(job_id)
        assert info.status is ProcessingStatus.SUCCEEDED
        assert info.executor_id == ("release" if index % 2 == 0 else "ours")


@pytest.mark.slow
@pytest.mark.parametrize("release", RELEASES)
def test_a_file_holding_leases_and_claims_is_read_and_updated_by_a_release(tmp_path: Path, release: int) -> None:
    path = new_tracker_file(tmp_path / "tracker.yaml", release)
    tracker = ProcessingTracker(file_path=path, lease=600)
    first, second, third = tracker.initialize_jobs([("a", "1"), ("a", "2"), ("b", "")])
    assert tracker.claim_job(executor_id="worker-1") == first
    assert "lease_expires_at" in path.read_text()
    # The release loads the file (it ignores the lease field) and changes another job.
    assert run_release(release, "hammer", str(path), "release", third)[first][3] == "worker-1"
    assert tracker.get_job_status(third) is ProcessingStatus.SUCCEEDED
    state = tracker.get_job_info(first)
    assert (state.status, state.executor_id) == (ProcessingStatus.RUNNING, "worker-1")
    # The release dropped the lease when it rewrote the file: without a lease the job is never called stale.
    assert "lease_expires_at" not in path.read_text()
    assert tracker.find_stale_jobs() == []
    with tracker.run_job(second, executor_id="worker-2"):
        assert "lease_expires_at" in path.read_text()
        assert run_release(release, "view", str(path))[second][2] == int(ProcessingStatus.RUNNING)
    assert tracker.get_job_status(second) is ProcessingStatus.SUCCEEDED
    assert run_release(release, "view", str(path))[second][2] == int(ProcessingStatus.SUCCEEDED)


@pytest.mark.slow
@pytest.mark.parametrize("release", RELEASES)
def test_a_release_loads_updates_and_rewrites_a_file_holding_executor_identities_and_ours_reads_it_back(
    tmp_path: Path, release: int
) -> None:
    path = new_tracker_file(tmp_path / "tracker.yaml", release)
    tracker = ProcessingTracker(file_path=path)
    dead, mine, other = tracker.initialize_jobs([("a", "1"), ("a", "2"), ("b", "")])
    # One of our processes starts a job and ends without ending it; this process starts another.
    child = run_child(sys.executable, "start", str(path), dead)
    tracker.start_job(mine)
    text = path.read_text()
    assert text.count("executor_process: boot=") == 2
    assert child[dead][3] == tracker.get_job_info(dead).executor_id
    assert re.fullmatch(r"pid:[0-9]+", str(child[dead][3])) and tracker.jobs[mine].executor_id == f"pid:{os.getpid()}"
    (stale,) = tracker.find_stale_jobs()  # our identity proves the child gone
    assert stale.job_id == dead and "no longer exists" in stale.reason
    # The release loads the file, changes another job and rewrites it: every job reads back the same in ours,
    # and it drops the identities, so the dead child's job is unknown from then on (never stale on doubt).
    before = our_jobs(tracker)
    theirs = run_release(release, "hammer", str(path), "release", other)
    after = our_jobs(tracker)
    assert theirs == after
    assert {job_id: after[job_id] for job_id in (dead, mine)} == {job_id: before[job_id] for job_id in (dead, mine)}
    assert after[other][2:4] == [int(ProcessingStatus.SUCCEEDED), "release"]
    assert "executor_process" not in path.read_text()
    assert tracker.find_stale_jobs() == []
    tracker.complete_job(mine)  # and ours keeps working on it, in its layout
    assert layout(path) == (["file_path", "jobs", "lock_path"] if release == 6 else ["jobs"])


@pytest.mark.slow
@pytest.mark.parametrize("release", RELEASES)
def test_ours_loads_updates_and_rewrites_a_file_a_release_started_jobs_in_and_the_release_reads_it_back(
    tmp_path: Path, release: int
) -> None:
    path = new_tracker_file(tmp_path / "tracker.yaml", release)
    run_release(release, "view", str(path), json.dumps(JOBS))
    ids = [ProcessingTracker.generate_job_id(*job) for job in JOBS]
    # The release starts a job with its default executor ID ('pid:<its pid>') and ends: that pid has no identity.
    started = run_release(release, "start", str(path), ids[2])
    assert re.fullmatch(r"pid:[0-9]+", str(started[ids[2]][3]))
    tracker = ProcessingTracker(file_path=path)
    assert our_jobs(tracker) == started
    assert tracker.find_stale_jobs() == []  # a bare pid proves nothing
    tracker.start_job(ids[3])  # ours writes its identity beside its pid
    assert "executor_process: boot=" in path.read_text()
    assert run_release(release, "view", str(path)) == our_jobs(tracker)
    # The release updates the file again; ours reads what it wrote.
    theirs = run_release(release, "hammer", str(path), "release", ids[4])
    assert theirs == our_jobs(tracker)
    assert theirs[ids[3]][2:4] == [int(ProcessingStatus.RUNNING), f"pid:{os.getpid()}"]


@pytest.mark.slow
@pytest.mark.skipif(not REFERENCE_PYTHON_7.exists(), reason="release 7.2.0 is not installed")
def test_the_messages_callers_match_begin_with_7_2_0s_words(tmp_path: Path) -> None:
    path = tmp_path / "tracker.yaml"
    theirs = run_release(7, "errors", str(path))
    ours = run_child(sys.executable, "errors", str(path))
    assert set(ours) == set(theirs)
    for case, message in theirs.items():
        # The release's whole message, wrapped at 120 columns as it wraps it, is where ours begins: the lab's tests
        # match it with pytest.raises(match=re.escape(wrapped message)).
        assert str(ours[case]).startswith(str(message)), (case, message, ours[case])
        assert re.search(re.escape(str(message)), str(ours[case]))
