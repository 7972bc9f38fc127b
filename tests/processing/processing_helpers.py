"""Builders and independent reference computations shared by the processing tests."""

from __future__ import annotations

import contextlib
import os
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
import xxhash

from reference_release import run_reference_json


def build_tree(root: Path) -> Path:
    """Creates a tree with nested folders, empty files and folders, unicode names and excluded files."""
    (root / "a" / "b").mkdir(parents=True)
    (root / "empty_folder" / "deeper").mkdir(parents=True)
    (root / "ünïcødé ✓").mkdir()
    (root / "a-b").mkdir()
    (root / "a" / "x.txt").write_bytes(b"hello")
    (root / "a" / "b" / "empty.bin").write_bytes(b"")
    (root / "ünïcødé ✓" / "ñame.dat").write_bytes(b"\x00\x01" * 1000)
    (root / "a-b" / "f").write_bytes(b"dash")
    (root / "a.txt").write_bytes(b"dot")
    (root / "A").mkdir()
    (root / "A" / "z").write_bytes(b"upper")
    (root / "large.bin").write_bytes(bytes(range(256)) * 12_000)  # several read chunks
    (root / "a" / "ax_checksum.txt").write_bytes(b"nested checksum files are excluded by name too")
    return root


def independent_checksum(directory: Path, excluded: frozenset[str] = frozenset({"ax_checksum.txt"})) -> str:
    """Computes the directory checksum straight from its definition, without the library."""
    files = []
    for folder, subfolders, names in os.walk(directory):
        subfolders[:] = [name for name in subfolders if not os.path.islink(os.path.join(folder, name))]
        for name in names:
            path = os.path.join(folder, name)
            if name not in excluded and os.path.isfile(path):
                files.append((os.path.relpath(path, directory), path))
    directory_hasher = xxhash.xxh3_128()
    for relative, path in sorted(files):
        file_hasher = xxhash.xxh3_128(relative.encode())
        file_hasher.update(Path(path).read_bytes())
        directory_hasher.update(relative.encode())
        directory_hasher.update(file_hasher.digest())
    return directory_hasher.hexdigest()


def reference_checksum(directory: Path, *, save: bool = False, excluded: set[str] | None = None) -> str:
    """Returns the reference release's checksum of directory."""
    code = (
        "import json; from pathlib import Path; "
        "from ataraxis_data_structures.processing import calculate_directory_checksum as c; "
        f"print(json.dumps(c(Path({str(directory)!r}), save_checksum={save}, excluded_files={excluded!r})))"
    )
    value = run_reference_json(code)
    assert isinstance(value, str)
    return value


@contextlib.contextmanager
def mounted(folder: Path, *options: str) -> Iterator[Path]:
    """Mounts a real filesystem at folder (created if missing) for the block and unmounts it after; skips the test
    with the reason when mounting is not permitted. Options default to a small tmpfs (``-t tmpfs -o size=4m tmpfs``);
    ``("--bind", source)`` makes a bind mount."""
    folder.mkdir(parents=True, exist_ok=True)
    command = ["mount", *(options or ("-t", "tmpfs", "-o", "size=4m", "tmpfs")), str(folder)]
    result = subprocess.run(command, capture_output=True, text=True, check=False)
    if result.returncode != 0:
        pytest.skip(f"cannot mount here ({' '.join(command)}: {result.stderr.strip()}); mounting needs root")
    try:
        yield folder
    finally:
        if subprocess.run(["umount", str(folder)], capture_output=True, check=False).returncode != 0:
            subprocess.run(["umount", "-l", str(folder)], capture_output=True, check=False)
