"""The error type every command group raises for a failure it reports in one line."""


class CommandError(Exception):
    """A failure that the command line reports as one line on stderr with a non-zero exit code."""
