"""Copies a directory tree with crash-safe file placement, resumption, and integrity verification while copying."""

from __future__ import annotations

import contextlib
import errno
import itertools
import logging
import os
import stat
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from .._durable_files import fsync_directory, write_fully
from ._hashing import chunk_buffer, directory_digest, hash_file, new_file_hasher, run_parallel, worker_count
from ._manifest import CHECKSUM_FILE_NAME, read_manifest, read_stored_checksum, write_checksum
from ._tree import DirectoryTree, TreeEntry, scan_tree
from .checksum import byte_progress, compare_file_digests, list_names
from .deletion import delete_directory

logger = logging.getLogger(__name__)

PARTIAL_SUFFIX = ".axds-partial"
"""Suffix of the hidden temporary name a file is written under until it is complete."""


@dataclass(frozen=True, slots=True)
class _CopyOutcome:
    """What copying one file produced: the digests computed on the way (when asked for) and whether it was copied."""

    source_digest: bytes | None
    destination_digest: bytes | None
    copied: bool


def _partial_path(target: str) -> str:
    """Returns the temporary name a file is written under; a rerun after a crash overwrites it."""
    folder, name = os.path.split(target)
    return os.path.join(folder, f".{name}{PARTIAL_SUFFIX}")


def _is_complete_copy(target: str, source: os.stat_result) -> bool:
    """Returns True if target already holds a finished copy: same size and modification time as the source.

    Only renamed (finished) files carry the source's modification time, so this check never accepts a file
    interrupted mid-copy; with verification on, its content is hashed and compared anyway.
    """
    try:
        existing = os.stat(target)
    except OSError:
        return False
    return (
        stat.S_ISREG(existing.st_mode)
        and existing.st_size == source.st_size
        and existing.st_mtime_ns == source.st_mtime_ns
    )


def _flush_file(path: str) -> None:
    """Forces a file's content to disk."""
    descriptor = os.open(path, os.O_RDONLY | getattr(os, "O_BINARY", 0))
    try:
        os.fsync(descriptor)
    finally:
        os.close(descriptor)


def _copy_file(
    entry: TreeEntry,
    target: str,
    *,
    hash_source: bool,
    durable: bool,
    on_bytes: Callable[[int], None] | None,
) -> bytes | None:
    """Copies one file to a temporary name, then renames it to target; returns the source digest when asked.

    Raises:
        OSError: If reading or writing fails (for example, the disk is full); the partial file is removed and the
            message names the file.
    """
    partial = _partial_path(target)
    hasher = new_file_hasher(entry.relative) if hash_source else None
    view = chunk_buffer()
    try:
        with open(entry.path, "rb", buffering=0) as reader:
            # A partial file left by an interrupted run may already carry the source's (read-only) mode.
            with contextlib.suppress(FileNotFoundError):
                os.unlink(partial)
            descriptor = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0), 0o600)
            try:
                while count := reader.readinto(view):
                    chunk = view[:count]
                    if hasher is not None:
                        hasher.update(chunk)
                    write_fully(descriptor, chunk)
                    if on_bytes is not None:
                        on_bytes(count)
                if durable:
                    os.fsync(descriptor)
            finally:
                os.close(descriptor)
        os.chmod(partial, stat.S_IMODE(entry.status.st_mode))
        os.utime(partial, ns=(entry.status.st_atime_ns, entry.status.st_mtime_ns))
        os.replace(partial, target)
    except BaseException as error:  # Also on Ctrl+C: leave no partial file behind.
        with contextlib.suppress(OSError):
            os.unlink(partial)
        if not isinstance(error, OSError):
            raise
        reason = "no space left on the destination" if error.errno == errno.ENOSPC else (error.strerror or str(error))
        raise OSError(error.errno, f"Unable to copy {entry.path} to {target}: {reason}") from error
    return hasher.digest() if hasher is not None else None


_LARGE_FILE = 1 << 20
"""Files at least this large are copied first, largest first; smaller ones follow, spread across folders."""


def _copy_order(files: list[TreeEntry]) -> list[TreeEntry]:
    """Returns the order in which the threads take files: large files first, then small files round-robin by folder.

    Large files first spread a few long copies evenly over the threads. Small files are dominated by file creation,
    which the kernel serializes per folder, so consecutive small files come from different folders.
    """
    large = sorted((entry for entry in files if entry.status.st_size >= _LARGE_FILE), key=lambda e: -e.status.st_size)
    by_folder: dict[str, list[TreeEntry]] = {}
    for entry in files:
        if entry.status.st_size < _LARGE_FILE:
            by_folder.setdefault(os.path.dirname(entry.relative), []).append(entry)
    small = [entry for batch in itertools.zip_longest(*by_folder.values()) for entry in batch if entry is not None]
    return large + small


