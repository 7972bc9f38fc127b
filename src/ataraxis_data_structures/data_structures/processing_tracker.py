"""The processing tracker: a YAML file, shared by many processes and hosts, that records the state of a pipeline's jobs.

Every method that reads or changes the tracker works on the file under its ``.lock`` file, so independent processes
(for example, the jobs of a cluster array) can start, complete and fail jobs concurrently without losing updates.
The file format and its fast emitter/parser live in ``tracker_format``; locking and atomic writes in
``tracker_store``; executor IDs and the evidence that an executor is gone in ``tracker_executors``.
"""

from __future__ import annotations

import contextlib
import copy
import logging
import os
import stat
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import KW_ONLY, InitVar, dataclass, field
from datetime import UTC, datetime
from enum import IntEnum, StrEnum
from pathlib import Path
from typing import Any, NamedTuple, Self

import xxhash

from .._durable_files import write_text_atomically
from .._release_words import release_message
from ..errors import TrackerFormatError, TrackerJobError
from . import tracker_store
from .tracker_executors import (
    PROCESS_STARTED_US,
    Liveness,
    ProcessTable,
    check_executor,
    default_executor_id,
    executor_process,
)
from .tracker_format import JobRecord, job_block, parse_tracker, record_from_mapping, render_tracker
from .yaml_config import YAML_EXCLUDE_METADATA, YamlConfig

__all__ = [
    "DEFAULT_LOCK_TIMEOUT",
    "YAML_EXCLUDE_METADATA",
    "JobState",
    "ProcessingStatus",
    "ProcessingTracker",
    "StaleJob",
    "TrackerStatus",
]

DEFAULT_LOCK_TIMEOUT = 10.0
"""Seconds a tracker operation waits for the lock before raising TimeoutError (what the reference release waits)."""

_RENEWALS_PER_LEASE = 3  # run_job renews a lease this many times per lease period, so one late renewal is harmless.
_logger = logging.getLogger(__name__)


class ProcessingStatus(IntEnum):
    """Defines the status codes used by the ProcessingTracker instances to communicate the runtime state of each job.

    The values are stored in tracker files as integers.
    """

    SCHEDULED = 0
    """Indicates the job is scheduled for execution."""
    RUNNING = 1
    """Indicates the job is currently being executed."""
    SUCCEEDED = 2
    """Indicates the job has been completed successfully."""
    FAILED = 3
    """Indicates the job encountered a runtime error and was not completed."""


class TrackerStatus(StrEnum):
    """Defines the high-level progress labels that summarize the job registry of a ProcessingTracker instance.

    A label describes the whole pipeline, while a ProcessingStatus member describes one job inside it.
    """

    NOT_STARTED = "not_started"
    """Every job is still scheduled."""
    IN_PROGRESS = "in_progress"
    """Some jobs ended and others wait, with none running or failed (also a tracker without jobs)."""
    PROCESSING = "processing"
    """At least one job is running and none failed."""
    COMPLETED = "completed"
    """Every job succeeded."""
    FAILED = "failed"
    """At least one job failed."""


class StaleJob(NamedTuple):
    """A RUNNING job whose executor is provably gone, with the evidence."""

    job_id: str
    job_name: str
    specifier: str
    executor_id: str | None
    reason: str
    """The evidence, as the failure message recovery records ('executor slurm:12 ended with TIMEOUT ...')."""


@dataclass
class JobState:
    """Stores the metadata and the current runtime status of a single job in the processing pipeline."""

    job_name: str
    """The descriptive name of the job."""
    specifier: str = ""
    """An optional specifier that differentiates instances of the same job, for example, when running the same job
    over multiple batches of data."""
    status: ProcessingStatus = ProcessingStatus.SCHEDULED
    """The current status of the job."""
    executor_id: str | None = None
    """An optional identifier for the executor running the job (e.g. a SLURM job ID, a process PID, or any
    user-defined string)."""
    error_message: str | None = None
    """An optional error message describing why the job failed."""
    started_at: int | None = None
    """The UTC timestamp (microsecond-precision epoch) when the job started running."""
    completed_at: int | None = None
    """The UTC timestamp (microsecond-precision epoch) when the job completed (succeeded or failed)."""


def state_from_record(record: JobRecord) -> JobState:
    """Returns a JobState holding the values of a record."""
    return JobState(
        record.job_name,
        record.specifier,
        ProcessingStatus(record.status),
        record.executor_id,
        record.error_message,
        record.started_at,
        record.completed_at,
    )


def _scheduled(record: JobRecord) -> JobRecord:
    """Returns the record of the job back in SCHEDULED, with executor, error, times and lease cleared."""
    return JobRecord(record.job_name, record.specifier, int(ProcessingStatus.SCHEDULED))


def _running(record: JobRecord, executor_id: str, lease: float | None) -> JobRecord:
    """Returns the record of the job started now by executor_id, with a lease when one is kept.

    This process's own 'pid:<pid>' also records the process's identity (host, boot, PID namespace, start time),
    without which stale detection cannot tell that pid from the same number in another container or boot.
    """
    now = _now_us()
    expires = None if lease is None else now + int(lease * 1e6)
    return JobRecord(
        record.job_name,
        record.specifier,
        int(ProcessingStatus.RUNNING),
        executor_id,
        None,
        now,
        None,
        expires,
        executor_process(executor_id),
    )


def _ended(record: JobRecord, status: ProcessingStatus, error_message: str | None) -> JobRecord:
    """Returns the record of the job ended now with status (the lease and the executor's identity end with it)."""
    return record._replace(
        status=int(status),
        error_message=error_message,
        completed_at=_now_us(),
        lease_expires_at=None,
        executor_process=None,
    )


def _plain(text: str) -> str:
    """Returns a str subclass (a StrEnum member) as the plain str it stands for, which is what the file stores."""
    return text if type(text) is str else str.__str__(text)


