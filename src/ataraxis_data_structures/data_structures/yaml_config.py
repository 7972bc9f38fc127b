"""YamlConfig: a dataclass base that saves itself to a readable YAML file and loads back with full type fidelity."""

from __future__ import annotations

import dataclasses
import os
import warnings
from collections.abc import Callable, Mapping
from pathlib import Path
from types import MappingProxyType
from typing import Any, ClassVar, Self, TypeVar

import yaml
from cattrs.errors import StructureHandlerNotFoundError

from .._durable_files import write_text_atomically
from .yaml_converter import (
    EXCLUDE_KEY,
    UNION_RULE,
    BuildRecord,
    describe_type,
    get_converter,
    record_builds,
    register_yaml_type,
    unstructure,
)
from .yaml_errors import (
    Problem,
    YamlConfigError,
    YamlConfigWarning,
    dotted_path,
    line_finder,
    not_a_mapping,
    problems_error,
    structure_error,
    syntax_error,
)
from .yaml_lenient import LenientResult, structure_leniently
from .yaml_roundtrip import LossyValue, find_lossy_value
from .yaml_text import dump_document, load_document

_EXTENSIONS = (".yaml", ".yml")
_Entry = TypeVar("_Entry")

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

        Loading is as forgiving as the reference releases: a value that does not match its annotation is loaded as
        they load it and a key that matches no field is ignored, each with a :class:`YamlConfigWarning`. Set the
        class attribute ``yaml_strict: ClassVar[bool] = True`` (or pass ``strict=True``) to make both errors.
    """

    yaml_strict: ClassVar[bool] = False
    """Whether from_yaml and to_yaml of this class raise where they would otherwise warn (``strict=None``)."""

    def to_yaml(self, file_path: Path, *, strict: bool | None = None) -> None:
        """Saves the instance's data as the specified .yaml (YAML) file.

        Notes:
            Path fields are serialized as strings, Enum fields as their raw values, and tuples as lists. This keeps
            YAML files human-readable while preserving full type fidelity on round-trip via from_yaml(). Missing
            parent directories are created, and the file is replaced atomically.

            A union field holding a value that would load back as another type (the ``str`` ``'h264'`` in
            ``str | Codec``) is written with a YamlConfigWarning naming the field, as the releases write it.

        Args:
            file_path: The path to the .yaml file to write.
            strict: Whether such a union value is a TypeError instead of a warning (None: the class's
                ``yaml_strict``).

        Raises:
            ValueError: If the file_path does not point to a file with a '.yaml' or '.yml' extension.
            TypeError: If the instance is not a dataclass, a field holds a value that has no YAML form, or (when
                strict) a union field holds a value that would load back as another type.
            OSError: If the file cannot be written (a full disk or quota included); the message names the file and
                the previous file is intact.
        """
        path = _checked_path(file_path, "write the dataclass instance to")
        _require_dataclass(type(self))
        strict = self._strict(strict)
        converter = get_converter(forbid_extra_keys=True, detailed=False, lenient=not strict)
        try:
            data = unstructure(self)
            lossy = find_lossy_value(self, converter)
        except NameError as error:
            raise _unresolved_annotation(type(self), error) from error
        if lossy is not None:
            if strict:
                raise TypeError(_lossy(path, lossy, "Unable to write"))
            warnings.warn(_lossy(path, lossy, "Writing"), YamlConfigWarning, stacklevel=2)
        try:
            text = dump_document(data)
        except yaml.YAMLError as error:
            raise _unrepresentable(path, data, error) from error
        write_text_atomically(path, text)

    @classmethod
    def from_yaml(cls, file_path: Path, *, ignore_unknown_keys: bool = False, strict: bool | None = None) -> Self:
        """Instantiates the class using the data loaded from the provided .yaml (YAML) file.

        Notes:
            Deserialization automatically converts YAML-native types back to the annotated Python types: strings to
            Path instances, raw values to Enum members, and lists to tuples where applicable. Each value is checked
            against its annotation (an int is a valid float). One that does not match is loaded as the reference
            releases load it (mostly as YAML parsed it) with a YamlConfigWarning per field; keys that match no field
            are ignored with a YamlConfigWarning naming them. Fields of types the converter does not know (NumPy
            arrays, third-party classes; see register_yaml_type) get the value as YAML parsed it.

        Args:
            file_path: The path to the .yaml file that stores the instance's data.
            ignore_unknown_keys: Whether to skip keys that match no field silently (no warning, and no error when
                strict).
            strict: Whether every value must match its annotation and every key a field, as a YamlConfigError
                listing each problem (None: the class's ``yaml_strict``).

        Returns:
            A new class instance that stores the data read from the .yaml file.

        Raises:
            ValueError: If the provided file path does not point to a .yaml or .yml file. A YamlConfigError (a
                ValueError) if the file is not valid YAML, its top level is not a mapping, a required field is
                missing, an Enum or Path field holds a value the type refuses (as in both releases; a Path from a
                non-string is also a TypeError, as there), or (when strict) a value does not fit its field; the
                message names the file and, for each problem, the field path and line.
            TypeError: When strict, if a field's type has no YAML conversion (see register_yaml_type).
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
        # Every attempt below records what it builds, so that none runs a class's __post_init__ again, and an error
        # of a class's own code (its __post_init__ checks) reaches the caller at once, as in the releases.
        record = BuildRecord()
        previous = record_builds(record)
        try:
            if not cls._strict(strict):
                return cls._load_leniently(path, text, data, record, forbid_extra_keys=forbid)
            return cls._load_strictly(path, text, data, record, forbid_extra_keys=forbid)
        finally:
            record_builds(previous)

    @classmethod
    def _load_strictly(
        cls, path: Path, text: str, data: dict[Any, Any], record: BuildRecord, *, forbid_extra_keys: bool
    ) -> Self:
        """Builds the instance with the strict hooks, or raises the error that lists every problem."""
        try:
            return get_converter(forbid_extra_keys=forbid_extra_keys, detailed=False).structure(data, cls)
        except Exception as error:  # the detailed converter below says what failed where
            if record.raised_by_class_code(error):  # the class's own check: the caller gets it as it is
                raise
            _raise_if_unresolved(cls, error)
        try:
            instance = get_converter(forbid_extra_keys=forbid_extra_keys, detailed=True).structure(data, cls)
        except StructureHandlerNotFoundError as error:
            message = (
                f"Unable to load {path} as {cls.__name__} in strict mode: {describe_type(error.type_)} has no YAML "
                f"conversion. Register one with register_yaml_type(), or load without strict=True (such a field "
                f"then gets the value as YAML parsed it, as in the reference releases)."
            )
            raise TypeError(message) from error
        except (ExceptionGroup, ValueError, KeyError, TypeError) as error:
            raise structure_error(path, text, error, cls.__name__) from error
        return instance

    @classmethod
    def _load_leniently(
        cls, path: Path, text: str, data: dict[Any, Any], record: BuildRecord, *, forbid_extra_keys: bool
    ) -> Self:
        """Builds the instance with the strict hooks, or where they fail, as the releases do (with warnings)."""
        converter = get_converter(forbid_extra_keys=forbid_extra_keys, detailed=False, lenient=True)
        try:
            return converter.structure(data, cls)
        except Exception as error:  # the release-compatible pass below takes over, reusing what was built
            if record.raised_by_class_code(error):  # the class's own check: the caller gets it as it is
                raise
            _raise_if_unresolved(cls, error)
        try:
            result = structure_leniently(data, cls, converter, record, report_keys=forbid_extra_keys)
        except NameError as error:
            if record.raised_by_class_code(error):
                raise
            raise _unresolved_annotation(cls, error) from error
        return _accept(path, text, result, cls.__name__)  # type: ignore[no-any-return]

    @classmethod
    def _strict(cls, strict: bool | None) -> bool:
        return bool(cls.yaml_strict) if strict is None else strict

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


def _raise_if_unresolved(cls: type, error: Exception) -> None:
    """Raises the TypeError for an annotation that cannot be resolved; returns for any other error."""
    if isinstance(error, NameError):
        raise _unresolved_annotation(cls, error) from error


def _unresolved_annotation(cls: type, error: NameError) -> TypeError:
    """Returns the error for annotations that cannot be evaluated, typically a class defined inside a function."""
    message = (
        f"Unable to resolve the field annotations of {cls.__name__} ({error}). With 'from __future__ import "
        f"annotations', every class named in an annotation must be importable from the module's global scope."
    )
    return TypeError(message)


def _accept(path: Path, text: str, result: LenientResult, class_name: str) -> Any:
    """Returns the leniently built instance after warning about what it took, or raises for what it could not."""
    if result.failures:
        problems = [
            Problem(
                failure.path, failure.message, failure.locate, failure.field_path, failure.type_error, failure.words
            )
            for failure in result.failures
        ]
        raise problems_error(path, text, problems, class_name)
    line = line_finder(text)
    for ignored in result.ignored:
        keys = ", ".join(repr(key) for key in ignored.keys)
        where = dotted_path(ignored.path) or "the top level"
        at = line((*ignored.path, ignored.keys[0]), "key")
        message = (
            f"{path}: ignored {'key' if len(ignored.keys) == 1 else 'keys'} {keys} at {where}{_line_text(at)}: not "
            f"fields of {ignored.class_name} (valid keys: {', '.join(ignored.valid)}). Pass ignore_unknown_keys=True "
            f"to skip them silently."
        )
        warnings.warn(message, YamlConfigWarning, stacklevel=4)  # the caller of from_yaml
    messages: list[tuple[int, str]] = []
    for group in _by_field(result.mismatches, lambda mismatch: mismatch.path):
        first = group[0]
        at = line(first.path, "value")
        loaded = "kept as parsed" if first.loaded is first.value else f"loaded as {first.loaded!r}"
        message = (
            f"{path}: field '{dotted_path(first.path)}'{_line_text(at)} holds {first.value!r} "
            f"({type(first.value).__name__}), expected {first.expected}; {loaded}, as the reference releases load "
            f"it{_more(group, 'values in this field')}. from_yaml(..., strict=True) refuses it."
        )
        messages.append((at or 0, message))
    for defaulted in _by_field(result.defaulted, lambda field_path: field_path):
        at = line(defaulted[0], "parent")
        message = (
            f"{path}: field '{dotted_path(defaulted[0])}'{_line_text(at)} is missing and has no default; set to None "
            f"(its annotation allows None), as the reference releases set it{_more(defaulted, 'mappings lack it')}. "
            f"from_yaml(..., strict=True) refuses it."
        )
        messages.append((at or 0, message))
    messages.sort(key=lambda entry: entry[0])  # in the order of the file
    for _, message in messages:
        warnings.warn(message, YamlConfigWarning, stacklevel=4)  # the caller of from_yaml
    return result.instance


def _line_text(line: int | None) -> str:
    return f" (line {line})" if line is not None else ""


def _by_field(entries: list[_Entry], path_of: Callable[[_Entry], tuple[str | int, ...]]) -> list[list[_Entry]]:
    """Groups entries by field: the path without list indexes (one warning per field), in the order met."""
    groups: dict[tuple[str | int, ...], list[_Entry]] = {}
    for entry in entries:
        key = tuple(part for part in path_of(entry) if not (isinstance(part, int) and not isinstance(part, bool)))
        groups.setdefault(key, []).append(entry)
    return list(groups.values())


def _more(group: list[Any], things: str) -> str:
    return f" (and {len(group) - 1} more {things})" if len(group) > 1 else ""


def _lossy(path: Path, lossy: LossyValue, action: str) -> str:
    """Returns the message for a union field value that would not load back as itself."""
    union = describe_type(lossy.annotation)
    held = f"field '{lossy.where}' holds {lossy.value!r} ({type(lossy.value).__name__})"
    if lossy.error is not None:
        outcome = f"which would not load back as {union} ({lossy.error})"
    else:
        outcome = f"which would load back as {lossy.read_back!r} ({type(lossy.read_back).__name__})"
    return (
        f"{action} {path}: {held}, {outcome}: {UNION_RULE}. Store a value of the type the file reads back, "
        f"or change the annotation."
    )


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


__all__ = ["YAML_EXCLUDE_METADATA", "YamlConfig", "YamlConfigError", "YamlConfigWarning", "register_yaml_type"]


def __getattr__(name: str) -> Any:
    """7.2.0's module also holds atomic_write; imported on first use, so loading a config does not load NumPy."""
    if name == "atomic_write":
        from ..processing.write_tools import atomic_write

        return atomic_write
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted({*globals(), "atomic_write"})
