"""Placeholder: replaced by the implementation."""


def interpolate_data(*args: object, **kwargs: object) -> None:
    """Not implemented yet."""
    raise NotImplementedError
