"""One processing workload, run under either package (see bench_processing.py); prints one JSON line.

Usage: python workload_processing.py {checksum|transfer|move|fanout|interpolate|delete_and_rmtree} SCRATCH_DIR
"""

from __future__ import annotations

import json
import os
import shutil
import sys
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import numpy as np

from ataraxis_data_structures import processing
from ataraxis_data_structures.processing import (
    calculate_directory_checksum,
    delete_directory,
    interpolate_data,
    transfer_directory,
)

SMALL_FILES, SMALL_SIZE, FOLDERS = 2000, 4 << 10, 20
LARGE_FILES, LARGE_SIZE = 4, 64 << 20
REPEATS = 3


def make_mixed_tree(root: Path) -> int:
    """Writes the mixed tree (2,000 files of 4 KiB in 20 folders and 4 files of 64 MiB) and returns its byte count."""
    generator = np.random.default_rng(7)
    for index in range(SMALL_FILES):
        folder = root / f"folder_{index % FOLDERS:02d}"
        folder.mkdir(parents=True, exist_ok=True)
        (folder / f"small_{index:04d}.bin").write_bytes(generator.bytes(SMALL_SIZE))
    for index in range(LARGE_FILES):
        (root / f"large_{index}.bin").write_bytes(generator.bytes(LARGE_SIZE))
    return SMALL_FILES * SMALL_SIZE + LARGE_FILES * LARGE_SIZE


def warm(root: Path) -> None:
    """Reads every file once so that the timed runs read from the page cache."""
    for path in root.rglob("*"):
        if path.is_file():
            path.read_bytes()


def best_of(function: object, repeats: int = REPEATS, before: object = None) -> float:
    """Returns the fastest of several timed calls of function (before() runs untimed ahead of each)."""
    times = []
    for _ in range(repeats):
        if callable(before):
            before()
        started = time.perf_counter()
        function()  # type: ignore[operator]
        times.append(time.perf_counter() - started)
    return min(times)


def checksum(scratch: Path) -> dict[str, float]:
    source = scratch / "tree"
    size = make_mixed_tree(source)
    warm(source)
    seconds = best_of(lambda: calculate_directory_checksum(source, save_checksum=False))
    return {"checksum_mb_s": size / seconds / 1e6}


def transfer(scratch: Path) -> dict[str, float]:
    source = scratch / "tree"
    size = make_mixed_tree(source)
    warm(source)
    # ext4 without a journal (this VM's root) skips inodes freed in the last 5 s (300 s while their inode table
    # block is dirty) one by one when it creates a file: after mass deletions (an earlier run's cleanup, other
    # jobs), every file creation costs up to a millisecond. Writing dirty blocks back and waiting 6 s ends that.
    os.sync()
    time.sleep(6)
    runs = iter(range(REPEATS))

    def reset() -> None:
        # Each run starts from a source without ax_checksum.txt, like a first transfer. Every run writes to a new
        # destination, because deleting the previous copy would slow file creation down (see above).
        (source / "ax_checksum.txt").unlink(missing_ok=True)
        shutil.rmtree(source / ".ax_checksum_manifest", ignore_errors=True)
        os.sync()

    def run() -> None:
        transfer_directory(source, scratch / f"copy_{next(runs)}", 0, verify_integrity=True)

    seconds = best_of(run, before=reset)
    return {"transfer_verified_mb_s": size / seconds / 1e6}


def move(scratch: Path) -> dict[str, float]:
    """A verified move (verify_integrity=True, remove_source=True) of the mixed tree: copy, flush, verify, remove.

    Ours also compares every source file's state after its copy, in a second scan and before each unlink; this is
    what those checks cost. One run (the source is gone afterwards), from a warm page cache.
    """
    source = scratch / "tree"
    size = make_mixed_tree(source)
    warm(source)
    os.sync()
    time.sleep(6)  # see transfer(): lets ext4 finish with recently freed inodes
    destination = scratch / "moved"
    seconds = best_of(lambda: transfer_directory(source, destination, 0, verify_integrity=True, remove_source=True), 1)
    return {"move_verified_mb_s": size / seconds / 1e6}


def _lab_transfer(arguments: tuple[Path, Path, bool]) -> None:
    """One destination of the lab's pattern: transfer_directory(source, target, remove_source=False) (a pool task)."""
    source, target, verify = arguments
    transfer_directory(source, target, remove_source=False, verify_integrity=verify)


