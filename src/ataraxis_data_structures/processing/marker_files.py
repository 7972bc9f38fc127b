"""Finds marker files (for example ``session_data.yaml``) under a directory tree, in one walk, as 7.2.0 does.

The walk never follows a symbolic link to a folder (a link cycle cannot loop, and no tree is searched twice); a link
named like a marker counts when it points to a file. A folder that cannot be read is an error, never skipped: a
search that silently misses part of a tree would let a pipeline skip data. Results are sorted as ``Path`` objects
sort, and are built from the given directory, so a relative directory gives relative paths.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from pathlib import Path

__all__ = ["discover_marker_files", "discover_marker_roots", "index_marker_files"]


def _walk_for_names(directory: Path, names: frozenset[str], max_depth: int | None) -> dict[str, list[Path]]:
    """Returns the files (or links to files) under directory named one of names, by name, unsorted.

    Raises:
        OSError: If directory (or a folder under it) cannot be read, or is not a directory.
    """
    found: dict[str, list[Path]] = {name: [] for name in names}
    pending: list[tuple[str, int]] = [(os.fspath(directory), 1)]
    while pending:
        folder, depth = pending.pop()
        descend = max_depth is None or depth < max_depth
        with os.scandir(folder) as entries:
            for entry in entries:
                if entry.name in names:
                    if entry.is_file():  # follows a link: a link to a marker counts, a broken one does not
                        found[entry.name].append(Path(entry.path))
                    elif descend and entry.is_dir(follow_symlinks=False):
                        pending.append((entry.path, depth + 1))
                elif descend and entry.is_dir(follow_symlinks=False):
                    pending.append((entry.path, depth + 1))
    return found


def discover_marker_files(directory: Path, marker_name: str) -> list[Path]:
    """Discovers every marker file with the target name stored anywhere under the target directory.

    Args:
        directory: The root directory whose tree is searched.
        marker_name: The exact filename every discovered marker carries.

    Returns:
        The paths to every matching file found anywhere under the root directory, sorted by path.

    Raises:
        OSError: If the root directory does not exist, is not a directory, or cannot be read, or if any directory
            beneath it cannot be read.
    """
    return sorted(_walk_for_names(Path(directory), frozenset({marker_name}), None)[marker_name])


def discover_marker_roots(directory: Path, marker_name: str, levels_up: int = 0) -> list[Path]:
    """Discovers the directories owning every marker file stored anywhere under the target directory.

    A marker at ``{root}/raw_data/session_data.yaml`` resolves its root with ``levels_up=1``; a marker written
    directly into the directory it describes resolves with 0. Markers resolving to the same directory give one
    entry.

    Args:
        directory: The root directory whose tree is searched.
        marker_name: The exact filename every discovered marker carries.
        levels_up: The number of directory levels between a marker's own parent and the directory that owns it.

    Returns:
        The paths to every directory owning a matching marker, sorted by path.

    Raises:
        OSError: If the root directory does not exist, is not a directory, or cannot be read, or if any directory
            beneath it cannot be read.
        ValueError: If levels_up is negative, or a discovered marker has no ancestor that many levels up.
    """
    if levels_up < 0:
        raise ValueError(
            f"Unable to discover the roots of the {marker_name!r} markers stored under {str(directory)!r}: "
            f"levels_up must be 0 or more, got {levels_up}."
        )
    roots: set[Path] = set()
    for marker in discover_marker_files(directory, marker_name):
        ancestors = marker.parents
        if levels_up >= len(ancestors):
            raise ValueError(
                f"Unable to discover the roots of the {marker_name!r} markers stored under {str(directory)!r}: the "
                f"marker {str(marker)!r} has only {len(ancestors)} ancestor(s), so none lies {levels_up} level(s) "
                f"above its own parent."
            )
        roots.add(ancestors[levels_up])
    return sorted(roots)


def index_marker_files(
    directory: Path, marker_names: Iterable[str], *, max_depth: int | None = None
) -> dict[str, tuple[Path, ...]]:
    """Indexes every marker file carrying one of the target names, in a single pass over the target directory.

    Every requested name is a key of the result (in the order first requested), mapping to an empty tuple when the
    tree holds no file carrying it. A depth of 1 searches only the directory's own entries; None searches the whole
    tree.

    Args:
        directory: The root directory whose tree is searched.
        marker_names: The exact filenames to index (a single name must be given in a list: a string is refused
            rather than read as one name per character).
        max_depth: The number of directory levels to descend, or None to descend without a bound.

    Returns:
        The paths to every matching file found within the depth bound, sorted by path, keyed by marker name.

    Raises:
        OSError: If the root directory does not exist, is not a directory, or cannot be read, or if any directory
            beneath it cannot be read.
        ValueError: If no marker name is requested, or max_depth is less than 1.
        TypeError: If marker_names is a single string.
    """
    if isinstance(marker_names, str):
        raise TypeError(
            f"index_marker_files expects 'marker_names' to be a collection of file names, got the string "
            f"{marker_names!r}; pass [{marker_names!r}] for one name."
        )
    names = list(dict.fromkeys(marker_names))
    if not names:
        raise ValueError(
            f"Unable to index the marker files stored under {str(directory)!r}: marker_names must name at least one "
            f"marker file, but it named none."
        )
    if max_depth is not None and max_depth < 1:
        raise ValueError(
            f"Unable to index the marker files stored under {str(directory)!r}: max_depth must be 1 or more when "
            f"given, got {max_depth}."
        )
    found = _walk_for_names(Path(directory), frozenset(names), max_depth)
    return {name: tuple(sorted(found[name])) for name in names}
