"""Demo part 1: a YamlConfig round trip of an experiment configuration, and a pipeline tracked by ProcessingTracker.

Three worker processes drain twelve jobs from one tracker file (claim_job + run_job, the README's worker loop); one
job fails, is retried and then succeeds. Everything is checked: the part raises if the config does not come back
identical or the tracker does not end with every job succeeded by one of the workers.
"""

from __future__ import annotations

import multiprocessing
import time
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path

from ataraxis_data_structures import ProcessingStatus, ProcessingTracker, YamlConfig
from ataraxis_data_structures.cli.tracker_commands import format_tracker_table

WORKERS = 3
SESSIONS = 12
FLAKY_SESSION = "session_07"  # Fails on its first attempt, as a transient read error would.


class Stimulus(StrEnum):
    GRATING = "grating"
    NATURAL_MOVIE = "natural_movie"


@dataclass
class CameraSettings:
    fps: int = 60
    exposure_us: float = 8000.0
    roi: tuple[int, int, int, int] = (0, 0, 1280, 1024)


@dataclass
class ExperimentConfig(YamlConfig):
    experiment: str = "visual_discrimination"
    animal_id: str = "A17"
    output_directory: Path = Path("sessions")
    stimulus: Stimulus = Stimulus.GRATING
    camera: CameraSettings = field(default_factory=CameraSettings)
    trial_durations_s: list[float] = field(default_factory=lambda: [2.0, 2.5, 3.0])
    notes: str | None = None


def config_round_trip(root: Path) -> None:
    """Writes an experiment config to YAML, reads it back and checks it is identical."""
    config = ExperimentConfig(
        output_directory=root / "sessions", stimulus=Stimulus.NATURAL_MOVIE, notes="pilot; lights off"
    )
    config.camera.fps = 120
    path = root / "config" / "experiment.yaml"
    config.to_yaml(path)
    loaded = ExperimentConfig.from_yaml(path)
    if loaded != config:
        raise RuntimeError(f"the config read back from {path} differs from the one written: {loaded} != {config}")
    lines = path.read_text().count("\n")
    print(f"[config]  ExperimentConfig -> {path} ({lines} lines of YAML); read back identical, types included")


def process_sessions(tracker_path: Path, worker: str, output: Path) -> None:
    """A worker process: the README's worker loop. Claims jobs until none is left; run_job records each outcome."""
    tracker = ProcessingTracker(file_path=tracker_path)
    while (job_id := tracker.claim_job(job_name="process_session", executor_id=worker)) is not None:
        session = tracker.get_job_info(job_id).specifier
        try:
            # claim_job marked the job RUNNING; run_job keeps it so and marks it SUCCEEDED when the block ends, or
            # FAILED with the exception's text if it raises.
            with tracker.run_job(job_id, executor_id=worker):
                marker = output / f"{session}.attempted"
                if session == FLAKY_SESSION and not marker.exists():
                    marker.touch()
                    raise OSError(f"corrupted frame 17 in {session}/camera.bin (transient read error)")
                time.sleep(0.05)  # The session's processing.
                (output / f"{session}.done").write_text(f"processed by {worker}\n")
        except OSError:
            continue  # Recorded in the tracker by run_job; the worker goes on with the next job.


def run_workers(tracker_path: Path, workers: int, output: Path) -> None:
    """Runs the worker processes, each draining the tracker, and waits for all of them."""
    context = multiprocessing.get_context("spawn")
    processes = [
        context.Process(target=process_sessions, args=(tracker_path, f"worker-{index}", output))
        for index in range(workers)
    ]
    for process in processes:
        process.start()
    for process in processes:
        process.join()
        if process.exitcode != 0:
            raise RuntimeError(f"worker process {process.name} exited with code {process.exitcode}")


def tracked_pipeline(root: Path) -> None:
    """Runs the jobs in worker processes, retries the failed one, and checks the tracker's final state."""
    output = root / "pipeline" / "processed"
    output.mkdir(parents=True)
    tracker = ProcessingTracker(file_path=root / "pipeline" / "tracker.yaml")
    ids = tracker.initialize_jobs([("process_session", f"session_{index:02d}") for index in range(SESSIONS)])
    print(f"[tracker] {SESSIONS} jobs drained by {WORKERS} worker processes (claim_job + run_job): {tracker.file_path}")

    run_workers(tracker.file_path, WORKERS, output)
    summary = tracker.get_summary()
    failed = tracker.get_jobs_by_status(ProcessingStatus.FAILED)
    if summary[ProcessingStatus.SUCCEEDED] != SESSIONS - 1 or len(failed) != 1 or not tracker.encountered_error:
        raise RuntimeError(f"unexpected state after the first pass: {summary}")
    failure = tracker.get_job_info(failed[0])
    status = tracker.summarize()["status"]
    print(
        f"[tracker] first pass: {summary[ProcessingStatus.SUCCEEDED]} succeeded, 1 failed "
        f"({failure.specifier} on {failure.executor_id}: {failure.error_message}); tracker status: {status}"
    )

    retried = tracker.retry_failed_jobs()
    run_workers(tracker.file_path, 1, output)
    if not tracker.complete or retried != failed:
        raise RuntimeError(f"the retry did not complete the pipeline: {tracker.get_summary()}")
    executors = {tracker.get_job_info(job_id).executor_id for job_id in ids}
    if not executors <= {f"worker-{index}" for index in range(WORKERS)}:
        raise RuntimeError(f"jobs were recorded with unexpected executors: {executors}")
    if len(list(output.glob("*.done"))) != SESSIONS:
        raise RuntimeError("not every session produced its output")
    final = tracker.summarize()["status"]
    print(f"[tracker] retried {failure.specifier}: it succeeded; pipeline {final}. axds tracker show says:")
    print(format_tracker_table(tracker.file_path))


def run(root: Path, *args: object) -> Path:
    """Runs this part of the demo under root and returns root."""
    print("== Configuration files and a tracked multi-process pipeline")
    config_round_trip(root)
    tracked_pipeline(root)
    return root
