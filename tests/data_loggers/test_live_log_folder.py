"""The live log folder as the lab's code sees it: *.npy entries, no lock file left, assembly while the logger runs.

Each test records with a real DataLogger process; the reference tests run the releases' own loggers and assemblers on
the same kind of folder in their own interpreters (see reference_release).
"""

from __future__ import annotations

import contextlib
import multiprocessing
import os
import uuid
import warnings
from pathlib import Path

import numpy as np
import pytest
from logger_children import payload_of, produce, produce_counted
from test_archive_helpers import read_with_numpy, run_reference

from ataraxis_data_structures.data_loggers import (
    DataLogger,
    LoggerRunningWarning,
    LogPackage,
    assemble_log_archives,
    log_format,
)
from ataraxis_data_structures.data_loggers.logger_lock import LOCK_FILE_NAME
from ataraxis_data_structures.errors import LoggerFailedError
from ataraxis_data_structures.file_locks import LockHeldError, is_locked, try_lock
from reference_release import RELEASES, needs_reference, needs_reference_7

WAIT = 60.0
SUFFIX = f"{os.getpid()}_{uuid.uuid4().hex[:6]}"
BOTH_RELEASES = [pytest.param("6.2.0", marks=needs_reference), pytest.param("7.2.0", marks=needs_reference_7)]


def record(directory: Path, name: str, counts: dict[int, int]) -> DataLogger:
    """Records `counts[source]` messages of each source (after its onset) with a real logger, then stops it."""
    logger = DataLogger(directory, name)
    logger.start()
    try:
        for source_id, count in counts.items():
            produce(logger.input_queue, source_id, count)
    finally:
        logger.stop()
    return logger


def archived_numbers(archive: Path) -> list[int]:
    """Returns the timestamps of an archive's data messages (the onset excluded), checking each payload."""
    numbers = []
    for _, data in read_with_numpy(archive)[1:]:
        timestamp = int.from_bytes(data[1:9], "little")
        assert data[9:] == payload_of(data[0], timestamp, len(data) - 9)
        numbers.append(timestamp)
    return numbers


def lab_assembly_step(log_directory: Path) -> bool:
    """The lab's pipeline step, as its code does it: skip a folder without *.npy entries, refuse a mixed one."""
    if not list(log_directory.glob("*.npy")):
        return False
    if list(log_directory.glob("*.npz")):
        raise RuntimeError("the folder holds both .npy entries and .npz archives")
    assemble_log_archives(log_directory, remove_sources=True)
    return True


def test_a_stopped_and_assembled_folder_holds_only_the_archives(tmp_path: Path) -> None:
    logger = record(tmp_path, f"lab_{SUFFIX}", {1: 300, 2: 40})
    folder = logger.output_directory
    # While recording and until assembled the entries are *.npy files, and the logger's lock file is gone at stop().
    assert sorted(p.name for p in folder.iterdir()) == [log_format.log_file_name(1, 0), log_format.log_file_name(2, 0)]
    assert lab_assembly_step(folder)
    assert sorted(p.name for p in folder.iterdir()) == ["1_log.npz", "2_log.npz"]
    assert archived_numbers(folder / "1_log.npz") == list(range(1, 301))
    assert archived_numbers(folder / "2_log.npz") == list(range(1, 41))
    assert not lab_assembly_step(folder)  # nothing left to assemble: the step skips it, as with the releases


@pytest.mark.slow
def test_the_directory_lock_still_keeps_a_second_logger_out_and_goes_with_the_last_stop(tmp_path: Path) -> None:
    first = DataLogger(tmp_path, f"first_{SUFFIX}")
    # A second instance name writing to the same folder (an absolute name points it there).
    second = DataLogger(tmp_path, str(tmp_path / f"first_{SUFFIX}"))
    assert second.output_directory == first.output_directory
    first.start()
    try:
        assert is_locked(first.output_directory / LOCK_FILE_NAME)
        with pytest.raises(RuntimeError, match="is in use by another running"):
            second.start()
    finally:
        first.stop()
    assert not (first.output_directory / LOCK_FILE_NAME).exists()
    second.start()  # the folder is free again: a fresh lock file
    try:
        assert is_locked(second.output_directory / LOCK_FILE_NAME)
        with pytest.raises(RuntimeError, match="is in use by another running"):
            first.start()
    finally:
        second.stop()
    assert [p.name for p in tmp_path.iterdir()] == [f"first_{SUFFIX}_data_log"]
    assert list(first.output_directory.iterdir()) == []


