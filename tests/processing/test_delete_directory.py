"""delete_directory on real trees: everything goes, links are removed as links, nothing outside is touched."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from processing_helpers import build_tree

from ataraxis_data_structures.errors import UnsafePathError
from ataraxis_data_structures.processing import delete_directory


def test_deletes_nested_tree_with_many_files(tmp_path: Path) -> None:
    tree = build_tree(tmp_path / "tree")
    for folder in range(5):
        (tree / "bulk" / str(folder)).mkdir(parents=True)
        for index in range(300):
            (tree / "bulk" / str(folder) / f"{index}.bin").write_bytes(b"x")
    os.chmod(tree / "a" / "x.txt", 0o400)  # read-only files are deleted too, as with rm -rf
    delete_directory(tree)
    assert not tree.exists()
    assert list(tmp_path.iterdir()) == []


def test_symlinks_are_removed_never_followed(tmp_path: Path) -> None:
    outside = tmp_path / "outside"
    (outside / "keep").mkdir(parents=True)
    (outside / "keep" / "precious.txt").write_bytes(b"must survive")
    tree = tmp_path / "tree"
    (tree / "sub").mkdir(parents=True)
    os.symlink(outside, tree / "sub" / "folder_link")
    os.symlink(outside / "keep" / "precious.txt", tree / "file_link")
    os.symlink("..", tree / "sub" / "cycle")
    os.symlink("nowhere", tree / "broken")
    delete_directory(tree)
    assert not tree.exists()
    assert (outside / "keep" / "precious.txt").read_bytes() == b"must survive"
    # A link given as the directory itself is removed as a link too.
    os.symlink(outside, tmp_path / "link_to_outside")
    delete_directory(tmp_path / "link_to_outside")
    assert not os.path.lexists(tmp_path / "link_to_outside")
    assert (outside / "keep" / "precious.txt").exists()


def test_missing_directory_is_not_an_error_and_files_are_refused(tmp_path: Path) -> None:
    delete_directory(tmp_path / "never_existed")
    (tmp_path / "file.txt").write_text("x")
    with pytest.raises(NotADirectoryError, match=r"file\.txt"):
        delete_directory(tmp_path / "file.txt")
    assert (tmp_path / "file.txt").exists()


@pytest.mark.parametrize("spelling", ["", ".", "./", "a/..", "..", "../.."])
def test_empty_path_and_relative_working_directory_are_refused(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, spelling: str
) -> None:
    # Path(os.environ.get("SESSION_DIR", "")) is Path("."): an unset variable must not delete the working directory.
    session = build_tree(tmp_path / "session")
    before = sorted(session.rglob("*"))
    monkeypatch.chdir(session / "a")
    for value in (spelling, Path(spelling)):
        with pytest.raises(UnsafePathError, match=r"directory_path=.*working directory") as error:
            delete_directory(value)  # type: ignore[arg-type]
        assert isinstance(error.value, ValueError)
    assert sorted(session.rglob("*")) == before


def test_root_and_home_are_refused(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    home = tmp_path / "home" / "user"
    build_tree(home)
    monkeypatch.setenv("HOME", str(home))
    for value in (Path("/"), home, home.parent, Path("~").expanduser()):
        with pytest.raises(UnsafePathError, match="root, the home directory"):
            delete_directory(value)
    assert (home / "a" / "x.txt").exists()


def test_the_working_directory_given_absolutely_is_deleted(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    session = tmp_path / "session"
    build_tree(session)
    (tmp_path / "keep.txt").write_text("outside")
    monkeypatch.chdir(session)
    delete_directory(session)
    assert not session.exists()
    assert (tmp_path / "keep.txt").read_text() == "outside"
    monkeypatch.chdir(tmp_path)
    build_tree(session)
    delete_directory(session / "a" / "..")
    assert not session.exists()
