"""Tracker files and locks interoperate with the reference release (ataraxis-data-structures 6.2.0), both ways."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from pathlib import Path

from ataraxis_data_structures import ProcessingStatus, ProcessingTracker
from reference_release import REFERENCE_PYTHON, needs_reference

pytestmark = needs_reference

JOBS = [("é ü", "日本"), ("word " * 45 + "end", "x" * 250), ("123", "true"), ("a'b", "-x"), ("plain", ""), ("a", "b")]

# Under the reference: optionally changes jobs, then prints every job's fields as JSON.
REFERENCE_SCRIPT = textwrap.dedent(
    """
    import json, sys
    from pathlib import Path
    from ataraxis_data_structures import ProcessingTracker
    tracker = ProcessingTracker(file_path=Path(sys.argv[1]))
    if sys.argv[2] == "write":
        ids = tracker.initialize_jobs([tuple(job) for job in json.loads(sys.argv[3])])
        tracker.start_job(ids[0], executor_id="ref")
        tracker.fail_job(ids[0], "err: bad\\n  indented line")
        tracker.start_job(ids[1])
        tracker.complete_job(ids[1])
    tracker.get_summary()
    print(json.dumps({job_id: [job.job_name, job.specifier, int(job.status), job.executor_id, job.error_message,
                                job.started_at, job.completed_at] for job_id, job in tracker.jobs.items()}))
    """
)

# Under either release: starts and completes its own jobs (IDs on the command line) as executor NAME.
HAMMER_SCRIPT = textwrap.dedent(
    """
    import sys
    from pathlib import Path
    from ataraxis_data_structures import ProcessingTracker
    tracker = ProcessingTracker(file_path=Path(sys.argv[1]))
    for job_id in sys.argv[3:]:
        tracker.start_job(job_id, executor_id=sys.argv[2])
        tracker.complete_job(job_id)
    """
)


def run_reference(*args: str) -> dict[str, list[object]]:
    result = subprocess.run(
        [REFERENCE_PYTHON, "-c", REFERENCE_SCRIPT, *args], capture_output=True, text=True, timeout=120, check=False
    )
    assert result.returncode == 0, result.stderr
    return dict(json.loads(result.stdout.strip().splitlines()[-1]))


def our_jobs(tracker: ProcessingTracker) -> dict[str, list[object]]:
    tracker.get_summary()
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
        for job_id, job in tracker.jobs.items()
    }


def test_a_tracker_written_by_the_reference_reads_the_same_in_ours(tmp_path: Path) -> None:
    path = tmp_path / "tracker.yaml"
    reference_view = run_reference(str(path), "write", json.dumps(JOBS))
    tracker = ProcessingTracker(file_path=path)
    assert our_jobs(tracker) == reference_view
    assert list(reference_view) == [ProcessingTracker.generate_job_id(*job) for job in JOBS]
    # And ours can keep working on it.
    first = next(iter(reference_view))
    tracker.retry_failed_jobs()
    assert tracker.get_job_status(first) is ProcessingStatus.SCHEDULED


def test_a_tracker_written_by_ours_reads_the_same_in_the_reference(tmp_path: Path) -> None:
    path = tmp_path / "tracker.yaml"
    tracker = ProcessingTracker(file_path=path)
    ids = tracker.initialize_jobs(JOBS)
    tracker.start_job(ids[0], executor_id="ours")
    tracker.fail_job(ids[0], "err: bad\n  indented line")
    tracker.start_job(ids[1])
    tracker.complete_job(ids[1])
    assert run_reference(str(path), "read") == our_jobs(tracker)
    # Identical state gives an identical file: what we write is what the reference writes.
    before = path.read_bytes()
    run_reference(str(path), "read")
    assert path.read_bytes() == before


def test_our_processes_and_reference_processes_share_one_tracker_without_losing_updates(tmp_path: Path) -> None:
    path = tmp_path / "tracker.yaml"
    tracker = ProcessingTracker(file_path=path)
    ids = tracker.initialize_jobs([("job", str(index)) for index in range(24)])
    processes = [
        subprocess.Popen([REFERENCE_PYTHON, "-c", HAMMER_SCRIPT, str(path), "reference", *ids[0::2][:6]]),
        subprocess.Popen([REFERENCE_PYTHON, "-c", HAMMER_SCRIPT, str(path), "reference", *ids[0::2][6:]]),
        subprocess.Popen([sys.executable, "-c", HAMMER_SCRIPT, str(path), "ours", *ids[1::2]]),
    ]
    for process in processes:
        assert process.wait(timeout=240) == 0
    for index, job_id in enumerate(ids):
        info = tracker.get_job_info(job_id)
        assert info.status is ProcessingStatus.SUCCEEDED
        assert info.executor_id == ("reference" if index % 2 == 0 else "ours")
