"""The library's exception family: every error it raises on purpose derives from :class:`AxdsError`.

Each class also derives from the built-in exception it replaces, so code written against the reference release
(``except ValueError``, ``except RuntimeError``) keeps working, while code that wants to tell the library's own,
explained errors apart from bugs catches :class:`AxdsError` (the ``axds`` command line does exactly that and shows a
traceback for anything else).
"""

from __future__ import annotations

__all__ = [
    "ArchiveFormatError",
    "ArchiveVerificationError",
    "AxdsError",
    "ChecksumError",
    "ChecksumFileError",
    "DataLoggerWarning",
    "DirectoryBusyError",
    "FileNameEncodingError",
    "LogFormatError",
    "LoggerFailedError",
    "TrackerFormatError",
    "TrackerJobError",
    "TransferRefusedError",
    "TransferSourceChangedError",
    "TransferVerificationError",
    "UnsafePathError",
]


class AxdsError(Exception):
    """The base of every error this library raises deliberately, with a message that names what is at fault."""


class LogFormatError(AxdsError, ValueError):
    """A live log file (``.axlog.npy``, ``.axlog`` before) is not one, or holds damage that cannot be read past."""


class ArchiveFormatError(AxdsError, ValueError):
    """A log archive (``.npz``) is damaged, truncated, or not laid out as a log archive."""


class TrackerFormatError(AxdsError, ValueError):
    """A processing tracker's YAML file cannot be read as a tracker (syntax, wrong field, status out of range)."""


class TrackerJobError(AxdsError, ValueError):
    """A processing tracker cannot honour a request for a job: an unknown job ID, or a job outside the universe."""


class LoggerFailedError(AxdsError, ChildProcessError):
    """A DataLogger's process died or failed; the message names the logger and what is known of the cause."""


class TransferVerificationError(AxdsError, RuntimeError):
    """Files at a transfer's destination differ from the source; the message names them."""


class UnsafePathError(AxdsError, ValueError):
    """A destructive call was given a path it refuses to act on (empty, the working directory, a root)."""


class ArchiveVerificationError(AxdsError, RuntimeError):
    """An archive just written differs from its sources (integrity verification); the message names the member."""


class DirectoryBusyError(AxdsError, RuntimeError):
    """A directory is in use by another process (an assembly, a running DataLogger); the message says which."""


class TransferSourceChangedError(TransferVerificationError):
    """A transfer's source changed while it ran (a writer still active); the message names what was kept."""


class TransferRefusedError(AxdsError, RuntimeError):
    """A transfer refused to start (a linked source, links inside it, a dirty destination); nothing was written."""


class FileNameEncodingError(AxdsError, ValueError):
    """A file name is not valid UTF-8, so no checksum can hash it; the message names the file."""


class ChecksumError(AxdsError, ValueError):
    """A directory has no checksum to compute or verify: no file to cover, or an ax_checksum.txt holding no digest."""


class ChecksumFileError(ChecksumError, RuntimeError):
    """An ax_checksum.txt holds no digest. Also a RuntimeError: the releases raise RuntimeError for such a source."""


class DataLoggerWarning(UserWarning):
    """Warns that a DataLogger lost messages, holds messages it cannot send yet, or could not confirm their save.

    stop() warns with this category, naming the logger, the count of messages lost and what happened; put() warns
    with it once when it holds messages because the logger is not running. Code that must not go on after a loss
    turns it into an error: ``warnings.simplefilter("error", DataLoggerWarning)`` (the strict mode: put() then raises
    instead of holding), or checks ``DataLogger.messages_lost`` and ``DataLogger.data_complete``.
    """
