"""Data structures, crash-safe data loggers and integrity-checked data movement for neuroscience pipelines.

Every public name is importable from here and from its documented subpackage: ``data_structures``,
``data_loggers`` and ``processing``.
"""

import importlib.metadata as _metadata

from .data_loggers import (
    DataLogger,
    LogArchiveReader,
    LogMessage,
    LogPackage,
    TornLogWarning,
    assemble_log_archives,
)
from .data_structures import JobState, ProcessingStatus, ProcessingTracker, YamlConfig, YamlConfigError
from .processing import (
    ChecksumVerification,
    calculate_directory_checksum,
    delete_directory,
    interpolate_data,
    transfer_directory,
    verify_directory_checksum,
)

try:
    # The installed distribution's version is the one truth (pyproject.toml sets it); a source tree that was never
    # installed has none, and says so rather than guessing.
    __version__: str = _metadata.version("ataraxis-data-structures")
except _metadata.PackageNotFoundError:  # pragma: no cover - only a bare source checkout on sys.path gets here
    __version__ = "0+unknown"

__all__ = [
    "ChecksumVerification",
    "DataLogger",
    "JobState",
    "LogArchiveReader",
    "LogMessage",
    "LogPackage",
    "ProcessingStatus",
    "ProcessingTracker",
    "TornLogWarning",
    "YamlConfig",
    "YamlConfigError",
    "assemble_log_archives",
    "calculate_directory_checksum",
    "delete_directory",
    "interpolate_data",
    "transfer_directory",
    "verify_directory_checksum",
]
