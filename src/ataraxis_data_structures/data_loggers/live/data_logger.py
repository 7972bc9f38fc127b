"""DataLogger: runs a logger process that saves the LogPackages producers put into its queue.

The parent side is here: it starts the logger process (spawn), watches it, and stops it. The logger process itself
is in logger_process, the producers' side of the transport (the queue) in logger_queue, the logger's side in
logger_receiver, and the file format it writes in log_format.
"""

from __future__ import annotations

import atexit
import contextlib
import logging
import multiprocessing
import multiprocessing.connection
import os
import signal
import socket
import threading
import warnings
import weakref
from collections.abc import Mapping
from pathlib import Path
from typing import Any, cast

import numpy as np

from ...errors import DataLoggerWarning
from ..formats.source_description import DescribedSource, SourceDescription, checked_entry
from .logger_process import LoggerSettings, run_logger
from .logger_queue import LoggerQueue, new_token, open_listener
from .logger_receiver import TornFrame
from .put_board import PutBoard
from .source_store import store_descriptions
from .transport import TRANSPORT

__all__ = ["MAX_RESTARTS", "START_TIMEOUT", "DataLogger", "DataLoggerWarning"]

_log = logging.getLogger(__name__)

START_TIMEOUT = 120.0
"""How long start() waits for the logger process to report that it runs (a spawned interpreter imports NumPy)."""
MAX_RESTARTS = 5
"""How many times one session restarts a logger process that ended unexpectedly before it gives up."""


