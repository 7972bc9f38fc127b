"""Workers that drain a tracker on a real one-node SLURM cluster, and jobs whose SLURM job ended found stale.

Uses the ``slurm_cluster`` fixture (tests/slurm/README.md); skipped with the reason where SLURM cannot be installed.
"""

from __future__ import annotations

import sys
import time
from collections import Counter
from pathlib import Path

import pytest
from slurm_cluster import SlurmCluster

from ataraxis_data_structures import ProcessingStatus, ProcessingTracker, StaleJob

pytestmark = pytest.mark.slurm

CHILDREN = Path(__file__).with_name("tracker_worker_children.py")


def worker_script(*arguments: str) -> str:
    """A batch script running one command of tracker_worker_children.py under this interpreter (our library)."""
    quoted = " ".join(f"'{argument}'" for argument in arguments)
    return f"#!/bin/bash\nexec '{sys.executable}' '{CHILDREN}' {quoted}\n"


def wait_until(condition, timeout: float = 120.0):  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout
    while not (value := condition()):
        assert time.monotonic() < deadline, "condition not met in time"
        time.sleep(0.25)
    return value


def running_job(tracker: ProcessingTracker) -> str:
    return wait_until(lambda: next(iter(tracker.get_jobs_by_status(ProcessingStatus.RUNNING)), None))  # type: ignore[no-any-return]


@pytest.mark.slow
def test_a_job_array_of_4_workers_drains_200_jobs_each_exactly_once(
    slurm_cluster: SlurmCluster, tmp_path: Path
) -> None:
    tracker = ProcessingTracker(file_path=tmp_path / "tracker.yaml")
    ids = tracker.initialize_jobs([("process_session", f"session_{index:03d}") for index in range(200)])
    array = slurm_cluster.sbatch(
        worker_script("drain", str(tracker.file_path), "task$SLURM_ARRAY_TASK_ID").replace(
            "'task$SLURM_ARRAY_TASK_ID'", '"task$SLURM_ARRAY_TASK_ID"'
        ),
        "--array=0-3",
        f"--output={tmp_path / 'slurm-%A_%a.out'}",
    )
    wait_until(
        lambda: (
            (states := slurm_cluster.array_states(array))
            and len(states) == 4
            and all(state in {"COMPLETED", "FAILED", "CANCELLED", "TIMEOUT"} for state in states.values())
        ),
        timeout=300,
    )
    assert set(slurm_cluster.array_states(array).values()) == {"COMPLETED"}, list(tmp_path.glob("slurm-*.out"))
    claimed = Counter(line for log in tmp_path.glob("tracker.yaml.task*.log") for line in log.read_text().split())
    assert claimed == Counter(ids)  # every job once: none lost, none done twice
    snapshot = tracker.snapshot()
    assert all(state.status is ProcessingStatus.SUCCEEDED for state in snapshot.values())
    executors = {state.executor_id for state in snapshot.values()}
    assert all(executor is not None and executor.startswith("slurm:") for executor in executors)
    assert tracker.find_stale_jobs() == []  # completed SLURM jobs whose tracker jobs also completed: nothing stale


@pytest.mark.slow
def test_a_cancelled_array_worker_fails_exactly_its_job_naming_cancelled_and_a_retry_completes(
    slurm_cluster: SlurmCluster, tmp_path: Path
) -> None:
    tracker = ProcessingTracker(file_path=tmp_path / "tracker.yaml")
    ids = tracker.initialize_jobs([("job", f"{index:02d}") for index in range(12)])
    hanging = ProcessingTracker.generate_job_id("job", "07")
    script = worker_script("drain", str(tracker.file_path), "task$SLURM_ARRAY_TASK_ID", "07")
    array = slurm_cluster.sbatch(
        script.replace("'task$SLURM_ARRAY_TASK_ID'", '"task$SLURM_ARRAY_TASK_ID"'),
        "--array=0-3",
        f"--output={tmp_path / 'slurm-%A_%a.out'}",
    )
    # Every job but the hanging one ends; its worker is still in the middle of it.
    wait_until(lambda: tracker.get_summary()[ProcessingStatus.SUCCEEDED] == len(ids) - 1)
    info = tracker.get_job_info(hanging)
    assert info.status is ProcessingStatus.RUNNING and info.executor_id is not None
    worker = info.executor_id.partition(":")[2]
    assert tracker.find_stale_jobs() == []  # running: never stale
    # scancel takes an array task as <array>_<index> (given the task's own job ID, SLURM 22.05 cancels nothing).
    task = slurm_cluster.job(worker)
    assert task is not None and task.fields["ArrayJobId"] == array
    slurm_cluster.run("scancel", f"{array}_{task.fields['ArrayTaskId']}")
    slurm_cluster.wait_for_state(worker, {"CANCELLED"})
    (stale,) = wait_until(tracker.find_stale_jobs)
    assert stale == StaleJob(hanging, "job", "07", f"slurm:{worker}", stale.reason)
    assert stale.reason.startswith(f"executor slurm:{worker} ended with CANCELLED")
    assert tracker.recover_stale_jobs() == [stale]
    assert tracker.get_jobs_by_status(ProcessingStatus.FAILED) == [hanging]  # exactly that job
    assert tracker.get_job_info(hanging).error_message == stale.reason
    # The retry pass: failed jobs back to SCHEDULED, one worker drains them.
    Path(f"{tracker.file_path}.fixed").touch()
    assert tracker.retry_failed_jobs() == [hanging]
    retry = slurm_cluster.sbatch(worker_script("drain", str(tracker.file_path), "retry"))
    slurm_cluster.wait_for_state(retry, {"COMPLETED", "FAILED"})
    assert tracker.complete
    assert (tmp_path / "tracker.yaml.retry.log").read_text().split() == [hanging]


