"""calculate_directory_checksum and verify_directory_checksum on real trees, against the reference release."""

from __future__ import annotations

import errno
import json
import os
from pathlib import Path

import pytest
from processing_helpers import build_tree, independent_checksum, reference_checksum

from ataraxis_data_structures.errors import ChecksumError
from ataraxis_data_structures.processing import calculate_directory_checksum, verify_directory_checksum
from reference_release import needs_reference


def test_checksum_follows_the_definition_and_is_saved_exactly(tmp_path: Path) -> None:
    tree = build_tree(tmp_path / "tree")
    checksum = calculate_directory_checksum(tree)
    assert checksum == independent_checksum(tree)
    assert len(checksum) == 32
    assert (tree / "ax_checksum.txt").read_bytes() == checksum.encode()  # no newline, like the reference
    # Saving the checksum (and its manifest) does not change the checksum.
    assert calculate_directory_checksum(tree, save_checksum=False) == checksum


def test_checksum_depends_on_content_and_layout(tmp_path: Path) -> None:
    tree = build_tree(tmp_path / "tree")
    original = calculate_directory_checksum(tree, save_checksum=False)
    (tree / "a" / "x.txt").write_bytes(b"hellp")
    changed_content = calculate_directory_checksum(tree, save_checksum=False)
    (tree / "a" / "x.txt").write_bytes(b"hello")
    assert calculate_directory_checksum(tree, save_checksum=False) == original
    (tree / "a" / "x.txt").rename(tree / "a" / "y.txt")
    renamed = calculate_directory_checksum(tree, save_checksum=False)
    assert len({original, changed_content, renamed}) == 3
    # Empty folders are not part of the checksum (as in the reference).
    (tree / "another_empty").mkdir()
    assert calculate_directory_checksum(tree, save_checksum=False) == renamed


def test_excluded_files_and_worker_counts(tmp_path: Path) -> None:
    tree = build_tree(tmp_path / "tree")
    everything = calculate_directory_checksum(tree, save_checksum=False, excluded_files=set())
    assert everything == independent_checksum(tree, frozenset())
    without_text = calculate_directory_checksum(tree, save_checksum=False, excluded_files={"x.txt", "ax_checksum.txt"})
    assert without_text == independent_checksum(tree, frozenset({"x.txt", "ax_checksum.txt"}))
    assert len({everything, without_text, calculate_directory_checksum(tree, save_checksum=False)}) == 3
    assert {calculate_directory_checksum(tree, workers, save_checksum=False) for workers in (1, 2, 7, 0, None)} == {
        calculate_directory_checksum(tree, save_checksum=False)
    }


def test_empty_directory_and_bad_paths(tmp_path: Path) -> None:
    # As 7.2.0: a folder with no file to cover has no checksum (a digest of nothing would certify a failed recording).
    (tmp_path / "empty" / "sub").mkdir(parents=True)
    (tmp_path / "empty" / "ax_checksum.txt").write_text("0" * 32)
    with pytest.raises(ChecksumError, match=r"empty.*holds no file") as error:
        calculate_directory_checksum(tmp_path / "empty")
    assert isinstance(error.value, ValueError)  # 7.2.0's type
    with pytest.raises(ValueError, match=r"empty.*holds no file"):
        verify_directory_checksum(tmp_path / "empty")
    assert not (tmp_path / "empty" / ".ax_checksum_manifest").exists()
    with pytest.raises(FileNotFoundError, match="missing"):
        calculate_directory_checksum(tmp_path / "missing")
    (tmp_path / "file").write_text("x")
    with pytest.raises(NotADirectoryError, match="file"):
        calculate_directory_checksum(tmp_path / "file")


def test_symlinks_files_followed_folders_and_cycles_not(tmp_path: Path) -> None:
    tree = tmp_path / "tree"
    (tree / "sub").mkdir(parents=True)
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "secret").write_bytes(b"outside the tree")
    (tree / "sub" / "data").write_bytes(b"data")
    os.symlink("data", tree / "sub" / "file_link")
    os.symlink(outside, tree / "sub" / "folder_link")
    os.symlink("..", tree / "sub" / "cycle")
    os.symlink("nowhere", tree / "broken")
    skipped = r"leaves out 3 symbolic link\(s\).*: broken, sub/cycle, sub/folder_link"
    with pytest.warns(UserWarning, match=skipped) as caught:
        checksum = calculate_directory_checksum(tree, save_checksum=False)  # must terminate despite the cycle
    assert len(caught) == 1  # one warning per call, not one per link
    assert caught[0].filename == __file__  # it points at the caller's line, not at the library
    # A link to a file counts as a file with its target's content under the link's name; the rest is left out.
    regular = tmp_path / "regular"
    (regular / "sub").mkdir(parents=True)
    (regular / "sub" / "data").write_bytes(b"data")
    (regular / "sub" / "file_link").write_bytes(b"data")
    assert checksum == calculate_directory_checksum(regular, save_checksum=False)


