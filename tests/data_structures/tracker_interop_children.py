"""Child processes of the tracker interchange tests; run as a script under either release or under ours.

Usage:
    python tracker_interop_children.py view PATH [JOBS_JSON]   # optionally adds JOBS and changes the first two,
                                                             # then prints every job's fields as JSON
    python tracker_interop_children.py hammer PATH NAME ID...  # starts and completes each job as executor NAME
    python tracker_interop_children.py resave PATH NAME SPEC   # re-adds an existing job: the file is saved again
    python tracker_interop_children.py start PATH ID...        # starts each job with the default executor ID
    python tracker_interop_children.py errors PATH             # prints the messages of refused requests as JSON

Each command prints the jobs as JSON at the end.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Callable
from pathlib import Path

from ataraxis_data_structures import ProcessingTracker


def view(path: Path, jobs_json: str | None) -> None:
    """Prints the jobs of the tracker as JSON, after adding and changing jobs when jobs_json is given."""
    tracker = ProcessingTracker(file_path=path)
    if jobs_json is not None:
        ids = tracker.initialize_jobs([(name, specifier) for name, specifier in json.loads(jobs_json)])
        tracker.start_job(ids[0], executor_id="ref")
        tracker.fail_job(ids[0], "err: bad\n  indented line")
        tracker.start_job(ids[1])
        tracker.complete_job(ids[1])
    tracker.get_summary()
    fields = {
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
    print(json.dumps(fields))


def hammer(path: Path, name: str, job_ids: list[str]) -> None:
    """Starts and completes each job as executor name."""
    tracker = ProcessingTracker(file_path=path)
    for job_id in job_ids:
        tracker.start_job(job_id, executor_id=name)
        tracker.complete_job(job_id)


def refusals(path: Path) -> dict[str, str]:
    """Returns the message of each refused request callers match (ERROR_CASES), run on the tracker at path."""
    tracker = ProcessingTracker(file_path=path)
    tracker.initialize_jobs([("a", "b"), ("c", "")])
    cases: dict[str, Callable[[], object]] = {
        "start": lambda: tracker.start_job("feedbeef"),
        "complete": lambda: tracker.complete_job("feedbeef"),
        "fail": lambda: tracker.fail_job("feedbeef", "x"),
        "status": lambda: tracker.get_job_status("feedbeef"),
        "info": lambda: tracker.get_job_info("feedbeef"),
        "reset_jobs": lambda: tracker.reset_jobs(["feedbeef"]),
        "colon": lambda: ProcessingTracker.generate_job_id("a:b"),
        "colon_specifier": lambda: ProcessingTracker.generate_job_id("a", "b:c"),
        "resolve": lambda: tracker.resolve_job("feedbeef", [("a", "b"), ("c", "")]),
        "resolve_empty": lambda: tracker.resolve_job("feedbeef", []),
        "align_empty": lambda: tracker.align_jobs([]),
        "align_outside": lambda: tracker.align_jobs([("x", "s"), ("y", "")], [("a", "b")]),
    }
    messages = {}
    for name, request in cases.items():
        try:
            request()
        except ValueError as error:
            messages[name] = str(error)
        else:
            messages[name] = "(accepted)"
    return messages


def main(argv: list[str]) -> None:
    """Runs the command named by argv[0]."""
    command, path = argv[0], Path(argv[1])
    if command == "view":
        view(path, argv[2] if len(argv) > 2 else None)
    elif command == "hammer":
        hammer(path, argv[2], argv[3:])
        view(path, None)
    elif command == "start":
        tracker = ProcessingTracker(file_path=path)
        for job_id in argv[2:]:
            tracker.start_job(job_id)
        view(path, None)
    elif command == "errors":
        print(json.dumps(refusals(path)))
    elif command == "resave":
        ProcessingTracker(file_path=path).initialize_jobs([(argv[2], argv[3])])
        view(path, None)
    else:
        raise SystemExit(f"unknown command {command!r}")


if __name__ == "__main__":
    main(sys.argv[1:])
