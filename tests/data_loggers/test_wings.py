"""The data_loggers wings hold: readers load no assembly, the import graph runs downward only, every module says
what it exports.

Wings (sub-packages of data_loggers), lowest first: ``formats`` (the bytes on disk), then ``live`` (DataLogger and
its process) and ``reading`` (the archive index and readers), then ``assembly`` (which reads existing archives and
takes the logger's lock name). A module imports its own wing, the wings below it and the package's shared
top-level modules; never another package's private module.
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


def test_no_data_loggers_module_imports_another_package_s_private_module() -> None:
    for path in sorted(LOGGERS.rglob("*.py")):
        for module, level in _imports(path):
            target = _absolute(path, module, level)
            parts = target.split(".")
            if parts[0] != "ataraxis_data_structures" or len(parts) < 3:
                continue  # outside the package, or a top-level module of the package (shared by every subpackage)
            if parts[1] != "data_loggers":
                assert not any(part.startswith("_") for part in parts[2:]), f"{path} imports {target}"


def test_every_data_loggers_module_declares_all() -> None:
    missing = [
        str(path.relative_to(LOGGERS))
        for path in sorted(LOGGERS.rglob("*.py"))
        if not any(
            isinstance(node, (ast.Assign, ast.AnnAssign))
            and any(
                isinstance(target, ast.Name) and target.id == "__all__"
                for target in (node.targets if isinstance(node, ast.Assign) else [node.target])
            )
            for node in ast.parse(path.read_text(encoding="utf-8")).body
        )
    ]
    assert missing == []


def test_the_cli_imports_only_public_data_loggers_names_and_no_byte_layout() -> None:
    """The CLI uses public functions of the wings, never the byte layouts (live records, archive layout, comment)."""
    cli = PACKAGE / "cli"
    for path in sorted(cli.glob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.ImportFrom) and node.module and "data_loggers" in node.module:
                target = _absolute(path, node.module, node.level)
                layouts = ("formats.log_format", "formats.archive_layout", "formats.archive_format")
                assert not target.endswith(layouts), f"{path.name} imports {target}"
                module = __import__(target, fromlist=["__all__"])
                for alias in node.names:
                    assert alias.name in getattr(module, "__all__", []), f"{path.name} imports {alias.name}"
                    assert not alias.name.startswith("_"), f"{path.name} imports {alias.name}"
