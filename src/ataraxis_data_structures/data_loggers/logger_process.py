"""The code that runs inside a DataLogger's logger process.

The process's main thread receives: it drains the queue's pipe in bulk into memory and hands the messages, grouped
by source, to the writer threads (logger_writers). Receiving never waits for the disk, so a slow disk grows the
logger's memory, not the producers' latency.

Shutdown: the parent sends a StopLogging marker behind everything it put. Messages other processes put before
stop() may still be in flight behind the marker, so after the marker the logger keeps receiving until the queue's
in-flight counters say no running process holds a message it put and the pipe is empty (where the counters cannot
tell, until the pipe has stayed empty for QUIET_PERIOD; at most MAX_DRAIN seconds while messages keep coming), then
writes everything, fsyncs and closes each file. The same happens if the parent process dies.
"""

from __future__ import annotations

import contextlib
import multiprocessing
import os
import signal
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .logger_lock import directory_lock, name_lock
from .logger_queue import LoggerQueue, StopLogging
from .logger_receiver import Receiver, make_receiver
from .logger_writers import Record, WriterPool

QUIET_PERIOD = 0.1
"""After the stop marker, when the queue cannot count in-flight messages, the logger finishes once no message has
arrived for this many seconds."""
MAX_DRAIN = 5.0
"""After the stop marker, the logger finishes after this many seconds even if messages keep arriving."""
NO_MARKER_TIMEOUT = 10.0
"""If stop was asked but no marker and no message arrived for this many seconds, the marker is taken as lost (e.g.
a producer was killed while holding the queue's write lock) and the logger finishes."""
SYNC_INTERVAL = 1.0
"""The longest time written data stays without fsync (with SYNC_BYTES, bounds what a power loss can take)."""
SYNC_BYTES = 8 << 20
"""The most bytes a file takes without fsync; also bounds the work left for the final fsync at stop."""
HOUSEKEEPING_INTERVAL = 0.25
"""How often the logger checks for a dead parent and a lost stop marker."""
LIGHT_LOAD = 16 * 1024
"""Fewer bytes than this between two moments the pipe ran empty mean a light load: the logger then waits
poll_interval before reading again, to take more messages per wake-up."""


@dataclass(frozen=True)
class LoggerSettings:
    """What the logger process needs to know, sent to it at start."""

    directory: Path
    instance_name: str
    thread_count: int
    poll_interval_ms: int


def run_logger(input_queue: LoggerQueue, settings: LoggerSettings, status: Any, stop_event: Any) -> None:
    """Runs the logger until stopped; the target of the logger process.

    Sends ("ready", pid) once the directory is locked and writers run, then ("stopped", summary) after a clean
    finish, or ("error", message) and exits with code 1 if anything fails.
    """
    # Ctrl+C reaches every process of the terminal's process group: the logger must outlive it, so that the parent's
    # KeyboardInterrupt handling can still stop() it cleanly (it also finishes on its own if the parent dies).
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    _keep_freed_memory()
    try:
        summary = _LoggerSession(input_queue, settings, status, stop_event).run()
    except BaseException as error:
        detail = str(error) if type(error) is RuntimeError else f"{type(error).__name__}: {error}"
        with contextlib.suppress(OSError):
            status.send(("error", detail))
        sys.exit(1)
    status.send(("stopped", summary))
    status.close()
    # Every file is closed and fsynced and the report is sent: skipping the interpreter's teardown (unloading NumPy
    # and the rest) is what lets stop() return a few tens of milliseconds sooner.
    os._exit(0)


