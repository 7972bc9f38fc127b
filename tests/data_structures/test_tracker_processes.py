"""ProcessingTracker under real concurrency and real crashes: several processes, SIGKILL, hand-corrupted files."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import textwrap
import threading
import time
import warnings
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml

from ataraxis_data_structures import ProcessingStatus, ProcessingTracker
from ataraxis_data_structures.data_structures.tracker_store import hold_tracker_lock

pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="uses SIGKILL")

# Starts and completes each of its own jobs, recording its own executor ID.
WORKER = textwrap.dedent(
    """
    import sys
    from pathlib import Path
    from ataraxis_data_structures import ProcessingTracker
    tracker = ProcessingTracker(file_path=Path(sys.argv[1]), lock_timeout=120)
    name = sys.argv[2]
    print("ready", flush=True)
    sys.stdin.readline()
    for job_id in sys.argv[3:]:
        tracker.start_job(job_id, executor_id=name)
        tracker.complete_job(job_id)
    """
)

# Reads the summary until told to stop, checking every snapshot it sees is a whole tracker.
READER = textwrap.dedent(
    """
    import sys
    from pathlib import Path
    from ataraxis_data_structures import ProcessingStatus, ProcessingTracker
    tracker = ProcessingTracker(file_path=Path(sys.argv[1]), lock_timeout=120)
    total = int(sys.argv[2])
    print("ready", flush=True)
    reads = 0
    while True:
        summary = tracker.get_summary()
        assert sum(summary.values()) == total, summary
        reads += 1
        if summary[ProcessingStatus.SUCCEEDED] == total:
            break
    print(reads, flush=True)
    """
)

# Takes the tracker's lock the way the tracker does, says so, and sleeps until killed.
LOCK_HOLDER = textwrap.dedent(
    """
    import sys, time
    from pathlib import Path
    from ataraxis_data_structures.data_structures.tracker_store import hold_tracker_lock
    with hold_tracker_lock(Path(sys.argv[1]), sys.argv[1] + ".lock", 10):
        print("holding", flush=True)
        time.sleep(600)
    """
)

# Rewrites a large tracker as fast as it can until killed.
REWRITER = textwrap.dedent(
    """
    import sys
    from pathlib import Path
    from ataraxis_data_structures import ProcessingTracker
    tracker = ProcessingTracker(file_path=Path(sys.argv[1]))
    ids = list(tracker.find_jobs(job_name="job").keys())
    print("writing", flush=True)
    index = 0
    while True:
        job_id = ids[index % len(ids)]
        tracker.start_job(job_id, executor_id="x" * (index % 50))
        tracker.fail_job(job_id, "error " * (index % 30))
        index += 1
    """
)


_children: list[subprocess.Popen[str]] = []


def spawn(script: str, *args: str) -> subprocess.Popen[str]:
    process = subprocess.Popen(
        [sys.executable, "-c", script, *args], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True
    )
    _children.append(process)
    return process


@pytest.fixture(autouse=True)
def _reap_children() -> Iterator[None]:
    """Kills whatever child a test leaves running and closes the pipes of all of them."""
    yield
    while _children:
        process = _children.pop()
        if process.poll() is None:
            process.kill()
        process.wait()
        for stream in (process.stdin, process.stdout):
            if stream is not None:
                stream.close()


def wait_for_line(process: subprocess.Popen[str]) -> str:
    assert process.stdout is not None
    line = process.stdout.readline()
    assert line, f"the child process exited early with code {process.wait()}"
    return line.strip()


@pytest.mark.slow
def test_eight_writers_and_two_readers_lose_no_update(tmp_path: Path) -> None:
    path = tmp_path / "tracker.yaml"
    tracker = ProcessingTracker(file_path=path)
    writers, jobs_each = 8, 50
    ids = tracker.initialize_jobs([(f"worker_{w}", f"job_{j}") for w in range(writers) for j in range(jobs_each)])
    processes = [
        spawn(WORKER, str(path), f"writer-{w}", *ids[w * jobs_each : (w + 1) * jobs_each]) for w in range(writers)
    ]
    readers = [spawn(READER, str(path), str(len(ids))) for _ in range(2)]
    for process in processes + readers:
        assert wait_for_line(process) == "ready"
    for process in processes:
        assert process.stdin is not None
        process.stdin.write("go\n")
        process.stdin.flush()
    for process in processes:
        assert process.wait(timeout=240) == 0
    for reader in readers:
        assert int(wait_for_line(reader)) >= 1
        assert reader.wait(timeout=60) == 0

    for w in range(writers):
        for job_id in ids[w * jobs_each : (w + 1) * jobs_each]:
            info = tracker.get_job_info(job_id)
            assert info.status is ProcessingStatus.SUCCEEDED
            assert info.executor_id == f"writer-{w}"
            assert info.started_at is not None and info.completed_at is not None
            assert info.completed_at >= info.started_at
    assert tracker.get_summary()[ProcessingStatus.SUCCEEDED] == writers * jobs_each
    assert tracker.complete


def test_a_lock_holder_killed_with_sigkill_does_not_block_the_others(tmp_path: Path) -> None:
    path = tmp_path / "tracker.yaml"
    tracker = ProcessingTracker(file_path=path, lock_timeout=0.3)
    (job_id,) = tracker.initialize_jobs([("job", "")])
    holder = spawn(LOCK_HOLDER, str(path))
    try:
        assert wait_for_line(holder) == "holding"
        with pytest.raises(TimeoutError, match=re.escape(str(path))):
            tracker.start_job(job_id)
        assert tracker.jobs[job_id].status is ProcessingStatus.SCHEDULED
    finally:
        holder.send_signal(signal.SIGKILL)
        holder.wait()
    assert holder.returncode == -signal.SIGKILL
    patient = ProcessingTracker(file_path=path, lock_timeout=10)
    patient.start_job(job_id, executor_id="after the crash")
    assert patient.get_job_info(job_id).executor_id == "after the crash"


@pytest.mark.slow
def test_a_writer_killed_mid_write_never_leaves_a_torn_tracker(tmp_path: Path) -> None:
    path = tmp_path / "tracker.yaml"
    tracker = ProcessingTracker(file_path=path)
    ids = tracker.initialize_jobs([("job", f"{index:05d}") for index in range(3000)])
    for kill in range(6):
        writer = spawn(REWRITER, str(path))
        assert wait_for_line(writer) == "writing"
        time.sleep(0.05 + 0.07 * kill)  # Different moments of the write cycle.
        writer.send_signal(signal.SIGKILL)
        writer.wait()
        # Both a generic YAML parser and the tracker read a whole, valid tracker with every job.
        data = yaml.load(path.read_text(), Loader=yaml.CSafeLoader)
        assert list(data["jobs"]) == ids
        assert sum(tracker.get_summary().values()) == len(ids)
    leftovers = [name for name in os.listdir(tmp_path) if name.endswith(".tmp")]
    assert len(leftovers) <= 6  # At most one abandoned temporary file per kill; never the tracker itself.


@pytest.mark.parametrize(
    "corruption",
    [
        "---\nfile_path: .\njobs:\n  abc: [1, 2\n",
        "---\nfile_path: .\njobs:\n  d1c4958d7f784216:\n    job_name: a\n    status: 7\nlock_path: ''\n...\n",
        "just a string\n",
        "",
        "\x00\x01\x02garbage",
    ],
    ids=["syntax", "bad-status", "not-a-mapping", "empty", "binary"],
)
def test_a_hand_corrupted_tracker_is_reported_and_never_overwritten(tmp_path: Path, corruption: str) -> None:
    path = tmp_path / "tracker.yaml"
    path.write_text(corruption)
    tracker = ProcessingTracker(file_path=path)
    for operation in (
        tracker.get_summary,
        lambda: tracker.initialize_jobs([("new", "")]),
        lambda: tracker.start_job("d1c4958d7f784216"),
        tracker.retry_failed_jobs,
    ):
        with pytest.raises(ValueError, match=re.escape(str(path))):
            operation()
    assert path.read_text() == corruption


@pytest.mark.skipif(not hasattr(os, "fork"), reason="needs fork")
def test_a_child_forked_while_a_thread_holds_the_lock_does_not_keep_it(tmp_path: Path) -> None:
    path = tmp_path / "tracker.yaml"
    tracker = ProcessingTracker(file_path=path, lock_timeout=2)
    (job_id,) = tracker.initialize_jobs([("job", "")])
    holding, release = threading.Event(), threading.Event()

    def hold() -> None:
        with hold_tracker_lock(path, tracker.lock_path, 5):
            holding.set()
            release.wait(10)

    thread = threading.Thread(target=hold)
    thread.start()
    assert holding.wait(10)
    with warnings.catch_warnings():  # Python >= 3.12 warns about forking a multi-threaded process: that is the point.
        warnings.simplefilter("ignore", DeprecationWarning)
        child = os.fork()
    if child == 0:  # The child just lives on for a while, as a forked worker would.
        time.sleep(20)
        os._exit(0)
    try:
        release.set()
        thread.join()
        tracker.start_job(job_id, "after-fork")  # Times out after 2 s if the child still held the flock.
        assert tracker.get_job_info(job_id).executor_id == "after-fork"
    finally:
        os.kill(child, signal.SIGKILL)
        os.waitpid(child, 0)