def test_a_lock_file_deleted_under_a_waiting_taker_is_never_held_twice(tmp_path: Path) -> None:
    path = tmp_path / LOCK_FILE_NAME
    holder = try_lock(path, removable=True)
    stale = os.open(path, os.O_RDONLY)  # a second logger opened the file just before the holder deleted it
    try:
        with pytest.raises(LockHeldError):
            try_lock(path, removable=True)
        holder.release_and_remove()
        assert not path.exists()
        # The second logger's lock on the deleted file would be worthless: try_lock locks the file the path names.
        fresh = try_lock(path, removable=True)
        with pytest.raises(LockHeldError):
            try_lock(path, removable=True)
        assert os.fstat(stale).st_ino != path.stat().st_ino
        fresh.release_and_remove()
    finally:
        os.close(stale)
    assert list(tmp_path.iterdir()) == []


@pytest.mark.slow
def test_assembly_while_the_logger_runs_then_again_after_stop_archives_every_message_once(tmp_path: Path) -> None:
    logger = DataLogger(tmp_path, f"running_{SUFFIX}")
    folder = logger.output_directory
    onset = np.array([1_700_000_000_000_000], dtype="<u8").view(np.uint8)
    logger.input_queue.put(LogPackage(np.uint8(5), np.uint64(0), onset))  # an earlier logger session: finished
    logger.start()
    logger.stop()
    logger.start()
    context = multiprocessing.get_context("spawn")
    returned = context.Value("q", 0)
    started = context.Event()
    finish = context.Value("b", 0)
    try:
        logger.input_queue.put(LogPackage(np.uint8(5), np.uint64(0), onset))  # (the same onset: one session)
        producer = context.Process(
            target=produce_counted, args=(logger.input_queue, 5, [16, 300, 70_000], returned, started, finish)
        )
        producer.start()
        assert started.wait(WAIT)
        while returned.value < 1000:
            producer.join(0.01)
            assert producer.exitcode is None
        with pytest.warns(LoggerRunningWarning, match="while a DataLogger is still writing"):
            # Verification reads the sources again while the logger keeps appending to one of them.
            assemble_log_archives(folder, verify_integrity=True)
        first_pass = archived_numbers(folder / "5_log.npz")
        assert first_pass and first_pass == list(range(len(first_pass)))  # every record written so far, in order
        assert is_locked(folder / LOCK_FILE_NAME)
        # The segment the logger appends to stays; the finished one went.
        assert sorted(p.name for p in folder.iterdir()) == [LOCK_FILE_NAME, log_format.log_file_name(5, 1), "5_log.npz"]
        mark = returned.value
        while returned.value < mark + 1000:  # the producer keeps putting after the assembly
            producer.join(0.01)
            assert producer.exitcode is None
        finish.value = 1
        producer.join(WAIT)
        assert producer.exitcode == 0
    finally:
        finish.value = 1
        with contextlib.suppress(LoggerFailedError):
            logger.stop()
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assemble_log_archives(folder)
    assert sorted(p.name for p in folder.iterdir()) == ["5_log.npz"]
    assert archived_numbers(folder / "5_log.npz") == list(range(returned.value))  # each message exactly once


@pytest.mark.slow
@pytest.mark.parametrize("release", BOTH_RELEASES)
def test_the_releases_assemblers_refuse_our_live_folder_loudly_and_change_nothing(tmp_path: Path, release: str) -> None:
    logger = record(tmp_path, f"ours_{SUFFIX}", {1: 50, 200: 5})
    folder = logger.output_directory
    before = {p.name: p.read_bytes() for p in folder.iterdir()}
    script = (
        "import sys\nfrom pathlib import Path\nfrom ataraxis_data_structures import assemble_log_archives\n"
        "if __name__ == '__main__':\n"
        "    try:\n"
        "        assemble_log_archives(Path(sys.argv[1]), remove_sources=sys.argv[2] == '1')\n"
        "    except Exception as error:\n"
        "        print('RAISED', type(error).__name__)\n"
        "    else:\n"
        "        print('ASSEMBLED')\n"
    )
    for remove in ("1", "0"):
        output = run_reference(script, str(folder), remove, python=RELEASES[release])
        assert output.splitlines()[-1] == "RAISED ValueError", output
        assert {p.name: p.read_bytes() for p in folder.iterdir()} == before  # no archive, nothing removed
    assemble_log_archives(folder)  # ours assembles it
    assert archived_numbers(folder / "1_log.npz") == list(range(1, 51))
    assert archived_numbers(folder / "200_log.npz") == list(range(1, 6))


