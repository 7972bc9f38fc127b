"""Assets for logging serialized data to disk and reading the consolidated log archives back."""

from .archive_assembly import LogSession, TornLogWarning, assemble_log_archives, read_archive_sessions
from .archive_reader import LogArchiveReader, LogMessage
from .data_logger import DataLogger
from .log_package import LogPackage

__all__ = [
    "DataLogger",
    "LogArchiveReader",
    "LogMessage",
    "LogPackage",
    "LogSession",
    "TornLogWarning",
    "assemble_log_archives",
    "read_archive_sessions",
]
