"""Drives ataraxis-communication-interface 7.1.1's uses of this library without a microcontroller.

Covers: SerialCommunication in its test mode logging its onset stamp and sent commands through a real DataLogger,
received module/kernel payloads logged through the same ``_log_data`` path ``receive_message`` uses, a second
producer in a spawned process, the manifest and extraction configuration (YamlConfig), assembly, the processing
pipeline (ProcessingTracker, LogArchiveReader, atomic_write of the feather outputs), the MCP output tools
(delete_directory) and status tools. Prints one JSON line per step.

Run: ``PY tools/labcheck/aci_logs.py`` with PY a Python that has ataraxis-communication-interface installed.
"""

from __future__ import annotations

import multiprocessing
import tempfile
from pathlib import Path
from typing import Any

import numpy as np
from ataraxis_communication_interface import (
    ExtractionConfig,
    ModuleSourceData,
    create_extraction_config,
    run_log_processing_pipeline,
    write_microcontroller_manifest,
)
from ataraxis_communication_interface.communication.messages import KernelCommand, OneOffModuleCommand
from ataraxis_communication_interface.communication.serial import SerialCommunication
from ataraxis_communication_interface.interfaces import output_tools, processing_tools

from _harness import Recorder, listing
from ataraxis_data_structures import DataLogger, LogPackage, ProcessingTracker, assemble_log_archives

MODULE_TYPE = 1
MODULE_ID = 2


def _state(command: int, event: int) -> np.ndarray:
    return np.array([8, MODULE_TYPE, MODULE_ID, command, event], dtype=np.uint8)


def _data(command: int, event: int, value: int) -> np.ndarray:
    return np.array([6, MODULE_TYPE, MODULE_ID, command, event, 2, value], dtype=np.uint8)


def _kernel_state(command: int, event: int) -> np.ndarray:
    return np.array([9, command, event], dtype=np.uint8)


def _spawned_producer(queue: Any, source_id: int, count: int) -> None:
    """Logs ``count`` messages from a spawned process, as the package's communication process does."""
    for index in range(count):
        queue.put(
            LogPackage(
                source_id=np.uint8(source_id),
                acquisition_time=np.uint64(1000 + index),
                serialized_data=_state(command=1, event=10),
            )
        )


def _log_controller(logger: DataLogger, controller_id: int) -> None:
    communication = SerialCommunication(
        controller_id=np.uint8(controller_id),
        microcontroller_serial_buffer_size=300,
        port="TEST",
        logger_queue=logger.input_queue,
        test_mode=True,
    )
    communication.send_message(message=KernelCommand(command=np.uint8(1)))
    communication.send_message(
        message=OneOffModuleCommand(
            module_type=np.uint8(MODULE_TYPE), module_id=np.uint8(MODULE_ID), command=np.uint8(3)
        )
    )
    for index in range(50):
        communication._log_data(timestamp=10 + index * 3, data=_state(command=1, event=10))
        communication._log_data(timestamp=11 + index * 3, data=_data(command=2, event=20, value=index))
        communication._log_data(timestamp=12 + index * 3, data=_kernel_state(command=2, event=52))


def _feathers(directory: Path) -> dict[str, Any]:
    import polars as pl

    found: dict[str, Any] = {}
    for path in sorted(directory.rglob("*.feather")):
        frame = pl.read_ipc(path)
        found[str(path.relative_to(directory))] = {"rows": frame.height, "columns": frame.columns}
    return found


