"""Placeholder: replaced by the implementation."""


def assemble_log_archives(*args: object, **kwargs: object) -> None:
    """Not implemented yet."""
    raise NotImplementedError
