"""Placeholder: replaced by the implementation."""


def delete_directory(*args: object, **kwargs: object) -> None:
    """Not implemented yet."""
    raise NotImplementedError
