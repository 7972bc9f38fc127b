"""Assets for logging serialized data to disk and reading the consolidated log archives back."""

from .archive_assembly import LogSession, TornLogWarning, assemble_log_archives, read_archive_sessions
from .archive_discovery import (
    LOG_ARCHIVE_SUFFIX,
    LOG_DIRECTORY_SUFFIX,
    PARALLEL_PROCESSING_THRESHOLD,
    discover_log_archives,
    find_log_archive,
    find_log_archives,
    read_archive_message_count,
)
from .archive_reader import LogArchiveReader, LogMessage, MessageColumns
from .data_logger import DataLogger
from .live_view import LiveLogReader, SourceStatus
from .log_package import LogPackage

__all__ = [
    "LOG_ARCHIVE_SUFFIX",
    "LOG_DIRECTORY_SUFFIX",
    "PARALLEL_PROCESSING_THRESHOLD",
    "DataLogger",
    "LiveLogReader",
    "LogArchiveReader",
    "LogMessage",
    "LogPackage",
    "LogSession",
    "MessageColumns",
    "SourceStatus",
    "TornLogWarning",
    "assemble_log_archives",
    "discover_log_archives",
    "find_log_archive",
    "find_log_archives",
    "read_archive_message_count",
    "read_archive_sessions",
]
