"""The module path ``processing.transfer_tools`` of 6.2.0 and 7.2.0: their names, re-exported from this library's."""

from ._manifest import CHECKSUM_FILE_NAME as CHECKSUM_FILENAME
from .checksum import calculate_directory_checksum
from .deletion import delete_directory
from .filesystem_tools import reports_absent_entry, walk_directory, walk_files
from .transfer import transfer_directory

__all__ = [
    "CHECKSUM_FILENAME",
    "calculate_directory_checksum",
    "delete_directory",
    "reports_absent_entry",
    "transfer_directory",
    "walk_directory",
    "walk_files",
]
