"""transfer_directory with real files: layout, resumption after SIGKILL, verification, failures, removal."""

from __future__ import annotations

import errno
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from processing_helpers import build_tree, independent_checksum, mounted

from ataraxis_data_structures.errors import (
    AxdsError,
    ChecksumFileError,
    DirectoryBusyError,
    FileNameEncodingError,
    TransferRefusedError,
    TransferVerificationError,
    UnsafePathError,
)
from ataraxis_data_structures.processing import (
    MountPointWarning,
    calculate_directory_checksum,
    transfer_directory,
    verify_directory_checksum,
)
from reference_release import needs_reference, run_reference_json


def files_of(root: Path) -> dict[str, bytes]:
    """Returns every regular file under root by relative path, with its content."""
    return {str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


def partial_files(root: Path) -> list[Path]:
    return [p for p in root.rglob("*") if p.name.endswith(".axds-partial")]


def test_copy_preserves_hierarchy_empty_folders_and_times(tmp_path: Path) -> None:
    source = build_tree(tmp_path / "source")
    os.utime(source / "a" / "x.txt", ns=(1_600_000_000_000_000_000, 1_600_000_000_123_456_789))
    os.chmod(source / "a.txt", 0o640)
    destination = tmp_path / "server" / "session"
    transfer_directory(source, destination)
    assert files_of(destination) == files_of(source)
    assert (destination / "empty_folder" / "deeper").is_dir()
    assert (destination / "a" / "x.txt").stat().st_mtime_ns == 1_600_000_000_123_456_789
    assert (destination / "a.txt").stat().st_mode & 0o777 == 0o640
    assert (destination / "a" / "b").stat().st_mtime_ns == (source / "a" / "b").stat().st_mtime_ns
    assert not (source / "ax_checksum.txt").exists()  # only verification creates a checksum
    assert not partial_files(destination)


def test_verified_transfer_creates_checksum_in_source_and_destination(tmp_path: Path) -> None:
    source = build_tree(tmp_path / "source")
    destination = tmp_path / "destination"
    transfer_directory(source, destination, 0, verify_integrity=True)
    expected = independent_checksum(source)
    assert (source / "ax_checksum.txt").read_text() == expected
    assert (destination / "ax_checksum.txt").read_text() == expected
    assert verify_directory_checksum(destination).matches
    assert independent_checksum(destination) == expected


def test_stale_source_checksum_fails_and_keeps_source(tmp_path: Path) -> None:
    source = build_tree(tmp_path / "source")
    calculate_directory_checksum(source)
    (source / "a.txt").write_bytes(b"edited after the checksum was saved")
    with pytest.raises(
        RuntimeError, match=r"source itself changed since its ax_checksum\.txt was written: a\.txt"
    ) as error:
        transfer_directory(source, tmp_path / "destination", verify_integrity=True, remove_source=True)
    assert "source was kept" in str(error.value)
    assert (source / "a.txt").exists()


def test_reference_checksum_without_manifest_is_reused(tmp_path: Path) -> None:
    source = build_tree(tmp_path / "source")
    (source / "ax_checksum.txt").write_text(calculate_directory_checksum(source, save_checksum=False))
    destination = tmp_path / "destination"
    transfer_directory(source, destination, 2, verify_integrity=True)
    assert files_of(destination) == files_of(source)
    # Bit rot at the destination is named even without a manifest (the source is hashed again to find it).
    target = destination / "a" / "x.txt"
    status = target.stat()
    target.write_bytes(b"jello")
    os.utime(target, ns=(status.st_atime_ns, status.st_mtime_ns))
    with pytest.raises(RuntimeError, match=r"1 file\(s\) differ from the source: a/x\.txt\. The source was kept"):
        transfer_directory(source, destination, verify_integrity=True)
    # Without a manifest, a stale checksum still fails; the source is hashed again to name the culprit.
    (source / "A" / "z").write_bytes(b"edited")
    with pytest.raises(RuntimeError, match=r"source itself changed since its ax_checksum\.txt was written\.") as error:
        transfer_directory(source, tmp_path / "other", verify_integrity=True)
    assert "differ from the source" not in str(error.value)  # the copy itself is faithful


def test_corrupted_destination_files_are_named(tmp_path: Path) -> None:
    source = build_tree(tmp_path / "source")
    destination = tmp_path / "destination"
    transfer_directory(source, destination, verify_integrity=True)
    # Bit rot at the destination: same size and time, different bytes, so a rerun does not recopy the file.
    target = destination / "large.bin"
    status = target.stat()
    content = bytearray(target.read_bytes())
    content[1000] ^= 0xFF
    target.write_bytes(bytes(content))
    os.utime(target, ns=(status.st_atime_ns, status.st_mtime_ns))
    with pytest.raises(TransferVerificationError) as error:
        transfer_directory(source, destination, verify_integrity=True, remove_source=True)
    assert isinstance(error.value, RuntimeError)  # what the original releases raise
    assert "1 file(s) differ from the source: large.bin." in str(error.value)
    assert "source itself" not in str(error.value)
    assert files_of(source) == files_of(tmp_path / "destination") | files_of(source)  # nothing removed
    assert (source / "large.bin").exists()
    result = verify_directory_checksum(destination)
    assert result.changed == ("large.bin",)


def test_move_removes_source_after_verified_copy(tmp_path: Path) -> None:
    source = build_tree(tmp_path / "source")
    expected = files_of(source)
    destination = tmp_path / "destination"
    transfer_directory(source, destination, 2, verify_integrity=True, remove_source=True, progress=True)
    assert not source.exists()
    copied = files_of(destination)
    written = {"ax_checksum.txt", ".ax_checksum_manifest/ax_checksum.txt"}
    assert {name: data for name, data in copied.items() if name not in written} == expected
    assert verify_directory_checksum(destination).matches


def test_bad_locations(tmp_path: Path) -> None:
    source = build_tree(tmp_path / "source")
    with pytest.raises(FileNotFoundError, match="missing"):
        transfer_directory(tmp_path / "missing", tmp_path / "destination")
    with pytest.raises(UnsafePathError, match="same"):
        transfer_directory(source, source / "a" / "..")
    with pytest.raises(ValueError, match="inside the source"):
        transfer_directory(source, source / "a" / "copy")
    with pytest.raises(ValueError, match="inside the destination"):
        transfer_directory(source, tmp_path)
    assert not (source / "a" / "copy").exists()
    occupied = tmp_path / "notes.txt"
    occupied.write_text("not a folder")
    with pytest.raises(FileExistsError, match=r"notes\.txt: the destination exists and is not a directory"):
        transfer_directory(source, occupied)
    assert occupied.read_text() == "not a folder"


@pytest.mark.parametrize("kind", ["file_link", "folder_link", "broken"])
def test_symlinks_in_the_source_are_refused_before_anything_is_written(tmp_path: Path, kind: str) -> None:
    # As 7.2.0: a link means something only on its own filesystem; copying it as a file or dropping it loses data.
    source = tmp_path / "source"
    (source / "sub").mkdir(parents=True)
    (source / "data").write_bytes(b"data")
    target = {"file_link": "../data", "folder_link": str(tmp_path), "broken": "nowhere"}[kind]
    os.symlink(target, source / "sub" / kind)
    destination = tmp_path / "destination"
    with pytest.raises(TransferRefusedError, match=rf"symbolic link.*: sub/{kind}\.") as error:
        transfer_directory(source, destination, verify_integrity=True, remove_source=True)
    assert isinstance(error.value, RuntimeError)  # 7.2.0's type
    assert not destination.exists()
    assert (source / "data").exists() and os.path.islink(source / "sub" / kind)


def test_a_source_that_is_a_link_or_holds_a_fifo_is_refused(tmp_path: Path) -> None:
    real = tmp_path / "real"
    real.mkdir()
    (real / "data").write_bytes(b"data")
    os.symlink(real, tmp_path / "link")
    with pytest.raises(TransferRefusedError, match=r"link.*is a symbolic link"):
        transfer_directory(tmp_path / "link", tmp_path / "destination", remove_source=True)
    assert (real / "data").exists() and not (tmp_path / "destination").exists()
    os.mkfifo(real / "pipe")
    with pytest.raises(TransferRefusedError, match=r"neither files nor folders.*: pipe\."):
        transfer_directory(real, tmp_path / "destination")
    assert not (tmp_path / "destination").exists()


def test_a_dirty_destination_is_refused_or_reset(tmp_path: Path) -> None:
    source = build_tree(tmp_path / "source")
    destination = tmp_path / "destination"
    (destination / "old" / "deep").mkdir(parents=True)
    (destination / "old" / "deep" / "stray.bin").write_bytes(b"another recording")
    (destination / "a.txt").write_bytes(b"overwritten: the source has it")
    (destination / "ax_checksum.txt").write_text("0" * 32)  # rewritten by the transfer, never counted
    (destination / ".x.txt.axds-partial").write_bytes(b"a partial file of no source file")
    dirty = r"2 file\(s\) the source does not have.*: \.x\.txt\.axds-partial, old/deep/stray\.bin\."
    with pytest.raises(TransferRefusedError, match=dirty):
        transfer_directory(source, destination, verify_integrity=True)
    assert (destination / "a.txt").read_bytes() == b"overwritten: the source has it"  # nothing written
    assert not (source / "ax_checksum.txt").exists()
    transfer_directory(source, destination, verify_integrity=True, reset_dirty_destination=True)
    assert not (destination / "old" / "deep" / "stray.bin").exists()
    assert (destination / "old" / "deep").is_dir()  # as 7.2.0: only files are removed
    assert verify_directory_checksum(destination).matches
    assert (destination / "a.txt").read_bytes() == b"dot"


def test_verifying_a_source_without_files_is_refused(tmp_path: Path) -> None:
    source = tmp_path / "source"
    (source / "empty").mkdir(parents=True)
    with pytest.raises(TransferRefusedError, match="holds no file the checksum can cover"):
        transfer_directory(source, tmp_path / "destination", verify_integrity=True, remove_source=True)
    assert not (tmp_path / "destination").exists() and (source / "empty").is_dir()
    transfer_directory(source, tmp_path / "destination", remove_source=True)  # without verification: as 7.2.0
    assert (tmp_path / "destination" / "empty").is_dir() and not source.exists()


def test_a_source_holding_only_a_malformed_checksum_file_raises_runtime_error(tmp_path: Path) -> None:
    # 7.2.0 raises RuntimeError (nothing to cover) with these words; code written for it catches RuntimeError.
    source = tmp_path / "source"
    source.mkdir()
    (source / "ax_checksum.txt").write_text("garbage")
    with pytest.raises(RuntimeError, match=r"^Unable to transfer the source directory .* holds no file the checksum"):
        transfer_directory(source, tmp_path / "destination", verify_integrity=True)
    assert not (tmp_path / "destination").exists()


def test_a_malformed_checksum_file_beside_data_is_a_runtime_error_and_a_value_error(tmp_path: Path) -> None:
    # 7.2.0 copies and then raises RuntimeError (checksum mismatch); ours refuses before writing, with an error that
    # both `except RuntimeError` (7.2.0's callers) and `except ValueError` (ours before) catch.
    source = tmp_path / "source"
    source.mkdir()
    (source / "ax_checksum.txt").write_text("garbage")
    (source / "data.bin").write_bytes(b"abc")
    with pytest.raises(ChecksumFileError, match=r"ax_checksum\.txt does not hold") as error:
        transfer_directory(source, tmp_path / "destination", verify_integrity=True, remove_source=True)
    assert isinstance(error.value, RuntimeError) and isinstance(error.value, ValueError)
    assert isinstance(error.value, AxdsError)
    assert (source / "data.bin").read_bytes() == b"abc"


def test_empty_or_relative_working_directory_source_is_refused_when_removing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    work = build_tree(tmp_path / "work")
    monkeypatch.chdir(work)
    for value in (Path(""), "", ".", Path("a/..")):
        with pytest.raises(UnsafePathError, match=r"source=.*working directory"):
            transfer_directory(value, tmp_path / "destination", remove_source=True)  # type: ignore[arg-type]
        with pytest.raises(UnsafePathError, match=r"destination=.*working directory"):
            transfer_directory(tmp_path / "elsewhere", value, reset_dirty_destination=True)
    assert not (tmp_path / "destination").exists() and (work / "a" / "x.txt").exists()
    transfer_directory(Path(""), tmp_path / "destination")  # copying is not destructive
    assert files_of(tmp_path / "destination") == files_of(work)


def test_non_utf8_file_names(tmp_path: Path) -> None:
    # Both original releases fail with a bare UnicodeEncodeError: no checksum exists to match, so the error names
    # the file; a plain copy (as in both releases) still works.
    source = tmp_path / "source"
    (source / "sub").mkdir(parents=True)
    (source / "ok").write_bytes(b"ok")
    with open(os.path.join(os.fsencode(source / "sub"), b"bad\xff.bin"), "wb") as stream:
        stream.write(b"x")
    for call in (
        lambda: calculate_directory_checksum(source),
        lambda: transfer_directory(source, tmp_path / "verified", verify_integrity=True, remove_source=True),
    ):
        with pytest.raises(FileNameEncodingError, match=r"'sub/bad\\xff\.bin' is not valid UTF-8"):
            call()
    assert not (tmp_path / "verified").exists() and not (source / "ax_checksum.txt").exists()
    transfer_directory(source, tmp_path / "copy", remove_source=True)
    assert os.listdir(os.fsencode(tmp_path / "copy" / "sub")) == [b"bad\xff.bin"]
    assert not source.exists()


RESUMABLE_CHILD = """
import sys
from pathlib import Path
from ataraxis_data_structures.processing import transfer_directory
transfer_directory(Path(sys.argv[1]), Path(sys.argv[2]), 1)
"""


@pytest.mark.slow
def test_transfer_killed_midway_then_resumed(tmp_path: Path) -> None:
    source = tmp_path / "source"
    source.mkdir()
    for index in range(32):
        (source / f"part_{index:02d}.bin").write_bytes(bytes([index]) * (4 << 20))
    destination = tmp_path / "destination"
    child = subprocess.Popen(
        [sys.executable, "-c", RESUMABLE_CHILD, str(source), str(destination)],
    )
    os.setpriority(os.PRIO_PROCESS, child.pid, 19)  # keeps the child slower than this watcher on a busy machine
    try:
        finished: list[Path] = []
        while child.poll() is None and len(finished) < 2:
            if destination.exists():
                finished = [p for p in destination.iterdir() if not p.name.startswith(".")]
            time.sleep(0.001)
        child.send_signal(signal.SIGKILL)
    finally:
        child.wait()
    assert child.returncode == -signal.SIGKILL, "the transfer finished before it could be interrupted"
    # Every file under its final name is complete; the interrupted one only exists under its temporary name.
    present = {p.name: p for p in destination.iterdir() if not p.name.startswith(".")}
    assert 2 <= len(present) < 32
    for name, path in present.items():
        assert path.read_bytes() == (source / name).read_bytes()
    inodes = {name: path.stat().st_ino for name, path in present.items()}

    transfer_directory(source, destination, 2, verify_integrity=True)
    assert files_of(destination) == files_of(source)
    assert not partial_files(destination)
    # Files completed before the interruption were kept, not copied again.
    assert {name: (destination / name).stat().st_ino for name in inodes} == inodes
    # A final run that moves the data checks everything again, then removes the source.
    expected = files_of(source)
    transfer_directory(source, destination, verify_integrity=True, remove_source=True)
    assert not source.exists()
    assert files_of(destination) == expected


WRITE_LIMIT_CHILD = """
import json, resource, signal, sys
from pathlib import Path
from ataraxis_data_structures.processing import transfer_directory
signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # writes past the limit fail with EFBIG instead of killing us
resource.setrlimit(resource.RLIMIT_FSIZE, (1 << 20, 1 << 20))
try:
    transfer_directory(Path(sys.argv[1]), Path(sys.argv[2]))
except OSError as error:
    print(json.dumps({"type": type(error).__name__, "message": str(error)}))
"""


def test_failed_write_names_the_file_and_leaves_no_partial(tmp_path: Path) -> None:
    source = tmp_path / "source"
    source.mkdir()
    (source / "small.bin").write_bytes(b"s" * 1000)
    (source / "too_big.bin").write_bytes(b"b" * (3 << 20))
    destination = tmp_path / "destination"
    output = subprocess.run(
        [sys.executable, "-c", WRITE_LIMIT_CHILD, str(source), str(destination)],
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    ).stdout
    failure = json.loads(output.strip().splitlines()[-1])
    assert failure["type"] == "OSError"
    assert "too_big.bin" in failure["message"]
    assert not (destination / "too_big.bin").exists()
    assert not partial_files(destination)


@needs_reference
def test_reference_verifies_our_transfer(tmp_path: Path) -> None:
    source = build_tree(tmp_path / "source")
    destination = tmp_path / "destination"
    transfer_directory(source, destination, verify_integrity=True)
    # The reference's own verified transfer accepts the checksum (and ignores the manifest) we left behind.
    code = (
        "import json; from pathlib import Path; "
        "from ataraxis_data_structures.processing import transfer_directory as t; "
        f"t(Path({str(destination)!r}), Path({str(tmp_path / 'again')!r}), verify_integrity=True); print('true')"
    )
    assert run_reference_json(code) is True


def test_full_disk_names_the_file_and_leaves_no_partial(tmp_path: Path) -> None:
    small_disk = tmp_path / "small_disk"
    small_disk.mkdir()
    mounted = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=1m", "tmpfs", str(small_disk)], capture_output=True, check=False
    )
    if mounted.returncode != 0:
        pytest.skip("mounting a small tmpfs needs root; the write-limit test covers the same path")
    try:
        source = tmp_path / "source"
        source.mkdir()
        (source / "fits.bin").write_bytes(b"f" * 1000)
        (source / "too_big.bin").write_bytes(b"b" * (3 << 20))
        with pytest.raises(OSError, match=r"too_big\.bin.*no space left") as error:
            transfer_directory(source, small_disk / "copy", verify_integrity=True)
        assert error.value.errno == errno.ENOSPC
        assert not (small_disk / "copy" / "too_big.bin").exists()
        assert not partial_files(small_disk)
        assert not (source / "ax_checksum.txt").exists()  # nothing is claimed about a failed transfer
    finally:
        subprocess.run(["umount", str(small_disk)], check=False)


