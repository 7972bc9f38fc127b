"""YamlConfig: a dataclass base that saves itself to a readable YAML file and loads back with full type fidelity."""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Mapping
from pathlib import Path
from types import MappingProxyType
from typing import Any, Self

import yaml

from .._durable_files import write_text_atomically
from .yaml_converter import EXCLUDE_KEY, UNION_RULE, LossyValue, describe_type, find_lossy_value, get_converter
from .yaml_errors import YamlConfigError, not_a_mapping, structure_error, syntax_error
from .yaml_text import dump_document, load_document

_EXTENSIONS = (".yaml", ".yml")

YAML_EXCLUDE_METADATA: Mapping[str, bool] = MappingProxyType({EXCLUDE_KEY: True})
"""Dataclass field metadata that keeps a field out of the YAML file: ``field(metadata=YAML_EXCLUDE_METADATA)``.

Such a field is never written, at any depth (in nested dataclasses and inside lists and dicts too). On loading, a
field with a default gets its default unless the file holds a value for it; a required one must be supplied by the
class's ``restore_excluded_fields`` hook. Combine it with other metadata as ``{**YAML_EXCLUDE_METADATA, ...}``.
"""


class YamlConfig:
    """Extends the standard Python dataclass with methods to save and load its data from a .yaml (YAML) file.

    Notes:
        This class is designed to be subclassed by custom dataclasses so that they inherit the YAML saving and
        loading functionality. Serialization automatically converts Path instances to strings, Enum members to
        their raw values, and tuples (and sets) to lists. Deserialization reverses these conversions based on the
        dataclass's type annotations, and checks every value against its annotation.

        Files are written atomically (a crash mid-write leaves the previous file intact), in block style with the
        keys in field order between ``---`` and ``...`` markers, exactly as the reference release writes them.
    """

    def to_yaml(self, file_path: Path) -> None:
        """Saves the instance's data as the specified .yaml (YAML) file.

        Notes:
            Path fields are serialized as strings, Enum fields as their raw values, and tuples as lists. This keeps
            YAML files human-readable while preserving full type fidelity on round-trip via from_yaml(). Missing
            parent directories are created, and the file is replaced atomically.

        Args:
            file_path: The path to the .yaml file to write.

        Raises:
            ValueError: If the file_path does not point to a file with a '.yaml' or '.yml' extension.
            TypeError: If the instance is not a dataclass, a field holds a value that has no YAML form, or a union
                field holds a value that would load back as another type (the message names the field).
            OSError: If the file cannot be written (a full disk or quota included); the message names the file and
                the previous file is intact.
        """
        path = _checked_path(file_path, "write the dataclass instance to")
        _require_dataclass(type(self))
        converter = get_converter(forbid_extra_keys=True, detailed=False)
        try:
            data = converter.unstructure(self)
            lossy = find_lossy_value(self, converter)
        except NameError as error:
            raise _unresolved_annotation(type(self), error) from error
        if lossy is not None:
            raise _lossy(path, lossy)
        try:
            text = dump_document(data)
        except yaml.YAMLError as error:
            raise _unrepresentable(path, data, error) from error
        write_text_atomically(path, text)

    @classmethod
    def from_yaml(cls, file_path: Path, *, ignore_unknown_keys: bool = False) -> Self:
        """Instantiates the class using the data loaded from the provided .yaml (YAML) file.

        Notes:
            Deserialization automatically converts YAML-native types back to the annotated Python types: strings to
            Path instances, raw values to Enum members, and lists to tuples where applicable. Each value must match
            its annotation; an int is also accepted where a float is expected.

        Args:
            file_path: The path to the .yaml file that stores the instance's data.
            ignore_unknown_keys: Whether to skip keys that match no field (by default they are an error, so a
                misspelled key is not silently dropped).

        Returns:
            A new class instance that stores the data read from the .yaml file.

        Raises:
            ValueError: If the provided file path does not point to a .yaml or .yml file. A YamlConfigError (a
                ValueError) if the file is not valid YAML, its top level is not a mapping, or a value does not fit
                its field; the message names the file and, for each problem, the field path and line.
            FileNotFoundError: If the file does not exist.
        """
        path = _checked_path(file_path, "create the dataclass instance using the data from")
        _require_dataclass(cls)
        try:
            text = path.read_text(encoding="utf-8")
        except UnicodeDecodeError as error:
            problem = f"the file is not UTF-8 text ({error})"
            raise YamlConfigError(f"Unable to load {path}: {problem}.", path, [problem]) from error
        try:
            data = load_document(text)
        except yaml.YAMLError as error:
            raise syntax_error(path, error) from error
        except ValueError as error:  # the loader constructs 2024-13-45 as a date and fails outside YAMLError
            problem = f"a value that YAML reads as a date or timestamp is not a valid one ({error})"
            raise YamlConfigError(f"Unable to load {path}: {problem}.", path, [problem]) from error
        if type(data) is not dict:
            raise not_a_mapping(path, data, cls.__name__)
        data = cls.restore_excluded_fields(data, path)
        if not isinstance(data, dict):
            message = (
                f"{cls.__name__}.restore_excluded_fields must return the mapping to build the instance from (a dict), "
                f"but returned {type(data).__name__} for {path}."
            )
            raise TypeError(message)
        forbid = not ignore_unknown_keys
        try:
            return get_converter(forbid_extra_keys=forbid, detailed=False).structure(data, cls)
        except NameError as error:
            raise _unresolved_annotation(cls, error) from error
        except Exception:  # the detailed converter below says what failed where
            pass
        try:
            instance = get_converter(forbid_extra_keys=forbid, detailed=True).structure(data, cls)
        except (ExceptionGroup, ValueError, KeyError, TypeError) as error:
            raise structure_error(path, text, error, cls.__name__) from error
        return instance

    @classmethod
    def restore_excluded_fields(cls, data: dict[Any, Any], file_path: Path) -> dict[Any, Any]:
        """Returns the loaded mapping extended with the values of the fields this class keeps out of the file.

        Notes:
            A hook for subclasses: ``from_yaml()`` calls it between reading the document and building the instance.
            This implementation returns the mapping unchanged, which suits every class whose excluded fields (those
            marked with ``YAML_EXCLUDE_METADATA``) have defaults. A class with a required excluded field overrides
            it to supply that field, typically from the file's location.

        Args:
            data: The top-level mapping read from the .yaml file.
            file_path: The path the mapping was read from.

        Returns:
            The mapping to build the instance from.
        """
        del file_path
        return data


