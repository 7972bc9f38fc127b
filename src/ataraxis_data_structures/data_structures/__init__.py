"""Custom data structures: YAML-backed dataclasses and the multi-process job tracker."""

from .processing_tracker import JobState, ProcessingStatus, ProcessingTracker, StaleJob, TrackerStatus
from .yaml_config import YamlConfig
from .yaml_errors import YamlConfigError

__all__ = [
    "JobState",
    "ProcessingStatus",
    "ProcessingTracker",
    "StaleJob",
    "TrackerStatus",
    "YamlConfig",
    "YamlConfigError",
]
