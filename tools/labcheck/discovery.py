"""Drives the discovery helpers the lab's processing code calls on recording trees.

AVS's ``discover_camera_data_tool`` calls ``resolve_unique_roots`` and falls back on ``ValueError``; both packages find
manifests with ``discover_marker_files`` and archives with ``index_marker_files``. The tree holds markers at several
depths, a hidden folder, a symlink loop, a symlinked recording and duplicate archive names. Prints one JSON line per
step (paths relative to the tree).

Run: ``PY tools/labcheck/discovery.py``.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path
from typing import Any

from _harness import Recorder
from ataraxis_data_structures import discover_marker_files, index_marker_files, resolve_unique_roots


def _build(root: Path) -> None:
    for folder in ("day1/a/logs", "day1/b/logs", "day2/c/deep/er/logs", ".hidden/logs", "empty"):
        (root / folder).mkdir(parents=True)
    for folder in ("day1/a/logs", "day1/b/logs", "day2/c/deep/er/logs", ".hidden/logs"):
        (root / folder / "camera_manifest.yaml").write_text("sources: []\n")
        (root / folder / "111_log.npz").write_bytes(b"")
    (root / "day1" / "a" / "logs" / "112_log.npz").write_bytes(b"")
    (root / "camera_manifest.yaml").mkdir()  # A folder bearing the marker's name.
    os.symlink(root / "day1", root / "day1" / "a" / "loop")
    os.symlink(root / "day2" / "c", root / "linked_c")


def _relative(root: Path, value: Any) -> Any:
    if isinstance(value, dict):
        return {key: _relative(root, item) for key, item in sorted(value.items())}
    if isinstance(value, list | tuple):
        return [_relative(root, item) for item in value]
    if isinstance(value, Path):
        return str(value.relative_to(root)) if value.is_relative_to(root) else str(value)
    return value


def main() -> None:
    """Builds the tree and records each helper's answer."""
    with tempfile.TemporaryDirectory(prefix="labcheck-disc-") as temporary:
        root = Path(temporary).resolve()
        rec = Recorder(root)
        _build(root)
        rec.step(
            "discover_marker_files(root, camera_manifest.yaml)",
            lambda: _relative(root, discover_marker_files(root, "camera_manifest.yaml")),
        )
        rec.step(
            "discover_marker_files(missing folder)",
            lambda: _relative(root, discover_marker_files(root / "nope", "camera_manifest.yaml")),
        )
        rec.step(
            "discover_marker_files(a file)",
            lambda: _relative(root, discover_marker_files(root / "day1/a/logs/112_log.npz", "x")),
        )
        names = ["111_log.npz", "112_log.npz", "113_log.npz"]
        rec.step("index_marker_files(root)", lambda: _relative(root, index_marker_files(root, names)))
        rec.step(
            "index_marker_files(day1/a/logs)", lambda: _relative(root, index_marker_files(root / "day1/a/logs", names))
        )
        for depth in (0, 1, 3):
            rec.step(
                f"index_marker_files(root, max_depth={depth})",
                lambda depth=depth: _relative(root, index_marker_files(root, names, max_depth=depth)),
            )
        cases = {
            "empty list": [],
            "one": [root / "day1/a/logs"],
            "siblings": [root / "day1/a/logs", root / "day1/b/logs"],
            "nested": [root / "day1", root / "day1/a/logs"],
            "same twice": [root / "day1/a/logs", root / "day1/a/logs"],
            "different days": [root / "day1/a/logs", root / "day2/c/deep/er/logs"],
            "relative": [Path("day1/a/logs"), Path("day1/b/logs")],
            "missing": [root / "nope/logs", root / "day1/a/logs"],
            "through a symlink": [root / "linked_c/deep/er/logs", root / "day2/c/deep/er/logs"],
            "a file": [root / "day1/a/logs/112_log.npz"],
        }
        for label, paths in cases.items():
            rec.step(
                f"resolve_unique_roots({label})", lambda paths=paths: _relative(root, resolve_unique_roots(paths=paths))
            )


if __name__ == "__main__":
    main()
