"""Consolidates a log directory into one .npz archive per source: assemble_log_archives.

Sources are the live ``.axlog.npy`` files DataLogger writes (and the ``.axlog`` files of earlier versions; see
log_format) and, for recordings made with the reference release, per-message ``{source:03d}_{timestamp:020d}.npy``
files. An archive that already exists is merged with new
sources, so running assembly again after an interruption (or after another logger session) finishes the job
without losing or repeating a message:

- the archive is written under a temporary name, fsynced, optionally verified, and only then moved into place;
- sources are removed only after that, so an interruption before the move leaves every source in place;
- the archive's manifest (its ZIP comment) records how many bytes of each live log file it holds, and a ``.npy``
  file whose member already holds the same bytes is recognised, so a rerun after an interruption during source
  removal archives nothing twice;
- an existing archive's members are checked against their CRC-32s before a merge, so a member damaged on disk is
  refused instead of being rewritten under a fresh, valid CRC.

Sessions: every onset message (timestamp 0, an 8-byte payload holding the UTC epoch in microseconds) starts a
session of its source, and the records after it in arrival order (across segments, in segment order) are timed from
it. An archive holds one onset member, the earliest session's; later sessions' elapsed times are rebased onto it, so
every reader (both original releases included) gets exact absolute times, and the archive comment lists the session
boundaries (see read_archive_sessions).

Descriptions: the source descriptions a DataLogger stored in the folder (source_description) are carried into each
source's archive comment, merged with those the archive already carries (the latest wins, earlier ones are kept);
once every described source's archive carries its descriptions, assembly with remove_sources removes the file.

Memory: a source whose records arrive in archive order is written (and verified) in one streaming pass, a window of
records at a time, with the mapped pages behind it dropped; any other source is assembled in memory.

This module orchestrates: it locks the directory, finds the sources (source_files), runs one SourceAssembly per source
(source_assembly: the streaming pass in streaming, the in-memory pass in in_memory) and reports.
"""

from __future__ import annotations

import os
import warnings
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager, suppress
from pathlib import Path

from ..._path_safety import refuse_unsafe_path
from ...errors import DirectoryBusyError, LoggerRunningWarning, TornLogWarning
from ...file_locks import LockHeldError, is_locked, try_lock
from ..formats.archive_layout import archive_name
from ..formats.source_description import (
    SOURCES_FILE_NAME,
    DescribedSource,
    decode_archive_lines,
    merge_history,
    read_sources_file,
)
from ..live.logger_lock import LOCK_FILE_NAME
from ..reading.zip_index import ArchiveIndex
from .source_assembly import AssemblyOptions, SourceAssembly
from .source_files import SourceFiles, discover_sources

__all__ = ["LoggerRunningWarning", "TornLogWarning", "assemble_log_archives"]


def assemble_log_archives(
    log_directory: Path,
    max_workers: int | None = None,
    *,
    remove_sources: bool = True,
    memory_mapping: bool = True,
    verbose: bool = False,
    verify_integrity: bool = False,
) -> None:
    """Consolidates all log files in the target log directory into .npz archives, one for each unique source.

    Notes:
        Messages are ordered by acquisition timestamp, then by arrival; each archive is named after its source ID
        (``{source_id}_log.npz``). Live log files (``.axlog.npy``, and ``.axlog`` from earlier versions) and
        reference-style per-message ``.npy`` files are both consolidated; an existing archive is merged with new
        sources after its members pass their CRC-32 checks. Several recording sessions of one source (a logger
        restarted in the same directory) share the archive: later sessions are rebased onto the earliest onset, so
        absolute times stay exact (see read_archive_sessions). Damage in a source (a torn tail, a damaged region or
        header, an unreadable file) is reported with one TornLogWarning per source, pointing at the caller's line:
        every whole record is archived and the damaged file is kept.

        A DataLogger still writing to the directory does not stop the assembly (as with both releases): every record
        written so far is archived, with a LoggerRunningWarning; only the files the logger has finished with are
        removed. Assembling again after the logger stops adds the rest to the same archives (the manifest records how
        far each live file was read), so each message is archived exactly once.

    Args:
        log_directory: The path to the directory that stores the log files.
        max_workers: The number of threads that assemble sources in parallel. None uses the number of CPU cores - 2
            (at least 1).
        remove_sources: Determines whether to remove the consolidated source files once the archive is complete,
            flushed to disk and (if requested) verified.
        memory_mapping: Determines whether to memory-map the source files and archives or read them into RAM.
        verbose: Determines whether to show the assembly progress with tqdm progress bars.
        verify_integrity: Determines whether to compare every archived message against its source (and every
            member against its CRC-32) before the archive replaces the old one and sources are removed.

    Raises:
        UnsafePathError: If remove_sources is True and log_directory is an empty or relative path naming the working
            directory (an unset variable, not a choice), or the filesystem root or home directory.
        FileNotFoundError: If the log directory does not exist.
        NotADirectoryError: If the log directory is not a directory.
        LogFormatError: If a live log file's intact header names another source than its file name, or states an
            unsupported format version.
        ArchiveFormatError: If an existing archive is malformed or one of its members fails its CRC-32 check.
        OSError: If the archive cannot be written (a full disk, for example); the message names the file.
        ArchiveVerificationError: If integrity verification finds an archived message that differs from its source
            (a RuntimeError).
        DirectoryBusyError: If another assembly of the directory is running (a RuntimeError).
    """
    if remove_sources:
        refuse_unsafe_path(log_directory, "log_directory", "remove the assembled source files in")
    directory = Path(log_directory)
    if not directory.exists():
        raise FileNotFoundError(f"Unable to assemble log archives: the log directory {directory} does not exist.")
    if not directory.is_dir():
        raise NotADirectoryError(f"Unable to assemble log archives: {directory} is not a directory.")
    if max_workers is None or max_workers < 1:
        max_workers = max(1, (os.cpu_count() or 1) - 2)
    options = AssemblyOptions(directory, remove_sources, memory_mapping, verbose, verify_integrity)
    with _exclusive(directory) as logger_running:
        groups = discover_sources(directory)
        described = read_sources_file(directory)
        for source_id, history in described.items():
            if source_id in groups:
                groups[source_id].described = history
        if logger_running:
            _mark_open_logs(groups)
            warnings.warn(
                f"assembling {directory} while a DataLogger is still writing to it (it holds {LOCK_FILE_NAME}): "
                "every record written so far is archived; the live log files it may still append to are kept, and "
                "assembling again after the logger stops adds the rest to the same archives",
                LoggerRunningWarning,
                stacklevel=2,
            )
        assemblies = [
            SourceAssembly(group, options)
            for group in groups.values()
            if group.live_logs or group.npy_files or (group.described and group.archive is not None)
        ]
        try:
            errors = _run_all(assemblies, max_workers)
        finally:
            # Raised here, in the caller's thread, so the warning points at the caller's line (stacklevel 2), not
            # into a worker thread or concurrent.futures.
            for assembly in assemblies:
                if assembly.notes:
                    warnings.warn(assembly.report(), TornLogWarning, stacklevel=2)
        if errors:
            raise errors[0]
        if remove_sources and not logger_running:
            _remove_idle_logger_lock(directory)
            _remove_carried_descriptions(directory, described)


