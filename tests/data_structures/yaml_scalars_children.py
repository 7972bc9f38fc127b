"""Child script of test_yaml_config_scalars: writes and reads a config and a tracker, optionally with libyaml's C
classes hidden from PyYAML first, and prints the bytes written (hex) so runs with and without libyaml compare."""

from __future__ import annotations

import re
import sys
import tempfile
from pathlib import Path

import yaml


def _hide_libyaml() -> None:
    """Makes PyYAML look as if it was built without libyaml (as on a platform without a wheel)."""
    for name in ("CSafeLoader", "CSafeDumper", "CLoader", "CDumper", "CFullLoader", "CUnsafeLoader", "CBaseLoader"):
        if hasattr(yaml, name):
            delattr(yaml, name)
    yaml.__with_libyaml__ = False  # type: ignore[misc]


def main() -> None:
    """Writes a config and a tracker with values on and off the fast paths, reads both back, prints the bytes."""
    if sys.argv[1] == "without-libyaml":
        _hide_libyaml()
    from test_yaml_config_models import SessionConfig

    from ataraxis_data_structures import ProcessingTracker
    from ataraxis_data_structures.data_structures import yaml_scalars

    assert yaml_scalars.HAS_LIBYAML is (sys.argv[1] != "without-libyaml")
    with tempfile.TemporaryDirectory() as folder:
        config_path = Path(folder) / "config.yaml"
        config = SessionConfig(project="it's: 1:30 \u00e9\n2nd line", comment="123")
        config.to_yaml(config_path)
        assert SessionConfig.from_yaml(config_path) == config
        tracker = ProcessingTracker(file_path=Path(folder) / "tracker.yaml")
        jobs = tracker.initialize_jobs([("plain", "a b"), ("true", "2024-01-01"), ("multi\nline", "\u00e9")])
        tracker.start_job(jobs[0], "pid:1@host")
        tracker.fail_job(jobs[0], "error: with 'quotes' # and a hash")
        assert tracker.get_job_info(jobs[0]).error_message == "error: with 'quotes' # and a hash"
        sys.stdout.write(config_path.read_bytes().hex() + "\n")
        text = re.sub(rb"_at: [0-9]+", b"_at: T", (Path(folder) / "tracker.yaml").read_bytes())  # times differ
        sys.stdout.write(text.hex() + "\n")


if __name__ == "__main__":
    main()
