"""ProcessingTracker's 7.x API: snapshot, align_jobs, reset_jobs, run_job, resolve_job, summarize, discover."""

from __future__ import annotations

import enum
import json
import logging
import os
import subprocess
from pathlib import Path

import pytest

from ataraxis_data_structures import JobState, ProcessingStatus, ProcessingTracker, TrackerStatus
from ataraxis_data_structures.data_structures import TrackerStatus as SubpackageTrackerStatus

REFERENCE_PYTHON_7 = Path(os.environ.get("REF_PY7") or "/tmp/axds-reference-7/bin/python")
CHILDREN = Path(__file__).with_name("tracker_worker_children.py")


@pytest.fixture
def tracker(tmp_path: Path) -> ProcessingTracker:
    return ProcessingTracker(file_path=tmp_path / "out" / "tracker.yaml")


def test_tracker_status_is_the_7x_str_enum() -> None:
    assert SubpackageTrackerStatus is TrackerStatus
    assert [(member.name, member.value) for member in TrackerStatus] == [
        ("NOT_STARTED", "not_started"),
        ("IN_PROGRESS", "in_progress"),
        ("PROCESSING", "processing"),
        ("COMPLETED", "completed"),
        ("FAILED", "failed"),
    ]
    assert TrackerStatus.FAILED == "failed" and json.dumps(TrackerStatus.COMPLETED) == '"completed"'


@pytest.mark.parametrize(
    ("summary", "expected"),
    [
        ({}, TrackerStatus.IN_PROGRESS),
        ({"total": 0}, TrackerStatus.IN_PROGRESS),
        ({"total": 3, "failed": 1, "succeeded": 2}, TrackerStatus.FAILED),
        ({"total": 3, "failed": 1, "running": 2}, TrackerStatus.FAILED),
        ({"total": 2, "succeeded": 2}, TrackerStatus.COMPLETED),
        ({"total": 3, "running": 1, "succeeded": 1, "scheduled": 1}, TrackerStatus.PROCESSING),
        ({"total": 3, "scheduled": 3}, TrackerStatus.NOT_STARTED),
        ({"total": 3, "scheduled": 2, "succeeded": 1}, TrackerStatus.IN_PROGRESS),
    ],
)
def test_resolve_status_priority(summary: dict[str, int], expected: TrackerStatus) -> None:
    assert ProcessingTracker.resolve_status(summary) is expected


def test_snapshot_of_a_missing_file_is_empty_and_creates_nothing(tracker: ProcessingTracker, tmp_path: Path) -> None:
    assert tracker.snapshot() == {}
    assert tracker.summarize() == {
        "jobs": [],
        "summary": {"total": 0, "succeeded": 0, "failed": 0, "running": 0, "scheduled": 0},
        "status": TrackerStatus.IN_PROGRESS,
    }
    assert list(tmp_path.iterdir()) == []  # No file, no lock file, no folder.


def test_snapshot_returns_copies(tracker: ProcessingTracker) -> None:
    (job_id,) = tracker.initialize_jobs([("a", "1")])
    snapshot = tracker.snapshot()
    assert snapshot == {job_id: JobState("a", "1")}
    snapshot[job_id].status = ProcessingStatus.FAILED
    snapshot.clear()
    assert tracker.snapshot() == {job_id: JobState("a", "1")}
    assert tracker.get_job_status(job_id) is ProcessingStatus.SCHEDULED


def test_summarize_is_json_ready(tracker: ProcessingTracker) -> None:
    a, b, c = tracker.initialize_jobs([("a", ""), ("b", "x"), ("c", "")])
    tracker.start_job(a, "e1")
    tracker.fail_job(a, "boom")
    tracker.start_job(b, "e2")
    summary = tracker.summarize()
    assert summary["status"] is TrackerStatus.FAILED
    assert summary["summary"] == {"total": 3, "succeeded": 0, "failed": 1, "running": 1, "scheduled": 1}
    jobs = summary["jobs"]
    assert [job["job_id"] for job in jobs] == [a, b, c]
    assert list(jobs[0]) == [
        "job_id",
        "job_name",
        "specifier",
        "status",
        "executor_id",
        "started_at",
        "completed_at",
        "error_message",
    ]
    assert (jobs[0]["status"], jobs[0]["error_message"]) == ("FAILED", "boom")
    assert "error_message" not in jobs[1] and jobs[1]["status"] == "RUNNING" and jobs[1]["executor_id"] == "e2"
    assert json.loads(json.dumps(summary))["status"] == "failed"