def test_verify_names_changed_added_and_missing_files(tmp_path: Path) -> None:
    tree = build_tree(tmp_path / "tree")
    checksum = calculate_directory_checksum(tree)
    result = verify_directory_checksum(tree)
    assert result.matches
    assert result.expected == result.actual == checksum
    (tree / "a" / "x.txt").write_bytes(b"HELLO")
    (tree / "a-b" / "f").unlink()
    (tree / "new file").write_bytes(b"")
    result = verify_directory_checksum(tree)
    assert not result.matches
    assert result.manifest_found
    assert result.changed == ("a/x.txt",)
    assert result.missing == ("a-b/f",)
    assert result.added == ("new file",)
    assert "a/x.txt" in result.describe()
    assert "a-b/f" in result.describe()


def test_verify_without_manifest_or_checksum(tmp_path: Path) -> None:
    tree = build_tree(tmp_path / "tree")
    with pytest.raises(FileNotFoundError, match=r"ax_checksum\.txt"):
        verify_directory_checksum(tree)
    checksum = calculate_directory_checksum(tree, save_checksum=False)
    (tree / "ax_checksum.txt").write_text(checksum)  # as the reference writes it: no manifest
    assert verify_directory_checksum(tree).matches
    (tree / "a.txt").write_bytes(b"changed")
    result = verify_directory_checksum(tree)
    assert not result.matches
    assert not result.manifest_found
    assert "unknown" in result.describe()
    (tree / "ax_checksum.txt").write_text("not a checksum")
    with pytest.raises(ValueError, match="32 hexadecimal"):
        verify_directory_checksum(tree)


def test_stale_manifest_is_ignored(tmp_path: Path) -> None:
    tree = build_tree(tmp_path / "tree")
    calculate_directory_checksum(tree)
    (tree / "a.txt").write_bytes(b"new content")
    # Another tool rewrites ax_checksum.txt only: the manifest no longer describes it.
    (tree / "ax_checksum.txt").write_text(calculate_directory_checksum(tree, save_checksum=False))
    (tree / "A" / "z").write_bytes(b"changed again")
    result = verify_directory_checksum(tree)
    assert not result.matches
    assert not result.manifest_found
    manifest = json.loads((tree / ".ax_checksum_manifest" / "ax_checksum.txt").read_text())
    assert manifest["checksum"] != result.expected


def test_progress_bar_counts_bytes(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    tree = build_tree(tmp_path / "tree")
    calculate_directory_checksum(tree, progress=True, save_checksum=False)
    assert "Calculating checksum" in capsys.readouterr().err
    calculate_directory_checksum(tree, save_checksum=False)
    assert capsys.readouterr().err == ""


@pytest.mark.slow
@needs_reference
@pytest.mark.filterwarnings("ignore:The checksum of .* leaves out")
def test_reference_computes_the_same_checksums(tmp_path: Path) -> None:
    tree = build_tree(tmp_path / "tree")
    os.symlink("a.txt", tree / "link_to_file")
    os.symlink("a", tree / "link_to_folder")
    ours = calculate_directory_checksum(tree)  # also saves the manifest, which the reference must ignore
    assert reference_checksum(tree) == ours
    assert reference_checksum(tree, excluded={"a.txt", "ax_checksum.txt"}) == calculate_directory_checksum(
        tree, save_checksum=False, excluded_files={"a.txt", "ax_checksum.txt"}
    )
    # A checksum file written by the reference verifies here.
    (tree / "ax_checksum.txt").unlink()
    assert reference_checksum(tree, save=True) == ours
    assert verify_directory_checksum(tree).matches


def test_a_read_error_names_the_file(tmp_path: Path) -> None:
    # /proc/self/mem fails reads at offset 0 with EIO, as a bad sector would; it is reached through a link to a file.
    for index in range(3):
        (tmp_path / f"ok_{index}.bin").write_bytes(b"fine")
    os.symlink("/proc/self/mem", tmp_path / "bad_sector.bin")
    with pytest.raises(OSError, match=r"Unable to read .*bad_sector\.bin: Input/output error") as error:
        calculate_directory_checksum(tmp_path, save_checksum=False)
    assert error.value.errno == errno.EIO
