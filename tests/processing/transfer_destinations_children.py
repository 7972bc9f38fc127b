"""Child process of the multi-destination tests: a transfer to several destinations that stops to be killed.

Run as ``python transfer_destinations_children.py SRC MARKER AFTER DST...``: transfers SRC to every DST with
remove_source=True; at the AFTER-th read-back of a placed copy, it creates MARKER and sleeps, so the test SIGKILLs it
mid-transfer (some copies verified, the others placed and not yet verified, or not yet copied).
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

from ataraxis_data_structures.processing import fanout, transfer_directory


def main() -> None:
    """Runs the transfer and parks it after the requested number of placed copies."""
    source, marker, after, *destinations = sys.argv[1:]
    placed = 0

    def park(_target: str) -> None:
        nonlocal placed
        placed += 1
        if placed >= int(after):
            Path(marker).touch()
            time.sleep(600)  # killed here

    fanout.before_read_back = park
    transfer_directory(Path(source), [Path(destination) for destination in destinations], remove_source=True)


if __name__ == "__main__":
    main()
