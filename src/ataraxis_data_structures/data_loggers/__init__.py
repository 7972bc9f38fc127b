"""Assets for logging serialized data to disk and reading the consolidated log archives back."""

from .archive_assembly import TornLogWarning, assemble_log_archives
from .archive_reader import LogArchiveReader, LogMessage
from .data_logger import DataLogger
from .live_view import LiveLogReader, SourceStatus
from .log_package import LogPackage

__all__ = [
    "DataLogger",
    "LiveLogReader",
    "LogArchiveReader",
    "LogMessage",
    "LogPackage",
    "SourceStatus",
    "TornLogWarning",
    "assemble_log_archives",
]
