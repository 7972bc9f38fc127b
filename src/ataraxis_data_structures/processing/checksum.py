"""Computes and verifies the xxHash3-128 checksum of a directory, interchangeable with the reference release."""

from __future__ import annotations

import threading
import warnings
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import NamedTuple

from .._progress import ProgressBar
from ..errors import ChecksumError
from ._hashing import directory_digest, hash_entries, require_utf8_names, worker_count
from ._manifest import CHECKSUM_FILE_NAME, read_manifest, read_stored_checksum, write_checksum
from ._tree import DirectoryTree, scan_tree

__all__ = [
    "ChecksumVerification",
    "FileDifferences",
    "byte_progress",
    "calculate_directory_checksum",
    "compare_file_digests",
    "describe_differences",
    "list_names",
    "verify_directory_checksum",
]


@contextmanager
def byte_progress(total: int, description: str, *, enabled: bool) -> Iterator[Callable[[int], None] | None]:
    """Yields a callback that advances a tqdm bar counted in bytes, or None when progress is disabled."""
    if not enabled:
        yield None
        return
    with ProgressBar(total=total, unit="B", unit_scale=True, unit_divisor=1024, desc=description) as bar:
        lock = threading.Lock()

        def advance(count: int) -> None:
            with lock:  # Worker threads report concurrently; tqdm's counter is not atomic.
                bar.update(count)

        yield advance


def _scan_for_checksum(directory: Path, excluded_files: set[str] | None) -> DirectoryTree:
    """Returns the files that make up directory's checksum, warning about the symbolic links it leaves out."""
    directory = Path(directory)
    if not directory.is_dir():
        if not directory.exists():
            raise FileNotFoundError(f"Unable to calculate the checksum of {directory}, as it does not exist.")
        raise NotADirectoryError(f"Unable to calculate the checksum of {directory}, as it is not a directory.")
    excluded = frozenset({CHECKSUM_FILE_NAME} if excluded_files is None else excluded_files)
    tree = scan_tree(directory, excluded)
    if not tree.files:
        # As 7.2.0: a digest of nothing would certify an empty (or failed, unmounted) recording as complete.
        raise ChecksumError(
            f"Unable to calculate the checksum of {directory}: it holds no file the checksum can cover "
            f"(excluded names: {', '.join(sorted(excluded)) or 'none'})."
        )
    require_utf8_names(tree.files, directory)
    if tree.skipped_links:
        # One warning per call, at the line that called calculate/verify_directory_checksum.
        warnings.warn(
            f"The checksum of {directory} leaves out {len(tree.skipped_links)} symbolic link(s) to folders or to "
            f"missing targets (as the original releases do): {list_names(tree.skipped_links)}",
            stacklevel=3,
        )
    return tree


def _hash_tree(tree: DirectoryTree, num_processes: int | None, progress: bool, description: str) -> list[bytes]:
    """Returns the digest of every file of tree, in the tree's order."""
    with byte_progress(tree.total_bytes, description, enabled=progress) as on_bytes:
        return hash_entries(tree.files, worker_count(num_processes), on_bytes)


def calculate_directory_checksum(
    directory: Path,
    num_processes: int | None = None,
    *,
    progress: bool = False,
    save_checksum: bool = True,
    excluded_files: set[str] | None = None,
) -> str:
    """Calculates the xxHash3-128 checksum for the input directory.

    Every file under the directory (recursively) whose name is not excluded is hashed together with its path
    relative to the directory, so the checksum accounts for both the contents and the layout of the tree. It is the
    same digest the reference release computes. A symbolic link to a file counts as a file with its target's
    content; links to folders and broken links are left out (with a warning). The checksum is not suitable for
    security purposes.

    When save_checksum is true, the hexadecimal digest is written atomically to ax_checksum.txt at the top of the
    directory, and a per-file manifest (``.ax_checksum_manifest/ax_checksum.txt``, ignored by the checksum itself)
    lets verify_directory_checksum name the files that later change.

    Args:
        directory: The path to the directory for which to generate the checksum.
        num_processes: The number of workers to use for hashing files in parallel. If set to None (or below 1), the
            function uses all available CPU cores.
        progress: Determines whether to track the checksum calculation progress using a progress bar (in bytes).
        save_checksum: Determines whether the checksum should be saved (written to) the ax_checksum.txt file.
        excluded_files: The set of file names to exclude from the checksum calculation. If set to None, defaults to
            {"ax_checksum.txt"}.

    Returns:
        The xxHash3-128 checksum for the input directory as a 32-character lowercase hexadecimal string.

    Raises:
        FileNotFoundError: If the directory does not exist.
        NotADirectoryError: If the path is not a directory.
        ChecksumError: A ValueError, if the directory holds no file the checksum can cover (7.2.0 raises ValueError).
        FileNameEncodingError: A ValueError, if a file name is not valid UTF-8; it names the file.
    """
    directory = Path(directory)
    tree = _scan_for_checksum(directory, excluded_files)
    digests = _hash_tree(tree, num_processes, progress, "Calculating checksum")
    relatives = [entry.relative for entry in tree.files]
    checksum = directory_digest(relatives, digests)
    if save_checksum:
        # The manifest is only safe to store where its name is excluded, or it would change the next checksum.
        keep_manifest = excluded_files is None or CHECKSUM_FILE_NAME in excluded_files
        files = dict(zip(relatives, (digest.hex() for digest in digests), strict=True)) if keep_manifest else None
        write_checksum(directory, checksum, files)
    return checksum


