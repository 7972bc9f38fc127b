"""Writes that survive short writes, crashes and power loss; shared by every part of the library that writes files.

A file that a crash must not leave torn is written to a temporary name in the same directory (so the rename never
crosses filesystems), flushed to disk and renamed over the target: readers see the old or the new content, never a
mix. The directory is then flushed so the rename itself survives a power loss, where the caller wants that.
"""

from __future__ import annotations

import contextlib
import errno
import logging
import os
import stat
import uuid
from collections.abc import Iterator
from pathlib import Path

__all__ = [
    "fsync_directory",
    "replace_file_atomically",
    "replacing_file",
    "sync_data",
    "write_all",
    "write_fully",
    "write_text_atomically",
]

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
    Owner, group and mode are kept as :func:`replacing_file` describes.

    Args:
        path: The file to create or replace.
        data: The complete new content of the file.
        mode: The permission bits of the new file. None keeps those of the file being replaced (a new file gets the
            default mode filtered by the umask, as open() gives it).
        sync_directory: Determines whether the directory is flushed after the rename, so that the rename itself
            survives a power loss. Without it, a power loss may bring back the previous complete version.

    Raises:
        OSError: If the directory cannot be created or the file cannot be written or replaced; the error names the
            file (a full disk or an exceeded quota included) and the old file is then untouched.
    """
    with replacing_file(path, mode=mode, sync_directory=sync_directory) as descriptor:
        write_fully(descriptor, data)


@contextlib.contextmanager
def replacing_file(path: Path | str, *, mode: int | None = None, sync_directory: bool = True) -> Iterator[int]:
    """Yields the descriptor of a temporary file that replaces the file at path when the block ends without error.

    The temporary file is in the target's directory (missing parents are created), so the rename never crosses
    filesystems; its data is flushed to disk before the rename, and the directory after it when ``sync_directory``
    is set. If the block raises, or anything fails, the temporary file is removed and the target is untouched. A
    symbolic link is followed: the file it points to is replaced and the link stays.

    A replaced file keeps its permission bits, its group and its owner wherever the writer may set them: root keeps
    both; another account keeps the group if it belongs to it and becomes the owner itself (logged once per file),
    provided it may write the file (as rewriting it in place would require). Where the group cannot be kept, the
    new content is copied into the file in place instead, as the reference releases always write, so the group never
    loses its access: that rewrite keeps everything about the file but is not atomic (logged once per file).

    Args:
        path: The file to create or replace.
        mode: The permission bits of the new file. None keeps those of the file being replaced (a new file gets the
            default mode filtered by the umask, as open() gives it).
        sync_directory: Determines whether the directory is flushed after the rename.

    Yields:
        A descriptor open for writing (and reading) at the start of the empty temporary file.

    Raises:
        OSError: If the directory cannot be created or the file cannot be written or replaced; the error names the
            file (a full disk or an exceeded quota included) and the old file is then untouched.
        PermissionError: If the file belongs to another account and this one may not write it.
    """
    target = Path(path)
    if target.is_symlink():  # replace the file the link points to, as open(path, "w") would, not the link itself
        target = target.resolve()
    try:
        existing: os.stat_result | None = os.stat(target)
    except FileNotFoundError:
        existing = None
    directory = target.parent
    temporary = str(directory / f".{target.name}.{uuid.uuid4().hex}.tmp")
    flags = os.O_RDWR | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0)
    try:
        try:
            descriptor = os.open(temporary, flags, 0o666)
        except FileNotFoundError:
            directory.mkdir(parents=True, exist_ok=True)
            descriptor = os.open(temporary, flags, 0o666)
    except OSError as error:
        raise _naming(error, target) from error
    try:
        try:
            in_place = existing is not None and not _take_ownership(descriptor, existing, target)
            yield descriptor
            if in_place:
                _copy_in_place(descriptor, target)
            else:
                if mode is None and existing is not None:
                    mode = stat.S_IMODE(existing.st_mode)
                if mode is not None:  # after fchown, which may clear the setgid bit
                    os.chmod(temporary, mode)
                sync_data(descriptor)
        finally:
            os.close(descriptor)
        if not in_place:
            os.replace(temporary, target)
    except BaseException as error:
        with contextlib.suppress(OSError):
            os.unlink(temporary)
        if isinstance(error, OSError):
            raise _naming(error, target) from error
        raise
    if in_place:
        os.unlink(temporary)
    elif sync_directory:
        fsync_directory(directory)


_logger = logging.getLogger(__name__)
_reported: set[tuple[str, str]] = set()  # (file, what) pairs already logged, so a busy tracker logs each once


def _report_once(target: Path, what: str, message: str) -> None:
    key = (str(target), what)
    if key not in _reported:
        _reported.add(key)
        _logger.warning(message)


def _take_ownership(descriptor: int, existing: os.stat_result, target: Path) -> bool:
    """Gives the new file the owner and group of the file it replaces, as far as the writer may.

    Returns:
        False if the group cannot be kept (the caller then rewrites the file in place), True otherwise.

    Raises:
        PermissionError: If the owner cannot be kept and the writer may not write the file.
    """
    if not hasattr(os, "fchown"):  # Windows: no POSIX owners
        return True
    created = os.fstat(descriptor)
    uid, gid = existing.st_uid, existing.st_gid
    if created.st_uid == uid and created.st_gid == gid:
        return True
    try:
        os.fchown(descriptor, uid, gid)
    except PermissionError:
        pass
    else:
        return True
    if not os.access(target, os.W_OK):  # in place, this write would fail: do not take the file over instead
        raise PermissionError(errno.EACCES, "Permission denied: the writer may not write this file", str(target))
    if created.st_gid != gid:
        try:
            os.fchown(descriptor, -1, gid)
        except PermissionError:
            _report_once(
                target,
                "group",
                f"Rewriting {target} in place, not atomically: this account (uid {os.geteuid()}) is not in the "
                f"file's group {gid}, so a replacement file could not keep that group's access.",
            )
            return False
    _report_once(
        target,
        "owner",
        f"Rewrote {target} as uid {created.st_uid}, which is now its owner (was uid {uid}): only root can keep "
        f"another account's ownership. The group ({gid}) and the permission bits are kept.",
    )
    return True


def _copy_in_place(source: int, target: Path) -> None:
    """Copies the temporary file's content over the target's, keeping its inode (owner, group, mode and ACLs)."""
    size = os.fstat(source).st_size
    descriptor = os.open(target, os.O_WRONLY | getattr(os, "O_BINARY", 0))
    try:
        offset = 0
        while offset < size:
            chunk = os.pread(source, min(size - offset, 1 << 20), offset)
            if not chunk:
                break
            write_fully(descriptor, chunk)
            offset += len(chunk)
        os.ftruncate(descriptor, size)
        sync_data(descriptor)
    finally:
        os.close(descriptor)


def _naming(error: OSError, target: Path) -> OSError:
    """Returns the error with the target file named in it (a write error alone names no file)."""
    if error.filename == str(target) and error.errno not in (errno.ENOSPC, errno.EDQUOT):
        return error
    reason = error.strerror or str(error)
    if error.errno in (errno.ENOSPC, errno.EDQUOT):
        reason += " (free space or raise the quota on that filesystem; the previous version of the file is intact)"
    named = OSError(error.errno, f"Unable to write {target}: {reason}", str(target))
    return named


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