class _LoggerSession:
    def __init__(self, input_queue: LoggerQueue, settings: LoggerSettings, status: Any, stop_event: Any) -> None:
        self._queue = input_queue
        self._settings = settings
        self._status = status
        self._stop_event = stop_event
        self._received = 0
        self._rejected = 0
        self._drain_cut = False

    def run(self) -> dict[str, Any]:
        settings = self._settings
        locks = [
            name_lock(settings.instance_name, settings.directory),
            directory_lock(settings.directory, settings.instance_name),
        ]
        try:
            for lock in locks:
                lock.acquire()
            pool = WriterPool(settings.directory, settings.thread_count, SYNC_INTERVAL, SYNC_BYTES)
            try:
                self._status.send(("ready", os.getpid()))
                self._receive_until_stopped(make_receiver(self._queue.reader), pool)
            finally:
                pool.close()
        finally:
            for lock in reversed(locks):
                lock.release()
        return {
            "messages": self._received,
            "written": pool.written_records,
            "rejected": self._rejected,
            "drain_cut": self._drain_cut,
            "peak_queued_bytes": pool.peak_queued_bytes,
            "peak_rss_kib": _peak_rss_kib(),
        }

    def _receive_until_stopped(self, receiver: Receiver, pool: WriterPool) -> None:
        parent = multiprocessing.parent_process()
        poll_delay = self._settings.poll_interval_ms / 1000
        stop_seen_at: float | None = None
        last_data = time.monotonic()
        next_housekeeping = last_data + HOUSEKEEPING_INTERVAL
        burst = 0  # bytes received since the pipe last ran empty
        while True:
            if pool.error is not None:
                raise pool.error
            now = time.monotonic()
            if stop_seen_at is None:
                timeout = next_housekeeping - now
            else:
                timeout = min(QUIET_PERIOD - (now - last_data), next_housekeeping - now)
            if receiver.wait(max(0.0, timeout)):
                messages, size = receiver.receive()
                last_data = now = time.monotonic()
                burst += size
                if messages and self._dispatch(messages, pool) and stop_seen_at is None:
                    stop_seen_at = now
                if poll_delay and stop_seen_at is None and not receiver.holds_partial_message and not receiver.wait(0):
                    if burst < LIGHT_LOAD:
                        time.sleep(poll_delay)  # a light load: let messages gather to take more per wake-up
                    burst = 0
            else:
                now = time.monotonic()
            if stop_seen_at is not None:
                if not receiver.holds_partial_message and self._all_received(receiver, now - last_data):
                    return
                if now - stop_seen_at >= MAX_DRAIN:
                    self._drain_cut = True
                    return
            if now >= next_housekeeping:
                next_housekeeping = now + HOUSEKEEPING_INTERVAL
                if stop_seen_at is None and (
                    (parent is not None and not parent.is_alive())
                    or (self._stop_event.is_set() and now - last_data >= NO_MARKER_TIMEOUT)
                ):
                    stop_seen_at = now  # finish as after a stop marker: drain what is in flight, then close

    def _all_received(self, receiver: Receiver, quiet_for: float) -> bool:
        """Returns True when every message put before the stop marker has been received.

        With the queue's in-flight counters, that is when no running process holds a message it put and the pipe is
        empty (in this order: once the counters say everything was written, an empty pipe means it was all read).
        Without them (too many processes, Windows), it is when no message arrived for QUIET_PERIOD.
        """
        in_flight = self._queue.in_flight()
        if in_flight is None:
            return quiet_for >= QUIET_PERIOD
        return in_flight == 0 and not receiver.wait(0)

    def _dispatch(self, messages: list[Any], pool: WriterPool) -> bool:
        """Hands the received packages to the writers; returns True if the stop marker was among the messages."""
        batches: dict[int, list[Record]] = {}
        size = 0
        stop = False
        for message in messages:
            if type(message) is tuple:
                source_id, timestamp, payload = message
                if 0 <= source_id <= 255 and 0 <= timestamp <= 0xFFFFFFFFFFFFFFFF:
                    batch = batches.get(source_id)
                    if batch is None:
                        batch = batches[source_id] = []
                    batch.append((timestamp, payload))
                    size += len(payload)
                    continue
            elif isinstance(message, StopLogging):
                stop = True
                continue
            self._rejected += 1
        if batches:
            self._received += sum(len(batch) for batch in batches.values())
            pool.submit(batches, size)
        return stop


def _keep_freed_memory() -> None:
    """Has glibc keep freed memory for reuse instead of returning it to the OS at once.

    Every large payload lives in a fresh buffer from its arrival until it is written; by default glibc maps each one
    anew and unmaps it after, so each byte costs a page fault, which on a VM is what limits large messages. The
    logger's memory still never exceeds what is queued at its peak.
    """
    if not sys.platform.startswith("linux"):
        return
    import ctypes
    import ctypes.util

    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
        mallopt = libc.mallopt
    except (OSError, AttributeError):  # not glibc
        return
    m_trim_threshold, m_mmap_threshold = -1, -3
    mallopt(m_mmap_threshold, 32 << 20)  # the largest value glibc accepts
    mallopt(m_trim_threshold, 256 << 20)


def _peak_rss_kib() -> int:
    """Returns the peak resident memory of this process in KiB (0 where the platform does not tell)."""
    try:
        import resource
    except ImportError:
        return 0
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak // 1024 if sys.platform == "darwin" else peak
