"""Benchmarks log archive assembly and iteration at scale: peak memory and time per message as the count grows.

Run: ``.venv/bin/python bench/bench_scale.py`` (10,000,000 messages: about 10 minutes and 3 GB of disk here), or
``--sizes 100000 1000000`` for a quicker look. For each size, the live logs of 4 sources (64-byte payloads) are
written directly with log_format's writer helpers (no logger, to save time), then, each in a child process of its
own (so ru_maxrss is that step's peak alone):
- ``assemble_log_archives`` on the directory (defaults: sources removed, no verification);
- a full ``iter_messages`` over the 4 archives, touching every payload.
Goal (issue 9, item 3): both under 300 MB peak RSS at 10,000,000 messages, and the time per message no worse than
at 100,000. The peak includes the interpreter with numpy imported (about 40 MB, printed as ``baseline``).

The original releases are not run here: they assemble per-message ``.npy`` files, and keep every one open while
assembling, which fails past about 20,000 files on this machine (``ulimit -n``); bench_archives.py compares them
side by side at 15,000 messages.
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
OURS = ROOT / ".venv" / "bin" / "python"
SOURCES = 4
PAYLOAD = 64
ONSET_US = 1_700_000_000_000_000
BLOCK = 100_000

ASSEMBLE = """
import json, resource, sys, time
from pathlib import Path
from ataraxis_data_structures.data_loggers import assemble_log_archives
start = time.perf_counter()
assemble_log_archives(Path(sys.argv[1]))
elapsed = time.perf_counter() - start
print(json.dumps({"seconds": elapsed, "peak_kb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss}))
"""

ITERATE = """
import json, resource, sys, time
from pathlib import Path
from ataraxis_data_structures.data_loggers import LogArchiveReader
start = time.perf_counter()
count = 0
checksum = 0
for path in sorted(Path(sys.argv[1]).glob("*_log.npz")):
    for message in LogArchiveReader(path).iter_messages():
        count += 1
        checksum += int(message.payload[0])
elapsed = time.perf_counter() - start
print(json.dumps({"seconds": elapsed, "count": count, "checksum": checksum,
                  "peak_kb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss}))
"""

BASELINE = """
import json, resource
import numpy, ataraxis_data_structures
print(json.dumps({"peak_kb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss}))
"""


def write_live_logs(directory: Path, count: int) -> None:
    """Writes count messages (an onset per source, then 64-byte payloads at 1 kHz) as the logger would."""
    from ataraxis_data_structures.data_loggers.formats import log_format

    per_source = count // SOURCES
    onset = ONSET_US.to_bytes(8, "little")
    for source in range(1, SOURCES + 1):
        payloads = [bytes([source, number]) * (PAYLOAD // 2) for number in range(256)]
        with (directory / log_format.log_file_name(source, 0)).open("wb") as file:
            file.write(log_format.encode_file_header(source))
            file.writelines(log_format.encode_records([(0, onset)]))
            for first in range(1, per_source + 1, BLOCK):
                last = min(first + BLOCK, per_source + 1)
                file.writelines(
                    log_format.encode_records((1000 * number, payloads[number % 256]) for number in range(first, last))
                )


def run(script: str, *args: str) -> dict[str, float]:
    result = subprocess.run([str(OURS), "-c", script, *args], capture_output=True, text=True, check=False)
    if result.returncode != 0:
        raise RuntimeError(result.stderr[-4000:])
    return dict(json.loads(result.stdout.strip().splitlines()[-1]))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[100_000, 10_000_000], help="message counts")
    parser.add_argument("--directory", type=Path, default=None, help="where to write (default: a temporary folder)")
    arguments = parser.parse_args()
    if not OURS.exists():
        sys.exit("run 'python3 dev.py test' once first: it creates .venv with the package installed")
    baseline = run(BASELINE)["peak_kb"] / 1024
    print(f"baseline (interpreter, numpy and the package imported): {baseline:.0f} MB peak RSS")
    header = ("messages", "assemble µs/msg", "assemble peak MB", "iterate µs/msg", "iterate peak MB")
    print("{:>12} {:>16} {:>17} {:>15} {:>16}".format(*header))
    rows: dict[int, tuple[float, float]] = {}
    for size in arguments.sizes:
        directory = Path(tempfile.mkdtemp(prefix="axds_scale_", dir=arguments.directory))
        try:
            write_live_logs(directory, size)
            total = SOURCES * (size // SOURCES)
            assembled = run(ASSEMBLE, str(directory))
            iterated = run(ITERATE, str(directory))
            if iterated["count"] != total:
                raise RuntimeError(f"iterated {iterated['count']} messages, expected {total}")
            assemble_us = assembled["seconds"] / total * 1e6
            iterate_us = iterated["seconds"] / total * 1e6
            rows[size] = (assemble_us, iterate_us)
            print(
                f"{total:>12,} {assemble_us:>16.2f} {assembled['peak_kb'] / 1024:>17.0f} {iterate_us:>15.2f} "
                f"{iterated['peak_kb'] / 1024:>16.0f}",
                flush=True,
            )
        finally:
            shutil.rmtree(directory, ignore_errors=True)
    if len(rows) > 1:
        smallest, largest = min(rows), max(rows)
        print(
            f"time per message at {largest:,} over {smallest:,}: assemble x{rows[largest][0] / rows[smallest][0]:.2f}, "
            f"iterate x{rows[largest][1] / rows[smallest][1]:.2f} (1.0 or less: no worse at scale)"
        )


if __name__ == "__main__":
    main()
