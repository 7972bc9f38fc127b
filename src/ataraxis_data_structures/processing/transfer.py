"""Copies a directory tree safely (resumable, verified) and removes from the source only what it copied unchanged.

A transfer that removes its source trusts no single hash: every source file's state (size, modification and change
times, inode) is taken at the scan and compared after its copy, again by a second scan once all copies are done, and a
last time right before the file is unlinked. A file that changed or appeared meanwhile (a recorder still appending)
is never removed, and the call fails naming it.
"""

from __future__ import annotations

import contextlib
import errno
import itertools
import logging
import os
import stat
import warnings
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, NamedTuple, overload

from .._durable_files import fsync_directory, write_fully
from ..errors import (
    DirectoryBusyError,
    TransferRefusedError,
    TransferSourceChangedError,
    TransferVerificationError,
    UnsafePathError,
)
from ..file_locks import close_locked_descriptor, try_lock_descriptor
from ._hashing import (
    chunk_buffer,
    directory_digest,
    hash_file,
    new_file_hasher,
    require_utf8_names,
    run_parallel,
    worker_count,
)
from ._manifest import CHECKSUM_FILE_NAME, MANIFEST_FOLDER_NAME, read_manifest, read_stored_checksum, write_checksum
from ._safety import MountPointWarning, physical_path, refuse_unsafe_path
from ._tree import DirectoryTree, TreeEntry, scan_tree
from .checksum import byte_progress, compare_file_digests, list_names

if TYPE_CHECKING:
    from .fanout import DestinationReport

logger = logging.getLogger(__name__)

PARTIAL_SUFFIX = ".axds-partial"
"""Suffix of the hidden temporary name a file is written under until it is complete."""


@dataclass(frozen=True, slots=True)
class _CopyOutcome:
    """What transferring one file produced.

    The digests computed on the way (when asked for), whether it was copied (rather than found complete from an
    earlier run), and whether the source file changed since the scan.
    """

    source_digest: bytes | None
    destination_digest: bytes | None
    copied: bool
    changed: bool


def same_file_state(before: os.stat_result, after: os.stat_result, *, compare_ctime: bool = True) -> bool:
    """Returns True if two stats describe the same, unmodified file: same inode, size, modification and change time.

    The change time catches what restoring the modification time (``touch -d``, ``cp -p``) hides; the inode catches a
    file replaced by a rename. compare_ctime=False leaves the change time out, for a change this process made itself.
    """
    return (
        before.st_ino == after.st_ino
        and before.st_dev == after.st_dev
        and before.st_size == after.st_size
        and before.st_mtime_ns == after.st_mtime_ns
        and (not compare_ctime or before.st_ctime_ns == after.st_ctime_ns)
    )


def _unchanged_since_scan(entry: TreeEntry) -> bool:
    """Returns True if the source file still has the state it had at the scan (False if it is gone)."""
    try:
        return same_file_state(entry.status, os.lstat(entry.path))
    except FileNotFoundError:
        return False


def _partial_path(target: str) -> str:
    """Returns the temporary name a file is written under; a rerun after a crash reuses it."""
    folder, name = os.path.split(target)
    return os.path.join(folder, f".{name}{PARTIAL_SUFFIX}")


_PARTIAL_ATTEMPTS = 5
"""How often a temporary file is opened again after it was renamed or removed between its opening and its lock."""


def _names(path: str, descriptor: int) -> bool:
    """Returns True if path names the file open as descriptor (False if path does not exist)."""
    try:
        named = os.lstat(path)
    except FileNotFoundError:
        return False
    opened = os.fstat(descriptor)
    return (named.st_dev, named.st_ino) == (opened.st_dev, opened.st_ino)


def _remove_unlocked_partial(partial: str) -> None:
    """Removes the temporary file unless another transfer holds its lock (one nobody holds is stale)."""
    with contextlib.suppress(OSError):
        descriptor = os.open(partial, os.O_RDONLY | getattr(os, "O_BINARY", 0))
        try:
            if try_lock_descriptor(descriptor) and _names(partial, descriptor):
                os.unlink(partial)
        finally:
            close_locked_descriptor(descriptor)