def _colon_refusal(job_name: str, specifier: str) -> str:
    """Returns release 7.x's refusal of a ':' in a job name or specifier, then why."""
    return release_message(
        f"Unable to generate the identifier for the job {job_name!r} with the specifier {specifier!r}. The job name "
        f"and the specifier must not contain the ':' character, as it joins them inside the hashed identifier "
        f"string.",
        "('a:b' with '' and 'a' with 'b' would share one ID; use another character.)",
    )


def _check_name(job_name: Any, specifier: Any, where: str) -> None:
    """Raises ValueError if the name or the specifier is not a string or holds ':' (which joins them in the ID)."""
    if not isinstance(job_name, str) or not isinstance(specifier, str):
        raise ValueError(
            f"{where} is ({job_name!r}, {specifier!r}), expected a (job_name, specifier) tuple of two strings."
        )
    if ":" in job_name or ":" in specifier:
        raise ValueError(f"{_colon_refusal(_plain(job_name), _plain(specifier))} ({where}.)")


def _record_from_state(job_id: str, state: JobState, source: str) -> JobRecord:
    """Returns the record of a JobState, checking its field types."""
    fields: dict[str, Any] = {
        "job_name": state.job_name,
        "specifier": state.specifier,
        "status": int(state.status) if isinstance(state.status, IntEnum) else state.status,
        "executor_id": state.executor_id,
        "error_message": state.error_message,
        "started_at": state.started_at,
        "completed_at": state.completed_at,
    }
    return record_from_mapping(job_id, fields, source)


def _now_us() -> int:
    """Returns the current UTC time as integer microseconds since the epoch."""
    return time.time_ns() // 1000


def _parse_status(status: ProcessingStatus | str | int) -> ProcessingStatus:
    """Returns the ProcessingStatus named or numbered by status."""
    if isinstance(status, ProcessingStatus):
        return status
    if isinstance(status, str):
        member = ProcessingStatus.__members__.get(status.strip().upper())
        if member is not None:
            return member
    elif isinstance(status, int) and not isinstance(status, bool) and status in ProcessingStatus._value2member_map_:
        return ProcessingStatus(status)
    valid = ", ".join(f"{member.name} ({member.value})" for member in ProcessingStatus)
    raise ValueError(f"Unknown job status {status!r}: expected one of {valid}.")


# JobState objects built from records, kept per tracker file so that an operation only builds objects for the jobs
# that changed: (records of the last snapshot, their JobState objects).
_job_states: dict[str, tuple[dict[str, JobRecord], dict[str, JobState]]] = {}
_JOB_STATES_KEPT = 64


