"""The cattrs converters that turn YamlConfig dataclasses into YAML-native data and back, strictly by annotation.

The hooks are strict: a hand-edited ``fps: fast`` fails the hook, so that the caller learns of it. Each scalar
type accepts only its own YAML type (an ``int`` is also accepted where a ``float`` is expected, and kept an ``int``
as both releases keep it), each container only its own YAML collection, each Enum only one of its values. What a
failure means is the loader's choice: an error in strict mode, a warning and the releases' value otherwise
(``yaml_lenient``). cattrs builds the hook of every class and annotation once and caches it, so after the first
call a conversion runs generated code only.

Flavours, each built once: ``forbid_extra_keys`` on or off; ``detailed`` (collects every problem with its field
path; the strict loader runs it only after the fast one failed); ``lenient`` (types the converter does not know,
such as NumPy arrays or third-party classes, take the value as YAML parsed it instead of failing).
Users add their own types with :func:`register_yaml_type`, which every flavour applies.

The annotation predicates the hooks are chosen by are ``yaml_annotations``; the round-trip check that finds a value
which would not load back as itself is ``yaml_roundtrip``.
"""

from __future__ import annotations

import contextlib
import dataclasses
import datetime
import enum
import functools
import threading
import types
import typing
from collections.abc import Callable, Mapping, Sequence
from collections.abc import Set as AbstractSet
from pathlib import Path, PurePath
from typing import Any, Literal, NamedTuple

from cattrs import Converter
from cattrs.errors import IterableValidationError, IterableValidationNote
from cattrs.gen import make_dict_structure_fn, make_dict_unstructure_fn, override

from .yaml_annotations import (
    args_or_any,
    is_dataclass_type,
    is_literal,
    is_mapping,
    is_path,
    is_sequence,
    is_set,
    is_tuple,
    is_union,
    origin,
)

_SCALAR_NAMES: dict[type, str] = {int: "int", float: "float", str: "str", bool: "bool"}
_ISO_DATE_LENGTH = 10  # YYYY-MM-DD


def describe_type(annotation: Any) -> str:
    """Returns a short human-readable name of a type annotation, e.g. ``int``, ``list[Path]`` or ``int | None``."""
    if isinstance(annotation, type) and not typing.get_args(annotation):
        return annotation.__name__
    text = repr(annotation).replace("typing.", "").replace("pathlib.", "")
    return text.replace("NoneType", "None")


def _wrong_value(expected: str, value: Any) -> ValueError:
    """Returns the error raised for a YAML value that does not fit its annotation."""
    return ValueError(f"expected {expected}, got {value!r}")


# cattrs dispatches classes by MRO, so the int, float and str hooks also receive their subclasses: IntEnum, StrEnum,
# `class X(str, Enum)` and user subclasses. Those take the slower `_structure_subclass` route.


def _structure_int(value: Any, annotation: Any) -> int:
    if annotation is not int:
        return _structure_subclass(value, annotation, int)  # type: ignore[no-any-return]
    if type(value) is int:
        return value
    raise _wrong_value("int", value)


def _structure_float(value: Any, annotation: Any) -> float:
    if annotation is not float:
        return _structure_subclass(value, annotation, float)  # type: ignore[no-any-return]
    value_type = type(value)
    if value_type is float or value_type is int:  # int is a float by the numeric tower; both releases keep it int
        return value  # type: ignore[no-any-return]
    raise _wrong_value("float", value)


def _structure_str(value: Any, annotation: Any) -> str:
    if annotation is not str:
        return _structure_subclass(value, annotation, str)  # type: ignore[no-any-return]
    if type(value) is str:
        return value
    raise _wrong_value("str (quote values that YAML reads as numbers, booleans or dates)", value)


def _structure_bool(value: Any, _: Any) -> bool:
    if type(value) is bool:
        return value
    raise _wrong_value("bool (true or false)", value)


