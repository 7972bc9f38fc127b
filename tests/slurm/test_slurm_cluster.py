"""Smoke tests of the one-node SLURM cluster fixture: the job states the tracker's SLURM features rely on are real."""

from __future__ import annotations

import os
import time
from pathlib import Path

import pytest
from slurm_cluster import PARTITION_CANCEL, PARTITION_HIGH, SlurmCluster

pytestmark = [pytest.mark.slurm, pytest.mark.slow]  # a real scheduler: seconds per test, left out of quick runs


def _wait_for_file(path: Path, timeout: float = 60.0) -> str:
    deadline = time.monotonic() + timeout
    while not path.exists() or not path.read_text().endswith("\n"):
        if time.monotonic() > deadline:
            raise TimeoutError(f"{path} was not written in {timeout} s")
        time.sleep(0.1)
    return path.read_text()


def _alive(pid: int) -> bool:
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return False
    return "State:\tZ" not in status


def test_fixture_points_subprocesses_at_its_cluster(slurm_cluster: SlurmCluster) -> None:
    assert os.environ["SLURM_CONF"] == str(slurm_cluster.conf_path)
    assert all(process.poll() is None for process in slurm_cluster.processes.values())
    info = slurm_cluster.run("scontrol", "show", "config").stdout
    assert "ProctrackType           = proctrack/linuxproc" in info


def test_batch_job_completes(slurm_cluster: SlurmCluster, tmp_path: Path) -> None:
    marker = tmp_path / "ran.txt"
    job_id = slurm_cluster.sbatch(f'#!/bin/bash\necho "$SLURM_JOB_ID" > {marker}\n')
    info = slurm_cluster.wait_for_state(job_id, {"COMPLETED", "FAILED", "CANCELLED"})
    assert info.state == "COMPLETED"
    assert info.exit_code == "0:0"
    assert marker.read_text().strip() == job_id
    assert slurm_cluster.completion_states(job_id) == ["COMPLETED"]


def test_nonzero_exit_is_failed_with_its_code(slurm_cluster: SlurmCluster) -> None:
    job_id = slurm_cluster.sbatch("#!/bin/bash\nexit 3\n")
    info = slurm_cluster.wait_for_state(job_id, {"COMPLETED", "FAILED"})
    assert (info.state, info.exit_code, info.reason) == ("FAILED", "3:0", "NonZeroExitCode")


def test_job_array_of_four_runs_all_tasks_at_once(slurm_cluster: SlurmCluster, tmp_path: Path) -> None:
    # Each task waits until all four have started, so the test also proves four workers run side by side.
    script = f"""#!/bin/bash
echo "$SLURM_ARRAY_JOB_ID $SLURM_ARRAY_TASK_ID $SLURM_JOB_ID" > {tmp_path}/task-$SLURM_ARRAY_TASK_ID.txt
for i in $(seq 600); do
  [ "$(ls {tmp_path} | grep -c '^task-')" -ge 4 ] && exit 0
  sleep 0.1
done
exit 1
"""
    array_id = slurm_cluster.sbatch(script, "--array=0-3")
    deadline = time.monotonic() + 120
    states = slurm_cluster.array_states(array_id)
    while sorted(states.values()) != ["COMPLETED"] * 4 and time.monotonic() < deadline:
        assert "FAILED" not in states.values(), states
        time.sleep(0.25)
        states = slurm_cluster.array_states(array_id)
    assert states == {"0": "COMPLETED", "1": "COMPLETED", "2": "COMPLETED", "3": "COMPLETED"}
    lines = sorted((tmp_path / f"task-{index}.txt").read_text().split() for index in range(4))
    assert [line[:2] for line in lines] == [[array_id, str(index)] for index in range(4)]
    # Every task has its own job ID as well as the array's.
    assert len({line[2] for line in lines}) == 4


def test_scancel_of_a_running_job_is_cancelled_and_kills_it(slurm_cluster: SlurmCluster, tmp_path: Path) -> None:
    started = tmp_path / "started.txt"
    job_id = slurm_cluster.sbatch(f"#!/bin/bash\nsleep 600 &\necho $! > {started}\nwait\n")
    sleeper = int(_wait_for_file(started))
    assert _alive(sleeper)
    assert slurm_cluster.job(job_id).state == "RUNNING"  # type: ignore[union-attr]
    slurm_cluster.run("scancel", job_id)
    info = slurm_cluster.wait_for_state(job_id, {"CANCELLED"})
    assert info.state == "CANCELLED"
    assert job_id not in slurm_cluster.queue() or info.state == "CANCELLED"
    deadline = time.monotonic() + 30
    while _alive(sleeper) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not _alive(sleeper), "the cancelled job's process is still running"
    assert slurm_cluster.completion_states(job_id) == ["CANCELLED"]


def test_requeue_restarts_the_job_with_the_same_id(slurm_cluster: SlurmCluster, tmp_path: Path) -> None:
    runs = tmp_path / "runs.txt"
    first = tmp_path / "first.txt"
    script = f"""#!/bin/bash
echo "$SLURM_JOB_ID ${{SLURM_RESTART_COUNT:-unset}}" >> {runs}
if [ -z "$SLURM_RESTART_COUNT" ]; then echo started > {first}; sleep 600; fi
"""
    job_id = slurm_cluster.sbatch(script)
    _wait_for_file(first)
    slurm_cluster.requeue(job_id)
    info = slurm_cluster.wait_for_state(job_id, {"COMPLETED", "FAILED", "CANCELLED"})
    assert info.state == "COMPLETED"
    assert info.restart_count == 1
    assert runs.read_text().split("\n")[:2] == [f"{job_id} unset", f"{job_id} 1"]
    # The completion log records the requeue (as PENDING) and then the restarted run's end.
    assert slurm_cluster.completion_states(job_id) == ["PENDING", "COMPLETED"]


