"""ProcessingTracker, JobState and ProcessingStatus: the API reference's behaviour on real files."""

from __future__ import annotations

import dataclasses
import os
import pickle
import re
import threading
from pathlib import Path

import pytest
import yaml

from ataraxis_data_structures import JobState, ProcessingStatus, ProcessingTracker, YamlConfig


@pytest.fixture
def tracker(tmp_path: Path) -> ProcessingTracker:
    return ProcessingTracker(file_path=tmp_path / "tracker.yaml")


def test_status_values_and_dataclass_fields_match_the_reference() -> None:
    assert [(status.name, int(status)) for status in ProcessingStatus] == [
        ("SCHEDULED", 0),
        ("RUNNING", 1),
        ("SUCCEEDED", 2),
        ("FAILED", 3),
    ]
    assert [f.name for f in dataclasses.fields(ProcessingTracker)] == ["file_path", "jobs", "lock_path"]
    assert [f.name for f in dataclasses.fields(JobState)] == [
        "job_name",
        "specifier",
        "status",
        "executor_id",
        "error_message",
        "started_at",
        "completed_at",
    ]
    assert issubclass(ProcessingTracker, YamlConfig)
    assert JobState("a") == JobState("a", "", ProcessingStatus.SCHEDULED, None, None, None, None)


def test_job_ids_are_xxhash64_of_name_and_specifier() -> None:
    assert ProcessingTracker.generate_job_id("a", "b") == "d1c4958d7f784216"
    assert ProcessingTracker.generate_job_id("a") == ProcessingTracker.generate_job_id("a", "")
    assert ProcessingTracker.generate_job_id("a") != ProcessingTracker.generate_job_id("a", "b")


def test_construction_touches_nothing_on_disk_and_derives_the_lock_path(tmp_path: Path) -> None:
    tracker = ProcessingTracker(file_path=str(tmp_path / "sub" / "tracker.yaml"))  # type: ignore[arg-type]
    assert tracker.file_path == tmp_path / "sub" / "tracker.yaml"
    assert tracker.lock_path == f"{tmp_path / 'sub' / 'tracker.yaml'}.lock"
    assert tracker.jobs == {}
    assert not (tmp_path / "sub").exists()


def test_the_file_is_the_yaml_of_the_dataclass(tracker: ProcessingTracker) -> None:
    (job_id,) = tracker.initialize_jobs([("a", "b")])
    tracker.start_job(job_id, executor_id="e1")
    tracker.complete_job(job_id)
    data = yaml.safe_load(tracker.file_path.read_text())
    assert list(data) == ["jobs"]  # A new file gets release 7.x's layout: the registry alone.
    fields = data["jobs"][job_id]
    assert list(fields) == [field.name for field in dataclasses.fields(JobState)]
    assert fields["status"] == 2 and fields["executor_id"] == "e1"
    assert isinstance(fields["started_at"], int) and fields["completed_at"] >= fields["started_at"]
    assert tracker.file_path.read_text().startswith("---\n") and tracker.file_path.read_text().endswith("...\n")
    assert Path(tracker.lock_path).exists()


def test_initialize_jobs_never_duplicates_or_changes_existing_jobs(tracker: ProcessingTracker) -> None:
    ids = tracker.initialize_jobs([("a", "b"), ("c", ""), ("a", "b")])
    assert ids[0] == ids[2] == "d1c4958d7f784216"
    tracker.start_job(ids[0], executor_id="e")
    again = tracker.initialize_jobs([("c", ""), ("a", "b"), ("d", "1")])
    assert again == [ids[1], ids[0], ProcessingTracker.generate_job_id("d", "1")]
    assert list(tracker.jobs) == [ids[0], ids[1], again[2]]
    assert tracker.get_job_info(ids[0]).status is ProcessingStatus.RUNNING
    assert tracker.initialize_jobs([]) == []


@pytest.mark.parametrize("bad", [[("a",)], [("a", None)], ["ab"], [("a", "b", "c")]])
def test_initialize_jobs_rejects_malformed_entries(tracker: ProcessingTracker, bad: list[tuple[str, str]]) -> None:
    with pytest.raises(ValueError, match="expected a \\(job_name, specifier\\) tuple"):
        tracker.initialize_jobs(bad)
    assert not tracker.file_path.exists()


