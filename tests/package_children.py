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


COMMANDS = {
    "lazy-imports": lazy_imports,
    "subpackage-attribute": subpackage_attribute,
    "installed-probe": installed_probe,
}

if __name__ == "__main__":
    COMMANDS[sys.argv[1]]()