def _check_locations(source: Path, destination: Path) -> None:
    """Raises a clear error for a missing source and for overlapping source and destination."""
    if not source.exists():
        raise FileNotFoundError(f"Unable to transfer the source directory {source}, as it does not exist.")
    if not source.is_dir():
        raise NotADirectoryError(f"Unable to transfer {source}, as it is not a directory.")
    if destination.exists() and not destination.is_dir():
        # The reference raises FileExistsError too, but only with the bare errno text.
        raise FileExistsError(
            f"Unable to transfer {source} to {destination}: the destination exists and is not a directory."
        )
    resolved_source = source.resolve()
    resolved_destination = destination.resolve()
    if resolved_source == resolved_destination:
        raise ValueError(f"Unable to transfer {source} to {destination}: the source and the destination are the same.")
    if resolved_destination.is_relative_to(resolved_source):
        raise ValueError(f"Unable to transfer {source} to {destination}: the destination is inside the source.")
    if resolved_source.is_relative_to(resolved_destination):
        raise ValueError(f"Unable to transfer {source} to {destination}: the source is inside the destination.")


def _make_folders(tree: DirectoryTree, destination: Path) -> None:
    """Recreates the source's folder hierarchy (empty folders too) at the destination."""
    destination.mkdir(parents=True, exist_ok=True)
    for folder in tree.folders:
        os.makedirs(destination / folder.relative, exist_ok=True)


def _copy_folder_times(tree: DirectoryTree, destination: Path) -> None:
    """Gives every destination folder its source's modification time, deepest first.

    Placing a file in a folder changes the folder's time, so children are done before their parents.
    """
    for folder in reversed(tree.folders):
        os.utime(destination / folder.relative, ns=(folder.status.st_atime_ns, folder.status.st_mtime_ns))


def _sync_folders(tree: DirectoryTree, destination: Path) -> None:
    """Flushes every destination folder, so the renames that placed the files survive a power loss."""
    for folder in [destination, *(destination / item.relative for item in tree.folders)]:
        fsync_directory(folder)


def _verify(
    source: Path,
    destination: Path,
    *,
    checked: list[TreeEntry],
    outcomes: list[_CopyOutcome],
    expected: str | None,
    workers: int,
) -> None:
    """Checks the destination against the source checksum and raises RuntimeError naming the files that differ.

    When the source had no ax_checksum.txt, the source digests computed while copying become its checksum (written
    to the source and to the destination) without reading the source a second time.
    """
    relatives = [entry.relative for entry in checked]
    copied = {
        entry.relative: (outcome.destination_digest or b"").hex()
        for entry, outcome in zip(checked, outcomes, strict=True)
    }
    actual = directory_digest(relatives, [bytes.fromhex(copied[name]) for name in relatives])
    unexpected = [
        entry.relative
        for entry in scan_tree(destination, frozenset({CHECKSUM_FILE_NAME})).files
        if entry.relative not in copied
    ]
    recorded: dict[str, str] | None
    if expected is None:
        recorded = {
            entry.relative: (outcome.source_digest or b"").hex()
            for entry, outcome in zip(checked, outcomes, strict=True)
        }
        expected = directory_digest(relatives, [bytes.fromhex(recorded[name]) for name in relatives])
        write_checksum(source, expected, recorded)
        write_checksum(destination, expected, recorded)
        source_now = recorded
    else:
        recorded = read_manifest(source, expected)
        # Only the failure path reads the source again: the files the manifest points at, or all without one.
        suspects = (
            checked if recorded is None else [e for e in checked if recorded.get(e.relative) != copied[e.relative]]
        )
        source_now = {} if actual == expected else _hash_all(suspects, workers)
    if actual == expected and not unexpected:
        return

    problems = []
    corrupted = sorted(name for name, digest in source_now.items() if digest != copied[name])
    if corrupted:
        problems.append(f"{len(corrupted)} file(s) differ from the source: {list_names(corrupted)}")
    if unexpected:
        problems.append(f"{len(unexpected)} file(s) at the destination are not in the source: {list_names(unexpected)}")
    if recorded is not None:
        changed, added, missing = compare_file_digests(recorded, {**copied, **source_now})
        if changed or added or missing:
            names = list_names([*changed, *added, *missing])
            problems.append(f"the source itself changed since its {CHECKSUM_FILE_NAME} was written: {names}")
    elif (
        actual != expected
        and directory_digest(relatives, [bytes.fromhex(source_now[n]) for n in relatives]) != expected
    ):
        problems.append(f"the source itself changed since its {CHECKSUM_FILE_NAME} was written")
    if not problems:
        problems.append(f"the destination's checksum {actual} is not the source's {expected}")
    raise RuntimeError(
        f"Checksum mismatch detected when transferring {source} to {destination}: {'; '.join(problems)}. "
        f"The source was kept."
    )


