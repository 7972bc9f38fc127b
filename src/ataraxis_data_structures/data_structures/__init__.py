"""Custom data structures: YAML-backed dataclasses and the multi-process job tracker."""

from .processing_tracker import JobState, ProcessingStatus, ProcessingTracker, StaleJob, TrackerStatus
from .yaml_config import YAML_EXCLUDE_METADATA, YamlConfig
from .yaml_converter import register_yaml_type
from .yaml_errors import MissingValueError, YamlConfigError, YamlConfigWarning

__all__ = [
    "YAML_EXCLUDE_METADATA",
    "JobState",
    "MissingValueError",
    "ProcessingStatus",
    "ProcessingTracker",
    "StaleJob",
    "TrackerStatus",
    "YamlConfig",
    "YamlConfigError",
    "YamlConfigWarning",
    "register_yaml_type",
]
