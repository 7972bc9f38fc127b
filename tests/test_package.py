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


def test_lazy_exports_agree_with_all_and_with_what_type_checkers_see() -> None:
    """Each public name is in ``__all__``, in ``_EXPORTS`` (what is imported on first use) and in the TYPE_CHECKING
    block (what mypy and IDEs see), and the subpackage it names really defines it."""
    import ast
    from pathlib import Path

    tree = ast.parse(Path(axds.__file__).read_text())
    checked: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.If) and isinstance(node.test, ast.Name) and node.test.id == "TYPE_CHECKING":
            for statement in node.body:
                if isinstance(statement, ast.ImportFrom) and statement.level == 1:
                    for alias in statement.names:
                        checked.add(alias.name)
                        assert axds._EXPORTS.get(alias.name) == statement.module, alias.name
    assert checked == set(axds._EXPORTS) == set(axds.__all__)
    assert axds.__all__ == sorted(axds.__all__)
    for name in axds.__all__:
        assert getattr(axds, name) is getattr(
            importlib.import_module(f"ataraxis_data_structures.{axds._EXPORTS[name]}"), name
        )
    with pytest.raises(AttributeError, match="no attribute 'NoSuchName'"):
        axds.NoSuchName  # noqa: B018


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
