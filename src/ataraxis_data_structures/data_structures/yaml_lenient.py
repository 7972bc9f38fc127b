"""Release-compatible loading: what ``from_yaml`` builds, value by value, when the strict hooks refuse a value.

Both releases load a file without checking types: a value goes into its field as YAML parsed it, keys the class
does not have are ignored, mappings become the annotated dataclasses (the first dataclass member of a union), a
field annotated ``X | None`` without a default that the file lacks gets None, and Enum and Path fields are
converted by calling the type, which raises for a value it cannot take (``'av1'`` for an Enum, ``5`` or ``null``
for a non-optional Path): those stay errors here too, as does a missing required field (one that does not allow
None).
:func:`structure_leniently` does the same, except that every value the strict hooks accept keeps the hook's result
(Enum members, Paths, tuples, nested dataclasses, dates ...), and it records each value that did not match its
annotation, each ignored key and each missing field given None, for the loader to warn about.

It runs only after the fast converter failed, so it may be slow: it retries the hook of each value and walks down
only where a hook fails. A dataclass is built here field by field (never through its generated hook), unless the
converter already built it from the same mapping, so that its ``__post_init__`` runs once, as in the releases; an
error that a class's own code raised inside a hook is re-raised as it is, not retried.
"""

from __future__ import annotations

import dataclasses
import enum
import typing
from collections.abc import Mapping, MutableMapping, MutableSequence, MutableSet, Sequence
from collections.abc import Set as AbstractSet
from pathlib import PurePath
from typing import Any, NamedTuple

from .yaml_converter import BuildRecord, describe_type
from .yaml_errors import missing_field

__all__ = ["Failure", "IgnoredKeys", "LenientResult", "Mismatch", "Path_", "structure_leniently"]

if typing.TYPE_CHECKING:
    from cattrs import Converter

Path_ = tuple[str | int, ...]
"""Where a value sits: field names, mapping keys and list indexes from the top-level mapping down."""


class Mismatch(NamedTuple):
    """A value that does not match its annotation and was loaded as the releases load it."""

    path: Path_
    value: Any
    """The value as YAML parsed it."""
    expected: str
    """What the annotation asks for, e.g. ``int`` or ``a list of 2 items (tuple[int, int])``."""
    loaded: Any
    """What the field (or item) now holds."""


class IgnoredKeys(NamedTuple):
    """Keys of a mapping that match no field of the dataclass it was loaded as."""

    path: Path_
    class_name: str
    keys: tuple[Any, ...]
    valid: tuple[str, ...]


class Failure(NamedTuple):
    """A value that the releases refuse too (an invalid Enum value, a non-string Path, a missing required field)."""

    path: Path_
    message: str
    locate: str = "value"
    """How to find its line: "value" (the node at path) or "parent" (the mapping that lacks the field)."""
    type_error: bool = False
    """Whether the releases raise a TypeError here (a Path from a non-string) rather than a ValueError."""
    field_path: str | None = None
    """For a missing required field: its path as the releases name it (field names only, e.g. ``nodes.value``)."""
    words: str | None = None
    """For a value the Enum or Path refuses: the type's own message, the one the releases raise."""


class LenientResult(NamedTuple):
    """The instance (None when there are failures) and what the loader reports, each in the order of the fields."""

    instance: Any
    mismatches: list[Mismatch]
    ignored: list[IgnoredKeys]
    failures: list[Failure]
    defaulted: list[Path_]
    """Fields annotated ``X | None`` without a default that the file lacks: given None, as the releases do."""


def structure_leniently(
    data: dict[Any, Any], cls: type, converter: Converter, record: BuildRecord, *, report_keys: bool
) -> LenientResult:
    """Builds ``cls`` from the loaded mapping as the releases do, keeping every conversion the strict hooks make.

    Args:
        data: The top-level mapping of the file.
        cls: The dataclass to build.
        converter: The lenient converter whose hooks are tried first for every value.
        record: What the converter already built from parts of data (reused, not built again) and the error a
            class's own code raised, if any (re-raised, not retried).
        report_keys: Whether ignored keys are recorded (False when the caller asked to skip them silently).

    Returns:
        The result; ``instance`` is None if ``failures`` is not empty.
    """
    walker = _Walker(converter, record, report_keys=report_keys)
    instance = walker.dataclass(data, cls, ())
    failures = walker.failures
    return LenientResult(None if failures else instance, walker.mismatches, walker.ignored, failures, walker.defaulted)


