"""Data structures, crash-safe data loggers and integrity-checked data movement for neuroscience pipelines.

Every public name is importable from here and from its documented subpackage: ``data_structures``,
``data_loggers`` and ``processing``.
"""

from .data_loggers import (
    DataLogger,
    LogArchiveReader,
    LogMessage,
    LogPackage,
    LogSession,
    TornLogWarning,
    assemble_log_archives,
    read_archive_sessions,
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

__all__ = [
    "ChecksumVerification",
    "DataLogger",
    "JobState",
    "LogArchiveReader",
    "LogMessage",
    "LogPackage",
    "LogSession",
    "ProcessingStatus",
    "ProcessingTracker",
    "TornLogWarning",
    "YamlConfig",
    "YamlConfigError",
    "assemble_log_archives",
    "calculate_directory_checksum",
    "delete_directory",
    "interpolate_data",
    "read_archive_sessions",
    "transfer_directory",
    "verify_directory_checksum",
]
