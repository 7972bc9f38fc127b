"""The releases' module paths: code imports from ``data_loggers.serialized_data_logger``, ``processing.checksum_tools``
and the like, not only from the top level. Every module path of 6.2.0 and 7.2.0 imports from ours and holds the names
the library itself defines there in either release (their dir() minus what they import from NumPy, the standard
library or ataraxis-base-utilities; the modules have no ``__all__``). Always against the lists below; against the live
releases when installed (marked ``reference``).
"""

from __future__ import annotations

import importlib
import json
import os
from pathlib import Path

import pytest

from ataraxis_data_structures.processing import filesystem_tools
from reference_release import RELEASES, run_reference

PACKAGE = "ataraxis_data_structures"

RELEASE_NAMES: dict[str, list[str]] = {
    "data_loggers.serialized_data_logger": [
        "DataLogger",
        "LOG_ARCHIVE_SUFFIX",
        "LOG_DIRECTORY_SUFFIX",
        "LogPackage",
        "SharedMemoryArray",
        "assemble_log_archives",
        "initialize_worker_threads",
        "limit_worker_threads",
    ],
    "data_loggers.log_archive_reader": [
        "LOG_ARCHIVE_SUFFIX",
        "LogArchiveReader",
        "LogMessage",
        "PARALLEL_PROCESSING_THRESHOLD",
        "discover_log_archives",
        "discover_marker_files",
        "find_log_archive",
        "find_log_archives",
        "index_marker_files",
        "read_archive_message_count",
    ],
    "processing.checksum_tools": [
        "CHECKSUM_FILENAME",
        "atomic_write",
        "calculate_directory_checksum",
        "initialize_worker_threads",
        "limit_worker_threads",
        "walk_files",
    ],
    "processing.transfer_tools": [
        "CHECKSUM_FILENAME",
        "calculate_directory_checksum",
        "delete_directory",
        "reports_absent_entry",
        "transfer_directory",
        "walk_directory",
        "walk_files",
    ],
    "processing.filesystem_tools": [
        "discover_marker_files",
        "discover_marker_roots",
        "index_marker_files",
        "reports_absent_entry",
        "resolve_unique_roots",
        "walk_directory",
        "walk_files",
    ],
    "processing.parallel_tools": ["initialize_worker_threads", "limit_worker_threads"],
    "processing.write_tools": ["atomic_write", "direct_write"],
    "processing.interpolation": ["interpolate_data"],
    "data_structures.processing_tracker": [
        "JobState",
        "ProcessingStatus",
        "ProcessingTracker",
        "TrackerStatus",
        "YAML_EXCLUDE_METADATA",
        "YamlConfig",
        "discover_marker_files",
    ],
    "data_structures.yaml_config": ["YAML_EXCLUDE_METADATA", "YamlConfig", "atomic_write"],
    "shared_memory.shared_memory_array": ["SharedMemoryArray"],
}
"""Per module path (below the package): the names either release defines or re-exports from itself there."""

# Run in a release: every module path of its package, and the names there that are the library's own (functions
# and classes defined in the package, and constants), not what it imports from elsewhere.
PROBE = """
import importlib, inspect, json, pkgutil
import ataraxis_data_structures as package
found = {}
for info in pkgutil.walk_packages(package.__path__, package.__name__ + "."):
    module = importlib.import_module(info.name)
    names = []
    for name in dir(module):
        value = getattr(module, name)
        if name.startswith("_") or name == "TYPE_CHECKING" or inspect.ismodule(value):
            continue
        origin = getattr(value, "__module__", None)
        if not isinstance(origin, str) or origin.startswith(package.__name__):
            names.append(name)
    found[info.name.removeprefix(package.__name__ + ".")] = sorted(names)
print(json.dumps(found))
"""


@pytest.mark.parametrize("path", sorted(RELEASE_NAMES))
def test_each_release_module_path_imports_with_its_names(path: str) -> None:
    module = importlib.import_module(f"{PACKAGE}.{path}")
    missing = [name for name in RELEASE_NAMES[path] if not hasattr(module, name)]
    assert not missing, f"{PACKAGE}.{path} lacks {missing}"
    assert set(RELEASE_NAMES[path]) <= set(dir(module))


