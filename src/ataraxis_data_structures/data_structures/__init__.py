"""Custom data structures: YAML-backed dataclasses and the multi-process job tracker.

Names are imported on first use (PEP 562, as the top-level package does): importing ``data_structures`` costs
almost nothing, and a program that uses one of its names loads only the module that defines it. To export a name, add
it to the ``TYPE_CHECKING`` block (what type checkers see), to ``_EXPORTS`` and to ``__all__``;
``tests/test_package.py`` checks that the three agree.
"""

from __future__ import annotations

from .._lazy import lazy_exports

TYPE_CHECKING = False  # not typing's: importing typing costs more than this module (type checkers read it the same)
if TYPE_CHECKING:
    from .processing_tracker import (
        JobState,
        ProcessingStatus,
        ProcessingTracker,
        StaleJob,
        TrackerStatus,
        find_tracker_files,
        read_tracker_states,
        summarize_states,
    )
    from .yaml_config import YAML_EXCLUDE_METADATA, YamlConfig
    from .yaml_converter import register_yaml_type
    from .yaml_errors import MissingValueError, YamlConfigError, YamlConfigWarning

_EXPORTS: dict[str, str] = {
    "JobState": "processing_tracker",
    "MissingValueError": "yaml_errors",
    "ProcessingStatus": "processing_tracker",
    "ProcessingTracker": "processing_tracker",
    "StaleJob": "processing_tracker",
    "TrackerStatus": "processing_tracker",
    "YAML_EXCLUDE_METADATA": "yaml_config",
    "YamlConfig": "yaml_config",
    "YamlConfigError": "yaml_errors",
    "YamlConfigWarning": "yaml_errors",
    "find_tracker_files": "processing_tracker",
    "read_tracker_states": "processing_tracker",
    "register_yaml_type": "yaml_converter",
    "summarize_states": "processing_tracker",
}
"""Public name -> the module that defines it."""

__all__ = [
    "JobState",
    "MissingValueError",
    "ProcessingStatus",
    "ProcessingTracker",
    "StaleJob",
    "TrackerStatus",
    "YAML_EXCLUDE_METADATA",
    "YamlConfig",
    "YamlConfigError",
    "YamlConfigWarning",
    "find_tracker_files",
    "read_tracker_states",
    "register_yaml_type",
    "summarize_states",
]


__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS, __all__)
