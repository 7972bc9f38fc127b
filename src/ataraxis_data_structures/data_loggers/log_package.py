"""Placeholder: replaced by the implementation."""


class LogPackage:
    """Not implemented yet."""
