"""The log commands: ``axds assemble`` consolidates a log directory, ``axds inspect`` summarizes an archive."""

from __future__ import annotations

import argparse
import json
import sys
import warnings
from pathlib import Path
from typing import Any

from ..data_loggers.archive_assembly import assemble_log_archives
from ..data_loggers.archive_layout import parse_archive_name
from ..data_loggers.archive_summary import ArchiveSummary, summarize_archive
from .arguments import path_argument
from .errors import CommandError


def register(subparsers: argparse._SubParsersAction[Any]) -> None:
    """Registers the ``assemble`` and ``inspect`` subcommands."""
    assemble = subparsers.add_parser(
        "assemble",
        help="consolidate a log directory into one .npz archive per source",
        description="Consolidates the live .axlog files (and reference-style .npy files) of a log directory into "
        "one {source_id}_log.npz archive per source. Rerunning it after an interruption finishes the job.",
    )
    assemble.add_argument("log_directory", metavar="LOGDIR", type=path_argument, help="the DataLogger output directory")
    assemble.add_argument("--keep-sources", action="store_true", help="keep the source files after archiving")
    assemble.add_argument(
        "--verify", action="store_true", help="compare every archived message with its source before removing any"
    )
    assemble.set_defaults(handler=_assemble)

    inspect = subparsers.add_parser(
        "inspect",
        help="summarize a .npz log archive",
        description="Prints the onset (UTC), message count, time span, mean rate, largest gap between consecutive "
        "messages and payload size range of a log archive, and checks every member's CRC-32 (exit 1 on a "
        "corrupt member).",
    )
    inspect.add_argument("archive", metavar="ARCHIVE", type=path_argument, help="a {source_id}_log.npz archive")
    inspect.add_argument("--json", action="store_true", help="print the summary as one JSON object")
    inspect.set_defaults(handler=_inspect)


def _assemble(args: argparse.Namespace) -> int:
    directory: Path = args.log_directory
    if not directory.is_dir():
        raise CommandError(f"{directory} is not a directory")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        assemble_log_archives(
            directory,
            remove_sources=not args.keep_sources,
            verify_integrity=args.verify,
            verbose=sys.stderr.isatty(),
        )
    for warning in caught:
        print(f"axds assemble: warning: {warning.message}", file=sys.stderr)
    archives = sorted(
        (source_id, path)
        for path in directory.iterdir()
        if (source_id := parse_archive_name(path.name)) is not None
    )  # fmt: skip
    for _, path in archives:
        try:
            summary = summarize_archive(path)
        except ValueError as error:  # e.g. a source that never sent its onset message: say so, the rest is done
            print(f"{path.name}: {error}")
            continue
        print(f"{path.name}: {summary.message_count} messages, {summary.span_s:.3f} s from {summary.onset_utc}")
    if not archives:
        print(f"{directory}: no log files to assemble")
    return 0


def _inspect(args: argparse.Namespace) -> int:
    path: Path = args.archive
    if path.is_dir():
        raise CommandError(f"{path} is a directory, not a .npz log archive")
    if not path.is_file():
        raise CommandError(f"{path}: no such archive")
    summary = summarize_archive(path)
    if args.json:
        print(json.dumps(summary.to_dict()))
    else:
        print(_describe(summary))
    return 0 if summary.first_corrupt_member is None else 1


def _describe(summary: ArchiveSummary) -> str:
    rate = f"{summary.mean_rate_hz:,.1f} messages/s" if summary.mean_rate_hz is not None else "n/a"
    gap = (
        f"{summary.largest_gap_us / 1e3:,.3f} ms (ending at +{summary.largest_gap_at_us / 1e6:,.6f} s)"
        if summary.largest_gap_us is not None and summary.largest_gap_at_us is not None
        else "n/a"
    )
    sizes = (
        f"{summary.payload_min_bytes:,} .. {summary.payload_max_bytes:,} bytes ({summary.payload_total_bytes:,} total)"
        if summary.payload_min_bytes is not None
        else "n/a"
    )
    lines = [
        f"archive:       {summary.path}",
        f"source:        {summary.source_id if summary.source_id is not None else 'n/a'}",
        f"onset (UTC):   {summary.onset_utc}",
        f"messages:      {summary.message_count:,}",
        f"time span:     {summary.span_s:,.6f} s",
        f"mean rate:     {rate}",
        f"largest gap:   {gap}",
        f"payload sizes: {sizes}",
        f"integrity:     {'CRC-32 of every member checks out' if summary.first_corrupt_member is None else 'CORRUPT'}",
    ]
    if summary.first_corrupt_member is not None:
        lines.append(f"               first member failing its CRC-32: {summary.first_corrupt_member}")
    return "\n".join(lines)
