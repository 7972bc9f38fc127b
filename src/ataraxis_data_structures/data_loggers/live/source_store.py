"""Stores source descriptions in a live log folder's description file, under a lock shared with the producers.

The file's format is formats.source_description; a DataLogger and its producers (LoggerQueue.describe_source) may
write at once, so each write merges with what the file holds, under one lock per folder kept outside it.
"""

from __future__ import annotations

import hashlib
import os
import tempfile
import warnings
from collections.abc import Mapping
from pathlib import Path

from ..._durable_files import replace_file_atomically
from ...file_locks import hold_lock
from ..formats.source_description import (
    SOURCES_FILE_NAME,
    DescribedSource,
    SourceDescriptionWarning,
    encode_sources_file,
    merge_history,
    read_sources_file,
)

__all__ = ["store_descriptions", "write_sources_file"]

_LOCK_WAIT = 10.0


def store_descriptions(directory: Path, owner: str, described: Mapping[int, DescribedSource]) -> None:
    """Adds descriptions to a live folder's file under a lock (a DataLogger and its producers may write at once).

    Never raises for the file's sake: a failure is a SourceDescriptionWarning naming the file; the messages are
    logged as usual.
    """
    path = Path(directory) / SOURCES_FILE_NAME
    # The lock is outside the log folder (whose contents the lab's code and checksums see), one per folder.
    digest = hashlib.sha1(os.fsencode(Path(directory).absolute()), usedforsecurity=False).hexdigest()[:16]
    user = os.getuid() if hasattr(os, "getuid") else "user"
    lock = Path(tempfile.gettempdir()) / f"ataraxis_data_loggers_{user}" / f"sources-{digest}.lock"
    try:
        with hold_lock(lock, _LOCK_WAIT, lambda: TimeoutError(f"{lock} stayed locked for {_LOCK_WAIT:.0f} s")):
            write_sources_file(directory, described)
    except OSError as error:
        warnings.warn(
            f"{owner}: the source descriptions could not be written to {path} ({error}); the messages are logged as "
            "usual, and describing the source again (or the DataLogger's next start()) writes them",
            SourceDescriptionWarning,
            stacklevel=3,
        )


def write_sources_file(directory: Path, described: Mapping[int, DescribedSource]) -> None:
    """Adds descriptions to a live log folder's file (replaced atomically), keeping those it already holds.

    A description equal to a source's current one adds nothing, so a logger restarted with the same sources leaves
    the file unchanged.
    """
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", SourceDescriptionWarning)  # a damaged file is replaced, not merged
        existing = read_sources_file(directory)
    merged = dict(existing)
    for source_id, entry in described.items():
        merged[source_id] = merge_history(existing.get(source_id, []), [entry])
    if merged == existing and (Path(directory) / SOURCES_FILE_NAME).exists():
        return
    replace_file_atomically(Path(directory) / SOURCES_FILE_NAME, encode_sources_file(merged))
