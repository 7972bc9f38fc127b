"""delete_directory on real trees: everything goes, links are removed as links, nothing outside is touched."""

from __future__ import annotations

import concurrent.futures
import contextlib
import os
import threading
from pathlib import Path

import pytest
from processing_helpers import build_tree, mounted

from ataraxis_data_structures.errors import UnsafePathError
from ataraxis_data_structures.processing import MountPointWarning, delete_directory
from unprivileged import hand_over, run_unprivileged, unprivileged_folder


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


def test_dotdot_after_a_link_deletes_the_folder_the_os_means(tmp_path: Path) -> None:
    # For keep_me/link/.. the OS follows the link first: it names the parent of the link's target, not keep_me.
    (tmp_path / "keep_me").mkdir()
    (tmp_path / "keep_me" / "precious.bin").write_bytes(b"irreplaceable")
    (tmp_path / "target_parent" / "session").mkdir(parents=True)
    (tmp_path / "target_parent" / "junk.txt").write_text("junk")
    os.symlink(tmp_path / "target_parent" / "session", tmp_path / "keep_me" / "link")
    delete_directory(tmp_path / "keep_me" / "link" / "..")
    assert (tmp_path / "keep_me" / "precious.bin").read_bytes() == b"irreplaceable"
    assert not (tmp_path / "target_parent").exists()


