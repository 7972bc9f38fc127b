"""The log commands: ``axds assemble`` consolidates a log directory, ``axds inspect`` summarizes archives."""

from __future__ import annotations

import argparse
import importlib.util
import json
import sys
import warnings
from pathlib import Path
from typing import Any

from ..data_loggers import (
    PLOT_EXTRA_HINT,
    ArchiveSummary,
    archive_source_id,
    assemble_log_archives,
    description_from_fields,
    discover_log_archives,
    plot_sources,
    source_timing,
    summarize_archive,
    summary_text,
)
from .arguments import path_argument
from .errors import CommandError

__all__ = ["register"]


def register(subparsers: argparse._SubParsersAction[Any]) -> None:
    """Registers the ``assemble`` and ``inspect`` subcommands."""
    assemble = subparsers.add_parser(
        "assemble",
        help="consolidate a log directory into one .npz archive per source",
        description="Consolidates the live .axlog.npy files (and reference-style .npy files) of a log directory into "
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
        help="summarize .npz log archives (one, or every archive of a log directory)",
        description="Prints the onset (UTC), message count, time span, mean rate, largest gap between consecutive "
        "messages and payload size range of a log archive (or of every archive in a log directory), after checking "
        "every member's sizes and headers against the ZIP index. --verify also checks every member's CRC-32 "
        "(reads every byte: about 1 s per GB); exit 1 on a corrupt member.",
    )
    inspect.add_argument(
        "archive",
        metavar="ARCHIVE_OR_DIR",
        type=path_argument,
        help="a {source_id}_log.npz archive, or a log directory: every archive directly inside it",
    )
    inspect.add_argument("--json", action="store_true", help="print the summary as JSON (a list for a directory)")
    inspect.add_argument("--verify", action="store_true", help="also check every member's CRC-32 (reads every byte)")
    inspect.add_argument(
        "--plot",
        metavar="OUT.png",
        type=path_argument,
        help="also draw, per source, the message rate over the session (gaps shaded) and the distribution of "
        "intervals between messages (needs the 'plot' extra: matplotlib)",
    )
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
        if (source_id := archive_source_id(path)) is not None
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


def _source_order(item: tuple[str, Path]) -> tuple[bool, int, str]:
    """Sorts numeric source IDs numerically (2 before 10), then any other name."""
    source = item[0]
    return (not source.isdigit(), int(source) if source.isdigit() else 0, source)


def _archives(path: Path) -> list[tuple[str, Path]]:
    """Returns (source, archive) for an archive or for every archive directly inside a log directory."""
    if path.is_dir():
        found = discover_log_archives(path)
        if not found:
            raise CommandError(f"{path} is a directory without .npz log archives ({{source_id}}_log.npz) in it")
        return sorted(found.items(), key=_source_order)
    if not path.is_file():
        raise CommandError(f"{path}: no such archive")
    source = archive_source_id(path)
    return [(str(source) if source is not None else path.stem, path)]


def _inspect(args: argparse.Namespace) -> int:
    path: Path = args.archive
    archives = _archives(path)
    if args.plot is not None and importlib.util.find_spec("matplotlib") is None:  # say so before any work
        raise CommandError(f"--plot: {PLOT_EXTRA_HINT}")
    summaries = [summarize_archive(archive, verify=args.verify) for _, archive in archives]
    if args.json:
        documents = [summary.to_dict() for summary in summaries]
        print(json.dumps(documents if path.is_dir() else documents[0]))
    else:
        print("\n\n".join(_describe(summary) for summary in summaries))
    if args.plot is not None:
        plot_sources([source_timing(source, archive) for source, archive in archives], args.plot, str(path))
        if not args.json:
            print(f"plot:          {args.plot}")
    return 0 if all(summary.first_corrupt_member is None for summary in summaries) else 1


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
        *_description_lines(summary),
        f"onset (UTC):   {summary.onset_utc}",
        f"messages:      {summary.message_count:,}",
        f"time span:     {summary.span_s:,.6f} s",
        f"mean rate:     {rate}",
        f"largest gap:   {gap}",
        f"payload sizes: {sizes}",
        f"integrity:     {_integrity(summary)}",
    ]
    if summary.first_corrupt_member is not None:
        lines.append(f"               first member failing its CRC-32: {summary.first_corrupt_member}")
    return "\n".join(lines)


def _description_lines(summary: ArchiveSummary) -> list[str]:
    """The name and payload lines of a described source (none for an archive without a description)."""
    if summary.description is None:
        return []
    described = description_from_fields(summary.description)
    return [f"name:          {described.name}", f"payload:       {summary_text(described)}"]


def _integrity(summary: ArchiveSummary) -> str:
    if summary.first_corrupt_member is not None:
        return "CORRUPT"
    if summary.crc_checked:
        return "sizes and headers check out; CRC-32 of every member checks out"
    return "sizes and headers check out; CRC-32 not checked (--verify reads every byte)"
