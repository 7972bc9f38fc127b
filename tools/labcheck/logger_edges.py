"""Drives DataLogger calls the lab's code and users make around the main flow.

The AVS CLI hands DataLogger an output folder that may not exist yet (click ``exists=False``); users pass ``str``
paths; sessions call ``start()``/``stop()`` more than once (the MCP tools and ``finally`` blocks); a VideoSystem logs
empty payloads (its frame stamps carry no data). Prints one JSON line per step.

Run: ``PY tools/labcheck/logger_edges.py``.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

import numpy as np

from _harness import Recorder, listing
from ataraxis_data_structures import DataLogger, LogArchiveReader, LogPackage, assemble_log_archives


def _log(logger: DataLogger, source_id: int, payloads: list[np.ndarray]) -> None:
    onset = np.frombuffer(np.uint64(1_700_000_000_000_000).tobytes(), dtype=np.uint8).copy()
    logger.input_queue.put(
        LogPackage(source_id=np.uint8(source_id), acquisition_time=np.uint64(0), serialized_data=onset)
    )
    for index, payload in enumerate(payloads, start=1):
        logger.input_queue.put(
            LogPackage(source_id=np.uint8(source_id), acquisition_time=np.uint64(index), serialized_data=payload)
        )


def _read(archive: Path) -> list[tuple[int, list[int]]]:
    reader = LogArchiveReader(archive_path=archive)
    return [
        (int(message.timestamp_us - reader.onset_timestamp_us), message.payload.tolist())
        for message in reader.iter_messages()
    ]


def same_name(rec: Recorder, root: Path) -> None:
    """Two sessions of one lab tool at once (fixed instance names such as 'axvs_live_run'), in different folders."""
    first = DataLogger(root / "rig1", "axvs_live_run")
    second = DataLogger(root / "rig2", "axvs_live_run")
    first.start()
    rec.step("same name: second.start() while the first runs", second.start)
    rec.step(
        "same name: log to both",
        lambda: (_log(first, 1, [np.ones(3, np.uint8)]), _log(second, 2, [np.ones(3, np.uint8)])),
    )
    rec.step("same name: first.stop()", first.stop)
    rec.step("same name: second.stop()", second.stop)
    for logger in (first, second):
        rec.step(
            f"same name: assemble {logger.output_directory.parent.name}",
            lambda logger=logger: assemble_log_archives(log_directory=logger.output_directory, verbose=False),
        )
        rec.note(
            f"same name: {logger.output_directory.parent.name} archives",
            sorted(p.name for p in logger.output_directory.glob("*.npz")),
        )


def main() -> None:
    """Runs each edge and prints the record."""
    with tempfile.TemporaryDirectory(prefix="labcheck-edges-") as temporary:
        root = Path(temporary)
        rec = Recorder(root)
        nested = root / "not" / "yet"
        logger = rec.step("DataLogger(output_directory=<missing nested folder>)", lambda: DataLogger(nested, "cli"))
        rec.note("nested folder exists after construction", nested.exists())
        if logger is not None:
            rec.step("stop() before start()", logger.stop)
            rec.step("start()", logger.start)
            rec.step("start() again", logger.start)
            payloads = [np.array([], dtype=np.uint8), np.array([1, 2, 3], dtype=np.uint8), np.zeros(0, dtype=np.uint8)]
            rec.step("log onset + empty and 3-byte payloads", lambda: _log(logger, 7, payloads))
            rec.step("stop()", logger.stop)
            rec.step("stop() again", logger.stop)
            rec.step("started after stop", lambda: logger.started)
            rec.step(
                "assemble",
                lambda: assemble_log_archives(
                    log_directory=logger.output_directory, remove_sources=True, verbose=False
                ),
            )
            rec.note("folder after assembly", listing(logger.output_directory))
            rec.step("read messages back", lambda: _read(logger.output_directory / "7_log.npz"))
            rec.step(
                "restart the same logger after assembly",
                lambda: (logger.start(), _log(logger, 7, payloads[1:2]), logger.stop()),
            )
            rec.note("folder after second session", listing(logger.output_directory))
            rec.step(
                "assemble the second session next to the first archive",
                lambda: assemble_log_archives(
                    log_directory=logger.output_directory, remove_sources=True, verbose=False
                ),
            )
            rec.note("folder after second assembly", listing(logger.output_directory))
            rec.step("read messages back after second assembly", lambda: _read(logger.output_directory / "7_log.npz"))
        text = rec.step("DataLogger(output_directory=str)", lambda: DataLogger(str(root / "as_text"), "text"))
        if text is not None:
            rec.step("str: output_directory type", lambda: type(text.output_directory).__name__)
            rec.step("str: start/log/stop", lambda: (text.start(), _log(text, 9, []), text.stop()))
        if os.environ.get("LABCHECK_SAME_NAME") == "1":  # 7.2.0's first.stop() hangs there: opt-in only.
            same_name(rec, root)
        rec.step("DataLogger(instance_name='with space é')", lambda: DataLogger(root, "with space é"))
        rec.step("DataLogger(instance_name='')", lambda: DataLogger(root, ""))


if __name__ == "__main__":
    main()