def _open_partial(partial: str, target: str) -> int:
    """Returns a writable, empty descriptor of the temporary file, exclusively locked for as long as it stays open.

    Every transfer writes a file under the same temporary name, so a second transfer to the same destination must
    neither unlink nor write the first one's temporary file: it would then place a half-written copy (or the first
    would place the second's). A temporary file left by a killed run has no lock holder and is emptied and reused.

    Raises:
        DirectoryBusyError: If another transfer holds the temporary file (it is writing the same target).
    """
    for _ in range(_PARTIAL_ATTEMPTS):
        descriptor: int | None = None
        try:
            writable = True
            try:
                descriptor = os.open(partial, os.O_WRONLY | os.O_CREAT | getattr(os, "O_BINARY", 0), 0o600)
            except PermissionError as error:
                # A killed run may have left it with the source's read-only mode; flock works on a read-only
                # descriptor.
                try:
                    descriptor = os.open(partial, os.O_RDONLY | getattr(os, "O_BINARY", 0))
                except FileNotFoundError:
                    raise error from None
                writable = False
            if not try_lock_descriptor(descriptor):
                raise DirectoryBusyError(
                    f"Unable to copy to {target}: another transfer is writing that file (its temporary copy {partial} "
                    f"is locked by another process). Let that transfer finish, or stop it, before transferring again."
                )
            # The file locked must still be the one named partial: the previous holder may have renamed it into place
            # (or removed it) between this open and the lock.
            if _names(partial, descriptor):
                if writable:
                    os.ftruncate(descriptor, 0)
                    return descriptor
                os.unlink(partial)  # A stale read-only copy, locked by this run: removed and created anew.
        except BaseException:
            # Also on Ctrl+C, which can land right after the file was created, before its descriptor was kept.
            if descriptor is not None:
                close_locked_descriptor(descriptor)
            _remove_unlocked_partial(partial)
            raise
        close_locked_descriptor(descriptor)
    raise DirectoryBusyError(
        f"Unable to copy to {target}: its temporary copy {partial} was replaced {_PARTIAL_ATTEMPTS} times while this "
        f"transfer opened it; another transfer is writing the same destination."
    )


def _is_complete_copy(target: str, source: os.stat_result) -> bool:
    """Returns True if target already holds a finished copy: a regular file with the source's size and mtime.

    Only renamed (finished) files carry the source's modification time, so this check never accepts a file
    interrupted mid-copy; with verification on, its content is hashed and compared anyway. A link at the target is
    never accepted (it is replaced by a copy).
    """
    try:
        existing = os.lstat(target)
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


class _ReadResult(NamedTuple):
    """What copying one file learned about its source."""

    digest: bytes | None
    """The digest of the bytes read (when asked for)."""
    changed: bool
    """Whether the source changed since the scan: while it was read, or replaced or removed by the time its copy
    was placed."""