def _checked_path(file_path: Path | str | os.PathLike[str], action: str) -> Path:
    """Returns file_path as a Path, or raises ValueError if it lacks a .yaml or .yml extension."""
    path = Path(file_path)
    if path.suffix not in _EXTENSIONS:
        message = (
            f"Unable to {action} a .yaml file. The 'file_path' argument must end in the '.yaml' or '.yml' "
            f"extension, but got {path}."
        )
        raise ValueError(message)
    return path


def _require_dataclass(cls: type) -> None:
    if not dataclasses.is_dataclass(cls):
        message = f"{cls.__name__} must be a dataclass to be saved or loaded as YAML: decorate it with @dataclass."
        raise TypeError(message)


def _unresolved_annotation(cls: type, error: NameError) -> TypeError:
    """Returns the error for annotations that cannot be evaluated, typically a class defined inside a function."""
    message = (
        f"Unable to resolve the field annotations of {cls.__name__} ({error}). With 'from __future__ import "
        f"annotations', every class named in an annotation must be importable from the module's global scope."
    )
    return TypeError(message)


def _lossy(path: Path, lossy: LossyValue) -> TypeError:
    """Returns the error for a union field value that would not load back as itself."""
    union = describe_type(lossy.annotation)
    held = f"field '{lossy.where}' holds {lossy.value!r} ({type(lossy.value).__name__})"
    if lossy.error is not None:
        outcome = f"which would not load back as {union} ({lossy.error})"
    else:
        outcome = f"which would load back as {lossy.read_back!r} ({type(lossy.read_back).__name__})"
    message = (
        f"Unable to write {path}: {held}, {outcome}: {UNION_RULE}. Store a value of the type the file reads back, "
        f"or change the annotation."
    )
    return TypeError(message)


def _unrepresentable(path: Path, data: Any, error: yaml.YAMLError) -> TypeError:
    """Returns the error for a field value that YAML cannot represent, naming the field when it can be found."""
    found = _find_foreign_value(data, "")
    if found is None:
        return TypeError(f"Unable to write {path}: {error}")
    where, value = found
    message = (
        f"Unable to write {path}: field '{where}' holds {value!r} of type {type(value).__name__}, which has no YAML "
        f"form. Annotate the field with a supported type (str, int, float, bool, Path, Enum, a dataclass, or a "
        f"list, tuple, set or dict of these)."
    )
    return TypeError(message)


def _find_foreign_value(value: Any, where: str) -> tuple[str, Any] | None:
    """Returns the path and value of the first value in the unstructured data that is not plain YAML data."""
    if isinstance(value, dict):
        for key, item in value.items():
            found = _find_foreign_value(item, f"{where}.{key}" if where else str(key))
            if found is not None:
                return found
        return None
    if isinstance(value, list):
        for index, item in enumerate(value):
            found = _find_foreign_value(item, f"{where}[{index}]")
            if found is not None:
                return found
        return None
    if value is None or type(value) in (str, int, float, bool):
        return None
    return where, value


__all__ = ["YAML_EXCLUDE_METADATA", "YamlConfig", "YamlConfigError"]


def __getattr__(name: str) -> Any:
    """7.2.0's module also holds atomic_write; imported on first use, so loading a config does not load NumPy."""
    if name == "atomic_write":
        from ..processing.write_tools import atomic_write

        return atomic_write
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted({*globals(), "atomic_write"})
