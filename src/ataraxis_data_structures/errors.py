"""The library's exception family: every error it raises on purpose derives from :class:`AxdsError`.

Each class also derives from the built-in exception it replaces, so code written against the reference release
(``except ValueError``, ``except RuntimeError``) keeps working, while code that wants to tell the library's own,
explained errors apart from bugs catches :class:`AxdsError` (the ``axds`` command line does exactly that and shows a
traceback for anything else).
"""

from __future__ import annotations

import errno
import functools
from pathlib import Path
from typing import Any

__all__ = [
    "ArchiveFormatError",
    "ArchiveVerificationError",
    "AxdsError",
    "ChecksumError",
    "ChecksumFileError",
    "CommandError",
    "DataLoggerWarning",
    "DirectoryBusyError",
    "FileNameEncodingError",
    "LockFileUnavailableError",
    "LockHeldError",
    "LogFormatError",
    "LoggerFailedError",
    "LoggerRunningWarning",
    "MissingValueError",
    "MountPointWarning",
    "SharedMemoryFormatError",
    "SharedMemoryLockWarning",
    "SourceDescriptionWarning",
    "TornLogWarning",
    "TrackerFormatError",
    "TrackerJobError",
    "TransferRefusedError",
    "TransferSourceChangedError",
    "TransferVerificationError",
    "UnsafePathError",
    "YamlConfigError",
    "YamlConfigTypeError",
    "YamlConfigWarning",
    "missing_value_error",
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


class TornLogWarning(UserWarning):
    """Warns that a source file ends in bytes that are not whole records (or is unreadable) and was kept."""


class LoggerRunningWarning(UserWarning):
    """Warns that a DataLogger was still writing to the directory being assembled.

    Every record written so far is archived; the files the logger may still append to are kept, and a later
    assembly (after stop()) adds the rest to the same archives, each message exactly once.
    """


class SourceDescriptionWarning(UserWarning):
    """Warns that a source description could not be read (a damaged or foreign file) or was not kept.

    Logging and assembly never fail because of a description: the message names the file and what was done.
    """


class SharedMemoryFormatError(AxdsError, ValueError):
    """A shared memory buffer of the requested name exists but was not made by SharedMemoryArray (or is too small)."""


class SharedMemoryLockWarning(UserWarning):
    """A process died while it held an array's lock; the lock was taken over and the data may be half-written."""


class DataLoggerWarning(UserWarning):
    """Warns that a DataLogger lost messages, holds messages it cannot send yet, or could not confirm their save.

    stop() warns with this category, naming the logger, the count of messages lost and what happened; put() warns
    with it once when it holds messages because the logger is not running. Code that must not go on after a loss
    turns it into an error: ``warnings.simplefilter("error", DataLoggerWarning)`` (the strict mode: put() then raises
    instead of holding), or checks ``DataLogger.messages_lost`` and ``DataLogger.data_complete``.
    """


class MountPointWarning(UserWarning):
    """A destructive call left a mount point in place: a filesystem mounted inside the tree, or the tree's root."""


class CommandError(AxdsError):
    """A failure that the ``axds`` command line reports as one line on stderr with a non-zero exit code."""


class LockFileUnavailableError(AxdsError, PermissionError):
    """The lock file does not exist and cannot be created: its directory is read-only for this process."""


class LockHeldError(AxdsError, BlockingIOError):
    """Another process holds the lock :func:`try_lock` asked for.

    Attributes:
        holder: What the holder recorded with :meth:`HeldLock.write_owner` (empty when nothing, or for a directory).
    """

    def __init__(self, path: Path, holder: str) -> None:
        super().__init__(errno.EWOULDBLOCK, f"locked by another process{': ' + holder if holder else ''}", str(path))
        self.holder = holder


class YamlConfigWarning(UserWarning):
    """Warned when a YAML file is loaded (or written) the way the reference releases do despite a problem.

    A value that does not match its field's annotation (loaded as the releases load it), keys that match no field
    (ignored), or a union value that ``to_yaml`` writes but that would load back as another type. The message names
    the file, the field path (with its line) and the value. ``strict=True`` (or a class's ``yaml_strict = True``)
    turns each into an error instead; ``warnings.filterwarnings("error", category=YamlConfigWarning)`` does too.
    """


class YamlConfigError(AxdsError, ValueError):
    """Raised when a YAML file cannot be loaded into a YamlConfig dataclass; the message lists every problem.

    Attributes:
        file_path: The file that failed to load.
        problems: One entry per problem, each a human-readable line such as
            ``camera.fps (line 12): expected int, got 'fast'``.
    """

    def __init__(self, message: str, file_path: Path, problems: list[str]) -> None:
        super().__init__(message)
        self.file_path = file_path
        self.problems = problems

    def __reduce__(self) -> tuple[Any, ...]:
        """Pickles the error whole, so that it crosses process boundaries (a config loaded in a worker process)."""
        return type(self), (self.args[0], self.file_path, self.problems), self.__dict__


class YamlConfigTypeError(YamlConfigError, TypeError):
    """A YamlConfigError for a file the releases refuse with a TypeError (a Path field holding a non-string)."""


class MissingValueError(YamlConfigError):
    """A YamlConfigError for a file that lacks a required field (one without a default that does not allow None).

    Both reference releases raise ``dacite.exceptions.MissingValueError`` here, and code written for them catches
    that class: when dacite is installed, the error raised is also one (a subclass of both), so either ``except``
    clause catches it; without dacite it is this class. The message starts with the releases' words,
    ``missing value for field "camera.fps"`` (field names only, as theirs), followed by the file and, for each
    problem, the field path with list indexes and the line.

    Attributes:
        field_path: The first missing field as the releases name it, e.g. ``controllers.controller_id``.
    """

    def __init__(self, message: str, file_path: Path, problems: list[str], field_path: str) -> None:
        super().__init__(message, file_path, problems)
        self.field_path = field_path
        # With dacite's class in the MRO, its __init__ may run in the chain above and call Exception.__init__()
        # without arguments, which empties args (Python 3.14 does): the message is set again here.
        self.args = (message,)

    def __str__(self) -> str:
        return str(self.args[0])  # dacite's MissingValueError.__str__ (later in the MRO) would drop the detail

    def __reduce__(self) -> tuple[Any, ...]:
        """Pickled as rebuilt by missing_value_error: dacite's too where the receiving process has dacite."""
        return missing_value_error, (self.args[0], self.file_path, self.problems, self.field_path), self.__dict__


def missing_value_error(message: str, file_path: Path, problems: list[str], field_path: str) -> MissingValueError:
    """Returns the MissingValueError, also a ``dacite.exceptions.MissingValueError`` when dacite is installed."""
    return _missing_value_class()(message, file_path, problems, field_path)


@functools.cache
def _missing_value_class() -> type[MissingValueError]:
    """Returns MissingValueError, or its subclass that is also dacite's (imported here only: an error path)."""
    try:
        from dacite.exceptions import MissingValueError as DaciteMissingValueError
    except ImportError:
        return MissingValueError
    namespace = {"__module__": __name__, "__qualname__": "MissingValueError", "__doc__": MissingValueError.__doc__}
    return type("MissingValueError", (MissingValueError, DaciteMissingValueError), namespace)