@pytest.mark.slow
def test_a_worker_killed_by_its_time_limit_is_reported_as_timeout(slurm_cluster: SlurmCluster, tmp_path: Path) -> None:
    tracker = ProcessingTracker(file_path=tmp_path / "tracker.yaml")
    tracker.initialize_jobs([("long", "")])
    job = slurm_cluster.sbatch(worker_script("claim-and-hang", str(tracker.file_path)), "--time=10")
    held = running_job(tracker)
    # The limit cut to 0 while it runs: the controller kills it as TIMEOUT at its next check, as it does when a
    # --time limit runs out (the fixture's smoke tests check that both end the same way), in a third of the time.
    slurm_cluster.expire_time_limit(job)
    slurm_cluster.wait_for_state(job, {"TIMEOUT"}, timeout=240)
    (stale,) = wait_until(tracker.find_stale_jobs)
    assert stale.job_id == held
    assert stale.reason.startswith(f"executor slurm:{job} ended with TIMEOUT")
    tracker.recover_stale_jobs()
    info = tracker.get_job_info(held)
    assert info.status is ProcessingStatus.FAILED and "TIMEOUT" in (info.error_message or "")


@pytest.mark.slow
def test_a_requeued_worker_finishes_its_own_job(slurm_cluster: SlurmCluster, tmp_path: Path) -> None:
    tracker = ProcessingTracker(file_path=tmp_path / "tracker.yaml")
    first, second = tracker.initialize_jobs([("a", ""), ("b", "")])
    log = tmp_path / "runs.log"
    job = slurm_cluster.sbatch(worker_script("resume-or-hang", str(tracker.file_path), str(log)))
    assert running_job(tracker) == first
    slurm_cluster.requeue(job)
    assert tracker.find_stale_jobs() == []  # pending again under the same ID: alive, not stale
    slurm_cluster.wait_for_state(job, {"COMPLETED"}, timeout=180)
    assert log.read_text().split("\n")[:2] == ["0 " + first, "1 " + first]  # the restart took its own job back
    assert tracker.get_job_status(first) is ProcessingStatus.SUCCEEDED
    assert tracker.get_job_status(second) is ProcessingStatus.SCHEDULED  # nobody else's job was taken
    assert tracker.get_job_info(first).executor_id == f"slurm:{job}"


@pytest.mark.slow
def test_a_preempted_worker_is_reported_as_preempted(slurm_cluster: SlurmCluster, tmp_path: Path) -> None:
    from slurm_cluster import PARTITION_CANCEL, PARTITION_HIGH

    tracker = ProcessingTracker(file_path=tmp_path / "tracker.yaml")
    tracker.initialize_jobs([("low", ""), ("other", "")])
    low = slurm_cluster.sbatch(
        worker_script("claim-and-hang", str(tracker.file_path)), f"--partition={PARTITION_CANCEL}", "--exclusive"
    )
    held = running_job(tracker)
    slurm_cluster.sbatch("#!/bin/bash\ntrue\n", f"--partition={PARTITION_HIGH}", "--exclusive")
    slurm_cluster.wait_for_state(low, {"PREEMPTED"})
    (stale,) = wait_until(tracker.find_stale_jobs)
    assert stale.job_id == held and stale.reason.startswith(f"executor slurm:{low} ended with PREEMPTED")
    assert tracker.recover_stale_jobs() == [stale]
    assert tracker.get_jobs_by_status(ProcessingStatus.FAILED) == [held]


@pytest.mark.slow
def test_a_worker_preempted_and_requeued_finishes_its_own_job(slurm_cluster: SlurmCluster, tmp_path: Path) -> None:
    from slurm_cluster import PARTITION_HIGH

    tracker = ProcessingTracker(file_path=tmp_path / "tracker.yaml")
    first, second = tracker.initialize_jobs([("a", ""), ("b", "")])
    log = tmp_path / "runs.log"
    low = slurm_cluster.sbatch(worker_script("resume-or-hang", str(tracker.file_path), str(log)), "--exclusive")
    assert running_job(tracker) == first
    slurm_cluster.sbatch("#!/bin/bash\ntrue\n", f"--partition={PARTITION_HIGH}", "--exclusive")
    slurm_cluster.release_requeued(low)
    assert tracker.find_stale_jobs() == []  # requeued under the same ID: not gone
    info = slurm_cluster.wait_for_state(low, {"COMPLETED", "FAILED", "CANCELLED"}, timeout=180)
    assert (info.state, info.restart_count) == ("COMPLETED", 1)
    assert log.read_text().split("\n")[:2] == ["0 " + first, "1 " + first]
    assert tracker.get_job_status(first) is ProcessingStatus.SUCCEEDED
    assert tracker.get_job_status(second) is ProcessingStatus.SCHEDULED
