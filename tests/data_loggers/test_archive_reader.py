"""LogArchiveReader: onset discovery, keys, batches, messages; interchange with the reference release both ways."""

from __future__ import annotations

import io
import json
import os
import uuid
import zipfile
from pathlib import Path
from typing import Any, cast

import numpy as np
import pytest
from log_builders import ONSET_US, expected_sequence, message_bytes, sample_messages, write_live_log

from ataraxis_data_structures.data_loggers import LogArchiveReader, LogMessage, assemble_log_archives
from ataraxis_data_structures.errors import ArchiveFormatError
from reference_release import EACH_RELEASE, RELEASES, run_reference


def assembled(tmp_path: Path, count: int, source_id: int = 3, seed: int = 0) -> tuple[Path, list[tuple[int, bytes]]]:
    messages = sample_messages(count, seed=seed)
    write_live_log(tmp_path / "log", source_id, messages)
    assemble_log_archives(tmp_path / "log")
    return tmp_path / "log" / f"{source_id}_log.npz", messages


def test_reads_every_message_with_absolute_timestamps(tmp_path: Path) -> None:
    archive, messages = assembled(tmp_path, 500)
    reader = LogArchiveReader(archive)
    expected = expected_sequence(messages)
    assert reader.onset_timestamp_us == np.uint64(ONSET_US)
    assert isinstance(reader.onset_timestamp_us, np.uint64)
    assert reader.message_count == len(expected)
    timestamps, payloads = reader.read_all_messages()
    assert timestamps.dtype == np.uint64
    assert timestamps.tolist() == [ONSET_US + t for t, _ in expected]
    assert [p.tobytes() for p in payloads] == [p for _, p in expected]
    assert all(p.dtype == np.uint8 and p.ndim == 1 for p in payloads)
    iterated = list(reader.iter_messages())
    assert all(isinstance(m, LogMessage) and isinstance(m.timestamp_us, np.uint64) for m in iterated)
    assert [(int(m.timestamp_us), m.payload.tobytes()) for m in iterated] == [(ONSET_US + t, p) for t, p in expected]


def test_keys_select_messages_with_or_without_npy_suffix(tmp_path: Path) -> None:
    archive, messages = assembled(tmp_path, 50)
    reader = LogArchiveReader(archive)
    keys = reader.get_batches()[0]
    assert keys[0] == f"003_{expected_sequence(messages)[0][0]:020d}"
    picked = [keys[5], keys[2] + ".npy"]
    got = [m.payload.tobytes() for m in reader.iter_messages(picked)]
    expected = expected_sequence(messages)
    assert got == [expected[5][1], expected[2][1]]
    assert list(reader.iter_messages([])) == []
    with pytest.raises(KeyError, match="nope"):
        list(reader.iter_messages(["nope"]))


def test_worker_reader_with_onset_us_reads_a_batch(tmp_path: Path) -> None:
    archive, messages = assembled(tmp_path, 3000)
    main = LogArchiveReader(archive)
    batches = main.get_batches(workers=2, batch_multiplier=2)
    worker = LogArchiveReader(archive, onset_us=main.onset_timestamp_us)
    collected = [int(m.timestamp_us) - ONSET_US for batch in batches for m in worker.iter_messages(batch)]
    assert collected == [t for t, _ in expected_sequence(messages)]


def test_keys_resolve_the_same_way_in_a_run_shuffled_or_mixed(tmp_path: Path) -> None:
    """A batch (a run of members, checked in one comparison) and any other key list read the same messages."""
    archive, messages = assembled(tmp_path, 9000)
    expected = dict(zip(LogArchiveReader(archive).message_keys, expected_sequence(messages), strict=True))
    reader = LogArchiveReader(archive, onset_us=ONSET_US)
    keys = reader.message_keys
    rng = np.random.default_rng(4)
    shuffled = [keys[index] for index in rng.permutation(len(keys))[:3000]]
    selections = [keys[4000:8500], keys[::-1][:100], shuffled, keys[10:20] + keys[30:40], [keys[-1]], keys[5:6] * 3]
    for selection in selections:
        got = [(int(m.timestamp_us) - ONSET_US, m.payload.tobytes()) for m in reader.iter_messages(selection)]
        assert got == [expected[key] for key in selection]


