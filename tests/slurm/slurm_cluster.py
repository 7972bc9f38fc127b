"""A real one-node SLURM cluster (munged, slurmctld, slurmd) started in a temporary folder for the tests.

Everything the cluster needs lives under one folder: its own munge key, socket and pid file, a ``slurm.conf`` written
here, the controller's state, the node's spool and every log. Ports are picked free at start, so several clusters
(several engineers' test runs) coexist on one machine. ``SLURM_CONF`` in :attr:`SlurmCluster.env` points the client
commands (``sbatch``, ``squeue``, ``scontrol``, ``scancel``) at this cluster. :meth:`SlurmCluster.stop` cancels every
job, stops the daemons by PID and then ends, by PID, any process still carrying this cluster's ``SLURM_CONF``
(job steps, job scripts), so nothing survives the session.

See ``tests/slurm/README.md`` for what works on this cluster and how each job state is produced.
"""

from __future__ import annotations

import contextlib
import ctypes
import os
import re
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

# The daemons live in /usr/sbin, which a non-login PATH may lack.
_SEARCH_PATH = os.pathsep.join([os.environ.get("PATH", ""), "/usr/sbin", "/sbin", "/usr/bin"])
_REQUIRED = ("munged", "mungekey", "slurmctld", "slurmd", "slurmstepd", "sbatch", "squeue", "scontrol", "scancel")

NODE_NAME = "axds-node"
PARTITION = "axds"
PARTITION_CANCEL = "axds-cancel"
"""Jobs here end as PREEMPTED when a PARTITION_HIGH job needs their CPUs (PARTITION's jobs are requeued instead)."""
PARTITION_HIGH = "axds-high"
"""Jobs here preempt the other partitions' jobs."""
NODE_CPUS = 8
"""CPUs the node declares (SlurmdParameters=config_overrides lets it claim more than the 2 cores it has), so that a
job array of several single-CPU workers runs at once."""
MIN_JOB_AGE = 120
"""Seconds a finished job stays visible to ``scontrol show job`` / ``squeue`` (there is no accounting database)."""

_PR_SET_PDEATHSIG = 1


class SlurmUnavailableError(RuntimeError):
    """The SLURM or munge programs are not installed here (the tests that need them are skipped)."""


class SlurmStartError(RuntimeError):
    """The cluster's programs exist but it did not come up; the message holds the daemons' logs."""


def missing_programs() -> list[str]:
    """Returns the names of the SLURM/munge programs that cannot be found (empty when all are installed)."""
    return [name for name in _REQUIRED if shutil.which(name, path=_SEARCH_PATH) is None]


def _free_ports(count: int) -> list[int]:
    """Returns ``count`` distinct TCP ports that are free now (all bound at once, so none is picked twice)."""
    probes = [socket.socket(socket.AF_INET, socket.SOCK_STREAM) for _ in range(count)]
    try:
        for probe in probes:
            probe.bind(("127.0.0.1", 0))
        return [int(probe.getsockname()[1]) for probe in probes]
    finally:
        for probe in probes:
            probe.close()


def _die_with_parent() -> None:
    """Runs in the daemon's child before exec: the daemon gets SIGTERM if the test process dies (even by SIGKILL)."""
    libc = ctypes.CDLL(None, use_errno=True)
    libc.prctl(_PR_SET_PDEATHSIG, signal.SIGTERM, 0, 0, 0)


@dataclass(slots=True)
class JobInfo:
    """One job as ``scontrol show job`` reports it (the fields the tests read, plus all the raw fields)."""

    job_id: str
    state: str
    reason: str
    exit_code: str
    restart_count: int
    fields: dict[str, str]


