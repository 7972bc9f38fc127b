"""The producer side of a DataLogger's transport: the queue object producers put LogPackages into.

There is no shared lock and no shared buffer between producers. Each producer process opens its own stream connection (a
Unix-domain socket on POSIX, loopback TCP elsewhere: see transport) to the logger process the first time it puts (keyed
by pid, so a forked child opens its own), and ``put()`` writes the message's frame into that connection before it
returns: when ``put()`` returns, the bytes are in the kernel's socket buffer, so a producer killed right after loses
nothing, and a producer killed in the middle of a ``put()`` leaves at most one partial frame in its own connection,
which the logger discards and reports. Threads of one process share its connection under an in-process lock.

The queue holds only the listening address, the logger's token and its name, so it pickles anywhere (``Process``
arguments of any start method, pool tasks, other queues) and reaches processes started after the logger.

Wire format: a connection starts with a hello (transport.HELLO: the token, so that no other local user can inject
messages, and the producer's pid and connection number); then each message is one frame, ``FRAME_HEADER`` (payload size:
uint64, source_id: uint8, timestamp: uint64, all little-endian) followed by the payload bytes. Nothing else travels on a
producer's connection.

A logger that is not running (stopped and not started again, or past its restarts) does not make put() fail, as the
releases' queue does not: put() keeps the message in this process (at most ``HELD_LIMIT`` bytes), warns once
(DataLoggerWarning) and sends the held messages, in order, before the next message once the logger runs again (the
parent's held messages also go out when start() returns). Messages still held when the process ends are lost, and a
warning at exit says how many. With ``warnings.simplefilter("error", DataLoggerWarning)`` put() raises instead.

Flow control: the logger reads every connection as soon as data arrives and never waits for the disk, so ``put()`` costs
one system call. Only if the logger process cannot run (stopped, starved of CPU) and a producer's socket buffer (a few
hundred KB) fills does ``put()`` wait, as the reference's Manager queue always waits for its manager.
"""

from __future__ import annotations

import atexit
import itertools
import os
import queue
import secrets
import select
import socket
import struct
import threading
import time
import warnings
import weakref
from dataclasses import dataclass
from typing import Any

import numpy as np

from ...errors import DataLoggerWarning, LoggerFailedError
from .log_package import LogPackage
from .put_board import PutBoard, attach
from .transport import HELLO, TOKEN_SIZE, TRANSPORT

_STOP_GRACE = TRANSPORT.STOP_GRACE
_UNIX = TRANSPORT.NAME == "unix"
"""put() sends with the socket's own sendmsg there (a C method, no Python call in between): the measured fast path."""

__all__ = [
    "FRAME_HEADER",
    "HELD_LIMIT",
    "LoggerQueue",
    "MAX_PAYLOAD_SIZE",
    "RECONNECT_WAIT",
    "STOP_NOTICE",
    "new_token",
    "open_listener",
]

TYPE_CHECKING = False
if TYPE_CHECKING:
    from pathlib import Path

    from ..formats.source_description import SourceDescription

FRAME_HEADER = struct.Struct("<QBQ")
"""payload size, source_id, timestamp: the start of every frame on a producer's connection."""
MAX_PAYLOAD_SIZE = 0xFFFFFFFF
"""The largest payload one message can carry (the live log's record limit)."""
_LOST_CONNECTION = (BrokenPipeError, ConnectionResetError, ConnectionRefusedError, FileNotFoundError)
STOP_NOTICE = b"S"
"""The one byte a logger process sends on each connection when it stops (not when it dies), before it stops reading."""
RECONNECT_WAIT = 10.0
"""How long put() keeps trying to connect after its connection ended without a stop notice: the logger process died,
and the DataLogger listens again at once and starts a new one."""

HELD_LIMIT = 256 << 20
"""The most bytes of messages one process holds while its logger is not running; later messages are dropped, counted
and reported at exit."""

_all_queues: weakref.WeakSet[LoggerQueue] = weakref.WeakSet()
_all_listeners: weakref.WeakSet[socket.socket] = weakref.WeakSet()
_connection_numbers = itertools.count()
"""This process's producer connections, numbered in the order they open (sent in the hello)."""


