"""Standard manifests any institution can check (``sha256sum -c``, BagIt validators) and per-file check reports.

Beside the xxHash3-128 ``ax_checksum.txt`` (which only this library and the releases read), a directory can carry:

- ``manifest-sha256.txt``: ``sha256sum`` output for every file (``cd DIR && sha256sum -c manifest-sha256.txt``),
  written inside the directory. It lists neither itself nor ``ax_checksum.txt`` files, and is written before the
  xxHash3 checksum, so ``ax_checksum.txt`` covers it and the releases keep verifying the directory.
- a BagIt bag (RFC 8493) beside the directory (``DIR.bag`` by default): BagIt requires the payload under ``data/``,
  and moving the session's files there would change every path the lab's scripts (and the stored xxHash3 checksum,
  which hashes relative paths) rely on. So the folder is left as it is and the bag's ``data/`` holds hard links to its
  files: no data is copied on the same filesystem (files are copied where hard links cannot be made), the session
  stays usable, and the bag is complete for any validator.

check_directory compares a directory with a manifest (ours, a ``sha256sum`` file or a bag) and names every file
same / differs / missing / extra, as rclone's check does.
"""

from __future__ import annotations

import datetime
import errno
import hashlib
import os
import shutil
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path
from typing import Literal

from .._durable_files import fsync_directory, write_text_atomically
from ._hashing import chunk_buffer, directory_digest, hash_entries, run_parallel, worker_count
from ._manifest import CHECKSUM_FILE_NAME, read_manifest, read_stored_checksum
from ._tree import DirectoryTree, TreeEntry
from .checksum import _scan_for_checksum, byte_progress, describe_differences
from .transfer import _check_source_entries

SHA256_MANIFEST_NAME = "manifest-sha256.txt"
"""The name of the sha256sum-compatible manifest (the name BagIt gives its payload manifest)."""

FileStatus = Literal["same", "differs", "missing", "extra"]


def sha256_file(path: str, on_bytes: Callable[[int], None] | None = None) -> str:
    """Returns the hex SHA-256 of the file at path (as ``sha256sum`` prints it)."""
    hasher = hashlib.sha256()
    view = chunk_buffer()
    with open(path, "rb", buffering=0) as stream:
        while count := stream.readinto(view):
            hasher.update(view[:count])
            if on_bytes is not None:
                on_bytes(count)
    return hasher.hexdigest()


def _sha256_all(entries: Sequence[TreeEntry], num_processes: int | None, progress: bool) -> list[str]:
    """Returns the SHA-256 of every entry, in order, hashed by parallel threads (hashlib releases the GIL)."""
    with byte_progress(sum(e.status.st_size for e in entries), "Hashing (SHA-256)", enabled=progress) as on_bytes:
        return run_parallel(lambda entry: sha256_file(entry.path, on_bytes), entries, worker_count(num_processes))


def _sha256sum_line(digest: str, name: str) -> str:
    """Returns one ``sha256sum`` line; a name with a backslash or newline is escaped the way GNU sha256sum does."""
    if "\\" in name or "\n" in name or "\r" in name:
        escaped = name.replace("\\", "\\\\").replace("\n", "\\n").replace("\r", "\\r")
        return f"\\{digest}  {escaped}\n"
    return f"{digest}  {name}\n"


def _posix(relative: str) -> str:
    """Returns a relative path with forward slashes, as manifests write it on every platform."""
    return relative.replace(os.sep, "/")


def _payload(directory: Path, skip: frozenset[str]) -> DirectoryTree:
    """Returns the files a manifest covers: every file, without those at the top named in skip."""
    tree = _scan_for_checksum(directory, set())
    tree.files = [entry for entry in tree.files if entry.relative not in skip]
    return tree