@dataclass
class SlurmCluster:
    """A running one-node cluster; build it with :func:`start_cluster` and end it with :meth:`stop`."""

    root: Path
    conf_path: Path
    env: dict[str, str]
    processes: dict[str, subprocess.Popen[bytes]] = field(default_factory=dict)

    # ----- client commands -----
    def run(self, *args: str, check: bool = True, timeout: float = 60.0) -> subprocess.CompletedProcess[str]:
        """Runs one SLURM client command against this cluster and returns its completed process."""
        result = subprocess.run(list(args), env=self.env, capture_output=True, text=True, timeout=timeout, check=False)
        if check and result.returncode != 0:
            raise RuntimeError(
                f"{' '.join(args)} exited {result.returncode}: {result.stderr.strip() or result.stdout.strip()}"
            )
        return result

    def sbatch(self, script: str | Path, *options: str, cwd: Path | None = None) -> str:
        """Submits a batch script (a path, or the script's text) and returns the job ID.

        Output goes to ``<root>/out/slurm-%j.out`` unless ``options`` hold their own ``--output``.
        """
        out_dir = self.root / "out"
        out_dir.mkdir(exist_ok=True)
        args = ["sbatch", "--parsable"]
        if not any(option.startswith(("--output", "-o")) for option in options):
            args.append(f"--output={out_dir / 'slurm-%j.out'}")
        args.extend(options)
        if isinstance(script, Path):
            args.append(str(script))
            text_input = None
        else:
            text_input = script
        result = subprocess.run(
            args,
            env=self.env,
            input=text_input,
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
            cwd=cwd or self.root,
        )
        if result.returncode != 0:
            raise RuntimeError(f"sbatch exited {result.returncode}: {result.stderr.strip()}")
        # --parsable prints "jobid" or "jobid;cluster".
        return result.stdout.strip().split(";")[0]

    def job(self, job_id: str) -> JobInfo | None:
        """Returns the job as ``scontrol show job`` sees it, or None once it is unknown (purged after MinJobAge).

        An array's parent ID gives its first record; ask for ``<array_id>_<index>`` for one task.
        """
        result = self.run("scontrol", "show", "job", "--oneliner", job_id, check=False)
        if result.returncode != 0:
            if "Invalid job id" in result.stderr:
                return None
            raise RuntimeError(f"scontrol show job {job_id} exited {result.returncode}: {result.stderr.strip()}")
        line = result.stdout.strip().splitlines()[0]
        fields = dict(re.findall(r"(\w[\w:/]*)=(\S*)", line))
        return JobInfo(
            job_id=fields.get("JobId", job_id),
            state=fields.get("JobState", ""),
            reason=fields.get("Reason", ""),
            exit_code=fields.get("ExitCode", ""),
            restart_count=int(fields.get("Restarts", "0") or 0),
            fields=fields,
        )

    def array_states(self, array_id: str) -> dict[str, str]:
        """Returns ``{task_index: state}`` for every task of a job array that ``scontrol`` still knows."""
        result = self.run("scontrol", "show", "job", "--oneliner", array_id, check=False)
        states: dict[str, str] = {}
        for line in result.stdout.splitlines():
            fields = dict(re.findall(r"(\w[\w:/]*)=(\S*)", line))
            if "ArrayTaskId" in fields:
                states[fields["ArrayTaskId"]] = fields.get("JobState", "")
        return states

    def wait_for_state(self, job_id: str, states: set[str], timeout: float = 120.0) -> JobInfo:
        """Polls until the job is in one of ``states`` and returns it; raises TimeoutError with the last state."""
        deadline = time.monotonic() + timeout
        info = self.job(job_id)
        while info is None or info.state not in states:
            if time.monotonic() > deadline:
                seen = "unknown to scontrol" if info is None else info.state
                raise TimeoutError(f"job {job_id} never reached {sorted(states)} in {timeout} s (last: {seen})")
            time.sleep(0.25)
            info = self.job(job_id)
        return info

    def requeue(self, job_id: str, timeout: float = 60.0) -> None:
        """Requeues a running batch job and lets it start again at once.

        ``scontrol requeue`` holds a requeued batch job back (``Reason=BeginTime``) for about two minutes; as the
        cluster's administrator this moves its start time to two seconds after the previous run has ended (see
        :meth:`release_requeued`), so the job restarts (same job ID, ``SLURM_RESTART_COUNT`` set) within seconds.
        """
        self.run("scontrol", "requeue", job_id)
        self.release_requeued(job_id, timeout)

    def release_requeued(self, job_id: str, timeout: float = 60.0) -> None:
        """Waits until a requeued job (by ``scontrol requeue`` or by preemption) is PENDING, then lets it start.

        The restart waits until the node has finished ending the previous run (its state loses COMPLETING) and
        then two more seconds: slurmd revokes the job's credential when it ends the previous run, and refuses a
        launch whose credential is not from a later second ("Job credential revoked"; the job then ends FAILED).
        """
        self.wait_for_state(job_id, {"PENDING"}, timeout)
        deadline = time.monotonic() + timeout
        while "COMPLETING" in self.node_state() and time.monotonic() < deadline:
            time.sleep(0.1)
        self.run("scontrol", "update", f"JobId={job_id}", "StartTime=now+2")

    def node_state(self) -> str:
        """Returns the node's state as ``scontrol show node`` prints it (e.g. ``IDLE``, ``MIXED+COMPLETING``)."""
        result = self.run("scontrol", "show", "node", "--oneliner", NODE_NAME)
        match = re.search(r"\bState=(\S+)", result.stdout)
        return match.group(1) if match else ""

    def expire_time_limit(self, job_id: str) -> None:
        """Cuts a running job's time limit to zero: the controller kills it as TIMEOUT at its next check (<= 30 s).

        The real path is ``sbatch --time=1``, which ends 60 to 100 s after the start; this gets the same state and
        reason (``TIMEOUT``, ``TimeLimit``), and the same kill by the controller, in a third of the time.
        """
        self.run("scontrol", "update", f"JobId={job_id}", "TimeLimit=0")

    def completion_states(self, job_id: str) -> list[str]:
        """Returns the job's states from the job completion log (``sacct --completion``), oldest first.

        There is no accounting database here, so plain ``sacct`` fails ("Slurm accounting storage is disabled");
        the completion log keeps one line per end of a job (a requeue writes one too), beyond MinJobAge.
        """
        result = self.run("sacct", "--completion", "--noheader", "--parsable2", "--format=JobID,State", "-j", job_id)
        return [line.split("|")[1] for line in result.stdout.splitlines() if line.split("|")[0] == job_id]

    def queue(self) -> list[str]:
        """Returns the IDs of every job ``squeue`` lists (pending, running, completing)."""
        result = self.run("squeue", "--noheader", "--format=%i")
        return [line.strip() for line in result.stdout.splitlines() if line.strip()]

    def logs(self) -> str:
        """Returns the tail of every daemon's log, for failure messages."""
        parts = []
        for name in ("munged.log", "slurmctld.log", "slurmd.log"):
            path = self.root / name
            text = path.read_text(errors="replace") if path.exists() else "(no log)"
            parts.append(f"----- {name} (last 40 lines) -----\n" + "\n".join(text.splitlines()[-40:]))
        return "\n".join(parts)

    # ----- teardown -----
    def own_processes(self) -> list[int]:
        """Returns the PIDs of every live process that carries this cluster's SLURM_CONF (daemons, steps, jobs)."""
        marker = f"SLURM_CONF={self.conf_path}".encode()
        pids = []
        for entry in Path("/proc").iterdir():
            if not entry.name.isdigit() or int(entry.name) == os.getpid():
                continue
            try:
                environ = (entry / "environ").read_bytes()
                status = (entry / "status").read_text()
            except OSError:
                continue
            if "State:\tZ" in status:
                continue
            if marker in environ.split(b"\0"):
                pids.append(int(entry.name))
        return pids

    def stop(self) -> list[int]:
        """Cancels all jobs, stops the daemons by PID, ends leftovers by PID; returns PIDs that would not die."""
        if self.processes.get("slurmctld") is not None and self.processes["slurmctld"].poll() is None:
            self.run("scancel", "--full", check=False)
            deadline = time.monotonic() + 20
            while time.monotonic() < deadline:
                try:
                    if not self.queue():
                        break
                except (RuntimeError, subprocess.TimeoutExpired):
                    break
                time.sleep(0.25)
        # Stop order: the node, then the controller, then munge (the daemons talk to munge until they exit).
        for name in ("slurmd", "slurmctld", "munged"):
            process = self.processes.get(name)
            if process is None or process.poll() is not None:
                continue
            process.terminate()
            try:
                process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(timeout=15)
        for pid in self.own_processes():
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
        deadline = time.monotonic() + 10
        survivors = self.own_processes()
        while survivors and time.monotonic() < deadline:
            time.sleep(0.1)
            survivors = self.own_processes()
        if not survivors:
            shutil.rmtree(self.root, ignore_errors=True)
        return survivors


