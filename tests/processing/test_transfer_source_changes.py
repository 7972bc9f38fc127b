"""A transfer whose source a real recorder process keeps writing to: nothing it wrote may be removed or lost.

The transfer runs in a child process that the test stops (SIGSTOP) once it is copying, so that the recorder's writes
land after the transfer's scan for certain, whatever the machine's load; it is then resumed and must notice them.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import xxhash

from ataraxis_data_structures.processing import transfer_directory, verify_directory_checksum

CHILDREN = Path(__file__).with_name("transfer_source_children.py")
TIMEOUT = 60.0


def wait_for(condition: object, what: str) -> None:
    """Polls condition() until it is true; fails naming what was awaited after a generous timeout."""
    deadline = time.monotonic() + TIMEOUT
    while not condition():  # type: ignore[operator]
        if time.monotonic() > deadline:
            pytest.fail(f"timed out waiting for {what}")
        time.sleep(0.001)


def content_of(folder: Path) -> dict[str, list[object]]:
    """Returns name -> [size, xxh64] of the files directly in folder (the recorder's report format)."""
    return {
        path.name: [path.stat().st_size, xxhash.xxh64(path.read_bytes()).hexdigest()]
        for path in folder.iterdir()
        if path.is_file()
    }


def new_files(folder: Path) -> int:
    return sum(1 for name in os.listdir(folder) if name.startswith("new_"))


def transfer_during_recording(tmp_path: Path, flags: list[str]) -> tuple[dict[str, object], dict[str, list[object]]]:
    """Runs a transfer while the recorder writes; returns the transfer's outcome and the recorder's report.

    Retries (with a fresh tree) in the rare case the transfer finished its large file before it could be stopped.
    """
    for attempt in range(5):
        root = tmp_path / f"attempt_{attempt}"
        source, destination = root / "source", root / "destination"
        source.mkdir(parents=True)
        (source / "big.bin").write_bytes(bytes(range(256)) * (256 << 10))  # 64 MiB: copied first, takes a while
        (source / "notes.txt").write_text("session notes")
        stop_file, report_file = root / "stop", root / "report.json"
        writer = subprocess.Popen(
            [sys.executable, str(CHILDREN), "writer", str(source), str(stop_file), str(report_file)]
        )
        try:
            wait_for(lambda: new_files(source) >= 2, "the recorder to start")  # noqa: B023
            transfer = subprocess.Popen(
                [sys.executable, str(CHILDREN), "transfer", str(source), str(destination), *flags],
                stdout=subprocess.PIPE,
                text=True,
            )
            partial = destination / ".big.bin.axds-partial"
            wait_for(lambda: partial.exists() or transfer.poll() is not None, "the transfer to start copying")  # noqa: B023
            transfer.send_signal(signal.SIGSTOP)
            stopped_while_copying = partial.exists() and transfer.poll() is None
            if stopped_while_copying:
                # The scan is done and the copy is not: the recorder's next writes are changes during the transfer.
                seen = new_files(source)
                wait_for(lambda: new_files(source) >= seen + 2, "the recorder to write during the transfer")  # noqa: B023
            transfer.send_signal(signal.SIGCONT)
            output, _ = transfer.communicate(timeout=TIMEOUT)
        finally:
            stop_file.touch()
            writer.wait(timeout=TIMEOUT)
        if stopped_while_copying:
            outcome = json.loads(output.strip().splitlines()[-1])
            report = json.loads(report_file.read_text())
            outcome["source"], outcome["destination"] = source, destination
            return outcome, report
    pytest.fail("the transfer finished its 64 MiB file before it could be stopped, five times")


@pytest.mark.slow
@pytest.mark.parametrize("flags", [["verify", "remove"], ["remove"], ["verify"]])
def test_files_changed_or_created_during_the_transfer_are_kept_and_named(tmp_path: Path, flags: list[str]) -> None:
    outcome, report = transfer_during_recording(tmp_path, flags)
    source, destination = Path(str(outcome["source"])), Path(str(outcome["destination"]))
    assert outcome["error_type"] == "TransferSourceChangedError", outcome
    message = str(outcome["message"])
    assert "live.bin" in message and "changed" in message
    assert "appeared: new_" in message
    assert "Nothing was removed from the source" in message
    # Everything the recorder wrote is in the source, byte for byte; nothing else was removed either.
    present = content_of(source)
    assert {name: present.get(name) for name in report} == report
    assert (source / "big.bin").stat().st_size == 64 << 20 and (source / "notes.txt").exists()
    # No checksum claims to describe a source that was still changing.
    assert not (source / "ax_checksum.txt").exists() and not (destination / "ax_checksum.txt").exists()

    # Once the recorder has stopped, the same call moves everything (complete copies are not made again).
    big_inode = (destination / "big.bin").stat().st_ino
    transfer_directory(source, destination, verify_integrity=True, remove_source=True)
    assert not source.exists()
    moved = content_of(destination)
    assert {name: moved.get(name) for name in report} == report
    assert (destination / "big.bin").stat().st_ino == big_inode
    assert verify_directory_checksum(destination).matches


@pytest.mark.slow
def test_a_plain_copy_of_a_changing_source_warns_at_the_callers_line(tmp_path: Path) -> None:
    outcome, report = transfer_during_recording(tmp_path, [])
    assert outcome["error_type"] is None, outcome
    warnings = outcome["warnings"]
    assert isinstance(warnings, list) and len(warnings) == 1
    assert "live.bin" in warnings[0]["message"] and "appeared: new_" in warnings[0]["message"]
    assert warnings[0]["filename"] == str(CHILDREN)  # the caller's file, not the library's
    source = Path(str(outcome["source"]))
    present = content_of(source)
    assert {name: present.get(name) for name in report} == report


def test_removal_keeps_a_file_changed_after_the_last_scan_and_anything_new(tmp_path: Path) -> None:
    # The instant between the second scan and the removal cannot be hit from outside on purpose, so the removal
    # step itself is given a scan that a file and a folder have since outgrown.
    from ataraxis_data_structures.errors import TransferSourceChangedError
    from ataraxis_data_structures.processing._tree import scan_tree
    from ataraxis_data_structures.processing.transfer import _remove_source

    source = tmp_path / "source"
    for folder in ("a", "b", "c/d"):
        (source / folder).mkdir(parents=True)
        for index in range(300):
            (source / folder / f"{index}.bin").write_bytes(b"x")
    tree = scan_tree(source)
    with open(source / "b" / "7.bin", "ab") as stream:  # a recorder appends right before the removal
        stream.write(b"late")
    (source / "c" / "d" / "new.bin").write_bytes(b"new")
    with pytest.raises(TransferSourceChangedError) as error:
        _remove_source(source, tmp_path / "destination", tree)
    message = str(error.value)
    assert "1 file(s) changed right before their removal and were kept: b/7.bin" in message
    assert "c/d/new.bin" in message and "Errno" not in message
    assert (source / "b" / "7.bin").read_bytes() == b"xlate" and (source / "c" / "d" / "new.bin").exists()
    assert sorted(str(p.relative_to(source)) for p in source.rglob("*")) == ["b", "b/7.bin", "c", "c/d", "c/d/new.bin"]


def test_hard_links_in_the_source_are_removed_without_a_false_change(tmp_path: Path) -> None:
    # Unlinking one name of a hard-linked file changes the file's change time, which must not count as a change of
    # its other names; a link to a file outside the source is still checked as any file.
    source = tmp_path / "source"
    (source / "sub").mkdir(parents=True)
    (source / "a.bin").write_bytes(os.urandom(5000))
    os.link(source / "a.bin", source / "b.bin")
    os.link(source / "a.bin", source / "sub" / "c.bin")
    outside = tmp_path / "outside.bin"
    outside.write_bytes(b"kept outside")
    os.link(outside, source / "d.bin")
    for index in range(600):  # more files than one removal batch
        (source / f"plain_{index:03d}.bin").write_bytes(b"p")
    content = (source / "a.bin").read_bytes()
    destination = tmp_path / "destination"
    transfer_directory(source, destination, 4, verify_integrity=True, remove_source=True)
    assert not source.exists()
    for name in ("a.bin", "b.bin", "sub/c.bin"):
        assert (destination / name).read_bytes() == content
    assert (destination / "d.bin").read_bytes() == b"kept outside"
    assert outside.read_bytes() == b"kept outside" and outside.stat().st_nlink == 1
