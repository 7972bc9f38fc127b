"""The xxHash3-128 file and directory digests shared by the checksum and the transfer, and the worker pool they use.

A file digest is xxHash3-128 over the UTF-8 relative path followed by the file's bytes; the directory digest is
xxHash3-128 over every file's UTF-8 relative path followed by its 16-byte digest, in order of the relative path
string. xxhash releases the GIL while hashing large buffers and file reads release it too, so threads scale across
cores without the start-up and pickling cost of processes.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import TypeVar

import xxhash

from ..errors import FileNameEncodingError
from ._tree import TreeEntry

__all__ = [
    "CHUNK_SIZE",
    "Item",
    "Result",
    "chunk_buffer",
    "directory_digest",
    "hash_entries",
    "hash_file",
    "new_file_hasher",
    "require_utf8_names",
    "run_parallel",
    "worker_count",
]

CHUNK_SIZE = 1 << 20
"""Bytes read per system call: large enough to make call overhead negligible, small enough to stay in cache."""

_buffers = threading.local()

Item = TypeVar("Item")
Result = TypeVar("Result")


def chunk_buffer() -> memoryview:
    """Returns this thread's reusable read buffer, so reading a file allocates nothing."""
    buffer: memoryview | None = getattr(_buffers, "view", None)
    if buffer is None:
        buffer = memoryview(bytearray(CHUNK_SIZE))
        _buffers.view = buffer
    return buffer


def require_utf8_names(entries: Sequence[TreeEntry], directory: object) -> None:
    """Raises FileNameEncodingError naming the first file whose relative path is not valid UTF-8.

    Such names reach Python as surrogate escapes (PEP 383); the digest hashes names as UTF-8, as both original
    releases do (they fail with a bare UnicodeEncodeError), so no checksum can cover them.
    """
    for entry in entries:
        try:
            entry.relative.encode("utf-8")
        except UnicodeEncodeError:
            shown = entry.relative.encode("utf-8", "surrogateescape").decode("utf-8", "backslashreplace")
            raise FileNameEncodingError(
                f"Unable to checksum {directory}: the name of the file '{shown}' is not valid UTF-8, and the checksum "
                f"hashes file names as UTF-8 (as the original releases do). Rename the file (for example with "
                f"convmv) or leave it out of the directory."
            ) from None


def new_file_hasher(relative: str) -> xxhash.xxh3_128:
    """Returns a hasher already fed with the relative path that starts every file digest."""
    return xxhash.xxh3_128(relative.encode("utf-8"))


def hash_file(path: str, relative: str, on_bytes: Callable[[int], None] | None = None) -> bytes:
    """Returns the 16-byte digest of the file at path stored under the relative path.

    Args:
        path: The file to read.
        relative: The file's path relative to the hashed directory.
        on_bytes: Called with the number of bytes after each read (progress reporting).

    Raises:
        OSError: If the file cannot be opened or read; the message names it, and the errno is kept.
    """
    hasher = new_file_hasher(relative)
    view = chunk_buffer()
    with open(path, "rb", buffering=0) as stream:
        try:
            while count := stream.readinto(view):
                hasher.update(view[:count])
                if on_bytes is not None:
                    on_bytes(count)
        except OSError as error:
            # A read error (EIO from a bad sector) carries no file name; opening errors already do.
            raise OSError(error.errno, f"Unable to read {path}: {error.strerror or error}") from error
    return hasher.digest()


def directory_digest(relatives: Sequence[str], digests: Sequence[bytes]) -> str:
    """Returns the 32-character lowercase hex digest of a directory from its files' digests.

    Args:
        relatives: The files' relative paths, sorted as strings.
        digests: The 16-byte digest of each file, in the same order.
    """
    hasher = xxhash.xxh3_128()
    for relative, digest in zip(relatives, digests, strict=True):
        hasher.update(relative.encode("utf-8"))
        hasher.update(digest)
    return hasher.hexdigest()


def worker_count(requested: int | None) -> int:
    """Returns the number of workers to use: all cores when requested is None or below 1."""
    if requested is None or requested < 1:
        return os.cpu_count() or 1
    return requested


def run_parallel(function: Callable[[Item], Result], items: Sequence[Item], workers: int) -> list[Result]:
    """Returns [function(item) for item in items], computed by up to workers threads.

    The largest items should come first in the caller's order when sizes vary: threads take the next item as they
    become free, which balances a few large files against many small ones without per-item scheduling overhead.
    The first exception raised by any call is re-raised after the other threads stop taking work.
    """
    results: list[Result | None] = [None] * len(items)
    if workers <= 1 or len(items) <= 1:
        return [function(item) for item in items]
    indices: Iterator[int] = iter(range(len(items)))
    lock = threading.Lock()
    failed = threading.Event()

    def work() -> None:
        while not failed.is_set():
            with lock:
                index = next(indices, None)
            if index is None:
                return
            try:
                results[index] = function(items[index])
            except BaseException:
                failed.set()
                raise

    with ThreadPoolExecutor(max_workers=min(workers, len(items))) as pool:
        try:
            futures = [pool.submit(work) for _ in range(min(workers, len(items)))]
            for future in futures:
                future.result()
        except BaseException:
            # A failure or Ctrl+C: the threads finish the item in hand (no half-written file is left) and stop.
            failed.set()
            raise
    return results  # type: ignore[return-value]


def hash_entries(
    entries: Sequence[TreeEntry], workers: int, on_bytes: Callable[[int], None] | None = None
) -> list[bytes]:
    """Returns the digest of every entry (in the given order), hashing large files first across the workers."""
    order = sorted(range(len(entries)), key=lambda index: -entries[index].status.st_size)
    hashed = run_parallel(
        lambda index: hash_file(entries[index].path, entries[index].relative, on_bytes), order, workers
    )
    digests: list[bytes] = [b""] * len(entries)
    for index, digest in zip(order, hashed, strict=True):
        digests[index] = digest
    return digests
