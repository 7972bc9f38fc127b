"""The module path ``processing.checksum_tools`` of 6.2.0 and 7.2.0: their names, re-exported from this library's."""

from ._manifest import CHECKSUM_FILE_NAME as CHECKSUM_FILENAME
from .checksum import ChecksumVerification, calculate_directory_checksum, verify_directory_checksum
from .filesystem_tools import walk_files
from .worker_threads import initialize_worker_threads, limit_worker_threads
from .write_tools import atomic_write

__all__ = [
    "CHECKSUM_FILENAME",
    "ChecksumVerification",
    "atomic_write",
    "calculate_directory_checksum",
    "initialize_worker_threads",
    "limit_worker_threads",
    "verify_directory_checksum",
    "walk_files",
]
