"""Turns YAML-native data (dicts, lists, scalars) into the text of a YamlConfig file and back.

Both directions have a fast path written for the shape of config files (block mappings, lists of scalars, one-line
scalars) and fall back to PyYAML's safe dumper and loader for anything else. The scalar rules (which strings are
plain, how others are quoted, how one-line scalars read back) and the choice of libyaml or pure-Python classes come
from ``yaml_scalars``, shared with the tracker format. The fast paths are exact, not
approximate: the emitter produces byte for byte what ``yaml.dump`` produces with the settings below (and what the
reference release writes), and the reader returns what ``yaml.load`` with the safe loader returns (comments
included). Whenever either meets something outside the shapes it knows (a multi-line or double-quoted string, a
flow collection, an anchor, a tab, ...) it gives up on the whole document and PyYAML handles it, so correctness
never depends on the fast path covering every YAML feature. The tests compare both paths on randomized documents.
"""

from __future__ import annotations

import enum
import re
from typing import Any

import yaml

from .yaml_scalars import RESERVED_WORDS, SAFE_DUMPER, SAFE_LOADER, OutsideFastPathError, read_scalar, scalar_text

__all__ = ["dump_document", "load_document"]


class _Dumper(SAFE_DUMPER):  # type: ignore[misc,valid-type]
    """The safe dumper (libyaml's where available) that also writes Enum members as their values.

    cattrs passes members of ``class X(str, Enum)`` through as plain strings, so the dumper must handle them.
    """


_Dumper.add_multi_representer(enum.Enum, lambda dumper, member: dumper.represent_data(member.value))

# Never fold long lines: a folded path or note is hard to edit by hand (and the reference release does not fold).
_UNLIMITED_WIDTH = 2**31 - 1

_QUOTABLE_PREFIX = re.compile(r"'(?:[\x20-\x26\x28-\x7e]|'')*'")
_COMMENT = re.compile(r"(?: +#.*)?")
# A block mapping line whose key is an identifier, the shape of every dataclass field name.
_IDENTIFIER_KEY_LINE = re.compile(r"( *)([A-Za-z_][A-Za-z0-9_]*):(?: (.*))?")
_SIMPLE_KEY_LIMIT = 120  # PyYAML writes longer keys in the '? key' form; leave those to it


def dump_document(data: Any) -> str:
    """Returns data as one block-style YAML document between '---' and '...' markers, keys in insertion order.

    The text is identical to ``yaml.dump(data, sort_keys=False, explicit_start=True, explicit_end=True,
    width=<unlimited>)`` with the libyaml safe dumper.
    """
    if type(data) is dict and data:
        lines = ["---"]
        try:
            _emit_mapping(data, "", lines)
        except OutsideFastPathError:
            pass
        else:
            lines.append("...\n")
            return "\n".join(lines)
    return yaml.dump(
        data,
        Dumper=_Dumper,
        sort_keys=False,
        explicit_start=True,
        explicit_end=True,
        default_flow_style=False,
        width=_UNLIMITED_WIDTH,
    )


def _emit_mapping(mapping: dict[Any, Any], indent: str, lines: list[str]) -> None:
    for key, value in mapping.items():
        key_text = scalar_text(key)
        if len(key_text) > _SIMPLE_KEY_LIMIT or key == "":  # PyYAML writes these in the '? key' form
            raise OutsideFastPathError
        value_type = type(value)
        if value_type is dict:
            if value:
                lines.append(f"{indent}{key_text}:")
                _emit_mapping(value, indent + "  ", lines)
            else:
                lines.append(f"{indent}{key_text}: {{}}")
        elif value_type is list:
            if value:
                lines.append(f"{indent}{key_text}:")
                _emit_sequence(value, indent, lines)  # PyYAML does not indent a list under its key
            else:
                lines.append(f"{indent}{key_text}: []")
        else:
            lines.append(f"{indent}{key_text}: {scalar_text(value)}")


def _emit_sequence(sequence: list[Any], indent: str, lines: list[str]) -> None:
    for item in sequence:
        item_type = type(item)
        if item_type is dict or item_type is list:
            if not item:
                lines.append(f"{indent}- {{}}" if item_type is dict else f"{indent}- []")
                continue
            # A nested block starts on the dash line: emit it one level deeper, then fold its first line onto "- ".
            first = len(lines)
            if item_type is dict:
                _emit_mapping(item, indent + "  ", lines)
            else:
                _emit_sequence(item, indent + "  ", lines)
            lines[first] = f"{indent}- {lines[first][len(indent) + 2 :]}"
        else:
            lines.append(f"{indent}- {scalar_text(item)}")


def load_document(text: str) -> Any:
    """Returns the data of the single YAML document in text (None for an empty document).

    Raises:
        yaml.YAMLError: If the text is not valid YAML or holds more than one document.
    """
    try:
        return _read_fast(text)
    except OutsideFastPathError:
        return yaml.load(text, Loader=SAFE_LOADER)


