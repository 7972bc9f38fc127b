"""DataLogger -> assemble_log_archives -> LogArchiveReader with real producer processes and a real crash."""

from __future__ import annotations

import json
import multiprocessing
import os
import signal
import subprocess
import sys
import time
import uuid
import warnings
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from log_builders import ONSET_US

from ataraxis_data_structures.data_loggers import (
    DataLogger,
    LogArchiveReader,
    LogPackage,
    LogSession,
    assemble_log_archives,
    read_archive_sessions,
)
from reference_release import REFERENCE7_PYTHON, REFERENCE_PYTHON, needs_reference, needs_reference_7, run_python


def payload_for(source_id: int, timestamp: int) -> np.ndarray:
    return np.full(timestamp % 50, (source_id + timestamp) % 256, dtype=np.uint8)


def produce(queue: Any, source_id: int, count: int) -> None:
    onset = np.frombuffer(np.uint64(ONSET_US).tobytes(), dtype=np.uint8)
    queue.put(LogPackage(np.uint8(source_id), np.uint64(0), onset))
    for timestamp in range(1, count + 1):
        queue.put(LogPackage(np.uint8(source_id), np.uint64(timestamp), payload_for(source_id, timestamp)))


def test_spawned_producers_log_then_assemble_and_read_back(tmp_path: Path) -> None:
    name = f"session_{uuid.uuid4().hex[:8]}"  # logger names are unique machine-wide: two test runs must not collide
    logger = DataLogger(tmp_path, name)
    logger.start()
    context = multiprocessing.get_context("spawn")
    producers = [context.Process(target=produce, args=(logger.input_queue, source, 3000)) for source in (1, 2, 3)]
    for process in producers:
        process.start()
    for process in producers:
        process.join(timeout=120)
        assert process.exitcode == 0
    logger.stop()
    directory = tmp_path / f"{name}_data_log"
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
    print(logger._board.name if logger._board is not None else "", flush=True)  # the TCP transport's put board
    queue = logger.input_queue
    queue.put(LogPackage(np.uint8(5), np.uint64(0), np.frombuffer(np.uint64(ONSET).tobytes(), dtype=np.uint8)))
    timestamp = 0
    while True:  # until killed
        timestamp += 1
        payload = np.full(timestamp % 50, (5 + timestamp) % 256, np.uint8)
        queue.put(LogPackage(np.uint8(5), np.uint64(timestamp), payload))
""".replace("ONSET", str(ONSET_US))


def test_recording_killed_mid_run_assembles_every_whole_record(tmp_path: Path) -> None:
    process = subprocess.Popen(
        [sys.executable, "-c", CRASHING_RECORDER, str(tmp_path)],
        start_new_session=True,
        stdout=subprocess.PIPE,
        text=True,
    )
    assert process.stdout is not None
    board = process.stdout.readline().strip()
    log = tmp_path / "crash_data_log" / "005-0000.axlog.npy"
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and (not log.exists() or log.stat().st_size < 200_000):
        time.sleep(0.01)
    os.killpg(process.pid, signal.SIGKILL)  # the recorder, its logger process and any helper die at once
    process.wait()
    if board:  # its resource tracker died too: nobody is left to remove the put board (see put_board)
        Path("/dev/shm", board).unlink(missing_ok=True)
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


READ_ALL = """
import json, sys
from pathlib import Path
from ataraxis_data_structures.data_loggers import LogArchiveReader
reader = LogArchiveReader(Path(sys.argv[1]))
timestamps, payloads = reader.read_all_messages()
print(json.dumps([int(reader.onset_timestamp_us), [int(t) for t in timestamps], [p.tobytes().hex() for p in payloads]]))
"""


RESTART_NAME = f"restart{os.getpid()}"  # instance names are unique per user: other test runs may share the machine


def record_two_sessions(directory: Path) -> tuple[list[int], dict[int, list[tuple[int, bytes]]]]:
    """Runs one DataLogger twice (start, stop, start again) in one directory; returns onsets and absolute times."""
    logger = DataLogger(directory, RESTART_NAME)
    onsets: list[int] = []
    expected: dict[int, list[tuple[int, bytes]]] = {1: [], 2: []}
    for session in range(2):
        logger.start()
        onset = time.time_ns() // 1000
        while onsets and onset <= onsets[-1]:  # a new session starts after the earlier one began
            onset = time.time_ns() // 1000
        onsets.append(onset)
        for source in (1, 2):
            package = LogPackage(np.uint8(source), np.uint64(0), np.frombuffer(np.uint64(onset).tobytes(), np.uint8))
            logger.input_queue.put(package)
        for number in range(400):
            for source in (1, 2):
                now = time.time_ns() // 1000
                payload = bytes([session, source, number % 256])
                elapsed = np.uint64(now - onset)
                logger.input_queue.put(LogPackage(np.uint8(source), elapsed, np.frombuffer(payload, np.uint8)))
                expected[source].append((now, payload))
        logger.stop()
    return onsets, expected


def test_a_restarted_logger_records_a_new_session_with_exact_absolute_times(tmp_path: Path) -> None:
    onsets, expected = record_two_sessions(tmp_path)
    directory = tmp_path / f"{RESTART_NAME}_data_log"
    assert sorted(p.name for p in directory.glob("*.axlog.npy")) == [
        "001-0000.axlog.npy", "001-0001.axlog.npy", "002-0000.axlog.npy", "002-0001.axlog.npy"
    ]  # fmt: skip
    assemble_log_archives(directory, verify_integrity=True)
    for source in (1, 2):
        archive = directory / f"{source}_log.npz"
        reader = LogArchiveReader(archive)
        assert int(reader.onset_timestamp_us) == onsets[0]
        assert reader.message_count == 800  # the second onset is not a data message
        timestamps, payloads = reader.read_all_messages()
        got = [(int(t), p.tobytes()) for t, p in zip(timestamps, payloads, strict=True)]
        assert got == sorted(expected[source], key=lambda item: item[0])  # stable: equal times keep arrival order
        assert read_archive_sessions(archive) == [
            LogSession(onsets[0], 0),
            LogSession(onsets[1], onsets[1] - onsets[0]),
        ]


@pytest.mark.slow
@pytest.mark.parametrize(
    "interpreter",
    [
        pytest.param(REFERENCE_PYTHON, marks=needs_reference, id="6.2.0"),
        pytest.param(REFERENCE7_PYTHON, marks=needs_reference_7, id="7.2.0"),
    ],
)
def test_both_original_releases_read_a_two_session_archive_with_exact_times(tmp_path: Path, interpreter: Path) -> None:
    onsets, expected = record_two_sessions(tmp_path)
    directory = tmp_path / f"{RESTART_NAME}_data_log"
    assemble_log_archives(directory)
    for source in (1, 2):
        result = run_python(interpreter, "-c", READ_ALL, directory / f"{source}_log.npz", timeout=120, cwd=tmp_path)
        onset, timestamps, payloads = json.loads(result.stdout)
        assert onset == onsets[0]
        ordered = sorted(expected[source], key=lambda item: item[0])
        assert timestamps == [t for t, _ in ordered]
        assert payloads == [p.hex() for _, p in ordered]