def main() -> None:
    """Logs two controllers, assembles, processes, inspects and cleans; prints the record."""
    with tempfile.TemporaryDirectory(prefix="labcheck-aci-") as temporary:
        root = Path(temporary)
        rec = Recorder(root)
        logger = rec.step("DataLogger(instance_name='microcontroller')", lambda: DataLogger(root, "microcontroller"))
        rec.step("logger.start()", logger.start)
        log_dir = logger.output_directory
        rec.step(
            "SerialCommunication(test_mode) logs onset, commands, 150 received payloads",
            lambda: _log_controller(logger, 101),
        )
        context = multiprocessing.get_context("spawn")
        process = context.Process(target=_spawned_producer, args=(logger.input_queue, 102, 200))
        rec.step("spawned producer logs 200 messages", lambda: (process.start(), process.join(60), process.exitcode)[2])
        # The spawned producer logged no onset stamp: log one as SerialCommunication would.
        rec.step("onset for 102", lambda: _log_controller(logger, 102))
        rec.note("log folder while logger runs", listing(log_dir))
        rec.step("logger.stop()", logger.stop)
        rec.note("log folder after stop", listing(log_dir))
        for controller_id in (101, 102):
            rec.step(
                f"write_microcontroller_manifest({controller_id})",
                lambda controller_id=controller_id: write_microcontroller_manifest(
                    log_directory=log_dir,
                    controller_id=controller_id,
                    controller_name=f"controller_{controller_id}",
                    modules=(ModuleSourceData(module_type=MODULE_TYPE, module_id=MODULE_ID, name="module"),),
                ),
            )
        rec.step(
            "assemble_log_archives(remove_sources=True, verify_integrity=True)",
            lambda: assemble_log_archives(
                log_directory=log_dir, remove_sources=True, verify_integrity=True, verbose=False
            ),
        )
        rec.note("log folder after assembly", listing(log_dir))
        config = rec.step(
            "create_extraction_config(manifest)",
            lambda: create_extraction_config(manifest_path=log_dir / "microcontroller_manifest.yaml"),
        )
        config_path = root / "extraction_config.yaml"

        def fill_and_write() -> str:
            from ataraxis_communication_interface import (
                ControllerExtractionConfig,
                KernelExtractionConfig,
                ModuleExtractionConfig,
            )

            filled = ExtractionConfig(
                controllers=[
                    ControllerExtractionConfig(
                        controller_id=controller.controller_id,
                        modules=(
                            ModuleExtractionConfig(module_type=MODULE_TYPE, module_id=MODULE_ID, event_codes=(10, 20)),
                        ),
                        kernel=KernelExtractionConfig(event_codes=(52,)),
                    )
                    for controller in config.controllers
                ]
            )
            filled.to_yaml(file_path=config_path)
            return config_path.read_text()

        rec.step("ExtractionConfig.to_yaml (text)", fill_and_write)
        rec.step(
            "ExtractionConfig.from_yaml types",
            lambda: [
                (
                    type(c).__name__,
                    type(c.modules).__name__,
                    type(c.modules[0].event_codes).__name__,
                    type(c.kernel).__name__,
                )
                for c in ExtractionConfig.from_yaml(file_path=config_path).controllers
            ],
        )
        output = root / "processed"
        for attempt in ("first", "second (idempotent)"):
            rec.step(
                f"run_log_processing_pipeline {attempt}",
                lambda: run_log_processing_pipeline(
                    log_directory=log_dir,
                    output_directory=output,
                    config=config_path,
                    workers=1,
                    display_progress=False,
                ),
            )
        rec.step("feather outputs", lambda: _feathers(output))
        for tracker_file in sorted(output.rglob("*tracker*.yaml")):
            rec.step(
                "tracker snapshot",
                lambda tracker_file=tracker_file: sorted(
                    (str(job.job_name), str(job.specifier), str(job.status.name), type(job.job_name).__name__)
                    for job in ProcessingTracker(file_path=tracker_file).snapshot().values()
                ),
            )
        rec.step("mcp: verify_processing_output_tool", lambda: output_tools.verify_processing_output_tool(str(output)))
        rec.step(
            "mcp: get_batch_status_overview_tool", lambda: processing_tools.get_batch_status_overview_tool(str(root))
        )
        rec.step(
            "mcp: clean_log_processing_output_tool",
            lambda: output_tools.clean_log_processing_output_tool([str(output)]),
        )
        rec.note("processed after clean", sorted(str(p.relative_to(root)) for p in output.rglob("*")))
        failing_job(rec, root, config_path)
        parallel_extraction(rec, root)
        path_instance_name(rec, root)
        interface_without_device(rec, root)


def interface_without_device(rec: Recorder, root: Path) -> None:
    """MicroControllerInterface on a port that does not exist: construction writes the manifest, start() fails."""
    from ataraxis_communication_interface import MicroControllerInterface, ModuleInterface

    class Module(ModuleInterface):
        def initialize_remote_assets(self) -> None:
            pass

        def terminate_remote_assets(self) -> None:
            pass

        def process_received_data(self, message: Any) -> None:
            pass

    logger = DataLogger(output_directory=root / "mci", instance_name="mci")
    logger.start()
    module = Module(module_type=np.uint8(MODULE_TYPE), module_id=np.uint8(MODULE_ID), name="module")
    interface = rec.step(
        "mci: MicroControllerInterface(port=<missing device>)",
        lambda: MicroControllerInterface(
            controller_id=np.uint8(105),
            data_logger=logger,
            module_interfaces=(module,),
            buffer_size=300,
            port="/dev/ttyLABCHECK_MISSING",
            name="controller",
        ),
    )
    if interface is not None:
        rec.step("mci: start()", interface.start)
        rec.step("mci: stop()", interface.stop)
    rec.step("mci: logger.stop()", logger.stop)
    rec.note("mci: log folder", listing(logger.output_directory))