def test_keys_that_only_line_up_with_member_names_when_joined_are_refused(tmp_path: Path) -> None:
    """Keys of uneven lengths whose concatenation spells consecutive member names are not members: KeyError."""
    archive, _ = assembled(tmp_path, 3000)
    reader = LogArchiveReader(archive)
    first, second = reader.message_keys[100:102]
    for keys in ([first[:-1], first[-1] + second], [first + "x"], ["é" * len(first)], [first[:-2] + "ZZ"]):
        with pytest.raises(KeyError):
            list(reader.iter_messages(keys))


@pytest.mark.parametrize(("count", "workers", "multiplier"), [(1999, 2, 4), (2000, 1, 4), (2001, 2, 3), (5003, 99, 4)])
def test_get_batches_matches_reference_rules(tmp_path: Path, count: int, workers: int, multiplier: int) -> None:
    archive, _ = assembled(tmp_path, count)
    reader = LogArchiveReader(archive)
    batches = reader.get_batches(workers, multiplier)
    if count < 2000:
        assert batches == [reader.message_keys]
        return
    assert [key for batch in batches for key in batch] == reader.message_keys
    cores = os.cpu_count() or 1
    size = -(-count // (min(workers, cores) * multiplier))
    assert [len(batch) for batch in batches] == [min(size, count - start) for start in range(0, count, size)]
    assert reader.get_batches() == reader.get_batches(max(1, cores - 2), 4) == reader.get_batches(0)
    with pytest.raises(ValueError, match="batch_multiplier"):
        reader.get_batches(2, 0)


def test_archive_with_only_an_onset_has_no_messages_and_no_batches(tmp_path: Path) -> None:
    write_live_log(tmp_path / "log", 1, [(0, np.uint64(ONSET_US).tobytes())])
    assemble_log_archives(tmp_path / "log")
    reader = LogArchiveReader(tmp_path / "log" / "1_log.npz")
    assert reader.message_count == 0
    assert reader.get_batches() == []
    timestamps, payloads = reader.read_all_messages()
    assert len(timestamps) == 0 and payloads == []


def test_errors_name_the_file_and_the_problem(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError, match="missing"):
        LogArchiveReader(tmp_path / "missing_log.npz")
    with pytest.raises(IsADirectoryError, match=r"is a directory, not a \.npz archive"):
        LogArchiveReader(tmp_path)
    (tmp_path / "bad.npz").write_bytes(b"not a zip at all")
    with pytest.raises(ValueError, match="not a ZIP"):
        _ = LogArchiveReader(tmp_path / "bad.npz").message_count
    np.savez(
        tmp_path / "no_onset.npz", **cast("dict[str, Any]", {"001_00000000000000000005": message_bytes(1, 5, b"x")})
    )
    with pytest.raises(ValueError, match="onset"):
        _ = LogArchiveReader(tmp_path / "no_onset.npz").onset_timestamp_us
    archive, _ = assembled(tmp_path, 100)
    data = archive.read_bytes()
    archive.write_bytes(data[: len(data) // 2])
    with pytest.raises(ValueError, match=r"truncated .*member '003_"):
        LogArchiveReader(archive).read_all_messages()


def test_reads_archives_numpy_wrote_in_member_order(tmp_path: Path) -> None:
    arrays = {
        "001_00000000000000000000": message_bytes(1, 0, np.uint64(ONSET_US).tobytes()),
        "001_00000000000000000500": message_bytes(1, 20, b"b"),
        "001_00000000000000000100": message_bytes(1, 10, b"a"),
    }
    np.savez(tmp_path / "1_log.npz", **cast("dict[str, Any]", arrays))
    reader = LogArchiveReader(tmp_path / "1_log.npz")
    timestamps, _ = reader.read_all_messages()
    assert timestamps.tolist() == [ONSET_US + 20, ONSET_US + 10]  # archive order and stored timestamps, as reference
    assert reader.get_batches() == [["001_00000000000000000500", "001_00000000000000000100"]]


READ_WITH_REFERENCE = """
import sys, json
from pathlib import Path
from ataraxis_data_structures.data_loggers import LogArchiveReader
r = LogArchiveReader(Path(sys.argv[1]))
ts, payloads = r.read_all_messages()
keys = [k for b in r.get_batches() for k in b]
it = [(int(m.timestamp_us), m.payload.tobytes().hex()) for m in r.iter_messages()]
print(json.dumps({"onset": int(r.onset_timestamp_us), "count": r.message_count, "ts": [int(t) for t in ts],
                  "payloads": [p.tobytes().hex() for p in payloads], "keys": keys, "iter": it}))
"""


@pytest.mark.reference
@pytest.mark.parametrize("release", EACH_RELEASE)
def test_reference_reader_reads_our_archive_with_duplicates(tmp_path: Path, release: str) -> None:
    archive, messages = assembled(tmp_path, 300)
    result = json.loads(run_reference(READ_WITH_REFERENCE, str(archive), python=RELEASES[release]).splitlines()[-1])
    expected = expected_sequence(messages)
    assert result["onset"] == ONSET_US
    assert result["count"] == len(expected)
    assert result["ts"] == [ONSET_US + t for t, _ in expected]
    assert result["payloads"] == [p.hex() for _, p in expected]
    assert result["iter"] == [[ONSET_US + t, p.hex()] for t, p in expected]
    assert result["keys"] == LogArchiveReader(archive).get_batches()[0]


WRITE_WITH_REFERENCE = (
    """
import sys
import numpy as np
from pathlib import Path
from ataraxis_data_structures import DataLogger, LogPackage, assemble_log_archives
if __name__ == "__main__":
    out, name = Path(sys.argv[1]), sys.argv[2]
    logger = DataLogger(out, name)
    logger.start()
    queue = logger.input_queue
    queue.put(LogPackage(np.uint8(4), np.uint64(0), np.frombuffer(np.uint64(ONSET).tobytes(), dtype=np.uint8)))
    for t in range(1, 301):
        queue.put(LogPackage(np.uint8(4), np.uint64(t * 10), np.full(t % 17, t % 256, dtype=np.uint8)))
    logger.stop()
    assemble_log_archives(out / f"{name}_data_log", remove_sources=False)
"""
).replace("ONSET", str(ONSET_US))


@pytest.mark.slow
@pytest.mark.reference
@pytest.mark.parametrize("release", EACH_RELEASE)
def test_our_reader_reads_a_reference_archive(tmp_path: Path, release: str) -> None:
    script = tmp_path / "write.py"
    script.write_text(WRITE_WITH_REFERENCE)
    # The releases name machine-wide resources after the instance: a name unique to the run (another checkout may
    # run this test at the same time).
    name = f"ref{uuid.uuid4().hex[:8]}"
    run_reference(
        f"import runpy, sys; sys.argv = ['w', {str(tmp_path)!r}, {name!r}]; "
        f"runpy.run_path({str(script)!r}, run_name='__main__')",
        python=RELEASES[release],
    )
    archive = tmp_path / f"{name}_data_log" / "4_log.npz"
    listing = sorted(path.name for path in tmp_path.rglob("*"))[:20]
    assert archive.exists(), f"the release wrote no archive (a loaded machine?); its output: {listing}"
    reader = LogArchiveReader(archive)
    assert reader.onset_timestamp_us == ONSET_US
    timestamps, payloads = reader.read_all_messages()
    assert timestamps.tolist() == [ONSET_US + t * 10 for t in range(1, 301)]
    assert [p.tobytes() for p in payloads] == [bytes([t % 256]) * (t % 17) for t in range(1, 301)]
    assert reader.get_batches()[0][0] == "004_00000000000000000010"


def test_reader_pickles_to_worker_processes(tmp_path: Path) -> None:
    import pickle

    archive, messages = assembled(tmp_path, 2500)
    reader = LogArchiveReader(archive)
    batches = reader.get_batches(workers=2)
    clone = pickle.loads(pickle.dumps(reader))
    assert clone.onset_timestamp_us == ONSET_US
    assert [m.payload.tobytes() for m in clone.iter_messages(batches[1])] == [
        p for _, p in expected_sequence(messages)[len(batches[0]) : len(batches[0]) + len(batches[1])]
    ]


def encoder_archive(tmp_path: Path, count: int, jitter: bool = False) -> tuple[Path, list[tuple[int, bytes]]]:
    """An archive of int32 encoder positions every 1 ms (payloads of one length unless jitter)."""
    messages = [(0, np.uint64(ONSET_US).tobytes())]
    for number in range(1, count + 1):
        payload = np.int32(number * 3 - 7).tobytes() + (b"x" * (number % 3) if jitter else b"")
        messages.append((number * 1000, payload))
    write_live_log(tmp_path / "log", 6, messages)
    assemble_log_archives(tmp_path / "log")
    return tmp_path / "log" / "6_log.npz", messages[1:]


def test_columns_of_one_payload_length_are_a_2d_view_matching_iteration(tmp_path: Path) -> None:
    archive, messages = encoder_archive(tmp_path, 70_000)  # more than one chunk of members
    reader = LogArchiveReader(archive)
    columns = reader.read_columns()
    assert columns.timestamps_us.dtype == np.uint64
    assert columns.timestamps_us.tolist() == [ONSET_US + t for t, _ in messages]
    assert columns.payloads is not None and columns.buffer is None and columns.offsets is None
    assert columns.payloads.shape == (70_000, 4) and columns.payloads.dtype == np.uint8
    assert not columns.payloads.flags.writeable  # a view of the archive, not a copy
    assert columns.payloads.tobytes() == b"".join(p for _, p in messages)
    assert columns.payload(5).tobytes() == messages[5][1]
    positions = np.ascontiguousarray(columns.payloads).view(np.int32).ravel()
    assert positions.tolist() == [n * 3 - 7 for n in range(1, 70_001)]


def test_columns_of_varied_payloads_are_a_buffer_with_offsets(tmp_path: Path) -> None:
    archive, messages = encoder_archive(tmp_path, 500, jitter=True)
    columns = LogArchiveReader(archive).read_columns()
    assert columns.payloads is None and columns.buffer is not None and columns.offsets is not None
    assert len(columns.offsets) == 501 and int(columns.offsets[-1]) == len(columns.buffer)
    assert [columns.payload(i).tobytes() for i in range(500)] == [p for _, p in messages]


@pytest.mark.parametrize(("start", "end"), [(None, None), (2_500_000, None), (None, 7_000_500), (1, 2), (5_000, 5_001)])
def test_time_range_selects_the_same_messages_for_columns_and_iteration(
    tmp_path: Path, start: int | None, end: int | None
) -> None:
    archive, messages = encoder_archive(tmp_path, 9000)
    reader = LogArchiveReader(archive)
    start_us = None if start is None else ONSET_US + start
    end_us = None if end is None else ONSET_US + end
    wanted = [
        (ONSET_US + t, p)
        for t, p in messages
        if (start_us is None or ONSET_US + t >= start_us) and (end_us is None or ONSET_US + t < end_us)
    ]
    selected = reader.iter_messages(start_us=start_us, end_us=end_us)
    iterated = [(int(m.timestamp_us), m.payload.tobytes()) for m in selected]
    assert iterated == wanted
    columns = reader.read_columns(start_us, end_us)
    assert columns.timestamps_us.tolist() == [t for t, _ in wanted]
    assert reader.read_timestamps(start_us, end_us).tolist() == [t for t, _ in wanted]
    keys = reader.get_batches()[1]
    in_batch = [(int(m.timestamp_us), m.payload.tobytes()) for m in reader.iter_messages(keys, start_us=start_us)]
    expected_batch = [(int(m.timestamp_us), m.payload.tobytes()) for m in reader.iter_messages(keys)]
    assert in_batch == [item for item in expected_batch if start_us is None or item[0] >= start_us]


def test_columns_feed_interpolate_data(tmp_path: Path) -> None:
    from ataraxis_data_structures import interpolate_data

    archive, _ = encoder_archive(tmp_path, 4000)
    reader = LogArchiveReader(archive)
    # The encoder's positions during one second of the session, read as arrays, then sampled at camera frames.
    start_us, end_us = ONSET_US + 1_000_000, ONSET_US + 2_000_000
    columns = reader.read_columns(start_us, end_us)
    assert columns.payloads is not None
    positions = np.ascontiguousarray(columns.payloads).view("<i4").ravel()
    frames = np.arange(start_us + 500, end_us - 1000, 33_333, dtype=np.uint64)
    sampled = interpolate_data(columns.timestamps_us, positions, frames, is_discrete=False)
    expected = ((frames - ONSET_US).astype(np.float64) / 1000) * 3 - 7
    assert np.allclose(sampled, expected)


def test_a_reopened_archive_reflects_a_replaced_or_rewritten_file(tmp_path: Path) -> None:
    archive, messages = assembled(tmp_path / "a", 300)
    first = LogArchiveReader(archive)
    assert first.message_count == 300
    assert LogArchiveReader(archive).message_count == 300  # the index is reused while the file is unchanged
    other, _ = assembled(tmp_path / "b", 120)
    os.replace(other, archive)  # what assembly does when it merges: a new file under the same name
    assert LogArchiveReader(archive).message_count == 120
    data = archive.read_bytes()
    with open(archive, "r+b") as file:  # rewritten in place with other bytes: size and mtime change
        file.write(data[: len(data) // 2])
        file.truncate()
    with pytest.raises(ArchiveFormatError, match="truncated"):
        _ = LogArchiveReader(archive).message_count
    assert [m.payload.tobytes() for m in first.iter_messages()][:3] == [p for _, p in expected_sequence(messages)[:3]]


FOREIGN_MEMBERS = ["notes", "001_123", "sub/003_00000000000000000011", "003_00000000000000000012", "009_0000000013"]
"""Member stems a foreign tool may add to an archive; "003_00000000000000000012" is stored without .npy."""


def with_foreign_members(tmp_path: Path) -> tuple[Path, list[bytes]]:
    """Our archive of 20 messages plus members not named <id>_<20 digits>.npy, appended as zipfile does."""
    archive, _ = assembled(tmp_path, 20)
    payloads = [bytes([number]) * (number + 1) for number in range(len(FOREIGN_MEMBERS))]
    with zipfile.ZipFile(archive, "a") as writer:
        for number, (stem, payload) in enumerate(zip(FOREIGN_MEMBERS, payloads, strict=True)):
            buffer = io.BytesIO()
            np.save(buffer, message_bytes(3, 1000 + number, payload))
            writer.writestr(stem if stem.startswith("003_") else stem + ".npy", buffer.getvalue())
    return archive, payloads


def test_members_of_other_names_are_listed_and_read_by_their_key(tmp_path: Path) -> None:
    archive, payloads = with_foreign_members(tmp_path)
    reader = LogArchiveReader(archive)
    keys = [key for batch in reader.get_batches() for key in batch]
    assert keys[-len(FOREIGN_MEMBERS) :] == FOREIGN_MEMBERS  # as 7.2.0 lists them, in archive order
    assert reader.message_count == len(keys)
    for number, key in enumerate(FOREIGN_MEMBERS):
        (message,) = reader.iter_messages([key])
        assert message.payload.tobytes() == payloads[number]
        assert int(message.timestamp_us) == ONSET_US + 1000 + number
    _, everything = reader.read_all_messages()
    assert [p.tobytes() for p in everything[-len(payloads) :]] == payloads


READ_KEYS_WITH_REFERENCE = """
import sys, json
from pathlib import Path
from ataraxis_data_structures.data_loggers import LogArchiveReader
r = LogArchiveReader(Path(sys.argv[1]))
keys = [k for b in r.get_batches() for k in b]
print(json.dumps({"count": r.message_count, "keys": keys,
                  "read": {k: [m.payload.tobytes().hex() for m in r.iter_messages([k])] for k in keys}}))
"""


@pytest.mark.slow
@pytest.mark.reference("7.2.0")
def test_members_of_other_names_match_what_the_release_lists_and_reads(tmp_path: Path) -> None:
    archive, _ = with_foreign_members(tmp_path)
    result = json.loads(run_reference(READ_KEYS_WITH_REFERENCE, str(archive), python=RELEASES["7.2.0"]))
    reader = LogArchiveReader(archive)
    assert [key for batch in reader.get_batches() for key in batch] == result["keys"]
    assert reader.message_count == result["count"]
    assert {k: [m.payload.tobytes().hex() for m in reader.iter_messages([k])] for k in result["keys"]} == result["read"]
