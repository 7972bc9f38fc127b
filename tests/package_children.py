"""Child-process code of the package and packaging tests: each command runs in a fresh interpreter (this repository's
venv, or a throwaway venv holding only the built wheel), run by file path as ``python package_children.py COMMAND``.
"""

from __future__ import annotations

import json
import sys

HEAVY = ("numpy", "yaml", "cattrs", "xxhash", "tqdm")


def lazy_imports() -> None:
    """Importing the package and its CLI module loads no dependency; using a name loads what it needs."""
    import ataraxis_data_structures
    import ataraxis_data_structures.cli

    loaded = [name for name in HEAVY if name in sys.modules]
    if loaded:
        sys.exit(f"imported at package import: {loaded}")
    _ = ataraxis_data_structures.ProcessingTracker
    if "yaml" not in sys.modules:
        sys.exit("ProcessingTracker was reached without importing its YAML dependency")


def subpackage_attribute() -> None:
    """A subpackage is an attribute of the package without being imported first."""
    import ataraxis_data_structures

    print(ataraxis_data_structures.processing.calculate_directory_checksum.__name__)


def installed_probe() -> None:
    """In a venv holding a lab package: the installed version, the reported one and where the module lives."""
    from importlib.metadata import version

    import tiny_lab_package  # type: ignore[import-not-found]  # written by the test into that venv only  # noqa: F401

    import ataraxis_data_structures

    report = [
        version("ataraxis-data-structures"),
        ataraxis_data_structures.__version__,
        ataraxis_data_structures.__file__,
    ]
    print(json.dumps(report))


def threads_left(directory: str) -> None:
    """Assembles a log directory and checksums it with progress bars, then prints the threads still running."""
    import threading
    from pathlib import Path

    import numpy as np

    from ataraxis_data_structures import DataLogger, LogPackage, assemble_log_archives, calculate_directory_checksum

    logger = DataLogger(Path(directory), instance_name="threads")
    logger.start()
    logger.input_queue.put(LogPackage(np.uint8(1), np.uint64(0), np.zeros(8, dtype=np.uint8)))
    logger.input_queue.put(LogPackage(np.uint8(1), np.uint64(5), np.arange(4, dtype=np.uint8)))
    logger.stop()
    assemble_log_archives(logger.output_directory, verbose=True)
    assemble_log_archives(logger.output_directory, verbose=False)
    calculate_directory_checksum(logger.output_directory, progress=True, save_checksum=False)
    for thread in threading.enumerate():
        if thread.name.endswith("-watchdog"):  # ends once the stopped logger's interpreter has exited
            thread.join(timeout=30)
    left = [thread.name for thread in threading.enumerate() if thread is not threading.main_thread()]
    print(json.dumps(left))


COMMANDS = {
    "threads-left": lambda: threads_left(sys.argv[2]),
    "lazy-imports": lazy_imports,
    "subpackage-attribute": subpackage_attribute,
    "installed-probe": installed_probe,
}

if __name__ == "__main__":
    COMMANDS[sys.argv[1]]()
