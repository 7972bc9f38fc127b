"""Workers that drain a tracker (claim_job) and stale jobs found with evidence (find/recover_stale_jobs).

SLURM itself is exercised in tests/slurm; here the scheduler commands are small scripts on PATH that answer as
squeue/sacct/scontrol do, so that every branch of the evidence (and every kind of doubt) is covered everywhere.
"""

from __future__ import annotations

import os
import signal
import socket
import stat
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

import pytest

from ataraxis_data_structures import ProcessingStatus, ProcessingTracker, StaleJob
from ataraxis_data_structures.data_structures.tracker_executors import ProcessIdentity

CHILDREN = Path(__file__).with_name("tracker_worker_children.py")
HOST = socket.gethostname()


@pytest.fixture
def tracker(tmp_path: Path) -> ProcessingTracker:
    return ProcessingTracker(file_path=tmp_path / "tracker.yaml")


def wait_for(condition, timeout: float = 60.0) -> None:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "condition not met in time"
        time.sleep(0.05)


def child_environment(**variables: str) -> dict[str, str]:
    environment = {key: value for key, value in os.environ.items() if "SLURM" not in key and key != "JOB_ID"}
    environment.update(variables)
    return environment


# ---------------------------------------------------------------------------------------------------------- claims


def test_claim_job_takes_scheduled_jobs_in_order_then_returns_none(tracker: ProcessingTracker) -> None:
    a, b, c = tracker.initialize_jobs([("sort", "1"), ("spike", "1"), ("sort", "2")])
    tracker.start_job(a, "someone")
    assert tracker.claim_job(job_name="sort", executor_id="w") == c
    assert tracker.claim_job(job_name="sort", executor_id="w") is None
    assert tracker.claim_job(executor_id="w") == b
    assert tracker.claim_job(executor_id="w") is None
    info = tracker.get_job_info(c)
    assert (info.status, info.executor_id) == (ProcessingStatus.RUNNING, "w")
    assert info.started_at is not None


@pytest.mark.slow
def test_workers_drain_a_tracker_with_every_job_done_exactly_once(tracker: ProcessingTracker, tmp_path: Path) -> None:
    ids = tracker.initialize_jobs([("job", str(index)) for index in range(80)])
    workers = [
        subprocess.Popen([sys.executable, CHILDREN, "drain", str(tracker.file_path), f"w{index}"]) for index in range(4)
    ]
    for worker in workers:
        assert worker.wait(timeout=300) == 0
    claimed = Counter(line for log in tmp_path.glob("tracker.yaml.*.log") for line in log.read_text().split())
    assert claimed == Counter(ids)  # each job once, none lost
    assert tracker.complete


def test_a_requeued_slurm_job_takes_back_its_own_running_job(tracker: ProcessingTracker) -> None:
    a, b = tracker.initialize_jobs([("a", ""), ("b", "")])
    environment = child_environment(SLURM_JOB_ID="4242")
    first = subprocess.run(
        [sys.executable, CHILDREN, "claim", str(tracker.file_path)], env=environment, capture_output=True, text=True
    )
    assert first.stdout.strip() == a
    assert tracker.get_job_info(a).executor_id == "slurm:4242"
    # The job is requeued: the same job ID starts again in a new process and gets its own job back, not b.
    again = subprocess.run(
        [sys.executable, CHILDREN, "claim", str(tracker.file_path)], env=environment, capture_output=True, text=True
    )
    assert again.stdout.strip() == a
    # Another SLURM job gets the next one; and this process, claiming as slurm:4242, does not take back a job that
    # slurm:4242 started after this process started (that would be a job of its own, claimed twice).
    assert tracker.claim_job(executor_id="slurm:5") == b
    tracker.reset_jobs([b])
    assert tracker.claim_job(executor_id="slurm:4242") == b  # a was started by the child, after this process began


def test_a_pid_executor_never_takes_back_a_job(tracker: ProcessingTracker) -> None:
    a, b = tracker.initialize_jobs([("a", ""), ("b", "")])
    me = f"pid:{os.getpid()}"
    assert tracker.claim_job(executor_id=me) == a
    assert tracker.claim_job(executor_id=me) == b


# ------------------------------------------------------------------------------------------------------ stale: pid