def test_align_jobs_adds_missing_keeps_existing_and_removes_foreign_with_a_warning(
    tracker: ProcessingTracker, caplog: pytest.LogCaptureFixture
) -> None:
    a, b, old = tracker.initialize_jobs([("a", ""), ("b", ""), ("old", "")])
    tracker.start_job(a, "e")
    universe = [("a", ""), ("b", ""), ("c", ""), ("d", "")]
    with caplog.at_level(logging.WARNING):
        ids = tracker.align_jobs([("d", ""), ("a", "")], universe=universe)
    assert ids == [ProcessingTracker.generate_job_id("d"), a]
    assert list(tracker.snapshot()) == [a, b, ids[0]]  # existing order kept, new ones appended, foreign removed
    assert tracker.get_job_info(a).status is ProcessingStatus.RUNNING
    assert old in caplog.text and "outside the job universe" in caplog.text
    # Default universe: the requested jobs themselves.
    assert tracker.align_jobs([("b", "")]) == [b]
    assert list(tracker.snapshot()) == [b]
    caplog.clear()
    with caplog.at_level(logging.WARNING):
        assert tracker.align_jobs([("b", "")]) == [b]  # A no-op logs nothing.
    assert caplog.text == ""


def test_align_jobs_refuses_before_touching_anything(tracker: ProcessingTracker) -> None:
    with pytest.raises(ValueError, match="at least one job"):
        tracker.align_jobs([])
    # The release's words, which callers match.
    with pytest.raises(ValueError, match=r"must be\s+part of the declared job universe") as caught:
        tracker.align_jobs([("a", ""), ("zz", "9"), ("yy", "")], universe=[("a", "")])
    assert "absent from it: zz (9), yy." in str(caught.value)
    assert not tracker.file_path.parent.exists()
    tracker.initialize_jobs([("a", "")])
    before = tracker.file_path.read_bytes()
    with pytest.raises(ValueError, match="':'"):
        tracker.align_jobs([("a", "x:y")])
    assert tracker.file_path.read_bytes() == before


@pytest.mark.parametrize("job", [("a:b", ""), ("a", "b:c"), (":", "")])
def test_a_colon_in_a_name_or_specifier_is_refused(tracker: ProcessingTracker, job: tuple[str, str]) -> None:
    # "a:b" + "" and "a" + "b" would otherwise hash the same string and share one ID.
    with pytest.raises(ValueError, match="':'"):
        ProcessingTracker.generate_job_id(*job)
    with pytest.raises(ValueError, match="':'"):
        tracker.initialize_jobs([("fine", ""), job])
    assert not tracker.file_path.exists()


def test_reset_jobs_is_all_or_nothing(tracker: ProcessingTracker) -> None:
    a, b, c = tracker.initialize_jobs([("a", ""), ("b", ""), ("c", "")])
    tracker.start_job(a, "e")
    tracker.fail_job(a, "bad")
    tracker.start_job(c, "e")
    tracker.complete_job(c)
    before = tracker.file_path.read_bytes()
    with pytest.raises(ValueError, match=r"(?s)must be tracked\sby\sthe\sinstance.*:\sfeedbeef\.") as caught:
        tracker.reset_jobs([c, "feedbeef"])
    assert str(tracker.file_path) in str(caught.value)
    assert tracker.file_path.read_bytes() == before
    assert tracker.reset_jobs([c, a]) == [a, c]  # registry order
    assert tracker.get_job_info(a) == JobState("a") == JobState(*tracker.get_job_info(a).__dict__.values())
    assert tracker.get_job_info(c) == JobState("c")
    assert tracker.get_job_status(b) is ProcessingStatus.SCHEDULED