def _structure_subclass(value: Any, annotation: Any, base: type) -> Any:
    """Structures a value annotated with an Enum or with a subclass of int, float or str."""
    if isinstance(annotation, type) and issubclass(annotation, enum.Enum):
        return _cached_enum_hook(annotation)(value, annotation)
    plain = {int: _structure_int, float: _structure_float, str: _structure_str}[base](value, base)
    return annotation(plain)


def _structure_enum(value: Any, annotation: Any) -> Any:
    return _cached_enum_hook(annotation)(value, annotation)


def _structure_none(value: Any, _: Any) -> None:
    if value is None:
        return None
    raise _wrong_value("null", value)


def _structure_any(value: Any, _: Any) -> Any:
    return value


def _structure_path(value: Any, annotation: Any) -> PurePath:
    """Builds a Path (or the annotated PurePath subclass) from a YAML string."""
    if type(value) is str:
        return annotation(value)  # type: ignore[no-any-return]
    if isinstance(value, annotation):  # supplied by a restore_excluded_fields hook
        return typing.cast(PurePath, value)
    raise _wrong_value(f"a path string ({annotation.__name__})", value)


def _structure_datetime(value: Any, _: Any) -> datetime.datetime:
    """Builds a datetime from a YAML timestamp (or a quoted ISO 8601 string written by hand)."""
    if type(value) is datetime.datetime:
        return value
    if type(value) is str:
        with contextlib.suppress(ValueError):
            return datetime.datetime.fromisoformat(value)
    raise _wrong_value("a date and time (ISO 8601, e.g. 2024-05-01 13:45:00)", value)


def _structure_date(value: Any, _: Any) -> datetime.date:
    """Builds a date from a YAML date (or a quoted ISO 8601 string written by hand); a date and time is refused."""
    if type(value) is datetime.date:
        return value
    if type(value) is str and len(value) == _ISO_DATE_LENGTH:
        with contextlib.suppress(ValueError):
            return datetime.date.fromisoformat(value)
    raise _wrong_value("a date (ISO 8601, e.g. 2024-05-01)", value)


def _structure_time(value: Any, _: Any) -> datetime.time:
    """Builds a time of day from its ISO 8601 string; YAML has no time type, so it is written as a string."""
    if type(value) is str:
        with contextlib.suppress(ValueError):
            return datetime.time.fromisoformat(value)
    raise _wrong_value("a time of day (ISO 8601 string, e.g. '13:45:00')", value)


def _unstructure_time(value: datetime.time) -> str:
    return value.isoformat()


@functools.cache
def _cached_enum_hook(enum_type: type[enum.Enum]) -> Callable[[Any, Any], enum.Enum]:
    return _enum_hook(enum_type)


def _enum_hook(enum_type: type[enum.Enum]) -> Callable[[Any, Any], enum.Enum]:
    """Returns the hook that maps a raw YAML value to its Enum member, listing the valid values on a mismatch.

    The YAML value must have the exact type of the member's value: 2.0 is not IntEnum member 2 and true is not 1.
    A Flag also accepts any combination of its members (IntFlag.A | IntFlag.C is written as 5).
    """
    members = {member.value: member for member in enum_type}
    flag_mask = _flag_mask(enum_type)

    def structure_enum(value: Any, _: Any) -> enum.Enum:
        try:
            member = members[value]
        except (KeyError, TypeError):
            if isinstance(value, enum_type):
                return value
            if flag_mask is not None and type(value) is int and value >= 0 and value & ~flag_mask == 0:
                return enum_type(value)
            raise _invalid_member(enum_type, value) from None
        if type(member._value_) is not type(value):
            raise _invalid_member(enum_type, value)
        return member

    return structure_enum


def _flag_mask(enum_type: type[enum.Enum]) -> int | None:
    """Returns the bits a Flag's members cover (None for other Enums and for Flags of non-integer values)."""
    if not issubclass(enum_type, enum.Flag):
        return None
    mask = 0
    for member in enum_type.__members__.values():
        if type(member._value_) is not int:
            return None
        mask |= member._value_
    return mask


