"""Finds log archives on disk and counts their messages from the ZIP index alone (the 7.x discovery API)."""

from __future__ import annotations

import os
from collections.abc import Iterable
from pathlib import Path

import numpy as np

from ..formats.archive_layout import ARCHIVE_SUFFIX, MEMBER_SUFFIX, ONSET_TIMESTAMP, member_stem, parse_archive_name
from .archive_reader import PARALLEL_THRESHOLD
from .member_names import MemberNames
from .zip_index import ArchiveIndex

__all__ = [
    "LOG_ARCHIVE_SUFFIX",
    "LOG_DIRECTORY_SUFFIX",
    "PARALLEL_PROCESSING_THRESHOLD",
    "archive_source_id",
    "discover_log_archives",
    "find_log_archive",
    "find_log_archives",
    "read_archive_message_count",
]

LOG_ARCHIVE_SUFFIX = ARCHIVE_SUFFIX
"""The suffix of every log archive's file name: ``{source_id}_log.npz``."""

LOG_DIRECTORY_SUFFIX = "_data_log"
"""The suffix of the name of the directory a DataLogger writes into (``{instance_name}_data_log``)."""

PARALLEL_PROCESSING_THRESHOLD = PARALLEL_THRESHOLD
"""Archives with fewer data messages than this are read as a single batch by LogArchiveReader.get_batches()."""

# An onset member's name: any source, timestamp 0 (a member named so is not counted as a data message).
_ONSET_NAME_END = (member_stem(0, ONSET_TIMESTAMP)[3:] + MEMBER_SUFFIX).encode("ascii")


def archive_source_id(path: Path | str) -> int | None:
    """Returns the source ID a log archive's file name states (``{source_id}_log.npz``), or None for another name."""
    return parse_archive_name(os.path.basename(path))


def discover_log_archives(log_directory: Path) -> dict[str, Path]:
    """Discovers every log archive stored directly inside the target logger output directory.

    Notes:
        Only the directory's own entries are inspected, since one logger writes every archive it assembles side by
        side. Searching a tree that spans several loggers instead resolves each source with ``find_log_archive()``.

    Args:
        log_directory: The logger output directory whose archives are discovered.

    Returns:
        The path to every discovered archive, keyed by the identifier of the source that produced it (the file name
        ahead of the suffix), sorted by that identifier.

    Raises:
        FileNotFoundError: If the log directory does not exist or is not a directory.
    """
    directory = Path(log_directory)
    if not directory.is_dir():
        raise FileNotFoundError(
            f"Unable to discover the log archives stored in '{directory}'. The path does not exist or is not a "
            "directory."
        )
    found: dict[str, Path] = {}
    with os.scandir(directory) as entries:
        for entry in entries:
            name = entry.name
            if len(name) > len(LOG_ARCHIVE_SUFFIX) and name.endswith(LOG_ARCHIVE_SUFFIX) and entry.is_file():
                found[name[: -len(LOG_ARCHIVE_SUFFIX)]] = directory / name
    return dict(sorted(found.items()))


def _walk(directory: Path, wanted: dict[str, str], found: dict[str, list[Path]]) -> None:
    """Collects every file under ``directory`` whose name is a key of ``wanted``; symlinked folders are not followed.

    Raises:
        OSError: If a directory cannot be read.
    """
    with os.scandir(directory) as entries:
        for entry in entries:
            if entry.is_dir(follow_symlinks=False):
                _walk(Path(entry.path), wanted, found)
            elif entry.name in wanted and entry.is_file():
                found[wanted[entry.name]].append(Path(entry.path))


