"""Custom data structures: YAML-backed dataclasses and the multi-process job tracker."""

from .processing_tracker import JobState, ProcessingStatus, ProcessingTracker, StaleJob, TrackerStatus
from .yaml_config import YAML_EXCLUDE_METADATA, YamlConfig
from .yaml_errors import YamlConfigError

__all__ = [
    "YAML_EXCLUDE_METADATA",
    "JobState",
    "ProcessingStatus",
    "ProcessingTracker",
    "StaleJob",
    "TrackerStatus",
    "YamlConfig",
    "YamlConfigError",
]
