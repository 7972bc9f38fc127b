"""Child processes of the source-change tests: a transfer that reports its outcome, and a recorder that keeps writing.

Run as ``python transfer_source_children.py transfer SRC DST FLAGS...`` (prints one JSON line: the error type and
message, and the warnings with the file and line they point at) or ``... writer SRC STOP_FILE REPORT_FILE`` (appends
to ``live.bin`` and creates ``new_<n>.bin`` files until STOP_FILE exists, then writes the name, size and xxh64 of
everything it wrote to REPORT_FILE).
"""

from __future__ import annotations

import json
import sys
import time
import warnings
from pathlib import Path

import xxhash

from ataraxis_data_structures.processing import transfer_directory


def run_transfer(source: Path, destination: Path, flags: list[str]) -> None:
    """Runs one transfer (num_threads=1, large files first) and prints its outcome as JSON."""
    outcome: dict[str, object] = {"error_type": None, "message": None}
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            transfer_directory(
                source,
                destination,
                1,
                verify_integrity="verify" in flags,
                remove_source="remove" in flags,
            )
        except Exception as error:  # the test checks the type by name
            outcome = {"error_type": type(error).__name__, "message": str(error)}
    outcome["warnings"] = [{"message": str(w.message), "filename": w.filename} for w in caught]
    print(json.dumps(outcome))


def run_writer(source: Path, stop_file: Path, report_file: Path) -> None:
    """Appends to live.bin and creates a new file every 8 appends, about every millisecond, until told to stop."""
    written: dict[str, bytearray] = {"live.bin": bytearray()}
    iteration = 0
    with open(source / "live.bin", "ab") as live:
        while not stop_file.exists():
            chunk = bytes([iteration % 251]) * 4096
            live.write(chunk)
            live.flush()
            written["live.bin"] += chunk
            if iteration % 8 == 0:
                name = f"new_{iteration:06d}.bin"
                data = f"recorded at iteration {iteration}".encode()
                (source / name).write_bytes(data)
                written[name] = bytearray(data)
            iteration += 1
            time.sleep(0.001)
    report = {name: [len(data), xxhash.xxh64(bytes(data)).hexdigest()] for name, data in written.items()}
    report_file.write_text(json.dumps(report))


if __name__ == "__main__":
    if sys.argv[1] == "transfer":
        run_transfer(Path(sys.argv[2]), Path(sys.argv[3]), sys.argv[4:])
    else:
        run_writer(Path(sys.argv[2]), Path(sys.argv[3]), Path(sys.argv[4]))
