"""The round-trip check of YamlConfig: finds a value that would not load back as itself (a union's other member).

Only unions can change a value's type on a round trip (the converter's UNION_RULE picks the member by the YAML
value), so only classes whose annotations hold a union of two or more types are walked.
"""

from __future__ import annotations

import dataclasses
import datetime
import itertools
import typing
from collections.abc import Mapping
from typing import Any, NamedTuple

from cattrs import Converter

from .yaml_annotations import is_dataclass_type, is_mapping, is_sequence, is_set, is_tuple, is_union
from .yaml_converter import EXCLUDE_KEY, unstructure, unstructure_set

__all__ = ["LossyValue", "find_lossy_value", "same_exactly"]


class LossyValue(NamedTuple):
    """A value that would not come back as itself after a round trip through YAML."""

    where: str
    """The field path, e.g. ``camera.codecs[1]``."""
    value: Any
    """The value the instance holds."""
    read_back: Any
    """What loading the written value would give (None with ``error`` set when it would fail to load)."""
    annotation: Any
    """The union annotation that makes the value ambiguous."""
    error: str | None = None
    """Why the written value would not load, if it would not."""


def find_lossy_value(instance: Any, converter: Converter) -> LossyValue | None:
    """Returns the first value inside a union field of the dataclass instance that would not load back as itself.

    Only unions can change a value's type on a round trip (UNION_RULE picks the member by the YAML value), so only
    classes whose annotations hold a union of two or more types are walked; for the others this costs one cached
    lookup.

    Raises:
        NameError: If an annotation cannot be resolved.
    """
    if not _has_ambiguous_union(type(instance)):
        return None
    return _walk(instance, type(instance), "", converter)


_HAS_UNION: dict[Any, bool] = {}


def _has_ambiguous_union(annotation: Any) -> bool:
    """Returns whether the annotation holds, at any depth, a union of two or more types besides None (cached)."""
    try:
        known = _HAS_UNION.get(annotation)
    except TypeError:  # an unhashable annotation (a Literal of a list, say): just compute it
        return _annotation_has_union(annotation, set())
    if known is None:
        known = _HAS_UNION[annotation] = _annotation_has_union(annotation, set())
    return known


def _annotation_has_union(annotation: Any, seen: set[Any]) -> bool:
    members = typing.get_args(annotation)
    if is_union(annotation) and len([member for member in members if member is not type(None)]) > 1:
        return True
    if is_dataclass_type(annotation):
        if annotation in seen:
            return False
        seen.add(annotation)
        return any(_annotation_has_union(hint, seen) for hint in _field_hints(annotation).values())
    return any(_annotation_has_union(argument, seen) for argument in members)


_UNION_FIELDS: dict[type, tuple[tuple[str, Any], ...]] = {}


def _union_fields(cls: type) -> tuple[tuple[str, Any], ...]:
    """Returns the (name, annotation) of the written fields whose annotation holds an ambiguous union (cached)."""
    fields = _UNION_FIELDS.get(cls)
    if fields is None:
        hints = _field_hints(cls).items()
        fields = _UNION_FIELDS[cls] = tuple((name, hint) for name, hint in hints if _has_ambiguous_union(hint))
    return fields


_HINTS: dict[type, dict[str, Any]] = {}


def _field_hints(cls: type) -> dict[str, Any]:
    """Returns the resolved annotation of every dataclass field (including init=False fields), in field order."""
    hints = _HINTS.get(cls)
    if hints is None:
        resolved = typing.get_type_hints(cls)
        fields = dataclasses.fields(cls)
        kept = [field.name for field in fields if not field.metadata.get(EXCLUDE_KEY)]
        hints = _HINTS[cls] = {name: resolved[name] for name in kept}
    return hints


def _walk(value: Any, annotation: Any, where: str, converter: Converter) -> LossyValue | None:
    """Checks every union position under value (typed by annotation), depth first, in the order they are written."""
    if value is None or not _has_ambiguous_union(annotation):  # nothing below can change type
        return None
    if is_union(annotation):
        members = [member for member in typing.get_args(annotation) if member is not type(None)]
        if len(members) > 1:
            return _check_union_value(value, annotation, where, converter)
        annotation = members[0]
    if is_dataclass_type(annotation) and dataclasses.is_dataclass(value):
        for name, hint in _union_fields(type(value)):
            found = _walk(getattr(value, name), hint, f"{where}.{name}" if where else name, converter)
            if found is not None:
                return found
        return None
    arguments = typing.get_args(annotation)
    if not arguments:
        return None
    if is_mapping(annotation) and isinstance(value, Mapping):
        key_type, value_type = arguments
        for key, item in value.items():
            found = _walk(key, key_type, f"{where}[{key!r}] (key)", converter) or _walk(
                item, value_type, f"{where}[{key!r}]", converter
            )
            if found is not None:
                return found
        return None
    if is_tuple(annotation) and isinstance(value, tuple) and not (len(arguments) == 2 and arguments[1] is Ellipsis):
        item_types: typing.Iterable[Any] = arguments
    elif (is_sequence(annotation) or is_set(annotation) or is_tuple(annotation)) and isinstance(
        value, (list, tuple, set, frozenset)
    ):
        item_types = itertools.repeat(arguments[0])
    else:
        return None
    items = unstructure_set(value) if isinstance(value, (set, frozenset)) else value
    for index, (item, item_type) in enumerate(zip(items, item_types, strict=False)):  # item_types may be endless
        found = _walk(item, item_type, f"{where}[{index}]", converter)
        if found is not None:
            return found
    return None


def _check_union_value(value: Any, annotation: Any, where: str, converter: Converter) -> LossyValue | None:
    """Round-trips one value held by a union field through its YAML form and compares the result exactly."""
    try:
        read_back = converter.structure(unstructure(value), annotation)  # the value as to_yaml writes it
    except Exception as error:  # any failure means the value would not load back
        return LossyValue(where, value, None, annotation, str(error) or type(error).__name__)
    if same_exactly(read_back, value):
        return None
    return LossyValue(where, value, read_back, annotation)


_PLAIN_TYPES = frozenset((str, int, float, bool, type(None)))


def same_exactly(first: Any, second: Any) -> bool:
    """Returns whether two values are equal and of exactly the same types, recursively (NaN equals NaN)."""
    if type(first) is not type(second):
        return False
    if type(first) in _PLAIN_TYPES:
        return bool(first == second or (first != first and second != second))  # noqa: PLR0124 - NaN equals NaN here
    if isinstance(first, (list, tuple)):
        return len(first) == len(second) and all(same_exactly(a, b) for a, b in zip(first, second, strict=True))
    if isinstance(first, dict):
        return len(first) == len(second) and all(
            same_exactly(key_a, key_b) and same_exactly(item_a, item_b)
            for (key_a, item_a), (key_b, item_b) in zip(first.items(), second.items(), strict=True)
        )
    if isinstance(first, (set, frozenset)):
        return first == second and {type(item) for item in first} == {type(item) for item in second}
    if dataclasses.is_dataclass(first) and not isinstance(first, type):
        return all(
            same_exactly(getattr(first, field.name), getattr(second, field.name)) for field in dataclasses.fields(first)
        )
    if isinstance(first, float) and first != first and second != second:  # noqa: PLR0124 - NaN
        return True
    if isinstance(first, datetime.datetime) and first.utcoffset() != second.utcoffset():
        return False
    return bool(first == second)
