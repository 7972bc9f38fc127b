"""Utilities for data integrity verification, directory transfer, deletion and data interpolation."""

from ._safety import MountPointWarning
from .checksum import ChecksumVerification, calculate_directory_checksum, verify_directory_checksum
from .deletion import delete_directory
from .fanout import DestinationReport
from .interpolation import interpolate_data
from .manifests import DirectoryCheck, FileCheck, check_directory, make_bag, write_sha256_manifest
from .marker_files import discover_marker_files, discover_marker_roots, index_marker_files
from .transfer import transfer_directory
from .unique_roots import resolve_unique_roots
from .worker_threads import initialize_worker_threads, limit_worker_threads
from .write_tools import atomic_write, direct_write

__all__ = [
    "ChecksumVerification",
    "DestinationReport",
    "DirectoryCheck",
    "FileCheck",
    "MountPointWarning",
    "atomic_write",
    "calculate_directory_checksum",
    "check_directory",
    "delete_directory",
    "direct_write",
    "discover_marker_files",
    "discover_marker_roots",
    "index_marker_files",
    "initialize_worker_threads",
    "interpolate_data",
    "limit_worker_threads",
    "make_bag",
    "resolve_unique_roots",
    "transfer_directory",
    "verify_directory_checksum",
    "write_sha256_manifest",
]
