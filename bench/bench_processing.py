"""Benchmarks the processing functions against the reference release, side by side in one run.

Run: ``.venv/bin/python bench/bench_processing.py [--jobs transfer,move] [--scratch-dir /dev/shm]`` (about 4
minutes). Workloads (bench/workload_processing.py):
- checksum: calculate_directory_checksum of a mixed tree (2,000 files of 4 KiB in 20 folders and 4 files of 64 MiB)
  in the page cache; target >= 2.5x the reference;
- transfer: transfer_directory(verify_integrity=True, all cores) of the same tree, source without ax_checksum.txt;
  target >= 3x;
- move: the same with remove_source=True (one run; ours flushes every file and checks every source file's state
  before removing it); target: not slower than the reference;
- fanout: a session moved to two destinations. The lab's pattern under the reference (one
  transfer_directory(source, dst, remove_source=False) per destination in a process pool, then the source deleted;
  unverified, unverified with os.sync() before the deletion, with verify_integrity=True, and unverified after
  calculate_directory_checksum(source), as the lab's acquisition package runs it) against ours
  (transfer_directory(source, [dst1, dst2], remove_source=True): one read; every copy flushed and read back with
  its cached pages dropped, the large files while the small ones are still copied, the small files after one syncfs
  per destination). Targets: not slower than their unverified move, >= 2x their verified one. Run it against 7.2.0
  (REF_PY=/tmp/axds-reference-7/bin/python). Measured (shared 2-core VM, one line per run; unverified / + os.sync()
  / verify_integrity): VM disk x0.9 / x1.3 / x3.2, x0.8 / x0.7 / x4.0, x2.2 / x1.5 / x2.9; tmpfs x0.5 / x0.5 / x3.3,
  x1.0 / x0.7 / x4.1; quiet machine, 2026-12-07, VM disk (/work): x0.5 / x0.7 / x2.3, then x0.5 / x0.6 / x2.5 and
  x0.9 against the lab's own order (source checksum first, unverified). The unverified move never writes to storage
  inside the timing (its copies stay in the page cache), ours writes both copies and reads them back; on this VM's
  disk both are bound by file creation (ext4 without a journal scanning recently freed inodes: about 0.5 ms of CPU
  per file, 4,000 files each);
- interpolate: interpolate_data on 10 million uint64 timestamps, continuous and discrete; target >= 1x;
- delete: delete_directory of 20,000 files of 512 bytes in 20 folders; target: at least as fast as shutil.rmtree.
The scratch trees live in a temporary folder next to the system temp dir and are all removed at the end (deleting
between workloads would slow the next one's file creation on ext4 without a journal, see workload_processing.py).
"""

from __future__ import annotations

import argparse
import shutil
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _harness import our_python, print_ratio, reference_python, run_workload

WORKLOAD = Path(__file__).resolve().parent / "workload_processing.py"


JOBS = ("checksum", "transfer", "move", "fanout", "interpolate", "delete_and_rmtree")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--jobs", default=",".join(JOBS), help=f"comma-separated subset of {', '.join(JOBS)}")
    parser.add_argument(
        "--scratch-dir", type=Path, default=None, help="where the trees are written (e.g. /dev/shm: no disk in the way)"
    )
    args = parser.parse_args()
    jobs = [job for job in JOBS if job in args.jobs.split(",")]
    scratch = Path(tempfile.mkdtemp(prefix="axds-bench-processing-", dir=args.scratch_dir))
    reference, ours = reference_python(), our_python()
    try:
        results = {}
        # Deletion runs last: deleting many files slows file creation right after it (see workload_processing.py).
        # Both runs build the same two trees (one for delete_directory, one for shutil.rmtree), so the filesystem is
        # in the same state for both.
        for job in jobs:
            results[job] = (
                run_workload(reference, WORKLOAD, job, str(scratch / f"{job}-reference")),
                run_workload(ours, WORKLOAD, job, str(scratch / f"{job}-ours")),
            )
    finally:
        shutil.rmtree(scratch, ignore_errors=True)

    report(results)


def report(results: dict[str, tuple[dict[str, float], dict[str, float]]]) -> None:
    """Prints the ratio of each job that ran."""
    if "checksum" in results:
        ref, our = results["checksum"]
        print_ratio("checksum, mixed tree 264 MiB (target >= 2.5x)", ref["checksum_mb_s"], our["checksum_mb_s"], "MB/s")
    if "transfer" in results:
        ref, our = results["transfer"]
        label = "transfer verify_integrity=True, mixed tree (target >= 3x)"
        print_ratio(label, ref["transfer_verified_mb_s"], our["transfer_verified_mb_s"], "MB/s")
    if "move" in results:
        ref, our = results["move"]
        label = "transfer verify_integrity + remove_source, mixed tree (>= 1x)"
        print_ratio(label, ref["move_verified_mb_s"], our["move_verified_mb_s"], "MB/s")
    if "fanout" in results:
        ref, our = results["fanout"]
        size = our["fanout_mb"]
        label = "2 destinations: lab pattern unverified vs ours verified (>= 1x)"
        print_ratio(label, size / ref["fanout_lab_s"], size / our["fanout_ours_s"], "MB/s")
        label = "2 destinations: lab pattern + os.sync() vs ours verified"
        print_ratio(label, size / ref["fanout_lab_synced_s"], size / our["fanout_ours_s"], "MB/s")
        label = "2 destinations: lab pattern verify_integrity vs ours (>= 2x)"
        print_ratio(label, size / ref["fanout_lab_verified_s"], size / our["fanout_ours_s"], "MB/s")
        if "fanout_lab_checksum_s" in ref:
            label = "2 destinations: lab pattern as the lab runs it (source checksum first), unverified, vs ours"
            print_ratio(label, size / ref["fanout_lab_checksum_s"], size / our["fanout_ours_s"], "MB/s")
    if "interpolate" in results:
        ref, our = results["interpolate"]
        for kind in ("continuous", "discrete"):
            key = f"interpolate_{kind}_ms"
            label = f"interpolate_data {kind}, 10M uint64 points (>= 1x)"
            print_ratio(label, ref[key], our[key], "ms", higher_is_better=False)
    if "delete_and_rmtree" in results:
        ref, our = results["delete_and_rmtree"]
        print_ratio("delete_directory, 20,000 files", ref["delete_s"], our["delete_s"], "s", higher_is_better=False)
        label = "delete_directory vs shutil.rmtree (ours, >= 1x)"
        print_ratio(label, our["rmtree_s"], our["delete_s"], "s", higher_is_better=False)


if __name__ == "__main__":
    main()
