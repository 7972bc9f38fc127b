"""The module path ``processing.filesystem_tools`` of 7.2.0: its names, re-exported from where this library keeps them.

The three walkers below are 7.2.0's helpers of that module (not in its ``__all__``; code imports them from here),
as thin views of the tree scan the checksum and the transfer use.
"""

from __future__ import annotations

import errno
from pathlib import Path

from ._tree import scan_tree
from .marker_files import discover_marker_files, discover_marker_roots, index_marker_files
from .unique_roots import resolve_unique_roots

__all__ = [
    "discover_marker_files",
    "discover_marker_roots",
    "index_marker_files",
    "reports_absent_entry",
    "resolve_unique_roots",
    "walk_directory",
    "walk_files",
]

_ABSENT_ERRNOS = frozenset({errno.ENOENT, errno.ENOTDIR, errno.ELOOP, errno.EBADF})
"""The errors 7.2.0's reports_absent_entry takes for "no such entry" (a dangling link, a loop, a path via a file)."""


def walk_files(directory: Path) -> list[Path]:
    """Returns every entry under directory that resolves to a file (links to files too), in an unspecified order.

    Raises:
        OSError: If directory does not exist, is not a directory, or a folder beneath it cannot be read.
    """
    return [Path(entry.path) for entry in scan_tree(Path(directory)).files]


def walk_directory(directory: Path) -> list[Path]:
    """Returns every folder, file, link and special file under directory (links not followed), in no set order.

    Raises:
        OSError: If directory does not exist, is not a directory, or a folder beneath it cannot be read.
    """
    directory = Path(directory)
    tree = scan_tree(directory)
    linked = set(tree.links)
    entries = [Path(entry.path) for entry in tree.folders]
    entries += [Path(entry.path) for entry in tree.files if entry.relative not in linked]
    entries += [directory / relative for relative in (*tree.links, *tree.special)]
    return entries


def reports_absent_entry(error: OSError) -> bool:
    """Returns True if error (from a metadata query) means the entry does not resolve, False if it exists unknown."""
    return error.errno in _ABSENT_ERRNOS
