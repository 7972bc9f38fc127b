"""Placeholder: replaced by the implementation."""


def calculate_directory_checksum(*args: object, **kwargs: object) -> None:
    """Not implemented yet."""
    raise NotImplementedError


def verify_directory_checksum(*args: object, **kwargs: object) -> None:
    """Not implemented yet."""
    raise NotImplementedError
