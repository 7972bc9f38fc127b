"""Caps the threads that numeric libraries open in worker processes, through the variables they read, as 7.2.0.

Every BLAS/OpenMP-backed library a worker imports opens a pool sized to the machine's cores, so a process pool with
one worker per core otherwise holds cores x cores threads. Two kinds of variables are written: those the libraries
read whenever they size a pool (set to ``thread_count``) and those read once, when the library loads (OpenMP,
DUCC0, Polars: set to ``maximum_thread_count``, the widest any job raises itself to). numba is limited through its
own setter when it is installed; it is never a dependency.
"""

from __future__ import annotations

import importlib
import importlib.util
import os
import sys
from collections.abc import Generator, Mapping
from contextlib import contextmanager

__all__ = ["initialize_worker_threads", "limit_worker_threads"]

RESIZABLE_VARIABLES = (
    "OPENBLAS_NUM_THREADS",
    "MKL_NUM_THREADS",
    "BLIS_NUM_THREADS",
    "FLEXIBLAS_NUM_THREADS",
    "VECLIB_MAXIMUM_THREADS",
    "NUMEXPR_NUM_THREADS",
    "OPENCV_FOR_THREADS_NUM",
    "OPENCV_FFMPEG_THREADS",
    "TIFFFILE_NUM_THREADS",
)
"""Variables read each time a library sizes its pool: they take thread_count."""

LOAD_LATCHED_VARIABLES = ("OMP_NUM_THREADS", "DUCC0_NUM_THREADS", "POLARS_MAX_THREADS")
"""Variables read once, when a library loads: they take maximum_thread_count."""


def _thread_variables(
    action: str,
    thread_count: int,
    maximum_thread_count: int | None,
    additional_thread_variables: Mapping[str, int] | None,
) -> dict[str, str]:
    """Returns the environment variables to write, after checking the counts (action names the caller in errors)."""
    for name, value in (("thread_count", thread_count), ("maximum_thread_count", maximum_thread_count)):
        if value is not None and not isinstance(value, int):
            raise TypeError(f"Unable to {action}: '{name}' must be an integer, got {value!r}.")
    if thread_count < 1:
        raise ValueError(f"Unable to {action}: 'thread_count' must be 1 or more, got {thread_count}.")
    maximum = thread_count if maximum_thread_count is None else maximum_thread_count
    if maximum < thread_count:
        raise ValueError(
            f"Unable to {action}: 'maximum_thread_count' must be at least 'thread_count' ({thread_count}), "
            f"got {maximum}."
        )
    variables = {name: str(thread_count) for name in RESIZABLE_VARIABLES}
    variables.update({name: str(maximum) for name in LOAD_LATCHED_VARIABLES})
    for name, width in (additional_thread_variables or {}).items():
        if not isinstance(name, str) or not name.strip():
            raise ValueError(
                f"Unable to {action}: every name in 'additional_thread_variables' must be a non-blank environment "
                f"variable name, got {name!r}."
            )
        if not isinstance(width, int) or width < 1:
            raise ValueError(
                f"Unable to {action}: every width in 'additional_thread_variables' must be an integer of 1 or more, "
                f"got {width!r} for {name!r}."
            )
        variables[name] = str(width)
    return variables


@contextmanager
def limit_worker_threads(
    thread_count: int = 1,
    maximum_thread_count: int | None = None,
    additional_thread_variables: Mapping[str, int] | None = None,
) -> Generator[None, None, None]:
    """Constrains the numeric libraries imported by worker processes to the requested thread counts.

    The limit reaches workers through the environment they inherit, so the context must enclose the process pool's
    whole life (pools start workers when work is first submitted). On exit every variable gets back its previous
    value (or is removed if it was unset), also when the block raises.

    Args:
        thread_count: The threads each worker's resizable libraries (BLAS, MKL, NumExpr, OpenCV, tifffile) may open.
        maximum_thread_count: The threads each worker's load-latched libraries (OpenMP, DUCC0, Polars) may open: the
            widest count any job raises itself to. Defaults to thread_count.
        additional_thread_variables: More environment variables to write, each mapped to its width; a name this
            function already writes takes the given width instead.

    Raises:
        ValueError: If thread_count is below 1, maximum_thread_count is below thread_count, or an additional
            variable has a blank name or a width below 1.
        TypeError: If a count is not an integer.
    """
    variables = _thread_variables(
        "limit the thread count used by the worker processes",
        thread_count,
        maximum_thread_count,
        additional_thread_variables,
    )
    previous = {name: os.environ.get(name) for name in variables}
    try:
        os.environ.update(variables)
        yield
    finally:
        for name, value in previous.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


def initialize_worker_threads(
    thread_count: int = 1,
    maximum_thread_count: int | None = None,
    additional_thread_variables: Mapping[str, int] | None = None,
) -> None:
    """Constrains the numeric libraries of the calling process (a pool worker) to the requested thread counts.

    Meant as a process pool's ``initializer``: it writes the same variables as limit_worker_threads (without
    restoring them) and, when numba is installed, caps numba's threads with ``numba.set_num_threads`` at
    thread_count, narrowed to the ceiling numba latched when it was imported.

    Args:
        thread_count: The threads each resizable numeric library of this process may open.
        maximum_thread_count: The threads each load-latched library of this process may open. Defaults to
            thread_count.
        additional_thread_variables: More environment variables to write, each mapped to its width.

    Raises:
        ValueError: If thread_count is below 1, maximum_thread_count is below thread_count, or an additional
            variable has a blank name or a width below 1.
        TypeError: If a count is not an integer.
    """
    variables = _thread_variables(
        "initialize the thread count used by the worker process",
        thread_count,
        maximum_thread_count,
        additional_thread_variables,
    )
    os.environ.update(variables)
    if "numba" in sys.modules or importlib.util.find_spec("numba") is not None:
        numba = importlib.import_module("numba")  # optional: imported only where installed
        numba.set_num_threads(min(thread_count, numba.config.NUMBA_NUM_THREADS))
