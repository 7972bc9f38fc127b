"""Placeholder: replaced by the implementation."""


class LogArchiveReader:
    """Not implemented yet."""


class LogMessage:
    """Not implemented yet."""