def test_job_lifecycle_records_status_times_executor_and_error(tracker: ProcessingTracker) -> None:
    first, second = tracker.initialize_jobs([("a", ""), ("b", "")])
    tracker.start_job(first, executor_id="exec 1")
    running = tracker.get_job_info(first)
    assert (running.status, running.executor_id, running.completed_at) == (ProcessingStatus.RUNNING, "exec 1", None)
    tracker.fail_job(first, "boom: bad\nsecond line")
    failed = tracker.get_job_info(first)
    assert failed.status is ProcessingStatus.FAILED
    assert failed.error_message == "boom: bad\nsecond line"
    assert failed.completed_at is not None and running.started_at is not None
    assert failed.completed_at >= running.started_at
    assert tracker.encountered_error and not tracker.complete
    # Starting again clears the error and the completion time; completing keeps the executor.
    tracker.start_job(first, executor_id="exec 2")
    assert tracker.get_job_info(first).error_message is None
    tracker.complete_job(first)
    tracker.complete_job(second)  # Completing a job that never started is allowed.
    done = tracker.get_job_info(first)
    assert (done.status, done.executor_id, done.error_message) == (ProcessingStatus.SUCCEEDED, "exec 2", None)
    assert tracker.get_job_status(second) is ProcessingStatus.SUCCEEDED
    assert tracker.complete and not tracker.encountered_error


def test_retry_failed_jobs_reschedules_only_failed_jobs(tracker: ProcessingTracker) -> None:
    a, b, c = tracker.initialize_jobs([("a", ""), ("b", ""), ("c", "")])
    tracker.start_job(a, "e")
    tracker.fail_job(a, "bad")
    tracker.fail_job(b)
    tracker.start_job(c, "e")
    assert tracker.retry_failed_jobs() == [a, b]
    assert tracker.get_job_info(a) == JobState("a", "", ProcessingStatus.SCHEDULED)
    assert tracker.get_job_status(c) is ProcessingStatus.RUNNING
    assert tracker.retry_failed_jobs() == []


def test_queries(tracker: ProcessingTracker) -> None:
    ids = tracker.initialize_jobs([("process", "batch_1"), ("process", "batch_2"), ("verify", "batch_1")])
    tracker.start_job(ids[0], "e")
    tracker.fail_job(ids[2])
    assert tracker.get_summary() == {
        ProcessingStatus.SCHEDULED: 1,
        ProcessingStatus.RUNNING: 1,
        ProcessingStatus.SUCCEEDED: 0,
        ProcessingStatus.FAILED: 1,
    }
    assert tracker.get_jobs_by_status(ProcessingStatus.RUNNING) == [ids[0]]
    assert tracker.get_jobs_by_status("FAILED") == tracker.get_jobs_by_status("failed") == [ids[2]]
    with pytest.raises(ValueError, match=r"Unknown job status 'bogus'.*SCHEDULED"):
        tracker.get_jobs_by_status("bogus")
    assert tracker.find_jobs(job_name="proc") == {ids[0]: ("process", "batch_1"), ids[1]: ("process", "batch_2")}
    assert tracker.find_jobs(specifier="_1") == {ids[0]: ("process", "batch_1"), ids[2]: ("verify", "batch_1")}
    assert tracker.find_jobs(job_name="verify", specifier="batch_2") == {}
    assert tracker.find_jobs() == {
        ids[0]: ("process", "batch_1"),
        ids[1]: ("process", "batch_2"),
        ids[2]: ("verify", "batch_1"),
    }


def test_an_empty_or_missing_tracker_is_neither_complete_nor_failed(tracker: ProcessingTracker) -> None:
    assert sum(tracker.get_summary().values()) == 0
    assert not tracker.complete and not tracker.encountered_error
    assert not tracker.file_path.exists()  # Reading does not create the tracker file.


@pytest.mark.parametrize(
    "operation",
    [
        lambda t: t.start_job("feedbeef"),
        lambda t: t.complete_job("feedbeef"),
        lambda t: t.fail_job("feedbeef", "x"),
        lambda t: t.get_job_info("feedbeef"),
        lambda t: t.get_job_status("feedbeef"),
    ],
)
def test_unknown_job_ids_raise_value_error_naming_the_id_and_the_file(tracker: ProcessingTracker, operation) -> None:  # type: ignore[no-untyped-def]
    tracker.initialize_jobs([("a", "")])
    before = tracker.file_path.read_bytes()
    # The releases' words, which callers match, then ours.
    with pytest.raises(ValueError) as caught:
        operation(tracker)
    words = " ".join(str(caught.value).split())  # wrapped at 120 columns, as the releases wrap theirs
    assert re.search(r"'feedbeef'.*The requested job must be tracked by the instance", words), words
    assert all(len(line) <= 120 for line in str(caught.value).splitlines())
    assert str(tracker.file_path) in str(caught.value)
    assert tracker.file_path.read_bytes() == before