def write_sha256_manifest(directory: Path, num_processes: int | None = None, *, progress: bool = False) -> Path:
    """Writes DIR/manifest-sha256.txt, a ``sha256sum`` manifest of every file under directory.

    ``cd DIR && sha256sum -c manifest-sha256.txt`` verifies it with the standard tool. The manifest lists neither
    itself nor files named ax_checksum.txt (the xxHash3 checksum and its per-file manifest, which change whenever the
    checksum is saved again). Calculate the xxHash3 checksum after writing it, so the checksum covers it.

    Args:
        directory: The directory to describe.
        num_processes: The number of hashing threads; None (or below 1) uses all cores.
        progress: Determines whether to show a progress bar (in bytes).

    Returns:
        The path of the manifest written (atomically).

    Raises:
        FileNotFoundError: If the directory does not exist.
        NotADirectoryError: If the path is not a directory.
        ChecksumError: A ValueError, if the directory holds no file to list.
    """
    directory = Path(directory)
    tree = _payload(directory, frozenset({SHA256_MANIFEST_NAME}))
    files = [entry for entry in tree.files if os.path.basename(entry.relative) != CHECKSUM_FILE_NAME]
    digests = _sha256_all(files, num_processes, progress)
    text = "".join(_sha256sum_line(d, _posix(e.relative)) for e, d in zip(files, digests, strict=True))
    path = directory / SHA256_MANIFEST_NAME
    write_text_atomically(path, text)
    return path


def _bag_name(relative: str) -> str:
    """Returns a payload path as a BagIt manifest writes it (RFC 8493 2.1.3: CR, LF and % percent-encoded)."""
    return "data/" + _posix(relative).replace("%", "%25").replace("\n", "%0A").replace("\r", "%0D")


def _place(source: str, target: str) -> None:
    """Hard-links source as target, or copies it where a hard link cannot be made (another filesystem)."""
    os.makedirs(os.path.dirname(target), exist_ok=True)
    try:
        os.link(source, target)
    except OSError as error:
        if error.errno not in (errno.EXDEV, errno.EPERM, errno.EMLINK, errno.ENOTSUP):
            raise
        shutil.copy2(source, target)


def make_bag(
    directory: Path, bag: Path | None = None, num_processes: int | None = None, *, progress: bool = False
) -> Path:
    """Writes a BagIt (RFC 8493, version 1.0) bag of directory beside it, leaving the directory as it is.

    The bag holds ``bagit.txt``, ``bag-info.txt`` (Bagging-Date, Payload-Oxum, Bag-Software-Agent),
    ``manifest-sha256.txt``, ``tagmanifest-sha256.txt`` and ``data/``, whose files are hard links to the directory's
    (copies across filesystems). BagIt requires the payload under ``data/``; a bag made in place would move the
    session's files and change their paths, which the lab's scripts and the xxHash3 checksum rely on. The bag is
    assembled under a temporary name and renamed once complete.

    Args:
        directory: The directory to bag (every file, ax_checksum.txt included).
        bag: Where to create the bag; defaults to ``<directory>.bag`` beside it. It must not exist.
        num_processes: The number of hashing threads; None (or below 1) uses all cores.
        progress: Determines whether to show a progress bar (in bytes).

    Returns:
        The bag's path.

    Raises:
        FileExistsError: If the bag's path exists.
        TransferRefusedError: A RuntimeError, if the directory holds symbolic links or special files.
        ChecksumError: A ValueError, if the directory holds no file.
    """
    directory = Path(directory)
    bag = Path(bag) if bag is not None else directory.with_name(directory.name + ".bag")
    if os.path.lexists(bag):
        raise FileExistsError(f"Unable to bag {directory} as {bag}: that path exists. Remove it or choose another.")
    tree = _payload(directory, frozenset())
    _check_source_entries(directory, tree)
    digests = _sha256_all(tree.files, num_processes, progress)
    building = bag.with_name(f".{bag.name}.axds-partial")
    shutil.rmtree(building, ignore_errors=True)  # left by an interrupted run
    for folder in tree.folders:
        os.makedirs(building / "data" / folder.relative, exist_ok=True)
    (building / "data").mkdir(parents=True, exist_ok=True)
    for entry in tree.files:
        _place(entry.path, str(building / "data" / entry.relative))
    manifest = "".join(f"{d}  {_bag_name(e.relative)}\n" for e, d in zip(tree.files, digests, strict=True))
    (building / SHA256_MANIFEST_NAME).write_text(manifest, encoding="utf-8", newline="\n")
    (building / "bagit.txt").write_text(
        "BagIt-Version: 1.0\nTag-File-Character-Encoding: UTF-8\n", encoding="utf-8", newline="\n"
    )
    oxum = f"{tree.total_bytes}.{len(tree.files)}"
    info = (
        f"Bag-Software-Agent: ataraxis-data-structures {_version()}\n"
        f"Bagging-Date: {datetime.date.today().isoformat()}\n"
        f"Payload-Oxum: {oxum}\n"
        f"Source-Organization-Folder: {_posix(str(directory.resolve()))}\n"
    )
    (building / "bag-info.txt").write_text(info, encoding="utf-8", newline="\n")
    tags = "".join(
        f"{sha256_file(str(building / name))}  {name}\n" for name in ("bag-info.txt", "bagit.txt", SHA256_MANIFEST_NAME)
    )
    (building / "tagmanifest-sha256.txt").write_text(tags, encoding="utf-8", newline="\n")
    os.replace(building, bag)
    fsync_directory(bag.parent)
    return bag


