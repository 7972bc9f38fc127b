"""Crash-safe replacement of a text file: the old content or the new content is on disk, never a torn mix."""

from __future__ import annotations

import contextlib
import os
import uuid
from pathlib import Path


def write_text_atomically(path: Path | str, text: str, *, encoding: str = "utf-8") -> None:
    """Replaces the file at path with text, so a crash at any moment leaves either the old or the new content.

    The text goes to a temporary file in the same directory (so the final rename never crosses filesystems), which
    is flushed and synced to disk before ``os.replace`` moves it over the target; the directory is then fsynced so
    the rename itself survives a power loss. Missing parent directories are created. A symbolic link is followed:
    the file it points to is replaced and the link stays. If anything fails before the rename, the temporary file
    is removed and the old file is left untouched.

    Args:
        path: The file to create or replace.
        text: The complete new content of the file.
        encoding: The text encoding of the written file.

    Raises:
        OSError: If the directory cannot be created or the file cannot be written or replaced.
    """
    target = Path(path)
    if target.is_symlink():  # replace the file the link points to, as open(path, "w") would, not the link itself
        target = target.resolve()
    directory = target.parent
    directory.mkdir(parents=True, exist_ok=True)
    data = text.encode(encoding)
    temporary_name = str(directory / f".{target.name}.{uuid.uuid4().hex}.tmp")
    # Mode 0o666 filtered by the umask, like a plain open(); an existing file's mode is copied over below.
    descriptor = os.open(temporary_name, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0), 0o666)
    try:
        with os.fdopen(descriptor, "wb") as stream:
            stream.write(data)
            stream.flush()
            _sync_data(stream.fileno())
        _keep_permissions(target, temporary_name)
        os.replace(temporary_name, target)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(temporary_name)
        raise
    _fsync_directory(directory)


# fdatasync flushes the data and the metadata needed to read it back (size, blocks) but not timestamps: all that an
# atomic replace needs, and cheaper than fsync where it exists (Linux); elsewhere fsync.
_sync_data = getattr(os, "fdatasync", os.fsync)


def _keep_permissions(target: Path, temporary_name: str) -> None:
    """Gives the temporary file the mode of the file it replaces, so a rewrite never changes who can read it."""
    try:
        mode = target.stat().st_mode & 0o7777
    except FileNotFoundError:
        return
    os.chmod(temporary_name, mode)


def _fsync_directory(directory: Path) -> None:
    """Flushes the directory entry of a rename to disk, where the platform allows opening directories."""
    try:
        descriptor = os.open(directory, os.O_RDONLY)
    except OSError:  # Windows cannot open directories; the rename is still atomic there.
        return
    try:
        os.fsync(descriptor)
    except OSError:  # Some filesystems (e.g. certain network mounts) refuse fsync on directories; harmless.
        pass
    finally:
        os.close(descriptor)
