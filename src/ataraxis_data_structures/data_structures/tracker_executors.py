"""Who runs a tracker job: executor IDs from the environment, and evidence of whether that executor still runs.

An executor ID is ``scheme:id``. A process under a job scheduler records the scheduler's job ID, with the variables
and scheme names release 7.x uses (first match wins): ``slurm`` (``SLURM_JOB_ID``, ``SLURM_JOBID``), ``pbs``
(``PBS_JOBID``), ``lsf`` (``LSB_JOBID``), ``oar`` (``OAR_JOB_ID``), ``sge`` (``JOB_ID``, only when ``SGE_ROOT`` is
set), ``hpcpack`` (``CCP_JOBID``), ``azurebatch`` (``AZ_BATCH_JOB_ID``), ``awsbatch`` (``AWS_BATCH_JOB_ID``).
Elsewhere it is ``pid:<pid>@<host>`` (7.x writes ``pid:<pid>``; the host is what makes the ID checkable on a cluster).

:func:`check_executor` answers "is this executor provably gone?" with three outcomes: gone (with the evidence as a
sentence), alive, or unknown. Only a definite answer from the operating system or from SLURM counts as gone; a
scheduler command that fails, times out or answers something unexpected is unknown, never gone.
"""

from __future__ import annotations

import contextlib
import enum
import os
import re
import shutil
import signal
import socket
import subprocess
import time
from datetime import UTC, datetime
from typing import NamedTuple

__all__ = [
    "PROCESS_STARTED_US",
    "SLURM_ENDED_STATES",
    "ExecutorCheck",
    "Liveness",
    "check_executor",
    "default_executor_id",
]

PROCESS_STARTED_US = time.time_ns() // 1000
"""When this module was imported (UTC epoch microseconds): no job this process started can have started earlier."""

# (variable, scheme) in the order 7.x consults them; SGE's JOB_ID counts only where SGE_ROOT is set.
_SCHEDULER_VARIABLES = (
    ("SLURM_JOB_ID", "slurm"),
    ("SLURM_JOBID", "slurm"),
    ("PBS_JOBID", "pbs"),
    ("LSB_JOBID", "lsf"),
    ("OAR_JOB_ID", "oar"),
    ("JOB_ID", "sge"),
    ("CCP_JOBID", "hpcpack"),
    ("AZ_BATCH_JOB_ID", "azurebatch"),
    ("AWS_BATCH_JOB_ID", "awsbatch"),
)

SLURM_ENDED_STATES = frozenset(
    {
        "BOOT_FAIL",
        "CANCELLED",
        "COMPLETED",
        "DEADLINE",
        "FAILED",
        "NODE_FAIL",
        "OUT_OF_MEMORY",
        "PREEMPTED",
        "REVOKED",
        "TIMEOUT",
    }
)
"""SLURM job states that mean the job no longer runs and will not run again under that ID by itself."""

_SCHEDULER_TIMEOUT = 20.0  # Seconds a squeue/sacct/scontrol call may take before its answer counts as unknown.
_SLURM_JOB_ID = re.compile(r"[0-9]+")  # SLURM_JOB_ID: a job's own ID, unique per array task
_PID_START_MARGIN_S = 2.0  # /proc start times are coarse (boot time in whole seconds): only a clear gap proves reuse.


class Liveness(enum.Enum):
    """What is known of an executor."""

    GONE = "gone"
    ALIVE = "alive"
    UNKNOWN = "unknown"


class ExecutorCheck(NamedTuple):
    """The answer about one executor: its liveness and, for GONE or UNKNOWN, the evidence as a sentence."""

    liveness: Liveness
    reason: str


def default_executor_id() -> str:
    """Returns the scheduler job this process runs in as 'scheme:id', or else 'pid:<pid>@<host name>'."""
    environment = os.environ
    for variable, scheme in _SCHEDULER_VARIABLES:
        if scheme == "sge" and "SGE_ROOT" not in environment:
            continue
        value = environment.get(variable)
        if value:
            return f"{scheme}:{value}"
    return f"pid:{os.getpid()}@{socket.gethostname()}"


