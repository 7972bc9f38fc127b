"""Utilities for data integrity verification, directory transfer, deletion and data interpolation."""

from .checksum import ChecksumVerification, calculate_directory_checksum, verify_directory_checksum
from .deletion import delete_directory
from .interpolation import interpolate_data
from .transfer import transfer_directory

__all__ = [
    "ChecksumVerification",
    "calculate_directory_checksum",
    "delete_directory",
    "interpolate_data",
    "transfer_directory",
    "verify_directory_checksum",
]
