"""DataLogger -> assemble_log_archives -> LogArchiveReader with real producer processes and a real crash."""

from __future__ import annotations

import multiprocessing
import os
import signal
import subprocess
import sys
import time
import warnings
from pathlib import Path
from typing import Any

import numpy as np
from test_archive_helpers import ONSET_US

from ataraxis_data_structures.data_loggers import DataLogger, LogArchiveReader, LogPackage, assemble_log_archives


def payload_for(source_id: int, timestamp: int) -> np.ndarray:
    return np.full(timestamp % 50, (source_id + timestamp) % 256, dtype=np.uint8)


def produce(queue: Any, source_id: int, count: int) -> None:
    onset = np.frombuffer(np.uint64(ONSET_US).tobytes(), dtype=np.uint8)
    queue.put(LogPackage(np.uint8(source_id), np.uint64(0), onset))
    for timestamp in range(1, count + 1):
        queue.put(LogPackage(np.uint8(source_id), np.uint64(timestamp), payload_for(source_id, timestamp)))


def test_spawned_producers_log_then_assemble_and_read_back(tmp_path: Path) -> None:
    logger = DataLogger(tmp_path, "session")
    logger.start()
    context = multiprocessing.get_context("spawn")
    producers = [context.Process(target=produce, args=(logger.input_queue, source, 3000)) for source in (1, 2, 3)]
    for process in producers:
        process.start()
    for process in producers:
        process.join(timeout=120)
        assert process.exitcode == 0
    logger.stop()
    directory = tmp_path / "session_data_log"
    assemble_log_archives(directory, verify_integrity=True)
    assert sorted(path.name for path in directory.iterdir()) == ["1_log.npz", "2_log.npz", "3_log.npz"]
    for source in (1, 2, 3):
        reader = LogArchiveReader(directory / f"{source}_log.npz")
        assert reader.onset_timestamp_us == ONSET_US
        assert reader.message_count == 3000
        timestamps, payloads = reader.read_all_messages()
        assert (timestamps - ONSET_US).tolist() == list(range(1, 3001))
        assert all(np.array_equal(p, payload_for(source, t)) for t, p in zip(range(1, 3001), payloads, strict=True))


CRASHING_RECORDER = """
import sys
import numpy as np
from pathlib import Path
from ataraxis_data_structures.data_loggers import DataLogger, LogPackage
if __name__ == "__main__":
    logger = DataLogger(Path(sys.argv[1]), "crash")
    logger.start()
    queue = logger.input_queue
    queue.put(LogPackage(np.uint8(5), np.uint64(0), np.frombuffer(np.uint64(ONSET).tobytes(), dtype=np.uint8)))
    timestamp = 0
    while True:  # until killed
        timestamp += 1
        payload = np.full(timestamp % 50, (5 + timestamp) % 256, np.uint8)
        queue.put(LogPackage(np.uint8(5), np.uint64(timestamp), payload))
""".replace("ONSET", str(ONSET_US))


def test_recording_killed_mid_run_assembles_every_whole_record(tmp_path: Path) -> None:
    process = subprocess.Popen([sys.executable, "-c", CRASHING_RECORDER, str(tmp_path)], start_new_session=True)
    log = tmp_path / "crash_data_log" / "005-0000.axlog"
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and (not log.exists() or log.stat().st_size < 200_000):
        time.sleep(0.01)
    os.killpg(process.pid, signal.SIGKILL)  # the recorder, its logger process and any helper die at once
    process.wait()
    assert log.exists()
    deadline = time.monotonic() + 30
    while True:  # the killed logger process releases its directory lock when the kernel has finished it off
        try:
            with warnings.catch_warnings():
                warnings.simplefilter(
                    "ignore"
                )  # a torn tail may or may not be left, depending on where the kill landed
                assemble_log_archives(tmp_path / "crash_data_log", verify_integrity=True)
            break
        except RuntimeError as error:
            assert "DataLogger is still writing" in str(error)
            assert time.monotonic() < deadline, "the killed logger's lock was never released"
            time.sleep(0.05)
    reader = LogArchiveReader(tmp_path / "crash_data_log" / "5_log.npz")
    timestamps, payloads = reader.read_all_messages()
    elapsed = (timestamps - ONSET_US).tolist()
    assert len(elapsed) > 1000
    assert elapsed == list(range(1, len(elapsed) + 1))  # a gap-free prefix: nothing whole was dropped or repeated
    assert all(np.array_equal(p, payload_for(5, t)) for t, p in zip(elapsed, payloads, strict=True))