# A block mapping line: indentation, a plain or single-quoted key, a colon, and optionally a value after one space.
_KEY_LINE = re.compile(r"( *)([^'\s][^:]*?|'(?:[^']|'')*'):(?: (.*))?")


def _read_fast(text: str) -> Any:
    """Parses the block mapping documents YamlConfig writes (and close relatives written by hand).

    Raises:
        OutsideFastPathError: For anything else, including every malformed document, so PyYAML reports the error.
    """
    if "\t" in text or "\r" in text or not text.isascii():
        raise OutsideFastPathError
    lines = text.split("\n")
    if "#" in text or "\n\n" in text or " \n" in text or text.endswith(" "):  # comments or blank lines to drop
        lines = [line for line in lines if line.strip() and not line.lstrip().startswith("#")]
    elif lines[-1] == "":
        lines.pop()
    if lines and lines[0] == "---":
        del lines[0]
    if lines and lines[-1] == "...":
        del lines[-1]
    if not lines:
        raise OutsideFastPathError
    for line in lines:
        if line.startswith(("---", "...", "%")):
            raise OutsideFastPathError
    reader = _BlockReader(lines)
    value = reader.block(0)
    if reader.position != len(lines):
        raise OutsideFastPathError
    return value


class _BlockReader:
    """Reads nested block mappings and sequences of one-line scalars, line by line."""

    def __init__(self, lines: list[str]) -> None:
        self.lines = lines
        self.position = 0

    def block(self, indent: int) -> Any:
        """Reads the mapping or sequence whose lines start at the given indentation."""
        line = self.lines[self.position]
        if line[indent : indent + 2] == "- " or line[indent:] == "-":
            return self.sequence(indent)
        return self.mapping(indent)

    def mapping(self, indent: int) -> dict[Any, Any]:
        """Reads "key: value" lines at the given indentation, with nested blocks under "key:" lines."""
        result: dict[Any, Any] = {}
        lines = self.lines
        count = len(lines)
        while self.position < count:
            line = lines[self.position]
            match = _IDENTIFIER_KEY_LINE.fullmatch(line)
            if match is not None:
                spaces, key, value_text = match.groups()
                if len(spaces) != indent:
                    if len(spaces) < indent:
                        break
                    raise OutsideFastPathError
                if key in RESERVED_WORDS:
                    key = read_scalar(key)
            else:
                line_indent = len(line) - len(line.lstrip(" "))
                if line_indent < indent:
                    break
                match = _KEY_LINE.fullmatch(line)
                if line_indent > indent or match is None:
                    raise OutsideFastPathError
                key = read_scalar(match.group(2))
                value_text = match.group(3)
            self.position += 1
            if value_text and "#" in value_text:
                value_text = _without_comment(value_text)
            if value_text:
                result[key] = _read_value(value_text)
            elif value_text is None:
                result[key] = self.nested(indent)
            else:  # "key: " with trailing space only
                raise OutsideFastPathError
        return result

    def nested(self, indent: int) -> Any:
        """Reads the value of a "key:" line: a deeper block, a list at the key's own indentation, or null."""
        if self.position >= len(self.lines):
            return None
        line = self.lines[self.position]
        line_indent = len(line) - len(line.lstrip(" "))
        if line_indent > indent:
            return self.block(line_indent)
        if line_indent == indent and (line[indent : indent + 2] == "- " or line[indent:] == "-"):
            return self.sequence(indent)
        return None

    def sequence(self, indent: int) -> list[Any]:
        """Reads "- value" lines at the given indentation."""
        result: list[Any] = []
        lines = self.lines
        count = len(lines)
        prefix = " " * indent + "- "
        while self.position < count:
            line = lines[self.position]
            if not line.startswith(prefix):
                line_indent = len(line) - len(line.lstrip(" "))
                if line_indent > indent or (line_indent == indent and line[indent] == "-"):
                    raise OutsideFastPathError
                break
            item_text = line[len(prefix) :]
            if "#" in item_text:
                item_text = _without_comment(item_text) or ""  # "- # note" (a null or nested item): PyYAML's job
            result.append(_read_value(item_text))
            self.position += 1
        return result


def _without_comment(text: str) -> str | None:
    """Returns a value without its trailing '# comment', or None when the text is only a comment."""
    if text[0] == "'":
        quoted = _QUOTABLE_PREFIX.match(text)
        if quoted is None or not _COMMENT.fullmatch(text, quoted.end()):
            raise OutsideFastPathError
        return text[: quoted.end()]
    if text[0] == "#":
        return None
    start = text.find(" #")
    if start < 0:  # a '#' inside a word, as in "a#b", is part of the value
        return text
    return text[:start].rstrip(" ") or None


def _read_value(text: str) -> Any:
    if text == "{}":
        return {}
    if text == "[]":
        return []
    return read_scalar(text)
