"""The data_loggers wings hold: readers load no assembly, and the import graph between the wings runs downward only.

Wings (sub-packages of data_loggers), lowest first: ``formats`` (the bytes on disk), then ``live`` (DataLogger and
its process) and ``reading`` (the archive index and readers), then ``assembly`` (which reads existing archives and
takes the logger's lock name). A module imports its own wing, the wings below it and the package's shared
top-level modules. The package-wide rules (no private import across packages, ``__all__`` everywhere, the CLI on
public names) are tests/test_boundaries.py's.
"""

from __future__ import annotations

import ast
import json
import subprocess
import sys
from pathlib import Path

import pytest

import ataraxis_data_structures
from ataraxis_data_structures import data_loggers

PACKAGE = Path(ataraxis_data_structures.__file__).parent
LOGGERS = Path(data_loggers.__file__).parent
WINGS = ("formats", "live", "reading", "assembly")
ALLOWED: dict[str, set[str]] = {
    "formats": {"formats"},
    "live": {"formats", "live"},
    "reading": {"formats", "reading"},
    "assembly": {"formats", "reading", "assembly", "live"},
}
"""The wings each wing may import (assembly reads an existing archive and takes the live logger's lock name)."""

FORBIDDEN_FOR_READERS = (
    "ataraxis_data_structures.data_loggers.assembly",
    "ataraxis_data_structures.data_loggers.live",
    "ataraxis_data_structures.processing",
    "ataraxis_data_structures.file_locks",
    "ataraxis_data_structures._progress",
    "tqdm",
)

_READER_PROBE = """
import json, sys
from ataraxis_data_structures.data_loggers import {names}
print(json.dumps(sorted(sys.modules)))
"""


def _modules_loaded_by(names: str) -> list[str]:
    result = subprocess.run(
        [sys.executable, "-c", _READER_PROBE.format(names=names)], capture_output=True, text=True, check=False
    )
    assert result.returncode == 0, result.stderr
    loaded: list[str] = json.loads(result.stdout)
    return loaded


@pytest.mark.parametrize(
    "names", ["LogArchiveReader", "LogArchiveReader, read_archive_sessions", "read_archive_sessions, LogSession"]
)
def test_importing_the_readers_loads_no_assembly_writer_lock_or_processing_module(names: str) -> None:
    loaded = _modules_loaded_by(names)
    assert "ataraxis_data_structures.data_loggers.reading.zip_index" in loaded  # the probe imported the readers
    heavy = [
        module
        for module in loaded
        if any(module == prefix or module.startswith(prefix + ".") for prefix in FORBIDDEN_FOR_READERS)
    ]
    assert heavy == [], f"importing {names} loaded {heavy}"


def _imports(path: Path) -> list[tuple[str, int]]:
    """Returns (module, level) of every import in a module, type-checking-only ones included."""
    found: list[tuple[str, int]] = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom):
            if node.module is None:  # from . import x / from .. import x
                found.extend((alias.name, node.level) for alias in node.names)
            else:
                found.append((node.module, node.level))
                if node.level:
                    found.extend((f"{node.module}.{alias.name}", node.level) for alias in node.names)
        elif isinstance(node, ast.Import):
            found.extend((alias.name, 0) for alias in node.names)
    return found


def _absolute(path: Path, module: str, level: int) -> str:
    """Returns the dotted name a (possibly relative) import in the module at path names."""
    if level == 0:
        return module
    parts = list(path.relative_to(PACKAGE.parent).with_suffix("").parts)
    base = parts[:-level]
    return ".".join(base + ([module] if module else []))


@pytest.mark.parametrize("wing", WINGS)
def test_each_wing_imports_only_itself_and_the_wings_below_it(wing: str) -> None:
    prefix = "ataraxis_data_structures.data_loggers."
    for path in sorted((LOGGERS / wing).glob("*.py")):
        for module, level in _imports(path):
            target = _absolute(path, module, level)
            if target.startswith(prefix):
                other = target.removeprefix(prefix).split(".")[0]
                assert other in ALLOWED[wing], f"{path.name} ({wing}) imports {target}"
            else:
                assert not target.startswith("ataraxis_data_structures.cli"), f"{path.name} imports the CLI"
