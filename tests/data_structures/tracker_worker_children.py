"""Child processes of the tracker worker tests (claims, stale jobs); run as a script.

Usage:
    python tracker_worker_children.py drain PATH NAME      # claims and completes jobs until none is left,
                                                          # appending each claimed ID to PATH.NAME.log
    python tracker_worker_children.py drain PATH NAME SPEC # the same, but the job with specifier SPEC hangs (until
                                                          # the file PATH.fixed exists)
    python tracker_worker_children.py claim-and-hang PATH  # claims one job, prints its ID, then sleeps until killed
    python tracker_worker_children.py claim PATH           # claims one job, prints its ID (or None) and exits
    python tracker_worker_children.py run-and-hang PATH    # claims one job and runs it (run_job), printing its ID,
                                                          # until interrupted (SIGINT: KeyboardInterrupt) or killed
    python tracker_worker_children.py stale PATH           # prints the IDs of the stale jobs (find_stale_jobs)
    python tracker_worker_children.py discover ROOT NAME [UID]  # prints the trackers discover() finds, or its error
                                                          # (as UID, dropped to after start-up: the interpreter
                                                          # may live where that user cannot read)
    python tracker_worker_children.py resume-or-hang PATH LOG  # claims a job and appends "<restart count> <ID>" to
                                                          # LOG; in a SLURM job's first run it then sleeps until
                                                          # killed, in a requeued run it completes the job
"""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path

from ataraxis_data_structures import ProcessingTracker


def drain(path: Path, name: str, hanging: str | None = None) -> None:
    """Runs the worker loop of the README: claim, run, repeat until no job is left."""
    tracker = ProcessingTracker(file_path=path, lock_timeout=120)
    fixed = Path(f"{path}.fixed")
    with open(f"{path}.{name}.log", "a", encoding="utf-8") as log:
        while (job_id := tracker.claim_job()) is not None:
            with tracker.run_job(job_id):
                while tracker.get_job_info(job_id).specifier == hanging and not fixed.exists():
                    time.sleep(1)
                log.write(job_id + "\n")
                log.flush()


def main(argv: list[str]) -> None:
    """Runs the command named by argv[0]."""
    command, path = argv[0], Path(argv[1])
    if command == "discover":
        if len(argv) > 3:
            os.setgid(int(argv[3]))
            os.setuid(int(argv[3]))
        try:
            print("\n".join(str(found.file_path) for found in ProcessingTracker.discover(path, argv[2])))
        except OSError as error:
            print(f"{type(error).__name__}: {error}")
        return
    tracker = ProcessingTracker(file_path=path)
    if command == "drain":
        drain(path, argv[2], argv[3] if len(argv) > 3 else None)
    elif command == "claim-and-hang":
        print(tracker.claim_job(), flush=True)
        while True:
            time.sleep(60)
    elif command == "claim":
        print(tracker.claim_job(), flush=True)
    elif command == "run-and-hang":
        job_id = tracker.claim_job()
        assert job_id is not None
        with tracker.run_job(job_id):
            print(job_id, flush=True)
            while True:
                time.sleep(60)
    elif command == "stale":
        print(" ".join(job.job_id for job in tracker.find_stale_jobs()), flush=True)
    elif command == "resume-or-hang":
        job_id = tracker.claim_job()
        restarts = os.environ.get("SLURM_RESTART_COUNT", "0")
        with open(argv[2], "a", encoding="utf-8") as log:
            log.write(f"{restarts} {job_id}\n")
        if job_id is None:
            return
        if restarts == "0":
            while True:
                time.sleep(60)
        with tracker.run_job(job_id):
            pass
    else:
        raise SystemExit(f"unknown command {command!r}")


if __name__ == "__main__":
    main(sys.argv[1:])
