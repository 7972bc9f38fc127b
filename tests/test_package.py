"""The public API is importable from the top-level package and from its documented subpackages."""

import importlib
import json
import subprocess
import sys
from pathlib import Path

import pytest

import ataraxis_data_structures as axds

CHILDREN = str(Path(__file__).with_name("package_children.py"))

PUBLIC = {
    "data_structures": ["JobState", "ProcessingStatus", "ProcessingTracker", "YamlConfig", "YamlConfigError"],
    "data_loggers": [
        "DataLogger",
        "LogArchiveReader",
        "LogMessage",
        "LogPackage",
        "LogSession",
        "TornLogWarning",
        "assemble_log_archives",
        "read_archive_sessions",
    ],
    "processing": [
        "ChecksumVerification",
        "calculate_directory_checksum",
        "delete_directory",
        "interpolate_data",
        "transfer_directory",
        "verify_directory_checksum",
    ],
}


@pytest.mark.parametrize("module", sorted(PUBLIC))
def test_public_names_are_importable_from_their_module_and_the_top_level(module: str) -> None:
    sub = importlib.import_module(f"ataraxis_data_structures.{module}")
    for name in PUBLIC[module]:
        assert getattr(sub, name) is getattr(axds, name), name
        assert name in sub.__all__
        assert name in axds.__all__


def test_package_is_typed() -> None:
    from importlib.resources import files

    assert files("ataraxis_data_structures").joinpath("py.typed").is_file()


def test_cli_help_lists_the_command_groups() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "ataraxis_data_structures.cli", "--help"], capture_output=True, text=True
    )
    assert result.returncode == 0
    assert "axds" in result.stdout


@pytest.mark.parametrize("package", ["", ".data_structures", ".processing", ".data_loggers"])
def test_lazy_exports_agree_with_all_and_with_what_type_checkers_see(package: str) -> None:
    """Each public name is in ``__all__``, in ``_EXPORTS`` (what is imported on first use) and in the TYPE_CHECKING
    block (what mypy and IDEs see), and the module it names really defines it (top level and lazy subpackages)."""
    import ast
    from pathlib import Path

    lazy = importlib.import_module(f"ataraxis_data_structures{package}")
    assert lazy.__file__ is not None
    tree = ast.parse(Path(lazy.__file__).read_text())
    checked: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.If) and isinstance(node.test, ast.Name) and node.test.id == "TYPE_CHECKING":
            for statement in node.body:
                if isinstance(statement, ast.ImportFrom) and statement.level >= 1:
                    relative = "." * (statement.level - 1) + (statement.module or "")  # as _EXPORTS spells it
                    for alias in statement.names:
                        if alias.name in getattr(lazy, "_MODULES", {}):  # a module served as an attribute
                            continue
                        checked.add(alias.name)
                        assert lazy._EXPORTS.get(alias.name) == relative, alias.name
    assert checked == set(lazy._EXPORTS) == set(lazy.__all__)
    assert lazy.__all__ == sorted(lazy.__all__)
    for name in lazy.__all__:
        assert getattr(lazy, name) is getattr(importlib.import_module(f".{lazy._EXPORTS[name]}", lazy.__name__), name)
    with pytest.raises(AttributeError, match="no attribute 'NoSuchName'"):
        lazy.NoSuchName  # noqa: B018


@pytest.mark.parametrize(("package", "submodule"), [("data_structures", "yaml_config"), ("processing", "checksum")])
def test_importing_a_subpackage_loads_none_of_its_modules_until_a_name_is_used(package: str, submodule: str) -> None:
    code = (
        f"import sys, ataraxis_data_structures.{package} as p\n"
        "print(sorted(m for m in sys.modules if m.startswith(p.__name__ + '.')))\n"
        f"print(p.{submodule}.__name__, all(getattr(p, name) is not None for name in p.__all__))"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert result.stdout.split("\n")[:2] == ["[]", f"ataraxis_data_structures.{package}.{submodule} True"], (
        result.stdout
    )


def test_importing_the_package_imports_no_dependency_until_a_name_is_used() -> None:
    result = subprocess.run([sys.executable, CHILDREN, "lazy-imports"], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr


def test_version_is_the_installed_distribution_s() -> None:
    from importlib.metadata import version

    assert axds.__version__ == version("ataraxis-data-structures")
    assert "__version__" in dir(axds)


def test_subpackages_are_attributes_without_importing_them_first() -> None:
    result = subprocess.run([sys.executable, CHILDREN, "subpackage-attribute"], capture_output=True, text=True)
    assert result.stdout.strip() == "calculate_directory_checksum", result.stderr


def test_the_library_leaves_no_thread_running_after_its_work(tmp_path: Path) -> None:
    """Logging, assembling and checksumming with progress bars leave no thread behind (tqdm's monitor included).

    A stray thread makes every later fork in the user's process warn (Python 3.12+) and risk a deadlock.
    """
    result = subprocess.run(
        [sys.executable, CHILDREN, "threads-left", str(tmp_path)], capture_output=True, text=True, check=True
    )
    assert json.loads(result.stdout.splitlines()[-1]) == []
