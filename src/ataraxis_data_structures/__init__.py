"""Data structures, crash-safe data loggers and integrity-checked data movement for neuroscience pipelines.

Every public name is importable from here and from its documented subpackage: ``data_structures``,
``data_loggers`` and ``processing``.
"""

from .data_loggers import (
    DataLogger,
    LogArchiveReader,
    LogMessage,
    LogPackage,
    assemble_log_archives,
)
from .data_structures import JobState, ProcessingStatus, ProcessingTracker, YamlConfig
from .processing import (
    calculate_directory_checksum,
    delete_directory,
    interpolate_data,
    transfer_directory,
    verify_directory_checksum,
)

__all__ = [
    "DataLogger",
    "JobState",
    "LogArchiveReader",
    "LogMessage",
    "LogPackage",
    "ProcessingStatus",
    "ProcessingTracker",
    "YamlConfig",
    "assemble_log_archives",
    "calculate_directory_checksum",
    "delete_directory",
    "interpolate_data",
    "transfer_directory",
    "verify_directory_checksum",
]