@dataclass(frozen=True)
class ChecksumVerification:
    """The outcome of comparing a directory with the checksum stored in its ax_checksum.txt."""

    directory: Path
    """The verified directory."""
    expected: str
    """The checksum stored in ax_checksum.txt."""
    actual: str
    """The checksum of the directory as it is now."""
    changed: tuple[str, ...] = ()
    """Files whose content differs from the manifest (relative paths)."""
    added: tuple[str, ...] = ()
    """Files present now but not in the manifest."""
    missing: tuple[str, ...] = ()
    """Files listed in the manifest but gone now."""
    manifest_found: bool = False
    """Whether a per-file manifest matching ax_checksum.txt was available to name the differing files."""

    @property
    def matches(self) -> bool:
        """Returns True if the directory still has the stored checksum."""
        return self.expected == self.actual

    def describe(self) -> str:
        """Returns a one-line, human-readable summary of the verification."""
        if self.matches:
            return f"{self.directory} matches its checksum {self.expected}"
        if not self.manifest_found:
            return (
                f"{self.directory} does not match its checksum (stored {self.expected}, now {self.actual}); "
                f"no per-file manifest was saved, so the differing files are unknown"
            )
        differences = describe_differences(self.changed, self.added, self.missing)
        return f"{self.directory} does not match its checksum: {differences}"


def list_names(names: Sequence[str], shown: int = 10) -> str:
    """Returns names joined by commas, truncated after a few with a count of the rest."""
    rest = len(names) - shown
    return ", ".join(names[:shown]) + (f" and {rest} more" if rest > 0 else "")


def describe_differences(changed: tuple[str, ...], added: tuple[str, ...], missing: tuple[str, ...]) -> str:
    """Returns a one-line list of differing files, grouped by kind and truncated after a few names per kind."""
    parts = [
        f"{len(names)} {label}: {list_names(names)}"
        for label, names in (("changed", changed), ("unexpected", added), ("missing", missing))
        if names
    ]
    return "; ".join(parts) if parts else "no single file differs (the set of file names or their order changed)"


class FileDifferences(NamedTuple):
    """The files that differ between two per-file digest maps, by relative path, each sorted."""

    changed: tuple[str, ...]
    added: tuple[str, ...]
    missing: tuple[str, ...]


def compare_file_digests(expected: dict[str, str], actual: dict[str, str]) -> FileDifferences:
    """Returns the files whose digest changed, that were added and that are missing between two digest maps."""
    return FileDifferences(
        changed=tuple(sorted(name for name, digest in actual.items() if name in expected and expected[name] != digest)),
        added=tuple(sorted(name for name in actual if name not in expected)),
        missing=tuple(sorted(name for name in expected if name not in actual)),
    )


def verify_directory_checksum(
    directory: Path,
    num_processes: int | None = None,
    *,
    progress: bool = False,
    excluded_files: set[str] | None = None,
) -> ChecksumVerification:
    """Compares a directory with the checksum stored in its ax_checksum.txt.

    Works on checksums written by this library and by the reference release. When the checksum was saved by this
    library, the per-file manifest saved with it names the files that changed, appeared or disappeared.

    Args:
        directory: The directory to verify.
        num_processes: The number of workers to use for hashing. If set to None (or below 1), uses all CPU cores.
        progress: Determines whether to track the verification progress using a progress bar (in bytes).
        excluded_files: The file names left out of the checksum when it was calculated. If set to None, defaults
            to {"ax_checksum.txt"}.

    Returns:
        A ChecksumVerification; its ``matches`` property tells whether the directory is unchanged and
        ``describe()`` summarizes the result in one line.

    Raises:
        FileNotFoundError: If the directory or its ax_checksum.txt does not exist.
        ChecksumFileError: A ChecksumError that is also a RuntimeError, if ax_checksum.txt does not hold a checksum.
        ChecksumError: A ValueError, if the directory holds no file.
        FileNameEncodingError: A ValueError, if a file name is not valid UTF-8; it names the file.
    """
    directory = Path(directory)
    tree = _scan_for_checksum(directory, excluded_files)
    expected = read_stored_checksum(directory)
    if expected is None:
        raise FileNotFoundError(f"Unable to verify {directory}: it has no {CHECKSUM_FILE_NAME} to verify against.")
    digests = _hash_tree(tree, num_processes, progress, "Verifying checksum")
    actual = directory_digest([entry.relative for entry in tree.files], digests)
    if actual == expected:
        return ChecksumVerification(directory, expected, actual)
    manifest = read_manifest(directory, expected)
    if manifest is None:
        return ChecksumVerification(directory, expected, actual)
    current = {entry.relative: digest.hex() for entry, digest in zip(tree.files, digests, strict=True)}
    differences = compare_file_digests(manifest, current)
    return ChecksumVerification(
        directory,
        expected,
        actual,
        changed=differences.changed,
        added=differences.added,
        missing=differences.missing,
        manifest_found=True,
    )
