"""Deletes directory trees quickly and safely: in parallel, never following symbolic links."""

from __future__ import annotations

import contextlib
import errno
import os
import stat
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from ._hashing import worker_count
from ._safety import refuse_unsafe_path

_BATCH = 256
"""Directory entries unlinked per task: enough to amortize scheduling, few enough to spread a large folder."""


def _unlink_batch(paths: list[str]) -> None:
    """Removes the given non-directory entries; entries that vanished meanwhile are not an error."""
    for path in paths:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(path)


def delete_directory(directory_path: Path) -> None:
    """Deletes the target directory and all its subdirectories using parallel processing.

    Files are unlinked by a pool of threads (unlinking releases the GIL and mostly waits on the disk, so requests
    overlap); folders are then removed deepest first. A symbolic link anywhere in the tree, including directory_path
    itself, is removed as a link: its target is never followed or touched. A missing directory is not an error.

    Args:
        directory_path: The path to the directory to delete.

    An empty path (``Path("")`` is ``Path(".")``, what an unset variable gives), any relative spelling of the working
    directory or of a folder holding it, the filesystem root and the home directory are refused: the working
    directory can still be deleted when given as an absolute path.

    Raises:
        UnsafePathError: A ValueError, if the path is refused (see above); it names the argument and the value.
        NotADirectoryError: If the path exists but is a file.
        OSError: If an entry cannot be removed (for example, for lack of permission); the message names it.
    """
    refuse_unsafe_path(directory_path, "directory_path", "delete")
    # An absolute, normalized path (abspath does not follow links), so every message names the full path.
    path = os.path.abspath(directory_path)
    try:
        status = os.lstat(path)
    except FileNotFoundError:
        return
    if stat.S_ISLNK(status.st_mode):
        os.unlink(path)
        return
    if not stat.S_ISDIR(status.st_mode):
        raise NotADirectoryError(errno.ENOTDIR, "Unable to delete the directory: it is not a directory", path)

    folders: list[str] = []
    pending = [path]
    # Unlinking waits on the disk (inode tables, directory blocks) far more than it uses the CPU, so more threads
    # than cores keep more requests in flight: 16 threads deleted 20,000 files about 1.5x faster than 4 on 2 cores.
    with ThreadPoolExecutor(max_workers=min(64, max(16, 4 * worker_count(None)))) as pool:
        futures = []
        while pending:
            folder = pending.pop()
            folders.append(folder)
            batch: list[str] = []
            with os.scandir(folder) as entries:
                for entry in entries:
                    if entry.is_dir(follow_symlinks=False):
                        pending.append(entry.path)
                        continue
                    batch.append(entry.path)
                    if len(batch) == _BATCH:
                        futures.append(pool.submit(_unlink_batch, batch))
                        batch = []
            if batch:
                futures.append(pool.submit(_unlink_batch, batch))
        for future in futures:
            future.result()
    # Folders were listed parents first, so the reversed list removes children before their parents.
    for folder in reversed(folders):
        with contextlib.suppress(FileNotFoundError):
            os.rmdir(folder)