def _literal_hook(annotation: Any) -> Callable[[Any, Any], Any]:
    """Returns the hook that accepts exactly one of a Literal's values (True is not accepted for 1)."""
    allowed = {(type(value), value) for value in typing.get_args(annotation)}
    expected = "one of " + ", ".join(repr(value) for value in typing.get_args(annotation))

    def structure_literal(value: Any, _: Any) -> Any:
        try:
            if (type(value), value) in allowed:
                return value
        except TypeError:  # an unhashable value (a list or mapping) is never a Literal value
            pass
        raise _wrong_value(expected, value)

    return structure_literal


def _invalid_member(enum_type: type[enum.Enum], value: Any) -> ValueError:
    valid = ", ".join(repr(member.value) for member in enum_type)
    combined = " or a combination of them" if _flag_mask(enum_type) is not None else ""
    return ValueError(f"expected one of {valid}{combined} ({enum_type.__name__}), got {value!r}")


def _enum_value(member: enum.Enum) -> Any:
    return member.value


UNION_RULE = (
    "a union reads a YAML value as the first of its Enum, Path, date and time members that accepts it (in the "
    "order they are written), then as the member of exactly the value's own YAML type (str, int, float, bool), "
    "then as the first other member that accepts it"
)
"""How a union annotation picks the type of a loaded value; the same rule as both reference releases."""


def _is_specific(annotation: Any) -> bool:
    """Returns whether a union member is one that a plain YAML scalar stands for (Enum, Path, date, time, Literal)."""
    if typing.get_origin(annotation) is Literal or annotation in _USER_TYPES:
        return True
    return isinstance(annotation, type) and issubclass(annotation, (enum.Enum, PurePath, datetime.date, datetime.time))


EXCLUDE_KEY = "yaml_exclude"
"""The dataclass field metadata key that keeps a field out of the YAML file (see YAML_EXCLUDE_METADATA)."""


def excluded_fields(cls: type) -> tuple[str, ...]:
    """Returns the names of the dataclass's fields whose metadata excludes them from the YAML file."""
    return tuple(field.name for field in dataclasses.fields(cls) if field.metadata.get(EXCLUDE_KEY))


class BuildRecord:
    """What the converters did during one ``from_yaml`` call, so that no later attempt repeats the class's code.

    A load may take several attempts (the fast converter, then the detailed one or the release-compatible pass of
    ``yaml_lenient``); each would otherwise build the nested dataclasses again and run their ``__post_init__`` once
    more. The record lets every attempt reuse what an earlier one built, and tells the loader when an attempt
    failed because a class's own code raised (its ``__init__``, ``__post_init__`` or a default factory), which no
    other attempt would change: that error then reaches the caller at once, as in the releases.
    """

    __slots__ = ("class_error", "instances")

    def __init__(self) -> None:
        self.instances: dict[tuple[int, Any], tuple[Any, Any]] = {}
        """(id of a mapping, dataclass) -> (the mapping, the instance built from it); classes with a __post_init__."""
        self.class_error: BaseException | None = None
        """The last exception raised by a dataclass's own code while it was built from a file's values."""

    def raised_by_class_code(self, error: BaseException) -> bool:
        """Returns whether the error came from a dataclass's own code (to be re-raised as it is, not retried)."""
        return error is self.class_error


_BUILT = threading.local()


def record_builds(record: BuildRecord | None) -> BuildRecord | None:
    """Makes the converters of this thread record into ``record`` (None stops); returns the previous record.

    The caller restores the previous record when done. Each recorded instance keeps its mapping alive, so that an
    id is never reused while recording.
    """
    previous: BuildRecord | None = getattr(_BUILT, "record", None)
    _BUILT.record = record
    return previous


def _note_class_error(error: BaseException, caller: Any, init: Any) -> None:
    """Records the error in the current BuildRecord if the generated hook (caller) got it from the class's __init__.

    The generated hook converts every value before it calls the class (the conversions are the call's arguments),
    so an error that comes straight out of the class's ``__init__`` frame was raised by the class's own code.
    """
    record: BuildRecord | None = getattr(_BUILT, "record", None)
    if record is None or init is None:
        return
    entry = error.__traceback__
    while entry is not None and entry.tb_next is not None:
        if entry.tb_frame.f_code is caller and entry.tb_next.tb_frame.f_code is init:
            record.class_error = error
            return
        entry = entry.tb_next