def test_a_sigkilled_local_worker_is_found_stale_by_pid_and_recovered(tracker: ProcessingTracker) -> None:
    a, b = tracker.initialize_jobs([("a", ""), ("b", "")])
    worker = subprocess.Popen(
        [sys.executable, CHILDREN, "claim-and-hang", str(tracker.file_path)],
        stdout=subprocess.PIPE,
        text=True,
        env=child_environment(),
    )
    try:
        assert worker.stdout is not None
        assert worker.stdout.readline().strip() == a
        executor = f"pid:{worker.pid}"  # exactly as the releases write it; the identity is stored beside it
        assert tracker.get_job_info(a).executor_id == executor
        assert "executor_process: boot=" in tracker.file_path.read_text()
        assert tracker.find_stale_jobs() == []  # alive: never stale
        worker.send_signal(signal.SIGKILL)
        worker.wait(timeout=60)
    finally:
        worker.kill()
        worker.wait()
    (stale,) = tracker.find_stale_jobs()
    assert stale == StaleJob(a, "a", "", executor, stale.reason)
    assert stale.reason == f"executor {executor} ended (the process no longer exists) while the job was running"
    assert tracker.recover_stale_jobs() == [stale]
    info = tracker.get_job_info(a)
    assert (info.status, info.error_message) == (ProcessingStatus.FAILED, stale.reason)
    assert tracker.find_stale_jobs() == [] and tracker.recover_stale_jobs() == []
    assert tracker.retry_failed_jobs() == [a]
    assert tracker.get_job_status(b) is ProcessingStatus.SCHEDULED


def test_an_unreaped_dead_worker_counts_as_ended(tracker: ProcessingTracker) -> None:
    (a,) = tracker.initialize_jobs([("a", "")])
    worker = subprocess.Popen(
        [sys.executable, CHILDREN, "claim-and-hang", str(tracker.file_path)], stdout=subprocess.PIPE, text=True
    )
    assert worker.stdout is not None and worker.stdout.readline().strip() == a
    os.kill(worker.pid, signal.SIGKILL)
    try:
        wait_for(lambda: len(tracker.find_stale_jobs()) == 1)  # a zombie until reaped
        assert "ended" in tracker.find_stale_jobs()[0].reason
    finally:
        worker.wait()


