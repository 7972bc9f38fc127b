"""Benchmarks the lab's batch pattern (issue 9) on one large archive, the reference release and ours side by side.

Run: ``.venv/bin/python bench/bench_batches.py [--count 840000] [--reference-count 100000]`` (a few minutes, nearly
all of it the reference). The synthetic archive has the shape of the lab's heaviest log: one source, COUNT messages
of 24 bytes (840,000 is a 60-minute behaviour-encoder session, ~246 MB). The pattern (bench/workload_batches.py):
``LogArchiveReader(path)``, ``get_batches(workers=n)``, then a spawn-context pool of n workers in which each task
opens the archive again and iterates its keys; timed end to end, with 1 and 2 workers.

The reference (6.2.0, or $REF_PY) takes minutes at full size, so by default it runs on REFERENCE_COUNT messages and
its time, less the pool's start-up, is scaled linearly to COUNT (its cost is linear in the messages: it reads member
by member); the output says so. ``--reference-count`` equal to ``--count`` runs it at full size.

Goals: x50 over the reference with 2 workers, a second worker never slower, message_count and
read_archive_message_count under 0.2 s, peak RSS of every process under 250 MB.
"""

from __future__ import annotations

import argparse
import shutil
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _harness import our_python, print_ratio, reference_python, run_workload

WORKLOAD = Path(__file__).resolve().parent / "workload_batches.py"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=840_000, help="messages in the archive ours reads")
    parser.add_argument("--reference-count", type=int, default=100_000, help="messages in the reference's archive")
    args = parser.parse_args()
    ours, reference = our_python(), reference_python()
    scratch = Path(tempfile.mkdtemp(prefix="axds-bench-batches-"))
    try:
        full, small = scratch / "full" / "1_log.npz", scratch / "small" / "1_log.npz"
        for archive, count in ((full, args.count), (small, args.reference_count)):
            archive.parent.mkdir()
            run_workload(ours, WORKLOAD, "make", str(archive), str(count))
        scale = args.count / args.reference_count
        print(f"archive: {args.count:,} messages of 24 bytes ({full.stat().st_size / 1e6:,.0f} MB), one source")
        if scale != 1:
            print(
                f"the reference reads {args.reference_count:,} messages; its times (less the pool's start-up) are "
                f"scaled x{scale:,.2f} to {args.count:,} (linear in the messages)"
            )
        times = {}
        for workers in (1, 2):
            ref = run_workload(reference, WORKLOAD, "pattern", str(small), str(workers), timeout=7200)
            our = run_workload(ours, WORKLOAD, "pattern", str(full), str(workers))
            assert our["messages"] == args.count and ref["messages"] == args.reference_count
            times[workers] = our["seconds"]
            ref_scaled = ref["startup_seconds"] + (ref["seconds"] - ref["startup_seconds"]) * scale
            print_ratio(
                f"batch pattern, {workers} worker(s), seconds", ref_scaled, our["seconds"], "s", higher_is_better=False
            )
            print(
                f"    ours: get_batches after {our['batches_seconds']:.2f} s, pool start-up "
                f"{our['startup_seconds']:.2f} s; peak RSS parent "
                f"{our['parent_rss_mb']:.0f} MB, workers {', '.join(f'{rss:.0f}' for rss in our['worker_rss_mb'])} MB"
                f" | reference (at {args.reference_count:,}): parent {ref['parent_rss_mb']:.0f} MB, workers "
                f"{', '.join(f'{rss:.0f}' for rss in ref['worker_rss_mb'])} MB"
            )
        verdict = "faster" if times[2] < times[1] else "NOT faster"
        print(f"ours, 2 workers vs 1: {times[1] / times[2]:.2f}x ({verdict})")
        ref_count = run_workload(reference, WORKLOAD, "count", str(small))
        our_count = run_workload(ours, WORKLOAD, "count", str(full))
        print_ratio(
            "LogArchiveReader(path).message_count, seconds", ref_count["message_count_seconds"] * scale,
            our_count["message_count_seconds"], "s", higher_is_better=False,
        )  # fmt: skip
        print(f"    ours: read_archive_message_count {our_count['read_archive_message_count_seconds']:.3f} s")
        columns = run_workload(ours, WORKLOAD, "columns", str(full))
        print(
            f"ours: read_columns() of {columns['messages']:,} messages: {columns['seconds']:.3f} s, payloads "
            f"{tuple(columns['payload_shape'])}, peak RSS {columns['rss_mb']:.0f} MB"
        )
    finally:
        shutil.rmtree(scratch, ignore_errors=True)


if __name__ == "__main__":
    main()
