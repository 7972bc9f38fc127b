"""Shared step recorder for the labcheck drivers: runs one call, records what it returned, raised and warned.

Every driver prints one JSON line per step on stdout as the step ends (so a hang or crash keeps what ran before it),
headed by a line naming the library file imported; ``compare.py`` runs a driver under two interpreters (the release
the lab pins, and ours) and prints the steps whose records differ.
"""

from __future__ import annotations

import faulthandler
import json
import re
import sys
import time
import traceback
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Any

import ataraxis_data_structures


class Recorder:
    """Collects step records and normalises the temporary root and volatile numbers out of them."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.steps: list[dict[str, Any]] = []
        header = {"library": ataraxis_data_structures.__file__, "python": sys.version.split()[0]}
        self._emit({"header": header})
        # A step that hangs shows where in the driver's stderr (compare.py ends the run at its timeout).
        faulthandler.dump_traceback_later(240, repeat=True)

    @staticmethod
    def _emit(record: dict[str, Any]) -> None:
        sys.stdout.write(json.dumps(record) + "\n")
        sys.stdout.flush()

    def _clean(self, text: str) -> str:
        text = text.replace(str(self.root), "<tmp>")
        # Process ids, hosts and hex job ids differ from run to run.
        text = re.sub(r"pid[:=]\d+", "pid:<pid>", text)
        return re.sub(r"0x[0-9a-f]{6,}", "0x<addr>", text)

    def _jsonable(self, value: Any) -> Any:
        if isinstance(value, dict):
            return {self._clean(str(key)): self._jsonable(item) for key, item in value.items()}
        if isinstance(value, list | tuple | set | frozenset):
            items = [self._jsonable(item) for item in value]
            return sorted(items, key=repr) if isinstance(value, set | frozenset) else items
        if isinstance(value, bool | int | float) or value is None:
            return value
        return self._clean(str(value))

    def step(self, name: str, call: Callable[[], Any]) -> Any:
        """Runs ``call``, records its value (or exception) and the warnings it raised; returns the value or None."""
        record: dict[str, Any] = {"step": name}
        sys.stderr.write(f"[labcheck] {time.strftime('%H:%M:%S')} {name}\n")
        sys.stderr.flush()
        value = None
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            try:
                value = call()
                record["result"] = self._jsonable(value)
            except BaseException as error:  # A KeyboardInterrupt-like escape is a finding too, never a crash here.
                record["raised"] = f"{type(error).__module__}.{type(error).__qualname__}"
                record["message"] = self._clean(str(error))[:600]
                record["traceback_tail"] = self._clean("".join(traceback.format_exception(error)[-3:]))[-1500:]
        record["warnings"] = sorted(
            {f"{warning.category.__name__}: {self._clean(str(warning.message))[:300]}" for warning in caught}
        )
        self.steps.append(record)
        self._emit(record)
        return value

    def note(self, name: str, value: Any) -> None:
        """Records a plain observation (e.g. a directory listing) as a step without a call."""
        record = {"step": name, "result": self._jsonable(value), "warnings": []}
        self.steps.append(record)
        self._emit(record)


def listing(directory: Path) -> dict[str, Any]:
    """Summarises a log folder as the lab's code sees it: what ``*.npy`` / ``*.npz`` match, and every other name."""
    if not directory.exists():
        return {"exists": False}
    names = sorted(path.name for path in directory.iterdir())
    return {
        "exists": True,
        # The count depends on timing; whether the lab's ``glob("*.npy")`` checks find anything does not.
        "npy_glob_finds_entries": any(directory.glob("*.npy")),
        "npz": sorted(path.name for path in directory.glob("*.npz")),
        "other_names": sorted({re.sub(r"\d+", "N", name) for name in names if not name.endswith((".npy", ".npz"))}),
    }
