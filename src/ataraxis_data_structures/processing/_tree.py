"""Lists the files and folders of a directory tree the way the checksum and the transfer see them.

The rules match the reference release, so that stored checksums keep verifying: regular files are listed under their
path relative to the top directory; a symbolic link to a file counts as a file with the content of its target (under
the link's own path); a symbolic link to a directory is never descended into (so a link cycle cannot loop), and a
broken link or a special file (FIFO, socket, device) is skipped. Skipped links are reported so that callers can warn.
"""

from __future__ import annotations

import os
import stat
from dataclasses import dataclass, field
from pathlib import Path

__all__ = ["DirectoryTree", "TreeEntry", "scan_tree"]


@dataclass(frozen=True, slots=True)
class TreeEntry:
    """One file or folder of a scanned tree."""

    relative: str
    """The path relative to the top directory as ``str()`` gives it: the checksum's sort key and hashed name."""
    path: str
    """The path of the entry as reached from the top directory."""
    status: os.stat_result
    """The entry's status (for a link to a file: its target's)."""


@dataclass(slots=True)
class DirectoryTree:
    """The content of a directory tree: its files sorted by relative path, its folders, and the links it skipped."""

    files: list[TreeEntry] = field(default_factory=list)
    folders: list[TreeEntry] = field(default_factory=list)
    skipped_links: list[str] = field(default_factory=list)
    links: list[str] = field(default_factory=list)
    """Every symbolic link (to a file, a folder, or nothing), by relative path."""
    special: list[str] = field(default_factory=list)
    """Entries that are neither regular files, folders nor links (FIFOs, sockets, devices), by relative path."""

    @property
    def total_bytes(self) -> int:
        """Returns the summed size of every listed file."""
        return sum(entry.status.st_size for entry in self.files)


def scan_tree(directory: Path, excluded_files: frozenset[str] = frozenset()) -> DirectoryTree:
    """Returns the files (sorted by relative path string) and folders under directory.

    Args:
        directory: The top directory of the tree.
        excluded_files: File names (not paths) left out of the file list, at any depth.

    Raises:
        FileNotFoundError: If directory does not exist.
        NotADirectoryError: If directory is not a directory.
    """
    tree = DirectoryTree()
    pending: list[tuple[str, str]] = [(str(directory), "")]
    while pending:
        folder, prefix = pending.pop()
        with os.scandir(folder) as entries:
            for entry in entries:
                relative = prefix + entry.name
                if entry.is_dir(follow_symlinks=False):
                    tree.folders.append(TreeEntry(relative, entry.path, entry.stat(follow_symlinks=False)))
                    pending.append((entry.path, relative + os.sep))
                    continue
                if entry.name in excluded_files:
                    continue
                if entry.is_symlink():
                    tree.links.append(relative)
                    try:
                        target = os.stat(entry.path)
                    except OSError:  # A broken link (or a link loop) has no content to hash or copy.
                        tree.skipped_links.append(relative)
                        continue
                    if stat.S_ISREG(target.st_mode):
                        tree.files.append(TreeEntry(relative, entry.path, target))
                    else:
                        tree.skipped_links.append(relative)
                elif entry.is_file(follow_symlinks=False):
                    tree.files.append(TreeEntry(relative, entry.path, entry.stat(follow_symlinks=False)))
                else:
                    tree.special.append(relative)
    tree.files.sort(key=lambda item: item.relative)
    tree.folders.sort(key=lambda item: item.relative)
    tree.links.sort()
    tree.skipped_links.sort()
    tree.special.sort()
    return tree
