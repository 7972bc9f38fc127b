"""atomic_write and direct_write: file-writing context managers, atomic or direct, built on _durable_files."""

from __future__ import annotations

import contextlib
from collections.abc import Generator
from pathlib import Path
from typing import IO, Any

from .._durable_files import replacing_file


@contextlib.contextmanager
def atomic_write(file_path: Path, *, binary: bool = False) -> Generator[IO[Any], None, None]:
    """Opens a temporary file that replaces the target path in one step once the caller finishes writing to it.

    Notes:
        Suits a destination that already exists and that another process may read: a reader sees either the
        previous file or the complete new one, never a partial write. If the block raises (or the write fails), the
        temporary file is removed and the destination stays exactly as it was.

        The temporary file is in the destination's directory (created with its parents if missing), so the rename
        stays within one filesystem. The content is flushed to disk before the rename and the directory after it, so
        a power loss leaves the previous or the new file, complete. A replaced file keeps its permission bits, and
        its owner and group as far as the writer may set them (see the README); a new file gets 0o666 narrowed by
        the umask, as open() gives it. A symbolic link is followed: the file it points to is replaced.

    Args:
        file_path: The path to the file to write. The file is created when it does not exist and replaced when it
            does.
        binary: Determines whether the yielded file object accepts bytes instead of text (text is UTF-8).

    Yields:
        The file object to write the contents to.

    Raises:
        OSError: If the temporary file cannot be created or written, or cannot replace the destination (for example
            because the destination is a directory); the error names the destination.
    """
    with replacing_file(file_path) as descriptor:
        if binary:
            with open(descriptor, "wb", closefd=False) as handle:
                yield handle
        else:
            with open(descriptor, "w", encoding="utf-8", closefd=False) as handle:
                yield handle


@contextlib.contextmanager
def direct_write(file_path: Path, *, binary: bool = False) -> Generator[IO[Any], None, None]:
    """Opens the target path for writing, replacing whatever it already holds.

    Notes:
        Suits a file the caller creates rather than replaces: it costs one open(), with neither the rename nor the
        flush to disk that ``atomic_write()`` pays. The file is truncated when it is opened, so a reader opening it
        meanwhile sees a partial file, and if the block raises or the writer is killed, what was written so far
        stays (as in release 7.2.0). Use ``atomic_write()`` for a file that already holds a complete previous
        version. Missing parent directories are created; the file keeps its inode, so an existing file keeps its
        owner, group and mode, and a new one gets 0o666 narrowed by the umask.

    Args:
        file_path: The path to the file to write. The file is created when it does not exist and truncated when it
            does.
        binary: Determines whether the yielded file object accepts bytes instead of text (text is UTF-8).

    Yields:
        The file object to write the contents to.

    Raises:
        OSError: If the file cannot be created or written.
    """
    path = Path(file_path)
    parent = path.parent
    if not parent.is_dir():
        parent.mkdir(parents=True, exist_ok=True)
    if binary:
        with open(path, "wb") as handle:
            yield handle
    else:
        with open(path, "w", encoding="utf-8") as handle:
            yield handle


__all__ = ["atomic_write", "direct_write"]
