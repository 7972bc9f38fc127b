"""Child script of test_yaml_config_ownership: rewrites a shared file as another account.

Started as root (the interpreter lives where only root can read), it imports and warms up everything first, then
drops to the given uid and supplementary groups with os.setgroups/os.setgid/os.setuid, and performs one write:
``config PATH`` (YamlConfig.to_yaml) or ``tracker PATH JOB_ID`` (ProcessingTracker.start_job). It prints ``ok`` or
``error <ExceptionType> <message>``.
"""

from __future__ import annotations

import logging
import os
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

from ataraxis_data_structures import ProcessingTracker, YamlConfig


@dataclass
class SharedConfig(YamlConfig):
    """A config that several accounts of a lab rewrite."""

    note: str = "written"


def _warm_up() -> None:
    """Runs each write once as root, so no module is imported lazily after privileges are dropped."""
    with tempfile.TemporaryDirectory() as scratch:
        SharedConfig().to_yaml(Path(scratch) / "warm.yaml")
        tracker = ProcessingTracker(file_path=Path(scratch) / "warm_tracker.yaml")
        (job,) = tracker.initialize_jobs([("warm", "")])
        tracker.start_job(job)


def main() -> None:
    """Drops privileges as told by argv and performs one write; see the module docstring."""
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(message)s")
    kind, path, uid, groups = sys.argv[1], Path(sys.argv[2]), int(sys.argv[3]), sys.argv[4]
    _warm_up()
    group_ids = [int(group) for group in groups.split(",") if group]
    os.setgroups(group_ids)
    os.setgid(group_ids[0] if group_ids else uid)
    os.setuid(uid)
    try:
        if kind == "config":
            SharedConfig(note=f"by {uid}").to_yaml(path)
        else:
            ProcessingTracker(file_path=path).start_job(sys.argv[5])
    except OSError as error:
        sys.stdout.write(f"error {type(error).__name__} {error}\n")
        return
    sys.stdout.write("ok\n")


if __name__ == "__main__":
    main()