SCHEDULER_VARIABLES = (
    "SLURM_JOB_ID",
    "SLURM_JOBID",
    "PBS_JOBID",
    "LSB_JOBID",
    "OAR_JOB_ID",
    "JOB_ID",
    "SGE_ROOT",
    "CCP_JOBID",
    "AZ_BATCH_JOB_ID",
    "AWS_BATCH_JOB_ID",
)


def test_start_job_records_the_scheduler_job_or_host_and_pid(
    tracker: ProcessingTracker, monkeypatch: pytest.MonkeyPatch
) -> None:
    (job_id,) = tracker.initialize_jobs([("a", "")])
    for variable in SCHEDULER_VARIABLES:
        monkeypatch.delenv(variable, raising=False)
    tracker.start_job(job_id)
    assert tracker.get_job_info(job_id).executor_id == f"pid:{os.getpid()}"  # exactly as both releases write it
    monkeypatch.setenv("JOB_ID", "5")  # SGE's JOB_ID counts only where SGE_ROOT says SGE runs this process.
    tracker.start_job(job_id)
    assert tracker.get_job_info(job_id).executor_id == f"pid:{os.getpid()}"
    monkeypatch.delenv("JOB_ID")
    monkeypatch.setenv("SGE_ROOT", "/opt/sge")
    for variable, expected in (  # 7.2.0's schemes and order (checked by running it with each variable set).
        ("AWS_BATCH_JOB_ID", "awsbatch:77"),
        ("AZ_BATCH_JOB_ID", "azurebatch:77"),
        ("CCP_JOBID", "hpcpack:77"),
        ("JOB_ID", "sge:77"),
        ("OAR_JOB_ID", "oar:77"),
        ("LSB_JOBID", "lsf:77"),
        ("PBS_JOBID", "pbs:77"),
        ("SLURM_JOBID", "slurm:77"),
        ("SLURM_JOB_ID", "slurm:78"),
    ):
        monkeypatch.setenv(variable, expected.partition(":")[2])
        # Each later one takes precedence over the ones set before.
        tracker.start_job(job_id)
        assert tracker.get_job_info(job_id).executor_id == expected
    tracker.start_job(job_id, executor_id="given")
    assert tracker.get_job_info(job_id).executor_id == "given"


def test_reset_empties_the_tracker(tracker: ProcessingTracker) -> None:
    tracker.initialize_jobs([("a", ""), ("b", "")])
    tracker.reset()
    assert tracker.jobs == {}
    assert tracker.file_path.read_text() == "---\njobs: {}\n...\n"  # What 7.2.0 writes.


def test_jobs_follows_changes_made_by_other_instances(tracker: ProcessingTracker) -> None:
    a, b = tracker.initialize_jobs([("a", ""), ("b", "")])
    other = ProcessingTracker(file_path=tracker.file_path)
    other.start_job(b, "other")
    tracker.get_summary()
    assert tracker.jobs[b].status is ProcessingStatus.RUNNING and tracker.jobs[b].executor_id == "other"
    info = tracker.get_job_info(a)
    info.status = ProcessingStatus.FAILED  # A copy: the file and the tracker are unaffected.
    assert tracker.get_job_status(a) is ProcessingStatus.SCHEDULED


def test_lock_timeout_is_a_keyword_parameter_with_a_sane_default(tmp_path: Path) -> None:
    path = tmp_path / "t.yaml"
    with pytest.raises(TypeError):
        ProcessingTracker(path, {}, 5)  # type: ignore[misc]
    with pytest.raises(ValueError, match="lock_timeout"):
        ProcessingTracker(path, lock_timeout=-1)
    tracker = ProcessingTracker(path, lock_timeout=0.5)
    assert tracker.initialize_jobs([("a", "")])


