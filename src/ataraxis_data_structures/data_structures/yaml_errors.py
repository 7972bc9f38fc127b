"""Readable errors for YAML configuration files: which file, which field (as a dotted path), which line, and why.

Everything here runs only after loading has already failed, so it may be slow: it re-parses the file into a node
tree to find the line of each failing field.
"""

from __future__ import annotations

import dataclasses
import functools
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml
from cattrs.errors import (
    AttributeValidationNote,
    ClassValidationError,
    ForbiddenExtraKeysError,
    IterableValidationError,
)

from ..errors import AxdsError
from .yaml_converter import KEY_NOTE_TEXT, excluded_fields
from .yaml_scalars import SAFE_LOADER

_Loader = SAFE_LOADER


class YamlConfigWarning(UserWarning):
    """Warned when a YAML file is loaded (or written) the way the reference releases do despite a problem.

    A value that does not match its field's annotation (loaded as the releases load it), keys that match no field
    (ignored), or a union value that ``to_yaml`` writes but that would load back as another type. The message names
    the file, the field path (with its line) and the value. ``strict=True`` (or a class's ``yaml_strict = True``)
    turns each into an error instead; ``warnings.filterwarnings("error", category=YamlConfigWarning)`` does too.
    """


class YamlConfigError(AxdsError, ValueError):
    """Raised when a YAML file cannot be loaded into a YamlConfig dataclass; the message lists every problem.

    Attributes:
        file_path: The file that failed to load.
        problems: One entry per problem, each a human-readable line such as
            ``camera.fps (line 12): expected int, got 'fast'``.
    """

    def __init__(self, message: str, file_path: Path, problems: list[str]) -> None:
        super().__init__(message)
        self.file_path = file_path
        self.problems = problems

    def __reduce__(self) -> tuple[Any, ...]:
        """Pickles the error whole, so that it crosses process boundaries (a config loaded in a worker process)."""
        return type(self), (self.args[0], self.file_path, self.problems), self.__dict__


class YamlConfigTypeError(YamlConfigError, TypeError):
    """A YamlConfigError for a file the releases refuse with a TypeError (a Path field holding a non-string)."""


class MissingValueError(YamlConfigError):
    """A YamlConfigError for a file that lacks a required field (one without a default that does not allow None).

    Both reference releases raise ``dacite.exceptions.MissingValueError`` here, and code written for them catches
    that class: when dacite is installed, the error raised is also one (a subclass of both), so either ``except``
    clause catches it; without dacite it is this class. The message starts with the releases' words,
    ``missing value for field "camera.fps"`` (field names only, as theirs), followed by the file and, for each
    problem, the field path with list indexes and the line.

    Attributes:
        field_path: The first missing field as the releases name it, e.g. ``controllers.controller_id``.
    """

    def __init__(self, message: str, file_path: Path, problems: list[str], field_path: str) -> None:
        super().__init__(message, file_path, problems)
        self.field_path = field_path
        # With dacite's class in the MRO, its __init__ may run in the chain above and call Exception.__init__()
        # without arguments, which empties args (Python 3.14 does): the message is set again here.
        self.args = (message,)

    def __str__(self) -> str:
        return str(self.args[0])  # dacite's MissingValueError.__str__ (later in the MRO) would drop the detail

    def __reduce__(self) -> tuple[Any, ...]:
        """Pickled as rebuilt by missing_value_error: dacite's too where the receiving process has dacite."""
        return missing_value_error, (self.args[0], self.file_path, self.problems, self.field_path), self.__dict__


def missing_value_error(message: str, file_path: Path, problems: list[str], field_path: str) -> MissingValueError:
    """Returns the MissingValueError, also a ``dacite.exceptions.MissingValueError`` when dacite is installed."""
    return _missing_value_class()(message, file_path, problems, field_path)


@functools.cache
def _missing_value_class() -> type[MissingValueError]:
    """Returns MissingValueError, or its subclass that is also dacite's (imported here only: an error path)."""
    try:
        from dacite.exceptions import MissingValueError as DaciteMissingValueError
    except ImportError:
        return MissingValueError
    namespace = {"__module__": __name__, "__qualname__": "MissingValueError", "__doc__": MissingValueError.__doc__}
    return type("MissingValueError", (MissingValueError, DaciteMissingValueError), namespace)


