"""Standard manifests (sha256sum, BagIt) checked by the standard tools, and check_directory's per-file report."""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
from pathlib import Path

import pytest
from processing_helpers import independent_checksum, mounted

from ataraxis_data_structures.processing import (
    calculate_directory_checksum,
    check_directory,
    make_bag,
    verify_directory_checksum,
    write_sha256_manifest,
)
from ataraxis_data_structures.processing._manifest import write_checksum


def make_session(root: Path) -> Path:
    """Writes a small session with nested folders, an empty file and awkward names."""
    (root / "raw" / "camera").mkdir(parents=True)
    (root / "raw" / "camera" / "frames.bin").write_bytes(os.urandom(200_000))
    (root / "raw" / "empty.npy").write_bytes(b"")
    (root / "notes with spaces.txt").write_text("mouse A1\n")
    (root / "back\\slash.txt").write_text("odd name\n")
    return root


def snapshot(folder: Path) -> dict[str, bytes]:
    """Returns every file's bytes by relative path."""
    return {str(path.relative_to(folder)): path.read_bytes() for path in folder.rglob("*") if path.is_file()}


def test_the_sha256_manifest_passes_sha256sum_and_the_checksum_covers_it(tmp_path: Path) -> None:
    session = make_session(tmp_path / "session")
    manifest = write_sha256_manifest(session)
    checksum = calculate_directory_checksum(session)
    assert manifest == session / "manifest-sha256.txt"
    result = subprocess.run(["sha256sum", "--strict", "-c", manifest.name], cwd=session, capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.count(": OK") == 4  # every file, neither the manifest nor ax_checksum.txt
    assert checksum == independent_checksum(session)  # the xxHash3 checksum covers the manifest
    assert verify_directory_checksum(session).matches
    (session / "raw" / "camera" / "frames.bin").write_bytes(b"changed")
    failed = subprocess.run(["sha256sum", "-c", manifest.name], cwd=session, capture_output=True, text=True)
    assert failed.returncode != 0 and "raw/camera/frames.bin: FAILED" in failed.stdout


def test_check_directory_names_every_file_against_a_sha256sum_manifest(tmp_path: Path) -> None:
    session = make_session(tmp_path / "session")
    manifest = write_sha256_manifest(session)
    calculate_directory_checksum(session)  # ax_checksum.txt files are not listed, and not extra
    clean = check_directory(session, manifest)
    assert clean.matches and clean.count("same") == 4 and len(clean.files) == 4
    (session / "raw" / "camera" / "frames.bin").write_bytes(b"changed")
    (session / "raw" / "empty.npy").unlink()
    (session / "late.txt").write_text("added")
    result = check_directory(session, manifest)
    assert not result.matches
    assert {check.relative: check.status for check in result.files} == {
        "back\\slash.txt": "same",
        "late.txt": "extra",
        "notes with spaces.txt": "same",
        "raw/camera/frames.bin": "differs",
        "raw/empty.npy": "missing",
    }
    assert "raw/camera/frames.bin" in result.describe()


def test_a_manifest_written_by_sha256sum_itself_is_read(tmp_path: Path) -> None:
    session = make_session(tmp_path / "session")
    listing = subprocess.run(
        "find . -type f -printf '%P\\0' | sort -z | xargs -0 sha256sum",
        shell=True,
        cwd=session,
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    manifest = tmp_path / "SHA256SUMS"
    manifest.write_text(listing)
    assert check_directory(session, manifest).matches
    (session / "back\\slash.txt").write_text("other")
    result = check_directory(session, manifest)
    assert [check.relative for check in result.files if check.status == "differs"] == ["back\\slash.txt"]


def test_the_bag_validates_with_bagit_and_leaves_the_folder_as_it_was(tmp_path: Path) -> None:
    bagit = pytest.importorskip("bagit", reason="the BagIt validator comes with the test extra: pip install -e .[test]")
    session = make_session(tmp_path / "session")
    calculate_directory_checksum(session)
    before = snapshot(session)
    bag_path = make_bag(session)
    assert bag_path == tmp_path / "session.bag"
    assert snapshot(session) == before  # nothing moved into data/, nothing added
    bag = bagit.Bag(str(bag_path))
    bag.validate()  # raises BagValidationError on any problem (Payload-Oxum, manifests, tag manifest)
    assert bag.info["Payload-Oxum"] == f"{sum(len(data) for data in before.values())}.{len(before)}"
    frames = "raw/camera/frames.bin"
    assert os.stat(bag_path / "data" / frames).st_ino == os.stat(session / frames).st_ino  # linked, not copied
    assert check_directory(session, bag_path).matches  # the folder against its bag
    assert check_directory(bag_path, bag_path).matches  # the bag's own payload
    with pytest.raises(FileExistsError, match=r"session\.bag"):
        make_bag(session)
    # The bag tells a changed recording: its payload is the same file.
    (session / "raw" / "camera" / "frames.bin").write_bytes(b"x")
    with pytest.raises(bagit.BagValidationError):
        bagit.Bag(str(bag_path)).validate()


def test_a_bag_on_another_filesystem_gets_copies(tmp_path: Path) -> None:
    bagit = pytest.importorskip("bagit", reason="the BagIt validator comes with the test extra: pip install -e .[test]")
    session = make_session(tmp_path / "session")
    with mounted(tmp_path / "other") as other:
        bag_path = make_bag(session, other / "archive.bag")
        bagit.Bag(str(bag_path)).validate()
        assert os.stat(bag_path / "data" / "raw" / "camera" / "frames.bin").st_nlink == 1
        shutil.rmtree(bag_path)


def test_check_against_the_stored_checksum_lists_files_with_our_manifest_and_judges_without_one(
    tmp_path: Path,
) -> None:
    session = make_session(tmp_path / "session")
    calculate_directory_checksum(session)
    assert check_directory(session).matches and check_directory(session).count("same") == 4
    (session / "raw" / "empty.npy").write_bytes(b"now full")
    result = check_directory(session)
    assert not result.matches
    assert [c.relative for c in result.files if c.status == "differs"] == [os.path.join("raw", "empty.npy")]
    assert result.describe() == verify_directory_checksum(session).describe()
    # A checksum saved without a per-file manifest (as a release saves it): only the verdict.
    write_checksum(session, independent_checksum(session), None)
    shutil.rmtree(session / ".ax_checksum_manifest")
    plain = check_directory(session)
    assert plain.matches and plain.files == ()
    (session / "notes with spaces.txt").write_text("edited")
    assert not check_directory(session).matches


def test_sha256_file_is_hashlibs_digest(tmp_path: Path) -> None:
    from ataraxis_data_structures.processing.manifests import sha256_file

    data = os.urandom(3 << 20)
    (tmp_path / "f").write_bytes(data)
    assert sha256_file(str(tmp_path / "f")) == hashlib.sha256(data).hexdigest()
