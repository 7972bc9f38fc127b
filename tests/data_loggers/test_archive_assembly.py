"""assemble_log_archives: live logs and reference .npy files, torn tails, verification, interruptions and reruns."""

from __future__ import annotations

import errno
import json
import os
import signal
import subprocess
import sys
import time
import warnings
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
from log_builders import (
    ONSET_US,
    expected_sequence,
    onset_message,
    read_with_numpy,
    sample_messages,
    write_live_log,
    write_npy_directory,
)

from ataraxis_data_structures._platform import FORCE_PORTABLE
from ataraxis_data_structures.data_loggers import (
    LogArchiveReader,
    LogSession,
    TornLogWarning,
    assemble_log_archives,
    read_archive_sessions,
)
from ataraxis_data_structures.data_loggers.assembly import zip_writer as fmt
from ataraxis_data_structures.errors import (
    ArchiveFormatError,
    ArchiveVerificationError,
    DirectoryBusyError,
    LogFormatError,
    UnsafePathError,
)
from ataraxis_data_structures.file_locks import try_lock
from reference_release import needs_reference, run_reference


def archived(archive: Path) -> list[tuple[int, bytes]]:
    """Returns the data messages of an archive as (elapsed timestamp, payload), read with numpy.load."""
    reader = LogArchiveReader(archive)
    assert reader.onset_timestamp_us == ONSET_US
    result = [(int.from_bytes(data[1:9], "little"), data[9:]) for _, data in read_with_numpy(archive)]
    assert result[0] == onset_message()
    return result[1:]


def test_live_logs_of_several_sources_and_segments_become_one_archive_each(tmp_path: Path) -> None:
    first = sample_messages(400, seed=1)
    second = sample_messages(300, seed=2)[1:]  # a second session of source 1, no new onset
    other = sample_messages(200, seed=3)
    write_live_log(tmp_path, 1, first, segment=0)
    write_live_log(tmp_path, 1, second, segment=1)
    write_live_log(tmp_path, 250, other)
    assemble_log_archives(tmp_path)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["1_log.npz", "250_log.npz"]
    assert archived(tmp_path / "1_log.npz") == expected_sequence(first + second)
    assert archived(tmp_path / "250_log.npz") == expected_sequence(other)
    names = [key for key, _ in read_with_numpy(tmp_path / "1_log.npz")]
    assert names == sorted(names) and len(set(names)) == len(names)
    assert any(name.endswith("_000001") for name in names)  # duplicate timestamps kept, with unique names


def test_keep_sources_and_rerun_archive_nothing_twice(tmp_path: Path) -> None:
    messages = sample_messages(300)
    source = write_live_log(tmp_path, 2, messages)
    npy = write_npy_directory(tmp_path, 3, sample_messages(50, duplicates=False))
    assemble_log_archives(tmp_path, remove_sources=False)
    before = (tmp_path / "2_log.npz").read_bytes()
    assemble_log_archives(tmp_path, remove_sources=False)
    assert (tmp_path / "2_log.npz").read_bytes() == before
    assert source.exists() and all(path.exists() for path in npy)
    assert archived(tmp_path / "2_log.npz") == expected_sequence(messages)
    assert len(archived(tmp_path / "3_log.npz")) == 50


def test_interruption_during_source_removal_neither_loses_nor_duplicates(tmp_path: Path) -> None:
    first = sample_messages(200, seed=4)
    second = sample_messages(200, seed=5)[1:]
    npy_messages = sample_messages(60, seed=6, duplicates=False)
    live = [write_live_log(tmp_path, 7, first, 0), write_live_log(tmp_path, 7, second, 1)]
    npy = write_npy_directory(tmp_path, 8, npy_messages)
    assemble_log_archives(tmp_path, remove_sources=False)
    live[0].unlink()  # what an assembly killed half-way through removing its sources leaves behind
    for path in npy[::2]:
        path.unlink()
    assemble_log_archives(tmp_path)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["7_log.npz", "8_log.npz"]
    assert archived(tmp_path / "7_log.npz") == expected_sequence(first + second)
    assert archived(tmp_path / "8_log.npz") == expected_sequence(npy_messages)