class _Factories:
    """Builds the container and union hooks of one converter; `detailed` selects error-path collection."""

    def __init__(self, converter: Converter, *, detailed: bool) -> None:
        self._converter = converter
        self._detailed = detailed

    def dataclass(self, annotation: Any) -> Callable[[Any, Any], Any]:
        """Returns cattrs' generated hook for a dataclass, guarded so that a non-mapping value gets a clear error.

        While a BuildRecord is active (see record_builds), the instances of classes with a ``__post_init__`` are
        recorded and reused, and an error of the class's own code is noted.
        """
        # Fields declared with init=False are written too (as the reference release does), so they are read back.
        generated = make_dict_structure_fn(annotation, self._converter, _cattrs_include_init_false=True)
        generated_code = getattr(generated, "__code__", None)  # a plain function in every cattrs release
        init_code = getattr(getattr(annotation, "__init__", None), "__code__", None)
        expected = f"a mapping of {annotation.__name__} fields"

        def structure_dataclass(value: Any, _: Any) -> Any:
            if type(value) is not dict:
                if type(value) is annotation:  # supplied by a restore_excluded_fields hook
                    return value
                raise _wrong_value(expected, value)
            try:
                return generated(value, annotation)
            except Exception as error:
                _note_class_error(error, generated_code, init_code)
                raise

        if not hasattr(annotation, "__post_init__"):  # building it again would be invisible
            return structure_dataclass

        def structure_and_record_dataclass(value: Any, _: Any) -> Any:
            record: BuildRecord | None = getattr(_BUILT, "record", None)
            if record is None:
                return structure_dataclass(value, annotation)
            done = record.instances.get((id(value), annotation))
            if done is not None and done[0] is value:  # built before a later value failed: do not build it again
                return done[1]
            instance = structure_dataclass(value, annotation)
            record.instances[id(value), annotation] = (value, instance)
            return instance

        return structure_and_record_dataclass

    def union(self, annotation: Any) -> Callable[[Any, Any], Any]:
        """Returns the hook of a union, which applies UNION_RULE (see there)."""
        members = typing.get_args(annotation)
        allows_none = type(None) in members
        candidates = [member for member in members if member is not type(None)]
        if len(candidates) == 1:  # Optional[X]: the common case gets a direct path
            only_member = candidates[0]
            only_hook = self._converter.get_structure_hook(only_member)

            def structure_optional(value: Any, _: Any) -> Any:
                if value is None:
                    return None
                return only_hook(value, only_member)

            return structure_optional
        specific = [member for member in candidates if _is_specific(member)]
        others = [member for member in candidates if not _is_specific(member)]
        specific_hooks = [(member, self._converter.get_structure_hook(member)) for member in specific]
        other_hooks = [(member, self._converter.get_structure_hook(member)) for member in others]
        exact = {member for member in others if member in _SCALAR_NAMES}
        expected = describe_type(annotation)

        def structure_union(value: Any, _: Any) -> Any:
            if value is None and allows_none:
                return None
            for member, hook in specific_hooks:
                try:
                    return hook(value, member)
                except Exception:
                    continue
            if type(value) in exact:
                return value
            for member, hook in other_hooks:
                try:
                    return hook(value, member)
                except Exception:
                    continue
            raise _wrong_value(expected, value)

        return structure_union

    def sequence(self, annotation: Any) -> Callable[[Any, Any], Any]:
        """Returns the hook for list-like annotations (list, Sequence, MutableSequence, bare list)."""
        (item_type,) = args_or_any(annotation, 1)
        item_hook = self._converter.get_structure_hook(item_type)
        return self._collection(annotation, item_type, item_hook, list)

    def set_like(self, annotation: Any) -> Callable[[Any, Any], Any]:
        """Returns the hook for set and frozenset annotations, written as YAML lists."""
        (item_type,) = args_or_any(annotation, 1)
        item_hook = self._converter.get_structure_hook(item_type)
        build = frozenset if origin(annotation) is frozenset else set
        return self._collection(annotation, item_type, item_hook, build)

    def _collection(
        self, annotation: Any, item_type: Any, item_hook: Callable[[Any, Any], Any], build: Callable[[Any], Any]
    ) -> Callable[[Any, Any], Any]:
        expected = f"a list ({describe_type(annotation)})"
        detailed = self._detailed

        def structure_collection(value: Any, _: Any) -> Any:
            if type(value) is not list and not isinstance(value, (set, frozenset, tuple)):
                raise _wrong_value(expected, value)
            if not detailed:
                return build([item_hook(item, item_type) for item in value])
            entries = ((index, item, item_type, item_hook) for index, item in enumerate(value))
            return build(_structure_items(entries, annotation))

        return structure_collection

    def tuple(self, annotation: Any) -> Callable[[Any, Any], Any]:
        """Returns the hook for tuple annotations: tuple[X, ...], fixed tuple[X, Y] and bare tuple."""
        arguments = typing.get_args(annotation)
        if not arguments or (len(arguments) == 2 and arguments[1] is Ellipsis):
            item_type = arguments[0] if arguments else Any
            item_hook = self._converter.get_structure_hook(item_type)
            return self._collection(annotation, item_type, item_hook, tuple)
        if arguments == ((),):  # tuple[()]: the empty tuple
            arguments = ()
        hooks = [(item_type, self._converter.get_structure_hook(item_type)) for item_type in arguments]
        expected = f"a list of {len(hooks)} items ({describe_type(annotation)})"
        detailed = self._detailed

        def structure_fixed_tuple(value: Any, _: Any) -> tuple[Any, ...]:
            if type(value) is not list and not isinstance(value, tuple):
                raise _wrong_value(expected, value)
            if len(value) != len(hooks):
                raise ValueError(f"expected {expected}, got {len(value)} items: {value!r}")
            if not detailed:
                return tuple([hook(item, item_type) for (item_type, hook), item in zip(hooks, value, strict=True)])
            pairs = enumerate(zip(hooks, value, strict=True))
            entries = ((index, item, item_type, hook) for index, ((item_type, hook), item) in pairs)
            return tuple(_structure_items(entries, annotation))

        return structure_fixed_tuple

    def mapping(self, annotation: Any) -> Callable[[Any, Any], Any]:
        """Returns the hook for dict-like annotations, validating keys and values by their annotations."""
        key_type, value_type = args_or_any(annotation, 2)
        key_hook = self._converter.get_structure_hook(key_type)
        value_hook = self._converter.get_structure_hook(value_type)
        expected = f"a mapping ({describe_type(annotation)})"
        detailed = self._detailed

        def structure_mapping(value: Any, _: Any) -> dict[Any, Any]:
            if type(value) is not dict:
                raise _wrong_value(expected, value)
            if not detailed:
                return {key_hook(key, key_type): value_hook(item, value_type) for key, item in value.items()}
            problems = _Problems()
            result = {}
            for key, item in value.items():
                try:
                    structured_key = key_hook(key, key_type)
                except Exception as error:
                    problems.add(error, IterableValidationNote(KEY_NOTE_TEXT, key, key_type))
                    continue
                try:
                    result[structured_key] = value_hook(item, value_type)
                except Exception as error:
                    problems.add(error, IterableValidationNote(VALUE_NOTE_TEXT, key, value_type))
            problems.raise_if_any(annotation)
            return result

        return structure_mapping