def _copy_file(
    entry: TreeEntry,
    target: str,
    *,
    hash_source: bool,
    durable: bool,
    on_bytes: Callable[[int], None] | None,
) -> _ReadResult:
    """Copies one file to a temporary name, then renames it to target.

    Raises:
        OSError: If reading or writing fails (for example, the disk is full); the partial file is removed and the
            message names the file.
    """
    partial = _partial_path(target)
    hasher = new_file_hasher(entry.relative) if hash_source else None
    view = chunk_buffer()
    descriptor: int | None = None
    try:
        with open(entry.path, "rb", buffering=0) as reader:
            descriptor = _open_partial(partial, target)
            while count := reader.readinto(view):
                chunk = view[:count]
                if hasher is not None:
                    hasher.update(chunk)
                write_fully(descriptor, chunk)
                if on_bytes is not None:
                    on_bytes(count)
            if durable:
                os.fsync(descriptor)
            read_state = os.fstat(reader.fileno())
        # Through the locked descriptor: the lock, held until the rename, keeps the name partial this run's file.
        os.fchmod(descriptor, stat.S_IMODE(entry.status.st_mode))
        os.utime(descriptor, ns=(entry.status.st_atime_ns, entry.status.st_mtime_ns))
        os.replace(partial, target)
    except BaseException as error:  # Also on Ctrl+C: leave no partial file behind.
        if descriptor is not None:  # Only this run's (locked) partial file; never another transfer's.
            with contextlib.suppress(OSError):
                os.unlink(partial)
        else:
            _remove_unlocked_partial(partial)
        if not isinstance(error, OSError):
            raise
        reason = "no space left on the destination" if error.errno == errno.ENOSPC else (error.strerror or str(error))
        raise OSError(error.errno, f"Unable to copy {entry.path} to {target}: {reason}") from error
    finally:
        if descriptor is not None:
            close_locked_descriptor(descriptor)
    changed = not same_file_state(entry.status, read_state) or not _unchanged_since_scan(entry)
    return _ReadResult(hasher.digest() if hasher is not None else None, changed)


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
    """Raises a clear error for a linked, missing or non-directory source and for overlapping locations."""
    if source.is_symlink():
        raise TransferRefusedError(
            f"Unable to transfer {source}: it is a symbolic link (to {os.readlink(source)}), not a real directory; "
            f"removing the source afterwards would remove only the link. Pass the directory the link resolves to."
        )
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
        raise UnsafePathError(
            f"Unable to transfer {source} to {destination}: the source and the destination are the same."
        )
    if resolved_destination.is_relative_to(resolved_source):
        raise UnsafePathError(f"Unable to transfer {source} to {destination}: the destination is inside the source.")
    if resolved_source.is_relative_to(resolved_destination):
        raise UnsafePathError(f"Unable to transfer {source} to {destination}: the source is inside the destination.")
    _check_identities(source, destination, resolved_source, resolved_destination)


def _identity(path: Path) -> tuple[int, int] | None:
    """Returns the device and inode of the folder at path, or None if it does not exist."""
    try:
        status = os.stat(path)
    except FileNotFoundError:
        return None
    return status.st_dev, status.st_ino


def _check_identities(source: Path, destination: Path, resolved_source: Path, resolved_destination: Path) -> None:
    """Refuses a source and destination that are, or hold, one another under paths that differ as text.

    A bind mount (or a second mount of one filesystem) reaches one folder by two paths that resolve differently; every
    file there would count as already copied and removing the source would remove the only copy.
    """
    source_identity = _identity(resolved_source)
    destination_identity = _identity(resolved_destination)
    for folder in (resolved_destination, *resolved_destination.parents):
        if _identity(folder) == source_identity:
            where = "is the source" if folder == resolved_destination else f"is inside the source (as {folder})"
            raise TransferRefusedError(
                f"Unable to transfer {source} to {destination}: the destination {where}, reached through another "
                f"path (same device and inode; a bind mount or a second mount of one filesystem). Nothing was written."
            )
    if destination_identity is None:
        return
    for folder in resolved_source.parents:
        if _identity(folder) == destination_identity:
            raise TransferRefusedError(
                f"Unable to transfer {source} to {destination}: the source is inside the destination, which is "
                f"{folder} reached through another path (same device and inode; a bind mount or a second mount of "
                f"one filesystem). Nothing was written."
            )


def _check_source_entries(source: Path, tree: DirectoryTree) -> None:
    """Refuses a source holding symbolic links or special files, which no copy carries over faithfully (as 7.2.0)."""
    if tree.links:
        raise TransferRefusedError(
            f"Unable to transfer {source}: it holds {len(tree.links)} symbolic link(s), which mean something only on "
            f"the filesystem that holds them (copying one either drops the data it stands for or leaves a dangling "
            f"entry). Replace them with the data they point to: {list_names(tree.links)}."
        )
    if tree.special:
        raise TransferRefusedError(
            f"Unable to transfer {source}: it holds {len(tree.special)} entries that are neither files nor folders "
            f"(FIFOs, sockets, devices), which cannot be copied: {list_names(tree.special)}."
        )