def _hash_all(entries: list[TreeEntry], workers: int) -> dict[str, str]:
    """Returns the hex digest of every entry by relative path."""
    digests = run_parallel(lambda entry: hash_file(entry.path, entry.relative), entries, workers)
    return {entry.relative: digest.hex() for entry, digest in zip(entries, digests, strict=True)}


def transfer_directory(
    source: Path,
    destination: Path,
    num_threads: int = 1,
    *,
    verify_integrity: bool = False,
    remove_source: bool = False,
    progress: bool = False,
) -> None:
    """Copies the contents of the input source directory to the destination directory, preserving its hierarchy.

    The folder hierarchy (empty folders too) is recreated first. Each file is written under a hidden temporary name
    (``.<name>.axds-partial``) and renamed once complete, with its source's permissions and modification time, so an
    interrupted transfer never leaves a truncated file under a final name. Running the same transfer again skips
    files that are already complete (same size and modification time) and finishes the rest. A symbolic link to a
    file is copied as a file; links to folders and broken links are skipped with a warning (the checksum leaves
    them out too).

    With verify_integrity, the destination is checked against the source's xxHash3-128 checksum: the source's
    ax_checksum.txt when present; otherwise the checksum is computed while copying (no extra read of the source) and
    saved to both the source and the destination. Each copied file is then re-read from the destination and hashed.

    Args:
        source: The path to the directory to be transferred.
        destination: The path to the destination directory where to move the contents of the source directory.
        num_threads: The number of threads to use for the parallel file transfer. Setting this value to a number
            below 1 instructs the function to use all available CPU threads.
        verify_integrity: Determines whether to perform integrity verification for the transferred files.
        remove_source: Determines whether to remove the source directory after the transfer is complete and
            (optionally) verified. The copied files are flushed to disk before the source is removed.
        progress: Determines whether to track the transfer progress using a progress bar (in bytes).

    Raises:
        FileNotFoundError: If the source directory does not exist.
        NotADirectoryError: If the source is not a directory.
        FileExistsError: If the destination exists and is not a directory.
        ValueError: If the source and destination are the same or one lies inside the other.
        OSError: If a file cannot be copied (for example, no space left); the message names the file, and no partial
            file is left under its final name.
        RuntimeError: If the transferred files do not pass the xxHash3-128 checksum integrity verification; the
            message names the files that differ, and the source is never removed then.
    """
    source = Path(source)
    destination = Path(destination)
    _check_locations(source, destination)
    workers = worker_count(num_threads)
    tree = scan_tree(source)
    if tree.skipped_links:
        logger.warning(
            "Skipping %d symbolic link(s) to folders or to missing targets in %s: %s",
            len(tree.skipped_links),
            source,
            ", ".join(tree.skipped_links[:5]),
        )
    expected = read_stored_checksum(source) if verify_integrity else None
    # Files named ax_checksum.txt (the checksum and its manifest) are copied but are not part of the checksum.
    checked = {entry.relative for entry in tree.files if os.path.basename(entry.relative) != CHECKSUM_FILE_NAME}
    hash_source = verify_integrity and expected is None
    _make_folders(tree, destination)

    def transfer_one(entry: TreeEntry) -> _CopyOutcome:
        target = os.path.join(destination, entry.relative)
        in_checksum = entry.relative in checked
        copied = not _is_complete_copy(target, entry.status)
        source_digest: bytes | None = None
        if copied:
            source_digest = _copy_file(
                entry, target, hash_source=hash_source and in_checksum, durable=remove_source, on_bytes=on_bytes
            )
        else:
            if remove_source:  # An earlier run may have left it unflushed; the source is about to go.
                _flush_file(target)
            if on_bytes is not None:
                on_bytes(entry.status.st_size)
            if hash_source and in_checksum:
                source_digest = hash_file(entry.path, entry.relative)
        destination_digest = hash_file(target, entry.relative) if verify_integrity and in_checksum else None
        return _CopyOutcome(source_digest, destination_digest, copied)

    ordered = _copy_order(tree.files)
    with byte_progress(tree.total_bytes, "Transferring", enabled=progress) as on_bytes:
        outcomes = run_parallel(transfer_one, ordered, workers)
    by_name = {entry.relative: outcome for entry, outcome in zip(ordered, outcomes, strict=True)}
    skipped = sum(not outcome.copied for outcome in outcomes)
    if skipped:
        logger.info("%d file(s) were already complete at %s and were not copied again", skipped, destination)

    if verify_integrity:
        checked_entries = [entry for entry in tree.files if entry.relative in checked]
        _verify(
            source,
            destination,
            checked=checked_entries,
            outcomes=[by_name[e.relative] for e in checked_entries],
            expected=expected,
            workers=workers,
        )
    _copy_folder_times(tree, destination)
    if remove_source:
        _sync_folders(tree, destination)
        delete_directory(source)
