"""Shared files keep owner, group and mode across rewrites by to_yaml and the tracker (real chown, real accounts
switched to with os.setuid in a child process), and a full disk gives an error that names the file."""

from __future__ import annotations

import errno
import os
import shutil
import stat
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest
from durable_owner_children import SharedConfig

from ataraxis_data_structures import ProcessingStatus, ProcessingTracker

CHILD = Path(__file__).with_name("durable_owner_children.py")
OWNER, MEMBER, OUTSIDER, LAB = 41000, 41001, 41002, 42000  # uids and the lab's gid; no account names needed

needs_root = pytest.mark.skipif(not hasattr(os, "geteuid") or os.geteuid() != 0, reason="needs root to chown")


@pytest.fixture
def shared_dir() -> Iterator[Path]:
    """A folder every account can write, outside pytest's root-only tmp_path."""
    folder = Path(tempfile.mkdtemp(prefix="axds-shared-", dir="/tmp"))
    folder.chmod(0o777)
    yield folder
    shutil.rmtree(folder)


def _owned(path: Path, uid: int, gid: int, mode: int) -> None:
    os.chown(path, uid, gid)
    path.chmod(mode)


def _ownership(path: Path) -> tuple[int, int, int]:
    info = path.stat()
    return info.st_uid, info.st_gid, stat.S_IMODE(info.st_mode)


def _write_as(uid: int, groups: list[int], *args: str) -> subprocess.CompletedProcess[str]:
    command = [sys.executable, str(CHILD), args[0], args[1], str(uid), ",".join(map(str, groups)), *args[2:]]
    return subprocess.run(command, capture_output=True, text=True, timeout=120, check=True)


@needs_root
def test_root_rewriting_a_config_keeps_its_owner_group_and_mode(shared_dir: Path) -> None:
    path = shared_dir / "config.yaml"
    SharedConfig(note="first").to_yaml(path)
    _owned(path, OWNER, LAB, 0o660)
    SharedConfig(note="second").to_yaml(path)
    assert _ownership(path) == (OWNER, LAB, 0o660)
    assert SharedConfig.from_yaml(path).note == "second"


@needs_root
def test_a_group_member_rewriting_a_config_keeps_the_group_and_mode(shared_dir: Path) -> None:
    path = shared_dir / "config.yaml"
    SharedConfig(note="first").to_yaml(path)
    _owned(path, OWNER, LAB, 0o660)
    done = _write_as(MEMBER, [LAB], "config", str(path))
    assert done.stdout.strip() == "ok", done.stdout + done.stderr
    # Only root can give a file away: the writer becomes its owner, the lab group keeps its access.
    assert _ownership(path) == (MEMBER, LAB, 0o660)
    assert f"Rewrote {path} as uid {MEMBER}" in done.stderr
    assert SharedConfig.from_yaml(path).note == f"by {MEMBER}"
    assert sorted(item.name for item in shared_dir.iterdir()) == ["config.yaml"]


@needs_root
def test_a_writer_outside_the_group_rewrites_in_place_so_the_group_keeps_access(shared_dir: Path) -> None:
    path = shared_dir / "config.yaml"
    SharedConfig(note="a much longer first note than the one that replaces it").to_yaml(path)
    _owned(path, OWNER, LAB, 0o666)
    inode = path.stat().st_ino
    done = _write_as(OUTSIDER, [OUTSIDER], "config", str(path))
    assert done.stdout.strip() == "ok", done.stdout + done.stderr
    assert _ownership(path) == (OWNER, LAB, 0o666)
    assert path.stat().st_ino == inode
    assert "in place" in done.stderr
    assert SharedConfig.from_yaml(path).note == f"by {OUTSIDER}"
    assert sorted(item.name for item in shared_dir.iterdir()) == ["config.yaml"]


@needs_root
def test_a_writer_without_write_permission_is_refused_and_the_file_is_untouched(shared_dir: Path) -> None:
    path = shared_dir / "config.yaml"
    SharedConfig(note="first").to_yaml(path)
    _owned(path, OWNER, LAB, 0o644)
    before = path.read_bytes()
    done = _write_as(MEMBER, [LAB], "config", str(path))
    assert done.stdout.startswith("error PermissionError"), done.stdout + done.stderr
    assert str(path) in done.stdout
    assert path.read_bytes() == before
    assert _ownership(path) == (OWNER, LAB, 0o644)
    assert sorted(item.name for item in shared_dir.iterdir()) == ["config.yaml"]


@needs_root
def test_a_tracker_rewritten_by_another_account_keeps_its_group_and_mode(shared_dir: Path) -> None:
    path = shared_dir / "tracker.yaml"
    tracker = ProcessingTracker(file_path=path)
    first, second = tracker.initialize_jobs([("a", ""), ("b", "")])
    _owned(path, OWNER, LAB, 0o660)
    _owned(Path(tracker.lock_path), OWNER, LAB, 0o660)
    tracker.start_job(first)  # as root
    assert _ownership(path) == (OWNER, LAB, 0o660)
    done = _write_as(MEMBER, [LAB], "tracker", str(path), second)
    assert done.stdout.strip() == "ok", done.stdout + done.stderr
    assert _ownership(path) == (MEMBER, LAB, 0o660)
    assert tracker.get_job_status(second) is ProcessingStatus.RUNNING


@pytest.fixture
def tiny_filesystem() -> Iterator[Path]:
    """A 64 KiB tmpfs, so a real write runs out of space."""
    if os.geteuid() != 0 or shutil.which("mount") is None:
        pytest.skip("needs root and mount(8) for a real full filesystem")
    folder = Path(tempfile.mkdtemp(prefix="axds-full-", dir="/tmp"))
    mounted = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=64k", "tmpfs", str(folder)], check=False)
    if mounted.returncode != 0:
        folder.rmdir()
        pytest.skip("cannot mount a tmpfs here")
    yield folder
    subprocess.run(["umount", str(folder)], check=True)
    folder.rmdir()


@needs_root
def test_a_full_disk_names_the_file_and_keeps_the_old_config(tiny_filesystem: Path) -> None:
    path = tiny_filesystem / "config.yaml"
    SharedConfig(note="kept").to_yaml(path)
    with pytest.raises(OSError, match=rf"Unable to write {path}: No space left on device") as caught:
        SharedConfig(note="x" * 200_000).to_yaml(path)
    assert caught.value.errno == errno.ENOSPC
    assert caught.value.filename == str(path)
    assert SharedConfig.from_yaml(path).note == "kept"
    assert sorted(item.name for item in tiny_filesystem.iterdir()) == ["config.yaml"]


@needs_root
def test_a_full_disk_names_the_tracker_file_and_keeps_its_state(tiny_filesystem: Path) -> None:
    path = tiny_filesystem / "tracker.yaml"
    tracker = ProcessingTracker(file_path=path)
    (job,) = tracker.initialize_jobs([("job", "")])
    filler = tiny_filesystem / "filler"
    descriptor = os.open(filler, os.O_WRONLY | os.O_CREAT)
    try:  # fill what is left, so the next rewrite cannot fit
        while True:
            os.write(descriptor, b"\0" * 512)
    except OSError as error:
        assert error.errno == errno.ENOSPC
    finally:
        os.close(descriptor)
    with pytest.raises(OSError, match=rf"Unable to write {path}") as caught:
        tracker.start_job(job)
    assert caught.value.errno == errno.ENOSPC
    filler.unlink()
    assert tracker.get_job_status(job) is ProcessingStatus.SCHEDULED