@dataclass
class ProcessingTracker(YamlConfig):
    """Tracks the state of a data processing pipeline and communicates it between processes and host-machines.

    Notes:
        All modifications to the tracker file require the acquisition of the .lock file, which ensures exclusive
        access to the tracker's data, allowing multiple independent processes (jobs) to safely work with the same
        tracker file. ``jobs`` holds the state read by the last operation; treat it as read-only, the file is the
        source of truth.

    Args:
        file_path: The path to the .YAML file used to cache the tracker's data on disk.
        jobs: The initial job states (the file's content replaces them on the first operation).
        lock_timeout: Keyword-only. The longest time, in seconds, an operation waits for the lock before raising
            TimeoutError.
        lease: Keyword-only. If given, run_job() and claim_job() give a running job a lease of this many seconds,
            which run_job() renews in the background (a third of it at a time) while its block runs. A job whose
            executor cannot be checked (a pid of another host or container, a scheduler other than SLURM) counts as
            stale once its lease has run out. Choose it well above the clock difference between hosts and any pause
            the process may take. None (the default) keeps no lease.
    """

    file_path: Path
    """The path to the .YAML file used to cache the tracker's data on disk."""
    jobs: dict[str, JobState] = field(default_factory=dict)
    """Maps the unique identifiers of the jobs that make up the processing pipeline to their current state and
    metadata."""
    lock_path: str = field(init=False)
    """The path to the .LOCK file used to ensure thread-safe access to the tracker's data."""
    _: KW_ONLY
    lock_timeout: InitVar[float] = DEFAULT_LOCK_TIMEOUT
    lease: InitVar[float | None] = None

    def __post_init__(self, lock_timeout: float, lease: float | None) -> None:
        self.file_path = Path(self.file_path)
        self.lock_path = f"{self.file_path}.lock"
        if not lock_timeout >= 0:
            raise ValueError(f"lock_timeout must be a number of seconds >= 0, got {lock_timeout!r}.")
        if lease is not None and not lease > 0:
            raise ValueError(f"lease must be a number of seconds > 0 or None, got {lease!r}.")
        self._lock_timeout = float(lock_timeout)
        self._lease = None if lease is None else float(lease)

    # ------------------------------------------------------------------ file access

    def _tracker_file(self) -> Path:
        """Returns file_path, or raises ValueError if it does not end in .yaml or .yml (as the reference does)."""
        return _require_yaml_suffix(self.file_path)

    def _adopt(self, snapshot: tracker_store.TrackerSnapshot) -> None:
        """Makes jobs reflect the snapshot, building JobState objects only for the jobs that changed."""
        key = str(self.file_path)
        previous_records, previous_states = _job_states.pop(key, ({}, {}))
        if previous_records is snapshot.records:
            states = previous_states
        elif previous_records is snapshot.base:
            states = previous_states.copy()
            for job_id in snapshot.changed:
                record = snapshot.records.get(job_id)
                if record is None:
                    states.pop(job_id, None)
                else:
                    states[job_id] = state_from_record(record)
        else:
            states = {}
            for job_id, record in snapshot.records.items():
                state = previous_states.get(job_id) if previous_records.get(job_id) is record else None
                states[job_id] = state if state is not None else state_from_record(record)
        if len(_job_states) >= _JOB_STATES_KEPT:
            _job_states.pop(next(iter(_job_states), ""), None)
        _job_states[key] = (snapshot.records, states)
        self.jobs = states.copy()

    def _read(self) -> dict[str, JobRecord]:
        """Reads the tracker file under its lock and returns its records."""
        snapshot = tracker_store.locked_read(self._tracker_file(), self.lock_path, self._lock_timeout)
        self._adopt(snapshot)
        return snapshot.records

    def _change_job(self, job_id: str, action: str, new_record: Callable[[JobRecord], JobRecord]) -> None:
        """Replaces one job's record with new_record(old record) under the lock."""

        def change(records: Mapping[str, JobRecord]) -> tuple[dict[str, JobRecord], None]:
            return {job_id: new_record(self._require(records, job_id, action))}, None

        self._update(change)

    def _update(self, change: tracker_store.Change[Any]) -> Any:
        """Applies one change to the file under the lock, adopts the result and returns the change's result."""
        snapshot, result = tracker_store.update_tracker(
            self._tracker_file(), self.lock_path, self._lock_timeout, change
        )
        self._adopt(snapshot)
        return result

    def _require(self, records: Mapping[str, JobRecord], job_id: str, action: str) -> JobRecord:
        """Returns the record of job_id, or raises ValueError naming the job and the tracker file.

        The message begins with the releases' words ('... must be tracked by the instance ...'), which callers
        match; action is their verb phrase with '{job}' where the job goes ('mark {job} as running').
        """
        record = records.get(job_id)
        if record is not None:
            return record
        doing = action.format(job=f"the job with ID {job_id!r}")
        raise TrackerJobError(
            release_message(
                f"Unable to {doing} using the processing tracker at '{self.file_path}'. The requested job must be "
                f"tracked by the instance, but the instance is not configured to track it. {self._tracked(records)}",
                "Add jobs with initialize_jobs() and look IDs up with find_jobs().",
            )
        )

    @staticmethod
    def _tracked(records: Mapping[str, object]) -> str:
        """Returns the releases' sentence listing every tracked job ID (callers match it whole)."""
        return f"The instance is currently configured to track jobs with IDs: {', '.join(records)}."

    # ------------------------------------------------------------------ job IDs

    @staticmethod
    def generate_job_id(job_name: str, specifier: str = "") -> str:
        """Generates a unique hexadecimal job identifier from the job's name and optional specifier with xxHash64.

        The ID is the xxHash64 hex digest of the UTF-8 bytes of "{job_name}:{specifier}", or of job_name alone when
        the specifier is empty.

        Args:
            job_name: The descriptive name for the processing job (e.g., 'process_data').
            specifier: An optional specifier that differentiates instances of the same job (e.g., 'batch_101').

        Returns:
            The unique hexadecimal identifier for the target job.

        Raises:
            ValueError: If the name or the specifier contains ':' (two different jobs could then share an ID).
        """
        job_name, specifier = _plain(job_name), _plain(specifier)
        if ":" in job_name or ":" in specifier:
            raise ValueError(_colon_refusal(job_name, specifier))
        key = f"{job_name}:{specifier}" if specifier else job_name
        return xxhash.xxh64(key.encode("utf-8")).hexdigest()

    # ------------------------------------------------------------------ changes

    def _entries(self, jobs: Any, action: str, argument: str) -> list[tuple[str, str, str]]:
        """Returns (job ID, name, specifier) of each (job_name, specifier) pair, or raises ValueError naming one."""
        where = f"Unable to {action} the processing tracker {self.file_path}"
        if not isinstance(jobs, list | tuple):
            raise ValueError(f"{where}: '{argument}' must be a list of (job_name, specifier) tuples, got {jobs!r}.")
        entries: list[tuple[str, str, str]] = []
        for index, entry in enumerate(jobs):
            if not isinstance(entry, tuple | list) or len(entry) != 2:
                raise ValueError(
                    f"{where}: entry {index} of '{argument}' is {entry!r}, expected a (job_name, specifier) tuple of "
                    f"two strings."
                )
            name, specifier = entry
            _check_name(name, specifier, f"{where}: entry {index} of '{argument}'")
            name, specifier = _plain(name), _plain(specifier)
            entries.append((self.generate_job_id(name, specifier), name, specifier))
        return entries

    def initialize_jobs(self, jobs: list[tuple[str, str]]) -> list[str]:
        """Configures the tracker with the list of one or more jobs to be executed during the pipeline's runtime.

        Notes:
            If the job already has a section in the tracker, this method does not duplicate or modify the existing
            job entry. Use the reset() method to clear all cached job states.

        Args:
            jobs: A list of (job_name, specifier) tuples defining the jobs to track. Each tuple contains the
                descriptive job name and an optional specifier string. Use an empty string for jobs without a
                specifier.

        Returns:
            A list of job IDs corresponding to the input jobs.

        Raises:
            TimeoutError: If the .LOCK file for the tracker .YAML file cannot be acquired within the timeout period.
            ValueError: If an entry is not a (job_name, specifier) pair of strings, or one of them contains ':'.
        """
        entries = self._entries(jobs, "initialize jobs in", "jobs")

        def change(records: Mapping[str, JobRecord]) -> tuple[dict[str, JobRecord], None]:
            added: dict[str, JobRecord] = {}
            for job_id, name, specifier in entries:
                if job_id not in records and job_id not in added:
                    added[job_id] = JobRecord(name, specifier, int(ProcessingStatus.SCHEDULED))
            return added, None

        self._update(change)
        return [job_id for job_id, _, _ in entries]

    def align_jobs(self, jobs: list[tuple[str, str]], universe: list[tuple[str, str]] | None = None) -> list[str]:
        """Aligns the tracker's job registry with the jobs requested for the current pipeline invocation.

        Notes:
            Entries of the file outside ``universe`` (the pipeline's definition changed since the file was written)
            are removed, with a logged warning naming them; requested jobs the file lacks are added as SCHEDULED;
            every other job keeps its recorded state. Everything is checked before the file is touched.

        Args:
            jobs: The (job_name, specifier) tuples the current invocation intends to execute.
            universe: The (job_name, specifier) tuples of every job the pipeline could produce, used only to detect
                foreign entries. Defaults to ``jobs``.

        Returns:
            The job IDs of the requested jobs, in request order.

        Raises:
            TimeoutError: If the .LOCK file for the tracker .YAML file cannot be acquired within the timeout period.
            ValueError: If ``jobs`` is empty, an entry is not a pair of strings or holds ':', or a requested job is
                not part of the universe.
        """
        requested = self._entries(jobs, "align", "jobs")
        where = f"Unable to align the processing tracker at '{self.file_path}' with the requested jobs."
        if not requested:
            raise ValueError(
                release_message(
                    f"{where} The 'jobs' argument must name at least one job, but an empty list was provided."
                )
            )
        allowed = requested if universe is None else self._entries(universe, "align", "universe")
        allowed_ids = {job_id for job_id, _, _ in allowed}
        outside = [
            f"{name} ({specifier})" if specifier else name
            for job_id, name, specifier in requested
            if job_id not in allowed_ids
        ]
        if outside:
            raise TrackerJobError(
                release_message(
                    f"{where} Every requested job must be part of the declared job universe, but the following are "
                    f"absent from it: {', '.join(outside)}.",
                    f"Nothing was changed (the universe holds {len(allowed_ids)} job(s)).",
                )
            )

        def change(records: Mapping[str, JobRecord]) -> tuple[dict[str, JobRecord | None], list[str]]:
            changed: dict[str, JobRecord | None] = {job_id: None for job_id in records if job_id not in allowed_ids}
            for job_id, name, specifier in requested:
                if job_id not in records and job_id not in changed:
                    changed[job_id] = JobRecord(name, specifier, int(ProcessingStatus.SCHEDULED))
            return changed, [job_id for job_id, record in changed.items() if record is None]

        removed: list[str] = self._update(change)
        if removed:
            _logger.warning(
                "The processing tracker %s held %d job(s) outside the job universe; removed them, keeping every job of "
                "the universe: %s.",
                self.file_path,
                len(removed),
                ", ".join(removed),
            )
        return [job_id for job_id, _, _ in requested]

    def start_job(self, job_id: str, executor_id: str | None = None) -> None:
        """Marks the target job as running and records the identifier of the executor running it.

        Without an executor_id, the ID of the scheduler job this process runs in is recorded ('slurm:<id>',
        'pbs:<id>', ... as the releases do), or else 'pid:<pid>', with the process's host, boot, PID namespace and
        start time beside it (the job's executor_process field) for stale detection. The error message and
        completion time of a previous attempt are cleared.

        Args:
            job_id: The unique identifier of the job to mark as started.
            executor_id: An optional identifier for the executor running the job (e.g. a SLURM job ID, a process
                PID, or any user-defined string).

        Raises:
            TimeoutError: If the .LOCK file for the tracker .YAML file cannot be acquired within the timeout period.
            ValueError: If the specified job ID is not found in the managed tracker file.
        """
        self._start(job_id, executor_id, None)

    def _start(self, job_id: str, executor_id: str | None, lease: float | None) -> str:
        """Marks the job running with a lease of lease seconds (None: none); returns the executor ID recorded."""
        executor = _plain(executor_id) if executor_id is not None else default_executor_id()
        self._change_job(job_id, "mark {job} as running", lambda old: _running(old, executor, lease))
        return executor

    def complete_job(self, job_id: str) -> None:
        """Marks a target job as successfully completed.

        Args:
            job_id: The unique identifier of the job to mark as complete.

        Raises:
            TimeoutError: If the .LOCK file for the tracker .YAML file cannot be acquired within the timeout period.
            ValueError: If the specified job ID is not found in the managed tracker file.
        """
        self._change_job(job_id, "mark {job} as complete", lambda old: _ended(old, ProcessingStatus.SUCCEEDED, None))

    def fail_job(self, job_id: str, error_message: str | None = None) -> None:
        """Marks the target job as failed.

        Args:
            job_id: The unique identifier of the job to mark as failed.
            error_message: An optional error message describing why the job failed.

        Raises:
            TimeoutError: If the .LOCK file for the tracker .YAML file cannot be acquired within the timeout period.
            ValueError: If the specified job ID is not found in the managed tracker file.
        """
        if error_message is not None:
            error_message = _plain(error_message) if isinstance(error_message, str) else str(error_message)
        self._change_job(
            job_id, "mark {job} as failed", lambda old: _ended(old, ProcessingStatus.FAILED, error_message)
        )

    @contextlib.contextmanager
    def run_job(self, job_id: str, executor_id: str | None = None) -> Iterator[None]:
        """Runs a single tracked job: marks it running, then succeeded when the block ends, or failed if it raises.

        Notes:
            An ``Exception`` raised by the block (or by completing the job) marks the job failed with the exception's
            text as the error message, and is re-raised unchanged. A ``KeyboardInterrupt`` or ``SystemExit`` (Ctrl+C,
            sys.exit) leaves the job RUNNING, as release 7.x does, and is re-raised: once the process has ended,
            recover_stale_jobs() finds the job (its executor is gone) and fails it, and retry_failed_jobs() schedules
            it again; reset_jobs([job_id]) does it at once where nothing else can be running it. A process killed
            outright (SIGKILL, a scheduler's kill) leaves it RUNNING the same way. With a ``lease``, a background
            thread renews the job's lease while the block runs.

        Args:
            job_id: The unique identifier of the job to run.
            executor_id: An optional explicit identifier for the executor running the job; by default it is
                resolved from the environment as in start_job().

        Yields:
            None. The job is RUNNING for the duration of the block.

        Raises:
            TimeoutError: If the .LOCK file for the tracker .YAML file cannot be acquired within the timeout period.
            ValueError: If the specified job ID is not found in the managed tracker file.
        """
        executor = self._start(job_id, executor_id, self._lease)
        stop = threading.Event()
        renewer = None
        if self._lease is not None:
            renewer = threading.Thread(
                target=self._renew_lease, args=(job_id, executor, self._lease, stop), name="tracker-lease", daemon=True
            )
            renewer.start()
        try:
            try:
                yield
            finally:
                stop.set()
                if renewer is not None:
                    renewer.join()
            self.complete_job(job_id)
        except Exception as error:
            self.fail_job(job_id, str(error) or type(error).__name__)
            raise
        # KeyboardInterrupt and SystemExit pass through and leave the job RUNNING, as in release 7.x.

    def _renew_lease(self, job_id: str, executor: str, lease: float, stop: threading.Event) -> None:
        """Extends the lease of a job while it runs under executor, until stop is set."""

        def change(records: Mapping[str, JobRecord]) -> tuple[dict[str, JobRecord], None]:
            record = records.get(job_id)
            if record is None or record.status != ProcessingStatus.RUNNING or record.executor_id != executor:
                return {}, None  # Ended or taken over meanwhile: nothing of ours to renew.
            return {job_id: record._replace(lease_expires_at=_now_us() + int(lease * 1e6))}, None

        while not stop.wait(lease / _RENEWALS_PER_LEASE):
            try:
                tracker_store.update_tracker(self._tracker_file(), self.lock_path, self._lock_timeout, change)
            except (OSError, ValueError) as error:  # The next renewal may succeed; the lease still has time left.
                _logger.warning("Unable to renew the lease of job %s in %s: %s", job_id, self.file_path, error)

    def claim_job(self, job_name: str | None = None, executor_id: str | None = None) -> str | None:
        """Atomically takes the next SCHEDULED job (in file order) and marks it RUNNING for this executor.

        Notes:
            Many workers may call this at once, on any hosts: each job is handed to exactly one of them. A job that
            is still RUNNING under this same executor ID but started before this process did (a SLURM job that was
            requeued after preemption restarts under its own job ID) is handed back first, instead of a new one.

        Args:
            job_name: If given, only jobs with exactly this name are claimed.
            executor_id: The executor to record; by default resolved from the environment as in start_job().

        Returns:
            The claimed job's ID, or None when no job is left to claim.

        Raises:
            TimeoutError: If the .LOCK file for the tracker .YAML file cannot be acquired within the timeout period.
        """
        executor = _plain(executor_id) if executor_id is not None else default_executor_id()
        lease = self._lease
        takes_back = not executor.startswith("pid:")  # A pid is never reused by a restart of the same worker.

        def change(records: Mapping[str, JobRecord]) -> tuple[dict[str, JobRecord], str | None]:
            first = None
            for job_id, record in records.items():
                if job_name is not None and record.job_name != job_name:
                    continue
                if (
                    takes_back
                    and record.status == ProcessingStatus.RUNNING
                    and record.executor_id == executor
                    and (record.started_at is None or record.started_at < PROCESS_STARTED_US)
                ):
                    return {job_id: _running(record, executor, lease)}, job_id
                if first is None and record.status == ProcessingStatus.SCHEDULED:
                    first = job_id
            if first is None:
                return {}, None
            return {first: _running(records[first], executor, lease)}, first

        claimed: str | None = self._update(change)
        return claimed

    def find_stale_jobs(self) -> list[StaleJob]:
        """Returns the RUNNING jobs whose executor is provably gone, each with the evidence.

        Notes:
            A job is stale when its executor is ``pid:<pid>`` with a recorded identity (this host and boot) and the
            kernel proves that process gone: no process holds that pid in its PID namespace (seen from that
            namespace, or from one that sees it whole), or the pid now belongs to a process with another start time,
            or it is a zombie; or ``slurm:<id>`` and SLURM reports the job in a final state (TIMEOUT, OUT_OF_MEMORY,
            CANCELLED, PREEMPTED, NODE_FAIL, FAILED, COMPLETED, ... per squeue, then sacct, then scontrol); or, for
            any executor that cannot be checked, its lease (see ``lease``) has run out. A pid of another host, boot
            or PID namespace that cannot be seen (a container), a pid without identity (written by a release), and a
            check that fails or times out all mean unknown, and an unknown executor is never called stale. The
            scheduler is asked without holding the lock.

        Returns:
            The stale jobs in file order.

        Raises:
            TimeoutError: If the .LOCK file for the tracker .YAML file cannot be acquired within the timeout period.
        """
        records = self._read()
        now = _now_us()
        checks: dict[tuple[str | None, str | None], Any] = {}
        table = ProcessTable()  # /proc is read at most once per pass, and only if a pid needs it
        stale: list[StaleJob] = []
        for job_id, record in records.items():
            if record.status != ProcessingStatus.RUNNING:
                continue
            # Each executor is asked about once (a pid together with its recorded identity).
            key = (record.executor_id, record.executor_process)
            check = checks.get(key)
            if check is None:
                check = checks[key] = check_executor(record.executor_id, record.executor_process, table)
            if check.liveness is Liveness.GONE:
                reason = f"{check.reason} while the job was running"
            elif (
                check.liveness is Liveness.UNKNOWN
                and record.lease_expires_at is not None
                and now > record.lease_expires_at
            ):
                ended = datetime.fromtimestamp(record.lease_expires_at / 1e6, tz=UTC).strftime("%Y-%m-%d %H:%M:%S")
                reason = (
                    f"executor {record.executor_id} let its lease run out at {ended} UTC (no heartbeat for "
                    f"{(now - record.lease_expires_at) / 1e6:.0f} s beyond it) while the job was running"
                )
            else:
                continue
            stale.append(StaleJob(job_id, record.job_name, record.specifier, record.executor_id, reason))
        return stale

    def recover_stale_jobs(self) -> list[StaleJob]:
        """Marks every stale job (see find_stale_jobs) FAILED with its evidence as the error message.

        The jobs are then picked up by retry_failed_jobs(). A job that ended, restarted or changed executor after it
        was found stale is left alone.

        Returns:
            The jobs that were failed.

        Raises:
            TimeoutError: If the .LOCK file for the tracker .YAML file cannot be acquired within the timeout period.
        """
        found = self.find_stale_jobs()
        if not found:
            return []
        seen = {job.job_id: self.jobs[job.job_id] for job in found if job.job_id in self.jobs}

        def change(records: Mapping[str, JobRecord]) -> tuple[dict[str, JobRecord], list[StaleJob]]:
            failed: dict[str, JobRecord] = {}
            recovered: list[StaleJob] = []
            for job in found:
                record, before = records.get(job.job_id), seen.get(job.job_id)
                if (
                    record is None
                    or before is None
                    or record.status != ProcessingStatus.RUNNING
                    or record.executor_id != before.executor_id
                    or record.started_at != before.started_at
                ):
                    continue
                failed[job.job_id] = _ended(record, ProcessingStatus.FAILED, job.reason)
                recovered.append(job)
            return failed, recovered

        recovered: list[StaleJob] = self._update(change)
        for job in recovered:
            _logger.warning("Failed stale job %s in %s: %s", job.job_id, self.file_path, job.reason)
        return recovered

    def retry_failed_jobs(self) -> list[str]:
        """Resets all failed jobs back to SCHEDULED status for retry.

        This clears the error_message, started_at, and completed_at fields (and the executor ID) of each failed job.

        Returns:
            A list of job IDs that were reset for retry.

        Raises:
            TimeoutError: If the .LOCK file for the tracker .YAML file cannot be acquired within the timeout period.
        """

        def change(records: Mapping[str, JobRecord]) -> tuple[dict[str, JobRecord], list[str]]:
            retried = {
                job_id: _scheduled(record)
                for job_id, record in records.items()
                if record.status == ProcessingStatus.FAILED
            }
            return retried, list(retried)

        retried: list[str] = self._update(change)
        return retried

    def reset_jobs(self, job_ids: list[str]) -> list[str]:
        """Resets the specified jobs back to SCHEDULED status, leaving every other job's state untouched.

        Clears the error_message, started_at, completed_at and executor_id fields of each targeted job. The request
        is all-or-nothing: if any ID is unknown, nothing is changed.

        Args:
            job_ids: The unique identifiers of the jobs to reset.

        Returns:
            The reset job IDs, in registry order.

        Raises:
            TimeoutError: If the .LOCK file for the tracker .YAML file cannot be acquired within the timeout period.
            ValueError: If any of the specified job IDs is not found in the managed tracker file.
        """
        wanted = set(job_ids)

        def change(records: Mapping[str, JobRecord]) -> tuple[dict[str, JobRecord], list[str]]:
            unknown = [job_id for job_id in dict.fromkeys(job_ids) if job_id not in records]
            if unknown:
                raise TrackerJobError(
                    release_message(
                        f"Unable to reset the jobs using the processing tracker at '{self.file_path}'. Every requested "
                        f"job must be tracked by the instance, but the instance is not configured to track the job(s) "
                        f"with ID(s): {', '.join(unknown)}. {self._tracked(records)}",
                        "Nothing was reset.",
                    )
                )
            reset = {job_id: _scheduled(record) for job_id, record in records.items() if job_id in wanted}
            return reset, list(reset)

        reset: list[str] = self._update(change)
        return reset

    def reset(self) -> None:
        """Resets the tracker file to the default state.

        Raises:
            TimeoutError: If the .LOCK file for the tracker .YAML file cannot be acquired within the timeout period.
        """
        self._adopt(tracker_store.reset_tracker(self._tracker_file(), self.lock_path, self._lock_timeout))

    # ------------------------------------------------------------------ queries

    def get_job_status(self, job_id: str) -> ProcessingStatus:
        """Queries the current runtime status of the target job.

        Args:
            job_id: The unique identifier of the job for which to query the runtime status.

        Returns:
            The current runtime status of the job.

        Raises:
            TimeoutError: If the .LOCK file for the tracker .YAML file cannot be acquired within the timeout period.
            ValueError: If the specified job ID is not found in the managed tracker file.
        """
        return ProcessingStatus(self._require(self._read(), job_id, "query the status of {job}").status)

    def get_job_info(self, job_id: str) -> JobState:
        """Returns the full JobState object for the specified job.

        Args:
            job_id: The unique identifier of the job to query.

        Returns:
            The JobState object containing all metadata for the job (a copy: changing it does not change the file).

        Raises:
            TimeoutError: If the .LOCK file for the tracker .YAML file cannot be acquired within the timeout period.
            ValueError: If the specified job ID is not found in the managed tracker file.
        """
        return state_from_record(self._require(self._read(), job_id, "query the state of {job}"))

    def get_jobs_by_status(self, status: ProcessingStatus | str) -> list[str]:
        """Returns all job IDs that have the specified status.

        Args:
            status: The status to filter jobs by: a ProcessingStatus, or its name in any letter case ('failed').

        Returns:
            A list of job IDs with the specified status.

        Raises:
            TimeoutError: If the .LOCK file for the tracker .YAML file cannot be acquired within the timeout period.
            ValueError: If status names no ProcessingStatus.
        """
        wanted = int(_parse_status(status))
        return [job_id for job_id, record in self._read().items() if record.status == wanted]

    def get_summary(self) -> dict[ProcessingStatus, int]:
        """Returns a summary of job counts by status.

        Returns:
            A dictionary mapping each ProcessingStatus to the count of jobs with that status.

        Raises:
            TimeoutError: If the .LOCK file for the tracker .YAML file cannot be acquired within the timeout period.
        """
        counts = [0, 0, 0, 0]
        for record in self._read().values():
            counts[record.status] += 1
        return {status: counts[status] for status in ProcessingStatus}

    def find_jobs(self, job_name: str | None = None, specifier: str | None = None) -> dict[str, tuple[str, str]]:
        """Searches for jobs matching the given name and/or specifier patterns.

        Supports partial matching (substring search) on job names and specifiers. If both parameters are provided,
        jobs must match both patterns.

        Args:
            job_name: A substring to match against job names. If None, matches any job name.
            specifier: A substring to match against specifiers. If None, matches any specifier.

        Returns:
            A dictionary mapping matching job IDs to (job_name, specifier) tuples.

        Notes:
            With neither argument, every job is returned (as both releases do).

        Raises:
            TimeoutError: If the .LOCK file for the tracker .YAML file cannot be acquired within the timeout period.
        """
        return {
            job_id: (record.job_name, record.specifier)
            for job_id, record in self._read().items()
            if (job_name is None or job_name in record.job_name)
            and (specifier is None or specifier in record.specifier)
        }

    @property
    def complete(self) -> bool:
        """Returns True if the tracked processing pipeline has been completed successfully.

        Notes:
            The pipeline is considered complete if all jobs have been marked as succeeded (a tracker without jobs is
            not complete).
        """
        records = self._read()
        return bool(records) and all(record.status == ProcessingStatus.SUCCEEDED for record in records.values())

    @property
    def encountered_error(self) -> bool:
        """Returns True if the tracked processing pipeline has been terminated due to a runtime error.

        Notes:
            The pipeline is considered to have encountered an error if any job has been marked as failed.
        """
        return any(record.status == ProcessingStatus.FAILED for record in self._read().values())

    def snapshot(self) -> dict[str, JobState]:
        """Returns a point-in-time copy of the tracker's complete job registry, read under one lock acquisition.

        Notes:
            The returned states are copies: changing them does not change the tracker. A tracker file that does
            not exist gives an empty registry and nothing is created (no file, lock file or folder).

        Returns:
            A dictionary mapping every tracked job ID to a copy of its JobState.

        Raises:
            TimeoutError: If the .LOCK file for the tracker .YAML file cannot be acquired within the timeout period.
        """
        path = self._tracker_file()
        if not os.path.lexists(path):
            return {}
        self._read()
        return {job_id: copy.copy(state) for job_id, state in self.jobs.items()}

    def summarize(self) -> dict[str, Any]:
        """Returns the registry as JSON-ready per-job details, the counts per status, and the pipeline's label.

        Notes:
            Built on snapshot(), so a missing file is summarized as empty and nothing is created. A job without an
            error message has no 'error_message' key.

        Returns:
            {'jobs': [{'job_id', 'job_name', 'specifier', 'status' (the member name), 'executor_id', 'started_at',
            'completed_at'[, 'error_message']}, ...], 'summary': {'total', 'succeeded', 'failed', 'running',
            'scheduled'}, 'status': a TrackerStatus}.

        Raises:
            TimeoutError: If the .LOCK file for the tracker .YAML file cannot be acquired within the timeout period.
        """
        return summarize_states(self.snapshot())

    @staticmethod
    def resolve_status(summary: Mapping[str, int]) -> TrackerStatus:
        """Returns the progress label of a summary's counts (the 'summary' of summarize(); absent keys count 0).

        Any failed job gives FAILED; every job succeeded gives COMPLETED; any running job gives PROCESSING; every
        job scheduled gives NOT_STARTED; anything else, including no jobs at all, gives IN_PROGRESS.

        Args:
            summary: Counts under 'total', 'succeeded', 'failed', 'running' and 'scheduled'.

        Returns:
            The label of the highest-priority condition the counts satisfy.
        """
        total = summary.get("total", 0)
        if summary.get("failed", 0) > 0:
            return TrackerStatus.FAILED
        if total > 0 and summary.get("succeeded", 0) == total:
            return TrackerStatus.COMPLETED
        if summary.get("running", 0) > 0:
            return TrackerStatus.PROCESSING
        if total > 0 and summary.get("scheduled", 0) == total:
            return TrackerStatus.NOT_STARTED
        return TrackerStatus.IN_PROGRESS

    def resolve_job(self, job_id: str, universe: list[tuple[str, str]]) -> tuple[str, str]:
        """Returns the (job_name, specifier) of the universe whose job ID is job_id, without reading the file.

        Args:
            job_id: The hexadecimal job ID to resolve.
            universe: The (job_name, specifier) tuples of every job the pipeline could produce.

        Returns:
            The name and the specifier of the job the ID names.

        Raises:
            ValueError: If the universe is empty, or no job of it has this ID.
        """
        where = (
            f"Unable to resolve the job with ID {job_id!r} against the job universe of the processing tracker at "
            f"'{self.file_path}'."
        )
        if not universe:
            raise ValueError(
                release_message(
                    f"{where} The 'universe' argument must name at least one job, but an empty list was provided."
                )
            )
        entries = self._entries(universe, "resolve a job of", "universe")
        for candidate, name, specifier in entries:
            if candidate == job_id:
                return name, specifier
        ids = sorted({candidate for candidate, _, _ in entries})
        raise ValueError(
            release_message(
                f"{where} The identifier must name a job the pipeline could produce, but the universe holds only the "
                f"jobs with IDs: {', '.join(ids)}."
            )
        )

    @classmethod
    def discover(cls, root_directory: Path, tracker_name: str) -> list[Self]:
        """Returns a tracker for every file named tracker_name anywhere under root_directory, sorted by path.

        Notes:
            No tracker file is read. Symbolic links to folders are not followed, and a folder that cannot be read
            is an error, never silently skipped.

        Args:
            root_directory: The folder whose tree is searched.
            tracker_name: The exact file name of the trackers (e.g. 'tracker.yaml').

        Returns:
            One tracker bound to each matching file.

        Raises:
            OSError: If the root does not exist, is not a folder, or a folder under it cannot be read.
        """
        return [cls(file_path=path) for path in find_tracker_files(Path(root_directory), tracker_name)]

    # ------------------------------------------------------------------ YAML files

    # 7.2.0's exact signature (tests pin it): YamlConfig.to_yaml's keyword-only `strict` has nothing to check here.
    def to_yaml(self, file_path: Path) -> None:  # type: ignore[override]
        """Saves the instance's data as the specified .yaml (YAML) file.

        Notes:
            Writes the in-memory jobs atomically, as release 7.x does (the registry alone; a target already in
            the 6.x layout keeps its file_path and lock_path keys). The tracker's own file is managed by its
            methods; this is for copies.

        Args:
            file_path: The path to the .yaml file to write.

        Raises:
            ValueError: If the file_path does not point to a file with a '.yaml' or '.yml' extension, or a job's
                fields have wrong types.
        """
        target = _require_yaml_suffix(file_path)
        blocks = [
            job_block(job_id, _record_from_state(job_id, state, str(target))) for job_id, state in self.jobs.items()
        ]
        # The registry alone, as release 7.x writes it; a file already in the 6.x layout keeps it.
        try:
            existing = tracker_store.read_unlocked(target)
        except (OSError, ValueError):
            existing = tracker_store.TrackerSnapshot(None, {}, {})
        write_text_atomically(target, render_tracker(blocks, existing.file_path, existing.lock_path))

    @classmethod
    def from_yaml(cls, file_path: Path, *, ignore_unknown_keys: bool = False, strict: bool | None = None) -> Self:
        """Instantiates the class using the data loaded from the provided .yaml (YAML) file.

        Notes:
            A tracker file stores its own location as '.'; the returned instance then manages the loaded file.

        Args:
            file_path: The path to the .yaml file that stores the instance's data.
            ignore_unknown_keys: Accepted for compatibility with YamlConfig.from_yaml; a tracker file is always
                checked against the tracker schema, so unknown keys are an error either way.
            strict: Accepted for compatibility with YamlConfig.from_yaml (the tracker schema is always checked).

        Returns:
            A new class instance that stores the data read from the .yaml file.

        Raises:
            ValueError: If the provided file path does not point to a .yaml or .yml file, or the file is not a valid
                tracker.
        """
        source = _require_yaml_suffix(file_path)
        document = parse_tracker(source.read_bytes(), str(source))
        own_path = source if document.file_path in {None, ".", ""} else Path(str(document.file_path))
        jobs = {job_id: state_from_record(record) for job_id, record in document.records.items()}
        return cls(file_path=own_path, jobs=jobs)


