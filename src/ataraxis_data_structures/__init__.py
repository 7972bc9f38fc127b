"""Data structures, crash-safe data loggers and integrity-checked data movement for neuroscience pipelines.

Every public name is importable from here and from its documented subpackage: ``data_structures``,
``data_loggers``, ``processing`` and ``shared_memory``.
"""

from .data_loggers import (
    DataLogger,
    LogArchiveReader,
    LogMessage,
    LogPackage,
    TornLogWarning,
    assemble_log_archives,
)
from .data_structures import (
    YAML_EXCLUDE_METADATA,
    JobState,
    ProcessingStatus,
    ProcessingTracker,
    YamlConfig,
    YamlConfigError,
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
from .shared_memory import SharedMemoryArray, SharedMemoryFormatError, SharedMemoryLockWarning

__all__ = [
    "YAML_EXCLUDE_METADATA",
    "ChecksumVerification",
    "DataLogger",
    "JobState",
    "LogArchiveReader",
    "LogMessage",
    "LogPackage",
    "ProcessingStatus",
    "ProcessingTracker",
    "SharedMemoryArray",
    "SharedMemoryFormatError",
    "SharedMemoryLockWarning",
    "TornLogWarning",
    "YamlConfig",
    "YamlConfigError",
    "assemble_log_archives",
    "atomic_write",
    "calculate_directory_checksum",
    "delete_directory",
    "direct_write",
    "discover_marker_files",
    "discover_marker_roots",
    "index_marker_files",
    "initialize_worker_threads",
    "interpolate_data",
    "limit_worker_threads",
    "resolve_unique_roots",
    "transfer_directory",
    "verify_directory_checksum",
]
