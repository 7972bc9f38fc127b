"""Runs the archive discovery API on a tree and prints what it returned, as JSON (under either release).

Run as ``python archive_discovery_children.py ROOT``: prints one JSON object mapping each probe to its result or
to the exception type it raised. The side-by-side test runs it under 7.2.0 and under ours and compares.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Callable
from pathlib import Path

from ataraxis_data_structures import data_loggers


def outcome(call: Callable[[], object]) -> object:
    try:
        result = call()
    except (OSError, ValueError) as error:
        return type(error).__name__
    if isinstance(result, dict):
        return {key: str(value) for key, value in result.items()}
    return str(result) if isinstance(result, Path) else result


def main(root: Path) -> None:
    d: object = data_loggers
    probes: dict[str, Callable[[], object]] = {
        "discover": lambda: d.discover_log_archives(root / "a_data_log"),  # type: ignore[attr-defined]
        "discover_root": lambda: d.discover_log_archives(root),  # type: ignore[attr-defined]
        "discover_missing": lambda: d.discover_log_archives(root / "missing"),  # type: ignore[attr-defined]
        "find_duplicate": lambda: d.find_log_archive(root, "1"),  # type: ignore[attr-defined]
        "find_nested": lambda: d.find_log_archive(root, "2"),  # type: ignore[attr-defined]
        "find_int": lambda: d.find_log_archive(root, 2),  # type: ignore[attr-defined]
        "find_folder_named_like_an_archive": lambda: d.find_log_archive(root, "3"),  # type: ignore[attr-defined]
        "find_absent": lambda: d.find_log_archive(root, "9"),  # type: ignore[attr-defined]
        "find_many": lambda: d.find_log_archives(root, ["2", "01", "2"]),  # type: ignore[attr-defined]
        "find_many_absent": lambda: d.find_log_archives(root, ["2", "9"]),  # type: ignore[attr-defined]
        "find_none": lambda: d.find_log_archives(root, []),  # type: ignore[attr-defined]
        "count": lambda: d.read_archive_message_count(root / "a_data_log" / "1_log.npz"),  # type: ignore[attr-defined]
        "count_without_onset": lambda: d.read_archive_message_count(root / "a_data_log" / "2_log.npz"),  # type: ignore[attr-defined]
        "count_missing": lambda: d.read_archive_message_count(root / "none.npz"),  # type: ignore[attr-defined]
        "constants": lambda: [
            d.LOG_ARCHIVE_SUFFIX,  # type: ignore[attr-defined]
            d.LOG_DIRECTORY_SUFFIX,  # type: ignore[attr-defined]
            d.PARALLEL_PROCESSING_THRESHOLD,  # type: ignore[attr-defined]
        ],
        "repr": lambda: repr(d.LogArchiveReader(root / "a_data_log" / "1_log.npz", onset_us=5)),  # type: ignore[attr-defined]
    }
    print(json.dumps({name: outcome(call) for name, call in probes.items()}))


if __name__ == "__main__":
    main(Path(sys.argv[1]))