@dataclass(frozen=True)
class Problem:
    """One failing spot: the path from the top-level mapping to it, what went wrong, and how to locate it."""

    path: tuple[str | int, ...]
    message: str
    locate: str = "value"  # "value": the node at path; "key": the key node at path; "parent": the enclosing node
    field_path: str | None = None
    """For a missing required field: its path as the releases name it (field names only, e.g. ``nodes.value``)."""
    type_error: bool = False
    """Whether the releases raise a TypeError here (a Path from a non-string) rather than a ValueError."""
    words: str | None = None
    """For a value the releases refuse too: their message (the Enum's or Path's own words)."""


def syntax_error(file_path: Path, error: yaml.YAMLError) -> YamlConfigError:
    """Returns the error for a file that is not valid YAML, naming the line and column where parsing stopped."""
    mark = getattr(error, "problem_mark", None) or getattr(error, "context_mark", None)
    problem = getattr(error, "problem", None) or str(error)
    context = getattr(error, "context", None)
    where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark is not None else ""
    reason = f"{context}: {problem}" if context else problem
    message = f"Unable to load {file_path}: invalid YAML{where}: {reason}."
    return YamlConfigError(message, file_path, [f"invalid YAML{where}: {reason}"])


def not_a_mapping(file_path: Path, data: Any, class_name: str) -> YamlConfigError:
    """Returns the error for a document whose top level is not a mapping of field names to values."""
    found = "an empty document" if data is None else f"a {type(data).__name__} ({_shorten(data)})"
    problem = f"the top level must be a mapping of {class_name} field names to values, but the file holds {found}"
    return YamlConfigError(f"Unable to load {file_path}: {problem}.", file_path, [problem])


def structure_error(file_path: Path, text: str, error: BaseException, class_name: str) -> YamlConfigError:
    """Returns the error listing every field that failed to convert, each with its dotted path and line.

    Args:
        file_path: The file being loaded.
        text: The file's content, re-parsed here to find the line of each failing field.
        error: The exception raised by the detailed converter.
        class_name: The name of the dataclass being loaded.
    """
    problems: list[Problem] = []
    _collect(error, (), (), problems)
    return problems_error(file_path, text, problems, class_name)


def problems_error(file_path: Path, text: str, problems: list[Problem], class_name: str) -> YamlConfigError:
    """Returns the error listing the problems in line order, each with its dotted path and line.

    The error's class and first words are those the releases raise for the first problem they would meet (the
    problems come in the order of the class's fields, depth first, as the releases walk them): a MissingValueError
    for a missing required field, a YamlConfigTypeError (also a TypeError) for a Path from a non-string, otherwise a
    YamlConfigError; our detail (the file, each problem with its field path and line) follows their words.

    Args:
        file_path: The file being loaded.
        text: The file's content, re-parsed here to find the line of each problem.
        problems: The problems, in the order of the class's fields.
        class_name: The name of the dataclass being loaded.
    """
    root = _compose(text)
    located = sorted(((_line_of(root, problem), index, problem) for index, problem in enumerate(problems)), key=_order)
    lines = [_render(problem, line) for line, _, problem in located]
    count = "1 problem" if len(lines) == 1 else f"{len(lines)} problems"
    listing = "\n".join(f"  {line}" for line in lines)
    first = next((problem for problem in problems if problem.field_path is not None or problem.words is not None), None)
    detail = f"load {file_path} as {class_name} ({count}):\n{listing}"
    if first is None:
        return YamlConfigError(f"Unable to {detail}", file_path, lines)
    if first.field_path is not None:
        words = f'missing value for field "{first.field_path}"'  # both releases' words (dacite's), matched by callers
        return missing_value_error(f"{words}: unable to {detail}", file_path, lines, first.field_path)
    message = f"{first.words}: unable to {detail}"
    if first.type_error:
        return YamlConfigTypeError(message, file_path, lines)
    return YamlConfigError(message, file_path, lines)


