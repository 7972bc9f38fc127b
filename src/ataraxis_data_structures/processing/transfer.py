"""Placeholder: replaced by the implementation."""


def transfer_directory(*args: object, **kwargs: object) -> None:
    """Not implemented yet."""
    raise NotImplementedError
