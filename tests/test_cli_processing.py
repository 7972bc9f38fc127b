"""The axds checksum / verify / transfer commands, run as real processes: output, exit codes, one-line errors."""

from __future__ import annotations

import os
import select
import signal
import subprocess
import sys
from pathlib import Path

import pytest
import xxhash


def axds(*args: str | Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "ataraxis_data_structures.cli", *map(str, args)],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def make_tree(root: Path) -> Path:
    (root / "sub").mkdir(parents=True)
    (root / "sub" / "data.bin").write_bytes(b"\x01" * 5000)
    (root / "notes.txt").write_text("recording notes")
    return root


def expected_checksum(root: Path) -> str:
    directory = xxhash.xxh3_128()
    for relative in ("notes.txt", "sub/data.bin"):
        directory.update(relative.encode())
        directory.update(xxhash.xxh3_128(relative.encode() + (root / relative).read_bytes()).digest())
    return directory.hexdigest()


def test_checksum_then_verify(tmp_path: Path) -> None:
    tree = make_tree(tmp_path / "tree")
    result = axds("checksum", tree, "--processes", "2")
    assert result.returncode == 0
    assert result.stdout.strip() == expected_checksum(tree)
    assert "Calculating checksum" in result.stderr  # the progress bar
    assert (tree / "ax_checksum.txt").read_text() == expected_checksum(tree)
    verified = axds("verify", "--quiet", tree)
    assert verified.returncode == 0
    assert verified.stderr == ""
    assert "matches" in verified.stdout


@pytest.mark.slow
def test_verify_failure_names_files_in_one_line(tmp_path: Path) -> None:
    tree = make_tree(tmp_path / "tree")
    assert axds("checksum", "-q", tree).returncode == 0
    (tree / "sub" / "data.bin").write_bytes(b"\x02" * 5000)
    result = axds("verify", "-q", tree)
    assert result.returncode == 1
    assert result.stderr.count("\n") == 1
    assert result.stderr.startswith("axds verify: ")
    assert "sub/data.bin" in result.stderr
    missing = axds("verify", "-q", tmp_path / "nowhere")
    assert missing.returncode == 1
    assert "nowhere" in missing.stderr


def test_checksum_no_save(tmp_path: Path) -> None:
    tree = make_tree(tmp_path / "tree")
    result = axds("checksum", "--no-save", "-q", tree)
    assert result.returncode == 0
    assert result.stdout.strip() == expected_checksum(tree)
    assert not (tree / "ax_checksum.txt").exists()


def test_transfer_verify_and_move(tmp_path: Path) -> None:
    tree = make_tree(tmp_path / "tree")
    destination = tmp_path / "server" / "tree"
    result = axds("transfer", tree, destination, "--verify", "--move", "--threads", "0")
    assert result.returncode == 0, result.stderr
    assert "Transferring" in result.stderr
    assert not tree.exists()
    assert (destination / "sub" / "data.bin").read_bytes() == b"\x01" * 5000
    assert (destination / "ax_checksum.txt").read_text() == expected_checksum(destination)


@pytest.mark.slow
def test_transfer_errors_are_one_line(tmp_path: Path) -> None:
    tree = make_tree(tmp_path / "tree")
    inside = axds("transfer", "-q", tree, tree / "copy")
    assert inside.returncode == 1
    assert inside.stderr.strip().splitlines() == [inside.stderr.strip()]
    assert "inside the source" in inside.stderr
    missing = axds("transfer", "-q", tmp_path / "missing", tmp_path / "copy")
    assert missing.returncode == 1
    assert "does not exist" in missing.stderr
    usage = axds("transfer", tree)
    assert usage.returncode == 2


def test_a_dirty_destination_fails_naming_the_file_unless_reset(tmp_path: Path) -> None:
    tree = make_tree(tmp_path / "tree")
    destination = tmp_path / "server"
    destination.mkdir()
    (destination / "other_session.bin").write_bytes(b"another recording")
    refused = axds("transfer", "-q", "--verify", tree, destination)
    assert refused.returncode == 1
    assert refused.stderr.startswith("axds transfer: ") and refused.stderr.count("\n") == 1
    assert "other_session.bin" in refused.stderr and "reset_dirty_destination" in refused.stderr
    assert not (destination / "notes.txt").exists()
    reset = axds("transfer", "-q", "--verify", "--reset-dirty", tree, destination)
    assert reset.returncode == 0, reset.stderr
    assert not (destination / "other_session.bin").exists()
    assert (destination / "notes.txt").read_text() == "recording notes"


@pytest.mark.slow
def test_an_empty_path_argument_is_a_usage_error_not_the_working_directory(tmp_path: Path) -> None:
    # axds transfer "$SESSION" dst --move with SESSION unset would otherwise move (and empty) the working directory.
    work = make_tree(tmp_path / "work")
    result = subprocess.run(
        [sys.executable, "-m", "ataraxis_data_structures.cli", "transfer", "-q", "--move", "", str(tmp_path / "dst")],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
        cwd=work,
    )
    assert result.returncode == 2
    assert "argument SRC: the path is empty" in result.stderr
    assert (work / "notes.txt").read_text() == "recording notes" and not (tmp_path / "dst").exists()
    for command in (("checksum", ""), ("verify", ""), ("assemble", ""), ("inspect", ""), ("tracker", "show", "")):
        assert axds(*command).returncode == 2
    assert not (work / "ax_checksum.txt").exists()