def test_a_source_reached_through_a_bind_mount_is_refused(tmp_path: Path) -> None:
    outer = tmp_path / "outer"
    source = build_tree(outer / "session")
    expected = files_of(source)
    mounted_outer = tmp_path / "mounted_outer"
    mounted_outer.mkdir()
    mounted = subprocess.run(["mount", "--bind", str(outer), str(mounted_outer)], capture_output=True, check=False)
    if mounted.returncode != 0:
        pytest.skip("a bind mount needs root")
    try:
        # The same folder, a folder inside the source, and the source's parent, each reached through the mount.
        for destination, where in (
            (mounted_outer / "session", "the destination is the source"),
            (mounted_outer / "session" / "a" / "copy", "the destination is inside the source"),
            (mounted_outer, "the source is inside the destination"),
        ):
            with pytest.raises(TransferRefusedError, match=where) as error:
                transfer_directory(source, destination, verify_integrity=True, remove_source=True)
            assert str(source) in str(error.value) and str(destination) in str(error.value)
            assert files_of(source) == expected
            assert not (source / "a" / "copy").exists()
    finally:
        subprocess.run(["umount", str(mounted_outer)], check=False)


HOLD_PARTIAL_CHILD = """
import os, sys
from ataraxis_data_structures.file_locks import try_lock_descriptor
descriptor = os.open(sys.argv[1], os.O_WRONLY | os.O_CREAT, 0o600)
assert try_lock_descriptor(descriptor)  # the lock a transfer takes (flock, or the portable lock when forced)
os.write(descriptor, b"half written by another transfer")
print("locked", flush=True)
sys.stdin.read()  # holds the lock until the test closes stdin
"""