def _dirty_files(destination: Path, tree: DirectoryTree, *, writes_checksum: bool) -> list[str]:
    """Returns the destination's files (and links) the source does not account for, by relative path.

    The top-level checksum and its manifest count only when the transfer does not write them (writes_checksum), and
    the temporary copy of a source file left by an interrupted run is replaced by that file's copy, so it never
    counts. Checksum files deeper in the destination are left by something else and count as any other file.
    """
    if not destination.is_dir():
        return []
    known = {entry.relative for entry in tree.files}
    if writes_checksum:
        known.update((CHECKSUM_FILE_NAME, os.path.join(MANIFEST_FOLDER_NAME, CHECKSUM_FILE_NAME)))
    existing = scan_tree(destination)
    dirty = []
    for name in itertools.chain((entry.relative for entry in existing.files), existing.skipped_links, existing.special):
        folder, base = os.path.split(name)
        if name in known:
            continue
        partial_of = base[1 : -len(PARTIAL_SUFFIX)] if base.startswith(".") and base.endswith(PARTIAL_SUFFIX) else ""
        if partial_of and os.path.join(folder, partial_of) in known:
            continue
        dirty.append(name)
    return sorted(dirty)


def _clean_destination(
    source: Path, destination: Path, tree: DirectoryTree, *, reset: bool, writes_checksum: bool
) -> None:
    """Refuses a destination holding files the source does not have, or removes those files when reset is set."""
    dirty = _dirty_files(destination, tree, writes_checksum=writes_checksum)
    if not dirty:
        return
    if not reset:
        raise TransferRefusedError(
            f"Unable to transfer {source} to {destination}: the destination holds {len(dirty)} file(s) the source "
            f"does not have, which would fail the transfer's integrity check and mix two recordings. Remove them, or "
            f"pass reset_dirty_destination=True to have the transfer remove them: {list_names(dirty)}."
        )
    for name in dirty:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(destination / name)
    logger.info("Removed %d file(s) the source does not have from %s: %s", len(dirty), destination, list_names(dirty))


class _SourceChanges(NamedTuple):
    """What happened to a transfer's source after its scan, by relative path, each sorted."""

    changed: list[str]
    """Files that changed or vanished."""
    appeared: list[str]
    """Files, links, special files and folders (with a trailing separator) that were created."""


def _source_changes(source: Path, tree: DirectoryTree, changed_while_copied: list[str]) -> _SourceChanges:
    """Returns the source files that changed (or vanished) and the entries that appeared since the scan.

    A second scan catches files created after the first one and changes made after a file's copy was placed.
    """
    now = scan_tree(source)
    before = {entry.relative: entry.status for entry in tree.files}
    changed = set(changed_while_copied)
    appeared = []
    seen = set()
    for entry in now.files:
        seen.add(entry.relative)
        status = before.get(entry.relative)
        if status is None:
            appeared.append(entry.relative)
        elif not same_file_state(status, entry.status):
            changed.add(entry.relative)
    changed.update(name for name in before if name not in seen)
    old_folders = {folder.relative for folder in tree.folders}
    appeared.extend(folder.relative + os.sep for folder in now.folders if folder.relative not in old_folders)
    appeared.extend(name for name in (*now.skipped_links, *now.special) if name not in seen)
    return _SourceChanges(sorted(changed), sorted(appeared))