def test_a_new_session_reusing_a_file_name_is_merged_into_the_archive(tmp_path: Path) -> None:
    first = sample_messages(100, seed=7)
    write_live_log(tmp_path, 5, first)
    assemble_log_archives(tmp_path)
    later = [(t + 10**9, p) for t, p in sample_messages(100, seed=8)[1:]]
    write_live_log(tmp_path, 5, later, segment=0)  # same name as the consumed and removed file
    assemble_log_archives(tmp_path)
    assert archived(tmp_path / "5_log.npz") == expected_sequence(first + later)


def test_records_appended_after_an_assembly_are_picked_up(tmp_path: Path) -> None:
    messages = sample_messages(100, seed=9)
    path = write_live_log(tmp_path, 6, messages[:60])
    assemble_log_archives(tmp_path, remove_sources=False)
    with path.open("ab") as file:
        file.write(b"".join(fmt_record(t, p) for t, p in messages[60:]))
    assemble_log_archives(tmp_path)
    assert not path.exists()
    assert archived(tmp_path / "6_log.npz") == expected_sequence(messages)


def fmt_record(timestamp: int, payload: bytes) -> bytes:
    from ataraxis_data_structures.data_loggers.formats import log_format

    return log_format.encode_record(timestamp, payload)


@pytest.mark.parametrize("cut", [1, 7, 16, 20])
def test_torn_tail_is_reported_and_every_whole_record_kept(tmp_path: Path, cut: int) -> None:
    messages = sample_messages(50, seed=10)
    path = write_live_log(tmp_path, 9, messages)
    data = path.read_bytes()
    last_record = len(fmt_record(*messages[-1]))
    path.write_bytes(data[: len(data) - last_record + cut])
    offset = len(data) - last_record
    with pytest.warns(TornLogWarning, match=rf"009-0000\.axlog\.npy: torn tail at byte offset {offset}: {cut} bytes"):
        assemble_log_archives(tmp_path)
    assert archived(tmp_path / "9_log.npz") == expected_sequence(messages[:-1])
    assert path.exists()  # kept for inspection
    with pytest.warns(TornLogWarning):
        assemble_log_archives(tmp_path)  # reported again, archived once
    assert archived(tmp_path / "9_log.npz") == expected_sequence(messages[:-1])


def test_damage_inside_a_live_log_costs_only_the_damaged_records(tmp_path: Path) -> None:
    messages = sample_messages(100, seed=11)
    path = write_live_log(tmp_path, 4, messages)
    data = bytearray(path.read_bytes())
    from ataraxis_data_structures.data_loggers.formats import log_format

    index = log_format.scan_records(bytes(data))
    data[int(index.payload_offsets[50]) - log_format.RECORD_HEADER_SIZE] ^= 0x55  # the length field of record 50
    path.write_bytes(bytes(data))
    with pytest.warns(TornLogWarning, match=r"004-0000\.axlog\.npy: damaged region at byte offset \d+"):
        assemble_log_archives(tmp_path, verify_integrity=True)
    assert archived(tmp_path / "4_log.npz") == expected_sequence(messages[:50] + messages[51:])
    assert path.exists()  # kept for inspection
    with pytest.warns(TornLogWarning):
        assemble_log_archives(tmp_path)  # reported again, archived once
    assert archived(tmp_path / "4_log.npz") == expected_sequence(messages[:50] + messages[51:])


def test_reference_style_npy_directory_is_consolidated(tmp_path: Path) -> None:
    messages = sample_messages(700, duplicates=False)  # more than one chunk of the threaded reader
    paths = write_npy_directory(tmp_path, 12, messages)
    (tmp_path / "012_00000000000099999999.npy").write_bytes(paths[3].read_bytes()[:-5])  # torn by a crash
    with pytest.warns(TornLogWarning, match="012_00000000000099999999.npy"):
        assemble_log_archives(tmp_path, verify_integrity=True)
    assert archived(tmp_path / "12_log.npz") == expected_sequence(messages)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["012_00000000000099999999.npy", "12_log.npz"]


