"""The error type every command group raises for a failure it reports in one line."""

from __future__ import annotations

from ..errors import AxdsError

__all__ = ["CommandError"]


class CommandError(AxdsError):
    """A failure that the command line reports as one line on stderr with a non-zero exit code."""