def _write_conf(root: Path, host: str, ctld_port: int, slurmd_port: int) -> Path:
    conf = root / "slurm.conf"
    lines = [
        f"ClusterName=axds{os.getpid()}",
        f"SlurmctldHost={host}(127.0.0.1)",
        f"SlurmctldPort={ctld_port}",
        f"SlurmdPort={slurmd_port}",
        "SlurmUser=root",
        "SlurmdUser=root",
        "AuthType=auth/munge",
        "CredType=cred/munge",
        f"AuthInfo=socket={root / 'munge' / 'munge.socket'}",
        f"StateSaveLocation={root / 'state'}",
        f"SlurmdSpoolDir={root / 'spool'}",
        f"SlurmctldPidFile={root / 'slurmctld.pid'}",
        f"SlurmdPidFile={root / 'slurmd.pid'}",
        f"SlurmctldLogFile={root / 'slurmctld.log'}",
        f"SlurmdLogFile={root / 'slurmd.log'}",
        "SlurmctldDebug=info",
        "SlurmdDebug=info",
        # No cgroups here: processes are tracked by parentage, tasks are not bound.
        "ProctrackType=proctrack/linuxproc",
        "TaskPlugin=task/none",
        "JobAcctGatherType=jobacct_gather/none",
        "SelectType=select/cons_tres",
        "SelectTypeParameters=CR_CPU",
        "SchedulerType=sched/backfill",
        # Partition priority tiers: a job of PARTITION_HIGH preempts jobs of the others when the node is full;
        # PARTITION's jobs are then requeued, PARTITION_CANCEL's end as PREEMPTED.
        "PreemptType=preempt/partition_prio",
        "PreemptMode=REQUEUE",
        "MpiDefault=none",
        "SwitchType=switch/none",
        "LaunchParameters=use_interactive_step",
        # No slurmdbd: the job completion log is the only record once a job leaves the controller's memory.
        "AccountingStorageType=accounting_storage/none",
        "JobCompType=jobcomp/filetxt",
        f"JobCompLoc={root / 'jobcomp.log'}",
        f"MinJobAge={MIN_JOB_AGE}",
        "KillWait=2",
        "OverTimeLimit=0",
        "InactiveLimit=0",
        "Waittime=0",
        "ReturnToService=2",
        "JobRequeue=1",
        "MaxArraySize=10001",
        "SlurmdParameters=config_overrides",
        "SlurmctldTimeout=30",
        "SlurmdTimeout=60",
        "MessageTimeout=20",
        "MailProg=/bin/true",
        f"NodeName={NODE_NAME} NodeHostname={host} NodeAddr=127.0.0.1 CPUs={NODE_CPUS} RealMemory=4096 State=UNKNOWN",
        f"PartitionName={PARTITION} Nodes={NODE_NAME} Default=YES MaxTime=INFINITE State=UP PriorityTier=1",
        f"PartitionName={PARTITION_CANCEL} Nodes={NODE_NAME} MaxTime=INFINITE State=UP PriorityTier=1 "
        "PreemptMode=CANCEL",
        f"PartitionName={PARTITION_HIGH} Nodes={NODE_NAME} MaxTime=INFINITE State=UP PriorityTier=2 PreemptMode=OFF",
    ]
    conf.write_text("\n".join(lines) + "\n")
    return conf