def test_a_partial_file_another_transfer_writes_is_left_alone_and_a_stale_one_is_reused(tmp_path: Path) -> None:
    source = tmp_path / "source"
    source.mkdir()
    (source / "big.bin").write_bytes(os.urandom(3 << 20))
    destination = tmp_path / "destination"
    destination.mkdir()
    partial = destination / ".big.bin.axds-partial"
    holder = subprocess.Popen(
        [sys.executable, "-c", HOLD_PARTIAL_CHILD, str(partial)], stdin=subprocess.PIPE, stdout=subprocess.PIPE
    )
    try:
        assert holder.stdout is not None and holder.stdout.readline() == b"locked\n"
        with pytest.raises(DirectoryBusyError, match=r"big\.bin: another transfer is writing that file"):
            transfer_directory(source, destination, remove_source=True)
        assert partial.read_bytes() == b"half written by another transfer"  # neither removed nor written over
        assert not (destination / "big.bin").exists()
        assert (source / "big.bin").exists()
    finally:
        holder.communicate(timeout=60)
    # The holder is gone: its partial file is stale now (even read-only, as a run killed before its rename leaves it).
    os.chmod(partial, 0o444)
    content = (source / "big.bin").read_bytes()
    transfer_directory(source, destination, remove_source=True)
    assert (destination / "big.bin").read_bytes() == content
    assert not partial_files(destination)
    assert not source.exists()


