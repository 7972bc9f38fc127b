"""Classifies type annotations for the YAML converter and the round-trip check: union, sequence, mapping, ...

``typing.get_origin`` spells each family several ways (``list`` and ``Sequence``, ``X | Y`` and ``Union``); these
predicates say it once.
"""

from __future__ import annotations

import dataclasses
import types
import typing
from collections.abc import Mapping, MutableMapping, MutableSequence, MutableSet, Sequence
from collections.abc import Set as AbstractSet
from pathlib import PurePath
from typing import Any, Literal

__all__ = [
    "args_or_any",
    "is_dataclass_type",
    "is_literal",
    "is_mapping",
    "is_path",
    "is_sequence",
    "is_set",
    "is_tuple",
    "is_union",
    "origin",
]


def origin(annotation: Any) -> Any:
    """Returns the annotation's origin (``list`` for ``list[int]``), or the annotation itself when it has none."""
    return typing.get_origin(annotation) or annotation


def is_union(annotation: Any) -> bool:
    """Returns whether the annotation is a union (``X | Y`` or ``Union[X, Y]``, ``Optional`` included)."""
    return typing.get_origin(annotation) in (typing.Union, types.UnionType)


def args_or_any(annotation: Any, count: int) -> tuple[Any, ...]:
    """Returns the annotation's arguments, or ``count`` times Any for a bare generic (``list``)."""
    arguments = typing.get_args(annotation)
    return arguments if arguments else (Any,) * count


def is_sequence(annotation: Any) -> bool:
    """Returns whether the annotation is a list-like sequence (list, Sequence, MutableSequence)."""
    return origin(annotation) in (list, Sequence, MutableSequence)


def is_set(annotation: Any) -> bool:
    """Returns whether the annotation is a set (set, frozenset, Set, MutableSet)."""
    return origin(annotation) in (set, frozenset, AbstractSet, MutableSet)


def is_mapping(annotation: Any) -> bool:
    """Returns whether the annotation is a mapping (dict, Mapping, MutableMapping)."""
    return origin(annotation) in (dict, Mapping, MutableMapping)


def is_tuple(annotation: Any) -> bool:
    """Returns whether the annotation is a tuple (fixed-length or ``tuple[X, ...]``)."""
    return origin(annotation) is tuple


def is_literal(annotation: Any) -> bool:
    """Returns whether the annotation is a Literal."""
    return typing.get_origin(annotation) is Literal


def is_dataclass_type(annotation: Any) -> bool:
    """Returns whether the annotation is a dataclass (the class, not an instance)."""
    return isinstance(annotation, type) and dataclasses.is_dataclass(annotation)


def is_path(annotation: Any) -> bool:
    """Returns whether the annotation is a path class (PurePath or a subclass)."""
    return isinstance(annotation, type) and issubclass(annotation, PurePath)
