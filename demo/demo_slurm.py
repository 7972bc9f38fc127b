"""Demo: a small pipeline on SLURM drained by a job array, one worker killed, its job recovered and retried.

Run it where ``sbatch`` reaches a SLURM cluster: ``.venv/bin/python demo/demo_slurm.py [OUTPUT_DIR]``. Without a
cluster, ``--one-node`` starts the test suite's one-node cluster (``tests/slurm``; needs the ``slurm-wlm`` and
``munge`` packages, which ``.ci/install-slurm.sh`` installs) for the demo and stops it at the end.

What it does, checking each step (exit code 1 if one fails):
1. a tracker of 12 jobs; a job array of 4 workers, each running the README's worker loop (claim_job + run_job);
2. ``axds tracker watch``-style progress until only one job is left RUNNING: session_07 hangs;
3. ``scancel`` of the worker holding it; ``recover_stale_jobs()`` fails exactly that job, naming CANCELLED;
4. ``retry_failed_jobs()`` and one more worker: the pipeline completes.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import time
from pathlib import Path

from ataraxis_data_structures import ProcessingStatus, ProcessingTracker
from ataraxis_data_structures.cli.tracker_commands import format_tracker_table

ROOT = Path(__file__).resolve().parent.parent
HANGING = "session_07"

WORKER = """\
import sys, time
from pathlib import Path
from ataraxis_data_structures import ProcessingTracker

tracker = ProcessingTracker(file_path=Path(sys.argv[1]))
fixed = Path(sys.argv[1]).with_name("fixed")
while (job_id := tracker.claim_job()) is not None:
    job = tracker.get_job_info(job_id)
    with tracker.run_job(job_id):
        if job.specifier == "{hanging}" and not fixed.exists():
            time.sleep(3600)  # a job that hangs: its worker will be cancelled
        time.sleep(0.3)  # the work
"""


def slurm_reachable() -> bool:
    """Returns True if sbatch exists and the controller answers."""
    if shutil.which("sbatch") is None or shutil.which("squeue") is None:
        return False
    result = subprocess.run(["squeue", "--noheader"], capture_output=True, text=True, timeout=30, check=False)
    return result.returncode == 0


def sbatch(*arguments: str) -> str:
    """Submits a batch job and returns its ID."""
    result = subprocess.run(["sbatch", "--parsable", *arguments], capture_output=True, text=True, check=True)
    return result.stdout.strip().split(";")[0]


def wait_for(condition, what: str, timeout: float = 300.0) -> None:  # type: ignore[no-untyped-def]
    """Polls condition until it holds, or exits with an error naming what did not happen."""
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            sys.exit(f"demo_slurm: {what} did not happen within {timeout:.0f} s")
        time.sleep(0.5)


def progress(tracker: ProcessingTracker) -> str:
    """Returns one line of counts, as axds tracker summary prints them."""
    summary = tracker.summarize()
    counts = "  ".join(f"{key} {value}" for key, value in summary["summary"].items())
    return f"{counts}  {summary['status']}"


def run(root: Path) -> None:
    """Runs the demo in root."""
    root.mkdir(parents=True, exist_ok=True)
    tracker = ProcessingTracker(file_path=root / "pipeline" / "tracker.yaml")
    tracker.reset()
    (root / "pipeline" / "fixed").unlink(missing_ok=True)
    ids = tracker.align_jobs([("process_session", f"session_{index:02d}") for index in range(12)])
    worker = root / "worker.py"
    worker.write_text(WORKER.format(hanging=HANGING))
    logs = root / "slurm-%A_%a.out"
    command = f"'{sys.executable}' '{worker}' '{tracker.file_path}'"
    array = sbatch("--array=0-3", f"--output={logs}", "--wrap", command)
    print(f"[slurm] submitted job array {array}: 4 workers drain {len(ids)} jobs from {tracker.file_path}")

    hanging = ProcessingTracker.generate_job_id("process_session", HANGING)

    def only_the_hanging_job_left() -> bool:
        print(f"[watch] {progress(tracker)}")
        summary = tracker.summarize()["summary"]
        return bool(
            summary["scheduled"] == 0
            and summary["running"] == 1
            and tracker.get_job_status(hanging) is ProcessingStatus.RUNNING
        )

    wait_for(only_the_hanging_job_left, "draining every job but the hanging one")
    executor = tracker.get_job_info(hanging).executor_id or ""
    print(f"[slurm] {HANGING} hangs in {executor}; cancelling that worker")
    # scancel wants an array task as <array>_<index> (given the task's own job ID, SLURM 22.05 cancels nothing).
    task = subprocess.run(
        ["squeue", "--noheader", "--jobs", executor.partition(":")[2], "--format=%i"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.split()[0]
    subprocess.run(["scancel", task], check=True)
    wait_for(lambda: bool(tracker.find_stale_jobs()), "SLURM reporting the cancelled worker as ended")
    (stale,) = tracker.recover_stale_jobs()
    print(f"[recover] {stale.job_id} ({stale.specifier}) failed: {stale.reason}")
    if stale.job_id != hanging or "CANCELLED" not in stale.reason:
        sys.exit("demo_slurm: recovery failed the wrong job or without naming CANCELLED")

    (root / "pipeline" / "fixed").touch()
    retried = tracker.retry_failed_jobs()
    retry = sbatch(f"--output={root / 'slurm-%j.out'}", "--wrap", command)
    print(f"[retry] rescheduled {len(retried)} job(s); worker job {retry} runs them")
    wait_for(lambda: tracker.complete, "the retry pass completing the pipeline")
    print(format_tracker_table(tracker.file_path))
    print(f"[done] {progress(tracker)}")


def main() -> int:
    """Runs the demo on the reachable cluster, or on a one-node cluster of its own with --one-node."""
    arguments = [argument for argument in sys.argv[1:] if argument != "--one-node"]
    root = Path(arguments[0]) if arguments else ROOT / "demo_output" / "slurm"
    if "--one-node" in sys.argv:
        sys.path.insert(0, str(ROOT / "tests" / "slurm"))
        import os

        from slurm_cluster import SlurmUnavailableError, start_cluster

        try:
            cluster = start_cluster()
        except SlurmUnavailableError as error:
            print(f"demo_slurm: {error}. Install them with: sudo .ci/install-slurm.sh")
            return 1
        os.environ["SLURM_CONF"] = str(cluster.conf_path)
        try:
            run(root)
        finally:
            cluster.stop()
        return 0
    if not slurm_reachable():
        print(
            "demo_slurm: no SLURM cluster answers here (sbatch/squeue missing or the controller unreachable).\n"
            "  To run the demo on a one-node cluster of its own: install slurm-wlm and munge (sudo "
            ".ci/install-slurm.sh on Debian/Ubuntu), then run: .venv/bin/python demo/demo_slurm.py --one-node"
        )
        return 0
    run(root)
    return 0


if __name__ == "__main__":
    sys.exit(main())
