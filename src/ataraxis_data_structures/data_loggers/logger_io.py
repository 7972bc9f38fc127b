"""Writes that survive short writes: shared by the queue's feeder threads and the logger's file writers."""

from __future__ import annotations

import os

_MAX_BUFFERS_PER_WRITE = 1024
"""The most buffers one writev() call takes (the usual IOV_MAX)."""


def write_all(fd: int, buffers: list[bytes]) -> None:
    """Writes the buffers to the file descriptor in order, with as few system calls as it can."""
    if not hasattr(os, "writev"):  # Windows
        for buffer in buffers:
            _write_fully(fd, memoryview(buffer))
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
            _write_fully(fd, memoryview(buffer)[written:])
            written = 0


def _write_fully(fd: int, view: memoryview) -> None:
    while view:
        view = view[os.write(fd, view) :]
