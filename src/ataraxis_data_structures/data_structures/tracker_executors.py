"""Who runs a tracker job: executor IDs from the environment, and evidence of whether that executor still runs.

An executor ID is ``scheme:id``, exactly as both releases write it. A process under a job scheduler records the
scheduler's job ID, with the variables and scheme names the releases use (first match wins): ``slurm``
(``SLURM_JOB_ID``, ``SLURM_JOBID``), ``pbs`` (``PBS_JOBID``), ``lsf`` (``LSB_JOBID``), ``oar`` (``OAR_JOB_ID``),
``sge`` (``JOB_ID``, only when ``SGE_ROOT`` is set), ``hpcpack`` (``CCP_JOBID``), ``azurebatch``
(``AZ_BATCH_JOB_ID``), ``awsbatch`` (``AWS_BATCH_JOB_ID``). Elsewhere it is ``pid:<pid>``.

A pid alone names no process for certain: the same number exists on every host, in every PID namespace (a
container, ``unshare --pid``) and after every reboot, and it is reused. So a job started under this process's own
``pid:<pid>`` also records a :class:`ProcessIdentity` (host, boot ID, PID and time namespaces, start time in clock
ticks) in the job's ``executor_process`` field, which the releases ignore.

:func:`check_executor` answers "is this executor provably gone?" with three outcomes: gone (with the evidence as a
sentence), alive, or unknown. Only a definite answer from the kernel or from SLURM counts as gone: a pid without its
identity, on another host or boot, or in a PID namespace this process cannot see in full is unknown; so is a
scheduler command that fails, times out or answers something unexpected.
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
    "ProcessIdentity",
    "ProcessTable",
    "check_executor",
    "default_executor_id",
    "executor_process",
    "own_process_identity",
]

PROCESS_STARTED_US = time.time_ns() // 1000
"""When this module was imported (UTC epoch microseconds): no job this process started can have started earlier."""

# (variable, scheme) in the order the releases consult them; SGE's JOB_ID counts only where SGE_ROOT is set.
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
_INITIAL_PID_NAMESPACE = 0xEFFFFFFC  # The kernel's fixed inode number of the initial PID namespace (PROC_PID_INIT_INO)


class Liveness(enum.Enum):
    """What is known of an executor."""

    GONE = "gone"
    ALIVE = "alive"
    UNKNOWN = "unknown"


class ExecutorCheck(NamedTuple):
    """The answer about one executor: its liveness and, for GONE or UNKNOWN, the evidence as a sentence."""

    liveness: Liveness
    reason: str


class ProcessIdentity(NamedTuple):
    """What makes a pid checkable: the host, kernel boot and PID namespace it belongs to, and when it started.

    Stored as text in a job's ``executor_process`` field (see :meth:`to_text`).
    """

    host: str
    """The host name (of the process's UTS namespace)."""
    boot_id: str
    """/proc/sys/kernel/random/boot_id: a random UUID per kernel boot, shared by every container on that kernel."""
    pid_namespace: int
    """The inode number of /proc/self/ns/pid: the PID namespace the pid is counted in."""
    time_namespace: int
    """The inode number of /proc/self/ns/time (0 on kernels without time namespaces): start_ticks is counted in it."""
    start_ticks: int
    """Field 22 of /proc/self/stat: when the process started, in clock ticks after boot. With the pid, namespace and
    boot it names one process for certain: a process reusing the pid started later."""

    def to_text(self) -> str:
        """Returns the identity as one line: 'boot=<uuid> pidns=<n> timens=<n> start=<ticks> host=<name>'."""
        return (
            f"boot={self.boot_id} pidns={self.pid_namespace} timens={self.time_namespace} start={self.start_ticks} "
            f"host={self.host}"
        )

    @classmethod
    def from_text(cls, text: str | None) -> ProcessIdentity | None:
        """Returns the identity written by to_text, or None for any other text (a hand edit, a future form)."""
        if not text:
            return None
        head, separator, host = text.partition(" host=")
        fields = dict(item.partition("=")[::2] for item in head.split())
        try:
            if separator and host:
                return cls(host, fields["boot"], int(fields["pidns"]), int(fields["timens"]), int(fields["start"]))
        except (KeyError, ValueError):
            pass
        return None


_own_identity: dict[int, ProcessIdentity | None] = {}  # by pid: a forked child computes its own


def own_process_identity() -> ProcessIdentity | None:
    """Returns this process's identity, or None where /proc does not describe it (no /proc, a foreign /proc)."""
    pid = os.getpid()
    if pid not in _own_identity:
        identity = None
        with contextlib.suppress(OSError, ValueError, IndexError):
            with open("/proc/sys/kernel/random/boot_id", encoding="ascii") as stream:
                boot_id = stream.read().strip()
            try:
                time_namespace = os.stat("/proc/self/ns/time").st_ino
            except FileNotFoundError:
                time_namespace = 0
            state = _read_stat("self")
            if boot_id and state is not None:
                identity = ProcessIdentity(
                    socket.gethostname(), boot_id, os.stat("/proc/self/ns/pid").st_ino, time_namespace, state[1]
                )
        _own_identity.clear()
        _own_identity[pid] = identity
    return _own_identity[pid]


def default_executor_id() -> str:
    """Returns the scheduler job this process runs in as 'scheme:id', or else 'pid:<pid>' (as the releases do)."""
    environment = os.environ
    for variable, scheme in _SCHEDULER_VARIABLES:
        if scheme == "sge" and "SGE_ROOT" not in environment:
            continue
        value = environment.get(variable)
        if value:
            return f"{scheme}:{value}"
    return f"pid:{os.getpid()}"


def executor_process(executor_id: str) -> str | None:
    """Returns the text to record in executor_process for a job started under executor_id, or None.

    Only this process's own 'pid:<pid>' gets an identity: any other ID names something this process cannot vouch for.
    """
    if executor_id != f"pid:{os.getpid()}":
        return None
    identity = own_process_identity()
    return None if identity is None else identity.to_text()


def check_executor(
    executor_id: str | None, process: str | None = None, table: ProcessTable | None = None
) -> ExecutorCheck:
    """Returns whether the executor of a running job is provably gone, alive, or unknown.

    Args:
        executor_id: The job's executor ID.
        process: The job's executor_process text (the identity of a 'pid:<pid>' executor), if any.
        table: The view of /proc to use; share one between the checks of one pass, so /proc is read once.

    Returns:
        The liveness and, when gone or unknown, the sentence that says why ('executor slurm:12 ended with TIMEOUT').
    """
    if not executor_id:
        return ExecutorCheck(Liveness.UNKNOWN, "the job records no executor")
    scheme, _, ident = executor_id.partition(":")
    if scheme == "pid":
        return _check_pid(executor_id, ident, process, table if table is not None else ProcessTable())
    if scheme == "slurm":
        return _check_slurm(executor_id, ident)
    return ExecutorCheck(Liveness.UNKNOWN, f"executor {executor_id} cannot be asked whether it still runs")


# ---------------------------------------------------------------------------------------------------------- pids


class _Process(NamedTuple):
    """A process seen in /proc: its state letter, start time (clock ticks after boot) and thread count."""

    state: str
    start_ticks: int
    threads: int


def _read_stat(entry: str) -> tuple[str, int] | None:
    """Returns (state letter, start ticks) from /proc/<entry>/stat, or None if the process is gone."""
    try:
        with open(f"/proc/{entry}/stat", "rb") as stream:
            text = stream.read().decode("ascii", "replace")
    except (FileNotFoundError, ProcessLookupError):
        return None
    fields = text[text.rfind(")") + 2 :].split()  # The command name may hold spaces and parentheses.
    return fields[0], int(fields[19])


def _read_status(entry: str) -> tuple[tuple[int, ...], int] | None:
    """Returns (the NSpid values, outermost first; the thread count) from /proc/<entry>/status, or None."""
    try:
        with open(f"/proc/{entry}/status", "rb") as stream:
            text = stream.read().decode("ascii", "replace")
    except OSError:
        return None
    pids: tuple[int, ...] = ()
    threads = 1
    for line in text.splitlines():
        if line.startswith("NSpid:"):
            pids = tuple(int(value) for value in line.split()[1:])
        elif line.startswith("Threads:"):
            threads = int(line.split()[1])
    return (pids, threads) if pids else None


class ProcView(NamedTuple):
    """What /proc shows this process."""

    own_namespace: bool
    """/proc counts pids in this process's own PID namespace."""
    namespace: int
    """The inode number of the PID namespace /proc counts pids in (0 where unknown)."""
    complete: bool
    """/proc shows every process of the machine (it is the initial namespace's, without hidepid)."""
    hides: bool
    """/proc is mounted with hidepid: other users' processes may be left out, so absence proves nothing."""


class Sighting(NamedTuple):
    """The answer of a /proc search for a pid in a PID namespace."""

    process: _Process | None
    """The process holding the pid there, or None."""
    absence_proven: bool
    """Without a process: whether every process of that namespace was seen (so it holds no such pid)."""
    namespace_seen: bool
    """Whether any process of that namespace was seen (False where it has ended, or cannot be seen)."""


class ProcessTable:
    """The processes this process can see in /proc, read lazily and at most once.

    A process in a PID namespace is visible (with its pid in that namespace, NSpid's last value) from its own
    namespace and every ancestor's; /proc shows the namespace it was mounted for. So a namespace in which some process
    is seen is seen whole, and a /proc of the initial namespace shows every process of the machine: only then does
    the absence of a pid prove anything. A /proc mounted with ``hidepid`` proves nothing by absence.
    """

    def __init__(self) -> None:
        self._entries: dict[int, list[str]] | None = None  # PID namespace inode -> /proc entries of its processes
        self._hidden: list[str] = []  # entries whose namespace could not be read (another user's processes)
        self._innermost: dict[str, tuple[tuple[int, ...], int] | None] = {}  # entry -> (NSpid values, threads)
        self._view: ProcView | None = None

    def view(self) -> ProcView:
        """Returns what /proc shows this process (read once)."""
        if self._view is None:
            hides = _proc_hides_processes()
            own = _read_status("self")
            own_namespace = own is not None and len(own[0]) == 1  # NSpid: one value where /proc counts in ours
            namespace = 0
            with contextlib.suppress(OSError):
                # /proc/1 is the init of the namespace /proc counts in (it may deny access: a non-dumpable init).
                namespace = os.stat("/proc/self/ns/pid" if own_namespace else "/proc/1/ns/pid").st_ino
            complete = not hides and namespace == _INITIAL_PID_NAMESPACE
            self._view = ProcView(own_namespace, namespace, complete, hides)
        return self._view

    def _scan(self) -> dict[int, list[str]]:
        """Reads every /proc entry's PID namespace once."""
        if self._entries is not None:
            return self._entries
        entries: dict[int, list[str]] = {}
        for name in os.listdir("/proc"):
            if not name.isdigit():
                continue
            try:
                namespace = os.stat(f"/proc/{name}/ns/pid").st_ino
            except (FileNotFoundError, ProcessLookupError):
                continue  # ended meanwhile
            except OSError:
                self._hidden.append(name)
                continue
            entries.setdefault(namespace, []).append(name)
        self._entries = entries
        return entries

    def _status(self, entry: str) -> tuple[tuple[int, ...], int] | None:
        """Returns (the NSpid values of /proc/<entry>, outermost first; its thread count), or None if unreadable."""
        if entry not in self._innermost:
            self._innermost[entry] = _read_status(entry)
        return self._innermost[entry]

    def find(self, namespace: int, pid: int) -> Sighting:
        """Returns the process holding this pid in this PID namespace, or whether its absence is proven."""
        entries = self._scan()
        members = entries.get(namespace)
        doubt = False
        view = self.view()
        for entry in members or ():
            status = self._status(entry)
            if status is None:
                doubt = True
            elif status[0][-1] == pid:
                stat = _read_stat(entry)
                if stat is None:
                    continue  # ended meanwhile
                return Sighting(_Process(stat[0], stat[1], status[1]), True, True)
        for entry in self._hidden:  # Their namespace is unreadable: could one of them be the process?
            status = self._status(entry)
            if status is None:
                doubt = True
            elif status[0][-1] == pid:
                # One NSpid value: it lives in the namespace /proc counts in, which is known not to be the one asked.
                doubt = doubt or not (len(status[0]) == 1 and view.namespace not in {0, namespace})
        seen = members is not None
        return Sighting(None, not doubt and not view.hides and (seen or view.complete), seen)


def _proc_hides_processes() -> bool:
    """Returns True if /proc is mounted with hidepid (other users' processes may be left out of it)."""
    try:
        with open("/proc/self/mountinfo", encoding="utf-8", errors="replace") as stream:
            for line in stream:
                fields = line.split()
                if len(fields) > 4 and fields[4] == "/proc" and " - proc " in line:
                    options = line.rsplit(" ", 1)[-1].split(",")
                    return any(
                        option.startswith("hidepid=") and option not in {"hidepid=0", "hidepid=off"}
                        for option in options
                    )
    except OSError:
        return True
    return False


def _started_at(ticks: int) -> str:
    """Returns a start time in clock ticks after boot as 'YYYY-MM-DD HH:MM:SS' UTC (or '?' where unknown)."""
    try:
        with open("/proc/stat", "rb") as stream:
            boot = next(float(line.split()[1]) for line in stream if line.startswith(b"btime "))
        moment = boot + ticks / os.sysconf("SC_CLK_TCK")
    except (OSError, ValueError, IndexError, StopIteration):
        return "?"
    return datetime.fromtimestamp(moment, tz=UTC).strftime("%Y-%m-%d %H:%M:%S")


def _check_pid(executor_id: str, ident: str, process: str | None, table: ProcessTable) -> ExecutorCheck:
    """Checks a 'pid:<pid>' executor against its recorded identity: gone only on proof."""
    try:
        pid = int(ident)
    except ValueError:  # includes 'pid:<pid>@<host>', the form earlier versions of this library wrote
        return ExecutorCheck(
            Liveness.UNKNOWN,
            f"executor {executor_id} records no process identity (boot, PID namespace, start time) to check it by",
        )
    identity = ProcessIdentity.from_text(process)
    if identity is None or pid <= 0:
        return ExecutorCheck(
            Liveness.UNKNOWN,
            f"executor {executor_id} records no process identity (boot, PID namespace, start time) to check it by "
            f"(a release started the job, or rewrote the file since)",
        )
    here = own_process_identity()
    if here is None:
        return ExecutorCheck(Liveness.UNKNOWN, f"executor {executor_id} cannot be checked here: /proc is unreadable")
    if identity.host != here.host:
        return ExecutorCheck(Liveness.UNKNOWN, f"executor {executor_id} runs on host {identity.host}")
    if identity.boot_id != here.boot_id:
        return ExecutorCheck(
            Liveness.UNKNOWN,
            f"executor {executor_id} ran under another kernel boot of {identity.host} (or another "
            f"machine of that name)",
        )
    same_namespace = identity.pid_namespace == here.pid_namespace
    if same_namespace:
        if pid == os.getpid():
            return ExecutorCheck(Liveness.ALIVE, "")
        try:
            os.kill(pid, 0)  # Counts pids in this process's namespace, whatever /proc shows; blind to hidepid.
        except ProcessLookupError:
            return ExecutorCheck(Liveness.GONE, f"executor {executor_id} ended (the process no longer exists)")
        except PermissionError:
            pass  # It exists, owned by someone else.
        except OSError as error:
            return ExecutorCheck(Liveness.UNKNOWN, f"executor {executor_id} could not be checked: {error}")
    try:
        if same_namespace and table.view().own_namespace:
            stat, status = _read_stat(str(pid)), _read_status(str(pid))
            found = None if stat is None else _Process(stat[0], stat[1], 1 if status is None else status[1])
            proven = seen = False
        else:
            found, proven, seen = table.find(identity.pid_namespace, pid)
    except (OSError, ValueError, IndexError) as error:
        return ExecutorCheck(Liveness.UNKNOWN, f"executor {executor_id} could not be checked: {error}")
    if found is None:
        if same_namespace:  # kill() saw it a moment ago: it exists, or has just ended (the next pass will tell)
            return ExecutorCheck(Liveness.ALIVE, "")
        if proven:
            where = "any more" if seen else "(the namespace has ended)"
            return ExecutorCheck(
                Liveness.GONE,
                f"executor {executor_id} ended (no process has pid {pid} in its PID namespace "
                f"{identity.pid_namespace} {where})",
            )
        return ExecutorCheck(
            Liveness.UNKNOWN,
            f"executor {executor_id} runs in PID namespace {identity.pid_namespace} (a container or another "
            f"namespace), which cannot be seen in full from here",
        )
    if identity.time_namespace == here.time_namespace and found.start_ticks != identity.start_ticks:
        return ExecutorCheck(
            Liveness.GONE,
            f"executor {executor_id} ended (pid {pid} now belongs to another process, started at "
            f"{_started_at(found.start_ticks)} UTC)",
        )
    if found.state == "Z" and found.threads <= 1:
        return ExecutorCheck(Liveness.GONE, f"executor {executor_id} ended (the process is a zombie)")
    return ExecutorCheck(Liveness.ALIVE, "")


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
