"""Benchmarks reading log archives at any size in bounded memory (issue 9, point 3, reader half), ours only.

Run: ``.venv/bin/python bench/bench_archive_memory.py [--total 10000000]`` (writes TOTAL messages of 64 bytes as 4
archives, ~2.6 GB at 10,000,000, in a temporary folder; a few minutes). Compares a full ``iter_messages()`` pass and
``read_columns()`` over the 4 archives at 100,000 messages and at TOTAL: peak RSS must stay below 300 MB and the time
per message no worse at TOTAL than at 100,000. (6.2.0 cannot be run at this size: its reader takes ~150 µs per
message and holds every key.)
"""

from __future__ import annotations

import argparse
import shutil
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _harness import our_python, run_workload

WORKLOAD = Path(__file__).resolve().parent / "workload_archive_memory.py"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--total", type=int, default=10_000_000, help="messages over the 4 archives")
    args = parser.parse_args()
    ours = our_python()
    scratch = Path(tempfile.mkdtemp(prefix="axds-bench-memory-"))
    try:
        rows = []
        for total in (100_000, args.total):
            directory = scratch / str(total)
            made = run_workload(ours, WORKLOAD, "make", str(directory), str(total), timeout=7200)
            walked = run_workload(ours, WORKLOAD, "iterate", str(directory), str(total), timeout=7200)
            columns = run_workload(ours, WORKLOAD, "columns", str(directory), str(total), timeout=7200)
            assert walked["messages"] == columns["messages"] == total // 4 * 4
            rows.append((total, made["bytes"], walked, columns))
            shutil.rmtree(directory)
        for total, size, walked, columns in rows:
            print(
                f"{total:>12,} messages ({size / 1e9:,.2f} GB): iter_messages "
                f"{walked['messages_per_s']:>12,.0f} msg/s, "
                f"peak RSS {walked['rss_mb']:,.0f} MB | read_columns {columns['seconds']:,.2f} s "
                f"({columns['messages'] / columns['seconds']:,.0f} msg/s), peak RSS {columns['rss_mb']:,.0f} MB"
            )
        small, large = rows[0][2], rows[-1][2]
        ratio = small["messages_per_s"] / large["messages_per_s"]
        print(f"time per message at {args.total:,} vs 100,000: x{ratio:.2f}")
    finally:
        shutil.rmtree(scratch, ignore_errors=True)


if __name__ == "__main__":
    main()