def _remove_carried_descriptions(directory: Path, described: dict[int, list[DescribedSource]]) -> None:
    """Removes the folder's description file once every source it describes has an archive that carries it all.

    A source described but not yet archived (it logged nothing yet), or an unreadable file, keeps the file.
    """
    if not described:
        return
    for source_id, history in described.items():
        archive = directory / archive_name(source_id)
        if not archive.is_file():
            return
        try:
            carried = decode_archive_lines(ArchiveIndex(archive, lazy=True).comment, archive)
        except (OSError, ValueError):  # an archive damaged meanwhile: keep the file, the assembly itself succeeded
            return
        if merge_history(carried, history) != carried:
            return
    (directory / SOURCES_FILE_NAME).unlink(missing_ok=True)


def _run_all(assemblies: list[SourceAssembly], max_workers: int) -> list[Exception]:
    """Assembles every source (in threads when allowed) and returns the errors; one source's error stops no other."""
    if max_workers == 1 or len(assemblies) <= 1:
        errors: list[Exception] = []
        for position, assembly in enumerate(assemblies):
            try:
                assembly.run(position)
            except Exception as error:  # reraised by the caller once every source had its turn
                errors.append(error)
        return errors
    with ThreadPoolExecutor(max_workers=min(max_workers, len(assemblies))) as pool:
        futures = [pool.submit(assembly.run, position) for position, assembly in enumerate(assemblies)]
        return [failure for future in futures if isinstance(failure := future.exception(), Exception)]


def _remove_idle_logger_lock(directory: Path) -> None:
    """Removes the lock file a killed DataLogger left in the directory (a stopped one removes its own).

    The file is taken and removed by the protocol every taker of the directory lock follows (file_locks.try_lock's
    ``removable``), so a logger that starts meanwhile either fails to lock it (and reports the directory busy) or
    locks a fresh file.
    """
    lock_path = directory / LOCK_FILE_NAME
    if not lock_path.exists():
        return
    with suppress(LockHeldError):  # a logger started meanwhile: the file is in use again
        try_lock(lock_path, removable=True).release_and_remove()


def _mark_open_logs(groups: dict[int, SourceFiles]) -> None:
    """Marks, in each source, the live log a running logger may still append to.

    A logger appends to one segment per source, the highest-numbered (it opens the next free number), and never
    reopens an earlier one; a segment it creates after the directory was listed is not in the listing at all. So
    every segment but the highest is finished; the highest may be too (a source not yet heard from in this logger
    session), and is kept anyway until an assembly finds no logger running.
    """
    for files in groups.values():
        if files.live_logs:
            files.open_log = max(files.live_logs).path


@contextmanager
def _exclusive(directory: Path) -> Iterator[bool]:
    """Holds an exclusive lock on the log directory itself, so two assemblies never share partial archives.

    Locking the directory (not a lock file in it) leaves the directory's contents, and so its checksum, unchanged.
    Yields whether a DataLogger was writing to the directory when the lock was taken.
    """
    try:
        held = try_lock(directory, directory=True)
    except LockHeldError:
        raise DirectoryBusyError(
            f"Unable to assemble log archives in {directory}: another assembly of this directory is running."
        ) from None
    with held:
        yield is_locked(directory / LOCK_FILE_NAME)
