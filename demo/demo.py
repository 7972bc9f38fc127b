"""End-to-end demo of ataraxis-data-structures: the library's main jobs, one after the other.

Run it with ``python3 dev.py demo``. Everything is written under ``demo_output/`` (or the directory given as the
first argument) and checked as it goes: the demo exits non-zero if any step does not produce what it should.
"""

from __future__ import annotations

import shutil
import sys
import time
from pathlib import Path

# The demo's parts live next to this file; each one shows one area of the library.
sys.path.insert(0, str(Path(__file__).resolve().parent))

import demo_config_tracker
import demo_logging
import demo_transfer


def main() -> int:
    """Runs every part of the demo in a fresh output directory."""
    root = Path(sys.argv[1]) if len(sys.argv) > 1 else Path(__file__).resolve().parent.parent / "demo_output"
    if root.exists():
        shutil.rmtree(root)
    root.mkdir(parents=True)
    started = time.perf_counter()
    demo_config_tracker.run(root)
    recording = demo_logging.run(root)
    demo_transfer.run(root, recording)
    print(f"\nDemo finished in {time.perf_counter() - started:.1f} s; everything it wrote is in {root}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
