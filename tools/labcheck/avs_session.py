"""Drives ataraxis-video-system 5.2.0's uses of this library with its mock camera (no hardware, needs ffmpeg).

Covers: DataLogger + VideoSystem logging frame stamps from spawned processes, the camera manifest (YamlConfig),
the log folder as the package's checks see it (``*.npy``), the MCP session tools (start/stop + assembly), the MCP
assembly tool (its ``*.npy`` probe), assembly while the logger runs (as the package's tests do), and the processing
pipeline (ProcessingTracker, archive reading) on the result. Prints a JSON record of every step.

Run: ``PY tools/labcheck/avs_session.py`` with PY a Python that has ataraxis-video-system installed.
"""

from __future__ import annotations

import tempfile
import time
from pathlib import Path

import numpy as np
from ataraxis_video_system import (
    CameraInterfaces,
    CameraManifest,
    EncoderSpeedPresets,
    OutputPixelFormats,
    VideoSystem,
    resolve_timestamps_path,
    run_log_processing_pipeline,
)
from ataraxis_video_system.interfaces import discovery_tools, processing_tools, session_tools

from _harness import Recorder, listing
from ataraxis_data_structures import DataLogger, LogArchiveReader, assemble_log_archives


def _video_system(logger: DataLogger, output: Path, system_id: int) -> VideoSystem:
    return VideoSystem(
        system_id=np.uint8(system_id),
        data_logger=logger,
        name="live_camera",
        output_directory=output,
        camera_interface=CameraInterfaces.MOCK,
        frame_width=64,
        frame_height=48,
        frame_rate=30,
        color=False,
        video_encoder="H264",
        encoder_speed_preset=EncoderSpeedPresets.FASTEST,
        output_pixel_format=OutputPixelFormats.YUV420,
        quantization_parameter=30,
    )


def _record_seconds(video: VideoSystem, seconds: float) -> None:
    video.start()
    video.start_frame_saving()
    time.sleep(seconds)
    video.stop_frame_saving()


def _archive_summary(log_directory: Path) -> dict[str, object]:
    summary: dict[str, object] = {}
    for archive in sorted(log_directory.glob("*.npz")):
        reader = LogArchiveReader(archive_path=archive)
        stamps = [message.timestamp_us for message in reader.iter_messages()]
        summary[archive.name] = {
            "messages>0": len(stamps) > 0,
            "sorted": stamps == sorted(stamps),
            "keys_all_npy_named": all(name.endswith(".npy") or "_" in name for name in np.load(archive).files),
        }
    return summary


