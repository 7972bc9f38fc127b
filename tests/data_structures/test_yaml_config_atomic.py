"""Atomic writes: write_text_atomically, and YamlConfig files surviving a writer killed with SIGKILL mid-write."""

from __future__ import annotations

import os
import random
import signal
import stat
import subprocess
import sys
import time
from pathlib import Path

import pytest
from test_yaml_config_models import SessionConfig

from ataraxis_data_structures._durable_files import write_text_atomically

HERE = Path(__file__).resolve().parent


def test_creates_missing_directories_and_replaces_content(tmp_path: Path) -> None:
    target = tmp_path / "x" / "y" / "file.txt"
    write_text_atomically(target, "first")
    assert target.read_text() == "first"
    write_text_atomically(str(target), "second ✓")
    assert target.read_text(encoding="utf-8") == "second ✓"
    assert [p.name for p in target.parent.iterdir()] == ["file.txt"]


def test_keeps_the_mode_of_the_replaced_file(tmp_path: Path) -> None:
    target = tmp_path / "file.txt"
    target.write_text("old")
    target.chmod(0o640)
    write_text_atomically(target, "new")
    assert stat.S_IMODE(target.stat().st_mode) == 0o640


def test_new_files_get_the_usual_mode_not_a_private_temp_mode(tmp_path: Path) -> None:
    target = tmp_path / "file.txt"
    write_text_atomically(target, "new")
    plain = tmp_path / "plain.txt"
    plain.write_text("new")
    assert stat.S_IMODE(target.stat().st_mode) == stat.S_IMODE(plain.stat().st_mode)


def test_a_failed_replace_leaves_no_temporary_file(tmp_path: Path) -> None:
    target = tmp_path / "occupied"
    target.mkdir()
    (target / "inside").write_text("keep")
    with pytest.raises(OSError):
        write_text_atomically(target, "text")  # a non-empty directory cannot be replaced by a file
    assert sorted(p.name for p in tmp_path.iterdir()) == ["occupied"]
    assert (target / "inside").read_text() == "keep"


def test_text_that_cannot_be_encoded_leaves_the_old_file(tmp_path: Path) -> None:
    target = tmp_path / "file.txt"
    target.write_text("old")
    with pytest.raises(UnicodeEncodeError):
        write_text_atomically(target, "caf\u00e9", encoding="ascii")
    assert target.read_text() == "old"
    assert [p.name for p in tmp_path.iterdir()] == ["file.txt"]


WRITER = """
import sys
from pathlib import Path
from test_yaml_config_models import SessionConfig

path = Path(sys.argv[1])
configs = [SessionConfig(trials=i, tags=[f"tag-{i}-{n}-" + "x" * 500 for n in range(2000)]) for i in range(2)]
print("ready", flush=True)
i = 0
while True:
    configs[i % 2].to_yaml(path)
    i += 1
"""


@pytest.mark.slow
@pytest.mark.skipif(sys.platform == "win32", reason="SIGKILL is POSIX")
def test_a_writer_killed_mid_write_never_leaves_a_torn_file(tmp_path: Path) -> None:
    target = tmp_path / "cfg" / "session.yaml"
    # About 1 MB per file, so that most kills land while a file is being written: with a plain (non-atomic)
    # write_text in to_yaml, most runs of this test find a torn file.
    expected = {i: [f"tag-{i}-{n}-" + "x" * 500 for n in range(2000)] for i in range(2)}
    env = dict(os.environ, PYTHONPATH=str(HERE))
    rng = random.Random(7)
    for _ in range(8):
        writer = subprocess.Popen(
            [sys.executable, "-c", WRITER, str(target)], stdout=subprocess.PIPE, env=env, text=True
        )
        assert writer.stdout is not None
        assert writer.stdout.readline().strip() == "ready"
        time.sleep(rng.uniform(0.05, 0.3))
        writer.send_signal(signal.SIGKILL)
        writer.wait()
        assert writer.returncode == -signal.SIGKILL
        if not target.exists():  # killed before its first replace: nothing to check yet
            continue
        loaded = SessionConfig.from_yaml(target)
        assert loaded.trials in expected
        assert loaded.tags == expected[loaded.trials]
    assert target.exists()


@pytest.mark.skipif(sys.platform == "win32", reason="symbolic links need privileges on Windows")
def test_a_symbolic_link_is_followed_and_kept(tmp_path: Path) -> None:
    real = tmp_path / "shared" / "config.yaml"
    real.parent.mkdir()
    real.write_text("old")
    link = tmp_path / "config.yaml"
    link.symlink_to(real)
    write_text_atomically(link, "new")
    assert link.is_symlink()
    assert real.read_text() == "new"
    SessionConfig(trials=5).to_yaml(link)
    assert link.is_symlink()
    assert SessionConfig.from_yaml(real).trials == 5
