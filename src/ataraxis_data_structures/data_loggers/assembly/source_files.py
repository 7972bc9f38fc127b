"""Finds a log directory's source files, grouped by source, and reads or removes many files in I/O threads."""

from __future__ import annotations

import os
import re
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from contextlib import suppress
from dataclasses import dataclass, field
from pathlib import Path
from typing import NamedTuple, TypeVar

import numpy as np
from numpy.typing import NDArray

from ..formats.archive_layout import MEMBER_SUFFIX, archive_name, parse_archive_name
from ..formats.log_format import parse_log_file_name
from ..formats.source_description import DescribedSource
from ..reading.zip_index import open_mapped

__all__ = [
    "PARTIAL_SUFFIX",
    "LiveLog",
    "SourceFiles",
    "discover_sources",
    "in_threads",
    "partial_name",
    "read_files",
    "read_source",
    "unlink_all",
]

_NPY_SOURCE = re.compile(r"^(\d{3})_(\d{20})" + re.escape(MEMBER_SUFFIX) + "$")
PARTIAL_SUFFIX = ".partial"

_T = TypeVar("_T")
_R = TypeVar("_R")


class LiveLog(NamedTuple):
    """A live log file of a source: its segment number and path."""

    segment: int
    path: Path


@dataclass
class SourceFiles:
    """The files in a log directory that belong to one source."""

    source_id: int
    archive: Path | None = None
    live_logs: list[LiveLog] = field(default_factory=list)
    open_log: Path | None = None
    """The live log a running logger may still append to (see _mark_open_logs): read up to its last whole record,
    its tail not reported as torn, and never removed."""
    npy_files: list[str] = field(default_factory=list)
    """Paths of reference-style .npy files (strings: there can be millions, and Path objects cost microseconds)."""
    described: list[DescribedSource] = field(default_factory=list)
    """The source's descriptions in the folder's description file, oldest first."""


def partial_name(source_id: int) -> str:
    """Returns the name a source's archive is written under until it is complete."""
    return f".{archive_name(source_id)}{PARTIAL_SUFFIX}"


def discover_sources(directory: Path) -> dict[int, SourceFiles]:
    """Groups the directory's source files and archives by source ID and removes leftovers of interrupted runs."""
    groups: dict[int, SourceFiles] = {}

    def group(source_id: int) -> SourceFiles:
        return groups.setdefault(source_id, SourceFiles(source_id))

    with os.scandir(directory) as entries:
        for entry in entries:
            name = entry.name
            # Live log files end in .npy too (see log_format): they are told apart by name before messages are.
            if (parsed := parse_log_file_name(name)) is not None:
                group(parsed.source_id).live_logs.append(LiveLog(parsed.segment, Path(entry.path)))
            elif name.endswith(MEMBER_SUFFIX):
                match = _NPY_SOURCE.match(name)
                if match is not None:
                    group(int(match.group(1))).npy_files.append(entry.path)
            elif (source_id := parse_archive_name(name)) is not None:
                group(source_id).archive = Path(entry.path)
            elif (
                name.startswith(".")
                and name.endswith(PARTIAL_SUFFIX)
                and (source_id := parse_archive_name(name.removeprefix(".").removesuffix(PARTIAL_SUFFIX))) is not None
                and name == partial_name(source_id)
            ):
                Path(entry.path).unlink(missing_ok=True)  # an archive an interrupted run never finished
    for files in groups.values():
        files.live_logs.sort()
        files.npy_files.sort()  # one directory: sorting the paths sorts the names (timestamp order)
    return groups


def read_source(path: Path, memory_mapping: bool) -> NDArray[np.uint8]:
    """Returns a source file's bytes: a private memory map of it, or its contents read into memory."""
    if memory_mapping:
        return open_mapped(path)[0]
    return np.fromfile(path, dtype=np.uint8)


_IO_THREADS = 4  # file opens, reads and unlinks wait on the filesystem, not the CPU: threads overlap the waits
_IO_CHUNK = 256


def in_threads(job: Callable[[list[_T]], list[_R]], items: list[_T]) -> list[_R]:
    """Runs job over consecutive chunks of items in I/O threads and returns the results in order."""
    if len(items) <= _IO_CHUNK:
        return job(items)
    chunks = [items[start : start + _IO_CHUNK] for start in range(0, len(items), _IO_CHUNK)]
    with ThreadPoolExecutor(max_workers=_IO_THREADS) as pool:
        return [result for chunk_results in pool.map(job, chunks) for result in chunk_results]


def _read_all(paths: list[str]) -> list[bytes | OSError]:
    results: list[bytes | OSError] = []
    for path in paths:
        try:
            with open(path, "rb", buffering=0) as file:
                results.append(file.readall())
        except OSError as error:
            results.append(error)
    return results


def read_files(paths: list[str]) -> list[bytes | OSError]:
    """Returns the contents of each file (or the error reading it), reading in I/O threads."""
    return in_threads(_read_all, paths)


def unlink_all(paths: list[Path | str]) -> list[None]:
    """Removes each file (one already gone is fine); run through in_threads."""
    for path in paths:
        with suppress(FileNotFoundError):
            os.unlink(path)
    return [None] * len(paths)
