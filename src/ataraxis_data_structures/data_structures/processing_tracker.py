"""The processing tracker: a YAML file, shared by many processes and hosts, that records the state of a pipeline's jobs.

Every method that reads or changes the tracker works on the file under its ``.lock`` file, so independent processes
(for example, the jobs of a cluster array) can start, complete and fail jobs concurrently without losing updates.
The file format and its fast emitter/parser live in ``tracker_format``; locking and atomic writes in
``tracker_store``.
"""

from __future__ import annotations

import os
import socket
import time
from collections.abc import Callable, Mapping
from dataclasses import KW_ONLY, InitVar, dataclass, field
from enum import IntEnum
from pathlib import Path
from typing import Self

import xxhash

from .._durable_files import write_text_atomically
from . import tracker_store
from .tracker_format import JobRecord, job_block, parse_tracker, record_from_mapping, render_tracker
from .yaml_config import YamlConfig

__all__ = ["DEFAULT_LOCK_TIMEOUT", "JobState", "ProcessingStatus", "ProcessingTracker"]

DEFAULT_LOCK_TIMEOUT = 10.0
"""Seconds a tracker operation waits for the lock before raising TimeoutError (what the reference release waits)."""

# Scheduler variables holding the ID of the cluster job a process runs in, most common first, with the prefix that
# says which scheduler issued it.
_SCHEDULER_JOB_VARIABLES = (("SLURM_JOB_ID", "slurm"), ("PBS_JOBID", "pbs"), ("LSB_JOBID", "lsf"), ("JOB_ID", "sge"))
_SHOWN_IDS = 5  # How many tracked job IDs an unknown-ID error lists.


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


def _state_from_record(record: JobRecord) -> JobState:
    """Returns a JobState holding the values of a record."""
    name, specifier, status, executor_id, error_message, started_at, completed_at = record
    return JobState(name, specifier, ProcessingStatus(status), executor_id, error_message, started_at, completed_at)