def test_a_verified_rerun_that_removes_the_source_checks_skipped_files_against_the_source(tmp_path: Path) -> None:
    source = tmp_path / "source"
    source.mkdir()
    (source / "rec.bin").write_bytes(b"A" * 4096)
    (source / "other.bin").write_bytes(b"unchanged")
    calculate_directory_checksum(source)
    destination = tmp_path / "destination"
    transfer_directory(source, destination, verify_integrity=True)
    # An in-place edit of the same size that keeps the modification time: the copy still looks complete, and the
    # source's ax_checksum.txt still describes the old content.
    status = (source / "rec.bin").stat()
    with open(source / "rec.bin", "r+b") as stream:
        stream.write(b"FIXED")
    os.utime(source / "rec.bin", ns=(status.st_atime_ns, status.st_mtime_ns))
    with pytest.raises(
        TransferVerificationError,
        match=r"1 file\(s\) at the destination differ from the source.*: rec\.bin\. The source was kept",
    ):
        transfer_directory(source, destination, verify_integrity=True, remove_source=True)
    assert (source / "rec.bin").read_bytes().startswith(b"FIXED")
    assert (destination / "rec.bin").read_bytes() == b"A" * 4096


def test_checksum_files_deeper_in_the_destination_count_as_dirty(tmp_path: Path) -> None:
    source = tmp_path / "source"
    (source / "sub").mkdir(parents=True)
    (source / "sub" / "x.bin").write_bytes(b"new data")
    destination = tmp_path / "destination"
    (destination / "sub" / ".ax_checksum_manifest").mkdir(parents=True)
    (destination / "ax_checksum.txt").write_text("0" * 32)
    (destination / "sub" / "ax_checksum.txt").write_text("1" * 32)
    (destination / "sub" / ".ax_checksum_manifest" / "ax_checksum.txt").write_text("{}")
    # Without verification, nothing rewrites even the top-level checksum, so it counts too.
    dirty = r"3 file\(s\).*: ax_checksum\.txt, sub/\.ax_checksum_manifest/ax_checksum\.txt, sub/ax_checksum\.txt\."
    with pytest.raises(TransferRefusedError, match=dirty):
        transfer_directory(source, destination, remove_source=True)
    with pytest.raises(TransferRefusedError, match=r"2 file\(s\).*: sub/\.ax_checksum_manifest/ax_checksum\.txt, sub/"):
        transfer_directory(source, destination, verify_integrity=True, remove_source=True)
    transfer_directory(source, destination, verify_integrity=True, remove_source=True, reset_dirty_destination=True)
    assert not (destination / "sub" / "ax_checksum.txt").exists()
    assert verify_directory_checksum(destination).matches
    assert not source.exists()


