"""Utilities for data integrity verification, directory transfer, deletion and data interpolation."""

from .checksum import ChecksumVerification, calculate_directory_checksum, verify_directory_checksum
from .deletion import delete_directory
from .interpolation import interpolate_data
from .transfer import transfer_directory
from .write_tools import atomic_write, direct_write

__all__ = [
    "ChecksumVerification",
    "atomic_write",
    "calculate_directory_checksum",
    "delete_directory",
    "direct_write",
    "interpolate_data",
    "transfer_directory",
    "verify_directory_checksum",
]