@pytest.mark.slow
def test_a_sigint_leaves_the_job_running_then_it_is_found_stale_and_retried(tracker: ProcessingTracker) -> None:
    a, b = tracker.initialize_jobs([("a", ""), ("b", "")])
    worker = subprocess.Popen(
        [sys.executable, CHILDREN, "run-and-hang", str(tracker.file_path)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=child_environment(),
    )
    try:
        assert worker.stdout is not None and worker.stdout.readline().strip() == a
        assert tracker.find_stale_jobs() == []  # running and alive
        worker.send_signal(signal.SIGINT)  # Ctrl+C: KeyboardInterrupt inside run_job's block
        _, errors = worker.communicate(timeout=60)
    finally:
        worker.kill()
        worker.wait()
    assert "KeyboardInterrupt" in errors  # it went through run_job and ended the process
    info = tracker.get_job_info(a)
    assert (info.status, info.executor_id, info.error_message) == (ProcessingStatus.RUNNING, f"pid:{worker.pid}", None)
    # The README's way to resume: recovery proves the executor gone, fails the job, and a retry schedules it.
    (stale,) = tracker.recover_stale_jobs()
    assert stale.job_id == a and "no longer exists" in stale.reason
    assert tracker.retry_failed_jobs() == [a]
    assert tracker.claim_job() == a and tracker.get_job_status(b) is ProcessingStatus.SCHEDULED


def replace_identity(tracker: ProcessingTracker, job_id: str, **changes: object) -> None:
    """Rewrites the recorded identity of a running job's executor (as a worker elsewhere would have written it)."""
    old = tracker.get_job_info(job_id)
    text = tracker.file_path.read_text()
    line = next(line for line in text.splitlines() if line.startswith("    executor_process: "))
    identity = ProcessIdentity.from_text(line.partition(": ")[2])
    assert identity is not None
    new = identity._replace(**changes).to_text()  # type: ignore[arg-type]
    tracker.file_path.write_text(text.replace(line, f"    executor_process: {new}"))
    assert tracker.get_job_info(job_id) == old


@pytest.mark.slow
def test_a_pid_is_stale_only_with_its_identity_on_this_host_and_boot(tracker: ProcessingTracker) -> None:
    (a,) = tracker.initialize_jobs([("a", "")])
    sleeper = subprocess.Popen(
        [sys.executable, CHILDREN, "claim-and-hang", str(tracker.file_path)], stdout=subprocess.PIPE, text=True
    )
    try:
        assert sleeper.stdout is not None and sleeper.stdout.readline().strip() == a
        assert tracker.find_stale_jobs() == []
        identity = ProcessIdentity.from_text(
            tracker.file_path.read_text().split("executor_process: ")[1].split("\n")[0]
        )
        assert identity is not None and identity.host == HOST
        # The pid now belongs to a process with another start time: the worker that claimed is gone (pid reused).
        replace_identity(tracker, a, start_ticks=identity.start_ticks - 1)
        (stale,) = tracker.find_stale_jobs()
        assert f"pid {sleeper.pid} now belongs to another process" in stale.reason
        # The same pid of another host, another boot, or another time namespace (start times then differ by an
        # offset): unknown, never stale.
        for change in ({"host": "node-7"}, {"boot_id": "0" * 36}):
            replace_identity(tracker, a, **{**identity._asdict(), **change, "start_ticks": 1})
            assert tracker.find_stale_jobs() == [], change
        replace_identity(tracker, a, **{**identity._asdict(), "time_namespace": 1, "start_ticks": 1})
        assert tracker.find_stale_jobs() == []
    finally:
        sleeper.kill()
        sleeper.wait()
    # Without an identity (a release's bare pid, or an earlier version's 'pid:<pid>@<host>'): unknown, even dead.
    for executor in (f"pid:{sleeper.pid}", f"pid:{sleeper.pid}@{HOST}"):
        tracker.start_job(a, executor)
        assert "executor_process" not in tracker.file_path.read_text()
        assert tracker.find_stale_jobs() == []
    tracker.start_job(a, "pid:1@another-host")
    assert tracker.find_stale_jobs() == []


# ---------------------------------------------------------------------------------------------------- stale: lease


def test_an_expired_lease_makes_an_uncheckable_executor_stale(tmp_path: Path) -> None:
    tracker = ProcessingTracker(file_path=tmp_path / "t.yaml", lease=0.2)
    a, b = tracker.initialize_jobs([("a", ""), ("b", "")])
    assert tracker.claim_job(executor_id="worker-on-node-7") == a
    tracker.start_job(b, "no-lease")  # start_job keeps no lease: never stale by lease
    wait_for(lambda: bool(tracker.find_stale_jobs()))
    (stale,) = tracker.find_stale_jobs()
    assert stale.job_id == a and "worker-on-node-7 let its lease run out" in stale.reason
    assert [job.job_id for job in tracker.recover_stale_jobs()] == [a]


def test_run_job_renews_its_lease_while_the_block_runs(tmp_path: Path) -> None:
    tracker = ProcessingTracker(file_path=tmp_path / "t.yaml", lease=0.6)
    (a,) = tracker.initialize_jobs([("a", "")])

    def lease_line() -> str:
        return next(line for line in tracker.file_path.read_text().splitlines() if "lease_expires_at" in line)

    with tracker.run_job(a, executor_id="worker-x"):
        first = lease_line()
        wait_for(lambda: lease_line() != first)  # renewed in the background
    assert "lease_expires_at" not in tracker.file_path.read_text()  # ended jobs hold no lease
    assert tracker.get_job_status(a) is ProcessingStatus.SUCCEEDED


# ---------------------------------------------------------------------------------------------------- stale: SLURM


def fake_slurm(directory: Path, squeue: str, sacct: str = "exit 1", scontrol: str = "exit 1") -> str:
    """Writes squeue/sacct/scontrol scripts with the given bodies; returns a PATH that finds them first."""
    directory.mkdir(exist_ok=True)
    for name, body in (("squeue", squeue), ("sacct", sacct), ("scontrol", scontrol)):
        script = directory / name
        script.write_text(f"#!/bin/sh\n{body}\n")
        script.chmod(script.stat().st_mode | stat.S_IXUSR)
    return f"{directory}{os.pathsep}{os.environ.get('PATH', '')}"


INVALID = "echo 'slurm_load_jobs error: Invalid job id specified' >&2; exit 1"
SLURM_CASES = [
    # (squeue, sacct, scontrol, expected reason or None for "not stale"); the job is slurm:42.
    ("echo '42 TIMEOUT'", "exit 1", "exit 1", "ended with TIMEOUT (per squeue)"),
    ("echo '42 RUNNING'", "echo '42|TIMEOUT'", "exit 1", None),
    ("echo '42 PENDING'", "exit 1", "exit 1", None),
    ("echo '42 COMPLETING'", "exit 1", "exit 1", None),
    # 42 is also the ID of an array whose other tasks ended: only the line of job 42 counts.
    ("printf '43 COMPLETED\\n42 RUNNING\\n44 CANCELLED\\n'", "exit 1", "exit 1", None),
    ("printf '42 CANCELLED\\n43 RUNNING\\n'", "exit 1", "exit 1", "ended with CANCELLED (per squeue)"),
    (INVALID, "echo '42|CANCELLED by 1000'", "exit 1", "ended with CANCELLED (per sacct)"),
    ("", "printf '42|OUT_OF_MEMORY\\n42.batch|OUT_OF_MEMORY\\n'", "exit 1", "ended with OUT_OF_MEMORY (per sacct)"),
    (
        "",
        "echo 'sacct: error: Slurm accounting storage is disabled' >&2; exit 1",
        "echo 'JobId=43 JobState=RUNNING'; echo 'JobId=42 JobName=w JobState=NODE_FAIL Reason=NodeDown'",
        "ended with NODE_FAIL (per scontrol)",
    ),
    ("", "exit 1", INVALID, "unrecorded state"),
    # Doubt: the controller cannot be reached, or answers nothing usable.
    (
        "echo 'slurm_load_jobs error: Unable to contact slurm controller' >&2; exit 1",
        "echo '42|TIMEOUT'",
        "exit 1",
        None,
    ),
    ("", "exit 1", "echo 'Unable to contact slurm controller' >&2; exit 1", None),
    ("", "echo '42|RUNNING'", "exit 1", None),
    ("", "exit 1", "echo 'JobId=42 JobState=RUNNING'", None),
    ("echo '43 TIMEOUT'", "echo '43|TIMEOUT'", "echo 'JobId=43 JobState=TIMEOUT'", None),
]


@pytest.mark.parametrize(("squeue", "sacct", "scontrol", "expected"), SLURM_CASES)
def test_slurm_evidence_and_doubt(
    tracker: ProcessingTracker,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    squeue: str,
    sacct: str,
    scontrol: str,
    expected: str | None,
) -> None:
    monkeypatch.setenv("PATH", fake_slurm(tmp_path / "bin", squeue, sacct, scontrol))
    a, b = tracker.initialize_jobs([("a", ""), ("b", "")])
    tracker.start_job(a, "slurm:42")
    tracker.start_job(b, "slurm:not-a-job")  # cannot be asked: never stale without a lease
    stale = tracker.find_stale_jobs()
    if expected is None:
        assert stale == []
        assert tracker.recover_stale_jobs() == []
        assert tracker.get_job_status(a) is ProcessingStatus.RUNNING
    else:
        assert [job.job_id for job in stale] == [a]
        assert stale[0].reason.startswith("executor slurm:42 ")
        assert expected in stale[0].reason and stale[0].reason.endswith("while the job was running")
        tracker.recover_stale_jobs()
        assert tracker.get_job_info(a).error_message == stale[0].reason


def test_the_failure_message_names_the_executor_and_the_final_state(
    tracker: ProcessingTracker, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PATH", fake_slurm(tmp_path / "bin", "echo '1234 TIMEOUT'"))
    (a,) = tracker.initialize_jobs([("a", "")])
    tracker.start_job(a, "slurm:1234")
    tracker.recover_stale_jobs()
    assert tracker.get_job_info(a).error_message == (
        "executor slurm:1234 ended with TIMEOUT (per squeue) while the job was running"
    )
    assert tracker.retry_failed_jobs() == [a]


def test_without_slurm_commands_a_slurm_job_is_never_stale(
    tracker: ProcessingTracker, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PATH", str(tmp_path / "empty"))
    (a,) = tracker.initialize_jobs([("a", "")])
    tracker.start_job(a, "slurm:1234")
    assert tracker.find_stale_jobs() == []


@pytest.mark.slow
def test_a_job_that_changed_after_it_was_found_stale_is_left_alone(
    tracker: ProcessingTracker, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # squeue answers slowly, and meanwhile another process restarts the job under a new executor.
    marker = tmp_path / "asked"
    monkeypatch.setenv("PATH", fake_slurm(tmp_path / "bin", f"touch {marker}; sleep 1; echo '77 TIMEOUT'"))
    (a,) = tracker.initialize_jobs([("a", "")])
    tracker.start_job(a, "slurm:77")
    other = ProcessingTracker(file_path=tracker.file_path)
    import threading

    def restart() -> None:
        wait_for(marker.exists)
        other.start_job(a, "slurm:78")

    thread = threading.Thread(target=restart)
    thread.start()
    recovered = tracker.recover_stale_jobs()
    thread.join()
    assert recovered == []
    info = tracker.get_job_info(a)
    assert (info.status, info.executor_id) == (ProcessingStatus.RUNNING, "slurm:78")


def test_a_scheduler_that_does_not_answer_in_time_means_unknown(
    tracker: ProcessingTracker, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from ataraxis_data_structures.data_structures import tracker_executors

    monkeypatch.setattr(tracker_executors, "_SCHEDULER_TIMEOUT", 0.5)  # the real limit is 20 s
    monkeypatch.setenv("PATH", fake_slurm(tmp_path / "bin", "sleep 60; echo '42 TIMEOUT'", "echo '42|TIMEOUT'"))
    (a,) = tracker.initialize_jobs([("a", "")])
    tracker.start_job(a, "slurm:42")
    started = time.monotonic()
    assert tracker.find_stale_jobs() == []
    assert time.monotonic() - started < 30  # the hanging command (and its children) was ended, not waited for
    assert tracker.get_job_status(a) is ProcessingStatus.RUNNING