def _lab_move(source: Path, targets: list[Path], *, verify: bool, flush: bool, checksum: bool = False) -> None:
    """The lab's move: one process per destination, each reading the whole source, then the source deleted.

    flush runs os.sync() before the deletion: without it, the copies may still be only in the page cache when the
    source is deleted (a power cut then loses the session). checksum first computes and saves the source's checksum,
    as the lab's acquisition package does before it transfers (ours computes it while copying).
    """
    if checksum:
        calculate_directory_checksum(source, save_checksum=True)
    with ProcessPoolExecutor(len(targets)) as pool:
        list(pool.map(_lab_transfer, [(source, target, verify) for target in targets]))
    if flush:
        os.sync()
    shutil.rmtree(source)


FANOUT_REPEATS = 2


def fanout(scratch: Path) -> dict[str, float]:
    """Two destinations: the lab's pattern (unverified, unverified then synced, verified) or ours.

    Ours: transfer_directory(source, [dst1, dst2], remove_source=True), one read, every copy read back from storage.
    Each run moves a freshly written, warm mixed tree to two new destinations (default num_threads, as the lab calls
    it; the source is removed by each run). The best of FANOUT_REPEATS runs per variant, variants interleaved.
    """
    ours = hasattr(processing, "DestinationReport")
    variants = (
        [("fanout_ours_s", None)]
        if ours
        else [
            ("fanout_lab_s", (False, False, False)),
            ("fanout_lab_synced_s", (False, True, False)),
            ("fanout_lab_verified_s", (True, False, False)),
            ("fanout_lab_checksum_s", (False, False, True)),
        ]
    )
    result: dict[str, float] = {}
    runs = 0
    for _ in range(FANOUT_REPEATS):
        for key, mode in variants:
            runs += 1
            source = scratch / f"session_{runs}"
            size = make_mixed_tree(source)
            warm(source)
            os.sync()
            time.sleep(6)  # see transfer(): lets ext4 finish with recently freed inodes
            targets = [scratch / f"nas_{runs}", scratch / f"server_{runs}"]
            started = time.perf_counter()
            if mode is None:
                transfer_directory(source, targets, remove_source=True)  # type: ignore[arg-type]
            else:
                _lab_move(source, targets, verify=mode[0], flush=mode[1], checksum=mode[2])
            result[key] = min(result.get(key, float("inf")), time.perf_counter() - started)
            result["fanout_mb"] = size / 1e6
    return result


def make_deletion_tree(target: Path) -> Path:
    """Writes 20,000 files of 512 bytes in 20 folders."""
    for folder in range(FOLDERS):
        path = target / f"folder_{folder:02d}"
        path.mkdir(parents=True)
        for index in range(1000):
            (path / f"file_{index:04d}.bin").write_bytes(b"x" * 512)
    return target


def delete_and_rmtree(scratch: Path) -> dict[str, float]:
    # Both trees exist before either is timed, so neither deletion is followed by mass file creation (see transfer).
    doomed, control = make_deletion_tree(scratch / "doomed"), make_deletion_tree(scratch / "control")
    os.sync()
    return {
        "delete_s": best_of(lambda: delete_directory(doomed), 1),
        "rmtree_s": best_of(lambda: shutil.rmtree(control), 1),
    }


def interpolate(scratch: Path) -> dict[str, float]:
    del scratch
    count = 10_000_000
    generator = np.random.default_rng(3)
    start = np.uint64(1_764_000_000_000_000)
    source = start + np.cumsum(generator.integers(1, 2000, count, dtype=np.uint64), dtype=np.uint64)
    values = generator.integers(0, 1000, count).astype(np.float64)
    discrete_values = generator.integers(0, 255, count).astype(np.uint8)
    target = np.linspace(float(source[0]), float(source[-1]), count).astype(np.uint64)
    return {
        "interpolate_continuous_ms": 1000
        * best_of(lambda: interpolate_data(source, values, target, is_discrete=False)),
        "interpolate_discrete_ms": 1000
        * best_of(lambda: interpolate_data(source, discrete_values, target, is_discrete=True)),
    }


def main() -> None:
    # The caller removes the scratch directory after all runs (see the note in transfer()).
    job, scratch = sys.argv[1], Path(sys.argv[2])
    scratch.mkdir(parents=True)
    jobs = {
        "checksum": checksum,
        "transfer": transfer,
        "move": move,
        "interpolate": interpolate,
        "delete_and_rmtree": delete_and_rmtree,
        "fanout": fanout,
    }
    result = jobs[job](scratch)
    print(json.dumps(result))


if __name__ == "__main__":
    main()