def test_threads_of_one_process_do_not_lose_updates(tracker: ProcessingTracker) -> None:
    ids = tracker.initialize_jobs([("job", str(index)) for index in range(80)])
    errors: list[BaseException] = []

    def work(share: list[str], name: str) -> None:
        own = ProcessingTracker(file_path=tracker.file_path)
        try:
            for job_id in share:
                own.start_job(job_id, name)
                own.complete_job(job_id)
        except BaseException as error:  # pragma: no cover - reported below
            errors.append(error)

    threads = [threading.Thread(target=work, args=(ids[index::4], f"thread-{index}")) for index in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not errors
    for index in range(4):
        for job_id in ids[index::4]:
            assert tracker.get_job_info(job_id).executor_id == f"thread-{index}"
    assert tracker.complete


def test_to_yaml_and_from_yaml(tracker: ProcessingTracker, tmp_path: Path) -> None:
    (job_id,) = tracker.initialize_jobs([("a", "b")])
    tracker.fail_job(job_id, "oops")
    loaded = ProcessingTracker.from_yaml(tracker.file_path)
    assert loaded.file_path == tracker.file_path  # The file stores '.', meaning itself.
    assert loaded.jobs == tracker.jobs
    copy = tmp_path / "copy.yml"
    tracker.to_yaml(copy)
    assert list(yaml.safe_load(copy.read_text())) == ["jobs"]  # As 7.2.0 writes it: the registry alone.
    again = ProcessingTracker.from_yaml(copy)
    assert again.file_path == copy and again.jobs == tracker.jobs
    with pytest.raises(ValueError, match=r"\.yaml"):
        tracker.to_yaml(tmp_path / "copy.txt")
    with pytest.raises(ValueError, match=r"\.yaml"):
        ProcessingTracker.from_yaml(tmp_path / "copy.json")


def test_a_tracker_file_without_a_yaml_extension_is_refused_like_the_reference(tmp_path: Path) -> None:
    # The reference refuses to read or write a tracker whose file does not end in .yaml/.yml; silently writing a
    # tracker.txt would let the same pipeline behave differently under the two libraries.
    tracker = ProcessingTracker(file_path=tmp_path / "tracker.txt")
    for operation in (
        lambda: tracker.initialize_jobs([("a", "")]),
        tracker.get_summary,
        tracker.reset,
        tracker.retry_failed_jobs,
        lambda: tracker.complete_job("0123456789abcdef"),
    ):
        with pytest.raises(ValueError, match=r"tracker\.txt.*'\.yaml' or '\.yml'"):
            operation()
    assert sorted(path.name for path in tmp_path.iterdir()) == []


def test_a_directory_given_as_the_tracker_file_is_named_in_the_error(tmp_path: Path) -> None:
    folder = tmp_path / "jobs.yaml"
    folder.mkdir()
    tracker = ProcessingTracker(file_path=folder)
    with pytest.raises(IsADirectoryError, match=r"jobs\.yaml"):
        tracker.get_summary()
    with pytest.raises(IsADirectoryError, match=r"jobs\.yaml"):
        tracker.initialize_jobs([("a", "")])
    assert folder.is_dir() and not any(folder.iterdir())


def test_a_tracker_pickles_for_worker_processes(tracker: ProcessingTracker) -> None:
    (job_id,) = tracker.initialize_jobs([("a", "")])
    clone = pickle.loads(pickle.dumps(tracker))
    clone.start_job(job_id, "clone")
    assert tracker.get_job_info(job_id).executor_id == "clone"


def test_rewrites_keep_the_tracker_file_permissions(tracker: ProcessingTracker) -> None:
    (job_id,) = tracker.initialize_jobs([("a", "")])
    os.chmod(tracker.file_path, 0o664)
    tracker.start_job(job_id, "e")
    tracker.complete_job(job_id)
    assert tracker.file_path.stat().st_mode & 0o777 == 0o664


@pytest.mark.skipif(not hasattr(os, "geteuid") or os.geteuid() == 0, reason="root ignores directory permissions")
def test_a_tracker_in_a_read_only_directory_can_be_read_but_not_changed(tmp_path: Path) -> None:
    directory = tmp_path / "share"
    tracker = ProcessingTracker(file_path=directory / "tracker.yaml")
    (job_id,) = tracker.initialize_jobs([("a", "")])
    Path(tracker.lock_path).unlink()
    directory.chmod(0o555)
    try:
        reader = ProcessingTracker(file_path=directory / "tracker.yaml")
        assert reader.get_job_status(job_id) is ProcessingStatus.SCHEDULED
        with pytest.raises(PermissionError, match="lock"):
            reader.start_job(job_id)
    finally:
        directory.chmod(0o755)
