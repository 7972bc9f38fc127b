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

    from .assembly.archive_assembly import LoggerRunningWarning, TornLogWarning, assemble_log_archives
    from .formats import log_format as log_format
    from .formats.archive_format import LogSession
    from .formats.source_description import DescribedSource, SourceDescription, SourceDescriptionWarning
    from .live.data_logger import DataLogger, DataLoggerWarning
    from .live.live_view import LiveLogReader, SourceStatus
    from .live.log_package import LogPackage
    from .reading.archive_discovery import (
        LOG_ARCHIVE_SUFFIX,
        LOG_DIRECTORY_SUFFIX,
        PARALLEL_PROCESSING_THRESHOLD,
        discover_log_archives,
        find_log_archive,
        find_log_archives,
        read_archive_message_count,
    )
    from .reading.archive_reader import LogArchiveReader, LogMessage, MessageColumns
    from .reading.archive_sessions import read_archive_sessions

_EXPORTS: dict[str, str] = {
    "LOG_ARCHIVE_SUFFIX": "reading.archive_discovery",
    "LOG_DIRECTORY_SUFFIX": "reading.archive_discovery",
    "PARALLEL_PROCESSING_THRESHOLD": "reading.archive_discovery",
    "DataLogger": "live.data_logger",
    "DataLoggerWarning": "live.data_logger",
    "DescribedSource": "formats.source_description",
    "SourceDescription": "formats.source_description",
    "SourceDescriptionWarning": "formats.source_description",
    "LiveLogReader": "live.live_view",
    "LogArchiveReader": "reading.archive_reader",
    "LogMessage": "reading.archive_reader",
    "LogPackage": "live.log_package",
    "LogSession": "formats.archive_format",
    "MessageColumns": "reading.archive_reader",
    "SourceStatus": "live.live_view",
    "TornLogWarning": "assembly.archive_assembly",
    "assemble_log_archives": "assembly.archive_assembly",
    "discover_log_archives": "reading.archive_discovery",
    "find_log_archive": "reading.archive_discovery",
    "find_log_archives": "reading.archive_discovery",
    "read_archive_message_count": "reading.archive_discovery",
    "read_archive_sessions": "reading.archive_sessions",
    "LoggerRunningWarning": "assembly.archive_assembly",
}
# Modules the README shows imported from here (``from ataraxis_data_structures.data_loggers import log_format``).
_MODULES: dict[str, str] = {"log_format": "formats.log_format"}

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
    import importlib

    if name in _MODULES:
        value: Any = importlib.import_module(f".{_MODULES[name]}", __name__)
    elif name in _EXPORTS:
        value = getattr(importlib.import_module(f".{_EXPORTS[name]}", __name__), name)
    else:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *__all__})
