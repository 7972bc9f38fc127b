"""The in-memory pass: sorts every message of a source by timestamp, then writes (and verifies) the archive.

Used for a source whose records do not arrive in archive order (out-of-order timestamps, a session whose onset
precedes the archive's, reference-style ``.npy`` files); the streaming pass handles every other source.
"""

from __future__ import annotations

import zlib
from collections.abc import Callable
from contextlib import suppress
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from numpy.typing import NDArray

from ..._progress import ProgressBar
from ...errors import ArchiveVerificationError
from ..formats.archive_format import repeat_counts
from ..formats.archive_layout import MESSAGE_PREFIX, member_stem, npy_header
from ..reading.zip_index import ArchiveIndex
from .chunks import BATCH, MAX_REPEAT, WINDOW, Chunk
from .streaming import PageReleaser
from .zip_writer import ArchiveWriter, member_names

__all__ = ["Plan", "verify_in_memory", "write_in_memory"]


@dataclass(frozen=True)
class Plan:
    """Where each archived message (in archive order) comes from: its chunk, its byte range and its built head."""

    chunk_ids: NDArray[np.int64]
    offsets: NDArray[np.int64]
    ends: NDArray[np.int64]
    heads: NDArray[np.uint8]


def write_in_memory(  # noqa: PLR0917 - one call site
    temporary: Path, source_id: int, chunks: list[Chunk], comment: Callable[[], bytes], verbose: bool, position: int
) -> Plan:
    """Writes every message of the chunks, ordered by timestamp then arrival, into the archive at temporary.

    Returns:
        Where each archived message comes from, for verify_in_memory.
    """
    timestamps = np.concatenate([chunk.timestamps for chunk in chunks])
    order = np.argsort(timestamps, kind="stable")
    ordered_timestamps = timestamps[order]
    chunk_ids = np.concatenate(
        [np.full(len(chunk.timestamps), number, dtype=np.int64) for number, chunk in enumerate(chunks)]
    )[order]
    offsets = np.concatenate([chunk.offsets for chunk in chunks])[order]
    ends = offsets + np.concatenate([chunk.sizes for chunk in chunks])[order]
    heads = np.concatenate([chunk.heads for chunk in chunks])[order]
    plan = Plan(chunk_ids, offsets, ends, heads)
    repeats = repeat_counts(ordered_timestamps)
    views = [memoryview(chunk.buffer) for chunk in chunks]  # type: ignore[arg-type]
    writer = ArchiveWriter(temporary)
    progress = ProgressBar(
        total=len(order),
        desc=f"Assembling source {source_id}",
        unit="msg",
        disable=not verbose,
        position=position,
        leave=True,
    )
    try:
        for first in range(0, len(order), BATCH):
            last = min(first + BATCH, len(order))
            bodies = [
                views[chunk][start:end]
                for chunk, start, end in zip(
                    chunk_ids[first:last].tolist(), offsets[first:last].tolist(), ends[first:last].tolist(),
                    strict=True,
                )
            ]  # fmt: skip
            batch_repeats = repeats[first:last]
            if int(batch_repeats.max()) < MAX_REPEAT:
                names, name_lengths = member_names(source_id, ordered_timestamps[first:last], batch_repeats)
                writer.add_batch(names, name_lengths, heads[first:last], bodies)
            else:  # a million messages at one timestamp: names outgrow the fixed-width layout
                for row, body in enumerate(bodies):
                    number = first + row
                    stem = member_stem(source_id, int(ordered_timestamps[number]), int(repeats[number]))
                    writer.add(stem, heads[number].tobytes(), body)
            progress.update(last - first)
        writer.close(comment())
    except BaseException:
        with suppress(OSError):  # closing flushes the buffer, which fails again on a full disk
            writer.abort()
        raise
    finally:
        progress.close()
    return plan


def verify_in_memory(temporary: Path, chunks: list[Chunk], plan: Plan) -> None:
    """Re-reads the written archive and checks every member's CRC-32 and message bytes against the sources.

    Works a window of members at a time and drops the archive's pages behind it, so the check does not hold the
    whole archive in memory.
    """
    try:
        try:
            written = ArchiveIndex(temporary, memory_mapping=True, lazy=True)
        except ValueError as error:
            raise ArchiveVerificationError(f"integrity verification failed: {error}") from None
        if len(written) != len(plan.chunk_ids):
            raise ArchiveVerificationError(
                f"{temporary}: holds {len(written)} messages, expected {len(plan.chunk_ids)}"
            )
        views = [memoryview(chunk.buffer) for chunk in chunks]  # type: ignore[arg-type]
        heads = memoryview(np.ascontiguousarray(plan.heads).tobytes())
        releaser = PageReleaser()
        for first in range(0, len(written), WINDOW):
            last = min(first + WINDOW, len(written))
            try:
                offsets, sizes = written.message_layout(np.arange(first, last, dtype=np.int64))
            except ValueError as error:
                raise ArchiveVerificationError(f"integrity verification failed: {error}") from None
            _verify_window(written, first, offsets, sizes, plan, chunks, views, heads)
            releaser.release(written.buffer, int(offsets[-1] + sizes[-1]))
    except BaseException:
        temporary.unlink(missing_ok=True)
        raise


def _verify_window(  # noqa: PLR0917 - one call site, the arrays of one window
    written: ArchiveIndex,
    first: int,
    offsets: NDArray[np.int64],
    sizes: NDArray[np.int64],
    plan: Plan,
    chunks: list[Chunk],
    views: list[memoryview],
    heads: memoryview,
) -> None:
    archived = memoryview(written.buffer)  # type: ignore[arg-type]
    width = MESSAGE_PREFIX.size
    last = first + len(offsets)
    crc32 = zlib.crc32
    for number, (chunk, start, end, at, size, crc) in enumerate(
        zip(
            plan.chunk_ids[first:last].tolist(),
            plan.offsets[first:last].tolist(),
            plan.ends[first:last].tolist(),
            offsets.tolist(),
            sizes.tolist(),
            written.crcs[first:last].tolist(),
            strict=True,
        ),
        start=first,
    ):
        header = npy_header(size)
        member = archived[at - len(header) : at + size]
        body = at + width
        if crc32(member) != crc:
            raise ArchiveVerificationError(
                f"{written.path}: member {written.member_name(number)!r} fails its CRC-32 check"
            )
        if (
            member[: len(header)] != header
            or size != width + end - start
            or archived[at:body] != heads[number * width : (number + 1) * width]
            or archived[body : at + size] != views[chunk][start:end]
        ):
            raise ArchiveVerificationError(
                f"{written.path}: archived message {written.member_name(number)!r} differs from its "
                f"source ({chunks[chunk].origin}, bytes {start}..{end})"
            )