def _after_fork_in_child() -> None:
    # A forked child must not keep its parent's connections open (the logger would not see the parent's connection
    # end when the parent dies) nor its listening sockets (they would keep a stopped logger's address alive).
    for instance in list(_all_queues):
        instance._forget_connection(close=True)
    for listener in list(_all_listeners):
        listener.close()


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_after_fork_in_child)


def new_token() -> bytes:
    """Returns a fresh random token a logger's producers must present."""
    return secrets.token_bytes(TOKEN_SIZE)


def open_listener(address: str | None) -> tuple[socket.socket, str]:
    """Returns a listening socket of this platform's transport and its address (a new one if None).

    Raises:
        OSError: If the address cannot be listened on.
    """
    listener, address = TRANSPORT.open_listener(address)
    _all_listeners.add(listener)
    return listener, address


class _NotRunningError(Exception):
    """No logger listens on the address (stopped and not started again, or past its restarts): put() holds."""


@dataclass(frozen=True)
class _HeldFrame:
    """A message put while the logger was not running: its frame header and a copy of its payload."""

    header: bytes
    payload: bytes


def _warn_held_at_exit() -> None:
    for instance in list(_all_queues):
        instance._warn_if_holding_at_exit()


atexit.register(_warn_held_at_exit)


class LoggerQueue:
    """The input queue of one DataLogger: put() sends a LogPackage to the logger process.

    Works in any process that gets the object (pickled, or inherited through fork), started before or after the
    logger. Messages put before the logger's first start() wait in the kernel until it starts.

    Args:
        address: The address the logger listens on.
        logger_name: The name of the DataLogger the queue feeds, used in error messages.
        token: The logger's token, the first bytes of each connection.
        board: The name of the logger's put board (see put_board), where the transport needs one (TCP), else None.
        log_directory: The DataLogger's log directory, where describe_source() stores descriptions.
    """

    def __init__(
        self,
        address: str,
        logger_name: str,
        token: bytes,
        board: str | None = None,
        log_directory: Path | None = None,
    ) -> None:
        self._address = address
        self._logger_name = logger_name
        self._token = token
        self._board_name = board
        self._board: PutBoard | None = None
        self._log_directory = log_directory
        self._forget_connection(close=False)
        _all_queues.add(self)

    def __getstate__(self) -> tuple[str, str, bytes, str | None, Path | None]:
        return self._address, self._logger_name, self._token, self._board_name, self._log_directory

    def __setstate__(self, state: tuple[str, str, bytes, str | None, Path | None]) -> None:
        self._address, self._logger_name, self._token, self._board_name, self._log_directory = state
        self._board = None
        self._forget_connection(close=False)
        _all_queues.add(self)

    def describe_source(self, source_id: int | np.integer[Any], description: SourceDescription | str) -> None:
        """Says what a source is, from the process that produces it (see DataLogger.describe_source).

        A producer that knows its payloads (a camera process, its frame shape) describes its own source; the
        description goes to the log directory's file at once, under a lock shared with the DataLogger and the other
        producers, and never raises for the file's sake (a SourceDescriptionWarning names it instead).

        Raises:
            TypeError: If source_id is not an integer or description is not a SourceDescription or str.
            ValueError: If source_id is not in 0..255, or the queue does not know the log directory.
        """
        from ..formats.source_description import checked_entry  # here: most producers never describe
        from .source_store import store_descriptions

        source, entry = checked_entry(source_id, description)
        if self._log_directory is None:
            raise ValueError(f"the queue of DataLogger {self._logger_name!r} does not know its log directory")
        store_descriptions(self._log_directory, f"DataLogger '{self._logger_name}' queue", {source: entry})

    def __repr__(self) -> str:
        return f"LoggerQueue(logger={self._logger_name!r})"

    @property
    def address(self) -> str:
        """Returns the address the logger process listens on."""
        return self._address

    def _forget_connection(self, *, close: bool) -> None:
        connection: socket.socket | None = getattr(self, "_connection", None)
        if close and connection is not None:
            connection.close()
        # A forked child gets a connection and a lock of its own: the at-fork hook calls this in the child, which
        # spares put() a getpid() system call per message.
        self._connection: socket.socket | None = None
        self._lock = threading.Lock()  # a fresh one: a forked child may have inherited it held
        self._sender: int | None = None  # the thread inside put(), to refuse a reentrant call instead of deadlocking
        self._poller: Any = None
        self._patient_until = 0.0  # until when a refused connect is retried (the logger is being restarted)
        self._slot = -1  # this process's byte on the put board (TCP), found at its first put
        # Messages held while the logger is not running: this process's own (a forked child must not send its
        # parent's again).
        self._held: list[_HeldFrame] = []
        self._held_bytes = 0
        self._held_dropped = 0
        self._warned_holding = False

    def put(self, obj: Any, block: bool = True, timeout: float | None = None) -> None:
        """Sends a LogPackage to the logger process.

        When put() returns, the message is in the kernel's buffer of this process's connection to the logger: it is
        logged even if this process is killed right after. The producer may reuse its array at once.

        Args:
            obj: The LogPackage to log.
            block: If False, raise queue.Full instead of waiting when the connection's buffer is full (only while the
                logger process cannot run).
            timeout: With block, how long to wait at most for room in that buffer before raising queue.Full.

        Raises:
            TypeError: If the object is not a LogPackage.
            ValueError: If the package's fields are out of range.
            DataLoggerWarning: Only where warnings of that category are turned into errors (the strict mode), if the
                logger is not running; the message is then not held. Otherwise put() holds it and warns once.
            queue.Full: If block is False or the timeout passed before any of the message could be sent.
            LoggerFailedError: If the running logger ended the connection twice while this message was sent (it is
                too large for the logger process's memory); only this message is lost.
        """
        if not isinstance(obj, LogPackage):
            raise TypeError(
                f"DataLogger '{self._logger_name}': the input queue accepts LogPackage instances, got "
                f"{type(obj).__name__}"
            )
        data: Any = obj.serialized_data  # a 1-D uint8 or bool ndarray (LogPackage checks it): sent as its bytes
        if not data.flags.c_contiguous:
            data = np.ascontiguousarray(data)
        try:
            header = FRAME_HEADER.pack(data.nbytes, obj.source_id, obj.acquisition_time)
        except struct.error:
            raise ValueError(
                f"LogPackage source_id must be in 0..255 and acquisition_time in 0..2**64-1, got "
                f"{obj.source_id!r} and {obj.acquisition_time!r}"
            ) from None
        if data.nbytes > MAX_PAYLOAD_SIZE:
            raise ValueError(f"LogPackage serialized_data holds at most {MAX_PAYLOAD_SIZE} bytes, got {data.nbytes}")
        deadline = None
        if not block or timeout is not None:
            deadline = time.monotonic() + (max(0.0, timeout) if block and timeout is not None else 0.0)
        thread = threading.get_ident()
        if self._sender == thread:
            # A signal handler (or a __del__) that runs inside this thread's put() and puts again: the lock is not
            # reentrant, and a frame is half sent on the connection.
            raise RuntimeError(
                f"DataLogger '{self._logger_name}': put() was called while this thread is inside put() (from a "
                "signal handler?); log from the main flow of the program instead, e.g. by setting a flag there"
            )
        with self._lock:
            self._sender = thread
            board = None
            try:
                if _STOP_GRACE:
                    board = self._enter_put()
                if self._held and not self._send_held(deadline):
                    self._hold(header, data)
                    return
                connection = self._connection
                sent = 0
                if connection is not None and _STOP_GRACE and self._stopped(connection, board):
                    self._drop_lost_connection()  # the logger stopped or ended: the frame goes to a new connection
                    connection = None
                if connection is not None:
                    try:
                        # Unix: the socket's own C method, no Python call in between (the measured fast path).
                        sent = connection.sendmsg([header, data]) if _UNIX else TRANSPORT.send(connection, header, data)
                        if sent == len(header) + data.nbytes:
                            return
                    except BlockingIOError:
                        pass
                    except _LOST_CONNECTION:
                        self._drop_lost_connection()
                try:
                    self._send_slowly(header, data, deadline, sent)
                except _NotRunningError:
                    # Whatever part of the frame went out was discarded with the closed connection.
                    self._hold(header, data)
            except queue.Full:
                raise  # raised only before any byte of the frame went out: the connection stays whole
            except BaseException:
                # Ctrl+C or another exception while waiting for buffer room may leave part of this frame on the
                # connection; the next frame must not follow it there. Closing makes the logger discard (and report)
                # the part; every whole message sent before stays logged.
                self._drop_connection()
                raise
            finally:
                self._sender = None
                if board is not None:
                    board.leave(self._slot)

    def _enter_put(self) -> PutBoard | None:
        """Marks this process as inside put() on the logger's put board (TCP); returns the board, if there is one."""
        board = self._board
        if board is None:
            if self._board_name is None:
                return None
            board = self._board = attach(self._board_name)
            if board is None:  # the DataLogger is gone: nothing to coordinate with
                self._board_name = None
                return None
        if self._slot < 0:
            self._slot = board.slot(os.getpid())
        board.enter(self._slot)
        return board

    def _stopped(self, connection: socket.socket, board: PutBoard | None) -> bool:
        """Returns True if the logger stopped or ended (TCP: asked before each send, after the board says "in put").

        The peek is a system call, which orders this process's board byte before its read of the stop byte (see
        put_board): either the logger sees this put() and waits for its frame, or this put() sees the stop.
        """
        return TRANSPORT.ended(connection) or (board is not None and board.stopping)

    def _hold(self, header: bytes, data: Any) -> None:
        """Keeps a message the logger cannot take now, to send it once the logger runs again (warns once)."""
        if not self._warned_holding:
            # In the strict mode (the warning turned into an error) this raises and the message is not held.
            warnings.warn(
                f"DataLogger '{self._logger_name}' is not running (it was stopped and not started again, or its "
                f"logger process ended): this message and later ones are held in process {os.getpid()} and logged "
                "once the logger starts again; they are lost if this process ends first",
                DataLoggerWarning,
                stacklevel=3,
            )
            self._warned_holding = True
        if self._held_bytes + len(header) + data.nbytes > HELD_LIMIT:
            self._held_dropped += 1
            return
        self._held.append(_HeldFrame(header, data.tobytes()))
        self._held_bytes += len(header) + data.nbytes

    def _send_held(self, deadline: float | None) -> bool:
        """Sends the held messages in order; returns False if the logger is still not running (the rest stay held)."""
        while self._held:
            frame = self._held[0]
            try:
                self._send_slowly(frame.header, np.frombuffer(frame.payload, dtype=np.uint8), deadline, 0)
            except _NotRunningError:
                return False
            except LoggerFailedError as error:  # the running logger refused this message (too large for its memory)
                self._held_dropped += 1
                warnings.warn(f"{error} (a message held while the logger was not running)", DataLoggerWarning, 2)
            self._held.pop(0)
            self._held_bytes -= len(frame.header) + len(frame.payload)
        self._warned_holding = False
        return True

    def send_held(self) -> None:
        """Sends the messages this process held while the logger was not running, if it runs now (start() calls it)."""
        with self._lock:
            if self._held:
                board = self._enter_put() if _STOP_GRACE else None
                try:
                    self._send_held(None)
                finally:
                    if board is not None:
                        board.leave(self._slot)

    @property
    def held_messages(self) -> int:
        """Returns how many messages this process holds because the logger was not running when they were put."""
        return len(self._held)

    def _warn_if_holding_at_exit(self) -> None:
        if self._held or self._held_dropped:
            warnings.warn(
                f"DataLogger '{self._logger_name}': process {os.getpid()} ends holding "
                f"{len(self._held) + self._held_dropped} messages put while the logger was not running; they were "
                "not logged (start the logger again before the producers end)",
                DataLoggerWarning,
                stacklevel=1,
            )

    def put_nowait(self, obj: Any) -> None:
        """Sends a LogPackage like put(obj, block=False)."""
        self.put(obj, block=False)

    def _send_slowly(self, header: bytes, data: Any, deadline: float | None, sent: int) -> None:
        """Sends the rest of a frame whose fast send did not finish (`sent` bytes of it went out).

        Connects (or reconnects, once, to a restarted logger) if needed, and waits for buffer room.
        """
        for attempt in range(2):
            connection = self._connection or self._connect()
            try:
                self._send_frame(connection, header, data.data.cast("B"), deadline, sent)
                return
            except _LOST_CONNECTION:
                # The logger was stopped (and maybe started again, listening anew) or died (and is being restarted):
                # whatever part of this frame went out was discarded with the old connection, so the whole frame
                # goes to a new one.
                self._drop_lost_connection()
                sent = 0
                if attempt:
                    raise self._refused(len(header) + data.nbytes) from None
        raise AssertionError("unreachable")

    def _connect(self) -> socket.socket:
        while True:
            try:
                connection = TRANSPORT.connect(self._address)
            except (ConnectionRefusedError, FileNotFoundError):
                if time.monotonic() < self._patient_until:  # a dead logger being replaced: it listens again soon
                    time.sleep(0.01)
                    continue
                raise _NotRunningError from None
            try:
                # Blocking, before any frame: the hello is in the kernel as a whole before the connection is used.
                connection.sendall(HELLO.pack(self._token, os.getpid(), next(_connection_numbers)))
            except _LOST_CONNECTION:  # accepted by a listener that is shutting down
                connection.close()
                raise _NotRunningError from None
            except BaseException:
                connection.close()
                raise
            if self._board is not None and self._board.stopping:
                # TCP: the logger is stopping. It waits only for producers it knows (their hello read after it set
                # the stop byte), so no frame may follow on this connection: the message is held instead.
                connection.close()
                raise _NotRunningError
            connection.setblocking(False)
            self._connection = connection
            self._patient_until = 0.0
            return connection

    def _drop_lost_connection(self) -> None:
        """Drops a connection the logger ended; one that ended without a stop notice means a restart is coming."""
        connection = self._connection
        stopped = True
        if connection is not None and not (self._board is not None and self._board.stopping):
            try:
                stopped = connection.recv(1) == STOP_NOTICE
            except OSError:
                stopped = False
        if not stopped:
            self._patient_until = time.monotonic() + RECONNECT_WAIT
        self._drop_connection()

    def _send_frame(
        self, connection: socket.socket, header: bytes, payload: memoryview, deadline: float | None, skip: int
    ) -> None:
        pending: list[memoryview] = [memoryview(header), payload]
        started = skip > 0
        sent = skip
        while pending:
            if not sent:
                try:
                    sent = (
                        TRANSPORT.send(connection, pending[0], pending[1])
                        if len(pending) == 2
                        else connection.send(pending[0])
                    )
                except BlockingIOError:
                    sent = 0
            if sent:
                started = True
                while sent:
                    if sent >= len(pending[0]):
                        sent -= len(pending[0])
                        pending.pop(0)
                    else:
                        pending[0] = pending[0][sent:]
                        sent = 0
                while pending and not len(pending[0]):
                    pending.pop(0)
                continue
            wait = None
            if deadline is not None and not started:  # once part of a frame is out, the rest must follow
                wait = deadline - time.monotonic()
                if wait <= 0:
                    raise queue.Full
            self._wait_writable(connection, wait)

    def _wait_writable(self, connection: socket.socket, timeout: float | None) -> None:
        if not hasattr(select, "poll"):  # Windows: select() has no descriptor-number limit there
            select.select([], [connection], [], timeout)
            return
        if self._poller is None:
            self._poller = select.poll()
            self._poller.register(connection.fileno(), select.POLLOUT)
        self._poller.poll(None if timeout is None else max(1, int(timeout * 1000)))

    def _drop_connection(self) -> None:
        if self._connection is not None:
            self._connection.close()
        self._connection = None
        self._poller = None

    def _refused(self, dropped_bytes: int) -> LoggerFailedError:
        """The error of a message the logger ended the connection under twice (connected twice, twice mid-message)."""
        return LoggerFailedError(
            f"DataLogger '{self._logger_name}' closed the connection twice while this message of {dropped_bytes} "
            "bytes was being sent: the message is too large for the logger's memory, or the logger ended twice; the "
            "message was not logged"
        )

    def close(self) -> None:
        """Closes this process's connection to the logger; a later put() opens a new one."""
        with self._lock:
            self._drop_connection()

    def join_thread(self) -> None:
        """Does nothing: put() sends synchronously, so there is no feeder thread to wait for."""

    def cancel_join_thread(self) -> None:
        """Does nothing: put() sends synchronously, so there is no feeder thread to wait for."""

    def qsize(self) -> int:
        """Raises NotImplementedError: messages are in the kernel or the logger, never counted in a queue."""
        raise NotImplementedError("the DataLogger input queue does not count its messages")

    def empty(self) -> bool:
        """Raises NotImplementedError: messages are in the kernel or the logger, never counted in a queue."""
        raise NotImplementedError("the DataLogger input queue does not count its messages")

    def full(self) -> bool:
        """Returns False: the queue has no size limit."""
        return False