def test_preemption_in_the_cancel_partition_is_preempted(slurm_cluster: SlurmCluster, tmp_path: Path) -> None:
    started = tmp_path / "started.txt"
    low = slurm_cluster.sbatch(
        f"#!/bin/bash\nsleep 600 &\necho $! > {started}\nwait\n", f"--partition={PARTITION_CANCEL}", "--exclusive"
    )
    sleeper = int(_wait_for_file(started, timeout=120))
    high = slurm_cluster.sbatch("#!/bin/bash\ntrue\n", f"--partition={PARTITION_HIGH}", "--exclusive")
    info = slurm_cluster.wait_for_state(low, {"PREEMPTED", "CANCELLED", "COMPLETED", "FAILED"})
    assert info.state == "PREEMPTED"
    assert slurm_cluster.wait_for_state(high, {"COMPLETED", "FAILED"}).state == "COMPLETED"
    deadline = time.monotonic() + 30
    while _alive(sleeper) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not _alive(sleeper)
    assert slurm_cluster.completion_states(low) == ["PREEMPTED"]


def test_preemption_in_the_default_partition_requeues(slurm_cluster: SlurmCluster, tmp_path: Path) -> None:
    runs = tmp_path / "runs.txt"
    first = tmp_path / "first.txt"
    script = f"""#!/bin/bash
echo "$SLURM_JOB_ID ${{SLURM_RESTART_COUNT:-unset}}" >> {runs}
if [ -z "$SLURM_RESTART_COUNT" ]; then echo started > {first}; sleep 600; fi
"""
    low = slurm_cluster.sbatch(script, "--exclusive")
    _wait_for_file(first, timeout=120)
    high = slurm_cluster.sbatch("#!/bin/bash\ntrue\n", f"--partition={PARTITION_HIGH}", "--exclusive")
    slurm_cluster.release_requeued(low)
    info = slurm_cluster.wait_for_state(low, {"COMPLETED", "FAILED", "CANCELLED"})
    output = slurm_cluster.root / "out" / f"slurm-{low}.out"
    assert (info.state, info.restart_count) == ("COMPLETED", 1), "\n".join(
        [
            " ".join(f"{key}={info.fields.get(key)}" for key in ("ExitCode", "Reason", "RunTime", "StartTime")),
            output.read_text() if output.exists() else "",
            runs.read_text() if runs.exists() else "(no runs file)",
            str(slurm_cluster.completion_states(low)),
            slurm_cluster.logs(),
        ]
    )
    assert slurm_cluster.job(high).state == "COMPLETED"  # type: ignore[union-attr]
    assert runs.read_text().split("\n")[:2] == [f"{low} unset", f"{low} 1"]
    assert slurm_cluster.completion_states(low) == ["PREEMPTED", "COMPLETED"]


@pytest.mark.slow
def test_time_limit_kill_is_timeout(slurm_cluster: SlurmCluster, tmp_path: Path) -> None:
    # One minute is SLURM's smallest limit and the controller checks limits every 30 s: --time=1 ends after 60 to
    # 100 s. The second job has its limit cut to 0 while running (the fixture's quick way): TIMEOUT within 30 s.
    started = tmp_path / "started.txt"
    natural = slurm_cluster.sbatch("#!/bin/bash\nsleep 600\n", "--time=1")
    cut = slurm_cluster.sbatch(f"#!/bin/bash\nsleep 600 &\necho $! > {started}\nwait\n", "--time=10")
    sleeper = int(_wait_for_file(started))
    slurm_cluster.expire_time_limit(cut)
    ended = {"TIMEOUT", "COMPLETED", "FAILED", "CANCELLED"}
    info = slurm_cluster.wait_for_state(cut, ended, timeout=120)
    assert (info.state, info.reason) == ("TIMEOUT", "TimeLimit")
    deadline = time.monotonic() + 30
    while _alive(sleeper) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not _alive(sleeper), "the timed-out job's process is still running"
    info = slurm_cluster.wait_for_state(natural, ended, timeout=240)
    assert (info.state, info.reason) == ("TIMEOUT", "TimeLimit")
    assert slurm_cluster.completion_states(natural) == ["TIMEOUT"]
    assert slurm_cluster.completion_states(cut) == ["TIMEOUT"]


def test_stop_leaves_no_process_of_the_cluster(tmp_path: Path) -> None:
    # A second cluster of its own (the session's stays up): stop() must end daemons and a still-running job.
    pytest.importorskip("slurm_cluster")
    from slurm_cluster import missing_programs, start_cluster

    if missing_programs():
        pytest.skip(f"SLURM/munge programs not installed: {missing_programs()}")
    cluster = start_cluster(tmp_path / "cluster")
    try:
        started = tmp_path / "started.txt"
        cluster.sbatch(f"#!/bin/bash\nsleep 600 &\necho $! > {started}\nwait\n")
        sleeper = int(_wait_for_file(started))
        daemons = [process.pid for process in cluster.processes.values()]
        assert set(daemons) <= set(cluster.own_processes())
    finally:
        survivors = cluster.stop()
    assert survivors == []
    assert not any(_alive(pid) for pid in [*daemons, sleeper])
    assert not (tmp_path / "cluster").exists()
