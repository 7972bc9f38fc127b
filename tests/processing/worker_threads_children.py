"""Functions run inside process-pool workers by the worker-thread tests (importable, so spawned workers find them)."""

from __future__ import annotations

import os

NAMES = (
    "OMP_NUM_THREADS",
    "OPENBLAS_NUM_THREADS",
    "MKL_NUM_THREADS",
    "NUMEXPR_NUM_THREADS",
    "POLARS_MAX_THREADS",
    "OPENCV_FOR_THREADS_NUM",
    "TIFFFILE_NUM_THREADS",
    "VECLIB_MAXIMUM_THREADS",
    "CUSTOM_THREADS",
)


def thread_variables(_: int = 0) -> dict[str, str | None]:
    """Returns the thread-count variables the worker process sees."""
    return {name: os.environ.get(name) for name in NAMES}