@pytest.mark.parametrize("in_order", [True, False], ids=["streamed", "in memory"])
@pytest.mark.parametrize("where", ["npy header", "payload"])
def test_verification_catches_a_corrupted_archive_and_keeps_the_sources(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, where: str, in_order: bool
) -> None:
    messages = sample_messages(100)
    if not in_order:  # a record that arrived late: the streaming pass hands over to the in-memory one
        messages[10], messages[11] = messages[11], messages[10]
    source = write_live_log(tmp_path, 4, messages)
    original_close = fmt.ArchiveWriter.close
    payload = max((p for _, p in messages[1:]), key=len)

    def close_then_rot_a_byte(self: fmt.ArchiveWriter, comment: bytes = b"") -> None:
        original_close(self, comment)
        data = self._path.read_bytes()
        position = 500 if where == "npy header" else data.index(payload) + 3
        with open(self._path, "r+b") as file:  # a bit flipped on its way to the disk
            file.seek(position)
            file.write(bytes([data[position] ^ 0x01]))

    monkeypatch.setattr(fmt.ArchiveWriter, "close", close_then_rot_a_byte)
    with pytest.raises(ArchiveVerificationError, match=r"4_log\.npz"):  # a RuntimeError, as in the original
        assemble_log_archives(tmp_path, verify_integrity=True)
    assert source.exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["004-0000.axlog.npy"]


