"""The live commands: ``axds tail`` shows, per source, how a DataLogger's recording is going while it runs."""

from __future__ import annotations

import argparse
import sys
import time
from typing import Any

from ..data_loggers import LiveLogReader, SourceStatus
from .arguments import path_argument
from .errors import CommandError

__all__ = ["register", "render"]

_CLEAR = "\x1b[H\x1b[2J"
"""Moves the cursor home and clears the terminal: the table is redrawn in place."""


def register(subparsers: argparse._SubParsersAction[Any]) -> None:
    """Registers the ``tail`` subcommand."""
    tail = subparsers.add_parser(
        "tail",
        help="show per-source progress of a log directory a DataLogger is writing",
        description="Reads the live .axlog.npy files of a DataLogger output directory (never disturbing the logger) "
        "and prints, per source: messages so far, the current rate (over the last second of acquisition time), the "
        "time since the last message (from its timestamp and the source's onset), and the largest gap between "
        "consecutive messages. With --follow it refreshes the table in place until Ctrl+C.",
    )
    tail.add_argument("log_directory", metavar="LOGDIR", type=path_argument, help="the DataLogger output directory")
    tail.add_argument("--follow", "-f", action="store_true", help="keep refreshing until interrupted")
    tail.add_argument(
        "--interval", type=float, default=1.0, metavar="SECONDS", help="seconds between refreshes (default 1)"
    )
    tail.set_defaults(handler=_tail)


def _tail(args: argparse.Namespace) -> int:
    if not args.log_directory.is_dir():
        raise CommandError(f"{args.log_directory} is not a directory")
    if args.interval <= 0:
        raise CommandError(f"--interval must be positive, got {args.interval}")
    reader = LiveLogReader(args.log_directory)
    if not args.follow:
        print(render(reader.refresh()))
        return 0
    in_place = sys.stdout.isatty()
    try:
        while True:
            table = render(reader.refresh())
            stamp = time.strftime("%H:%M:%S")
            text = f"{args.log_directory}  {stamp}  (Ctrl+C to stop)\n{table}"
            print(_CLEAR + text if in_place else text + "\n", flush=True)
            time.sleep(args.interval)
    except KeyboardInterrupt:  # the normal way to end --follow
        return 0


def render(statuses: dict[int, SourceStatus], now: float | None = None) -> str:
    """Returns the table of source statuses that ``axds tail`` prints."""
    if not statuses:
        return "no live log files yet"
    rows = [("source", "messages", "rate (msg/s)", "since last", "largest gap", "files", "notes")]
    for status in statuses.values():
        notes = []
        if status.damaged_bytes:
            notes.append(f"{status.damaged_bytes} damaged bytes skipped")
        if status.problem:
            notes.append(status.problem)
        if status.onset_us is None and status.messages:
            notes.append("no onset message: 'since last' counts from when it was read")
        rows.append(
            (
                str(status.source_id),
                f"{status.messages:,}",
                f"{status.rate:,.1f}",
                _duration(status.seconds_since_last(now)),
                _duration(status.largest_gap_us / 1e6 if status.messages > 1 else None),
                str(status.files),
                "; ".join(notes),
            )
        )
    widths = [max(len(row[column]) for row in rows) for column in range(len(rows[0]) - 1)]
    lines = []
    for row in rows:
        cells = [cell.rjust(width) for cell, width in zip(row[:-1], widths, strict=True)]
        lines.append("  ".join([*cells, row[-1]]).rstrip())
    return "\n".join(lines)


def _duration(seconds: float | None) -> str:
    if seconds is None:
        return "-"
    if seconds < 1:
        return f"{seconds * 1000:.1f} ms"
    if seconds < 120:
        return f"{seconds:.1f} s"
    if seconds < 7200:
        return f"{seconds / 60:.1f} min"
    return f"{seconds / 3600:.1f} h"
