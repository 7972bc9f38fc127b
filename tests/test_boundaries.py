"""The package's boundaries hold: one exception family in ``errors``, no reach into another package's private modules,
an ``__all__`` in every module, and the command line on the other packages' public names only.

Each rule reads the source (``ast``) or imports the modules; where a part of the package has not been brought under a
rule yet, it is listed by name in a KNOWN_* set below, so the rule holds for everything else and the list can only
shrink (a listed entry that no longer breaks the rule fails the test, asking for its removal).
"""

from __future__ import annotations

import ast
import importlib
import pkgutil
from pathlib import Path

import pytest

import ataraxis_data_structures as axds
from ataraxis_data_structures import errors
from ataraxis_data_structures.errors import AxdsError

PACKAGE = Path(axds.__file__).parent
SOURCES = sorted(PACKAGE.rglob("*.py"))

KNOWN_EXCEPTIONS_OUTSIDE_ERRORS: set[str] = set()
INTERNAL_SIGNALS = {
    # Raised and caught inside the YAML fast paths only (the loader then hands the text to PyYAML); never escapes.
    "OutsideFastPathError",
    # Raised and caught inside assembly only (a source not in archive order goes to the in-memory pass); never escapes.
    "NotInOrderError",
}
KNOWN_PRIVATE_IMPORTS: set[tuple[str, str]] = set()
KNOWN_CLI_REACHES: set[str] = set()
KNOWN_WITHOUT_ALL: set[str] = set()


def _module_name(path: Path) -> str:
    parts = ["ataraxis_data_structures", *path.relative_to(PACKAGE).with_suffix("").parts]
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _imported_modules(path: Path) -> set[str]:
    """Every module ``path`` imports (absolute names; ``from X import y`` counts X and X.y, y may be a module)."""
    own = _module_name(path).split(".")
    package = own if path.name == "__init__.py" else own[:-1]
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = package[: len(package) - node.level + 1] if node.level else []
            module = ".".join([*base, *([node.module] if node.module else [])])
            found.add(module)
            found.update(f"{module}.{alias.name}" for alias in node.names)
    return {name for name in found if name.startswith("ataraxis_data_structures")}


def _all_modules() -> list[str]:
    return [
        info.name
        for info in pkgutil.walk_packages(axds.__path__, "ataraxis_data_structures.")
        if not info.name.endswith("__main__")
    ]


def test_every_exported_exception_derives_from_axds_error_and_lives_in_errors() -> None:
    outside: dict[str, str] = {}
    not_axds: list[str] = []
    for module_name in _all_modules():
        module = importlib.import_module(module_name)
        for name in getattr(module, "__all__", ()):
            value = getattr(module, name)
            if not (isinstance(value, type) and issubclass(value, BaseException)) or name in INTERNAL_SIGNALS:
                continue
            if not issubclass(value, Warning) and not issubclass(value, AxdsError):
                not_axds.append(f"{module_name}.{name}")
            if value.__module__ != errors.__name__:
                outside[name] = f"{module_name}.{name} (defined in {value.__module__})"
    assert not not_axds, f"exported errors that do not derive from AxdsError: {not_axds}"
    unexpected = {name: where for name, where in outside.items() if name not in KNOWN_EXCEPTIONS_OUTSIDE_ERRORS}
    assert not unexpected, f"exception classes defined outside errors.py: {sorted(unexpected.values())}"
    settled = KNOWN_EXCEPTIONS_OUTSIDE_ERRORS - set(outside)
    assert not settled, f"now defined in errors.py, remove from KNOWN_EXCEPTIONS_OUTSIDE_ERRORS: {sorted(settled)}"