def _require_yaml_suffix(file_path: Path | str) -> Path:
    """Returns file_path as a Path, or raises ValueError if it does not end in .yaml or .yml."""
    path = Path(file_path)
    if path.suffix.lower() not in {".yaml", ".yml"}:
        raise TrackerFormatError(
            f"Unable to use {path} as a YAML file: expected a path ending in '.yaml' or '.yml', got "
            f"{path.suffix or 'no extension'!r}."
        )
    return path


def summarize_states(states: Mapping[str, JobState]) -> dict[str, Any]:
    """Returns the summarize() dictionary of a registry (see ProcessingTracker.summarize)."""
    jobs: list[dict[str, Any]] = []
    counts = dict.fromkeys(ProcessingStatus, 0)
    for job_id, state in states.items():
        status = ProcessingStatus(state.status)
        counts[status] += 1
        entry: dict[str, Any] = {
            "job_id": job_id,
            "job_name": state.job_name,
            "specifier": state.specifier,
            "status": status.name,
            "executor_id": state.executor_id,
            "started_at": state.started_at,
            "completed_at": state.completed_at,
        }
        if state.error_message:
            entry["error_message"] = state.error_message
        jobs.append(entry)
    summary = {
        "total": len(states),
        "succeeded": counts[ProcessingStatus.SUCCEEDED],
        "failed": counts[ProcessingStatus.FAILED],
        "running": counts[ProcessingStatus.RUNNING],
        "scheduled": counts[ProcessingStatus.SCHEDULED],
    }
    return {"jobs": jobs, "summary": summary, "status": ProcessingTracker.resolve_status(summary)}


def find_tracker_files(root: Path, tracker_name: str) -> list[Path]:
    """Returns every file named tracker_name under root, sorted, without following symbolic links to folders.

    Raises:
        OSError: If root is missing or not a folder, or a folder under it cannot be read.
    """
    info = os.stat(root)  # FileNotFoundError names the root.
    if not stat.S_ISDIR(info.st_mode):
        raise NotADirectoryError(20, "Unable to search for processing trackers: not a directory", str(root))
    found: list[Path] = []

    def fail(error: OSError) -> None:
        raise error

    for directory, _, files in os.walk(root, onerror=fail, followlinks=False):
        if tracker_name in files:
            candidate = Path(directory) / tracker_name
            if candidate.is_file():
                found.append(candidate)
    return sorted(found)


def __getattr__(name: str) -> Any:
    """7.2.0's module also holds discover_marker_files; imported on first use, so a tracker does not load NumPy."""
    if name == "discover_marker_files":
        from ..processing.marker_files import discover_marker_files

        return discover_marker_files
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted({*globals(), "discover_marker_files"})
