"""Refuses paths that a destructive call (deletion, a transfer that removes its source) must never act on by accident.

Shared by processing (deletion, transfers) and data_loggers (assembly removes the sources it archived).

``Path("")`` is ``Path(".")``: an unset variable (``Path(os.environ.get("SESSION_DIR", ""))``) names the working
directory, so a relative path that normalizes to ``.`` (or to one of its ancestors, ``..``) is refused, whatever the
working directory is. The same folder given as an absolute path is accepted: that spelling is deliberate. The
filesystem root, the home directory and the folders holding it are refused in any spelling.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

from .errors import MountPointWarning, UnsafePathError

__all__ = ["MountPointWarning", "mount_points_under", "physical_path", "refuse_unsafe_path"]


def _protected_folders() -> set[str]:
    """Returns the absolute, resolved folders no destructive call may remove: the root, home and home's ancestors."""
    protected = {os.path.abspath(os.sep)}
    home = os.path.expanduser("~")
    if home != "~":
        folder = os.path.realpath(home)
        while True:
            protected.add(folder)
            parent = os.path.dirname(folder)
            if parent == folder:
                break
            folder = parent
    return protected


def physical_path(path: Path | str) -> str:
    """Returns the absolute path the OS means by path, with every component but the last resolved physically.

    Links and ``..`` are resolved in order, as the OS does: ``os.path.abspath`` drops ``link/..`` textually and names
    another folder than the OS (the parent of the link's target). A final link stays a link, so a destructive call
    removes the link, not its target; a final ``..`` is resolved, as it names the folder it reaches. ``.`` components
    and trailing separators are dropped, as ``Path`` drops them. If a leading component cannot be resolved (missing,
    not a folder), the absolute path is returned unresolved: it then names nothing, as the given path does, whereas
    resolving the rest textually could name an existing folder.

    Args:
        path: The path to resolve; relative paths are taken from the working directory.

    Returns:
        The absolute path a destructive call must check and then act on.
    """
    absolute = Path(path)
    if not absolute.is_absolute():
        absolute = Path(os.getcwd(), absolute)
    if absolute.name in ("", ".."):  # The root, or a folder reached through "..": resolved, never a link.
        head, name = absolute, ""
    else:
        head, name = absolute.parent, absolute.name
    try:
        resolved_head = os.path.realpath(head, strict=True)
    except OSError:
        return os.fspath(absolute)
    return os.path.join(resolved_head, name) if name else resolved_head


def refuse_unsafe_path(path: Path | str, argument: str, action: str) -> str:
    """Raises UnsafePathError if path is empty, names the working directory relatively, or is a protected folder.

    Args:
        path: The path a destructive call was given.
        argument: The name of the argument that holds it (named in the error).
        action: What the call would do to it, for the error message (for example, "delete").

    Returns:
        The path that was checked (see physical_path): the caller must act on this path, not on its own spelling of
        the argument, or the check and the action may name different folders.

    Raises:
        UnsafePathError: If the path is refused; the message names the argument and the value.
    """
    text = os.fspath(path)
    normalized = os.path.normpath(text) if text else "."
    physical = physical_path(text)
    if not os.path.isabs(normalized):
        working = os.getcwd()
        # A relative path through a link (sub/link/..) can name the working directory without spelling it with dots.
        holds_working = physical == working or working.startswith(physical.rstrip(os.sep) + os.sep)
        if holds_working or all(part in (".", "..") for part in normalized.split(os.sep)):
            raise UnsafePathError(
                f"Refusing to {action} {argument}={text!r}: it names the working directory ({working}) or a folder "
                f"holding it, which is what an empty or unset path variable gives. Pass the folder as an absolute path "
                f"if it really is meant."
            )
    protected = _protected_folders()
    # The link's target is checked too: a link to the home directory is refused, as it always was.
    for candidate in (physical, os.path.realpath(physical)):
        if candidate in protected:
            raise UnsafePathError(
                f"Refusing to {action} {argument}={text!r}: it is {candidate}, the filesystem root, the home "
                f"directory or a folder holding it."
            )
    return physical


_MOUNTINFO_ESCAPE = re.compile(rb"\\([0-7]{3})")


def mount_points_under(path: str) -> frozenset[str]:
    """Returns the mount points strictly inside path, as this process sees them (empty where /proc is missing).

    Catches what comparing devices cannot: a bind mount of a folder of the same filesystem.
    """
    try:
        with open("/proc/self/mountinfo", "rb") as file:
            lines = file.read().splitlines()
    except OSError:
        return frozenset()
    prefix = os.fsencode(path.rstrip(os.sep) + os.sep)
    points = set()
    for line in lines:
        fields = line.split(b" ", 5)
        if len(fields) > 4:  # the fifth field is the mount point, with space, tab, newline and \ escaped in octal
            point = _MOUNTINFO_ESCAPE.sub(lambda match: bytes([int(match.group(1), 8)]), fields[4])
            if point.startswith(prefix):
                points.add(os.fsdecode(point))
    return frozenset(points)
