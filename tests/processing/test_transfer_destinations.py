"""transfer_directory(source, [destination, ...]): one read, every copy read back and verified, the source removed only
once every destination verified. Real files, a real full filesystem (tmpfs), a real SIGKILL."""

from __future__ import annotations

import os
import re
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import xxhash
from processing_helpers import independent_checksum, mounted

from ataraxis_data_structures.errors import TransferVerificationError, UnsafePathError
from ataraxis_data_structures.processing import DestinationReport, fanout, transfer_directory
from ataraxis_data_structures.processing.transfer import PARTIAL_SUFFIX

CHILDREN = Path(__file__).with_name("transfer_destinations_children.py")


def make_source(root: Path, large: int = 0) -> dict[str, str]:
    """Writes a small session tree (plus one file of `large` bytes when asked); returns each file's xxh64."""
    files = {
        "raw/frames.bin": os.urandom(300_000),
        "raw/log.npz": os.urandom(5_000),
        "meta/session.yaml": b"animal: A1\n",
        "empty.txt": b"",
    }
    if large:
        files["raw/video.bin"] = os.urandom(large)
    for relative, data in files.items():
        (root / relative).parent.mkdir(parents=True, exist_ok=True)
        (root / relative).write_bytes(data)
    return {relative: xxhash.xxh64(data).hexdigest() for relative, data in files.items()}


def content(folder: Path) -> dict[str, str]:
    """Returns the xxh64 of every file under folder except the checksum files, by relative path."""
    return {
        str(path.relative_to(folder)): xxhash.xxh64(path.read_bytes()).hexdigest()
        for path in folder.rglob("*")
        if path.is_file() and path.name != "ax_checksum.txt"
    }


def test_every_destination_gets_a_verified_copy_and_a_report(tmp_path: Path) -> None:
    source = tmp_path / "session"
    expected = make_source(source)
    first, second = tmp_path / "nas", tmp_path / "server"
    reports = transfer_directory(source, [first, second], 2)
    assert [report.destination for report in reports] == [first, second]
    for report in reports:
        assert isinstance(report, DestinationReport)
        assert report.verified
        assert (report.files_copied, report.files_present, report.files_verified) == (4, 0, 4)
        assert report.bytes_copied == 305_011
        assert report.first_mismatch is None
        assert "verified, 4 copied, 0 already there, 4/4 verified" in report.describe()
    for destination in (first, second):
        assert content(destination) == content(source)
        # The checksum of the bytes read, saved as a single verified transfer saves it: the same digest everywhere.
        assert (destination / "ax_checksum.txt").read_text() == independent_checksum(source)
    assert content(source) == expected
    # A rerun finds every copy complete, reads each back and verifies it; it copies at most the checksum and manifest
    # the first run saved in the source (their modification time may differ from the destinations' own by a tick).
    again = transfer_directory(source, [first, second])
    for report in again:
        assert report.files_verified == report.files_total == 6
        assert report.files_copied + report.files_present == 6
        assert report.bytes_copied <= len((source / "ax_checksum.txt").read_bytes()) + len(
            (source / ".ax_checksum_manifest" / "ax_checksum.txt").read_bytes()
        )


def test_the_single_destination_call_is_unchanged(tmp_path: Path) -> None:
    source = tmp_path / "session"
    make_source(source)
    assert transfer_directory(source, tmp_path / "copy") is None
    assert transfer_directory(source, str(tmp_path / "copy_as_text")) is None
    assert not (tmp_path / "copy" / "ax_checksum.txt").exists()


def test_overlapping_destinations_are_refused_before_anything_is_written(tmp_path: Path) -> None:
    source = tmp_path / "session"
    make_source(source)
    with pytest.raises(UnsafePathError, match="overlap"):
        transfer_directory(source, [tmp_path / "a", tmp_path / "a" / "inner"])
    assert not (tmp_path / "a").exists()


@pytest.mark.slow
def test_a_destination_that_fills_up_keeps_the_source_and_a_rerun_resumes_it(tmp_path: Path) -> None:
    source = tmp_path / "session"
    expected = make_source(source, large=1_500_000)
    roomy, small = tmp_path / "roomy", tmp_path / "small"
    with mounted(small, "-t", "tmpfs", "-o", "size=1m", "tmpfs"):
        with pytest.raises(TransferVerificationError, match="No space left") as caught:
            transfer_directory(source, [roomy, small], remove_source=True)
        reports = caught.value.reports  # type: ignore[attr-defined]
        assert reports[0].verified and reports[0].files_verified == 5
        assert not reports[1].verified and "No space left" in (reports[1].error or "")
        assert content(source) == expected  # the source is untouched: one destination failed
        assert not [path for path in small.rglob("*") if path.name.endswith(PARTIAL_SUFFIX)]
        assert not (small / "raw" / "video.bin").exists()  # no truncated file under its final name
        subprocess.run(["mount", "-o", "remount,size=8m", str(small)], check=True)
        resumed = transfer_directory(source, [roomy, small], remove_source=True)
        assert resumed[0].files_copied == 0 and resumed[0].files_present == 5  # the roomy one is not written again
        assert resumed[1].verified
        assert not source.exists()
        assert content(roomy) == content(small) == expected