def test_run_job_completes_or_fails_and_reraises(tracker: ProcessingTracker) -> None:
    (job_id,) = tracker.initialize_jobs([("a", "")])
    with tracker.run_job(job_id, executor_id="me"):
        assert tracker.get_job_info(job_id).status is ProcessingStatus.RUNNING
    done = tracker.get_job_info(job_id)
    assert (done.status, done.executor_id) == (ProcessingStatus.SUCCEEDED, "me")
    error = RuntimeError("disk full: /data")
    with pytest.raises(RuntimeError) as caught, tracker.run_job(job_id):
        raise error
    assert caught.value is error
    failed = tracker.get_job_info(job_id)
    assert (failed.status, failed.error_message) == (ProcessingStatus.FAILED, "disk full: /data")
    with pytest.raises(KeyError), tracker.run_job(job_id):
        raise KeyError  # no text: the type names the failure
    assert tracker.get_job_info(job_id).error_message == "KeyError"


@pytest.mark.parametrize("interruption", [KeyboardInterrupt, SystemExit])
def test_run_job_leaves_an_interrupted_job_running_as_7_2_0_and_reraises(
    tracker: ProcessingTracker, interruption: type[BaseException]
) -> None:
    (job_id,) = tracker.initialize_jobs([("a", "")])
    with pytest.raises(interruption), tracker.run_job(job_id):
        raise interruption
    info = tracker.get_job_info(job_id)
    assert (info.status, info.error_message, info.completed_at) == (ProcessingStatus.RUNNING, None, None)
    assert info.executor_id == f"pid:{os.getpid()}"


def test_run_job_of_an_unknown_job_raises_before_the_block(tracker: ProcessingTracker) -> None:
    tracker.initialize_jobs([("a", "")])
    ran = False
    with pytest.raises(ValueError, match="feedbeef"), tracker.run_job("feedbeef"):
        ran = True
    assert not ran


def test_resolve_job_is_pure(tracker: ProcessingTracker) -> None:
    universe = [("a", "1"), ("b", "")]
    assert tracker.resolve_job(ProcessingTracker.generate_job_id("b"), universe) == ("b", "")
    with pytest.raises(ValueError, match=r"The 'universe' argument must\sname\sat\sleast\sone\sjob"):
        tracker.resolve_job("x", [])
    # The release's words, which callers match, then ours.
    with pytest.raises(ValueError, match=r"must\sname\sa\sjob\sthe\spipeline\scould\sproduce") as caught:
        tracker.resolve_job("feedbeef", universe)
    assert "'feedbeef'" in str(caught.value) and ProcessingTracker.generate_job_id("a", "1") in str(caught.value)
    assert not tracker.file_path.parent.exists()


def test_find_jobs_without_arguments_returns_every_job_as_the_releases(tracker: ProcessingTracker) -> None:
    assert tracker.find_jobs() == {}
    a, b = tracker.initialize_jobs([("a", ""), ("b", "x")])
    assert tracker.find_jobs() == {a: ("a", ""), b: ("b", "x")}


def test_discover_finds_every_tracker_sorted_without_reading_or_following_links(tmp_path: Path) -> None:
    for folder in ("b", "a/deep/er", "c"):
        (tmp_path / folder).mkdir(parents=True)
        (tmp_path / folder / "tracker.yaml").write_text("not: [a tracker")  # never read
    (tmp_path / "c" / "other.yaml").write_text("")
    (tmp_path / "a" / "tracker.yml").write_text("")
    outside = tmp_path.parent / f"{tmp_path.name}_outside"
    (outside / "x").mkdir(parents=True, exist_ok=True)
    (outside / "x" / "tracker.yaml").write_text("")
    (tmp_path / "link").symlink_to(outside, target_is_directory=True)
    found = ProcessingTracker.discover(tmp_path, "tracker.yaml")
    assert [tracker.file_path for tracker in found] == [
        tmp_path / "a/deep/er/tracker.yaml",
        tmp_path / "b/tracker.yaml",
        tmp_path / "c/tracker.yaml",
    ]
    assert all(tracker.jobs == {} for tracker in found)
    with pytest.raises(FileNotFoundError):
        ProcessingTracker.discover(tmp_path / "missing", "tracker.yaml")
    with pytest.raises(NotADirectoryError):
        ProcessingTracker.discover(tmp_path / "c" / "other.yaml", "tracker.yaml")