_HINTS: dict[type, dict[str, Any]] = {}


def _hints(cls: type) -> dict[str, Any]:
    hints = _HINTS.get(cls)
    if hints is None:
        hints = _HINTS[cls] = typing.get_type_hints(cls)
    return hints


def _is_dataclass(annotation: Any) -> bool:
    return isinstance(annotation, type) and dataclasses.is_dataclass(annotation)


def _field_names(cls: type) -> set[str]:
    return {field.name for field in dataclasses.fields(cls)}


def _required(field: dataclasses.Field[Any]) -> bool:
    return field.init and field.default is dataclasses.MISSING and field.default_factory is dataclasses.MISSING


def _allows_none(annotation: Any) -> bool:
    """Returns whether the annotation is a union with None (``X | None``, ``Optional[X]``).

    The releases give such a field None when the file lacks it, default or not; ``Any`` is not one (they raise).
    """
    origin = typing.get_origin(annotation)
    return origin in (typing.Union, _UnionType) and type(None) in typing.get_args(annotation)


class _Walker:
    def __init__(self, converter: Converter, record: BuildRecord, *, report_keys: bool) -> None:
        self._converter = converter
        self._record = record
        self._report_keys = report_keys
        self._fields: list[str] = []
        """The field names from the top level down to the value being loaded (the releases' field path)."""
        self.mismatches: list[Mismatch] = []
        self.ignored: list[IgnoredKeys] = []
        self.failures: list[Failure] = []
        self.defaulted: list[Path_] = []

    def value(self, value: Any, annotation: Any, path: Path_) -> Any:
        """Returns the value the strict hook gives, or else what the releases give (recording why)."""
        if _is_dataclass(annotation):
            return self.dataclass(value, annotation, path)
        try:
            return self._converter.get_structure_hook(annotation)(value, annotation)
        except Exception as error:  # any refusal: the cases below say what the releases make of the value
            if self._record.raised_by_class_code(error):  # a class's own check: building it again would repeat it
                raise
        origin = typing.get_origin(annotation) or annotation
        if origin in (typing.Union, _UnionType):
            return self._union(value, annotation, path)
        if isinstance(annotation, type) and issubclass(annotation, (enum.Enum, PurePath)):
            return self._called(value, annotation, path)
        if origin is tuple:
            return self._tuple(value, annotation, path)
        if origin in _SEQUENCES or origin in _SETS:
            return self._collection(value, annotation, path)
        if origin in _MAPPINGS:
            return self._mapping(value, annotation, path)
        return self._as_parsed(value, annotation, path)

    def _as_parsed(self, value: Any, annotation: Any, path: Path_, expected: str | None = None) -> Any:
        self.mismatches.append(Mismatch(path, value, expected or describe_type(annotation), value))
        return value

    def dataclass(self, value: Any, cls: type, path: Path_) -> Any:
        """Builds a dataclass from a mapping field by field; any other value is kept as parsed."""
        if type(value) is not dict:
            if type(value) is cls:  # supplied by a restore_excluded_fields hook
                return value
            return self._as_parsed(value, cls, path, f"a mapping of {cls.__name__} fields")
        done = self._record.instances.get((id(value), cls))
        if done is not None and done[0] is value:  # built by the strict hooks before a later value failed
            return done[1]
        fields = dataclasses.fields(cls)
        hints = _hints(cls)
        names = {field.name for field in fields}
        extra = tuple(key for key in value if key not in names)
        if extra and self._report_keys:
            self.ignored.append(IgnoredKeys(path, cls.__name__, extra, tuple(field.name for field in fields)))
        arguments: dict[str, Any] = {}
        later: dict[str, Any] = {}
        missing = False
        for field in fields:
            if field.name in value:
                self._fields.append(field.name)
                loaded = self.value(value[field.name], hints[field.name], (*path, field.name))
                self._fields.pop()
                (arguments if field.init else later)[field.name] = loaded
            elif not _required(field):
                continue
            elif _allows_none(hints[field.name]):  # as the releases: None, which the annotation allows
                arguments[field.name] = None
                self.defaulted.append((*path, field.name))
            else:
                field_path = ".".join((*self._fields, field.name))
                message = missing_field(cls, field.name)
                self.failures.append(Failure((*path, field.name), message, "parent", field_path=field_path))
                missing = True
        if missing or self.failures:  # the instance will not be returned: do not run the class's code for nothing
            return None
        try:
            instance = cls(**arguments)
        except Exception as error:  # the class's own code (its __post_init__ checks): the caller gets it as it is
            self._record.class_error = error
            raise
        for name, loaded in later.items():  # init=False fields are written, so they are restored (as the releases do)
            object.__setattr__(instance, name, loaded)
        return instance

    def _union(self, value: Any, annotation: Any, path: Path_) -> Any:
        members = [member for member in typing.get_args(annotation) if member is not type(None)]
        if len(members) == 1:  # Optional[X] loads a value as X does, in both releases
            return self.value(value, members[0], path)
        classes = [member for member in members if _is_dataclass(member)]
        if type(value) is dict and classes:
            # The releases build the first dataclass member (dropping keys it lacks); the first one that has every
            # key loses nothing, so it is preferred.
            fitting = [member for member in classes if set(value) <= _field_names(member)]
            return self.dataclass(value, (fitting or classes)[0], path)
        return self._as_parsed(value, annotation, path)

    def _called(self, value: Any, annotation: type, path: Path_) -> Any:
        """Enum and Path: the releases call the type, which takes some values the hook refuses (true for 1)."""
        try:
            loaded = annotation(value)
        except Exception as error:  # the releases raise here too
            refusal = _refusal(annotation, value, error)
            self.failures.append(Failure(path, refusal, type_error=isinstance(error, TypeError), words=str(error)))
            return None
        self.mismatches.append(Mismatch(path, value, describe_type(annotation), loaded))
        return loaded

    def _tuple(self, value: Any, annotation: Any, path: Path_) -> Any:
        if type(value) is not list:
            return self._as_parsed(value, annotation, path, f"a list ({describe_type(annotation)})")
        arguments = typing.get_args(annotation)
        fixed: tuple[Any, ...] | None = None
        if not arguments or (len(arguments) == 2 and arguments[1] is Ellipsis):
            item_types: list[Any] = [arguments[0] if arguments else Any] * len(value)
        else:
            fixed = () if arguments == ((),) else arguments
            item_types = [fixed[index] if index < len(fixed) else Any for index in range(len(value))]
        pairs = enumerate(zip(value, item_types, strict=True))
        loaded = tuple([self.value(item, item_type, (*path, index)) for index, (item, item_type) in pairs])
        if fixed is not None and len(value) != len(fixed):  # the releases keep every item
            expected = f"a list of {len(fixed)} items ({describe_type(annotation)})"
            self.mismatches.append(Mismatch(path, value, expected, loaded))
        return loaded

    def _collection(self, value: Any, annotation: Any, path: Path_) -> Any:
        if type(value) is not list:
            return self._as_parsed(value, annotation, path, f"a list ({describe_type(annotation)})")
        arguments = typing.get_args(annotation)
        item_type = arguments[0] if arguments else Any
        items = [self.value(item, item_type, (*path, index)) for index, item in enumerate(value)]
        origin = typing.get_origin(annotation) or annotation
        if origin in _SETS:
            try:
                return frozenset(items) if origin is frozenset else set(items)
            except TypeError:  # an item kept as parsed is a list or mapping: keep the list, as the releases do
                return items
        return items

    def _mapping(self, value: Any, annotation: Any, path: Path_) -> Any:
        if type(value) is not dict:
            return self._as_parsed(value, annotation, path, f"a mapping ({describe_type(annotation)})")
        arguments = typing.get_args(annotation)
        key_type, item_type = arguments if arguments else (Any, Any)
        return {
            self.value(key, key_type, (*path, key)): self.value(item, item_type, (*path, key))
            for key, item in value.items()
        }


def _refusal(annotation: type, value: Any, error: Exception) -> str:
    if issubclass(annotation, enum.Enum):
        valid = ", ".join(repr(member.value) for member in annotation)
        return f"expected one of {valid} ({annotation.__name__}), got {value!r}"
    return f"expected a path string ({annotation.__name__}), got {value!r} ({error})"


_UnionType = type(int | str)
_SEQUENCES = frozenset((list, Sequence, MutableSequence))
_SETS = frozenset((set, frozenset, AbstractSet, MutableSet))
_MAPPINGS = frozenset((dict, Mapping, MutableMapping))
