"""Utilities for data integrity verification, directory transfer, deletion and data interpolation."""

from ._safety import MountPointWarning
from .checksum import ChecksumVerification, calculate_directory_checksum, verify_directory_checksum
from .deletion import delete_directory
from .fanout import DestinationReport
from .interpolation import interpolate_data
from .marker_files import discover_marker_files, discover_marker_roots, index_marker_files
from .transfer import transfer_directory
from .unique_roots import resolve_unique_roots
from .worker_threads import initialize_worker_threads, limit_worker_threads
from .write_tools import atomic_write, direct_write

__all__ = [
    "ChecksumVerification",
    "DestinationReport",
    "MountPointWarning",
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
