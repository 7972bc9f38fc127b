"""The public API is importable from the top-level package and from its documented subpackages."""

import importlib
import subprocess
import sys

import pytest

import ataraxis_data_structures as axds

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
