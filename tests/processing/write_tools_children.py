"""Child script of test_write_tools: starts writing a file with atomic_write or direct_write, says so on stdout,
and waits to be killed mid-block."""

from __future__ import annotations

import sys
import time
from pathlib import Path

from ataraxis_data_structures import atomic_write, direct_write


def main() -> None:
    """Writes part of the new content to argv[2] with the context manager named by argv[1], then hangs."""
    opener = atomic_write if sys.argv[1] == "atomic" else direct_write
    with opener(Path(sys.argv[2])) as handle:
        handle.write("partial new content\n")
        handle.flush()
        sys.stdout.write("writing\n")
        sys.stdout.flush()
        time.sleep(600)


if __name__ == "__main__":
    main()
