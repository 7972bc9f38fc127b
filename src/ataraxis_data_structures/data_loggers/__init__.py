"""Assets for logging serialized data to disk and reading the consolidated log archives back.

Names are imported on first use (PEP 562), as at the top level: a worker process that only reads archives
(``from ataraxis_data_structures.data_loggers import LogArchiveReader``) does not import the logger, assembly and
their dependencies (tqdm, threads, locks), which is most of a spawned worker's start-up. To export a name, add it to
the ``TYPE_CHECKING`` block, to ``_EXPORTS`` and to ``__all__``.

The sub-packages are the wings of the README's architecture: ``formats`` (the bytes on disk), ``live`` (DataLogger and
its process), ``reading`` (the archive index and readers) and ``assembly``. The CLI takes every name it needs from
here.
"""

from __future__ import annotations

import functools
import importlib

from .._lazy import lazy_exports

TYPE_CHECKING = False  # the spelling that needs no `import typing` (see the package's __init__)
if TYPE_CHECKING:
    from ..errors import DataLoggerWarning, LoggerRunningWarning, SourceDescriptionWarning, TornLogWarning
    from .assembly.archive_assembly import assemble_log_archives
    from .formats import log_format as log_format
    from .formats.archive_format import LogSession
    from .formats.source_description import (
        DescribedSource,
        SourceDescription,
        description_from_fields,
        summary_text,
    )
    from .live.data_logger import DataLogger
    from .live.live_view import LiveLogReader, SourceStatus
    from .live.log_package import LogPackage
    from .reading.archive_discovery import (
        LOG_ARCHIVE_SUFFIX,
        LOG_DIRECTORY_SUFFIX,
        PARALLEL_PROCESSING_THRESHOLD,
        archive_source_id,
        discover_log_archives,
        find_log_archive,
        find_log_archives,
        read_archive_message_count,
    )
    from .reading.archive_plot import PLOT_EXTRA_HINT, plot_sources, source_timing
    from .reading.archive_reader import LogArchiveReader, LogMessage, MessageColumns
    from .reading.archive_sessions import read_archive_sessions
    from .reading.archive_summary import ArchiveSummary, summarize_archive

_EXPORTS: dict[str, str] = {
    "ArchiveSummary": "reading.archive_summary",
    "DataLogger": "live.data_logger",
    "DataLoggerWarning": ".errors",
    "DescribedSource": "formats.source_description",
    "LOG_ARCHIVE_SUFFIX": "reading.archive_discovery",
    "LOG_DIRECTORY_SUFFIX": "reading.archive_discovery",
    "LiveLogReader": "live.live_view",
    "LogArchiveReader": "reading.archive_reader",
    "LogMessage": "reading.archive_reader",
    "LogPackage": "live.log_package",
    "LogSession": "formats.archive_format",
    "LoggerRunningWarning": ".errors",
    "MessageColumns": "reading.archive_reader",
    "PARALLEL_PROCESSING_THRESHOLD": "reading.archive_discovery",
    "PLOT_EXTRA_HINT": "reading.archive_plot",
    "SourceDescription": "formats.source_description",
    "SourceDescriptionWarning": ".errors",
    "SourceStatus": "live.live_view",
    "TornLogWarning": ".errors",
    "archive_source_id": "reading.archive_discovery",
    "assemble_log_archives": "assembly.archive_assembly",
    "description_from_fields": "formats.source_description",
    "discover_log_archives": "reading.archive_discovery",
    "find_log_archive": "reading.archive_discovery",
    "find_log_archives": "reading.archive_discovery",
    "plot_sources": "reading.archive_plot",
    "read_archive_message_count": "reading.archive_discovery",
    "read_archive_sessions": "reading.archive_sessions",
    "source_timing": "reading.archive_plot",
    "summarize_archive": "reading.archive_summary",
    "summary_text": "formats.source_description",
}
"""Public name -> the module that defines it, relative to this package (``.errors``: the package's errors)."""
# Modules the README shows imported from here (``from ataraxis_data_structures.data_loggers import log_format``).
_MODULES: dict[str, str] = {"log_format": "formats.log_format"}

__all__ = [
    "ArchiveSummary",
    "DataLogger",
    "DataLoggerWarning",
    "DescribedSource",
    "LOG_ARCHIVE_SUFFIX",
    "LOG_DIRECTORY_SUFFIX",
    "LiveLogReader",
    "LogArchiveReader",
    "LogMessage",
    "LogPackage",
    "LogSession",
    "LoggerRunningWarning",
    "MessageColumns",
    "PARALLEL_PROCESSING_THRESHOLD",
    "PLOT_EXTRA_HINT",
    "SourceDescription",
    "SourceDescriptionWarning",
    "SourceStatus",
    "TornLogWarning",
    "archive_source_id",
    "assemble_log_archives",
    "description_from_fields",
    "discover_log_archives",
    "find_log_archive",
    "find_log_archives",
    "plot_sources",
    "read_archive_message_count",
    "read_archive_sessions",
    "source_timing",
    "summarize_archive",
    "summary_text",
]


__getattr__, __dir__ = lazy_exports(
    __name__,
    _EXPORTS,
    __all__,
    {name: functools.partial(importlib.import_module, f".{module}", __name__) for name, module in _MODULES.items()},
)
