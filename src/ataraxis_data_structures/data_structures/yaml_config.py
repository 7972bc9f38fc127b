"""Placeholder: replaced by the implementation."""


class YamlConfig:
    """Not implemented yet."""