# cattrs recognizes only notes of exactly IterableValidationNote, so a failing key (as opposed to the value stored
# under it) is told apart by the note's text.
KEY_NOTE_TEXT = "Structuring mapping @ key"
VALUE_NOTE_TEXT = "Structuring item @ index"


class _Problems:
    """Collects the errors of a container's items, each noted with where it happened, to raise them as one group."""

    def __init__(self) -> None:
        self.errors: list[Exception] = []

    def add(self, error: Exception, note: IterableValidationNote) -> None:
        error.__notes__ = [*getattr(error, "__notes__", []), note]
        self.errors.append(error)

    def raise_if_any(self, annotation: Any) -> None:
        if self.errors:
            raise IterableValidationError(f"While structuring {describe_type(annotation)}", self.errors, annotation)


def _structure_items(
    entries: typing.Iterable[tuple[int, Any, Any, Callable[[Any, Any], Any]]], annotation: Any
) -> list[Any]:
    """Structures (index, item, item type, hook) entries, raising one group that names every failing index."""
    problems = _Problems()
    result = []
    for index, item, item_type, hook in entries:
        try:
            result.append(hook(item, item_type))
        except Exception as error:
            problems.add(error, IterableValidationNote(VALUE_NOTE_TEXT, index, item_type))
    problems.raise_if_any(annotation)
    return result