def test_moving_the_working_directory_given_as_dot_is_refused_but_absolute_works(tmp_path: Path) -> None:
    # '.' is what Path("") becomes: moving it is refused; the same folder given absolutely is a deliberate choice.
    work = make_tree(tmp_path / "work")
    for spelling in (".", str(work)):
        result = subprocess.run(
            [sys.executable, "-m", "ataraxis_data_structures.cli", "transfer", "--move", spelling, tmp_path / "d"],
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
            cwd=work,
        )
        if spelling == ".":
            assert result.returncode == 1
            assert "source='.'" in result.stderr and "working directory" in result.stderr
            assert (work / "notes.txt").exists() and not (tmp_path / "d").exists()
        else:
            assert result.returncode == 0, result.stderr
    assert not work.exists()
    assert (tmp_path / "d" / "notes.txt").read_text() == "recording notes"


# Runs `axds ARGS...` (python -c HELD_CLI READY RELEASE AFTER ARGS...) with an audit hook that holds every copy after
# the first AFTER once its temporary file is fully written (at the fchmod before its rename): it writes a byte to
# READY, then waits to read RELEASE. The test thus knows that the transfer is mid-way, with a temporary file on disk,
# whatever the machine's load, before it sends Ctrl+C (a watcher polling the destination could be descheduled until
# the child had copied everything, and then saw exit 0 instead of 130).
HELD_CLI = """
import os, runpy, sys
ready, release, after = (int(sys.argv.pop(1)) for _ in range(3))
placed = 0
def hold(event, args):
    global placed
    if event == "os.chmod" and isinstance(args[0], int):
        placed += 1
        if placed > after:
            os.write(ready, b"x")
            os.read(release, 1)  # the main thread's wait ends with Ctrl+C (EINTR), a worker's when released
sys.addaudithook(hold)
runpy.run_module("ataraxis_data_structures.cli", run_name="__main__")
"""


@pytest.mark.slow
@pytest.mark.parametrize("threads", ["1", "2"])
def test_interrupted_transfer_exits_130_and_leaves_only_complete_files(tmp_path: Path, threads: str) -> None:
    source = tmp_path / "source"
    source.mkdir()
    for index in range(32):
        (source / f"part_{index:02d}.bin").write_bytes(bytes([index]) * (1 << 20))
    destination = tmp_path / "destination"
    ready_read, ready_write = os.pipe()
    release_read, release_write = os.pipe()
    arguments = ["transfer", "-q", "--threads", threads, str(source), str(destination)]
    child = subprocess.Popen(
        [sys.executable, "-c", HELD_CLI, str(ready_write), str(release_read), "3", *arguments],
        stderr=subprocess.PIPE,
        text=True,
        pass_fds=(ready_write, release_read),
    )
    os.close(ready_write)
    os.close(release_read)
    try:
        assert select.select([ready_read], [], [], 120)[0] and os.read(ready_read, 1) == b"x", "no copy was held"
        child.send_signal(signal.SIGINT)
    finally:
        os.close(release_write)  # every held copy (and any later one) goes on: the threads finish the file in hand
        os.close(ready_read)
    _, stderr = child.communicate(timeout=120)
    assert child.returncode == 130, stderr
    assert "interrupted" in stderr
    names = sorted(path.name for path in destination.iterdir())
    assert len(names) < 32
    assert not [name for name in names if name.endswith(".axds-partial")]
    for name in names:
        assert (destination / name).read_bytes() == (source / name).read_bytes()


@pytest.mark.slow
def test_transfer_to_two_destinations_prints_one_report_each_and_removes_the_source(tmp_path: Path) -> None:
    tree = make_tree(tmp_path / "tree")
    first, second = tmp_path / "nas", tmp_path / "server"
    result = axds("transfer", "-q", tree, first, second, "--remove-source")
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[0].startswith(f"{first}: verified, 2 copied, 0 already there, 2/2 verified, 5015 bytes")
    assert lines[1].startswith(f"{second}: verified, 2 copied")
    assert lines[2] == f"moved {tree} to 2 destinations (verified)"
    assert not tree.exists()
    assert (first / "sub" / "data.bin").read_bytes() == (second / "sub" / "data.bin").read_bytes() == b"\x01" * 5000


@pytest.mark.slow
def test_checksum_manifests_and_verify_against_them(tmp_path: Path) -> None:
    tree = make_tree(tmp_path / "tree")
    written = axds("checksum", "-q", "--manifest", "sha256", tree)
    assert written.returncode == 0, written.stderr
    assert written.stdout.splitlines()[-1] == (tree / "ax_checksum.txt").read_text()
    assert subprocess.run(["sha256sum", "-c", "manifest-sha256.txt"], cwd=tree, capture_output=True).returncode == 0
    bag = axds("checksum", "-q", "--manifest", "bagit", "--bag", tmp_path / "tree.bagit", tree)
    assert bag.returncode == 0, bag.stderr
    assert (tmp_path / "tree.bagit" / "bagit.txt").is_file()
    same = axds("verify", "-q", tree, "--against", tree / "manifest-sha256.txt")
    assert same.returncode == 0
    assert same.stdout.splitlines()[:2] == ["same    notes.txt", "same    sub/data.bin"]
    (tree / "sub" / "data.bin").write_bytes(b"\x02")
    (tree / "extra.txt").write_text("new")
    differs = axds("verify", "-q", tree, "--against", tmp_path / "tree.bagit")
    assert differs.returncode == 1
    assert "differs sub/data.bin" in differs.stdout.splitlines()
    assert "extra   extra.txt" in differs.stdout.splitlines()
    assert differs.stderr.count("\n") == 1 and "sub/data.bin" in differs.stderr