def _report_source_changes(
    source: Path, destination: Path, changed: list[str], appeared: list[str], *, fail: bool
) -> None:
    """Fails (when the transfer verifies or removes its source) or warns, naming what changed in the source."""
    parts = []
    if changed:
        parts.append(f"{len(changed)} file(s) changed or vanished: {list_names(changed)}")
    if appeared:
        parts.append(f"{len(appeared)} entries appeared: {list_names(appeared)}")
    what = f"The source {source} changed while it was transferred to {destination} ({'; '.join(parts)})"
    advice = "transfer again once nothing writes to the source (complete copies are not made again)."
    if fail:
        raise TransferSourceChangedError(
            f"{what}. Nothing was removed from the source and no checksum was written: the copies of changed files "
            f"may be incomplete and new files were not copied; {advice}"
        )
    warnings.warn(
        f"{what}: the copies of changed files may be incomplete and new files were not copied; {advice}",
        stacklevel=3,
    )


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
    write_source: bool,
) -> None:
    """Checks the destination against the source checksum and raises TransferVerificationError naming the files.

    When the source had no ax_checksum.txt, the digests of the bytes read from the source while copying become its
    checksum (written to the destination, and to the source unless it is about to be removed), without reading the
    source a second time. That the source still holds those bytes is what the file state checks establish.
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
        if write_source:
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
        differences = compare_file_digests(recorded, {**copied, **source_now})
        if differences.changed or differences.added or differences.missing:
            names = list_names([*differences.changed, *differences.added, *differences.missing])
            problems.append(f"the source itself changed since its {CHECKSUM_FILE_NAME} was written: {names}")
    elif (
        actual != expected
        and directory_digest(relatives, [bytes.fromhex(source_now[n]) for n in relatives]) != expected
    ):
        problems.append(f"the source itself changed since its {CHECKSUM_FILE_NAME} was written")
    if not problems:
        problems.append(f"the destination's checksum {actual} is not the source's {expected}")
    raise TransferVerificationError(
        f"Checksum mismatch detected when transferring {source} to {destination}: {'; '.join(problems)}. "
        f"The source was kept."
    )


def _require_copies_match(
    source: Path, destination: Path, outcomes: list[_CopyOutcome], checked: list[TreeEntry]
) -> None:
    """Raises TransferVerificationError naming each file whose copy differs from the source's current content.

    The stored checksum vouches only for the content it was computed from; before the source is removed, each
    destination file must also match the source file it replaces.
    """
    differing = [
        entry.relative
        for entry, outcome in zip(checked, outcomes, strict=True)
        if outcome.source_digest is None or outcome.source_digest != outcome.destination_digest
    ]
    if differing:
        raise TransferVerificationError(
            f"Checksum mismatch detected when transferring {source} to {destination}: {len(differing)} file(s) at the "
            f"destination differ from the source's current content (copies from an earlier run with the same size "
            f"and modification time, while the source's {CHECKSUM_FILE_NAME} describes the old content): "
            f"{list_names(sorted(differing))}. The source was kept; remove those copies and transfer again."
        )


def _hash_all(entries: list[TreeEntry], workers: int) -> dict[str, str]:
    """Returns the hex digest of every entry by relative path."""
    digests = run_parallel(lambda entry: hash_file(entry.path, entry.relative), entries, workers)
    return {entry.relative: digest.hex() for entry, digest in zip(entries, digests, strict=True)}


_BATCH = 256
"""Source files checked and unlinked per task when the source is removed."""


def _remove_batch(entries: list[TreeEntry]) -> list[str]:
    """Unlinks each file that is still exactly as scanned (and copied); returns the relative paths of those kept.

    Unlinking one name of a hard-linked file changes its change time, so for a file whose other names this batch
    removed, a change time that moved together with a link count lowered by exactly that many is not a change.
    """
    kept = []
    unlinked: dict[tuple[int, int], int] = {}
    for entry in entries:
        try:
            now = os.lstat(entry.path)
        except FileNotFoundError:
            continue
        identity = (entry.status.st_dev, entry.status.st_ino)
        removed = unlinked.get(identity, 0)
        if not same_file_state(entry.status, now) and not (
            removed
            and now.st_nlink == entry.status.st_nlink - removed
            and same_file_state(entry.status, now, compare_ctime=False)
        ):
            kept.append(entry.relative)
            continue
        with contextlib.suppress(FileNotFoundError):
            os.unlink(entry.path)
            if entry.status.st_nlink > 1:
                unlinked[identity] = removed + 1
    return kept


def _remaining_entries(source: Path, shown: int = 10, mounts: frozenset[str] = frozenset()) -> list[str]:
    """Returns up to shown entries still under source, by relative path (folders end with a separator).

    Empty folders that are mount points (mounts) are not listed: they cannot be removed.
    """
    remaining: list[str] = []
    for folder, folders, files in os.walk(source):
        relative = os.path.relpath(folder, source)
        empty = [
            name + os.sep
            for name in folders
            if os.path.join(folder, name) not in mounts and not os.listdir(os.path.join(folder, name))
        ]
        for name in [*files, *empty]:
            remaining.append(name if relative == "." else os.path.join(relative, name))
            if len(remaining) >= shown:
                return remaining
    return remaining


def _remove_source(source: Path, destination: Path, tree: DirectoryTree) -> None:
    """Removes the source's scanned files that are still unchanged, then its folders that are left empty.

    Raises:
        TransferSourceChangedError: If anything is left in the source (a file changed right before its removal, an
            entry appeared); it names what is left. The destination holds a complete copy of what was removed.
    """
    single = [entry for entry in tree.files if entry.status.st_nlink == 1]
    batches = [single[start : start + _BATCH] for start in range(0, len(single), _BATCH)]
    # Every name of a hard-linked file goes to one batch, which tells the change its own unlinks made from others'.
    if linked := [entry for entry in tree.files if entry.status.st_nlink != 1]:
        batches.append(linked)
    # Unlinking waits on the disk more than on the CPU (see deletion.py), so more threads than cores help.
    with ThreadPoolExecutor(max_workers=min(16, max(1, len(batches)))) as pool:
        kept = sorted(itertools.chain.from_iterable(pool.map(_remove_batch, batches)))
    # Folders are sorted by relative path, so a parent always comes before its children: reversed, children go first.
    mounts: list[str] = []  # mount points (the source itself, or a filesystem mounted in it): emptied, never removable
    for folder in [*(entry.path for entry in reversed(tree.folders)), str(source)]:
        try:
            os.rmdir(folder)
        except FileNotFoundError:
            pass
        except OSError as error:
            if error.errno == errno.EBUSY:
                mounts.append(folder)
            elif error.errno not in (errno.ENOTEMPTY, errno.EEXIST):
                raise OSError(error.errno, f"Unable to remove the source folder {folder}: {error.strerror}") from error
    if not os.path.lexists(source):
        return
    left = _remaining_entries(source, mounts=frozenset(mounts))
    if not kept and not left and mounts:
        # Every file was moved (and verified, when asked); only folders that cannot go are left, empty.
        warnings.warn(
            f"Transferred {source} to {destination} and removed every source file, but {len(mounts)} mount point(s) "
            f"stay, empty, as they cannot be removed while mounted: {', '.join(sorted(mounts))}.",
            MountPointWarning,
            stacklevel=3,
        )
        return
    detail = f"{len(kept)} file(s) changed right before their removal and were kept: {list_names(kept)}; " * bool(kept)
    raise TransferSourceChangedError(
        f"{destination} holds a complete copy of {source}, but the source was not removed entirely: {detail}"
        f"the source still holds {', '.join(left) or 'entries that appeared meanwhile'}. Only files copied (and "
        f"verified, when asked) unchanged were removed; what is left is the only copy of its current content."
    )


@overload
def transfer_directory(  # type: ignore[overload-overlap]  # a str is a Sequence too; it means one destination
    source: Path,
    destination: Path | str,
    num_threads: int = 1,
    *,
    verify_integrity: bool = False,
    remove_source: bool = False,
    progress: bool = False,
    reset_dirty_destination: bool = False,
) -> None: ...


@overload
def transfer_directory(
    source: Path,
    destination: Sequence[Path | str],
    num_threads: int = 1,
    *,
    verify_integrity: bool = False,
    remove_source: bool = False,
    progress: bool = False,
    reset_dirty_destination: bool = False,
) -> list[DestinationReport]: ...


def transfer_directory(
    source: Path,
    destination: Path | str | Sequence[Path | str],
    num_threads: int = 1,
    *,
    verify_integrity: bool = False,
    remove_source: bool = False,
    progress: bool = False,
    reset_dirty_destination: bool = False,
) -> list[DestinationReport] | None:
    """Copies the contents of the input source directory to the destination directory, preserving its hierarchy.

    The folder hierarchy (empty folders too) is recreated first. Each file is written under a hidden temporary name
    (``.<name>.axds-partial``) and renamed once complete, with its source's permissions and modification time, so an
    interrupted transfer never leaves a truncated file under a final name. Running the same transfer again skips
    files that are already complete (same size and modification time) and finishes the rest. A temporary file is
    locked while it is written, so a second transfer to the same destination fails rather than place a copy the
    first one has not finished.

    As 7.2.0, a source that is or holds a symbolic link is refused (so is one holding FIFOs, sockets or devices), and
    so is a destination holding files the source does not have, unless reset_dirty_destination removes them; both
    checks run before anything is written.

    With verify_integrity, the destination is checked against the source's xxHash3-128 checksum: the source's
    ax_checksum.txt when present; otherwise the checksum of the bytes read while copying (no extra read of the
    source), saved to the destination (and to the source, unless it is removed). Each copied file is re-read from the
    destination and hashed. With remove_source too, every source file is hashed (while copied, or apart when skipped)
    and must match its copy, so a stale ax_checksum.txt cannot vouch for a copy of older content.

    The state of every source file (size, modification and change times, inode) is compared with its state at the
    scan after its copy, in a second scan once all copies are done, and right before it is removed. With
    verify_integrity or remove_source, a file that changed or appeared during the transfer (a recorder still
    writing) fails the call with TransferSourceChangedError naming it, before anything is removed; otherwise it is
    named in a warning. remove_source unlinks only files still unchanged, and removes a folder only once it is empty.
    A folder that cannot be removed because it is a mount point (the source itself, or a filesystem mounted in it)
    stays, empty, and a MountPointWarning names it: the files were moved, so the call succeeds.

    Several destinations (a list or tuple of paths) are served by one read of the source: each file is written to
    every destination at once, and each copy is flushed, dropped from the page cache and read back, its digest
    compared with the bytes read from the source, whatever verify_integrity says. A rerun resumes each destination.
    remove_source then removes the source only once every destination verified. The call returns one
    DestinationReport per destination, or raises TransferVerificationError (its ``reports`` attribute holding
    them) if any destination is not complete and verified; the source is kept then.

    Args:
        source: The path to the directory to be transferred.
        destination: The path to the destination directory where to move the contents of the source directory, or
            a sequence of such paths (one read of the source, every copy verified).
        num_threads: The number of threads to use for the parallel file transfer. Setting this value to a number
            below 1 instructs the function to use all available CPU threads.
        verify_integrity: Determines whether to perform integrity verification for the transferred files.
        remove_source: Determines whether to remove the source directory after the transfer is complete and
            (optionally) verified. The copied files are flushed to disk before the source is removed.
        progress: Determines whether to track the transfer progress using a progress bar (in bytes).
        reset_dirty_destination: Determines whether to delete the destination files the source does not have,
            rather than refusing the transfer when any are found.

    Returns:
        None for one destination; for a sequence of destinations, one DestinationReport per destination (files
        copied, already there and verified, bytes, seconds, first mismatch), in the order given.

    Raises:
        UnsafePathError: A ValueError, if remove_source is set and source (or reset_dirty_destination is set and
            destination) is empty, names the working directory relatively, or is the root or the home directory.
        FileNotFoundError: If the source directory does not exist.
        NotADirectoryError: If the source is not a directory.
        FileExistsError: If the destination exists and is not a directory.
        UnsafePathError: A ValueError, also if the source and destination are the same or one lies inside the other.
        TransferRefusedError: A RuntimeError, also if the source and destination are the same folder, or one lies
            inside the other, reached through paths that differ (a bind mount).
        DirectoryBusyError: A RuntimeError, if another transfer is writing one of the destination's files.
        FileNameEncodingError: A ValueError, if verify_integrity is set and a file name is not valid UTF-8.
        ChecksumFileError: A RuntimeError (and a ValueError), if verify_integrity is set and the source's
            ax_checksum.txt holds no checksum. Nothing is written then.
        TransferRefusedError: A RuntimeError, if the source is or holds a symbolic link or a special file, if
            verify_integrity is set and the source holds no file to verify, or if the destination holds files the
            source does not have and reset_dirty_destination is not set. Nothing is written then.
        OSError: If a file cannot be copied (for example, no space left); the message names the file, and no partial
            file is left under its final name.
        TransferVerificationError: A RuntimeError, if the transferred files do not pass the checksum verification;
            the message names the files that differ, and the source is never removed then.
        TransferSourceChangedError: A TransferVerificationError, if the source changed during a transfer that
            verifies or removes it; the message names the files, and nothing is removed.
    """
    if not isinstance(destination, str | os.PathLike):
        from .fanout import transfer_to_destinations  # fanout builds on this module: imported when used

        return transfer_to_destinations(
            source,
            destination,
            num_threads,
            remove_source=remove_source,
            progress=progress,
            reset_dirty_destination=reset_dirty_destination,
        )
    source = Path(source)
    destination = Path(destination)
    if remove_source:
        refuse_unsafe_path(source, "source", "transfer and remove")
    if reset_dirty_destination:
        refuse_unsafe_path(destination, "destination", "reset")
    # Removal acts on the folder the OS means by the given path (`src/sub/..` would stop existing once `sub` is
    # removed); a final link is kept, so that the link itself is refused.
    source = Path(physical_path(source))
    _check_locations(source, destination)
    workers = worker_count(num_threads)
    tree = scan_tree(source)
    _check_source_entries(source, tree)
    # Files named ax_checksum.txt (the checksum and its manifest) are copied but are not part of the checksum.
    checked = {entry.relative for entry in tree.files if os.path.basename(entry.relative) != CHECKSUM_FILE_NAME}
    if verify_integrity:
        # Checked before the stored checksum is read, as 7.2.0 does: a source holding only an ax_checksum.txt (even a
        # malformed one) has nothing to cover, and callers catch this RuntimeError with 7.2.0's words.
        if not checked:
            raise TransferRefusedError(
                f"Unable to transfer the source directory {source} with integrity verification enabled, as the "
                f"directory holds no file the checksum can cover. Disable the 'verify_integrity' flag to transfer a "
                f"directory tree that stores no data."
            )
        require_utf8_names(tree.files, source)
    expected = read_stored_checksum(source) if verify_integrity else None
    # A source about to be removed is hashed even with a stored checksum: that checksum may be stale, and a file
    # skipped as complete (same size and modification time) may still differ from its copy.
    hash_source = verify_integrity and (expected is None or remove_source)
    _clean_destination(source, destination, tree, reset=reset_dirty_destination, writes_checksum=verify_integrity)
    _make_folders(tree, destination)

    def transfer_one(entry: TreeEntry) -> _CopyOutcome:
        target = os.path.join(destination, entry.relative)
        in_checksum = entry.relative in checked
        copied = not _is_complete_copy(target, entry.status)
        source_digest: bytes | None = None
        if copied:
            read = _copy_file(
                entry, target, hash_source=hash_source and in_checksum, durable=remove_source, on_bytes=on_bytes
            )
            source_digest, changed = read.digest, read.changed
        else:
            if remove_source:  # An earlier run may have left it unflushed; the source is about to go.
                _flush_file(target)
            if on_bytes is not None:
                on_bytes(entry.status.st_size)
            if hash_source and in_checksum:
                source_digest = hash_file(entry.path, entry.relative)
            changed = not _unchanged_since_scan(entry)
        destination_digest = hash_file(target, entry.relative) if verify_integrity and in_checksum else None
        return _CopyOutcome(source_digest, destination_digest, copied, changed)

    ordered = _copy_order(tree.files)
    with byte_progress(tree.total_bytes, "Transferring", enabled=progress) as on_bytes:
        outcomes = run_parallel(transfer_one, ordered, workers)
    by_name = {entry.relative: outcome for entry, outcome in zip(ordered, outcomes, strict=True)}
    skipped = sum(not outcome.copied for outcome in outcomes)
    if skipped:
        logger.info("%d file(s) were already complete at %s and were not copied again", skipped, destination)

    changes = _source_changes(source, tree, [name for name, outcome in by_name.items() if outcome.changed])
    if changes.changed or changes.appeared:
        _report_source_changes(
            source, destination, changes.changed, changes.appeared, fail=verify_integrity or remove_source
        )
    if verify_integrity:
        checked_entries = [entry for entry in tree.files if entry.relative in checked]
        _verify(
            source,
            destination,
            checked=checked_entries,
            outcomes=[by_name[e.relative] for e in checked_entries],
            expected=expected,
            workers=workers,
            write_source=not remove_source,
        )
        if remove_source:
            _require_copies_match(source, destination, [by_name[e.relative] for e in checked_entries], checked_entries)
    _copy_folder_times(tree, destination)
    if remove_source:
        _sync_folders(tree, destination)
        _remove_source(source, destination, tree)
    return None