def check_executor(executor_id: str | None, started_at: int | None) -> ExecutorCheck:
    """Returns whether the executor of a running job is provably gone, alive, or unknown.

    Args:
        executor_id: The job's executor ID.
        started_at: When the job started (UTC epoch microseconds); used to detect a reused pid.

    Returns:
        The liveness and, when gone, the sentence that says why ('executor slurm:12 ended with TIMEOUT').
    """
    if not executor_id:
        return ExecutorCheck(Liveness.UNKNOWN, "the job records no executor")
    scheme, _, ident = executor_id.partition(":")
    if scheme == "pid":
        return _check_pid(executor_id, ident, started_at)
    if scheme == "slurm":
        return _check_slurm(executor_id, ident)
    return ExecutorCheck(Liveness.UNKNOWN, f"executor {executor_id} cannot be asked whether it still runs")


# ---------------------------------------------------------------------------------------------------------- pids


def _check_pid(executor_id: str, ident: str, started_at: int | None) -> ExecutorCheck:
    """Checks a 'pid:<pid>@<host>' executor, which can only be checked on its own host."""
    pid_text, at, host = ident.partition("@")
    if not at or host != socket.gethostname():
        where = "another host" if at else "an unnamed host"
        return ExecutorCheck(Liveness.UNKNOWN, f"executor {executor_id} runs on {where}")
    try:
        pid = int(pid_text)
    except ValueError:
        return ExecutorCheck(Liveness.UNKNOWN, f"executor {executor_id} holds no process ID")
    if pid <= 0:
        return ExecutorCheck(Liveness.UNKNOWN, f"executor {executor_id} holds no process ID")
    if pid == os.getpid():
        return ExecutorCheck(Liveness.ALIVE, "")
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return ExecutorCheck(Liveness.GONE, f"executor {executor_id} ended (the process no longer exists)")
    except PermissionError:
        pass  # It exists, owned by someone else.
    except OSError as error:
        return ExecutorCheck(Liveness.UNKNOWN, f"executor {executor_id} could not be checked: {error}")
    status = _proc_status(pid)
    if status is None:
        return ExecutorCheck(Liveness.ALIVE, "")
    state, started_s = status
    if state == "Z":
        return ExecutorCheck(Liveness.GONE, f"executor {executor_id} ended (the process is a zombie)")
    if started_at is not None and started_s is not None and started_s > started_at / 1e6 + _PID_START_MARGIN_S:
        began = datetime.fromtimestamp(started_s, tz=UTC).strftime("%Y-%m-%d %H:%M:%S")
        return ExecutorCheck(
            Liveness.GONE,
            f"executor {executor_id} ended (pid {pid} now belongs to a process started at {began} UTC, after the "
            f"job started)",
        )
    return ExecutorCheck(Liveness.ALIVE, "")