def _collect(
    error: BaseException, path: tuple[str | int, ...], fields: tuple[str, ...], problems: list[Problem]
) -> None:
    """Walks cattrs' exception groups, recording each leaf error with the path it was raised at.

    ``fields`` holds the field names of path alone (no list indexes or mapping keys): the releases' field path.
    """
    if isinstance(error, ClassValidationError):
        with_notes, without_notes = error.group_exceptions()
        for inner, note in with_notes:
            name = note.name if isinstance(note, AttributeValidationNote) else str(note)
            if isinstance(inner, KeyError) and inner.args == (name,):
                dotted = ".".join((*fields, name))
                problems.append(Problem((*path, name), missing_field(error.cl, name), "parent", dotted))
            else:
                _collect(inner, (*path, name), (*fields, name), problems)
        for inner in without_notes:
            _collect(inner, path, fields, problems)
    elif isinstance(error, ForbiddenExtraKeysError):
        valid = ", ".join(field.name for field in dataclasses.fields(error.cl)) if error.cl else ""
        for key in sorted(error.extra_fields, key=str):
            message = f"unknown key (not a field of {error.cl.__name__}; valid keys: {valid})"
            problems.append(Problem((*path, key), message, "key"))
    elif isinstance(error, IterableValidationError):
        item_notes, without_notes = error.group_exceptions()
        for inner, item_note in item_notes:
            if str(item_note) == KEY_NOTE_TEXT:
                problems.append(Problem((*path, item_note.index), f"invalid key: {_message(inner)}", "key"))
            else:
                _collect(inner, (*path, item_note.index), fields, problems)
        for inner in without_notes:
            _collect(inner, path, fields, problems)
    else:
        problems.append(Problem(path, _message(error)))


def missing_field(cls: type, name: str) -> str:
    """Returns the problem text for a required field the file lacks, saying who must supply an excluded one."""
    message = "missing required field"
    if name in excluded_fields(cls):
        message += (
            f" (kept out of the file by YAML_EXCLUDE_METADATA: {cls.__name__}.restore_excluded_fields must supply it)"
        )
    return message


def _message(error: BaseException) -> str:
    text = str(error)
    return text if text else type(error).__name__


def _compose(text: str) -> yaml.Node | None:
    """Returns the YAML node tree of the text (positions only), or None if it cannot be parsed."""
    try:
        return yaml.compose(text, Loader=_Loader)
    except yaml.YAMLError:
        return None


def _order(entry: tuple[int | None, int, Problem]) -> tuple[int, int]:
    """Sorts problems by line, keeping the converter's order for those without a line."""
    line, index, _ = entry
    return (line if line is not None else 0, index)


def line_finder(text: str) -> Callable[[tuple[str | int, ...], str], int | None]:
    """Returns a function giving the 1-based line of the node at a path ("value", "key" or "parent") in the text."""
    root = _compose(text)

    def line(path: tuple[str | int, ...], locate: str) -> int | None:
        return _line_of(root, Problem(path, "", locate))

    return line


def _render(problem: Problem, line: int | None) -> str:
    """Formats one problem as ``camera.fps (line 12): expected int, got 'fast'``."""
    dotted = dotted_path(problem.path) or "<top level>"
    where = f" (line {line})" if line is not None else ""
    return f"{dotted}{where}: {problem.message}"


def dotted_path(path: tuple[str | int, ...]) -> str:
    """Renders a path as ``camera.roi[2]`` or ``layout.raw.depth``; odd mapping keys are shown quoted."""
    text = ""
    for part in path:
        if isinstance(part, int) and not isinstance(part, bool):
            text += f"[{part}]"
        elif isinstance(part, str) and part.isidentifier():
            text += f".{part}" if text else part
        else:
            text += f"[{part!r}]"
    return text


def _line_of(root: yaml.Node | None, problem: Problem) -> int | None:
    """Returns the 1-based line of the problem's node, following its path as far as the file has it."""
    if root is None:
        return None
    node: yaml.Node = root
    parts = problem.path[:-1] if problem.locate == "parent" else problem.path
    for position, part in enumerate(parts):
        is_last = position == len(parts) - 1
        child = _child(node, part, want_key=is_last and problem.locate == "key")
        if child is None:
            break
        node = child
    return int(node.start_mark.line) + 1


def _child(node: yaml.Node, part: str | int, *, want_key: bool) -> yaml.Node | None:
    if isinstance(node, yaml.MappingNode):
        for key_node, value_node in node.value:
            if isinstance(key_node, yaml.ScalarNode) and key_node.value == str(part):
                child: yaml.Node = key_node if want_key else value_node
                return child
    elif isinstance(node, yaml.SequenceNode) and isinstance(part, int) and 0 <= part < len(node.value):
        item: yaml.Node = node.value[part]
        return item
    return None


def _shorten(value: Any, limit: int = 60) -> str:
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."


__all__ = [
    "MissingValueError",
    "Problem",
    "YamlConfigError",
    "YamlConfigTypeError",
    "YamlConfigWarning",
    "dotted_path",
    "line_finder",
    "missing_field",
    "missing_value_error",
    "not_a_mapping",
    "problems_error",
    "structure_error",
    "syntax_error",
]