def unstructure_set(value: typing.Iterable[Any]) -> list[Any]:
    """Writes a set as a list, sorted where possible so the file does not change between runs."""
    items = list(value)
    with contextlib.suppress(TypeError):
        items.sort()
    return items


def _build(*, forbid_extra_keys: bool, detailed: bool, lenient: bool) -> Converter:
    if lenient:  # a type nothing here knows takes the value as YAML parsed it, as in both releases
        converter = Converter(
            forbid_extra_keys=forbid_extra_keys,
            detailed_validation=detailed,
            unstruct_collection_overrides={Sequence: list, AbstractSet: unstructure_set},
            structure_fallback_factory=lambda _: _structure_any,
        )
    else:
        converter = Converter(
            forbid_extra_keys=forbid_extra_keys,
            detailed_validation=detailed,
            unstruct_collection_overrides={Sequence: list, AbstractSet: unstructure_set},
        )
    factories = _Factories(converter, detailed=detailed)
    # Factories registered later take precedence in cattrs, so the generic ones come first.
    converter.register_structure_hook_factory(is_sequence, factories.sequence)
    converter.register_structure_hook_factory(is_set, factories.set_like)
    converter.register_structure_hook_factory(is_tuple, factories.tuple)
    converter.register_structure_hook_factory(is_mapping, factories.mapping)
    converter.register_structure_hook_factory(is_union, factories.union)
    converter.register_structure_hook_factory(is_dataclass_type, factories.dataclass)
    converter.register_structure_hook_factory(is_literal, _literal_hook)
    converter.register_unstructure_hook_factory(
        is_dataclass_type,
        lambda cls: make_dict_unstructure_fn(
            cls,
            converter,
            _cattrs_include_init_false=True,
            **{name: override(omit=True) for name in excluded_fields(cls)},  # type: ignore[arg-type]
        ),
    )
    # cattrs registers Path itself by class, which beats PurePath for Path annotations: register both.
    converter.register_structure_hook(PurePath, _structure_path)
    converter.register_structure_hook(Path, _structure_path)
    converter.register_unstructure_hook_func(is_path, str)
    # StrEnum and IntEnum members are also str and int, which cattrs passes through unchanged by class dispatch.
    for enum_base in (enum.Enum, enum.StrEnum, enum.IntEnum, enum.IntFlag):
        converter.register_unstructure_hook(enum_base, _enum_value)
        converter.register_structure_hook(enum_base, _structure_enum)
    # datetime is a subclass of date, so each needs its own hook; both are written as YAML timestamps (as the
    # reference releases write them), a time of day as its ISO 8601 string (YAML has no time type).
    converter.register_structure_hook(datetime.datetime, _structure_datetime)
    converter.register_structure_hook(datetime.date, _structure_date)
    converter.register_structure_hook(datetime.time, _structure_time)
    converter.register_unstructure_hook(datetime.time, _unstructure_time)
    converter.register_structure_hook(int, _structure_int)
    converter.register_structure_hook(float, _structure_float)
    converter.register_structure_hook(str, _structure_str)
    converter.register_structure_hook(bool, _structure_bool)
    converter.register_structure_hook(type(None), _structure_none)
    converter.register_structure_hook(Any, _structure_any)
    converter.register_structure_hook_func(lambda annotation: annotation is object, _structure_any)
    for user_type, (load, dump) in _USER_TYPES.items():  # registered last: they win over everything above
        # A predicate, not the class alone, so that parametrized annotations (NDArray[np.bool_]) match too.
        converter.register_structure_hook_func(_annotates(user_type), _user_load_hook(load))
        if dump is not None:
            converter.register_unstructure_hook_func(_annotates(user_type), dump)
    return converter