def _proc_status(pid: int) -> tuple[str, float | None] | None:
    """Returns (state letter, start time in epoch seconds) of a process from /proc, or None where unavailable."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as stream:
            text = stream.read().decode("ascii", "replace")
    except OSError:
        return None
    fields = text[text.rfind(")") + 2 :].split()  # The command name may hold spaces and parentheses.
    if len(fields) < 20:
        return None
    state = fields[0]
    boot = _boot_time()
    if boot is None:
        return state, None
    try:
        ticks = int(fields[19])
        return state, boot + ticks / os.sysconf("SC_CLK_TCK")
    except (ValueError, OSError):
        return state, None


def _boot_time() -> float | None:
    """Returns the boot time in epoch seconds from /proc/stat, or None."""
    try:
        with open("/proc/stat", "rb") as stream:
            for line in stream:
                if line.startswith(b"btime "):
                    return float(line.split()[1])
    except (OSError, ValueError, IndexError):
        return None
    return None


# --------------------------------------------------------------------------------------------------------- SLURM


class _Answer(NamedTuple):
    """The output of a scheduler command, or why there is none."""

    ok: bool
    stdout: str
    problem: str


def _run(command: list[str]) -> _Answer:
    """Runs a scheduler command with a timeout; a missing program, a failure or a timeout is reported as such."""
    if shutil.which(command[0]) is None:
        return _Answer(False, "", f"{command[0]} is not installed here")
    try:
        # A session of its own, so that a command that hangs is ended with everything it started (a wrapper
        # script's children would otherwise keep the output pipes, and this call, open).
        process = subprocess.Popen(
            command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, start_new_session=True
        )
    except OSError as error:
        return _Answer(False, "", f"{command[0]} could not run: {error}")
    try:
        stdout, stderr = process.communicate(timeout=_SCHEDULER_TIMEOUT)
    except subprocess.TimeoutExpired:
        with contextlib.suppress(OSError):
            os.killpg(process.pid, signal.SIGKILL)
        process.communicate()
        return _Answer(False, "", f"{command[0]} did not answer within {_SCHEDULER_TIMEOUT:g} s")
    if process.returncode != 0:
        message = " ".join((stderr or stdout).split())[:200]
        return _Answer(False, stdout, f"{command[0]} failed ({process.returncode}): {message}")
    return _Answer(True, stdout, "")


def _invalid_job(answer: _Answer) -> bool:
    """Returns True if a failed command said the job ID is unknown to the controller (purged), not that it failed."""
    return not answer.ok and "invalid job id" in answer.problem.lower()


def _state_of(text: str, ident: str, separator: str | None) -> str:
    """Returns the state of the job ident in a '<job ID><separator><state>' listing, or '' if it is not listed.

    Asked for the ID of an array's first task, SLURM lists every task of the array (that ID is also the array's):
    only the line of the job itself counts. The last such line wins (a requeued job's latest run).
    """
    state = ""
    for line in text.splitlines():
        job, _, rest = line.strip().partition(separator) if separator else line.strip().partition(" ")
        words = rest.split()
        if job == ident and words:
            state = words[0].rstrip("+").upper()  # 'CANCELLED by 1000' -> 'CANCELLED'
    return state


def _check_slurm(executor_id: str, ident: str) -> ExecutorCheck:
    """Checks a 'slurm:<job id>' executor with squeue, then sacct, then scontrol."""
    if _SLURM_JOB_ID.fullmatch(ident) is None:
        return ExecutorCheck(Liveness.UNKNOWN, f"executor {executor_id} holds no SLURM job ID")

    def ended(state: str, source: str) -> ExecutorCheck:
        return ExecutorCheck(Liveness.GONE, f"executor {executor_id} ended with {state} (per {source})")

    # %A is the job's own ID (unique per array task), %T its state.
    queue = _run(["squeue", "--noheader", "--states=all", "--jobs", ident, "--format=%A %T"])
    if queue.ok:
        state = _state_of(queue.stdout, ident, None)
        if state in SLURM_ENDED_STATES:
            return ended(state, "squeue")
        if state:
            return ExecutorCheck(Liveness.ALIVE, "")
    elif not _invalid_job(queue):
        return ExecutorCheck(Liveness.UNKNOWN, f"executor {executor_id}: {queue.problem}")
    # Not in the controller's memory (or listed with no state): ask the accounting database, then the controller.
    accounting = _run(
        ["sacct", "--noheader", "--parsable2", "--allocations", "--jobs", ident, "--format=JobIDRaw,State"]
    )
    if accounting.ok:
        state = _state_of(accounting.stdout, ident, "|")
        if state in SLURM_ENDED_STATES:
            return ended(state, "sacct")
        if state:  # Accounting says pending or running while squeue did not list it: that is doubt.
            return ExecutorCheck(Liveness.UNKNOWN, f"executor {executor_id}: sacct says {state}")
    control = _run(["scontrol", "--oneliner", "show", "job", ident])
    if control.ok:
        for line in control.stdout.splitlines():  # One line per job; an array's first task lists the whole array.
            tokens = dict(token.partition("=")[::2] for token in line.split() if "=" in token)
            if tokens.get("JobId") != ident or "JobState" not in tokens:
                continue
            state = tokens["JobState"].upper()
            if state in SLURM_ENDED_STATES:
                return ended(state, "scontrol")
            return ExecutorCheck(Liveness.UNKNOWN, f"executor {executor_id}: scontrol says {state}")
        return ExecutorCheck(Liveness.UNKNOWN, f"executor {executor_id}: scontrol does not list the job's state")
    if _invalid_job(control) and (queue.ok or _invalid_job(queue)):
        return ExecutorCheck(
            Liveness.GONE,
            f"executor {executor_id} ended with an unrecorded state (SLURM no longer knows the job and keeps no "
            f"accounting)",
        )
    return ExecutorCheck(Liveness.UNKNOWN, f"executor {executor_id}: {control.problem}")