def start_cluster(root: Path | None = None, start_timeout: float = 60.0) -> SlurmCluster:
    """Starts munged, slurmctld and slurmd under ``root`` (a new temporary folder by default).

    Raises:
        SlurmUnavailableError: A needed program is not installed (callers skip).
        SlurmStartError: The programs exist but the cluster did not reach an idle node in ``start_timeout`` seconds;
            the message holds the daemons' logs. Everything started is stopped first.
    """
    missing = missing_programs()
    if missing:
        raise SlurmUnavailableError(
            f"SLURM/munge programs not installed ({', '.join(missing)}); run .ci/install-slurm.sh (needs root/apt)"
        )
    root = Path(tempfile.mkdtemp(prefix="axds-slurm-")) if root is None else root
    for sub in ("munge", "state", "spool", "out"):
        (root / sub).mkdir(parents=True, exist_ok=True)
    # munged refuses folders that others can write to.
    os.chmod(root, 0o700)
    os.chmod(root / "munge", 0o700)
    host = socket.gethostname().split(".")[0]
    conf = _write_conf(root, host, *_free_ports(2))
    env = dict(os.environ)
    env["PATH"] = _SEARCH_PATH
    env["SLURM_CONF"] = str(conf)
    for leaked in [name for name in env if name.startswith("SLURM_") and name != "SLURM_CONF"]:
        # A test run inside a SLURM job must not hand that job's identity to this cluster's commands.
        del env[leaked]
    cluster = SlurmCluster(root=root, conf_path=conf, env=env)

    def spawn(name: str, *args: str) -> None:
        log = (root / f"{name}.stdout").open("wb")
        cluster.processes[name] = subprocess.Popen(
            list(args),
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            preexec_fn=_die_with_parent,  # noqa: PLW1509 - only prctl, before exec
        )
        log.close()

    try:
        key = root / "munge" / "munge.key"
        subprocess.run(
            ["mungekey", "--create", f"--keyfile={key}", "--force"], env=env, check=True, capture_output=True
        )
        os.chmod(key, 0o400)
        spawn(
            "munged",
            "munged",
            "--foreground",
            "--force",
            f"--key-file={key}",
            f"--socket={root / 'munge' / 'munge.socket'}",
            f"--pid-file={root / 'munge' / 'munged.pid'}",
            f"--log-file={root / 'munged.log'}",
            f"--seed-file={root / 'munge' / 'munged.seed'}",
        )
        _wait((root / "munge" / "munge.socket").exists, cluster, "munged", 20)
        spawn("slurmctld", "slurmctld", "-D", "-c", "-i", "-f", str(conf))
        spawn("slurmd", "slurmd", "-D", "-N", NODE_NAME, "-f", str(conf))
        deadline = time.monotonic() + start_timeout

        def node_idle() -> bool:
            result = cluster.run("sinfo", "--noheader", "--format=%T", f"--nodes={NODE_NAME}", check=False, timeout=10)
            return result.returncode == 0 and result.stdout.strip().rstrip("*") == "idle"

        _wait(node_idle, cluster, "slurmctld and slurmd", max(1.0, deadline - time.monotonic()))
    except BaseException as error:
        logs = cluster.logs()
        survivors = cluster.stop()
        if isinstance(error, SlurmStartError):
            raise
        raise SlurmStartError(
            f"the one-node SLURM cluster did not start: {error} (processes left: {survivors})\n{logs}"
        ) from error
    return cluster


def _wait(ready: Callable[[], bool], cluster: SlurmCluster, what: str, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while True:
        for name, process in cluster.processes.items():
            if process.poll() is not None:
                raise SlurmStartError(
                    f"{name} exited with {process.returncode} while waiting for {what}\n"
                    + _stdout_tail(cluster.root, name)
                    + cluster.logs()
                )
        try:
            if ready():
                return
        except (OSError, subprocess.TimeoutExpired):
            pass
        if time.monotonic() > deadline:
            raise SlurmStartError(f"{what} not ready after {timeout:.0f} s\n{cluster.logs()}")
        time.sleep(0.2)


def _stdout_tail(root: Path, name: str) -> str:
    path = root / f"{name}.stdout"
    text = path.read_text(errors="replace") if path.exists() else ""
    return f"----- {name} stdout -----\n" + "\n".join(text.splitlines()[-20:]) + "\n"
