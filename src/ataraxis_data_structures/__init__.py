"""Data structures, crash-safe data loggers and integrity-checked data movement for neuroscience pipelines.

Every public name is importable from here and from its documented subpackage: ``data_structures``,
``data_loggers`` and ``processing``.
"""

from .data_loggers import (
    LOG_ARCHIVE_SUFFIX,
    LOG_DIRECTORY_SUFFIX,
    PARALLEL_PROCESSING_THRESHOLD,
    DataLogger,
    LogArchiveReader,
    LogMessage,
    LogPackage,
    LogSession,
    MessageColumns,
    TornLogWarning,
    assemble_log_archives,
    discover_log_archives,
    find_log_archive,
    find_log_archives,
    read_archive_message_count,
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
    "LOG_ARCHIVE_SUFFIX",
    "LOG_DIRECTORY_SUFFIX",
    "PARALLEL_PROCESSING_THRESHOLD",
    "ChecksumVerification",
    "DataLogger",
    "JobState",
    "LogArchiveReader",
    "LogMessage",
    "LogPackage",
    "LogSession",
    "MessageColumns",
    "ProcessingStatus",
    "ProcessingTracker",
    "TornLogWarning",
    "YamlConfig",
    "YamlConfigError",
    "assemble_log_archives",
    "calculate_directory_checksum",
    "delete_directory",
    "discover_log_archives",
    "find_log_archive",
    "find_log_archives",
    "interpolate_data",
    "read_archive_message_count",
    "read_archive_sessions",
    "transfer_directory",
    "verify_directory_checksum",
]
