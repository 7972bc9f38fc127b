"""Data structures, crash-safe data loggers and integrity-checked data movement for neuroscience pipelines.

Every public name is importable from here and from its documented subpackage: ``data_structures``,
``data_loggers``, ``processing`` and ``shared_memory``.

Names are imported on first use (PEP 562): ``import ataraxis_data_structures`` costs almost nothing, so the ``axds``
command line answers Ctrl+C at once and a program that uses one subpackage does not pay for the others (NumPy,
PyYAML, cattrs). To export a name, add it to the ``TYPE_CHECKING`` block (what type checkers see), to ``_EXPORTS``
and to ``__all__``; ``tests/test_package.py`` checks that the three agree.
"""

from __future__ import annotations

from ._lazy import lazy_exports

# Not `from typing import TYPE_CHECKING`: importing typing alone costs more than the rest of this module, and this
# module's import is the window in which a Ctrl+C of `axds` could still print a traceback. Type checkers read this
# spelling the same way.
TYPE_CHECKING = False
if TYPE_CHECKING:
    from .data_loggers import (
        LOG_ARCHIVE_SUFFIX,
        LOG_DIRECTORY_SUFFIX,
        PARALLEL_PROCESSING_THRESHOLD,
        DataLogger,
        DataLoggerWarning,
        DescribedSource,
        LiveLogReader,
        LogArchiveReader,
        LoggerRunningWarning,
        LogMessage,
        LogPackage,
        LogSession,
        MessageColumns,
        SourceDescription,
        SourceDescriptionWarning,
        SourceStatus,
        TornLogWarning,
        assemble_log_archives,
        discover_log_archives,
        find_log_archive,
        find_log_archives,
        read_archive_message_count,
        read_archive_sessions,
    )
    from .data_structures import (
        YAML_EXCLUDE_METADATA,
        JobState,
        MissingValueError,
        ProcessingStatus,
        ProcessingTracker,
        StaleJob,
        TrackerStatus,
        YamlConfig,
        YamlConfigError,
        YamlConfigWarning,
        register_yaml_type,
    )
    from .processing import (
        ChecksumVerification,
        atomic_write,
        calculate_directory_checksum,
        delete_directory,
        direct_write,
        discover_marker_files,
        discover_marker_roots,
        index_marker_files,
        initialize_worker_threads,
        interpolate_data,
        limit_worker_threads,
        resolve_unique_roots,
        transfer_directory,
        verify_directory_checksum,
    )
    from .shared_memory import (
        SharedMemoryArray,
        SharedMemoryFormatError,
        SharedMemoryLockWarning,
    )

    __version__: str

_EXPORTS: dict[str, str] = {
    "ChecksumVerification": "processing",
    "DataLogger": "data_loggers",
    "DataLoggerWarning": "data_loggers",
    "DescribedSource": "data_loggers",
    "SourceDescription": "data_loggers",
    "SourceDescriptionWarning": "data_loggers",
    "JobState": "data_structures",
    "LOG_ARCHIVE_SUFFIX": "data_loggers",
    "LOG_DIRECTORY_SUFFIX": "data_loggers",
    "LiveLogReader": "data_loggers",
    "LogArchiveReader": "data_loggers",
    "LogMessage": "data_loggers",
    "LogPackage": "data_loggers",
    "LogSession": "data_loggers",
    "MessageColumns": "data_loggers",
    "MissingValueError": "data_structures",
    "PARALLEL_PROCESSING_THRESHOLD": "data_loggers",
    "ProcessingStatus": "data_structures",
    "ProcessingTracker": "data_structures",
    "SharedMemoryArray": "shared_memory",
    "SharedMemoryFormatError": "shared_memory",
    "SharedMemoryLockWarning": "shared_memory",
    "SourceStatus": "data_loggers",
    "StaleJob": "data_structures",
    "TornLogWarning": "data_loggers",
    "TrackerStatus": "data_structures",
    "YAML_EXCLUDE_METADATA": "data_structures",
    "YamlConfig": "data_structures",
    "YamlConfigError": "data_structures",
    "YamlConfigWarning": "data_structures",
    "assemble_log_archives": "data_loggers",
    "atomic_write": "processing",
    "calculate_directory_checksum": "processing",
    "delete_directory": "processing",
    "direct_write": "processing",
    "discover_log_archives": "data_loggers",
    "discover_marker_files": "processing",
    "discover_marker_roots": "processing",
    "find_log_archive": "data_loggers",
    "find_log_archives": "data_loggers",
    "index_marker_files": "processing",
    "initialize_worker_threads": "processing",
    "interpolate_data": "processing",
    "limit_worker_threads": "processing",
    "read_archive_message_count": "data_loggers",
    "read_archive_sessions": "data_loggers",
    "register_yaml_type": "data_structures",
    "resolve_unique_roots": "processing",
    "transfer_directory": "processing",
    "verify_directory_checksum": "processing",
    "LoggerRunningWarning": "data_loggers",
}
"""Public name -> the subpackage that defines it."""

__all__ = [
    "ChecksumVerification",
    "DataLogger",
    "DataLoggerWarning",
    "DescribedSource",
    "JobState",
    "LOG_ARCHIVE_SUFFIX",
    "LOG_DIRECTORY_SUFFIX",
    "LiveLogReader",
    "LogArchiveReader",
    "LogMessage",
    "LogPackage",
    "LogSession",
    "LoggerRunningWarning",
    "MessageColumns",
    "MissingValueError",
    "PARALLEL_PROCESSING_THRESHOLD",
    "ProcessingStatus",
    "ProcessingTracker",
    "SharedMemoryArray",
    "SharedMemoryFormatError",
    "SharedMemoryLockWarning",
    "SourceDescription",
    "SourceDescriptionWarning",
    "SourceStatus",
    "StaleJob",
    "TornLogWarning",
    "TrackerStatus",
    "YAML_EXCLUDE_METADATA",
    "YamlConfig",
    "YamlConfigError",
    "YamlConfigWarning",
    "assemble_log_archives",
    "atomic_write",
    "calculate_directory_checksum",
    "delete_directory",
    "direct_write",
    "discover_log_archives",
    "discover_marker_files",
    "discover_marker_roots",
    "find_log_archive",
    "find_log_archives",
    "index_marker_files",
    "initialize_worker_threads",
    "interpolate_data",
    "limit_worker_threads",
    "read_archive_message_count",
    "read_archive_sessions",
    "register_yaml_type",
    "resolve_unique_roots",
    "transfer_directory",
    "verify_directory_checksum",
]


def _version() -> str:
    import importlib.metadata

    try:
        # The installed distribution's version is the one truth (pyproject.toml sets it); a source tree that was
        # never installed has none, and says so rather than guessing.
        return importlib.metadata.version("ataraxis-data-structures")
    except importlib.metadata.PackageNotFoundError:  # pragma: no cover - only a bare source checkout gets here
        return "0+unknown"


__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS, __all__, {"__version__": _version})
