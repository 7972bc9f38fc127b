"""One tracker workload, run under either package (see bench_tracker.py); prints one JSON line.

Usage: python workload_tracker.py {ops|first|contended} JOBS OPERATIONS [PROCESSES|ROUNDS]
       python workload_tracker.py drain JOBS PROCESSES [LIMIT]   (ours only: the releases have no claim_job)

- ops: one process alternates start_job / complete_job over the jobs of a JOBS-job tracker; the best of ROUNDS
  (default 3) rounds of OPERATIONS calls is reported.
- first: a fresh process (as a cluster job would be) times its first start_job on an existing JOBS-job tracker,
  OPERATIONS times over; the tracker is parsed from scratch each time.
- contended: PROCESSES processes do that at the same time on one tracker, each on its own jobs, while the parent
  waits; the aggregate rate is reported (it includes re-reading what the other processes wrote).
- drain: PROCESSES worker processes run the README's worker loop (claim_job, then complete_job) on one JOBS-job
  tracker until no job is left; reports claims per second (a claim and a completion each), and checks that every
  job was claimed exactly once and ended SUCCEEDED (lost and duplicated counts are printed; both must be 0). With
  LIMIT, each worker stops after LIMIT claims (to time claims on a large tracker; the exactly-once check is skipped).
"""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from ataraxis_data_structures import ProcessingTracker


def make_tracker(directory: Path, jobs: int) -> tuple[ProcessingTracker, list[str]]:
    """Creates a tracker with the given number of jobs (untimed setup) and returns it with the job IDs."""
    tracker = ProcessingTracker(file_path=directory / "tracker.yaml")
    ids = tracker.initialize_jobs([("process_session", f"session_{index:05d}") for index in range(jobs)])
    return tracker, ids