def test_dotdot_after_a_link_in_home_deletes_the_link_target_parent_not_home(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    home = tmp_path / "home"
    (home / "data").mkdir(parents=True)
    (home / "data" / "thesis.txt").write_text("years of work")
    (tmp_path / "elsewhere" / "deep").mkdir(parents=True)
    os.symlink(tmp_path / "elsewhere" / "deep", home / "lnk")
    monkeypatch.setenv("HOME", str(home))
    delete_directory(home / "lnk" / "..")
    assert (home / "data" / "thesis.txt").read_text() == "years of work"
    assert not (tmp_path / "elsewhere").exists()
    # A link outside home whose ".." reaches home is refused: the check sees the folder the OS means.
    (home / "sub").mkdir()
    os.symlink(home / "sub", tmp_path / "to_home_sub")
    with pytest.raises(UnsafePathError, match="home directory"):
        delete_directory(tmp_path / "to_home_sub" / "..")
    assert (home / "data" / "thesis.txt").exists()


def test_dotdot_after_a_missing_folder_deletes_nothing(tmp_path: Path) -> None:
    # The OS fails on missing/..; collapsing it textually would name the existing folder kept.
    (tmp_path / "kept").mkdir()
    (tmp_path / "kept" / "file.txt").write_text("x")
    delete_directory(tmp_path / "missing" / ".." / "kept")
    assert (tmp_path / "kept" / "file.txt").exists()


def test_relative_path_through_a_link_to_the_working_directory_is_refused(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    session = build_tree(tmp_path / "session")
    os.symlink(session / "a" / "b", session / "empty_folder" / "link")
    before = sorted(session.rglob("*"))
    monkeypatch.chdir(session / "a")
    # empty_folder/link/.. is session/a, the working directory, whatever abspath makes of it.
    with pytest.raises(UnsafePathError, match=r"directory_path=.*working directory"):
        delete_directory(Path("../empty_folder/link/.."))
    assert sorted(session.rglob("*")) == before


def test_failures_name_the_full_path() -> None:
    # Root may remove entries from a read-only folder: the deletion runs as an unprivileged user (unprivileged.py).
    with unprivileged_folder() as folder:
        tree = folder / "tree"
        (tree / "sub" / "locked").mkdir(parents=True)
        (tree / "sub" / "locked" / "file.bin").write_bytes(b"x")
        hand_over(tree)
        os.chmod(tree / "sub" / "locked", 0o500)
        with pytest.raises(PermissionError) as error:
            run_unprivileged(lambda: delete_directory(tree))
        assert error.value.filename == str(tree / "sub" / "locked" / "file.bin")
        assert (tree / "sub" / "locked" / "file.bin").exists()


def _swap_folders_for_links(
    top: Path, names: list[str], victim: Path, stash: Path, events: tuple[threading.Event, threading.Event]
) -> list[str]:
    """Once deletion is under way (a folder lost a file: ``events[0]``), replaces every remaining folder with a link to
    victim until the deletion returned (``events[1]``); returns the names swapped while it ran."""
    started, done = events
    while not started.is_set():
        for name in names:
            with contextlib.suppress(FileNotFoundError):
                if len(os.listdir(top / name)) < _RACE_FILES:
                    started.set()
                    break
    swapped = []
    for index, name in enumerate(names):
        if done.is_set():
            break
        with contextlib.suppress(OSError):
            os.rename(top / name, stash / str(index))
            os.symlink(victim, top / name)
            swapped.append(name)
    return swapped


_RACE_FILES = 10


@pytest.mark.slow
def test_a_folder_replaced_by_a_link_during_the_walk_is_never_followed(tmp_path: Path) -> None:
    # A folder is listed, then opened: a link swapped in between must fail the open, not lead into its target.
    victim = tmp_path / "victim"
    victim.mkdir()
    for index in range(50):
        (victim / f"precious{index}.bin").write_bytes(b"x")
    swapped_during_walks = 0
    for attempt in range(3):
        top = tmp_path / f"session{attempt}"
        stash = tmp_path / f"stash{attempt}"
        stash.mkdir()
        names = [f"d{index:03d}" for index in range(200)]
        for name in names:
            (top / name).mkdir(parents=True)
            for index in range(_RACE_FILES):
                (top / name / f"f{index}").write_bytes(b"")
        started, done = threading.Event(), threading.Event()
        with concurrent.futures.ThreadPoolExecutor(1) as racer:
            swapped = racer.submit(_swap_folders_for_links, top, names, victim, stash, (started, done))
            try:
                delete_directory(top)
            except OSError:
                pass  # The tree changed while it was deleted (a folder filled again): an error, never a wrong target.
            finally:
                done.set()
                started.set()
        assert len(os.listdir(victim)) == 50
        swapped_during_walks += len(swapped.result())
    # The race must have happened: links were swapped in while the deletion walked (else the test proved nothing).
    assert swapped_during_walks > 0


def test_a_filesystem_mounted_inside_the_tree_is_left_whole(tmp_path: Path) -> None:
    # A NAS share mounted inside a session folder: rm -rf (and 7.2.0) would empty it, then fail with EBUSY.
    session = build_tree(tmp_path / "session")
    share = session / "a" / "b" / "share"
    with mounted(share):
        (share / "raw").mkdir()
        (share / "raw" / "frames.bin").write_bytes(b"irreplaceable")
        (share / "notes.txt").write_text("kept")
        with pytest.warns(MountPointWarning, match=rf"left 1 mount point.*{share}") as caught:
            delete_directory(session)
        assert len(caught) == 1
        assert (share / "raw" / "frames.bin").read_bytes() == b"irreplaceable"
        assert (share / "notes.txt").read_text() == "kept"
        # Everything else is gone; only the folders holding the mount point stay.
        left = sorted(str(path.relative_to(session)) for path in session.rglob("*") if share not in path.parents)
        assert left == ["a", "a/b", "a/b/share"]


def test_a_bind_mount_of_the_same_filesystem_is_left_whole(tmp_path: Path) -> None:
    # Same device as the tree, so only the mount table tells it apart.
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "keep.bin").write_bytes(b"outside the tree")
    session = build_tree(tmp_path / "session")
    with mounted(session / "linked", "--bind", str(outside)):
        with pytest.warns(MountPointWarning, match="linked"):
            delete_directory(session)
        assert (outside / "keep.bin").read_bytes() == b"outside the tree"
        assert sorted(path.name for path in session.iterdir()) == ["linked"]


def test_a_mount_point_given_to_delete_is_emptied_and_stays(tmp_path: Path) -> None:
    with mounted(tmp_path / "volume") as volume:
        build_tree(volume / "session")
        (volume / "top.bin").write_bytes(b"x")
        with pytest.warns(MountPointWarning, match=rf"{volume}"):
            delete_directory(volume)
        assert volume.is_dir() and not list(volume.iterdir())
