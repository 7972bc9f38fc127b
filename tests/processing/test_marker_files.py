"""discover_marker_files, discover_marker_roots and index_marker_files on real trees, against 7.2.0 when installed."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from ataraxis_data_structures import (
    discover_marker_files,
    discover_marker_roots,
    index_marker_files,
)
from reference_release import REFERENCE7_PYTHON, needs_reference_7, run_reference_json
from unprivileged import hand_over, run_unprivileged, unprivileged_folder

MARKERS = [
    "m.yaml",
    "B/m.yaml",
    "a/s1/m.yaml",
    "a/s1/raw/m.yaml",
    "a/s1/raw/n.yaml",
    "a/s2/raw/m.yaml",
    "a-b/m.yaml",
    "b/s1/raw/m.yaml",
    "z/deep/er/x/m.yaml",
    "a/s1/raw/other.txt",
]


def build_markers(root: Path) -> Path:
    """A tree of markers at several depths, with links and a folder named like a marker."""
    for relative in MARKERS:
        (root / relative).parent.mkdir(parents=True, exist_ok=True)
        (root / relative).write_text("x")
    (root / "folder" / "m.yaml").mkdir(parents=True)  # a folder carrying the name is not a marker
    os.symlink(root / "a", root / "link_to_a")  # never followed: a/ would be found twice
    os.symlink(root / "m.yaml", root / "a" / "m.yaml")  # a link to a file counts
    os.symlink("nowhere", root / "b" / "m.yaml")  # a broken link does not
    return root


def relative(paths: list[Path] | tuple[Path, ...], root: Path) -> list[str]:
    return [str(path.relative_to(root)) for path in paths]


def test_discover_marker_files_walks_once_without_following_links(tmp_path: Path) -> None:
    root = build_markers(tmp_path / "root")
    found = discover_marker_files(root, "m.yaml")
    assert all(isinstance(path, Path) for path in found)
    assert relative(found, root) == [
        "B/m.yaml",
        "a/m.yaml",
        "a/s1/m.yaml",
        "a/s1/raw/m.yaml",
        "a/s2/raw/m.yaml",
        "a-b/m.yaml",
        "b/s1/raw/m.yaml",
        "m.yaml",
        "z/deep/er/x/m.yaml",
    ]  # sorted as paths: 'a/...' before 'a-b/...', unlike a plain string sort
    assert discover_marker_files(root, "absent") == []
    with pytest.raises(FileNotFoundError):
        discover_marker_files(tmp_path / "missing", "m.yaml")
    with pytest.raises(NotADirectoryError):
        discover_marker_files(root / "m.yaml", "m.yaml")


def test_relative_directory_gives_relative_paths(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    build_markers(tmp_path / "root")
    monkeypatch.chdir(tmp_path)
    assert discover_marker_files(Path("root"), "n.yaml") == [Path("root/a/s1/raw/n.yaml")]


def test_discover_marker_roots_levels(tmp_path: Path) -> None:
    root = build_markers(tmp_path / "root")
    assert relative(discover_marker_roots(root, "n.yaml"), root) == ["a/s1/raw"]
    assert relative(discover_marker_roots(root, "m.yaml", levels_up=0), root) == [
        ".",
        "B",
        "a",
        "a/s1",
        "a/s1/raw",
        "a/s2/raw",
        "a-b",
        "b/s1/raw",
        "z/deep/er/x",
    ]
    # m.yaml, B/m.yaml, a/m.yaml and a-b/m.yaml all resolve to the root's parent at one level: one entry.
    assert relative(discover_marker_roots(root, "m.yaml", levels_up=1), tmp_path) == [
        ".",
        "root",
        "root/a",
        "root/a/s1",
        "root/a/s2",
        "root/b/s1",
        "root/z/deep/er",
    ]
    with pytest.raises(ValueError, match="levels_up must be 0 or more, got -1"):
        discover_marker_roots(root, "m.yaml", -1)
    with pytest.raises(ValueError, match=r"B/m\.yaml' has only \d+ ancestor"):
        discover_marker_roots(root, "m.yaml", 500)
    assert discover_marker_roots(root, "absent", 500) == []


def test_index_marker_files_one_walk_several_names_and_depth(tmp_path: Path) -> None:
    root = build_markers(tmp_path / "root")
    index = index_marker_files(root, ["n.yaml", "m.yaml", "absent", "n.yaml"])
    assert list(index) == ["n.yaml", "m.yaml", "absent"]
    assert index["m.yaml"] == tuple(discover_marker_files(root, "m.yaml"))
    assert index["n.yaml"] == (root / "a/s1/raw/n.yaml",)
    assert index["absent"] == ()
    assert index_marker_files(root, (name for name in ["n.yaml"])) == {"n.yaml": (root / "a/s1/raw/n.yaml",)}
    assert relative(index_marker_files(root, ["m.yaml"], max_depth=1)["m.yaml"], root) == ["m.yaml"]
    assert relative(index_marker_files(root, ["m.yaml"], max_depth=2)["m.yaml"], root) == [
        "B/m.yaml",
        "a/m.yaml",
        "a-b/m.yaml",
        "m.yaml",
    ]
    with pytest.raises(ValueError, match="max_depth must be 1 or more"):
        index_marker_files(root, ["m.yaml"], max_depth=0)
    with pytest.raises(ValueError, match="at least one"):
        index_marker_files(root, [])
    with pytest.raises(TypeError, match=r"\['m\.yaml'\]"):
        index_marker_files(root, "m.yaml")
    with pytest.raises(FileNotFoundError):
        index_marker_files(tmp_path / "missing", ["m.yaml"])


def test_an_unreadable_folder_is_an_error_not_skipped() -> None:
    # Root reads every folder: the search runs as an unprivileged user (tests/unprivileged.py).
    with unprivileged_folder() as folder:
        root = build_markers(folder / "root")
        hand_over(root)
        os.chmod(root / "z" / "deep", 0)
        with pytest.raises(PermissionError, match="deep"):
            run_unprivileged(lambda: discover_marker_files(root, "m.yaml"))


@pytest.mark.reference
@needs_reference_7
def test_same_results_as_7_2_0(tmp_path: Path) -> None:
    root = build_markers(tmp_path / "root")
    code = (
        "import json; from pathlib import Path\n"
        "from ataraxis_data_structures.processing import discover_marker_files as f, discover_marker_roots as r, "
        "index_marker_files as i\n"
        f"root = Path({str(root)!r})\n"
        "index = i(root, ['m.yaml', 'n.yaml', 'absent'], max_depth=3)\n"
        "print(json.dumps({'files': [str(p) for p in f(root, 'm.yaml')], "
        "'roots': [[str(p) for p in r(root, 'm.yaml', n)] for n in (0, 1, 2)], "
        "'index': {k: [str(p) for p in v] for k, v in index.items()}}))"
    )
    theirs = run_reference_json(code, python=REFERENCE7_PYTHON, main_guard=True)
    index = index_marker_files(root, ["m.yaml", "n.yaml", "absent"], max_depth=3)
    ours = {
        "files": [str(p) for p in discover_marker_files(root, "m.yaml")],
        "roots": [[str(p) for p in discover_marker_roots(root, "m.yaml", n)] for n in (0, 1, 2)],
        "index": {k: [str(p) for p in v] for k, v in index.items()},
    }
    assert json.loads(json.dumps(ours)) == theirs