def test_verbose_shows_progress_bars(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    write_live_log(tmp_path, 1, sample_messages(10))
    assemble_log_archives(tmp_path, verbose=True, memory_mapping=False)
    assert "Assembling source 1" in capsys.readouterr().err


def test_missing_directory_and_empty_directory(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError, match="nowhere"):
        assemble_log_archives(tmp_path / "nowhere")
    assemble_log_archives(tmp_path)
    assert list(tmp_path.iterdir()) == []


KILLABLE = """
import sys
from pathlib import Path
from ataraxis_data_structures.data_loggers import assemble_log_archives
assemble_log_archives(Path(sys.argv[1]), verify_integrity=True)
"""


@pytest.mark.slow
def test_assembly_killed_mid_write_loses_nothing_and_a_rerun_finishes(tmp_path: Path) -> None:
    messages = sample_messages(150_000, seed=11)
    source = write_live_log(tmp_path / "log", 1, messages)
    process = subprocess.Popen([sys.executable, "-c", KILLABLE, str(tmp_path / "log")])
    partial = tmp_path / "log" / ".1_log.npz.partial"
    deadline = time.monotonic() + 60
    while not partial.exists() and process.poll() is None and time.monotonic() < deadline:
        time.sleep(0.001)
    process.send_signal(signal.SIGKILL)
    process.wait()
    if not (tmp_path / "log" / "1_log.npz").exists():
        assert source.exists()  # killed before the archive was in place: sources untouched
    assemble_log_archives(tmp_path / "log")
    assert sorted(p.name for p in (tmp_path / "log").iterdir()) == ["1_log.npz"]
    timestamps, payloads = LogArchiveReader(tmp_path / "log" / "1_log.npz").read_all_messages()
    expected = expected_sequence(messages)
    assert len(payloads) == len(expected)
    assert (timestamps - ONSET_US).tolist() == [t for t, _ in expected]


REFERENCE_LOGGER = """
import sys
import numpy as np
from pathlib import Path
from ataraxis_data_structures import DataLogger, LogPackage
if __name__ == "__main__":
    logger = DataLogger(Path(sys.argv[1]), "ref")
    logger.start()
    for source in (1, 2):
        logger.input_queue.put(
            LogPackage(np.uint8(source), np.uint64(0), np.frombuffer(np.uint64(ONSET).tobytes(), dtype=np.uint8))
        )
        for t in range(1, 201):
            logger.input_queue.put(LogPackage(np.uint8(source), np.uint64(t), np.full(t % 9, source, dtype=np.uint8)))
    logger.stop()
""".replace("ONSET", str(ONSET_US))

REFERENCE_READ = """
import sys, json
from pathlib import Path
from ataraxis_data_structures.data_loggers import LogArchiveReader
r = LogArchiveReader(Path(sys.argv[1]))
ts, p = r.read_all_messages()
print(json.dumps([[int(t) for t in ts], [x.tobytes().hex() for x in p]]))
"""


@pytest.mark.slow
@needs_reference
def test_directory_written_by_the_reference_logger_assembles_and_reads_back_with_the_reference(tmp_path: Path) -> None:
    script = tmp_path / "log.py"
    script.write_text(REFERENCE_LOGGER)
    run_reference(
        f"import runpy, sys; sys.argv = ['w', {str(tmp_path)!r}]; runpy.run_path({str(script)!r}, run_name='__main__')"
    )
    directory = tmp_path / "ref_data_log"
    assert len(list(directory.glob("*.npy"))) == 402
    assemble_log_archives(directory, verify_integrity=True)
    assert sorted(p.name for p in directory.iterdir()) == ["1_log.npz", "2_log.npz"]
    for source in (1, 2):
        assert read_archive_sessions(directory / f"{source}_log.npz") == [LogSession(ONSET_US, 0)]
        timestamps, payloads = json.loads(run_reference(REFERENCE_READ, str(directory / f"{source}_log.npz")))
        assert timestamps == [ONSET_US + t for t in range(1, 201)]
        assert payloads == [bytes([source] * (t % 9)).hex() for t in range(1, 201)]


def test_archive_is_written_atomically_and_synced(tmp_path: Path) -> None:
    write_live_log(tmp_path, 1, sample_messages(20))
    (tmp_path / ".1_log.npz.partial").write_bytes(b"left by a crash")
    assemble_log_archives(tmp_path)
    assert sorted(os.listdir(tmp_path)) == ["1_log.npz"]
    assert np.load(tmp_path / "1_log.npz").files[0] == "001_00000000000000000000"


def test_sources_assemble_in_parallel_threads(tmp_path: Path) -> None:
    expected = {}
    for source in (1, 2, 3, 4):
        messages = sample_messages(300, seed=source)
        write_live_log(tmp_path, source, messages)
        expected[source] = expected_sequence(messages)
    assemble_log_archives(tmp_path, max_workers=3, verify_integrity=True)
    assert sorted(p.name for p in tmp_path.iterdir()) == [f"{source}_log.npz" for source in (1, 2, 3, 4)]
    for source, messages in expected.items():
        assert archived(tmp_path / f"{source}_log.npz") == messages


def test_an_error_in_one_source_is_raised_after_the_others_finish(tmp_path: Path) -> None:
    write_live_log(tmp_path, 1, sample_messages(50))
    bad = write_live_log(tmp_path, 2, sample_messages(50))
    bad.write_bytes(bad.read_bytes().replace(b"AXDSLOG\x00\x01\x00\x02", b"AXDSLOG\x00\x01\x00\x03", 1))
    with pytest.raises(LogFormatError, match=r"002-0000\.axlog\.npy: the file header names source 3, but the file"):
        assemble_log_archives(tmp_path, max_workers=2)
    assert (tmp_path / "1_log.npz").exists() and bad.exists()


@pytest.mark.skipif(FORCE_PORTABLE, reason="portable locks (Windows' msvcrt): a directory cannot be locked")
def test_a_second_assembly_of_the_same_directory_is_refused(tmp_path: Path) -> None:
    import fcntl

    write_live_log(tmp_path, 1, sample_messages(10))
    descriptor = os.open(tmp_path, os.O_RDONLY)
    try:
        fcntl.flock(descriptor, fcntl.LOCK_EX)  # what a running assembly holds
        with pytest.raises(DirectoryBusyError, match="another assembly"):
            assemble_log_archives(tmp_path)
    finally:
        os.close(descriptor)
    assemble_log_archives(tmp_path)
    assert (tmp_path / "1_log.npz").exists()


def test_a_live_log_with_a_torn_header_is_reported_and_kept(tmp_path: Path) -> None:
    write_live_log(tmp_path, 1, sample_messages(10, seed=3), segment=0)
    torn = tmp_path / "001-0001.axlog.npy"
    torn.write_bytes(b"AXDS")
    with pytest.warns(TornLogWarning, match=r"001-0001\.axlog\.npy: torn file header: 4 bytes"):
        assemble_log_archives(tmp_path)
    assert torn.exists() and not (tmp_path / "001-0000.axlog.npy").exists()
    assert archived(tmp_path / "1_log.npz") == expected_sequence(sample_messages(10, seed=3))


def test_a_directory_a_running_logger_writes_is_assembled_so_far_and_finished_later(tmp_path: Path) -> None:
    from ataraxis_data_structures.data_loggers import LoggerRunningWarning
    from ataraxis_data_structures.data_loggers.formats import log_format
    from ataraxis_data_structures.data_loggers.live.logger_lock import LOCK_FILE_NAME

    earlier = sample_messages(30, seed=4)  # a finished logger session of source 1
    write_live_log(tmp_path, 1, earlier)
    later = [(0, np.uint64(ONSET_US + 10**9).tobytes()), *[(t, bytes([t % 256]) * 5) for t in range(1, 400)]]
    written = 150
    open_log = write_live_log(tmp_path, 1, later[:written], segment=1)  # the segment the logger appends to
    with open_log.open("ab") as file:  # and the record it is writing at this very moment: half of it is there
        file.write(log_format.encode_record(*later[written])[:9])
    held = try_lock(tmp_path / LOCK_FILE_NAME)  # what the logger process holds while it runs (the platform's lock)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", TornLogWarning)  # the record being written is not a torn tail
            with pytest.warns(LoggerRunningWarning, match="while a DataLogger is still writing to it"):
                assemble_log_archives(tmp_path)
        # The finished segment is gone, the open one and the lock file stay; nothing was lost or invented.
        assert sorted(p.name for p in tmp_path.iterdir()) == [LOCK_FILE_NAME, open_log.name, "1_log.npz"]
        sessions = read_archive_sessions(tmp_path / "1_log.npz")
        assert len(archived(tmp_path / "1_log.npz")) == 30 + written - 1
        # The logger finishes that record and writes more; a second assembly while it runs adds exactly those.
        with open_log.open("r+b") as file:
            file.seek(0, os.SEEK_END)
            file.seek(file.tell() - 9)
            file.write(b"".join(log_format.encode_record(t, p) for t, p in later[written:300]))
        with pytest.warns(LoggerRunningWarning):
            assemble_log_archives(tmp_path)
        assert len(archived(tmp_path / "1_log.npz")) == 30 + 300 - 1
    finally:
        held.release()  # the logger stops (its lock file stays when it was killed)
    with open_log.open("ab") as file:
        file.write(b"".join(log_format.encode_record(t, p) for t, p in later[300:]))
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no logger runs now: no warning at all
        assemble_log_archives(tmp_path)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["1_log.npz"]  # the idle lock file went too
    shift = sessions[1].elapsed_offset_us
    expected = expected_sequence(earlier) + [(t + shift, p) for t, p in later[1:]]
    assert archived(tmp_path / "1_log.npz") == sorted(expected, key=lambda message: message[0])


def test_live_logs_named_by_earlier_versions_are_assembled(tmp_path: Path) -> None:
    messages = sample_messages(40, seed=8)
    path = write_live_log(tmp_path, 2, messages)
    path.rename(tmp_path / "002-0000.axlog")  # the name versions before 2026-12 gave it
    assemble_log_archives(tmp_path)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["2_log.npz"]
    assert archived(tmp_path / "2_log.npz") == expected_sequence(messages)


@pytest.mark.parametrize("verify_integrity", [False, True])
def test_merging_refuses_an_archive_whose_member_fails_its_crc(tmp_path: Path, verify_integrity: bool) -> None:
    first = sample_messages(200, seed=21)
    write_live_log(tmp_path, 3, first)
    assemble_log_archives(tmp_path)
    archive = tmp_path / "3_log.npz"
    data = bytearray(archive.read_bytes())
    payload = max((p for _, p in first[1:]), key=len)
    position = data.index(payload) + 2
    data[position] ^= 0x10  # one bit rotted on the disk after the archive was written
    archive.write_bytes(bytes(data))
    damaged = bytes(data)
    member = next(key for key, value in read_with_numpy_unchecked(archive) if payload[:2] in value)
    later = [(t + 10**7, p) for t, p in sample_messages(50, seed=22)[1:]]
    new_source = write_live_log(tmp_path, 3, later, segment=1)
    with pytest.raises(ArchiveFormatError, match=rf"3_log\.npz: its member '{member}\.npy' fails its CRC-32"):
        assemble_log_archives(tmp_path, verify_integrity=verify_integrity)
    assert archive.read_bytes() == damaged  # not laundered: the bad byte keeps its failing CRC
    assert new_source.exists()
    with pytest.raises(ValueError):  # the family's errors are still the built-ins the reference raised
        assemble_log_archives(tmp_path)


def read_with_numpy_unchecked(archive: Path) -> list[tuple[str, bytes]]:
    """Returns (key, message bytes) of every member without checking CRCs (zipfile would refuse the damaged one)."""
    import zipfile

    result = []
    with zipfile.ZipFile(archive) as opened:
        for info in opened.infolist():
            with opened.open(info) as member:
                member._expected_crc = None  # type: ignore[attr-defined]  # read the rotted bytes as they are
                result.append((info.filename[:-4], member.read()))
    return result


def test_a_damaged_live_log_header_costs_only_itself(tmp_path: Path) -> None:
    messages = sample_messages(2_000, seed=23)
    path = write_live_log(tmp_path, 6, messages)
    data = bytearray(path.read_bytes())
    data[2] ^= 0x01  # one flipped bit in the magic
    path.write_bytes(bytes(data))
    with pytest.warns(TornLogWarning, match=r"006-0000\.axlog\.npy: damaged file header: the first 16 bytes"):
        assemble_log_archives(tmp_path, verify_integrity=True)
    assert archived(tmp_path / "6_log.npz") == expected_sequence(messages)  # all 2,001 records, onset included
    assert path.exists()  # kept for inspection


def test_a_zeroed_first_page_of_a_live_log_costs_only_the_records_in_it(tmp_path: Path) -> None:
    onset_segment = write_live_log(tmp_path, 6, sample_messages(5, seed=24), segment=0)
    later = [(t + 10**6, p) for t, p in sample_messages(2_000, seed=25)[1:]]
    path = write_live_log(tmp_path, 6, later, segment=1)
    data = bytearray(path.read_bytes())
    from ataraxis_data_structures.data_loggers.formats import log_format

    index = log_format.scan_records(bytes(data))
    lost = int(np.count_nonzero(index.payload_offsets < 4096 + log_format.RECORD_HEADER_SIZE))
    data[:4096] = bytes(4096)  # a page a power loss left as zeros
    path.write_bytes(bytes(data))
    with pytest.warns(TornLogWarning, match=r"006-0001\.axlog\.npy: damaged file header"):
        assemble_log_archives(tmp_path, verify_integrity=True)
    kept = expected_sequence(sample_messages(5, seed=24) + later[lost:])
    assert archived(tmp_path / "6_log.npz") == kept
    assert path.exists() and not onset_segment.exists()


def test_one_warning_per_source_pointing_at_the_callers_line(tmp_path: Path) -> None:
    for source in (1, 2, 3):
        path = write_live_log(tmp_path, source, sample_messages(100, seed=source))
        path.write_bytes(path.read_bytes()[:-3])  # a torn tail
    damaged = tmp_path / "002-0000.axlog.npy"
    data = bytearray(damaged.read_bytes())
    data[500] ^= 0xFF  # and a damaged region in source 2
    damaged.write_bytes(bytes(data))
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        line = sys._getframe().f_lineno + 1
        assemble_log_archives(tmp_path, max_workers=3)
    torn = [warning for warning in caught if issubclass(warning.category, TornLogWarning)]
    assert len(torn) == 3  # once per source, not once per problem
    assert all(warning.filename == __file__ and warning.lineno == line for warning in torn)
    source_2 = next(str(warning.message) for warning in torn if "source 2 in" in str(warning.message))
    assert "torn tail" in source_2 and "damaged region" in source_2


@pytest.mark.parametrize("spelling", ["", ".", Path("")])
def test_removing_sources_refuses_an_empty_log_directory(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, spelling: str | Path
) -> None:
    source = write_live_log(tmp_path, 1, sample_messages(10))
    monkeypatch.chdir(tmp_path)
    with pytest.raises(UnsafePathError, match=r"remove the assembled source files in log_directory='\.?'"):
        assemble_log_archives(spelling)  # type: ignore[arg-type]  # a str, as an unset variable gives
    assert source.exists() and not (tmp_path / "1_log.npz").exists()
    assemble_log_archives(spelling, remove_sources=False)  # type: ignore[arg-type]  # nothing destructive
    assert source.exists() and (tmp_path / "1_log.npz").exists()
    assemble_log_archives(Path.cwd())  # said explicitly
    assert not source.exists()


@pytest.fixture
def small_disk(tmp_path: Path) -> Iterator[Path]:
    """A real 1 MiB tmpfs (needs root), unmounted afterwards."""
    if os.geteuid() != 0:
        pytest.skip("mounting a small tmpfs needs root")
    mount_point = tmp_path / "small"
    mount_point.mkdir()
    result = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=1m", "tmpfs", str(mount_point)], capture_output=True)
    if result.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {result.stderr.decode(errors='replace').strip()}")
    try:
        yield mount_point
    finally:
        subprocess.run(["umount", "-l", str(mount_point)], check=False)


def test_a_full_disk_names_the_archive_and_keeps_the_sources(small_disk: Path) -> None:
    messages = [(0, np.uint64(ONSET_US).tobytes())] + [(t, bytes(200)) for t in range(1, 3_000)]
    source = write_live_log(small_disk, 7, messages)  # ~650 KB of the 1 MiB: the archive does not fit beside it
    before = source.read_bytes()
    with pytest.raises(OSError, match=r"\.7_log\.npz\.partial") as raised:
        assemble_log_archives(small_disk)
    assert raised.value.errno == errno.ENOSPC
    assert str(small_disk / ".7_log.npz.partial") in str(raised.value)
    assert sorted(p.name for p in small_disk.iterdir()) == ["007-0000.axlog.npy"]  # no partial archive left behind
    assert source.read_bytes() == before


def session_messages(onset_us: int, count: int, seed: int) -> list[tuple[int, bytes]]:
    """An onset message holding onset_us, then count data messages timed from it."""
    messages = sample_messages(count, seed=seed)
    return [(0, np.uint64(onset_us).tobytes()), *messages[1:]]


def absolute(messages: list[tuple[int, bytes]], onset_us: int) -> list[tuple[int, bytes]]:
    return [(onset_us + t, p) for t, p in messages[1:]]


def read_absolute(archive: Path) -> list[tuple[int, bytes]]:
    timestamps, payloads = LogArchiveReader(archive).read_all_messages()
    return [(int(t), p.tobytes()) for t, p in zip(timestamps, payloads, strict=True)]


def test_sessions_merged_later_and_out_of_order_keep_exact_absolute_times(tmp_path: Path) -> None:
    hour = 3_600_000_000
    second = session_messages(ONSET_US + hour, 300, seed=31)
    write_live_log(tmp_path, 4, second, segment=0)
    assemble_log_archives(tmp_path)  # the later session is assembled first: its onset is the archive's for now
    first = session_messages(ONSET_US, 300, seed=32)
    third = session_messages(ONSET_US + 2 * hour, 300, seed=33)
    write_live_log(tmp_path, 4, first + third, segment=1)  # two sessions in one file (a restarted producer)
    assemble_log_archives(tmp_path, verify_integrity=True)
    archive = tmp_path / "4_log.npz"
    expected = absolute(first, ONSET_US) + absolute(second, ONSET_US + hour) + absolute(third, ONSET_US + 2 * hour)
    assert read_absolute(archive) == expected
    assert LogArchiveReader(archive).onset_timestamp_us == ONSET_US
    assert read_archive_sessions(archive) == [LogSession(ONSET_US + k * hour, k * hour) for k in range(3)]
    names = [key for key, _ in read_with_numpy(archive)]
    assert names[0] == "004_00000000000000000000"  # one onset member, and no later onset stored as data
    assert not any(name.startswith("004_00000000000000000000_") for name in names)


def test_a_single_session_archive_lists_no_sessions_and_reruns_change_nothing(tmp_path: Path) -> None:
    write_live_log(tmp_path, 5, session_messages(ONSET_US, 100, seed=34), segment=0)
    write_live_log(tmp_path, 5, session_messages(ONSET_US + 10**9, 100, seed=35), segment=1)
    write_live_log(tmp_path, 6, session_messages(ONSET_US, 100, seed=36))
    assemble_log_archives(tmp_path, remove_sources=False)
    assert b"@session" not in (tmp_path / "6_log.npz").read_bytes()
    assert read_archive_sessions(tmp_path / "6_log.npz") == [LogSession(ONSET_US, 0)]
    before = {name: (tmp_path / name).read_bytes() for name in ("5_log.npz", "6_log.npz")}
    assemble_log_archives(tmp_path)
    assert {name: (tmp_path / name).read_bytes() for name in before} == before
    sessions = read_archive_sessions(tmp_path / "5_log.npz")
    assert sessions == [LogSession(ONSET_US, 0), LogSession(ONSET_US + 10**9, 10**9)]


def large_recording(directory: Path, shuffle: bool) -> list[tuple[str, bytes]]:
    """Writes two segments and two sessions of one source, with runs of equal timestamps across window boundaries.

    Returns the members (key, message bytes) the archive must hold, built independently of assembly.
    """
    rng = np.random.default_rng(41)
    elapsed = np.sort(rng.integers(1, 50_000, 150_000)).astype(int)  # ~3 messages per timestamp
    elapsed[65_000:67_000] = elapsed[65_000]  # a run of 2,000 equal timestamps across the 65,536-record window
    if shuffle:
        rng.shuffle(elapsed[1000:1100])  # out of order: the streaming pass must hand over to the in-memory one
    payloads = [bytes([number % 251]) * (number % 13) for number in range(len(elapsed))]
    messages = list(zip(elapsed.tolist(), payloads, strict=True))
    later_onset = ONSET_US + 10**8
    first = [(0, np.uint64(ONSET_US).tobytes()), *messages[:100_000]]
    second = messages[100_000:]  # no onset: the same session
    restarted = [(0, np.uint64(later_onset).tobytes()), *second[:5_000]]  # a new session
    write_live_log(directory, 9, first, segment=0)
    write_live_log(directory, 9, second + restarted, segment=1)
    rebased = [*messages, *((t + 10**8, p) for t, p in second[:5_000])]
    ordered = sorted(enumerate(rebased), key=lambda item: (item[1][0], item[0]))
    members = [("009_" + "0" * 20, bytes([9]) + bytes(8) + np.uint64(ONSET_US).tobytes())]
    seen: dict[int, int] = {0: 1}
    for _, (timestamp, payload) in ordered:
        repeat = seen.get(timestamp, 0)
        seen[timestamp] = repeat + 1
        key = f"009_{timestamp:020d}" + (f"_{repeat:06d}" if repeat else "")
        members.append((key, bytes([9]) + np.uint64(timestamp).tobytes() + payload))
    return members


@pytest.mark.slow
@pytest.mark.parametrize("verify", [False, True], ids=["unverified", "verified"])
@pytest.mark.parametrize("shuffle", [False, True], ids=["in order", "out of order"])
def test_large_recordings_hold_every_message_in_order_in_both_passes(
    tmp_path: Path, shuffle: bool, verify: bool
) -> None:
    expected = large_recording(tmp_path, shuffle)
    assemble_log_archives(tmp_path, verify_integrity=verify)
    archive = tmp_path / "9_log.npz"
    assert read_with_numpy(archive) == expected
    sessions = read_archive_sessions(archive)
    assert sessions == [LogSession(ONSET_US, 0), LogSession(ONSET_US + 10**8, 10**8)]


def test_a_source_with_many_problems_lists_twenty_and_counts_the_rest(tmp_path: Path) -> None:
    messages = sample_messages(300, seed=51)
    path = write_live_log(tmp_path, 2, messages)
    data = bytearray(path.read_bytes())
    from ataraxis_data_structures.data_loggers.formats import log_format

    index = log_format.scan_records(bytes(data))
    damaged = [number for number in range(5, 300, 9) if index.payload_sizes[number] > 0][:30]
    for number in damaged:
        data[int(index.payload_offsets[number])] ^= 0x01
    path.write_bytes(bytes(data))
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        assemble_log_archives(tmp_path)
    (warning,) = [w for w in caught if issubclass(w.category, TornLogWarning)]
    lines = str(warning.message).splitlines()
    assert sum("damaged region" in line for line in lines) == 20
    assert lines[-1] == f"  - and {len(damaged) - 20} more"
    assert len(archived(tmp_path / "2_log.npz")) == 300 - len(damaged)