RELEASE_RECORDER = """
import sys
from pathlib import Path
import numpy as np
from ataraxis_data_structures import DataLogger, LogPackage, assemble_log_archives

if __name__ == "__main__":
    logger = DataLogger(output_directory=Path(sys.argv[1]), instance_name=sys.argv[2])
    print(logger.output_directory)
    if sys.argv[3] == "record":
        logger.start()
        onset = np.array([1_700_000_000_000_000], dtype="<u8").view(np.uint8)
        for source_id in (1, 2):
            logger.input_queue.put(LogPackage(np.uint8(source_id), np.uint64(0), onset))
            for number in range(1, 21):
                payload = np.frombuffer((f"{source_id}:{number}:".encode() * 16)[:16], dtype=np.uint8)
                logger.input_queue.put(LogPackage(np.uint8(source_id), np.uint64(number), payload))
        logger.stop()
        print(sorted(path.name for path in logger.output_directory.iterdir()))
        if sys.argv[4] == "assemble":
            assemble_log_archives(logger.output_directory, remove_sources=True)
            print(sorted(path.name for path in logger.output_directory.iterdir()))
"""


@pytest.mark.slow
@pytest.mark.parametrize("release", BOTH_RELEASES)
def test_ours_assembles_a_folder_a_release_recorded_and_leaves_what_the_release_leaves(
    tmp_path: Path, release: str
) -> None:
    python = RELEASES[release]
    # Instance names unique to this run: the releases name machine-wide resources after them.
    name = f"rec_{SUFFIX}"
    lines = run_reference(RELEASE_RECORDER, str(tmp_path / "theirs"), name, "record", "assemble", python=python)
    release_leaves = lines.splitlines()[-1]
    lines = run_reference(RELEASE_RECORDER, str(tmp_path / "raw"), name, "record", "keep", python=python)
    folder = Path(lines.splitlines()[0])
    names = lines.splitlines()[-1].strip("[]").replace("'", "").split(", ")
    assert sum(entry.endswith(".npy") for entry in names) == 42, names  # one per message (2 onsets + 40)
    assert lab_assembly_step(folder)
    assert str(sorted(p.name for p in folder.iterdir())) == release_leaves == "['1_log.npz', '2_log.npz']"
    assert archived_numbers(folder / "1_log.npz") == list(range(1, 21))
    ours = record(tmp_path / "ours", f"rec_{SUFFIX}", {1: 20, 2: 20})
    assert lab_assembly_step(ours.output_directory)
    assert str(sorted(p.name for p in ours.output_directory.iterdir())) == release_leaves


NAMES = ["sub/inst", "./dot", "a/../b", "trailing/"]


@pytest.mark.slow
@pytest.mark.parametrize("release", BOTH_RELEASES)
def test_an_instance_name_holding_a_separator_joins_as_the_releases_join_it(tmp_path: Path, release: str) -> None:
    names = [*NAMES, f"{tmp_path}/absolute_logger"]  # a lab fixture passes f"{tmp_dir}_logger"
    for name in names:
        output = run_reference(RELEASE_RECORDER, str(tmp_path / release), name, "only", python=RELEASES[release])
        ours = DataLogger(tmp_path / "ours", name)
        theirs = Path(output.splitlines()[-1])
        assert str(ours.output_directory) == str(theirs).replace(f"/{release}/", "/ours/"), name
        assert ours.output_directory.is_dir() and theirs.is_dir()


def test_a_logger_named_like_the_labs_fixture_records_and_assembles(tmp_path: Path) -> None:
    name = f"{tmp_path}_logger"  # an absolute path: the folder is {tmp_path}_logger_data_log, beside tmp_path
    logger = DataLogger(tmp_path / "ignored", name)
    try:
        assert logger.output_directory == Path(f"{tmp_path}_logger_data_log")
        logger.start()
        produce(logger.input_queue, 3, 10)
        logger.stop()
        assemble_log_archives(logger.output_directory)
        assert sorted(p.name for p in logger.output_directory.iterdir()) == ["3_log.npz"]
        assert archived_numbers(logger.output_directory / "3_log.npz") == list(range(1, 11))
    finally:
        for path in logger.output_directory.iterdir():
            path.unlink()
        logger.output_directory.rmdir()


@pytest.mark.slow
def test_processes_taking_and_deleting_the_directory_lock_never_hold_it_together(tmp_path: Path) -> None:
    from logger_children import contend_for_removable_lock

    context = multiprocessing.get_context("spawn")
    holders = context.Value("i", 0)
    overlaps = context.Value("i", 0)
    path = str(tmp_path / LOCK_FILE_NAME)
    workers = [
        context.Process(target=contend_for_removable_lock, args=(path, 3000, holders, overlaps)) for _ in range(4)
    ]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(WAIT * 3)
        assert worker.exitcode == 0
    assert overlaps.value == 0
    assert list(tmp_path.iterdir()) == []
