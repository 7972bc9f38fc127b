"""atomic_write and direct_write: signatures as in release 7.2.0, the target untouched by a failed or killed atomic
write, what direct_write does differently."""

from __future__ import annotations

import inspect
import os
import signal
import stat
import subprocess
import sys
from pathlib import Path

import pytest

import ataraxis_data_structures
from ataraxis_data_structures import atomic_write, direct_write
from ataraxis_data_structures.processing import atomic_write as from_subpackage

CHILD = Path(__file__).with_name("write_tools_children.py")


def test_exported_with_the_signatures_of_release_7() -> None:
    assert from_subpackage is atomic_write
    assert {"atomic_write", "direct_write"} <= set(ataraxis_data_structures.__all__)
    for function in (atomic_write, direct_write):
        parameters = inspect.signature(function).parameters
        assert list(parameters) == ["file_path", "binary"]
        assert parameters["binary"].kind is inspect.Parameter.KEYWORD_ONLY
        assert parameters["binary"].default is False


@pytest.mark.parametrize("opener", [atomic_write, direct_write])
def test_text_and_binary_writes_create_missing_folders(tmp_path: Path, opener: object) -> None:
    target = tmp_path / "a" / "b" / "file.txt"
    with opener(target) as handle:  # type: ignore[operator]
        handle.write("héllo\nworld\n")
    assert target.read_bytes() == "héllo\nworld\n".encode()
    with opener(target, binary=True) as handle:  # type: ignore[operator]
        handle.write(b"\x00\x01")
    assert target.read_bytes() == b"\x00\x01"
    assert [item.name for item in target.parent.iterdir()] == ["file.txt"]


def test_atomic_write_leaves_the_target_untouched_when_the_block_raises(tmp_path: Path) -> None:
    target = tmp_path / "file.txt"
    target.write_text("complete old content")
    target.chmod(0o640)
    with pytest.raises(RuntimeError, match="boom"), atomic_write(target) as handle:
        handle.write("partial")
        raise RuntimeError("boom")
    assert target.read_text() == "complete old content"
    assert [item.name for item in tmp_path.iterdir()] == ["file.txt"]
    with pytest.raises(TypeError), atomic_write(target) as handle:
        handle.write(b"bytes into a text file")
    assert target.read_text() == "complete old content"
    with atomic_write(target) as handle:
        handle.write("new")
    assert target.read_text() == "new"
    assert stat.S_IMODE(target.stat().st_mode) == 0o640  # kept (7.2.0 resets it to the umask default)


def test_direct_write_keeps_what_was_written_when_the_block_raises(tmp_path: Path) -> None:
    target = tmp_path / "file.txt"
    target.write_text("complete old content")
    with pytest.raises(RuntimeError, match="boom"), direct_write(target) as handle:
        handle.write("partial")
        raise RuntimeError("boom")
    assert target.read_text() == "partial"  # truncated on open, as release 7.2.0 does


@pytest.mark.parametrize("opener", [atomic_write, direct_write])
def test_a_directory_as_target_is_an_error_naming_it(tmp_path: Path, opener: object) -> None:
    with pytest.raises(IsADirectoryError, match=str(tmp_path)), opener(tmp_path) as handle:  # type: ignore[operator]
        handle.write("x")
    assert list(tmp_path.iterdir()) == []


def test_atomic_write_follows_a_symbolic_link(tmp_path: Path) -> None:
    real, link = tmp_path / "real.txt", tmp_path / "link.txt"
    real.write_text("old")
    link.symlink_to(real)
    with atomic_write(link) as handle:
        handle.write("new")
    assert link.is_symlink() and real.read_text() == "new"


@pytest.mark.parametrize(
    ("kind", "survivor"), [("atomic", "complete old content\n"), ("direct", "partial new content\n")]
)
def test_a_writer_killed_mid_block(tmp_path: Path, kind: str, survivor: str) -> None:
    target = tmp_path / "file.txt"
    target.write_text("complete old content\n")
    child = subprocess.Popen(
        [sys.executable, str(CHILD), kind, str(target)], stdout=subprocess.PIPE, text=True, start_new_session=True
    )
    try:
        assert child.stdout is not None
        assert child.stdout.readline() == "writing\n"
        os.kill(child.pid, signal.SIGKILL)
    finally:
        child.wait(timeout=60)
        if child.stdout is not None:
            child.stdout.close()
    assert target.read_text() == survivor
