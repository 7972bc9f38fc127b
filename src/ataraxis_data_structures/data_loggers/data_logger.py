"""DataLogger: runs a logger process that saves the LogPackages producers put into its queue.

The parent side is here: it starts the logger process (spawn), watches it, and stops it. The logger process itself
is in logger_process, its queue in logger_queue, and the file format it writes in log_format.
"""

from __future__ import annotations

import atexit
import logging
import multiprocessing
import multiprocessing.connection
import os
import signal
import threading
from pathlib import Path
from typing import Any

from .logger_process import LoggerSettings, run_logger
from .logger_queue import FAILED, RUNNING, STOPPED, LoggerQueue

_log = logging.getLogger(__name__)

START_TIMEOUT = 120.0
"""How long start() waits for the logger process to report that it runs (a spawned interpreter imports NumPy)."""


class DataLogger:
    """Manages the runtime of a data logger that saves serialized data collected from multiple concurrent sources.

    This class manages the runtime of a data logger running in a separate process. The logger uses multiple concurrent
    threads to optimize the I/O operations associated with saving the data to disk, achieving high throughput under a
    wide range of scenarios.

    Notes:
        Initializing the class does not start the logger! Call the start() method to ensure that the logger is fully
        initialized before submitting data for logging.

        Use the multiprocessing Queue exposed via the 'input_queue' property, to send the data to the logger. The data
        must be packaged into the LogPackage class instance before it is submitted to the queue.

        The logger appends each source's messages to a live log file in the output directory (see log_format);
        assemble_log_archives() turns the directory into one .npz archive per source. Everything put into the queue
        before stop() is on disk when stop() returns; stop() also runs at interpreter exit.

    Args:
        output_directory: The directory where to save the logged data. The data is saved under a subdirectory named
            after the logger instance.
        instance_name: The name of the logger instance. This name has to be unique across all concurrently active
            DataLogger instances.
        thread_count: The number of threads to use for saving the data to disk.
        poll_interval: The interval, in milliseconds, between polling the input queue under a light load. Primarily,
            this is designed to optimize the CPU usage during light workloads. Setting this to 0 disables the polling
            delay mechanism.

    Raises:
        ValueError: If the instance name cannot name a directory.
    """

    def __init__(
        self, output_directory: Path, instance_name: str, thread_count: int = 5, poll_interval: int = 5
    ) -> None:
        name = str(instance_name)
        if any(separator in name for separator in ("/", "\\", "\0")) or name in {".", ".."}:
            raise ValueError(f"instance_name must be usable as a directory name, got {instance_name!r}")
        self._name = name
        self._output_directory = Path(output_directory) / f"{name}_data_log"
        self._output_directory.mkdir(parents=True, exist_ok=True)
        self._thread_count = max(1, int(thread_count))
        self._poll_interval = max(0, int(poll_interval))
        self._context = multiprocessing.get_context("spawn")
        self._input_queue = self._new_queue()
        self._started = False
        self._stopping = False
        self._owner_pid = os.getpid()
        self._logger_process: Any = None
        self._status: Any = None  # the parent's end of the logger's status pipe
        self._terminator: Any = None  # the event that tells the logger a stop was asked
        self._watchdog_thread: threading.Thread | None = None
        self._final_status: tuple[str, Any] | None = None

    def __repr__(self) -> str:
        return (
            f"DataLogger(name={self._name}, output_directory={self._output_directory}, "
            f"thread_count={self._thread_count}, poll_interval={self._poll_interval} ms, started={self._started})"
        )

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
        """Returns the multiprocessing Queue used to buffer and pipe the data to the logger process."""
        return self._input_queue

    @property
    def alive(self) -> bool:
        """Returns True if the instance's logger process is currently running."""
        process = self._logger_process
        if not self._started or process is None:
            return False
        return not multiprocessing.connection.wait([process.sentinel], timeout=0)

    def start(self) -> None:
        """Starts the remote logger process and the assets used to control and monitor the logger's uptime.

        Returns once the logger process runs and holds the log directory; calling it on a started logger does
        nothing.

        Raises:
            RuntimeError: If a running DataLogger has the same instance name, another logger writes to the same
                directory, or the logger process fails to start.
        """
        if self._started:
            return
        if self._input_queue.logger_failed:  # the old pipe may end in a torn message: producers need a new queue
            self._input_queue = self._new_queue()
        status, child_status = self._context.Pipe(duplex=False)
        self._terminator = self._context.Event()
        settings = LoggerSettings(self._output_directory, self._name, self._thread_count, self._poll_interval)
        process = self._context.Process(
            target=run_logger,
            args=(self._input_queue, settings, child_status, self._terminator),
            name=f"DataLogger-{self._name}",
            daemon=True,
        )
        process.start()
        child_status.close()
        try:
            pid = self._await_ready(process, status)
        except BaseException:
            process.join(timeout=10)
            if process.is_alive():
                process.kill()
                process.join()
            status.close()
            raise
        _log.debug("DataLogger '%s': logger process %d writes to %s", self._name, pid, self._output_directory)
        self._logger_process = process
        self._status = status
        self._final_status = None
        self._stopping = False
        self._started = True
        self._input_queue.set_logger_state(RUNNING)
        self._owner_pid = os.getpid()
        self._watchdog_thread = threading.Thread(
            target=self._watch, name=f"DataLogger-{self._name}-watchdog", daemon=True
        )
        self._watchdog_thread.start()
        atexit.register(self._stop_at_exit)

    def stop(self) -> None:
        """Stops the logger process once it saves all buffered data and releases reserved resources.

        Everything put into the queue by this process, and by processes that ended before the call, is written,
        flushed and fsynced when stop() returns; messages other running processes put just before the call are
        received until the queue stays empty for a moment. Calling it on a stopped logger does nothing.

        Raises:
            ChildProcessError: If the logger process died or failed while running; the message names the logger,
                the exit code and what failed. What it wrote before stays readable in the output directory.
        """
        if not self._started:
            return
        try:
            if self.alive:
                self._stopping = True
                self._terminator.set()
                self._input_queue.send_stop()
            assert self._watchdog_thread is not None
            self._watchdog_thread.join()
            self._logger_process.join()
            if self._final_status is None or self._final_status[0] != "stopped":
                raise ChildProcessError(self._failure_message())
            self._input_queue.set_logger_state(STOPPED)
            self._report(self._final_status[1])
        finally:
            self._release()

    def _new_queue(self) -> LoggerQueue:
        queue = LoggerQueue(self._context, self._name)
        # stop() sends its marker behind this process's own messages, so nothing of ours is in flight afterwards;
        # without this, messages put after stop() would make the interpreter wait forever at exit for a reader.
        queue.cancel_join_thread()
        return queue

    def _await_ready(self, process: Any, status: Any) -> int:
        """Waits for the logger process to report that it runs and returns its pid."""
        ready = multiprocessing.connection.wait([status, process.sentinel], timeout=START_TIMEOUT)
        if status in ready:
            try:
                kind, detail = status.recv()
            except EOFError:
                kind, detail = "error", "it exited before reporting"
            if kind == "ready":
                return int(detail)
            raise RuntimeError(f"DataLogger '{self._name}' did not start: {detail}")
        if ready:
            raise RuntimeError(
                f"DataLogger '{self._name}': the logger process exited during start ({_describe_exit(process)})"
            )
        raise RuntimeError(f"DataLogger '{self._name}': the logger process did not start within {START_TIMEOUT} s")

    def _watch(self) -> None:
        """Waits for the logger process to end, collects its last report and flags an unexpected death."""
        process = self._logger_process
        multiprocessing.connection.wait([process.sentinel])
        final: tuple[str, Any] | None = None
        try:
            while self._status.poll():
                final = self._status.recv()
        except (EOFError, OSError):
            pass
        process.join()
        self._final_status = final
        if final is not None and final[0] == "stopped" and process.exitcode == 0:
            return
        self._input_queue.set_logger_state(FAILED)
        self._input_queue.discard_unread()
        if not self._stopping:
            _log.error("%s", self._failure_message())

    def _failure_message(self) -> str:
        process = self._logger_process
        reason = ""
        if self._final_status is not None and self._final_status[0] == "error":
            reason = f": {self._final_status[1]}"
        return (
            f"DataLogger '{self._name}': the logger process (pid {process.pid}) failed ({_describe_exit(process)})"
            f"{reason}. Messages written before the failure remain readable in {self._output_directory}; messages "
            f"still in the queue were not logged"
        )

    def _report(self, summary: dict[str, Any]) -> None:
        _log.debug("DataLogger '%s' stopped: %s", self._name, summary)
        if summary.get("rejected"):
            _log.warning(
                "DataLogger '%s': %d objects in the input queue were not LogPackages with a source_id in 0..255 and "
                "a uint64 acquisition_time, and were not logged",
                self._name,
                summary["rejected"],
            )
        if summary.get("drain_cut"):
            _log.warning(
                "DataLogger '%s': messages were still arriving long after stop(); those that arrived later were "
                "not logged",
                self._name,
            )

    def _release(self) -> None:
        self._started = False
        self._stopping = False
        atexit.unregister(self._stop_at_exit)
        if self._status is not None:
            self._status.close()
            self._status = None

    def _stop_at_exit(self) -> None:
        if os.getpid() != self._owner_pid:  # a forked copy of the owner: the logger is not its to stop
            return
        try:
            self.stop()
        except ChildProcessError as error:
            _log.error("%s", error)


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
