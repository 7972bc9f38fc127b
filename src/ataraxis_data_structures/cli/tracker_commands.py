"""``axds tracker``: inspect processing tracker files.

``axds tracker show FILE`` prints a table of the tracker's jobs (name, specifier, status, executor, start time,
duration, error) and the number of jobs per status. It reads the file without taking its lock (writers replace it
atomically, so the read always sees a complete version), so it works on read-only shares and never waits.
"""

from __future__ import annotations

import argparse
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from ..data_structures.processing_tracker import ProcessingStatus
from ..data_structures.tracker_format import JobRecord
from ..data_structures.tracker_store import read_unlocked
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


def _show(args: argparse.Namespace) -> int:
    """Prints the table of one tracker file."""
    path: Path = args.file
    if path.is_dir():
        raise CommandError(f"{path} is a directory, not a tracker file")
    if not path.is_file():
        raise CommandError(f"no tracker file at {path}")
    wanted = ProcessingStatus[args.status.upper()] if args.status else None
    print(format_tracker_table(path, wanted))
    return 0


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
    records = read_unlocked(path).records
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


def _row(job_id: str, record: JobRecord, now: int) -> tuple[str, ...]:
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