def _version() -> str:
    """Returns this library's installed version (or 'unknown' when run from a source tree)."""
    try:
        return metadata.version("ataraxis-data-structures")
    except metadata.PackageNotFoundError:
        return "unknown"


@dataclass(frozen=True, slots=True)
class FileCheck:
    """One file's state against a manifest."""

    relative: str
    """The file's path relative to the checked directory, with forward slashes."""
    status: FileStatus
    """same (content as listed), differs (other content), missing (listed, not found) or extra (found, not listed)."""


@dataclass(frozen=True, slots=True)
class DirectoryCheck:
    """The outcome of check_directory: every file's state, and a one-line summary."""

    directory: Path
    """The checked directory."""
    manifest: Path
    """The manifest (or ax_checksum.txt) the directory was checked against."""
    files: tuple[FileCheck, ...]
    """Every file listed or found, sorted by path. Empty when only a whole-directory digest was available."""
    matches: bool
    """True if nothing differs, is missing or is extra (and, for ax_checksum.txt, the digest matches)."""
    summary: str
    """A one-line, human-readable summary."""

    def count(self, status: FileStatus) -> int:
        """Returns the number of files with the given status."""
        return sum(check.status == status for check in self.files)

    def describe(self) -> str:
        """Returns the summary line."""
        return self.summary


def _statuses(expected: dict[str, str], actual: dict[str, str]) -> tuple[FileCheck, ...]:
    """Returns every file's status from the listed and the current digests, sorted by path."""
    checks = []
    for name in sorted(expected.keys() | actual.keys()):
        if name not in actual:
            status: FileStatus = "missing"
        elif name not in expected:
            status = "extra"
        else:
            status = "same" if expected[name] == actual[name] else "differs"
        checks.append(FileCheck(name, status))
    return tuple(checks)


def _parse_sha256sum(path: Path, strip_data: bool) -> dict[str, str]:
    """Returns {relative path: sha256} from a sha256sum (or BagIt) manifest.

    Raises:
        ValueError: If a line is not ``<64 hex digits> <name>``; the message names the file and line.
    """
    listed: dict[str, str] = {}
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        if not line.strip():
            continue
        escaped = line.startswith("\\")
        digest, _, name = line.removeprefix("\\").partition(" ")
        name = name[1:] if name.startswith(("*", " ")) else name
        if len(digest) != 64 or any(c not in "0123456789abcdefABCDEF" for c in digest) or not name:
            raise ValueError(
                f"{path}, line {number}: expected '<64 hexadecimal digits>  <file name>' (sha256sum's format), "
                f"found {line[:80]!r}"
            )
        if escaped:
            name = name.replace("\\\\", "\x00").replace("\\n", "\n").replace("\\r", "\r").replace("\x00", "\\")
        if strip_data:
            name = name.removeprefix("data/").replace("%0A", "\n").replace("%0D", "\r").replace("%25", "%")
        listed[name] = digest.lower()
    return listed


