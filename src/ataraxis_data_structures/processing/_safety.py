"""Refuses paths that a destructive call (deletion, a transfer that removes its source) must never act on by accident.

``Path("")`` is ``Path(".")``: an unset variable (``Path(os.environ.get("SESSION_DIR", ""))``) names the working
directory, so a relative path that normalizes to ``.`` (or to one of its ancestors, ``..``) is refused, whatever the
working directory is. The same folder given as an absolute path is accepted: that spelling is deliberate. The
filesystem root, the home directory and the folders holding it are refused in any spelling.
"""

from __future__ import annotations

import os
from pathlib import Path

from ..errors import UnsafePathError


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


def refuse_unsafe_path(path: Path | str, argument: str, action: str) -> None:
    """Raises UnsafePathError if path is empty, names the working directory relatively, or is a protected folder.

    Args:
        path: The path a destructive call was given.
        argument: The name of the argument that holds it (named in the error).
        action: What the call would do to it, for the error message (for example, "delete").

    Raises:
        UnsafePathError: If the path is refused; the message names the argument and the value.
    """
    text = os.fspath(path)
    normalized = os.path.normpath(text) if text else "."
    if not os.path.isabs(normalized) and all(part in (".", "..") for part in normalized.split(os.sep)):
        raise UnsafePathError(
            f"Refusing to {action} {argument}={text!r}: it names the working directory ({os.getcwd()}) or a folder "
            f"holding it, which is what an empty or unset path variable gives. Pass the folder as an absolute path "
            f"if it really is meant."
        )
    resolved = os.path.realpath(text)
    if resolved in _protected_folders():
        raise UnsafePathError(
            f"Refusing to {action} {argument}={text!r}: it is {resolved}, the filesystem root, the home directory or "
            f"a folder holding it."
        )
