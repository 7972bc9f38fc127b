"""The code that runs inside a DataLogger's logger process.

The process's main thread multiplexes, with ``selectors``, the listening socket (each producer process connects once,
and presents the logger's token first: other connections are closed unread and counted),
every producer's connection, and the control pipe to the parent. It reads each connection as soon as data arrives and
hands the messages, grouped by source, to the writer threads (logger_writers). Receiving never waits for the disk,
so a slow disk grows the logger's memory, not the producers' latency.

Shutdown is exact, with no waiting for quiet: on the parent's "stop" (or when the parent dies), the logger refuses
new connections (shutdown of the listener), accepts those already queued, shuts down the reading side of every
connection, and reads each until its end. Whatever a producer's put() had sent before that is read; a put() still in
progress fails in the producer with an error, and the part of its frame already sent is discarded and reported.
Then everything is written, fsynced and closed, the parent gets the summary, and the process ends normally.

On TCP, which accepts bytes sent to a connection nobody reads, the logger instead sets the put board's stop byte,
waits for every put() in progress, and reads until its connections are quiet (see put_board).

Trouble never ends the process: disk errors are retried and counted by the writers (logger_writers), and when the
open-file limit refuses a new producer connection, the listener is watched again only after a pause, so the producer
waits in the kernel's backlog (its messages with it) until a descriptor frees; at stop every connection is read,
closing finished ones to make room for those still queued.
"""

from __future__ import annotations

import contextlib
import errno
import os
import selectors
import signal
import socket
import sys
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .logger_lock import directory_lock, name_lock
from .logger_queue import STOP_NOTICE
from .logger_receiver import Channel, Hello, TornFrame
from .logger_writers import Record, WriterPool
from .put_board import WAIT_LIMIT, PutBoard, attach
from .transport import TRANSPORT

__all__ = [
    "HOUSEKEEPING_INTERVAL",
    "LIGHT_LOAD",
    "LIGHT_LOAD_MESSAGES",
    "LoggerSettings",
    "SYNC_BYTES",
    "SYNC_INTERVAL",
    "run_logger",
]

SYNC_INTERVAL = 1.0
"""The longest time written data stays without fsync (with SYNC_BYTES, bounds what a power loss can take)."""
SYNC_BYTES = 8 << 20
"""The most bytes a file takes without fsync; also bounds the work left for the final fsync at stop."""
HOUSEKEEPING_INTERVAL = 0.25
"""How often the logger checks whether its parent is still alive."""
LIGHT_LOAD = 16 * 1024
"""Fewer bytes than this in one round of reads (and fewer than LIGHT_LOAD_MESSAGES from every connection) mean a
light load: the logger then waits poll_interval before reading again, to take more messages per wake-up (the
messages wait in the kernel meanwhile; producers do not)."""
LIGHT_LOAD_MESSAGES = 32
"""More messages than this from one connection in one round mean a producer fast enough to fill its socket buffer
(which holds only a few hundred small messages: the kernel charges each its buffer overhead) during a poll_interval
wait, which would make its put() wait: the logger then reads again at once."""

_LISTENER, _CONTROL = "listener", "control"


@dataclass(frozen=True)
class LoggerSettings:
    """What the logger process needs to know, sent to it at start."""

    directory: Path
    instance_name: str
    thread_count: int
    poll_interval_ms: int
    token: bytes
    board: str | None = None
    """The name of the DataLogger's put board (TCP only; see put_board)."""


def run_logger(listener: socket.socket, settings: LoggerSettings, control: Any, progress: Any = None) -> None:
    """Runs the logger until stopped; the target of the logger process.

    Sends ("ready", pid) once the directory is locked and writers run, ("torn", TornFrame) whenever a producer's
    connection ends inside a frame, then ("stopped", summary) after a finish (with what was lost or rewritten, if
    anything), or ("error", message) and exits with code 1 if it cannot run at all (e.g. the directory is locked).
    progress is a shared array of two counters, the messages received and those written, read by the parent if the
    process is killed.
    """
    # Ctrl+C reaches every process of the terminal's process group: the logger must outlive it, so that the parent's
    # KeyboardInterrupt handling can still stop() it cleanly (it also finishes on its own if the parent dies).
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    _keep_freed_memory()
    _raise_descriptor_limit()
    try:
        summary = _LoggerSession(listener, settings, control, progress).run()
    except BaseException as error:
        detail = str(error) if type(error) is RuntimeError else f"{type(error).__name__}: {error}"
        _tell(control, ("error", detail))
        sys.exit(1)
    _tell(control, ("stopped", summary))
    with contextlib.suppress(OSError):
        control.close()


