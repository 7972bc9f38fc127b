"""Placeholder: replaced by the implementation."""


class JobState:
    """Not implemented yet."""


class ProcessingStatus:
    """Not implemented yet."""


class ProcessingTracker:
    """Not implemented yet."""