def test_a_copy_that_reads_back_a_wrong_byte_fails_that_destination_and_keeps_the_source(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The fault is injected between the write and the read-back, through a real write to the real destination file
    # (as a failing disk or share would return other bytes than were written); nothing about the filesystem is mocked.
    source = tmp_path / "session"
    expected = make_source(source)
    good, bad = tmp_path / "good", tmp_path / "bad"

    def flip(target: str) -> None:
        if target.startswith(str(bad)) and target.endswith("frames.bin"):
            with open(target, "r+b") as stream:
                stream.seek(1234)
                byte = stream.read(1)
                stream.seek(1234)
                stream.write(bytes([byte[0] ^ 0xFF]))

    monkeypatch.setattr(fanout, "before_read_back", flip)
    with pytest.raises(TransferVerificationError, match=r"first mismatch: raw/frames\.bin") as caught:
        transfer_directory(source, [good, bad], remove_source=True)
    reports = caught.value.reports  # type: ignore[attr-defined]
    assert reports[0].verified
    assert reports[1].first_mismatch == "raw/frames.bin" and reports[1].files_verified == 3
    assert content(source) == expected
    assert not (bad / "raw" / "frames.bin").exists()  # the bad copy is removed, so a rerun copies it again
    monkeypatch.setattr(fanout, "before_read_back", None)
    resumed = transfer_directory(source, [good, bad], remove_source=True)
    assert resumed[1].files_copied == 1 and resumed[1].verified
    assert not source.exists()
    assert content(good) == content(bad) == expected


def _corrupt_beneath_the_filesystem(image: Path, target: str, offset: int) -> None:
    """Flips the byte at offset of the file target in the ext4 image mounted from image, writing to the image file
    itself: the mounted filesystem's cached pages keep the old byte; only a read from storage sees the new one."""
    report = subprocess.run(["filefrag", "-v", target], capture_output=True, text=True, check=True).stdout
    block = int(re.search(r"blocks of (\d+) bytes", report).group(1))  # type: ignore[union-attr]
    physical = int(re.search(r"^\s*0:\s+0\.\.\s*\d+:\s+(\d+)\.\.", report, re.MULTILINE).group(1))  # type: ignore[union-attr]
    with open(image, "r+b") as stream:
        stream.seek(physical * block + offset)
        byte = stream.read(1)
        stream.seek(physical * block + offset)
        stream.write(bytes([byte[0] ^ 0xFF]))
        stream.flush()
        os.fsync(stream.fileno())


@pytest.mark.slow
@pytest.mark.parametrize(
    "corrupted",
    [
        "raw/frames.bin",  # a small file: read back once every copy is placed and the destinations were flushed
        "raw/video.bin",  # a large file: read back while the small files are still being copied
    ],
)
def test_a_disk_returning_a_wrong_byte_is_caught_by_reading_past_the_page_cache(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, corrupted: str
) -> None:
    # A real ext4 filesystem on a loop device; the byte is changed in its backing image after the copy was flushed,
    # as a failing disk or share would return it. A read served by the page cache would still see the right byte
    # (checked below): only the drop of the cached pages before the read-back lets the transfer see the bad one.
    if shutil.which("mkfs.ext4") is None or shutil.which("filefrag") is None:
        pytest.skip("needs mkfs.ext4 and filefrag (e2fsprogs)")
    source = tmp_path / "session"
    expected = make_source(source, large=2_000_000)
    image = tmp_path / "disk.img"
    with open(image, "wb") as stream:
        stream.truncate(32 << 20)
    subprocess.run(["mkfs.ext4", "-q", "-F", str(image)], check=True)
    good, disk = tmp_path / "good", tmp_path / "disk"
    cached_reads: list[bytes] = []

    def fail_the_disk(target: str) -> None:
        if target.startswith(str(disk)) and target.endswith(corrupted):
            _corrupt_beneath_the_filesystem(image, target, 1234)
            with open(target, "rb") as stream:  # through the page cache: still the byte that was written
                stream.seek(1234)
                cached_reads.append(stream.read(1))

    with mounted(disk, "-o", "loop", str(image)):
        monkeypatch.setattr(fanout, "before_read_back", fail_the_disk)
        with pytest.raises(TransferVerificationError, match=f"first mismatch: {re.escape(corrupted)}") as caught:
            transfer_directory(source, [good, disk / "session"], remove_source=True)
        assert cached_reads == [(source / corrupted).read_bytes()[1234:1235]]
        reports = caught.value.reports  # type: ignore[attr-defined]
        assert reports[0].verified and not reports[1].verified
        assert reports[1].first_mismatch == corrupted
        assert content(source) == expected


@pytest.mark.slow
def test_a_transfer_killed_midway_loses_nothing_and_a_rerun_finishes_it(tmp_path: Path) -> None:
    source = tmp_path / "session"
    expected = make_source(source, large=2_000_000)
    destinations = [tmp_path / "nas", tmp_path / "server"]
    marker = tmp_path / "parked"
    child = subprocess.Popen(
        [sys.executable, str(CHILDREN), str(source), str(marker), "3", *map(str, destinations)],
        env={**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)},
    )
    try:
        deadline = time.monotonic() + 60
        while not marker.exists() and child.poll() is None and time.monotonic() < deadline:
            time.sleep(0.02)
        assert marker.exists(), "the child transfer never reached its third copy"
        child.send_signal(signal.SIGKILL)
        child.wait()
    finally:
        if child.poll() is None:
            child.kill()
    assert content(source) == expected  # killed before every destination verified: the source is whole
    reports = transfer_directory(source, destinations, remove_source=True)
    assert all(report.verified for report in reports)
    assert sum(report.files_present for report in reports) >= 2  # the copies placed before the kill were reused
    assert not source.exists()
    for destination in destinations:
        assert content(destination) == expected
        assert not [path for path in destination.rglob("*") if path.name.endswith(PARTIAL_SUFFIX)]