def check_directory(
    directory: Path,
    against: Path | None = None,
    num_processes: int | None = None,
    *,
    progress: bool = False,
) -> DirectoryCheck:
    """Compares every file of directory with a manifest and names each one same / differs / missing / extra.

    Without against, the directory is checked against its ax_checksum.txt, as verify_directory_checksum does; the
    per-file manifest this library saves with it names each file (a checksum saved by a release has none, so only the
    whole-directory verdict is given). With against, it is checked against a ``sha256sum`` manifest (paths relative to
    directory), a BagIt bag folder, or a bag's manifest-sha256.txt (its ``data/`` prefix removed). The manifest file
    itself and, unless listed, files named ax_checksum.txt are not counted as extra.

    Args:
        directory: The directory to check (a bag's payload: the original folder, or the bag itself).
        against: The manifest or bag to check against; None uses ax_checksum.txt.
        num_processes: The number of hashing threads; None (or below 1) uses all cores.
        progress: Determines whether to show a progress bar (in bytes).

    Returns:
        A DirectoryCheck; ``matches`` is False on any difference.

    Raises:
        FileNotFoundError: If the directory, its ax_checksum.txt (without against) or the manifest does not exist.
        ValueError: If the manifest is not in sha256sum's format (ChecksumFileError for a bad ax_checksum.txt).
    """
    directory = Path(directory)
    if against is None:
        return _check_against_checksum(directory, num_processes, progress)
    against = Path(against)
    bag_folder = against if against.is_dir() else against.parent
    is_bag = (bag_folder / "bagit.txt").is_file() and (against.is_dir() or against.name == SHA256_MANIFEST_NAME)
    manifest = bag_folder / SHA256_MANIFEST_NAME if against.is_dir() else against
    if not manifest.is_file():
        raise FileNotFoundError(f"Unable to check {directory} against {against}: {manifest} does not exist.")
    if is_bag and directory.resolve() == bag_folder.resolve():
        directory = directory / "data"  # the bag itself: its payload is checked
    listed = _parse_sha256sum(manifest, strip_data=is_bag)
    tree = _scan_for_checksum(directory, set())
    skip = {os.path.realpath(manifest)}
    lists_checksum_files = any(os.path.basename(name) == CHECKSUM_FILE_NAME for name in listed)
    files = [
        entry
        for entry in tree.files
        if os.path.realpath(entry.path) not in skip
        and (lists_checksum_files or os.path.basename(entry.relative) != CHECKSUM_FILE_NAME)
    ]
    digests = _sha256_all(files, num_processes, progress)
    actual = {_posix(entry.relative): digest for entry, digest in zip(files, digests, strict=True)}
    checks = _statuses(listed, actual)
    return _result(directory, manifest, checks)


def _result(directory: Path, manifest: Path, checks: tuple[FileCheck, ...]) -> DirectoryCheck:
    """Returns the DirectoryCheck of per-file states, with its summary line."""
    grouped = {status: tuple(c.relative for c in checks if c.status == status) for status in ("differs", "extra")}
    missing = tuple(c.relative for c in checks if c.status == "missing")
    matches = not (grouped["differs"] or grouped["extra"] or missing)
    same = sum(c.status == "same" for c in checks)
    if matches:
        summary = f"{directory} matches {manifest}: {same} file(s) the same"
    else:
        summary = (
            f"{directory} does not match {manifest}: "
            f"{describe_differences(grouped['differs'], grouped['extra'], missing)}; {same} file(s) the same"
        )
    return DirectoryCheck(directory, manifest, checks, matches, summary)


def _check_against_checksum(directory: Path, num_processes: int | None, progress: bool) -> DirectoryCheck:
    """check_directory against ax_checksum.txt and its per-file manifest (verify_directory_checksum's verdict)."""
    tree = _scan_for_checksum(directory, None)
    expected = read_stored_checksum(directory)
    if expected is None:
        raise FileNotFoundError(f"Unable to verify {directory}: it has no {CHECKSUM_FILE_NAME} to verify against.")
    with byte_progress(tree.total_bytes, "Verifying checksum", enabled=progress) as on_bytes:
        digests = hash_entries(tree.files, worker_count(num_processes), on_bytes)
    actual = directory_digest([entry.relative for entry in tree.files], digests)
    stored = directory / CHECKSUM_FILE_NAME
    listed = read_manifest(directory, expected)
    if listed is None:
        matches = actual == expected
        summary = (
            f"{directory} matches its checksum {expected}"
            if matches
            else f"{directory} does not match its checksum (stored {expected}, now {actual}); no per-file manifest "
            f"was saved, so the differing files are unknown"
        )
        return DirectoryCheck(directory, stored, (), matches, summary)
    current = {entry.relative: digest.hex() for entry, digest in zip(tree.files, digests, strict=True)}
    checks = _statuses(listed, current)
    if actual == expected:
        return DirectoryCheck(directory, stored, checks, True, f"{directory} matches its checksum {expected}")
    differing = tuple(c.relative for c in checks if c.status == "differs")
    extra = tuple(c.relative for c in checks if c.status == "extra")
    missing = tuple(c.relative for c in checks if c.status == "missing")
    summary = f"{directory} does not match its checksum: {describe_differences(differing, extra, missing)}"
    return DirectoryCheck(directory, stored, checks, False, summary)


__all__ = [
    "SHA256_MANIFEST_NAME",
    "DirectoryCheck",
    "FileCheck",
    "check_directory",
    "make_bag",
    "sha256_file",
    "write_sha256_manifest",
]