def _tell(control: Any, message: tuple[Any, ...]) -> None:
    """Sends a report to the parent; a parent that died (its end of the pipe closed) is not an error."""
    with contextlib.suppress(OSError):
        control.send(message)


class _LoggerSession:
    def __init__(self, listener: socket.socket, settings: LoggerSettings, control: Any, progress: Any) -> None:
        self._listener = listener
        self._progress = progress
        self._accept_paused_until = 0.0  # while the open-file limit refuses connections, the listener is not watched
        self._refused_accepts = False
        self._settings = settings
        self._control = control
        self._selector = selectors.DefaultSelector()
        self._channels: dict[Channel, None] = {}  # in accept order
        self._unknown: dict[Channel, None] = {}  # accepted, their hello not read yet
        self._rejected = 0  # connections that presented another token
        # The open connections of each producer process, in the order they were opened (see _read).
        self._by_pid: dict[int, list[Channel]] = {}
        self._received = 0
        self._torn: list[TornFrame] = []
        self._batches: dict[int, list[Record]] = {}
        self._batch_bytes = 0
        self._unfinished_puts = False  # TCP: a producer still inside put() when the wait at stop gave up
        self._parent_pid = os.getppid()

    def run(self) -> dict[str, Any]:
        settings = self._settings
        locks = [
            name_lock(settings.instance_name, settings.directory),
            directory_lock(settings.directory, settings.instance_name),
        ]
        try:
            for lock in locks:
                lock.acquire()
            relock = threading.Lock()  # writer threads and the sync thread may both find the directory gone

            def lock_new_directory() -> str | None:
                with relock:
                    return locks[1].reacquire()

            pool = WriterPool(
                settings.directory,
                settings.thread_count,
                SYNC_INTERVAL,
                SYNC_BYTES,
                self._progress,
                on_new_directory=lock_new_directory,
            )
            try:
                _tell(self._control, ("ready", os.getpid()))
                self._receive_until_stopped(pool)
                self._receive_the_rest(pool)
            except BaseException:
                # Failing: the messages already received still go to the writers, which finish them on close.
                with contextlib.suppress(Exception):
                    self._flush(pool)
                raise
            finally:
                self._selector.close()
                TRANSPORT.close_listener(self._listener)
                for channel in self._channels:
                    channel.connection.close()
                pool.close()
        finally:
            for lock in reversed(locks):
                lock.release()
        problems = list(pool.problems)
        if self._refused_accepts:
            problems.insert(0, "the open-file limit refused producer connections for a while (they waited, unread)")
        if self._rejected:
            problems.insert(
                0,
                f"{self._rejected} connections to the logger were closed unread: they did not present its token "
                "(another program connected to its address)",
            )
        return {
            "messages": self._received,
            "written": pool.written_records,
            "lost": pool.lost_records,
            "rewritten_files": pool.rewritten_files,
            "rewritten_records": pool.rewritten_records,
            "unconfirmed": pool.unconfirmed or self._unfinished_puts,
            "problems": problems,
            "torn": [frame._asdict() for frame in self._torn],
            "rejected": self._rejected,
            "peak_queued_bytes": pool.peak_queued_bytes,
            "peak_rss_kib": _peak_rss_kib(),
        }

    def _receive_until_stopped(self, pool: WriterPool) -> None:
        selector = self._selector
        self._listener.setblocking(False)
        selector.register(self._listener, selectors.EVENT_READ, _LISTENER)
        selector.register(self._control, selectors.EVENT_READ, _CONTROL)
        poll_delay = self._settings.poll_interval_ms / 1000
        parent_pid = self._parent_pid
        next_housekeeping = time.monotonic() + HOUSEKEEPING_INTERVAL
        while True:
            round_bytes = round_peak = 0
            for key, _ in selector.select(HOUSEKEEPING_INTERVAL):
                if key.data is _LISTENER:
                    self._accept()
                elif key.data is _CONTROL:
                    # The only thing the parent sends is "stop"; an end of the pipe means it died: finish alike.
                    with contextlib.suppress(EOFError, OSError):
                        self._control.recv()
                    self._flush(pool)
                    return
                else:
                    size, messages = self._read(key.data)
                    round_bytes += size
                    round_peak = max(round_peak, messages)
            self._flush(pool)
            now = time.monotonic()
            if now >= next_housekeeping:
                next_housekeeping = now + HOUSEKEEPING_INTERVAL
                if os.getppid() != parent_pid:  # orphaned (the parent was killed): finish as if stopped
                    return
                if self._accept_paused_until and now >= self._accept_paused_until:
                    self._accept_paused_until = 0.0
                    selector.register(self._listener, selectors.EVENT_READ, _LISTENER)
                    self._accept()
            if poll_delay and round_bytes < LIGHT_LOAD and round_peak <= LIGHT_LOAD_MESSAGES:
                time.sleep(poll_delay)  # a light load: let messages gather in the kernel to take more per wake-up

    def _receive_the_rest(self, pool: WriterPool) -> None:
        """Reads, after a stop, every byte producers sent before it; no new byte can arrive from here on."""
        board = attach(self._settings.board) if TRANSPORT.STOP_GRACE else None
        if board is not None:
            board.set_stopping(True)  # before the accept below: see put_board
        self._accept()  # first: shutting a TCP listener down resets the connections still queued on it
        with contextlib.suppress(OSError):
            self._listener.shutdown(socket.SHUT_RD)  # new connections are refused from now on
        if TRANSPORT.STOP_GRACE:
            # TCP accepts bytes sent to a connection nobody reads any more: the stop byte tells every producer of
            # the stop, the logger waits for the put() calls in progress (the board), then reads until every
            # connection was quiet for the grace (bytes still in flight), takes what is left, and closes.
            self._notify_stop(notice=board is None)
            if board is not None:
                self._wait_for_puts(pool, board)
                board.close(remove=os.getppid() != self._parent_pid)  # the DataLogger's process died
            self._read_until_quiet(pool, TRANSPORT.STOP_GRACE)
            for channel in list(self._channels):
                while channel in self._channels and self._read(channel)[0]:
                    pass
                if channel in self._channels:
                    self._close(channel)
            self._flush(pool)
            return
        done: set[Channel] = set()
        while True:
            refused = not self._accept()  # those already queued may hold messages
            for channel in [channel for channel in self._channels if channel not in done]:
                with contextlib.suppress(OSError):  # the producer already closed its end
                    # A stop, not a death: a producer whose next send fails raises at once instead of waiting for
                    # a restart (see logger_queue.RECONNECT_WAIT).
                    channel.connection.send(STOP_NOTICE)
                with contextlib.suppress(OSError):
                    channel.connection.shutdown(socket.SHUT_RD)  # a producer's next send fails instead of being lost
                done.add(channel)
            if not self._channels:
                if refused:  # no connection left to close, and still no descriptor for one more: give up on it
                    pool.note_problem(
                        "the open-file limit refused producer connections at stop even with every other connection "
                        "closed: the messages of the producers it could not accept are lost"
                    )
                return
            # Finished connections are closed one by one, which frees descriptors for connections still queued.
            for channel in list(self._channels):
                while self._read(channel)[0]:
                    pass
                if channel in self._channels:  # a connection with nothing left ends with the shutdown
                    self._read(channel)
                self._flush(pool)

    def _read_until_quiet(self, pool: WriterPool, grace: float) -> None:
        """Tells every producer of the stop, then reads until no connection brought a byte for `grace` seconds.

        For a transport that cannot refuse a producer's next send (TCP), after the wait for every put() in progress
        (_wait_for_puts): no producer sends from here on, and what they sent is in the kernel, which delivers it as
        the logger reads.
        """
        quiet_since = time.monotonic()
        while (left := quiet_since + grace - time.monotonic()) > 0:
            for key, _ in self._selector.select(left):
                if isinstance(key.data, Channel) and self._read(key.data)[0]:
                    quiet_since = time.monotonic()
            self._flush(pool)

    def _notify_stop(self, *, notice: bool) -> None:
        """Stops watching the listener and the control pipe (TCP); sends the stop notice only without a board.

        With a board its stop byte says it: a notice would be a byte the producer may never read, and closing a TCP
        connection with unread bytes resets it, which drops whatever its kernel had not yet delivered to the logger.
        """
        for key in (self._listener, self._control):
            with contextlib.suppress(KeyError, ValueError):
                self._selector.unregister(key)
        for channel in self._channels if notice else ():
            with contextlib.suppress(OSError):
                channel.connection.send(STOP_NOTICE)

    def _wait_for_puts(self, pool: WriterPool, board: PutBoard) -> None:
        """Waits, reading meanwhile, until no producer with an open connection is inside put() (TCP; see put_board).

        A producer that dies ends its connection, which ends the wait for it; one still inside put() after
        WAIT_LIMIT (stopped, e.g. by SIGSTOP) is reported by pid: a frame it sends later is not read.
        """
        give_up = time.monotonic() + WAIT_LIMIT
        while True:
            if self._unknown:
                # A hello not complete now was sent after the stop byte was set: its producer sees the stop and
                # holds its message (see put_board), so only known producers are waited for.
                self._read_hellos()
            inside = sorted(pid for pid in self._by_pid if board.inside(pid))
            if not inside:
                return
            if time.monotonic() >= give_up:
                pool.note_problem(
                    f"producer processes {inside} were inside put() when the logger stopped and did not finish "
                    f"within {WAIT_LIMIT} s (stopped or starved of CPU): a message they send now is lost"
                )
                self._unfinished_puts = True
                return
            for key, _ in self._selector.select(0.005):
                if isinstance(key.data, Channel):
                    self._read(key.data)
            self._flush(pool)

    def _accept(self) -> bool:
        """Accepts every queued connection; returns False if the open-file limit refused one."""
        while True:
            try:
                connection, _ = self._listener.accept()
            except (BlockingIOError, InterruptedError):
                return True
            except OSError as error:
                if error.errno in (errno.EMFILE, errno.ENFILE, errno.ENOBUFS, errno.ENOMEM):
                    # The producer waits in the backlog, its messages in the kernel with it: the listener is
                    # watched again after a pause (a busy loop otherwise), and stop() makes room for it.
                    self._refused_accepts = True
                    if not self._accept_paused_until:
                        self._accept_paused_until = time.monotonic() + HOUSEKEEPING_INTERVAL
                        with contextlib.suppress(KeyError, ValueError):
                            self._selector.unregister(self._listener)
                    return False
                return True  # the listener was shut down and holds no more queued connections
            channel = Channel(connection)
            self._channels[channel] = None
            self._unknown[channel] = None
            self._selector.register(channel, selectors.EVENT_READ, channel)

    def _read(self, channel: Channel) -> tuple[int, int]:
        """Reads what one connection holds and queues its messages.

        A producer process whose put() was interrupted closes its connection and opens a new one; everything it sent
        on the old one was in the kernel before the first byte of the new one, so reading the producer's older
        connections of what they hold first keeps its messages in put() order (the selector may report the new one
        first). A connection's pid and number come from its hello: reading the hellos of every new connection before
        any of their frames puts each in its place among its producer's connections first. Returns the bytes read (0
        at the connection's end; 1 while a hello is incomplete) and the messages completed.
        """
        if self._unknown:
            self._read_hellos()
            if channel in self._unknown:
                return 1, 0
            if channel not in self._channels:
                return 0, 0
        if channel.pid is not None:
            siblings = self._by_pid.get(channel.pid)
            if siblings is not None and siblings[0] is not channel:
                for older in siblings[: siblings.index(channel)]:
                    while older in self._channels and self._read_one(older)[0]:
                        pass
        return self._read_one(channel)

    def _read_hellos(self) -> None:
        """Reads what arrived of each new connection's hello, placing it among its producer's connections once known."""
        for channel in list(self._unknown):
            state = channel.read_hello(self._settings.token)
            if state is Hello.PENDING:
                continue
            del self._unknown[channel]
            if state is Hello.ACCEPTED and channel.pid is not None:
                siblings = self._by_pid.setdefault(channel.pid, [])
                siblings.append(channel)
                siblings.sort(key=lambda sibling: sibling.number)
                continue
            self._rejected += state is Hello.REJECTED
            self._close(channel)

    def _read_one(self, channel: Channel) -> tuple[int, int]:
        try:
            received = channel.receive(self._batches)
        except ConnectionResetError:
            received = None
        except MemoryError:
            # One message too large for this machine's memory: only its connection is dropped (reported as torn,
            # and the producer's put() fails); every other producer's messages are still received.
            received = None
        if received is None:
            self._close(channel)
            return 0, 0
        self._batch_bytes += received.payload_bytes
        self._received += received.messages
        if self._progress is not None and received.messages:
            self._progress[0] = self._received
        return received.bytes_read, received.messages

    def _close(self, channel: Channel) -> None:
        torn = channel.torn_frame()
        if torn is not None:
            self._torn.append(torn)
            _tell(self._control, ("torn", torn))
        self._selector.unregister(channel)
        self._channels.pop(channel, None)
        self._unknown.pop(channel, None)
        if channel.pid is not None:
            siblings = self._by_pid.get(channel.pid, [])
            if channel in siblings:
                siblings.remove(channel)
            if not siblings:
                self._by_pid.pop(channel.pid, None)
        channel.connection.close()

    def _flush(self, pool: WriterPool) -> None:
        if self._batches:
            pool.submit(self._batches, self._batch_bytes)
            self._batches = {}
            self._batch_bytes = 0


def _raise_descriptor_limit() -> None:
    """Raises this process's open-file limit to the hard limit: each producer process holds one connection."""
    try:
        import resource
    except ImportError:  # not a POSIX system
        return
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    target = hard if hard != resource.RLIM_INFINITY else 1 << 20  # Linux's default cap (fs.nr_open)
    if soft != resource.RLIM_INFINITY and soft < target:
        with contextlib.suppress(ValueError, OSError):  # a lower cap than asked: the limit stays as it was
            resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))


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