class YamlType(NamedTuple):
    """How a user type is loaded from and written to YAML (see :func:`register_yaml_type`)."""

    load: Callable[[Any], Any]
    """Builds the value from what YAML parsed (a str, int, float, bool, None, list or dict)."""
    dump: Callable[[Any], Any] | None
    """Returns the value's YAML form (built from str, int, float, bool, None, list and dict), or None when cattrs'
    default (the value itself) will do."""


_USER_TYPES: dict[Any, YamlType] = {}


def _annotates(user_type: type) -> Callable[[Any], bool]:
    """Returns whether an annotation names the user type, a subclass, or a parametrized form of either."""

    def predicate(annotation: Any) -> bool:
        resolved = origin(annotation)
        return isinstance(resolved, type) and issubclass(resolved, user_type)

    return predicate


def _user_load_hook(load: Callable[[Any], Any]) -> Callable[[Any, Any], Any]:
    def structure_user_type(value: Any, _: Any) -> Any:
        return load(value)

    return structure_user_type


def register_yaml_type(cls: type[Any], *, load: Callable[[Any], Any], dump: Callable[[Any], Any] | None = None) -> None:
    """Registers how YamlConfig loads and writes fields annotated with ``cls`` (and its subclasses).

    Notes:
        The registration is process-wide and applies to every YamlConfig class, also inside containers, unions and
        nested dataclasses, to subclasses of ``cls`` and to its parametrized forms (registering ``numpy.ndarray``
        covers ``NDArray[np.bool_]``); registering ``cls`` again replaces it (also for the library's own types,
        such as Path).
        ``load`` receives the value as YAML parsed it and raises ``ValueError`` or ``TypeError`` for a value it
        cannot take: ``from_yaml`` then warns and keeps the parsed value (or, when strict, raises the problem with
        the field's path). In a union, a registered type is tried before ``str``, ``int``, ``float`` and ``bool``,
        as Enum and Path members are.

    Args:
        cls: The type as written in field annotations.
        load: Builds an instance of ``cls`` from the YAML value.
        dump: Returns the YAML form of an instance (strings, numbers, booleans, None, lists and dicts); omitted,
            the instance itself is written, which works only for values PyYAML's safe dumper can write.

    Raises:
        TypeError: If ``cls`` is not a type or ``load``/``dump`` are not callable.
    """
    if not isinstance(cls, type):
        message = f"register_yaml_type needs a class as 'cls', got {cls!r}."
        raise TypeError(message)
    if not callable(load) or (dump is not None and not callable(dump)):
        message = (
            f"register_yaml_type({cls.__name__}) needs callables for 'load' and 'dump', got {load!r} and {dump!r}."
        )
        raise TypeError(message)
    _USER_TYPES[cls] = YamlType(load, dump)
    # cattrs bakes each type's hook into the hooks generated for the classes that use it: rebuild from scratch.
    _CONVERTERS.clear()
    _WRITERS.clear()


_AS_IS = frozenset((str, int, float, bool, type(None), datetime.datetime, datetime.date))
_WRITERS: dict[type, Callable[[Any], Any]] = {}
"""The function that writes values of each class met so far (built on first sight; reset by a registration)."""


