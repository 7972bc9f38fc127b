"""Assets for logging serialized data to disk and reading the consolidated log archives back.

Names are imported on first use (PEP 562), as at the top level: a worker process that only reads archives
(``from ataraxis_data_structures.data_loggers import LogArchiveReader``) does not import the logger, assembly and
their dependencies (tqdm, threads, locks), which is most of a spawned worker's start-up. To export a name, add it to
the ``TYPE_CHECKING`` block, to ``_EXPORTS`` and to ``__all__``.
"""

from __future__ import annotations

TYPE_CHECKING = False  # the spelling that needs no `import typing` (see the package's __init__)
if TYPE_CHECKING:
    from typing import Any

    from .archive_assembly import (
        LoggerRunningWarning,
        LogSession,
        TornLogWarning,
        assemble_log_archives,
        read_archive_sessions,
    )
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
    from .data_logger import DataLogger, DataLoggerWarning
    from .live_view import LiveLogReader, SourceStatus
    from .log_package import LogPackage
    from .source_description import DescribedSource, SourceDescription, SourceDescriptionWarning

_EXPORTS: dict[str, str] = {
    "LOG_ARCHIVE_SUFFIX": "archive_discovery",
    "LOG_DIRECTORY_SUFFIX": "archive_discovery",
    "PARALLEL_PROCESSING_THRESHOLD": "archive_discovery",
    "DataLogger": "data_logger",
    "DataLoggerWarning": "data_logger",
    "DescribedSource": "source_description",
    "SourceDescription": "source_description",
    "SourceDescriptionWarning": "source_description",
    "LiveLogReader": "live_view",
    "LogArchiveReader": "archive_reader",
    "LogMessage": "archive_reader",
    "LogPackage": "log_package",
    "LogSession": "archive_assembly",
    "MessageColumns": "archive_reader",
    "SourceStatus": "live_view",
    "TornLogWarning": "archive_assembly",
    "assemble_log_archives": "archive_assembly",
    "discover_log_archives": "archive_discovery",
    "find_log_archive": "archive_discovery",
    "find_log_archives": "archive_discovery",
    "read_archive_message_count": "archive_discovery",
    "read_archive_sessions": "archive_assembly",
    "LoggerRunningWarning": "archive_assembly",
}

__all__ = [
    "LOG_ARCHIVE_SUFFIX",
    "LOG_DIRECTORY_SUFFIX",
    "PARALLEL_PROCESSING_THRESHOLD",
    "DataLogger",
    "DataLoggerWarning",
    "DescribedSource",
    "LiveLogReader",
    "LogArchiveReader",
    "LogMessage",
    "LogPackage",
    "LogSession",
    "LoggerRunningWarning",
    "MessageColumns",
    "SourceDescription",
    "SourceDescriptionWarning",
    "SourceStatus",
    "TornLogWarning",
    "assemble_log_archives",
    "discover_log_archives",
    "find_log_archive",
    "find_log_archives",
    "read_archive_message_count",
    "read_archive_sessions",
]


def __getattr__(name: str) -> Any:
    """Imports a public name on first access and keeps it as a module attribute."""
    if name not in _EXPORTS:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    import importlib

    value = getattr(importlib.import_module(f".{_EXPORTS[name]}", __name__), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *__all__})
