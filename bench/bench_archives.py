"""Benchmarks log archive assembly and reading against the reference release, side by side in one run.

Run: ``.venv/bin/python bench/bench_archives.py`` (about 1-2 minutes, most of it the reference). Workloads
(bench/workload_archives.py), 15,000 messages of 64 bytes from one source:
- assemble_log_archives on each package's own logger output (.npy files for the reference, .axlog.npy for ours);
  target >= 50x;
- assemble_log_archives on a reference-style directory of per-message .npy files; target >= 3x;
- read_all_messages on one archive (written by the reference), fresh reader included; target >= 100x;
- iter_messages over the same archive; target >= 20x.
Both packages must archive and read the same bytes: the checksums are compared.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _harness import our_python, print_ratio, reference_python, run_workload

WORKLOAD = Path(__file__).resolve().parent / "workload_archives.py"
COUNT = 15_000  # the reference keeps every .npy file open while assembling: 20,000 hits ulimit -n here
JOBS = {
    "assemble-native": "assemble_log_archives, own logger output (target >= 50x)",
    "assemble-npy": "assemble_log_archives, reference .npy directory (target >= 3x)",
    "read-all": "LogArchiveReader.read_all_messages (target >= 100x)",
    "iterate": "LogArchiveReader.iter_messages (target >= 20x)",
}


def make_reference_archive(python: str, directory: Path) -> None:
    """Builds the archive both readers read: written by the reference from a per-message .npy directory."""
    script = (
        "import sys; from pathlib import Path; sys.path.insert(0, sys.argv[3]);"
        "import workload_archives as w; from ataraxis_data_structures import assemble_log_archives;"
        "d = Path(sys.argv[1]); w.write_npy(d, int(sys.argv[2])); assemble_log_archives(d)"
    )
    subprocess.run(
        [python, "-c", script, str(directory), str(COUNT), str(WORKLOAD.parent)], check=True, capture_output=True
    )


def main() -> None:
    scratch = Path(tempfile.mkdtemp(prefix="axds-bench-archives-"))
    reference, ours = reference_python(), our_python()
    results = {}
    try:
        shared = scratch / "shared"
        make_reference_archive(reference, shared)
        for job in JOBS:
            if job.startswith("assemble"):
                ref_dir, our_dir = scratch / f"{job}-reference", scratch / f"{job}-ours"
            else:
                ref_dir = our_dir = shared
            results[job] = (
                run_workload(reference, WORKLOAD, job, str(ref_dir), str(COUNT)),
                run_workload(ours, WORKLOAD, job, str(our_dir), str(COUNT)),
            )
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    for job, label in JOBS.items():
        ref, our = results[job]
        print_ratio(label, ref["messages_per_s"], our["messages_per_s"], "msg/s")
    for job, (ref, our) in results.items():
        if ref["checksum"] != our["checksum"]:
            print(f"{job}: MISMATCH: the packages archived or read different bytes")


if __name__ == "__main__":
    main()
