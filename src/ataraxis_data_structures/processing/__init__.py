"""Utilities for data integrity verification, directory transfer, deletion and data interpolation.

Names are imported on first use (PEP 562, as the top-level package does): importing ``processing`` costs
almost nothing, and a program that uses one of its names loads only the module that defines it. To export a name, add
it to the ``TYPE_CHECKING`` block (what type checkers see), to ``_EXPORTS`` and to ``__all__``;
``tests/test_package.py`` checks that the three agree.
"""

from __future__ import annotations

from .._lazy import lazy_exports

TYPE_CHECKING = False  # not typing's: importing typing costs more than this module (type checkers read it the same)
if TYPE_CHECKING:
    from ..errors import MountPointWarning
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

_EXPORTS: dict[str, str] = {
    "ChecksumVerification": "checksum",
    "DestinationReport": "fanout",
    "DirectoryCheck": "manifests",
    "FileCheck": "manifests",
    "MountPointWarning": ".errors",  # defined in the package's errors module (..errors from here)
    "atomic_write": "write_tools",
    "calculate_directory_checksum": "checksum",
    "check_directory": "manifests",
    "delete_directory": "deletion",
    "direct_write": "write_tools",
    "discover_marker_files": "marker_files",
    "discover_marker_roots": "marker_files",
    "index_marker_files": "marker_files",
    "initialize_worker_threads": "worker_threads",
    "interpolate_data": "interpolation",
    "limit_worker_threads": "worker_threads",
    "make_bag": "manifests",
    "resolve_unique_roots": "unique_roots",
    "transfer_directory": "transfer",
    "verify_directory_checksum": "checksum",
    "write_sha256_manifest": "manifests",
}
"""Public name -> the module that defines it."""

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


__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS, __all__)