def cli_like_session(rec: Recorder, root: Path) -> None:
    """As ``axvs run``: logger, mock camera, stop both, assemble with remove_sources, then ``axvs process``."""
    output = root / "cli"
    output.mkdir()
    logger = rec.step("cli: DataLogger(instance_name='axvs_live_run')", lambda: DataLogger(output, "axvs_live_run"))
    if logger is None:
        return
    rec.step("cli: logger.start()", logger.start)
    log_dir = logger.output_directory
    rec.note("cli: output_directory relative to the given folder", str(log_dir.relative_to(output)))
    video = rec.step("cli: VideoSystem(mock)", lambda: _video_system(logger, output, 111))
    if video is None:
        return
    rec.step("cli: record 2 s", lambda: _record_seconds(video, 2.0))
    rec.note("cli: log folder while logger runs", listing(log_dir))
    rec.step("cli: video.stop()", video.stop)
    rec.step("cli: logger.stop()", logger.stop)
    rec.note("cli: log folder after logger.stop()", listing(log_dir))
    rec.step(
        "cli: CameraManifest.from_yaml(camera_manifest.yaml)",
        lambda: CameraManifest.from_yaml(file_path=log_dir / "camera_manifest.yaml"),
    )
    rec.step(
        "cli: assemble_log_archives(remove_sources=True, verbose=True)",
        lambda: assemble_log_archives(log_directory=log_dir, remove_sources=True, verbose=True),
    )
    rec.note("cli: log folder after assembly", listing(log_dir))
    rec.step("cli: archive contents", lambda: _archive_summary(log_dir))
    processed = root / "cli_processed"
    for attempt in ("first", "second (idempotent)"):
        rec.step(
            f"cli: run_log_processing_pipeline {attempt}",
            lambda: run_log_processing_pipeline(
                log_directory=log_dir, output_directory=processed, workers=1, display_progress=False
            ),
        )
    tracker_files = sorted(processed.rglob("*tracker*.yaml"))
    rec.note("cli: tracker files", [str(path.relative_to(root)) for path in tracker_files])
    for tracker_file in tracker_files:
        rec.step(
            "cli: processing_tools._read_tracker_status (snapshot)",
            lambda tracker_file=tracker_file: processing_tools._read_tracker_status(tracker_path=tracker_file),
        )
        rec.step(
            "cli: tracker file text keys",
            lambda tracker_file=tracker_file: sorted(
                {line.split(":")[0].strip() for line in tracker_file.read_text().splitlines() if ":" in line}
            ),
        )

    def timestamps() -> dict[str, object]:
        path = resolve_timestamps_path(output_directory=processed / "camera_timestamps", source_id="111")
        if not path.exists():
            found = sorted(str(p.relative_to(root)) for p in processed.rglob("*.feather"))
            return {"exists": False, "feathers": found}
        import polars as pl

        frame = pl.read_ipc(path)
        return {"exists": True, "rows>0": frame.height > 0, "columns": frame.columns}

    rec.step("cli: extracted timestamps", timestamps)
    rec.step("mcp: get_batch_status_overview_tool", lambda: processing_tools.get_batch_status_overview_tool(str(root)))


VOLATILE_KEYS = {"started_at", "completed_at", "message_count", "archive_bytes", "memory_budget_mb", "memory_mb"}
"""Keys of the MCP tools' answers whose values depend on the run (times, frame counts, free memory)."""


def _no_numbers(value: object, key: str = "") -> object:
    """Drops the run-dependent figures (times, durations, rates, sizes) from an MCP tool's answer, keeping its shape."""
    if isinstance(value, dict):
        return {name: _no_numbers(item, name) for name, item in value.items()}
    if isinstance(value, list):
        return [_no_numbers(item, key) for item in value]
    if isinstance(value, float) or key in VOLATILE_KEYS:
        return "<number>"
    return value


def mcp_batch(rec: Recorder, root: Path) -> None:
    """As an agent through the MCP server: prepare, execute in the background, poll, time, reset, clean."""
    log_dir = root / "cli" / "axvs_live_run_data_log"
    output = root / "mcp_batch_out"
    arguments = {"log_directories": [str(log_dir)], "source_ids": ["111"], "output_directories": [str(output)]}
    rec.step(
        "batch: prepare_log_processing_batch_tool",
        lambda: _no_numbers(processing_tools.prepare_log_processing_batch_tool(**arguments)),
    )
    rec.step(
        "batch: execute_log_processing_jobs_tool",
        lambda: _no_numbers(processing_tools.execute_log_processing_jobs_tool(**arguments)),
    )

    def wait() -> object:
        deadline = time.monotonic() + 180
        status: dict[str, object] = {}
        while time.monotonic() < deadline:
            status = processing_tools.get_log_processing_status_tool()
            if not status.get("active", False) and "error" not in status:
                break
            time.sleep(1)
        return _no_numbers(status)

    rec.step("batch: get_log_processing_status_tool until idle", wait)
    rec.step(
        "batch: get_log_processing_timing_tool", lambda: _no_numbers(processing_tools.get_log_processing_timing_tool())
    )
    for tracker_file in sorted(output.rglob("*tracker*.yaml")):
        rec.step(
            "batch: reset_log_processing_jobs_tool",
            lambda tracker_file=tracker_file: processing_tools.reset_log_processing_jobs_tool(str(tracker_file)),
        )
        rec.step(
            "batch: _read_tracker_status after reset",
            lambda tracker_file=tracker_file: processing_tools._read_tracker_status(tracker_path=tracker_file),
        )
    rec.step(
        "batch: clean_log_processing_output_tool",
        lambda: processing_tools.clean_log_processing_output_tool([str(output)]),
    )


