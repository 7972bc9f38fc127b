"""Stale jobs across PID namespaces, with real namespaces (``unshare --pid --fork --mount-proc``, as root).

A worker in its own PID namespace (a container, Apptainer with ``--pid``, systemd ``PrivatePIDs``) records
``pid:<its pid in there>``; the same number means another process, or none, everywhere else. Its recorded PID
namespace makes the difference: seen from a namespace that sees the worker's whole namespace, the pid is checked
there; seen from anywhere else, it is unknown and never stale.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from ataraxis_data_structures import ProcessingStatus, ProcessingTracker
from ataraxis_data_structures.data_structures.tracker_executors import ProcessTable

CHILDREN = Path(__file__).with_name("tracker_worker_children.py")

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(
        sys.platform != "linux" or os.geteuid() != 0 or shutil.which("unshare") is None,
        reason="needs Linux, root and unshare(1) to make PID namespaces",
    ),
]

_started: list[subprocess.Popen[str]] = []


@pytest.fixture(autouse=True)
def _kill_namespaces() -> Iterator[None]:
    """SIGKILLs every process a test started in a namespace (SIGKILL reaches a namespace's init from outside)."""
    yield
    while _started:
        process = _started.pop()
        for pid in descendants(process.pid):
            with contextlib.suppress(ProcessLookupError):  # ended meanwhile (the shell's `sleep 1` ends every second)
                os.kill(pid, signal.SIGKILL)
        process.kill()
        process.communicate()


def in_new_namespace(*command: str) -> list[str]:
    return ["unshare", "--pid", "--fork", "--mount-proc", *command]


def start(command: list[str]) -> subprocess.Popen[str]:
    environment = {key: value for key, value in os.environ.items() if "SLURM" not in key and key != "JOB_ID"}
    process = subprocess.Popen(command, stdout=subprocess.PIPE, text=True, env=environment)
    _started.append(process)
    return process


def descendants(pid: int) -> list[int]:
    """Returns the pids (in this namespace) of every live descendant of pid, children first."""
    try:
        children = [int(child) for child in Path(f"/proc/{pid}/task/{pid}/children").read_text().split()]
    except OSError:
        return []
    return [grand for child in children for grand in (child, *descendants(child))]


def stale_seen_from_another_namespace(path: Path) -> list[str]:
    """Returns the IDs find_stale_jobs() reports in a process of a PID namespace of its own."""
    result = subprocess.run(
        in_new_namespace(sys.executable, str(CHILDREN), "stale", str(path)),
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    return result.stdout.split()


def test_a_worker_in_its_own_pid_namespace_is_stale_only_where_its_end_is_provable(tmp_path: Path) -> None:
    tracker = ProcessingTracker(file_path=tmp_path / "tracker.yaml")
    a, b = tracker.initialize_jobs([("a", ""), ("b", "")])
    # The namespace's init is a shell, which outlives the worker it starts (pid 2 in there).
    worker = start(
        in_new_namespace(
            "sh",
            "-c",
            '"$0" "$1" claim-and-hang "$2" & while :; do sleep 1; done',
            sys.executable,
            str(CHILDREN),
            str(tracker.file_path),
        )
    )
    assert worker.stdout is not None and worker.stdout.readline().strip() == a
    info = tracker.get_job_info(a)
    assert (info.status, info.executor_id) == (ProcessingStatus.RUNNING, "pid:2")
    # Alive: never stale, neither from here (the worker's namespace is seen whole) nor from another namespace
    # (where pid 2 is some other process or none), and recovery and retry leave it alone.
    assert tracker.find_stale_jobs() == []
    assert stale_seen_from_another_namespace(tracker.file_path) == []
    assert tracker.recover_stale_jobs() == [] and tracker.retry_failed_jobs() == []
    assert tracker.get_job_status(a) is ProcessingStatus.RUNNING
    # Killed: its namespace (the shell) lives on, so from here the absence of pid 2 in it is proof.
    shell, python = descendants(worker.pid)[:2]
    os.kill(python, signal.SIGKILL)
    assert stale_seen_from_another_namespace(tracker.file_path) == []  # no proof in there
    (stale,) = tracker.find_stale_jobs()
    assert stale.job_id == a and "ended (no process has pid 2 in its PID namespace" in stale.reason
    assert stale.reason.endswith("any more) while the job was running")
    # The whole namespace gone: proof only where every process of the machine is seen (the initial namespace).
    os.kill(shell, signal.SIGKILL)
    worker.wait(timeout=60)
    complete = ProcessTable().view().complete
    assert [
        job.reason.endswith("(the namespace has ended)) while the job was running") for job in tracker.find_stale_jobs()
    ] == ([True] if complete else [])
    # The ended namespace's inode number is free again, and the checker's new namespace may get it: there the
    # absence of pid 2 is then true (the worker's namespace has ended, so the worker with it). Only job a may be
    # reported, never b; while the namespace lived (above), nothing was.
    assert set(stale_seen_from_another_namespace(tracker.file_path)) <= {a}
    assert tracker.get_job_status(b) is ProcessingStatus.SCHEDULED


def test_a_worker_of_this_namespace_is_unknown_from_a_namespace_that_cannot_see_it(tmp_path: Path) -> None:
    tracker = ProcessingTracker(file_path=tmp_path / "tracker.yaml")
    (a,) = tracker.initialize_jobs([("a", "")])
    worker = start([sys.executable, str(CHILDREN), "claim-and-hang", str(tracker.file_path)])
    assert worker.stdout is not None and worker.stdout.readline().strip() == a
    assert stale_seen_from_another_namespace(tracker.file_path) == []
    worker.kill()
    worker.wait()
    assert stale_seen_from_another_namespace(tracker.file_path) == []  # still no proof in there
    assert [job.job_id for job in tracker.find_stale_jobs()] == [a]  # but here there is


def test_a_pid_reused_by_a_newer_process_in_the_workers_namespace_is_stale(tmp_path: Path) -> None:
    tracker = ProcessingTracker(file_path=tmp_path / "tracker.yaml")
    (a,) = tracker.initialize_jobs([("a", "")])
    # In a namespace of its own: the worker (pid 2) claims the job and ends; the namespace's next pid is set back to
    # 2 (ns_last_pid), so a sleeper gets the worker's pid.
    script = '"$0" "$1" claim "$2"; echo 1 > /proc/sys/kernel/ns_last_pid; sleep 600 & echo "$!"; wait'
    worker = start(in_new_namespace("sh", "-c", script, sys.executable, str(CHILDREN), str(tracker.file_path)))
    assert worker.stdout is not None
    assert worker.stdout.readline().strip() == a
    assert worker.stdout.readline().strip() == "2"  # the sleeper holds the worker's pid
    assert tracker.get_job_info(a).executor_id == "pid:2"
    (stale,) = tracker.find_stale_jobs()
    assert stale.job_id == a and "ended (pid 2 now belongs to another process, started at" in stale.reason
    assert stale_seen_from_another_namespace(tracker.file_path) == []
    assert [job.job_id for job in tracker.recover_stale_jobs()] == [a]
    assert tracker.retry_failed_jobs() == [a]
