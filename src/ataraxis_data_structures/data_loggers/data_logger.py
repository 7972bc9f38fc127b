"""Placeholder: replaced by the implementation."""


class DataLogger:
    """Not implemented yet."""