@pytest.mark.parametrize(
    ("old_path", "name", "builtin"),
    [
        ("ataraxis_data_structures.data_structures.yaml_errors", "YamlConfigError", ValueError),
        ("ataraxis_data_structures.data_structures.yaml_errors", "YamlConfigTypeError", TypeError),
        ("ataraxis_data_structures.data_structures.yaml_errors", "MissingValueError", ValueError),
        ("ataraxis_data_structures.data_structures", "YamlConfigError", ValueError),
        ("ataraxis_data_structures.file_locks", "LockHeldError", BlockingIOError),
        ("ataraxis_data_structures.file_locks", "LockFileUnavailableError", PermissionError),
        ("ataraxis_data_structures.cli.errors", "CommandError", AxdsError),
        ("ataraxis_data_structures.processing", "MountPointWarning", UserWarning),
        ("ataraxis_data_structures.data_loggers", "TornLogWarning", UserWarning),
        ("ataraxis_data_structures.data_loggers", "LoggerRunningWarning", UserWarning),
        ("ataraxis_data_structures.data_loggers", "SourceDescriptionWarning", UserWarning),
    ],
)
def test_moved_exceptions_keep_their_old_import_paths_and_builtin_bases(
    old_path: str, name: str, builtin: type[BaseException]
) -> None:
    value = getattr(importlib.import_module(old_path), name)
    assert value is getattr(errors, name)
    assert issubclass(value, builtin)


def test_the_lock_errors_are_still_the_os_errors_callers_catch(tmp_path: Path) -> None:
    from ataraxis_data_structures.file_locks import try_lock

    with try_lock(tmp_path / "x.lock"), pytest.raises(BlockingIOError) as raised, try_lock(tmp_path / "x.lock"):
        pass
    assert isinstance(raised.value, AxdsError) and raised.value.filename == str(tmp_path / "x.lock")


def test_no_module_imports_another_package_s_private_module() -> None:
    found: set[tuple[str, str]] = set()
    for path in SOURCES:
        own_package = _module_name(path).rsplit(".", 0 if path.name == "__init__.py" else 1)[0]
        for imported in _imported_modules(path):
            parts = imported.split(".")
            private = next((i for i, part in enumerate(parts) if part.startswith("_") and i > 0), None)
            if private is None or parts[private].startswith("__"):
                continue
            if (PACKAGE.parent.joinpath(*parts[:private]).with_suffix(".py")).is_file():
                private -= 1  # a private name of a module: the rule is about the module's package
            owner = ".".join(parts[:private])  # the package the private module (or module's name) belongs to
            # A package's private modules serve it and its subpackages (the root's _durable_files serves everyone).
            if own_package == owner or own_package.startswith(owner + "."):
                continue
            found.add((str(path.relative_to(PACKAGE)), ".".join(parts[: private + 1])))
    unexpected = found - KNOWN_PRIVATE_IMPORTS
    assert not unexpected, f"modules importing another package's private module: {sorted(unexpected)}"
    settled = KNOWN_PRIVATE_IMPORTS - found
    assert not settled, f"no longer imported, remove from KNOWN_PRIVATE_IMPORTS: {sorted(settled)}"


def test_every_module_declares_all() -> None:
    def declares_all(path: Path) -> bool:
        for node in ast.parse(path.read_text()).body:
            targets = (
                node.targets
                if isinstance(node, ast.Assign)
                else [node.target]
                if isinstance(node, ast.AnnAssign)
                else []
            )
            if any(isinstance(target, ast.Name) and target.id == "__all__" for target in targets):
                return True
        return False

    without = {str(path.relative_to(PACKAGE)) for path in SOURCES if not declares_all(path)}
    assert without == KNOWN_WITHOUT_ALL


def test_the_command_line_uses_only_the_public_names_of_the_other_packages() -> None:
    """A command imports another package's names from the package (its ``__all__``), never from its inner modules."""
    reached: dict[str, list[str]] = {}
    for path in sorted((PACKAGE / "cli").glob("*.py")):
        for node in ast.walk(ast.parse(path.read_text())):
            if not (isinstance(node, ast.ImportFrom) and node.level == 2 and node.module):
                continue
            package, _, inner = node.module.partition(".")
            if package in ("errors", "file_locks"):  # modules of the root, public as a whole
                continue
            public = set(importlib.import_module(f"ataraxis_data_structures.{package}").__all__)
            names = [f"{node.module}.{a.name}" for a in node.names if inner or a.name not in public]
            if names:
                reached.setdefault(f"cli/{path.name}", []).extend(names)
    unexpected = {name: where for name, where in reached.items() if name not in KNOWN_CLI_REACHES}
    assert not unexpected, f"commands reaching past the other packages' public API: {unexpected}"
    settled = KNOWN_CLI_REACHES - set(reached)
    assert not settled, f"now on public names only, remove from KNOWN_CLI_REACHES: {sorted(settled)}"