def parallel_extraction(rec: Recorder, root: Path) -> None:
    """An archive over PARALLEL_PROCESSING_THRESHOLD messages, read by the package's process pool (2 workers)."""
    from ataraxis_communication_interface.microcontroller.log_processing import extract_logged_microcontroller_data

    from ataraxis_data_structures import PARALLEL_PROCESSING_THRESHOLD, read_archive_message_count

    log_root = root / "parallel"
    log_root.mkdir()
    logger = DataLogger(output_directory=log_root, instance_name="parallel")
    logger.start()
    communication = SerialCommunication(
        controller_id=np.uint8(103),
        microcontroller_serial_buffer_size=300,
        port="TEST",
        logger_queue=logger.input_queue,
        test_mode=True,
    )
    count = PARALLEL_PROCESSING_THRESHOLD + 1000
    for index in range(count):
        communication._log_data(timestamp=10 + index, data=_data(command=2, event=20, value=index % 256))
    logger.stop()
    rec.step(
        "parallel: assemble_log_archives",
        lambda: assemble_log_archives(log_directory=logger.output_directory, remove_sources=True, verbose=False),
    )
    archive = logger.output_directory / "103_log.npz"
    rec.step("parallel: read_archive_message_count", lambda: read_archive_message_count(archive_path=archive))

    def run(workers: int) -> dict[str, Any]:
        data = extract_logged_microcontroller_data(
            log_path=archive,
            module_filters={(MODULE_TYPE, MODULE_ID): frozenset({20})},
            kernel_event_codes=None,
            workers=workers,
            display_progress=False,
        )
        stamps = np.concatenate([module.messages.timestamps for module in data.modules]).astype(np.int64)
        return {
            "count": int(stamps.size),
            "sorted": bool(np.all(np.diff(stamps) >= 0)),
            "span": int(stamps[-1] - stamps[0]),
        }

    rec.step("parallel: extract workers=1", lambda: run(1))
    rec.step("parallel: extract workers=2 (process pool)", lambda: run(2))


def path_instance_name(rec: Recorder, root: Path) -> None:
    """The package's test fixture: DataLogger(output_directory=tmp, instance_name=f"{tmp}_logger")."""
    temporary = root / "fixture"
    temporary.mkdir()
    logger = rec.step(
        "fixture: DataLogger(instance_name=f'{tmp}_logger')",
        lambda: DataLogger(output_directory=temporary, instance_name=f"{temporary}_logger"),
    )
    if logger is None:
        return
    rec.note("fixture: output_directory", str(logger.output_directory))
    # The fixture only hands logger.input_queue to SerialCommunication; it never starts the logger (7.2.0's start()
    # raises OSError there: its shared-memory name holds the path's slashes).
    rec.step("fixture: SerialCommunication on the unstarted logger's input_queue", lambda: _log_controller(logger, 104))
    rec.step("fixture: start, stop", lambda: (logger.start(), logger.stop())[1])
    rec.step(
        "fixture: assemble",
        lambda: assemble_log_archives(log_directory=logger.output_directory, remove_sources=True, verbose=False),
    )
    rec.note("fixture: folder", listing(logger.output_directory))


def failing_job(rec: Recorder, root: Path, config_path: Path) -> None:
    """A job whose archive is not a readable archive: the pipeline raises, the tracker records FAILED, reset works."""
    log_dir = root / "broken_log"
    log_dir.mkdir()
    for controller_id in (101, 102):
        write_microcontroller_manifest(
            log_directory=log_dir,
            controller_id=controller_id,
            controller_name=f"controller_{controller_id}",
            modules=(ModuleSourceData(module_type=MODULE_TYPE, module_id=MODULE_ID, name="module"),),
        )
        (log_dir / f"{controller_id}_log.npz").write_bytes(b"not an archive\n" * 10)
    output = root / "broken_processed"
    rec.step(
        "broken: run_log_processing_pipeline",
        lambda: run_log_processing_pipeline(
            log_directory=log_dir, output_directory=output, config=config_path, workers=1, display_progress=False
        ),
    )
    trackers = sorted(output.rglob("*tracker*.yaml"))
    rec.note("broken: tracker files", [str(path.relative_to(root)) for path in trackers])
    for tracker_file in trackers:
        rec.step(
            "broken: tracker snapshot",
            lambda tracker_file=tracker_file: sorted(
                (str(job.specifier), str(job.status.name), (job.error_message or "")[:200])
                for job in ProcessingTracker(file_path=tracker_file).snapshot().values()
            ),
        )
        rec.step(
            "broken: reset_log_processing_jobs_tool",
            lambda tracker_file=tracker_file: processing_tools.reset_log_processing_jobs_tool(str(tracker_file)),
        )
        rec.step(
            "broken: statuses after reset",
            lambda tracker_file=tracker_file: sorted(
                (str(job.specifier), str(job.status.name))
                for job in ProcessingTracker(file_path=tracker_file).snapshot().values()
            ),
        )


if __name__ == "__main__":
    main()