def test_a_source_named_through_dotdot_is_removed_entirely(tmp_path: Path) -> None:
    source = tmp_path / "source"
    (source / "sub").mkdir(parents=True)
    (source / "a.bin").write_bytes(b"a")
    destination = tmp_path / "destination"
    transfer_directory(source / "sub" / "..", destination, remove_source=True)
    assert not source.exists()
    assert files_of(destination) == {"a.bin": b"a"}
    assert (destination / "sub").is_dir()


def test_a_mount_point_source_is_moved_and_the_root_stays_with_a_warning(tmp_path: Path) -> None:
    # Every file is copied, verified and removed; the source root cannot be removed while mounted (EBUSY), which
    # is not a failed transfer.
    with mounted(tmp_path / "card") as source:
        build_tree(source)
        expected = files_of(source)
        inner = source / "a" / "inner"
        with mounted(inner):  # a filesystem mounted inside the source: moved too, its folder stays
            (inner / "deep.bin").write_bytes(b"on another filesystem")
            expected_inner = {**expected, "a/inner/deep.bin": b"on another filesystem"}
            with pytest.warns(MountPointWarning, match=r"2 mount point\(s\) stay") as caught:
                transfer_directory(source, tmp_path / "copy", verify_integrity=True, remove_source=True)
            assert str(source) in str(caught[0].message) and str(inner) in str(caught[0].message)
            copied = files_of(tmp_path / "copy")
            assert {k: v for k, v in copied.items() if "ax_checksum" not in k.split("/")[0]} == expected_inner
            assert verify_directory_checksum(tmp_path / "copy").matches
            assert [path.relative_to(source) for path in source.rglob("*")] == [Path("a"), Path("a/inner")]
            assert not list(inner.iterdir())
