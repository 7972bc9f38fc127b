"""The module path ``data_loggers.log_archive_reader`` of 6.2.0 and 7.2.0: their names, re-exported."""

from ..processing.marker_files import discover_marker_files, index_marker_files
from .reading.archive_discovery import (
    LOG_ARCHIVE_SUFFIX,
    PARALLEL_PROCESSING_THRESHOLD,
    discover_log_archives,
    find_log_archive,
    find_log_archives,
    read_archive_message_count,
)
from .reading.archive_reader import LogArchiveReader, LogMessage

__all__ = [
    "LOG_ARCHIVE_SUFFIX",
    "PARALLEL_PROCESSING_THRESHOLD",
    "LogArchiveReader",
    "LogMessage",
    "discover_log_archives",
    "discover_marker_files",
    "find_log_archive",
    "find_log_archives",
    "index_marker_files",
    "read_archive_message_count",
]