def test_the_thin_modules_hold_the_same_objects_as_the_package() -> None:
    # Re-exports, not copies: `isinstance` and identity checks across import paths keep working.
    from ataraxis_data_structures import data_loggers, processing

    serialized = importlib.import_module(f"{PACKAGE}.data_loggers.serialized_data_logger")
    reader = importlib.import_module(f"{PACKAGE}.data_loggers.log_archive_reader")
    transfer_tools = importlib.import_module(f"{PACKAGE}.processing.transfer_tools")
    checksum_tools = importlib.import_module(f"{PACKAGE}.processing.checksum_tools")
    assert serialized.DataLogger is data_loggers.DataLogger
    assert serialized.LogPackage is data_loggers.LogPackage
    assert reader.LogArchiveReader is data_loggers.LogArchiveReader
    assert transfer_tools.transfer_directory is processing.transfer_directory
    assert checksum_tools.calculate_directory_checksum is processing.calculate_directory_checksum
    assert checksum_tools.CHECKSUM_FILENAME == "ax_checksum.txt"


def make_walk_tree(root: Path) -> Path:
    (root / "a" / "b").mkdir(parents=True)
    (root / "empty").mkdir()
    (root / "f").write_text("x")
    (root / "a" / "b" / "g").write_text("y")
    (root / "file_link").symlink_to(root / "f")
    (root / "folder_link").symlink_to(root / "a")
    (root / "broken").symlink_to(root / "nothing")
    os.mkfifo(root / "fifo")
    return root


def test_walkers_list_files_through_links_and_every_entry_without_following_them(tmp_path: Path) -> None:
    root = make_walk_tree(tmp_path / "tree")
    assert sorted(map(str, filesystem_tools.walk_files(root))) == [str(root / n) for n in ("a/b/g", "f", "file_link")]
    everything = ["a", "a/b", "a/b/g", "broken", "empty", "f", "fifo", "file_link", "folder_link"]
    assert sorted(map(str, filesystem_tools.walk_directory(root))) == [str(root / n) for n in everything]
    with pytest.raises(FileNotFoundError):
        filesystem_tools.walk_files(tmp_path / "missing")
    with pytest.raises(NotADirectoryError):
        filesystem_tools.walk_directory(root / "f")
    assert filesystem_tools.reports_absent_entry(FileNotFoundError(2, "gone"))
    assert not filesystem_tools.reports_absent_entry(PermissionError(13, "denied"))


def run_probe(version: str, code: str, *arguments: str) -> str:
    """Runs code in a release's interpreter (the test's reference mark skips it where that release is missing)."""
    return run_reference(code, *arguments, python=RELEASES[version])


@pytest.mark.slow
@pytest.mark.parametrize(
    "version",
    [
        pytest.param("6.2.0", marks=pytest.mark.reference("6.2.0")),
        pytest.param("7.2.0", marks=pytest.mark.reference("7.2.0")),
    ],
)
def test_every_module_path_of_the_release_imports_from_ours_with_its_names(version: str) -> None:
    found: dict[str, list[str]] = json.loads(run_probe(version, PROBE))
    lacking = {}
    for path, names in found.items():
        module = importlib.import_module(f"{PACKAGE}.{path}")  # every module path of the release imports
        absent = [name for name in names if not hasattr(module, name)]
        if absent:
            lacking[path] = absent
        if "." in path:  # the listed names stay in step with the release (the subpackages' __all__ are elsewhere)
            assert set(names) <= set(RELEASE_NAMES[path]), (path, sorted(set(names) - set(RELEASE_NAMES[path])))
    assert not lacking, f"names {version} has at these module paths and ours lacks: {lacking}"


WALK_PROBE = """
import json, sys
from pathlib import Path
from ataraxis_data_structures.processing.filesystem_tools import walk_directory, walk_files
root = Path(sys.argv[1])
print(json.dumps([sorted(map(str, walk_files(root))), sorted(map(str, walk_directory(root)))]))
"""


@pytest.mark.slow
@pytest.mark.reference("7.2.0")
def test_walkers_list_what_the_release_lists(tmp_path: Path) -> None:
    root = make_walk_tree(tmp_path / "tree")
    files, everything = json.loads(run_probe("7.2.0", WALK_PROBE, str(root)))
    assert sorted(map(str, filesystem_tools.walk_files(root))) == files
    assert sorted(map(str, filesystem_tools.walk_directory(root))) == everything