class DataLogger:
    """Manages the runtime of a data logger that saves serialized data collected from multiple concurrent sources.

    This class manages the runtime of a data logger running in a separate process. The logger uses multiple concurrent
    threads to optimize the I/O operations associated with saving the data to disk, achieving high throughput under a
    wide range of scenarios.

    Notes:
        Initializing the class does not start the logger! Call the start() method to ensure that the logger is fully
        initialized before submitting data for logging.

        Use the queue exposed via the 'input_queue' property to send the data to the logger, from any process. The
        data must be packaged into the LogPackage class instance before it is submitted to the queue. Each producer
        process has its own connection to the logger, so a producer that dies costs at most its own incomplete
        message.

        The logger appends each source's messages to a live log file in the output directory (see log_format);
        assemble_log_archives() turns the directory into one .npz archive per source. Everything put into the queue
        before stop() is on disk when stop() returns; stop() also runs at interpreter exit. Disk trouble and a
        killed logger process never raise: the logger retries, recreates a removed directory, rewrites files whose
        names were removed, and is restarted if killed; stop() warns (DataLoggerWarning) with the count of messages
        lost, also kept in messages_lost and data_complete.

    Args:
        output_directory: The directory where to save the logged data. The data is saved under a subdirectory named
            after the logger instance.
        instance_name: The name of the logger instance. This name has to be unique across all concurrently active
            DataLogger instances. It is joined to output_directory as a path, as the releases join it: a name
            holding a path separator writes into a subfolder (or, when absolute, ignores output_directory).
        thread_count: The number of threads to use for saving the data to disk.
        poll_interval: The interval, in milliseconds, between polling the input queue under a light load. Primarily,
            this is designed to optimize the CPU usage during light workloads. Setting this to 0 disables the polling
            delay mechanism.
        sources: What each source is, by source ID: a SourceDescription, or just its name. Stored in the log
            directory (see describe_source) and carried into each source's archive at assembly.

    Raises:
        ValueError: If the instance name holds a NUL character (no path can hold one), or a source ID of sources is
            not in 0..255.
        TypeError: If a source ID of sources is not an integer or a description is not a SourceDescription or str.
    """

    def __init__(
        self,
        output_directory: Path,
        instance_name: str,
        thread_count: int = 5,
        poll_interval: int = 5,
        *,
        sources: Mapping[int, SourceDescription | str] | None = None,
    ) -> None:
        name = str(instance_name)
        self._name = name
        # Joined as a path, as both releases join it: a name holding a separator (a lab fixture passes
        # f"{tmp_dir}_logger") names a folder below output_directory, or elsewhere when it is absolute.
        self._output_directory = Path(output_directory) / f"{name}_data_log"
        self._output_directory.mkdir(parents=True, exist_ok=True)
        self._thread_count = max(1, int(thread_count))
        self._poll_interval = max(0, int(poll_interval))
        self._context = multiprocessing.get_context("spawn")
        # Listening from the start lets producers put before start(): their messages wait in the kernel until then.
        self._listener: socket.socket | None
        self._listener, address = open_listener(None)
        self._token = new_token()
        # TCP only: the shared bytes that let the logger wait at stop for a put() in progress (see put_board).
        self._board = PutBoard() if TRANSPORT.STOP_GRACE else None
        board = None
        if self._board is not None:
            board = self._board.name
            # Removed when the instance is collected or at exit, whichever comes first (not by a forked copy).
            weakref.finalize(self, _close_board, self._board, os.getpid())
        self._input_queue = LoggerQueue(address, self._name, self._token, board, self._output_directory)
        self._started = False
        self._stopping = False
        self._owner_pid = os.getpid()
        self._logger_process: Any = None
        self._control: Any = None  # the parent's end of the duplex pipe to the logger process
        self._watchdog_thread: threading.Thread | None = None
        self._finished = threading.Event()  # set once the logger reported its end or died
        self._final_status: tuple[str, Any] | None = None
        self._state_lock = threading.Lock()  # orders stop() against the watchdog replacing a dead logger process
        self._messages_lost = 0
        self._data_complete = True
        self._session_lost = 0
        self._session_unknown_loss = False  # messages unread in a killed process's connections: not countable
        self._session_problems: list[str] = []
        self._descriptions: dict[int, DescribedSource] = {}
        if sources:
            self._descriptions = dict(checked_entry(source_id, text) for source_id, text in sources.items())
            self._store_descriptions()

    def __repr__(self) -> str:
        return (
            f"DataLogger(name={self._name}, output_directory={self._output_directory}, "
            f"thread_count={self._thread_count}, poll_interval={self._poll_interval} ms, started={self._started})"
        )

    def __del__(self) -> None:
        listener = getattr(self, "_listener", None)
        if listener is not None:
            listener.close()

    @property
    def name(self) -> str:
        """Returns the name of the instance."""
        return self._name

    @property
    def output_directory(self) -> Path:
        """Returns the path to the directory where the data is saved."""
        return self._output_directory

    @property
    def input_queue(self) -> LoggerQueue:
        """Returns the queue used to send LogPackages to the logger process (from any process)."""
        return self._input_queue

    @property
    def sources(self) -> dict[int, SourceDescription]:
        """Returns the description of each source this instance was given, by source ID (the latest of each)."""
        return {source_id: entry.description for source_id, entry in sorted(self._descriptions.items())}

    def describe_source(self, source_id: int | np.integer[Any], description: SourceDescription | str) -> None:
        """Says what a source is: its name, and what its payloads hold (dtype and shape, or a schema; units; a note).

        Callable before start() and while the logger runs. The description is stored in the log directory at once
        (``axds_sources.json``, replaced atomically) and carried into the source's archive at assembly, where
        ``LogArchiveReader.description`` returns it; both releases read that archive as before. Describing a source
        again replaces its description; the archive keeps the earlier ones, with when each was given
        (``LogArchiveReader.description_history``). The file is never the reason logging fails: a failed write is
        a SourceDescriptionWarning naming the file, and the next start() writes it again.

        Args:
            source_id: The source ID (0..255) the producers put in their LogPackages.
            description: A SourceDescription, or the source's name alone.

        Raises:
            TypeError: If source_id is not an integer or description is not a SourceDescription or str.
            ValueError: If source_id is not in 0..255 or the description is invalid (see SourceDescription).
        """
        source, entry = checked_entry(source_id, description)
        self._descriptions[source] = entry
        self._store_descriptions()

    def _store_descriptions(self) -> None:
        """Writes the descriptions into the log directory; a failure warns and never stops logging."""
        if self._descriptions:
            store_descriptions(self._output_directory, f"DataLogger '{self._name}'", self._descriptions)

    @property
    def messages_lost(self) -> int:
        """Returns how many messages whose put() returned were known lost since the instance was created.

        0 while every message was written. Disk trouble (writes failing past the retries, a nameless file that could
        not be rewritten) is counted exactly; a killed logger process adds the messages it had received and not yet
        written, but not those still unread in its connections' kernel buffers (data_complete turns False then).
        """
        return self._messages_lost

    @property
    def data_complete(self) -> bool:
        """Returns False once a message may have been lost since the instance was created (see messages_lost)."""
        return self._data_complete

    @property
    def alive(self) -> bool:
        """Returns True if the instance's logger process is currently running."""
        process = self._logger_process
        if not self._started or process is None or self._finished.is_set():
            return False
        return not multiprocessing.connection.wait([process.sentinel], timeout=0)

    def start(self) -> None:
        """Starts the remote logger process and the assets used to control and monitor the logger's uptime.

        Returns once the logger process runs and holds the log directory; calling it on a started logger does
        nothing. After a stop() (or a failure), start() begins a new session in the same directory, and the same
        input_queue works again in every process that holds it.

        Raises:
            RuntimeError: If a running DataLogger has the same instance name, another logger writes to the same
                directory, or the logger process fails to start.
        """
        if self._started:
            # A logger process that ended on its own is replaced by the watchdog: wait for the new one, or for the
            # watchdog to give up (then a new session starts). `alive` may turn False a moment before it sees the end.
            while not self.alive and not self._finished.wait(0.01):
                if self._watchdog_thread is None or not self._watchdog_thread.is_alive():
                    break
            if self.alive:
                return
            self._release()
        process, control, progress = self._launch()
        self._logger_process = process
        self._control = control
        self._final_status = None
        self._finished = threading.Event()
        self._stopping = False
        self._started = True
        self._session_lost = 0
        self._session_unknown_loss = False
        self._session_problems = []
        self._owner_pid = os.getpid()
        self._watchdog_thread = threading.Thread(
            target=self._watch,
            args=(process, control, progress, self._finished),
            name=f"DataLogger-{self._name}-watchdog",
            daemon=True,
        )
        self._watchdog_thread.start()
        atexit.register(self._stop_at_exit)
        self._store_descriptions()  # again: an assembly since the last session may have carried and removed the file
        self._input_queue.send_held()  # messages this process put while the logger was stopped

    def _launch(self) -> tuple[Any, Any, Any]:
        """Starts a logger process on the queue's address; returns it, its control pipe and its progress counters."""
        listener = self._listener
        if listener is None:
            listener, _ = open_listener(self._input_queue.address)
            self._listener = listener
        control, child_control = self._context.Pipe(duplex=True)
        board = self._board
        if board is not None:
            board.set_stopping(False)  # a new logger process takes messages (the last one's stop set the byte)
        settings = LoggerSettings(
            self._output_directory,
            self._name,
            self._thread_count,
            self._poll_interval,
            self._token,
            board.name if board is not None else None,
        )
        progress = self._context.RawArray("q", 2)  # messages received, messages written (see run_logger)
        process = self._context.Process(
            target=run_logger,
            args=(listener, settings, child_control, progress),
            name=f"DataLogger-{self._name}",
            daemon=True,
        )
        process.start()
        child_control.close()
        try:
            pid = self._await_ready(process, control)
        except BaseException:
            process.join(timeout=10)
            if process.is_alive():
                process.kill()
                process.join()
            control.close()
            raise
        # From here on only the logger process listens: when it ends, in any way, producers are refused at once
        # instead of connecting to a socket nobody reads (until the watchdog listens again to restart it).
        listener.close()
        self._listener = None
        _log.debug("DataLogger '%s': logger process %d writes to %s", self._name, pid, self._output_directory)
        return process, control, progress

    def stop(self) -> None:
        """Stops the logger process once it saves all buffered data and releases reserved resources.

        Every message whose put() returned before this call, in any process (including processes killed since), is
        written, flushed and fsynced when stop() returns, unless the logger met trouble it could not undo: then
        stop() warns (DataLoggerWarning, "Unable to confirm that the <name> DataLogger saved all buffered data."
        followed by the count of messages lost and what happened) and returns; messages_lost and data_complete tell
        the same. A put() running in another process while stop() runs either is logged or held by that process; a
        put() after stop() is held in its process (with a DataLoggerWarning) and logged once start() is called again,
        as the releases' queue keeps it. Calling it
        on a stopped logger does nothing.
        """
        if not self._started:
            return
        try:
            with self._state_lock:
                if not self._finished.is_set():
                    self._stopping = True
                    with contextlib.suppress(OSError):  # a logger that just died: the watchdog reports it
                        self._control.send(("stop",))
            self._finished.wait()
            if self._final_status is None or self._final_status[0] != "stopped":
                self._session_unknown_loss = True
                self._session_problems.append(self._failure_message())
            else:
                _log.debug("DataLogger '%s' stopped: %s", self._name, self._final_status[1])
            warning = self._session_warning()
        finally:
            self._release()
        if warning is not None:
            warnings.warn(warning, DataLoggerWarning, stacklevel=2)

    def _session_warning(self) -> str | None:
        """Returns the warning stop() gives for the session that ends, or None if nothing went wrong."""
        if not self._session_problems and not self._session_lost and not self._session_unknown_loss:
            return None
        details = "; ".join(self._session_problems)
        if self._session_lost or self._session_unknown_loss:
            counted = f"{self._session_lost} messages were lost"  # after the releases' words: what we know
            if self._session_unknown_loss:
                counted = (
                    f"At least {self._session_lost} messages were lost (messages still unread in a killed logger "
                    "process's connections, or sent by a producer the logger could not wait for at stop, cannot be "
                    "counted)"
                )
            return (
                f"Unable to confirm that the {self._name} DataLogger saved all buffered data. {counted}: {details}. "
                f"Treat the data this logger recorded in {self._output_directory} as incomplete."
            )
        return f"DataLogger '{self._name}' met trouble and recovered, no message lost: {details}."

    def _absorb(self, summary: dict[str, Any]) -> None:
        """Adds a finished logger process's losses and problems to the session's."""
        lost = int(summary.get("lost", 0))
        self._note_loss(lost, unknown=bool(summary.get("unconfirmed", False)))
        self._session_problems.extend(summary.get("problems", []))

    def _note_loss(self, lost: int, *, unknown: bool) -> None:
        self._session_lost += lost
        self._messages_lost += lost
        if lost or unknown:
            self._data_complete = False
        self._session_unknown_loss = self._session_unknown_loss or unknown

    def _await_ready(self, process: Any, control: Any) -> int:
        """Waits for the logger process to report that it runs and returns its pid."""
        ready = multiprocessing.connection.wait([control, process.sentinel], timeout=START_TIMEOUT)
        if control in ready:
            try:
                kind, detail = control.recv()
            except EOFError:  # it ended before reporting anything: say how it ended
                kind = detail = None
            if kind == "ready":
                return int(detail)
            if kind is not None:
                raise RuntimeError(f"DataLogger '{self._name}' did not start: {detail}")
        if ready:
            process.join(timeout=5)  # the sentinel fires a moment before the exit code is known
            raise RuntimeError(
                f"DataLogger '{self._name}': the logger process exited during start ({_describe_exit(process)})"
            )
        raise RuntimeError(f"DataLogger '{self._name}': the logger process did not start within {START_TIMEOUT} s")

    def _watch(self, process: Any, control: Any, progress: Any, finished: threading.Event) -> None:
        """Relays the logger's reports until it ends; restarts a logger process that ended unexpectedly."""
        restarts = 0
        while True:
            final = self._relay(process, control)
            if final is not None and final[0] == "stopped":
                self._absorb(final[1])
                self._final_status = final
                finished.set()
                process.join()  # it only tears its interpreter down now: stop() need not wait for that
                return
            process.join()  # its exit code goes into the failure message
            self._logger_process = process
            self._final_status = final
            lost = max(0, int(progress[0]) - int(progress[1]))
            self._note_loss(lost, unknown=True)
            with self._state_lock:
                restart = not self._stopping and restarts < MAX_RESTARTS
            if not restart:
                finished.set()
                if not self._stopping:
                    _log.error("%s", self._failure_message())
                return
            restarts += 1
            ended = (
                f"the logger process (pid {process.pid}) ended unexpectedly ({_describe_exit(process)}"
                f"{': ' + str(final[1]) if final is not None else ''}): the {lost} messages it had received and not "
                "yet written, and any still unread in its connections, were lost; a new logger process took over"
            )
            self._session_problems.append(ended)
            _log.warning("DataLogger '%s': %s", self._name, ended)
            control.close()
            try:
                process, control, progress = self._launch()
            except BaseException as error:
                self._session_problems.append(f"the new logger process did not start ({error})")
                _log.error("DataLogger '%s': the new logger process did not start: %s", self._name, error)
                if self._listener is not None:  # producers are refused instead of waiting for nobody
                    self._listener.close()
                    self._listener = None
                finished.set()
                return
            with self._state_lock:
                self._logger_process = process
                self._control = control
                self._final_status = None
                if self._stopping:  # stop() was called while the new process started: it stops at once
                    with contextlib.suppress(OSError):
                        control.send(("stop",))

    def _relay(self, process: Any, control: Any) -> tuple[str, Any] | None:
        """Relays a logger process's reports until its final one (returned), or None if it ended without one."""
        while True:
            ready = multiprocessing.connection.wait([control, process.sentinel])
            if control not in ready and not control.poll():
                return None  # the process ended without a final report
            try:
                report = control.recv()
            except (EOFError, OSError):
                return None
            if report[0] == "torn":
                self._report_torn(report[1])
            elif report[0] in ("stopped", "error"):
                return cast("tuple[str, Any]", report)

    def _report_torn(self, frame: TornFrame) -> None:
        producer = f"producer process {frame.pid}" if frame.pid is not None else "a producer process"
        source = f" of source {frame.source_id}" if frame.source_id is not None else ""
        _log.warning(
            "DataLogger '%s': the connection of %s ended in the middle of a message%s (the process died, its put() "
            "was cut off by stop() or interrupted, e.g. by Ctrl+C, or the message was too large for the logger "
            "process's memory): the %d bytes of that incomplete message were discarded; every whole message it sent "
            "before was logged",
            self._name,
            producer,
            source,
            frame.discarded_bytes,
        )

    def _failure_message(self) -> str:
        process = self._logger_process
        reason = ""
        if self._final_status is not None and self._final_status[0] == "error":
            reason = f": {self._final_status[1]}"
        return (
            f"DataLogger '{self._name}': the logger process (pid {process.pid}) failed ({_describe_exit(process)})"
            f"{reason}. Messages written before the failure remain readable in {self._output_directory}"
        )

    def _release(self) -> None:
        self._started = False
        self._stopping = False
        atexit.unregister(self._stop_at_exit)
        if self._control is not None:
            self._control.close()
            self._control = None

    def _stop_at_exit(self) -> None:
        if os.getpid() != self._owner_pid:  # a forked copy of the owner: the logger is not its to stop
            return
        with warnings.catch_warnings(record=True) as caught:  # at exit nobody can act on a warning: it is logged
            warnings.simplefilter("always", DataLoggerWarning)
            self.stop()
        for item in caught:
            _log.error("%s", item.message)


def _close_board(board: PutBoard, owner_pid: int) -> None:
    """Removes a DataLogger's put board, in the process that made it only."""
    if os.getpid() == owner_pid:
        board.close()


def _describe_exit(process: Any) -> str:
    code = process.exitcode
    if code is None:
        return "still running"
    if code < 0:
        try:
            return f"killed by signal {signal.Signals(-code).name}"
        except ValueError:
            return f"killed by signal {-code}"
    return f"exit code {code}"