def _record_from_state(job_id: str, state: JobState, source: str) -> JobRecord:
    """Returns the record of a JobState, checking its field types."""
    fields = {
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


def _default_executor_id() -> str:
    """Returns the cluster job ID this process runs under ('slurm:123'), or else 'pid:<pid>@<host name>'."""
    for variable, scheduler in _SCHEDULER_JOB_VARIABLES:
        value = os.environ.get(variable)
        if value:
            return f"{scheduler}:{value}"
    return f"pid:{os.getpid()}@{socket.gethostname()}"


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

    def __post_init__(self, lock_timeout: float) -> None:
        self.file_path = Path(self.file_path)
        self.lock_path = f"{self.file_path}.lock"
        if not lock_timeout >= 0:
            raise ValueError(f"lock_timeout must be a number of seconds >= 0, got {lock_timeout!r}.")
        self._lock_timeout = float(lock_timeout)

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
                states[job_id] = _state_from_record(snapshot.records[job_id])
        else:
            states = {}
            for job_id, record in snapshot.records.items():
                state = previous_states.get(job_id) if previous_records.get(job_id) is record else None
                states[job_id] = state if state is not None else _state_from_record(record)
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

        snapshot, _ = tracker_store.update_tracker(self._tracker_file(), self.lock_path, self._lock_timeout, change)
        self._adopt(snapshot)

    def _require(self, records: Mapping[str, JobRecord], job_id: str, action: str) -> JobRecord:
        """Returns the record of job_id, or raises ValueError naming the job and the tracker file."""
        record = records.get(job_id)
        if record is not None:
            return record
        if records:
            shown = ", ".join(list(records)[:_SHOWN_IDS]) + (", ..." if len(records) > _SHOWN_IDS else "")
            tracked = f"It tracks {len(records)} job(s) ({shown})"
        else:
            tracked = "It tracks no jobs yet"
        raise ValueError(
            f"Unable to {action} the job with ID {job_id!r}: the processing tracker {self.file_path} has no such "
            f"job. {tracked}; add jobs with initialize_jobs() and look IDs up with find_jobs()."
        )

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
        """
        key = f"{job_name}:{specifier}" if specifier else job_name
        return xxhash.xxh64(key.encode("utf-8")).hexdigest()

    # ------------------------------------------------------------------ changes

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
            ValueError: If an entry is not a (job_name, specifier) pair of strings.
        """
        entries: list[tuple[str, str, str]] = []
        for index, entry in enumerate(jobs):
            if (
                not isinstance(entry, tuple | list)
                or len(entry) != 2
                or not all(isinstance(part, str) for part in entry)
            ):
                raise ValueError(
                    f"Unable to initialize jobs in the processing tracker {self.file_path}: entry {index} is "
                    f"{entry!r}, expected a (job_name, specifier) tuple of two strings."
                )
            name, specifier = entry
            entries.append((self.generate_job_id(name, specifier), name, specifier))

        def change(records: Mapping[str, JobRecord]) -> tuple[dict[str, JobRecord], None]:
            added: dict[str, JobRecord] = {}
            for job_id, name, specifier in entries:
                if job_id not in records and job_id not in added:
                    added[job_id] = (name, specifier, int(ProcessingStatus.SCHEDULED), None, None, None, None)
            return added, None

        snapshot, _ = tracker_store.update_tracker(self._tracker_file(), self.lock_path, self._lock_timeout, change)
        self._adopt(snapshot)
        return [job_id for job_id, _, _ in entries]

    def start_job(self, job_id: str, executor_id: str | None = None) -> None:
        """Marks the target job as running and optionally records the executor identifier.

        Without an executor_id, the ID of the cluster job this process runs in is recorded (SLURM_JOB_ID, PBS_JOBID,
        LSB_JOBID or SGE's JOB_ID, as 'slurm:<id>' and so on), or else 'pid:<pid>@<host name>'.

        Args:
            job_id: The unique identifier of the job to mark as started.
            executor_id: An optional identifier for the executor running the job (e.g. a SLURM job ID, a process
                PID, or any user-defined string).

        Raises:
            TimeoutError: If the .LOCK file for the tracker .YAML file cannot be acquired within the timeout period.
            ValueError: If the specified job ID is not found in the managed tracker file.
        """
        executor = executor_id if executor_id is not None else _default_executor_id()
        self._change_job(
            job_id,
            "mark as running",
            lambda old: (old[0], old[1], int(ProcessingStatus.RUNNING), executor, None, _now_us(), None),
        )

    def complete_job(self, job_id: str) -> None:
        """Marks a target job as successfully completed.

        Args:
            job_id: The unique identifier of the job to mark as complete.

        Raises:
            TimeoutError: If the .LOCK file for the tracker .YAML file cannot be acquired within the timeout period.
            ValueError: If the specified job ID is not found in the managed tracker file.
        """
        self._change_job(
            job_id,
            "mark as succeeded",
            lambda old: (old[0], old[1], int(ProcessingStatus.SUCCEEDED), old[3], None, old[5], _now_us()),
        )

    def fail_job(self, job_id: str, error_message: str | None = None) -> None:
        """Marks the target job as failed.

        Args:
            job_id: The unique identifier of the job to mark as failed.
            error_message: An optional error message describing why the job failed.

        Raises:
            TimeoutError: If the .LOCK file for the tracker .YAML file cannot be acquired within the timeout period.
            ValueError: If the specified job ID is not found in the managed tracker file.
        """
        if error_message is not None and not isinstance(error_message, str):
            error_message = str(error_message)
        self._change_job(
            job_id,
            "mark as failed",
            lambda old: (old[0], old[1], int(ProcessingStatus.FAILED), old[3], error_message, old[5], _now_us()),
        )

    def retry_failed_jobs(self) -> list[str]:
        """Resets all failed jobs back to SCHEDULED status for retry.

        This clears the error_message, started_at, and completed_at fields (and the executor ID) of each failed job.

        Returns:
            A list of job IDs that were reset for retry.

        Raises:
            TimeoutError: If the .LOCK file for the tracker .YAML file cannot be acquired within the timeout period.
        """

        def change(records: Mapping[str, JobRecord]) -> tuple[dict[str, JobRecord], list[str]]:
            retried: dict[str, JobRecord] = {
                job_id: (record[0], record[1], int(ProcessingStatus.SCHEDULED), None, None, None, None)
                for job_id, record in records.items()
                if record[2] == ProcessingStatus.FAILED
            }
            return retried, list(retried)

        snapshot, retried = tracker_store.update_tracker(
            self._tracker_file(), self.lock_path, self._lock_timeout, change
        )
        self._adopt(snapshot)
        return retried

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
        return ProcessingStatus(self._require(self._read(), job_id, "query the status of")[2])

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
        return _state_from_record(self._require(self._read(), job_id, "query"))

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
        return [job_id for job_id, record in self._read().items() if record[2] == wanted]

    def get_summary(self) -> dict[ProcessingStatus, int]:
        """Returns a summary of job counts by status.

        Returns:
            A dictionary mapping each ProcessingStatus to the count of jobs with that status.

        Raises:
            TimeoutError: If the .LOCK file for the tracker .YAML file cannot be acquired within the timeout period.
        """
        counts = [0, 0, 0, 0]
        for record in self._read().values():
            counts[record[2]] += 1
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

        Raises:
            TimeoutError: If the .LOCK file for the tracker .YAML file cannot be acquired within the timeout period.
            ValueError: If both job_name and specifier are None.
        """
        if job_name is None and specifier is None:
            raise ValueError(
                f"Unable to search the processing tracker {self.file_path}: give a job_name or a specifier substring "
                f"(or both)."
            )
        return {
            job_id: (record[0], record[1])
            for job_id, record in self._read().items()
            if (job_name is None or job_name in record[0]) and (specifier is None or specifier in record[1])
        }

    @property
    def complete(self) -> bool:
        """Returns True if the tracked processing pipeline has been completed successfully.

        Notes:
            The pipeline is considered complete if all jobs have been marked as succeeded (a tracker without jobs is
            not complete).
        """
        records = self._read()
        return bool(records) and all(record[2] == ProcessingStatus.SUCCEEDED for record in records.values())

    @property
    def encountered_error(self) -> bool:
        """Returns True if the tracked processing pipeline has been terminated due to a runtime error.

        Notes:
            The pipeline is considered to have encountered an error if any job has been marked as failed.
        """
        return any(record[2] == ProcessingStatus.FAILED for record in self._read().values())

    # ------------------------------------------------------------------ YAML files

    def to_yaml(self, file_path: Path) -> None:
        """Saves the instance's data as the specified .yaml (YAML) file.

        Notes:
            Writes the in-memory state (file_path, jobs and lock_path as they are in this instance), atomically. The
            tracker's own file is managed by its methods; this is for copies.

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
        write_text_atomically(target, render_tracker(blocks, str(self.file_path), self.lock_path))

    @classmethod
    def from_yaml(cls, file_path: Path, *, ignore_unknown_keys: bool = False) -> Self:
        """Instantiates the class using the data loaded from the provided .yaml (YAML) file.

        Notes:
            A tracker file stores its own location as '.'; the returned instance then manages the loaded file.

        Args:
            file_path: The path to the .yaml file that stores the instance's data.
            ignore_unknown_keys: Accepted for compatibility with YamlConfig.from_yaml; a tracker file is always
                checked against the tracker schema, so unknown keys are an error either way.

        Returns:
            A new class instance that stores the data read from the .yaml file.

        Raises:
            ValueError: If the provided file path does not point to a .yaml or .yml file, or the file is not a valid
                tracker.
        """
        source = _require_yaml_suffix(file_path)
        document = parse_tracker(source.read_bytes(), str(source))
        own_path = source if document.file_path in {".", ""} else Path(document.file_path)
        jobs = {job_id: _state_from_record(record) for job_id, record in document.records.items()}
        return cls(file_path=own_path, jobs=jobs)


def _require_yaml_suffix(file_path: Path | str) -> Path:
    """Returns file_path as a Path, or raises ValueError if it does not end in .yaml or .yml."""
    path = Path(file_path)
    if path.suffix.lower() not in {".yaml", ".yml"}:
        raise ValueError(
            f"Unable to use {path} as a YAML file: expected a path ending in '.yaml' or '.yml', got "
            f"{path.suffix or 'no extension'!r}."
        )
    return path