def unstructure(value: Any) -> Any:
    """Returns the YAML-native form of a value, by what the value is (not by its annotation), as the releases write.

    A dataclass becomes a mapping of its written fields (those not marked with YAML_EXCLUDE_METADATA, init=False
    fields included), an Enum member its value, a Path its string, a tuple or list a list, a set a sorted list, a
    mapping a mapping of converted keys and values, a time of day its ISO 8601 string, a registered type what its
    ``dump`` returns, an unregistered NumPy array or scalar its ``tolist()``; anything else stays as it is (the
    emitter then says if it has no YAML form). Going by the value keeps what a field holds even when it does not
    match its annotation (a value loaded as the releases load it, or one set by code): a 3-item tuple in a
    ``tuple[int, int]`` field is written with its 3 items, as they write it.
    """
    value_type = type(value)
    if value_type in _AS_IS:
        return value
    writer = _WRITERS.get(value_type)
    if writer is None:
        writer = _WRITERS[value_type] = _writer_of(value_type)
    return writer(value)


def _write_sequence(value: Any) -> list[Any]:
    return [item if type(item) in _AS_IS else unstructure(item) for item in value]


def _write_mapping(value: Any) -> dict[Any, Any]:
    return {unstructure(key): item if type(item) in _AS_IS else unstructure(item) for key, item in value.items()}


def _as_is(value: Any) -> Any:
    return value


def _writer_of(value_type: type) -> Callable[[Any], Any]:
    """Returns the function that writes values of the class (see unstructure)."""
    for registered in value_type.__mro__:  # the most specific registered type the class derives from
        found = _USER_TYPES.get(registered)
        if found is not None and found.dump is not None:
            return found.dump
    if dataclasses.is_dataclass(value_type):
        excluded = excluded_fields(value_type)
        names = tuple(field.name for field in dataclasses.fields(value_type) if field.name not in excluded)

        def write_dataclass(value: Any) -> dict[str, Any]:
            result = {}
            for name in names:
                item = getattr(value, name)
                result[name] = item if type(item) in _AS_IS else unstructure(item)
            return result

        return write_dataclass
    if issubclass(value_type, enum.Enum):
        return lambda member: unstructure(member.value)
    if issubclass(value_type, PurePath):
        return str
    if issubclass(value_type, (set, frozenset)):
        return lambda items: unstructure_set(_write_sequence(items))
    if issubclass(value_type, datetime.time):
        return _unstructure_time
    if issubclass(value_type, (list, tuple)):  # a NamedTuple too: written as a list, as the releases do
        return _write_sequence
    if issubclass(value_type, dict):
        return _write_mapping
    if value_type.__module__ == "numpy" and hasattr(value_type, "tolist"):
        # An array or NumPy scalar, unregistered: written as the lists and numbers it holds (the releases write a
        # Python tag that their own loader refuses), so the file loads again, as lists (see register_yaml_type).
        return lambda array: unstructure(array.tolist())
    return _as_is


_CONVERTERS: dict[tuple[bool, bool, bool], Converter] = {}


def user_types() -> Mapping[Any, YamlType]:
    """Returns the types registered with :func:`register_yaml_type` (read-only view)."""
    return types.MappingProxyType(_USER_TYPES)


def get_converter(*, forbid_extra_keys: bool, detailed: bool, lenient: bool = False) -> Converter:
    """Returns the shared converter of the given flavour, built on first use (and again after a registration).

    Args:
        forbid_extra_keys: Whether keys that match no dataclass field are an error.
        detailed: Whether errors carry the path of every failing field (slower; used to report failures).
        lenient: Whether types the converter does not know take the value as YAML parsed it (else they fail).

    Returns:
        The converter; cattrs caches the hooks it builds per class and annotation.
    """
    key = (forbid_extra_keys, detailed, lenient)
    converter = _CONVERTERS.get(key)
    if converter is None:
        converter = _CONVERTERS[key] = _build(forbid_extra_keys=forbid_extra_keys, detailed=detailed, lenient=lenient)
    return converter


__all__ = [
    "EXCLUDE_KEY",
    "KEY_NOTE_TEXT",
    "BuildRecord",
    "UNION_RULE",
    "YamlType",
    "describe_type",
    "excluded_fields",
    "get_converter",
    "record_builds",
    "register_yaml_type",
    "unstructure",
    "unstructure_set",
    "user_types",
]
