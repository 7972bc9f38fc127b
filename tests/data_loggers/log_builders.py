"""Builders of live logs, message lists and reference-style folders shared by the data-logger tests."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from ataraxis_data_structures.data_loggers import log_format

ONSET_US = 1_700_000_000_000_000

Message = tuple[int, bytes]
"""An elapsed timestamp and a payload."""


def onset_message() -> Message:
    return 0, np.uint64(ONSET_US).tobytes()


def sample_messages(count: int, seed: int = 0, duplicates: bool = True) -> list[Message]:
    """Returns an onset message then `count` messages with increasing (sometimes repeated) timestamps."""
    rng = np.random.default_rng(seed)
    messages = [onset_message()]
    timestamp = 0
    for number in range(count):
        if not (duplicates and number % 7 == 3):
            timestamp += int(rng.integers(1, 1000))
        messages.append((timestamp, rng.integers(0, 256, int(rng.integers(0, 40)), dtype=np.uint8).tobytes()))
    return messages


def write_live_log(directory: Path, source_id: int, messages: list[Message], segment: int = 0) -> Path:
    """Writes messages as one live log file, the way DataLogger does."""
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / log_format.log_file_name(source_id, segment)
    path.write_bytes(
        log_format.encode_file_header(source_id) + b"".join(log_format.encode_record(t, p) for t, p in messages)
    )
    return path


def message_bytes(source_id: int, timestamp: int, payload: bytes) -> np.ndarray:
    return np.frombuffer(bytes([source_id]) + np.uint64(timestamp).tobytes() + payload, dtype=np.uint8)


def write_npy_directory(directory: Path, source_id: int, messages: list[Message]) -> list[Path]:
    """Writes messages as reference-style per-message .npy files (the last of equal timestamps wins, as there)."""
    directory.mkdir(parents=True, exist_ok=True)
    paths = []
    for timestamp, payload in messages:
        path = directory / f"{source_id:03d}_{timestamp:020d}.npy"
        np.save(path, message_bytes(source_id, timestamp, payload), allow_pickle=False)
        paths.append(path)
    return paths


def expected_sequence(messages: list[Message]) -> list[Message]:
    """Returns the data messages (onset excluded) in archive order: by timestamp, then arrival."""
    ordered = sorted(enumerate(messages), key=lambda item: (item[1][0], item[0]))
    return [message for _, message in ordered][1:]


def read_with_numpy(archive: Path) -> list[tuple[str, bytes]]:
    """Returns (key, message bytes) of every member, read member by member with numpy.load."""
    with np.load(archive) as data:
        return [(key, data[key].tobytes()) for key in data.files]