def test_discover_reports_an_unreadable_folder_instead_of_skipping_it() -> None:
    # Root reads every folder, so the search runs as 'nobody' when the tests run as root.
    import sys
    import tempfile

    nobody = 65534 if os.geteuid() == 0 else None
    with tempfile.TemporaryDirectory(dir="/tmp") as scratch:
        root = Path(scratch)
        root.chmod(0o755)
        (root / "open").mkdir(mode=0o755)
        (root / "open" / "tracker.yaml").write_text("")
        (root / "locked").mkdir(mode=0o700 if nobody is not None else 0)
        try:
            user = [] if nobody is None else [str(nobody)]
            result = subprocess.run(
                [sys.executable, CHILDREN, "discover", str(root), "tracker.yaml", *user],
                capture_output=True,
                text=True,
                check=False,
                timeout=120,
            )
        finally:
            (root / "locked").chmod(0o755)
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("PermissionError:") and str(root / "locked") in result.stdout


@pytest.mark.reference
@pytest.mark.skipif(not REFERENCE_PYTHON_7.exists(), reason="release 7.2.0 is not installed")
def test_the_signatures_are_7_2_0s() -> None:
    import inspect

    names = [
        "align_jobs",
        "complete_job",
        "discover",
        "fail_job",
        "find_jobs",
        "generate_job_id",
        "get_job_info",
        "get_job_status",
        "get_jobs_by_status",
        "get_summary",
        "initialize_jobs",
        "reset",
        "reset_jobs",
        "resolve_job",
        "resolve_status",
        "retry_failed_jobs",
        "run_job",
        "snapshot",
        "start_job",
        "summarize",
        "to_yaml",
    ]
    script = (
        "import inspect, json\nfrom ataraxis_data_structures import ProcessingTracker as P\n"
        f"print(json.dumps({{n: [[p.name, str(p.kind), repr(p.default)] for p in "
        f"inspect.signature(getattr(P, n)).parameters.values()] for n in {names!r}}}))"
    )
    result = subprocess.run([REFERENCE_PYTHON_7, "-c", script], capture_output=True, text=True, check=True)
    theirs = json.loads(result.stdout)
    ours = {
        name: [
            [p.name, str(p.kind), repr(p.default)]
            for p in inspect.signature(getattr(ProcessingTracker, name)).parameters.values()
        ]
        for name in names
    }
    assert ours == theirs


class Stage(enum.StrEnum):
    SORT = "sort_spikes"


class Session(str):
    """A str subclass of the kind labs use for typed names."""


def test_str_subclasses_are_stored_as_plain_str_and_a_multiline_failure_is_recorded(
    tracker: ProcessingTracker,
) -> None:
    (job_id,) = tracker.initialize_jobs([(Stage.SORT, Session("s1"))])
    assert (
        job_id
        == ProcessingTracker.generate_job_id("sort_spikes", "s1")
        == ProcessingTracker.generate_job_id(Stage.SORT, Session("s1"))
    )
    assert tracker.align_jobs([(Stage.SORT, Session("s1"))]) == [job_id]
    error = RuntimeError("line one\nline two: the caller's own exception")
    with pytest.raises(RuntimeError) as caught, tracker.run_job(job_id, executor_id=Session("node-3")):
        raise error
    assert caught.value is error  # not replaced by a YAML representer error
    info = tracker.get_job_info(job_id)
    assert (info.status, info.error_message) == (
        ProcessingStatus.FAILED,
        "line one\nline two: the caller's own exception",
    )
    assert [type(value) for value in (info.job_name, info.specifier, info.executor_id)] == [str, str, str]
    ((name, specifier),) = tracker.find_jobs(job_name=Stage.SORT).values()
    assert (type(name), type(specifier)) == (str, str) and (name, specifier) == ("sort_spikes", "s1")
    assert "Stage" not in tracker.file_path.read_text() and "!!" not in tracker.file_path.read_text()
    assert tracker.resolve_job(job_id, [(Stage.SORT, Session("s1"))]) == ("sort_spikes", "s1")
    assert [type(value) for value in tracker.resolve_job(job_id, [(Stage.SORT, Session("s1"))])] == [str, str]
    tracker.fail_job(job_id, Session("multi\nline"))
    assert type(tracker.get_job_info(job_id).error_message) is str
