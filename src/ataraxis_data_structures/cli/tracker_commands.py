"""``axds tracker``: inspect and repair processing tracker files from a login node.

- ``show FILE``: a table of the tracker's jobs (name, specifier, status, executor, start time, duration, error) and
  the number of jobs per status.
- ``summary ROOT [--name NAME] [--json]``: one line per tracker found under ROOT (counts and status).
- ``stale FILE [--recover]``: the RUNNING jobs whose executor is provably gone, with the evidence; ``--recover``
  marks them FAILED with it.
- ``retry FILE``: failed jobs back to SCHEDULED. ``reset FILE [JOB_ID...]``: the jobs named (all without IDs) back
  to SCHEDULED.
- ``watch FILE``: the table, refreshed in place until every job ended; exit code 0 if all succeeded, 1 if any failed.

``show``, ``summary`` and ``watch`` read files without taking their lock (writers replace them atomically, so a read
always sees a complete version): they work on read-only shares and never wait or create lock files.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from ..data_structures import (
    JobState,
    ProcessingStatus,
    ProcessingTracker,
    find_tracker_files,
    read_tracker_states,
    summarize_states,
)
from ..errors import TrackerFormatError
from .arguments import path_argument
from .errors import CommandError

__all__ = ["format_tracker_table", "register"]

_WIDEST_CELL = 40
_WIDEST_ERROR = 60
_HEADERS = ("JOB ID", "NAME", "SPECIFIER", "STATUS", "EXECUTOR", "START (UTC)", "DURATION", "ERROR")


def register(subparsers: argparse._SubParsersAction[Any]) -> None:
    """Registers the ``tracker`` command group."""
    group = subparsers.add_parser("tracker", help="inspect processing tracker files")
    commands = group.add_subparsers(dest="tracker_command", metavar="COMMAND", required=True)
    show = commands.add_parser(
        "show",
        help="print a table of a tracker's jobs and the count per status",
        description="Prints the jobs of a processing tracker file and the number of jobs per status.",
    )
    show.add_argument("file", type=path_argument, metavar="FILE", help="the tracker .yaml file")
    show.add_argument(
        "--status",
        choices=[status.name.lower() for status in ProcessingStatus],
        help="list only the jobs with this status (the counts still cover all jobs)",
    )
    show.set_defaults(handler=_show)

    summary = commands.add_parser(
        "summary",
        help="one line per tracker under a folder: job counts and status",
        description="Finds every tracker file under ROOT (symbolic links to folders are not followed) and prints "
        "one line per tracker with its job counts and status, then the totals. Reads without taking locks.",
    )
    summary.add_argument("root", type=path_argument, metavar="ROOT", help="the folder to search")
    summary.add_argument(
        "--name",
        help="the exact file name of the trackers (default: every .yaml/.yml file that holds a tracker; other YAML "
        "files are skipped)",
    )
    summary.add_argument("--json", action="store_true", help="print one JSON document instead of lines")
    summary.set_defaults(handler=_summary)

    stale = commands.add_parser(
        "stale",
        help="list RUNNING jobs whose executor is provably gone; --recover fails them",
        description="Lists the RUNNING jobs whose executor is provably gone (a dead local pid, a SLURM job in a final "
        "state, an expired lease), with the evidence. An executor that cannot be checked is never called stale.",
    )
    stale.add_argument("file", type=path_argument, metavar="FILE", help="the tracker .yaml file")
    stale.add_argument("--recover", action="store_true", help="mark the stale jobs FAILED with the evidence")
    stale.set_defaults(handler=_stale)

    retry = commands.add_parser("retry", help="put every failed job back to SCHEDULED")
    retry.add_argument("file", type=path_argument, metavar="FILE", help="the tracker .yaml file")
    retry.set_defaults(handler=_retry)

    reset = commands.add_parser(
        "reset",
        help="put jobs back to SCHEDULED (all of them without JOB_IDs)",
        description="Puts the named jobs (every job when no ID is given) back to SCHEDULED, clearing executor, "
        "error and times. All or nothing: an unknown ID changes nothing. The jobs stay in the tracker.",
    )
    reset.add_argument("file", type=path_argument, metavar="FILE", help="the tracker .yaml file")
    reset.add_argument("job_ids", nargs="*", metavar="JOB_ID", help="the IDs of the jobs to reset")
    reset.set_defaults(handler=_reset)

    watch = commands.add_parser(
        "watch",
        help="show the tracker, refreshed until every job ended; exit 1 if any failed",
        description="Prints the tracker's table and refreshes it in place until no job is SCHEDULED or RUNNING. "
        "Exits with 0 if every job succeeded and 1 if any failed.",
    )
    watch.add_argument("file", type=path_argument, metavar="FILE", help="the tracker .yaml file")
    watch.add_argument("--interval", type=float, default=2.0, help="seconds between refreshes (default 2)")
    watch.set_defaults(handler=_watch)


def _tracker_path(path: Path) -> Path:
    """Returns path if it names an existing tracker file, else raises CommandError saying what it is."""
    if path.is_dir():
        raise CommandError(f"{path} is a directory, not a tracker file")
    if not path.is_file():
        raise CommandError(f"no tracker file at {path}")
    return path


def _show(args: argparse.Namespace) -> int:
    """Prints the table of one tracker file."""
    path = _tracker_path(args.file)
    wanted = ProcessingStatus[args.status.upper()] if args.status else None
    print(format_tracker_table(path, wanted))
    return 0


def _summary(args: argparse.Namespace) -> int:
    """Prints one line (or one JSON entry) per tracker under a folder."""
    root: Path = args.root
    if not root.is_dir():
        raise CommandError(f"{root} is not a directory" if root.exists() else f"no directory at {root}")
    if args.name:
        candidates = find_tracker_files(root, args.name)
    else:
        candidates = sorted(
            {path for suffix in ("yaml", "yml") for path in _walk_files(root) if path.name.endswith(f".{suffix}")}
        )
    entries: list[dict[str, Any]] = []
    failures = 0
    for path in candidates:
        try:
            states = read_tracker_states(path)
        except TrackerFormatError as error:
            if not args.name:
                continue  # Some other YAML file: not a tracker.
            entries.append({"file": str(path), "error": str(error)})
            failures += 1
            continue
        except OSError as error:
            entries.append({"file": str(path), "error": str(error)})
            failures += 1
            continue
        summary = summarize_states(states)
        entries.append({"file": str(path), "summary": summary["summary"], "status": str(summary["status"])})
    totals = dict.fromkeys(("total", "succeeded", "failed", "running", "scheduled"), 0)
    for entry in entries:
        for key, count in entry.get("summary", {}).items():
            totals[key] += count
    overall = str(ProcessingTracker.resolve_status(totals))
    if args.json:
        print(json.dumps({"trackers": entries, "summary": totals, "status": overall}, indent=2))
        return 1 if failures else 0
    width = max((len(entry["file"]) for entry in entries), default=0)
    for entry in entries:
        if "error" in entry:
            print(f"{entry['file'].ljust(width)}  ERROR: {entry['error']}")
        else:
            print(f"{entry['file'].ljust(width)}  {_counts(entry['summary'])}  {entry['status']}")
    print(f"{len(entries)} tracker(s): {_counts(totals)}  {overall}")
    return 1 if failures else 0


def _walk_files(root: Path) -> list[Path]:
    """Returns every file under root, without following symbolic links to folders (unreadable folders raise)."""

    def fail(error: OSError) -> None:
        raise error

    return [
        Path(directory) / name
        for directory, _, files in os.walk(root, onerror=fail, followlinks=False)
        for name in files
        if (Path(directory) / name).is_file()
    ]


def _counts(summary: dict[str, int]) -> str:
    """Returns 'total 4  succeeded 1  failed 1  running 1  scheduled 1'."""
    return "  ".join(f"{key} {summary.get(key, 0)}" for key in ("total", "succeeded", "failed", "running", "scheduled"))


def _stale(args: argparse.Namespace) -> int:
    """Lists (and with --recover fails) the stale jobs of a tracker."""
    tracker = ProcessingTracker(file_path=_tracker_path(args.file))
    jobs = tracker.recover_stale_jobs() if args.recover else tracker.find_stale_jobs()
    if not jobs:
        print(f"No stale jobs in {tracker.file_path}.")
        return 0
    verb = "Failed" if args.recover else "Found"
    print(f"{verb} {len(jobs)} stale job(s) in {tracker.file_path}:")
    for job in jobs:
        label = f"{job.job_name}/{job.specifier}" if job.specifier else job.job_name
        print(f"  {job.job_id}  {label}: {job.reason}")
    if not args.recover:
        print(f"Run 'axds tracker stale {tracker.file_path} --recover' to mark them FAILED, then 'axds tracker retry'.")
    return 0


def _retry(args: argparse.Namespace) -> int:
    """Puts the failed jobs of a tracker back to SCHEDULED."""
    tracker = ProcessingTracker(file_path=_tracker_path(args.file))
    retried = tracker.retry_failed_jobs()
    print(f"Rescheduled {len(retried)} failed job(s) in {tracker.file_path}.")
    for job_id in retried:
        print(f"  {job_id}")
    return 0


def _reset(args: argparse.Namespace) -> int:
    """Puts the named jobs (or all) of a tracker back to SCHEDULED."""
    tracker = ProcessingTracker(file_path=_tracker_path(args.file))
    job_ids = list(args.job_ids) or list(tracker.snapshot())
    reset = tracker.reset_jobs(job_ids) if job_ids else []
    print(f"Reset {len(reset)} job(s) to SCHEDULED in {tracker.file_path}.")
    return 0


def _watch(args: argparse.Namespace) -> int:
    """Shows a tracker until every job ended; returns 1 if any failed."""
    path = _tracker_path(args.file)
    if not args.interval > 0:
        raise CommandError(f"--interval must be a number of seconds > 0, got {args.interval}")
    in_place = sys.stdout.isatty()
    shown: object = None
    while True:
        records = read_tracker_states(path)
        # On a terminal the table is redrawn each time (running durations grow); into a file or a pipe it is
        # printed again only when a job's status changed, so a log holds one table per change.
        seen: object = None if in_place else [(job_id, record.status) for job_id, record in records.items()]
        if seen is None or seen != shown:
            table = format_tracker_table(path)
            if in_place:
                sys.stdout.write("\x1b[H\x1b[J")  # Home, then clear the screen: the table replaces the last one.
            print(table, flush=True)
            shown = seen
        if all(record.status in (ProcessingStatus.SUCCEEDED, ProcessingStatus.FAILED) for record in records.values()):
            failed = sum(record.status == ProcessingStatus.FAILED for record in records.values())
            print(f"All {len(records)} job(s) ended: {failed} failed." if records else "The tracker has no jobs.")
            return 1 if failed else 0
        time.sleep(args.interval)


def format_tracker_table(path: Path, status: ProcessingStatus | None = None) -> str:
    """Returns the text that ``axds tracker show`` prints for a tracker file.

    Args:
        path: The tracker file.
        status: If given, only the jobs with this status are listed.

    Returns:
        A title line, the table of jobs, and a line with the count per status.

    Raises:
        ValueError: If the file is not a valid tracker.
    """
    records = read_tracker_states(path)
    now = time.time_ns() // 1000
    rows = [
        _row(job_id, record, now) for job_id, record in records.items() if status is None or record.status == status
    ]
    counts = {member: 0 for member in ProcessingStatus}
    for record in records.values():
        counts[ProcessingStatus(record.status)] += 1
    shown = f"{len(rows)} of {len(records)}" if status is not None else str(len(records))
    lines = [f"Processing tracker {path}: {shown} job(s)"]
    if rows:
        widths = [max(len(cell) for cell in column) for column in zip(_HEADERS, *rows, strict=True)]
        for cells in (_HEADERS, *rows):
            lines.append("  ".join(cell.ljust(width) for cell, width in zip(cells, widths, strict=True)).rstrip())
    lines.append("  ".join(f"{member.name} {count}" for member, count in counts.items()))
    return "\n".join(lines)


def _row(job_id: str, record: JobState, now: int) -> tuple[str, ...]:
    """Returns the table cells of one job."""
    status, error_message, started_at, completed_at = (
        record.status,
        record.error_message,
        record.started_at,
        record.completed_at,
    )
    if started_at is None:
        start = duration = "-"
    else:
        start = _format_time(started_at)
        end = completed_at if completed_at is not None else now
        duration = _format_duration((end - started_at) / 1e6)
        if completed_at is None and status == ProcessingStatus.RUNNING:
            duration += " so far"
    error = (error_message or "").strip().splitlines()[0] if error_message and error_message.strip() else ""
    return (
        job_id,
        _clip(record.job_name, _WIDEST_CELL),
        _clip(record.specifier, _WIDEST_CELL),
        ProcessingStatus(status).name,
        _clip(record.executor_id or "-", _WIDEST_CELL),
        start,
        duration,
        _clip(error, _WIDEST_ERROR),
    )


def _format_time(microseconds: int) -> str:
    """Returns a UTC epoch in microseconds as 'YYYY-mm-dd HH:MM:SS', or the raw number if no date can show it."""
    try:
        return datetime.fromtimestamp(microseconds / 1e6, tz=UTC).strftime("%Y-%m-%d %H:%M:%S")
    except (OverflowError, OSError, ValueError):  # a hand-edited or corrupt value: show it rather than fail the table
        return f"{microseconds} us?"


def _format_duration(seconds: float) -> str:
    """Returns a duration as '0.52 s', '4 min 05 s' or '2 h 03 min'."""
    if seconds < 60:
        return f"{max(seconds, 0.0):.2f} s"
    if seconds < 3600:
        minutes, rest = divmod(int(seconds), 60)
        return f"{minutes} min {rest:02d} s"
    hours, rest = divmod(int(seconds), 3600)
    return f"{hours} h {rest // 60:02d} min"


def _clip(text: str, width: int) -> str:
    """Returns text on one line, shortened to width characters with '...' when longer."""
    text = " ".join(text.split()) if ("\n" in text or "\t" in text) else text
    return text if len(text) <= width else text[: width - 3] + "..."
