"""The live view: LiveLogReader and `axds tail` follow a log directory while a real DataLogger writes it."""

from __future__ import annotations

import contextlib
import io
import os
import subprocess
import sys
import time
import uuid
from pathlib import Path

import numpy as np

from ataraxis_data_structures.cli import main
from ataraxis_data_structures.data_loggers.formats import log_format as fmt
from ataraxis_data_structures.data_loggers.live.live_view import LiveLogReader

WAIT = 60.0


def wait_until(condition: object, what: str) -> None:
    deadline = time.monotonic() + WAIT
    while not condition():  # type: ignore[operator]
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting until {what}")
        time.sleep(0.05)


def run_tail(*args: str) -> tuple[int, str]:
    output = io.StringIO()
    with contextlib.redirect_stdout(output):
        code = main(["tail", *args])
    return code, output.getvalue()


def test_the_live_view_follows_a_running_logger_in_another_process(tmp_path: Path) -> None:
    name = f"live_{os.getpid()}_{uuid.uuid4().hex[:6]}"
    script = Path(__file__).with_name("logger_children.py")
    child = subprocess.Popen([sys.executable, str(script), "record_live", str(tmp_path), name])
    directory = tmp_path / f"{name}_data_log"
    reader = LiveLogReader(directory)
    try:
        seen: list[int] = []

        def source_1_is_past_its_gap() -> bool:
            statuses = reader.refresh()
            if 1 in statuses:
                seen.append(statuses[1].messages)
            return 1 in statuses and statuses[1].messages > 400 and 2 in statuses and statuses[2].messages == 50

        wait_until(source_1_is_past_its_gap, "the reader sees both sources while the logger runs")
        statuses = reader.refresh()
        assert seen == sorted(seen)  # counts only grow: nothing is counted twice, whatever tail was half-written
        assert statuses[1].largest_gap_us == 501_000
        assert statuses[2].largest_gap_us == 1000
        assert statuses[1].onset_us is not None and statuses[2].onset_us == statuses[1].onset_us
        assert statuses[1].rate > 0
        since_2 = statuses[2].seconds_since_last()
        assert since_2 is not None and since_2 >= 0  # source 2 fell silent: the table shows how long ago
        code, text = run_tail(str(directory))
        assert code == 0
        lines = text.splitlines()
        assert lines[0].split()[:2] == ["source", "messages"]
        assert [line.split()[0] for line in lines[1:]] == ["1", "2"]
        assert lines[2].split()[1] == "50"
        assert "501.0 ms" in lines[1]  # source 1's largest gap
    finally:
        (tmp_path / "stop").touch()
        child.wait(WAIT)
    assert child.returncode == 0
    count_1, count_2 = (int(word) for word in (tmp_path / "counts").read_text().split())
    statuses = reader.refresh()
    assert (statuses[1].messages, statuses[2].messages) == (count_1, count_2)
    # The reader never disturbed the writer: the files hold every record, whole.
    for path in directory.glob("*.axlog.npy"):
        index = fmt.scan_records(path.read_bytes(), path)
        assert index.defect is None and not index.damaged


def test_a_torn_tail_is_taken_once_it_is_whole(tmp_path: Path) -> None:
    path = tmp_path / "003-0000.axlog"  # named as earlier versions named it; segment 1 below has today's name
    onset = np.array([1_700_000_000_000_000], dtype="<u8").tobytes()
    path.write_bytes(fmt.encode_file_header(3) + fmt.encode_record(0, onset) + fmt.encode_record(10, b"a"))
    reader = LiveLogReader(tmp_path)
    assert reader.refresh()[3].messages == 1
    record = fmt.encode_record(25, b"second message")
    with path.open("ab") as file:
        file.write(record[:7])  # what a writer's append looks like halfway through
    assert reader.refresh()[3].messages == 1
    with path.open("ab") as file:
        file.write(record[7:] + fmt.encode_record(30, b"third"))
    status = reader.refresh()[3]
    assert (status.messages, status.largest_gap_us, status.last_timestamp_us) == (3, 15, 30)
    assert status.onset_us == 1_700_000_000_000_000
    # A new session of the source (a restart: segment 1) adds its messages; gaps are not counted across sessions.
    (tmp_path / fmt.log_file_name(3, 1)).write_bytes(fmt.encode_file_header(3) + fmt.encode_record(5_000_000, b"x"))
    status = reader.refresh()[3]
    assert (status.messages, status.files, status.largest_gap_us) == (4, 2, 15)


def test_tail_of_an_empty_or_missing_directory(tmp_path: Path) -> None:
    assert run_tail(str(tmp_path)) == (0, "no live log files yet\n")
    assert main(["tail", str(tmp_path / "missing")]) == 1
    (tmp_path / fmt.log_file_name(4, 0)).write_bytes(b"NOTALOG" + bytes(9))
    code, text = run_tail(str(tmp_path))
    assert code == 0 and "not a live log file" in text