def run_operations(tracker: ProcessingTracker, ids: list[str], operations: int) -> float:
    """Runs start/complete pairs over ids until `operations` calls are made; returns the elapsed seconds."""
    started = time.perf_counter()
    for index in range(operations):
        job_id = ids[(index // 2) % len(ids)]
        if index % 2 == 0:
            tracker.start_job(job_id, executor_id=f"worker-{index}")
        else:
            tracker.complete_job(job_id)
    return time.perf_counter() - started


def single(jobs: int, operations: int, repeats: int = 3) -> dict[str, float]:
    """Times operations of one process on a tracker of `jobs` jobs: the best of `repeats` rounds of `operations`."""
    with tempfile.TemporaryDirectory() as scratch:
        tracker, ids = make_tracker(Path(scratch), jobs)
        run_operations(tracker, ids, 2)  # The first operation parses the file; time the steady state.
        # Disk flushes share the disk with everything else on the machine; the best round is the least disturbed.
        elapsed = min(run_operations(tracker, ids, operations) for _ in range(repeats))
    return {"ops_per_s": operations / elapsed, "ms_per_op": elapsed / operations * 1000}


def first(jobs: int, repeats: int) -> dict[str, float]:
    """Times the first operation of fresh processes on an existing tracker of `jobs` jobs."""
    times = []
    with tempfile.TemporaryDirectory() as scratch:
        _, ids = make_tracker(Path(scratch), jobs)
        for index in range(repeats):
            output = subprocess.run(
                [sys.executable, __file__, "first-worker", scratch, ids[index % len(ids)]],
                capture_output=True,
                text=True,
                check=True,
            ).stdout
            times.append(float(output.strip().splitlines()[-1]))
    best = min(times)
    return {"ops_per_s": 1 / best, "ms_per_op": best * 1000}


def first_worker(directory: str, job_id: str) -> None:
    """Runs in a fresh child: prints the seconds its first start_job took."""
    tracker = ProcessingTracker(file_path=Path(directory) / "tracker.yaml")
    started = time.perf_counter()
    tracker.start_job(job_id, executor_id="fresh")
    print(time.perf_counter() - started)


def contended(jobs: int, operations: int, processes: int) -> dict[str, float]:
    """Times `processes` processes doing `operations` calls each, concurrently, on one tracker."""
    with tempfile.TemporaryDirectory() as scratch:
        _, ids = make_tracker(Path(scratch), jobs)
        share = len(ids) // processes
        workers = [
            subprocess.Popen(
                [sys.executable, __file__, "worker", scratch, str(operations), *ids[rank * share : (rank + 1) * share]],
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                text=True,
            )
            for rank in range(processes)
        ]
        for worker in workers:  # Each worker has imported the package and says so; then all start together.
            assert worker.stdout is not None
            worker.stdout.readline()
        started = time.perf_counter()
        for worker in workers:
            assert worker.stdin is not None
            worker.stdin.write("go\n")
            worker.stdin.flush()
        for worker in workers:
            worker.wait()
        elapsed = time.perf_counter() - started
        if any(worker.returncode for worker in workers):
            raise RuntimeError("a contended worker failed")
    total = operations * processes
    return {"ops_per_s": total / elapsed, "ms_per_op": elapsed / total * 1000}


def worker(directory: str, operations: int, ids: list[str]) -> None:
    """Runs in a contended child: waits for 'go', then does its operations on its own jobs."""
    tracker = ProcessingTracker(file_path=Path(directory) / "tracker.yaml")
    print("ready", flush=True)
    sys.stdin.readline()
    run_operations(tracker, ids, operations)


def drain(jobs: int, processes: int, limit: int = 0) -> dict[str, float]:
    """Times `processes` workers draining a `jobs`-job tracker with claim_job/complete_job; checks exactly-once."""
    with tempfile.TemporaryDirectory() as scratch:
        tracker, ids = make_tracker(Path(scratch), jobs)
        workers = [
            subprocess.Popen(
                [sys.executable, __file__, "drain-worker", scratch, f"w{rank}", str(limit)],
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                text=True,
            )
            for rank in range(processes)
        ]
        for child in workers:
            assert child.stdout is not None
            child.stdout.readline()
        started = time.perf_counter()
        for child in workers:
            assert child.stdin is not None
            child.stdin.write("go\n")
            child.stdin.flush()
        claimed: list[str] = []
        for child in workers:
            assert child.stdout is not None
            claimed.extend(child.stdout.read().split())
            child.wait()
        elapsed = time.perf_counter() - started
        if any(child.returncode for child in workers):
            raise RuntimeError("a drain worker failed")
        counts: dict[str, int] = {}
        for job_id in claimed:
            counts[job_id] = counts.get(job_id, 0) + 1
        lost = 0 if limit else sum(1 for job_id in ids if job_id not in counts)
        duplicated = sum(count - 1 for count in counts.values())
        not_succeeded = (
            0 if limit else sum(1 for state in tracker.snapshot().values() if state.status.name != "SUCCEEDED")
        )
    return {
        "ops_per_s": len(claimed) / elapsed,
        "ms_per_op": elapsed / max(len(claimed), 1) * 1000,
        "lost": lost,
        "duplicated": duplicated,
        "not_succeeded": not_succeeded,
    }


def drain_worker(directory: str, name: str, limit: int) -> None:
    """Runs in a drain child: waits for 'go', then claims and completes jobs until none is left, printing each ID."""
    tracker = ProcessingTracker(file_path=Path(directory) / "tracker.yaml", lock_timeout=600)
    print("ready", flush=True)
    sys.stdin.readline()
    done = []
    while (not limit or len(done) < limit) and (job_id := tracker.claim_job(executor_id=name)) is not None:
        tracker.complete_job(job_id)
        done.append(job_id)
    print("\n".join(done))


def main() -> None:
    mode = sys.argv[1]
    if mode == "drain-worker":
        drain_worker(sys.argv[2], sys.argv[3], int(sys.argv[4]))
        return
    if mode == "drain":
        limit = int(sys.argv[4]) if len(sys.argv) > 4 else 0
        print(json.dumps(drain(int(sys.argv[2]), int(sys.argv[3]), limit)))
        return
    if mode == "worker":
        worker(sys.argv[2], int(sys.argv[3]), sys.argv[4:])
        return
    if mode == "first-worker":
        first_worker(sys.argv[2], sys.argv[3])
        return
    jobs, operations = int(sys.argv[2]), int(sys.argv[3])
    if mode == "ops":
        result = single(jobs, operations, int(sys.argv[4]) if len(sys.argv) > 4 else 3)
    elif mode == "first":
        result = first(jobs, operations)
    else:
        result = contended(jobs, operations, int(sys.argv[4]))
    print(json.dumps(result))


if __name__ == "__main__":
    main()