def find_log_archives(log_directory: Path, source_ids: Iterable[str]) -> dict[str, Path]:
    """Searches for the log archive of every target source under the log directory, in a single pass.

    Notes:
        One traversal resolves every requested source. A source that resolves to no archive, or to several, fails
        the whole call, so a caller receives either every requested archive or none of them.

    Args:
        log_directory: The root directory whose tree is searched.
        source_ids: The identifiers of the sources whose archives are resolved, each matching the archive filename
            ahead of the log archive suffix.

    Returns:
        The path to the discovered archive of each requested source, keyed by that source identifier.

    Raises:
        FileNotFoundError: If the log directory does not exist, is not a directory, or holds no archive for any
            requested source.
        OSError: If the log directory or any directory beneath it cannot be read.
        ValueError: If the log directory holds more than one archive for any requested source.
    """
    root = Path(log_directory)
    identifiers = list(dict.fromkeys(str(source_id) for source_id in source_ids))
    if not root.is_dir():
        raise FileNotFoundError(
            f"Unable to find the log archives of the requested sources in '{root}'. The path does not exist or is "
            "not a directory."
        )
    wanted = {f"{identifier}{LOG_ARCHIVE_SUFFIX}": identifier for identifier in identifiers}
    found: dict[str, list[Path]] = {identifier: [] for identifier in identifiers}
    if wanted:
        _walk(root, wanted, found)
    resolved: dict[str, Path] = {}
    for identifier in identifiers:
        name = f"{identifier}{LOG_ARCHIVE_SUFFIX}"
        matches = sorted(found[identifier])
        if not matches:
            raise FileNotFoundError(
                f"Unable to find the log archive of source '{identifier}' in '{root}'. No file named '{name}' was "
                "found anywhere under the directory."
            )
        if len(matches) > 1:
            raise ValueError(
                f"Unable to find the log archive of source '{identifier}' in '{root}'. Exactly one file named "
                f"'{name}' must exist under the directory, but {len(matches)} were found: "
                f"{[str(match) for match in matches]}."
            )
        resolved[identifier] = matches[0]
    return resolved


def find_log_archive(log_directory: Path, source_id: str) -> Path:
    """Searches for the single log archive holding the entries of the target source under the log directory.

    Notes:
        The whole tree beneath the log directory is searched (symlinked folders are not followed), so an archive
        nested at any depth is found. A tree holding several matches spans several loggers and is ambiguous.

    Args:
        log_directory: The root directory whose tree is searched.
        source_id: The identifier of the source whose archive is resolved, matching the archive filename ahead of the
            log archive suffix.

    Returns:
        The path to the discovered log archive.

    Raises:
        FileNotFoundError: If the log directory does not exist, is not a directory, or holds no archive for the
            requested source.
        OSError: If any directory beneath the log directory cannot be read.
        ValueError: If the log directory holds more than one archive for the requested source.
    """
    root = Path(log_directory)
    if not root.is_dir():
        raise FileNotFoundError(
            f"Unable to find the log archive of source '{source_id}' in '{root}'. The path does not exist or is not "
            "a directory."
        )
    return find_log_archives(root, [str(source_id)])[str(source_id)]


def read_archive_message_count(archive_path: Path) -> int:
    """Reads the number of data messages the target log archive holds without decoding any of them.

    Notes:
        Reads the archive's end records and ZIP directory alone (no member is touched), so the cost tracks the
        number of messages rather than their size. A member named as an onset message (timestamp 0) is not
        counted.

    Args:
        archive_path: The path to the .npz log archive to read.

    Returns:
        The number of data messages the archive holds, excluding the onset message.

    Raises:
        FileNotFoundError: If the archive does not exist or is not a file.
        ArchiveFormatError: If the file is not a ZIP archive or its directory is damaged (names the file).
    """
    path = Path(archive_path)
    if not path.is_file():
        raise FileNotFoundError(
            f"Unable to read the message count of the log archive at '{path}'. The path does not exist or is not a "
            "file."
        )
    names = MemberNames(ArchiveIndex(path, lazy=True)).names
    if len(names) == 0:
        return 0
    has_onset = names[0].endswith(_ONSET_NAME_END) or bool(np.any(np.char.endswith(names, _ONSET_NAME_END)))
    return len(names) - 1 if has_onset else len(names)