def mcp_session(rec: Recorder, root: Path) -> None:
    """As the MCP server: start_video_session_tool(mock) / stop_video_session_tool (which assembles)."""
    output = root / "mcp"
    output.mkdir()
    rec.step(
        "mcp: start_video_session_tool(mock)",
        lambda: session_tools.start_video_session_tool(
            output_directory=str(output),
            interface="mock",
            width=64,
            height=48,
            display_frame_rate=None,
            monochrome=True,
            encoder_speed_preset=1,
            quantization_parameter=30,
        ),
    )
    rec.step("mcp: start_frame_saving_tool", session_tools.start_frame_saving_tool)
    time.sleep(1.5)
    rec.step("mcp: stop_frame_saving_tool", session_tools.stop_frame_saving_tool)
    rec.step("mcp: stop_video_session_tool", session_tools.stop_video_session_tool)
    for log_dir in sorted(path for path in output.iterdir() if path.is_dir()):
        rec.note(f"mcp: folder {log_dir.name} after stop", listing(log_dir))


def assemble_while_logging(rec: Recorder, root: Path) -> None:
    """As the package's tests: stop the camera, assemble, then stop the logger; then the MCP assembly tool."""
    output = root / "busy"
    output.mkdir()
    logger = DataLogger(output_directory=output, instance_name="busy")
    logger.start()
    video = rec.step("busy: VideoSystem(mock)", lambda: _video_system(logger, output, 113))
    if video is None:
        logger.stop()
        return
    rec.step("busy: record 1.5 s", lambda: _record_seconds(video, 1.5))
    rec.step("busy: video.stop()", video.stop)
    rec.step(
        "busy: assemble_log_archives while logger runs",
        lambda: assemble_log_archives(log_directory=logger.output_directory, remove_sources=True, verbose=False),
    )
    rec.step("busy: logger.stop()", logger.stop)
    rec.note("busy: folder after stop", listing(logger.output_directory))
    rec.step("busy: archive contents", lambda: _archive_summary(logger.output_directory))

    # The MCP assembly tool on a fresh log folder, and on its parent (its *.npy probe refuses a parent folder).
    second = root / "tool"
    second.mkdir()
    logger = DataLogger(output_directory=second, instance_name="tool")
    logger.start()
    video = _video_system(logger, second, 114)
    _record_seconds(video, 1.0)
    video.stop()
    logger.stop()
    rec.note("tool: folder after stop", listing(logger.output_directory))
    rec.step(
        "tool: assemble_log_archives_tool(parent folder)",
        lambda: discovery_tools.assemble_log_archives_tool(log_directory=str(second)),
    )
    rec.step(
        "tool: assemble_log_archives_tool(log folder, verify_integrity=True)",
        lambda: discovery_tools.assemble_log_archives_tool(
            log_directory=str(logger.output_directory), verify_integrity=True
        ),
    )
    rec.note("tool: folder after tool", listing(logger.output_directory))


def main() -> None:
    """Runs every scenario in a fresh temporary folder and prints the record."""
    with tempfile.TemporaryDirectory(prefix="labcheck-avs-") as temporary:
        root = Path(temporary)
        rec = Recorder(root)
        for scenario in (cli_like_session, mcp_batch, mcp_session, assemble_while_logging):
            rec.step(f"scenario {scenario.__name__}", lambda scenario=scenario: scenario(rec, root))


if __name__ == "__main__":
    main()
