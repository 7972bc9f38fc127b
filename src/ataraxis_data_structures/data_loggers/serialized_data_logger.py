"""The module path ``data_loggers.serialized_data_logger`` of 6.2.0 and 7.2.0: their names, re-exported."""

from ..processing.worker_threads import initialize_worker_threads, limit_worker_threads
from ..shared_memory import SharedMemoryArray
from .assembly.archive_assembly import assemble_log_archives
from .live.data_logger import DataLogger
from .live.log_package import LogPackage
from .reading.archive_discovery import LOG_ARCHIVE_SUFFIX, LOG_DIRECTORY_SUFFIX

__all__ = [
    "LOG_ARCHIVE_SUFFIX",
    "LOG_DIRECTORY_SUFFIX",
    "DataLogger",
    "LogPackage",
    "SharedMemoryArray",
    "assemble_log_archives",
    "initialize_worker_threads",
    "limit_worker_threads",
]
