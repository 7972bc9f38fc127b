"""limit_worker_threads and initialize_worker_threads with real process pools (spawned workers)."""

from __future__ import annotations

import multiprocessing
import os
import subprocess
import sys
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path
from typing import Any

import pytest
from worker_threads_children import NAMES, thread_variables

from ataraxis_data_structures import initialize_worker_threads, limit_worker_threads
from reference_release import REFERENCE7_PYTHON, needs_reference_7, run_reference_json

SRC = Path(__file__).resolve().parents[2] / "src"


def spawned_pool(**options: Any) -> ProcessPoolExecutor:
    return ProcessPoolExecutor(max_workers=2, mp_context=multiprocessing.get_context("spawn"), **options)


def test_workers_of_a_pool_inside_the_context_inherit_the_limits(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OMP_NUM_THREADS", "7")
    monkeypatch.delenv("MKL_NUM_THREADS", raising=False)
    with limit_worker_threads(2, 4, additional_thread_variables={"CUSTOM_THREADS": 3}), spawned_pool() as pool:
        seen = list(pool.map(thread_variables, range(4)))
    expected = {
        "OMP_NUM_THREADS": "4",  # read once at load: takes the maximum
        "POLARS_MAX_THREADS": "4",
        "OPENBLAS_NUM_THREADS": "2",
        "MKL_NUM_THREADS": "2",
        "NUMEXPR_NUM_THREADS": "2",
        "OPENCV_FOR_THREADS_NUM": "2",
        "TIFFFILE_NUM_THREADS": "2",
        "VECLIB_MAXIMUM_THREADS": "2",
        "CUSTOM_THREADS": "3",
    }
    assert all(variables == expected for variables in seen)
    # Restored on exit: a set variable gets its value back, an unset one is removed.
    assert os.environ["OMP_NUM_THREADS"] == "7"
    assert "MKL_NUM_THREADS" not in os.environ and "CUSTOM_THREADS" not in os.environ


def test_restored_when_the_block_raises_and_bad_counts_are_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("OPENBLAS_NUM_THREADS", raising=False)
    before = dict(os.environ)
    with pytest.raises(KeyError), limit_worker_threads(3):
        assert os.environ["OPENBLAS_NUM_THREADS"] == "3"
        raise KeyError("the job failed")
    assert dict(os.environ) == before
    for arguments, message in (
        ((0,), "'thread_count' must be 1 or more, got 0"),
        ((3, 2), r"'maximum_thread_count' must be at least 'thread_count' \(3\), got 2"),
        ((1, None, {" ": 1}), "non-blank"),
        ((1, None, {"X_THREADS": 0}), "got 0 for 'X_THREADS'"),
    ):
        with pytest.raises(ValueError, match=message), limit_worker_threads(*arguments):
            pass
        with pytest.raises(ValueError, match=message):
            initialize_worker_threads(*arguments)
    with pytest.raises(TypeError, match="integer"):
        initialize_worker_threads(2.5)  # type: ignore[arg-type]
    assert dict(os.environ) == before


def test_initializer_pins_each_worker_of_a_pool_created_outside(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in NAMES:
        monkeypatch.delenv(name, raising=False)
    with spawned_pool(initializer=initialize_worker_threads, initargs=(1, 2)) as pool:
        seen = list(pool.map(thread_variables, range(4)))
    assert all(v["OPENBLAS_NUM_THREADS"] == "1" and v["OMP_NUM_THREADS"] == "2" for v in seen)
    assert "OPENBLAS_NUM_THREADS" not in os.environ  # only the workers were changed
    # numba is optional: without it nothing is imported or required.
    code = "import sys, ataraxis_data_structures as a; a.initialize_worker_threads(1); print('numba' in sys.modules)"
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert result.stdout.strip() == str("numba" in sys.modules or _numba_installed())


def _numba_installed() -> bool:
    import importlib.util

    return importlib.util.find_spec("numba") is not None


@pytest.mark.slow
@needs_reference_7  # 7.2.0's environment has numba
def test_numba_is_limited_where_it_is_installed_and_variables_match_7_2_0() -> None:
    # Our module (standard library only) is loaded by its file in 7.2.0's environment, which has numba.
    module = SRC / "ataraxis_data_structures" / "processing" / "worker_threads.py"
    code = (
        "import importlib.util, json, numba, os\n"
        f"spec = importlib.util.spec_from_file_location('ours', {str(module)!r})\n"
        "ours = importlib.util.module_from_spec(spec); spec.loader.exec_module(ours)\n"
        "ours.initialize_worker_threads(1, 2)\n"
        "print(json.dumps([numba.get_num_threads(), "
        "{k: v for k, v in os.environ.items() if k.endswith(('THREADS', 'THREADS_NUM'))}]))"
    )
    result = run_reference_json(code, python=REFERENCE7_PYTHON, unset=NAMES)
    assert isinstance(result, list)
    numba_threads, ours = result
    assert numba_threads == 1
    theirs = run_reference_json(
        "import json, os; from ataraxis_data_structures.processing import limit_worker_threads as l\n"
        "with l(1, 2):\n"
        "    print(json.dumps({k: v for k, v in os.environ.items() if k.endswith(('THREADS', 'THREADS_NUM'))}))",
        python=REFERENCE7_PYTHON,
        main_guard=True,
    )
    assert ours == theirs
