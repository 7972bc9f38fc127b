"""Writes that survive short writes, crashes and power loss; shared by every part of the library that writes files.

A file that a crash must not leave torn is written to a temporary name in the same directory (so the rename never
crosses filesystems), flushed to disk and renamed over the target: readers see the old or the new content, never a
mix. The directory is then flushed so the rename itself survives a power loss, where the caller wants that.
"""

from __future__ import annotations

import contextlib
import os
import stat
import uuid
from pathlib import Path

_MAX_BUFFERS_PER_WRITE = 1024
"""The most buffers one writev() call takes (the usual IOV_MAX)."""

sync_data = getattr(os, "fdatasync", os.fsync)
"""Flushes a file's data and what is needed to read it back (its size), skipping timestamps: all that a file renamed
into place needs, and cheaper than fsync where it exists (Linux); elsewhere fsync."""


def write_all(fd: int, buffers: list[bytes] | list[memoryview] | list[bytes | memoryview]) -> None:
    """Writes the buffers to the file descriptor in order, with as few system calls as it can."""
    if not hasattr(os, "writev"):  # Windows
        for buffer in buffers:
            write_fully(fd, memoryview(buffer))
        return
    for first in range(0, len(buffers), _MAX_BUFFERS_PER_WRITE):
        chunk = buffers[first : first + _MAX_BUFFERS_PER_WRITE]
        written = os.writev(fd, chunk)
        if written == sum(len(buffer) for buffer in chunk):
            continue
        for buffer in chunk:  # a short write (a signal, a full disk): finish the rest piece by piece
            if written >= len(buffer):
                written -= len(buffer)
                continue
            write_fully(fd, memoryview(buffer)[written:])
            written = 0


def write_fully(fd: int, data: bytes | memoryview) -> None:
    """Writes every byte of data (a single write() may accept fewer bytes)."""
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view) :]


def fsync_directory(directory: Path | str) -> None:
    """Makes the creations, renames and removals in a directory durable, where the platform allows it."""
    if os.name == "nt":  # Windows cannot open directories; NTFS journals the renames itself.
        return
    descriptor = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(descriptor)
    except OSError:  # Some filesystems (certain network mounts) refuse fsync on directories; nothing more can be done.
        pass
    finally:
        os.close(descriptor)


def replace_file_atomically(
    path: Path | str, data: bytes | memoryview, *, mode: int | None = None, sync_directory: bool = True
) -> None:
    """Replaces the file at path with data, so a crash at any moment leaves either the old or the new content.

    Missing parent directories are created. A symbolic link is followed: the file it points to is replaced and the
    link stays. If anything fails before the rename, the temporary file is removed and the old file is untouched.

    Args:
        path: The file to create or replace.
        data: The complete new content of the file.
        mode: The permission bits of the new file. None keeps those of the file being replaced (a new file gets the
            default mode filtered by the umask, as open() gives it).
        sync_directory: Determines whether the directory is flushed after the rename, so that the rename itself
            survives a power loss. Without it, a power loss may bring back the previous complete version.

    Raises:
        OSError: If the directory cannot be created or the file cannot be written or replaced.
    """
    target = Path(path)
    if target.is_symlink():  # replace the file the link points to, as open(path, "w") would, not the link itself
        target = target.resolve()
    directory = target.parent
    temporary = str(directory / f".{target.name}.{uuid.uuid4().hex}.tmp")
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0)
    try:
        descriptor = os.open(temporary, flags, 0o666)
    except FileNotFoundError:
        directory.mkdir(parents=True, exist_ok=True)
        descriptor = os.open(temporary, flags, 0o666)
    try:
        try:
            write_fully(descriptor, data)
            if mode is None:
                with contextlib.suppress(FileNotFoundError):
                    mode = stat.S_IMODE(target.stat().st_mode)
            if mode is not None:
                os.chmod(temporary, mode)
            sync_data(descriptor)
        finally:
            os.close(descriptor)
        os.replace(temporary, target)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(temporary)
        raise
    if sync_directory:
        fsync_directory(directory)


def write_text_atomically(path: Path | str, text: str, *, encoding: str = "utf-8") -> None:
    """Replaces the file at path with text, so a crash at any moment leaves either the old or the new content.

    The text goes to a temporary file in the same directory, which is flushed to disk before ``os.replace`` moves it
    over the target; the directory is then fsynced so the rename itself survives a power loss. Missing parent
    directories are created, the replaced file's permission bits are kept, and a symbolic link is followed.

    Args:
        path: The file to create or replace.
        text: The complete new content of the file.
        encoding: The text encoding of the written file.

    Raises:
        OSError: If the directory cannot be created or the file cannot be written or replaced.
        UnicodeEncodeError: If the text cannot be encoded; the old file is then untouched.
    """
    replace_file_atomically(path, text.encode(encoding))
