"""Lazy package exports (PEP 562): a package's public names are imported from their modules on first use.

Every package ``__init__`` of the library uses it, so importing a package costs almost nothing and a program loads
only the modules whose names it uses.
"""

from __future__ import annotations

import importlib

TYPE_CHECKING = False  # not typing's: importing typing costs more than this module (type checkers read it the same)
if TYPE_CHECKING:
    from collections.abc import Callable, Mapping, Sequence
    from typing import Any

__all__ = ["lazy_exports"]


def lazy_exports(
    package: str,
    exports: Mapping[str, str],
    public: Sequence[str],
    extra: Mapping[str, Callable[[], Any]] | None = None,
) -> tuple[Callable[[str], Any], Callable[[], list[str]]]:
    """Returns the ``__getattr__`` and ``__dir__`` of a lazy package.

    Args:
        package: The package's ``__name__``.
        exports: Public name -> the package's module (relative name) that defines it.
        public: The package's ``__all__``.
        extra: Names computed on first access instead (the top level's ``__version__``).
    """
    computed = dict(extra or {})
    namespace = importlib.import_module(package).__dict__

    def get_attribute(name: str) -> Any:
        if name in computed:
            value = computed[name]()
        elif name in exports:
            value = getattr(importlib.import_module(f".{exports[name]}", package), name)
        else:
            try:  # a submodule not imported yet (``package.checksum``)
                value = importlib.import_module(f".{name}", package)
            except ModuleNotFoundError as error:
                if error.name != f"{package}.{name}":
                    raise
                raise AttributeError(f"module {package!r} has no attribute {name!r}") from None
        namespace[name] = value  # later accesses skip __getattr__
        return value

    def list_names() -> list[str]:
        return sorted({*namespace, *public, *computed})

    return get_attribute, list_names
