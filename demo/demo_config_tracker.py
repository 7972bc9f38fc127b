"""Demo part 1: a YamlConfig round trip of an experiment configuration, and a pipeline tracked by ProcessingTracker.

Three worker processes take their share of twelve jobs from one tracker file; one job fails, is retried and then
succeeds. Everything is checked: the part raises if the config does not come back identical or the tracker does not
end with every job succeeded by the worker that ran it.
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


def process_sessions(tracker_path: Path, worker: str, job_ids: list[str], output: Path) -> None:
    """A worker process: runs its jobs, recording each start, success or failure in the tracker."""
    tracker = ProcessingTracker(file_path=tracker_path)
    for job_id in job_ids:
        tracker.start_job(job_id, executor_id=worker)
        session = tracker.get_job_info(job_id).specifier
        marker = output / f"{session}.attempted"
        if session == FLAKY_SESSION and not marker.exists():
            marker.touch()
            tracker.fail_job(job_id, f"corrupted frame 17 in {session}/camera.bin (transient read error)")
            continue
        time.sleep(0.05)  # The session's processing.
        (output / f"{session}.done").write_text(f"processed by {worker}\n")
        tracker.complete_job(job_id)


def run_workers(tracker_path: Path, shares: list[list[str]], output: Path) -> None:
    """Runs one worker process per share of jobs and waits for all of them."""
    context = multiprocessing.get_context("spawn")
    processes = [
        context.Process(target=process_sessions, args=(tracker_path, f"worker-{index}", share, output))
        for index, share in enumerate(shares)
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
    shares = [ids[index::WORKERS] for index in range(WORKERS)]
    print(f"[tracker] {SESSIONS} jobs for {WORKERS} worker processes in {tracker.file_path}")

    run_workers(tracker.file_path, shares, output)
    summary = tracker.get_summary()
    failed = tracker.get_jobs_by_status(ProcessingStatus.FAILED)
    if summary[ProcessingStatus.SUCCEEDED] != SESSIONS - 1 or len(failed) != 1 or not tracker.encountered_error:
        raise RuntimeError(f"unexpected state after the first pass: {summary}")
    failure = tracker.get_job_info(failed[0])
    print(
        f"[tracker] first pass: {summary[ProcessingStatus.SUCCEEDED]} succeeded, 1 failed "
        f"({failure.specifier} on {failure.executor_id}: {failure.error_message})"
    )

    retried = tracker.retry_failed_jobs()
    run_workers(tracker.file_path, [retried], output)
    if not tracker.complete or retried != failed:
        raise RuntimeError(f"the retry did not complete the pipeline: {tracker.get_summary()}")
    for index, share in enumerate(shares):
        for job_id in share:
            expected = "worker-0" if job_id in retried else f"worker-{index}"
            if tracker.get_job_info(job_id).executor_id != expected:
                raise RuntimeError(f"job {job_id} was not recorded as run by {expected}")
    if len(list(output.glob("*.done"))) != SESSIONS:
        raise RuntimeError("not every session produced its output")
    print(f"[tracker] retried {failure.specifier}: it succeeded; pipeline complete. axds tracker show says:")
    print(format_tracker_table(tracker.file_path))


def run(root: Path, *args: object) -> Path:
    """Runs this part of the demo under root and returns root."""
    print("== Configuration files and a tracked multi-process pipeline")
    config_round_trip(root)
    tracked_pipeline(root)
    return root
