"""Turns YAML-native data (dicts, lists, scalars) into the text of a YamlConfig file and back.

Both directions have a fast path written for the shape of config files (block mappings, lists of scalars, one-line
scalars) and fall back to PyYAML's libyaml dumper and loader for anything else. The fast paths are exact, not
approximate: the emitter produces byte for byte what ``yaml.dump`` produces with the settings below (and what the
reference release writes), and the reader returns what ``yaml.load`` with the safe loader returns (comments
included). Whenever either meets something outside the shapes it knows (a multi-line or double-quoted string, a
flow collection, an anchor, a tab, ...) it gives up on the whole document and PyYAML handles it, so correctness
never depends on the fast path covering every YAML feature. The tests compare both paths on randomized documents.
"""

from __future__ import annotations

import datetime
import enum
import math
import re
from typing import Any

import yaml

_Loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


class _Dumper(getattr(yaml, "CSafeDumper", yaml.SafeDumper)):  # type: ignore[misc]
    """The libyaml safe dumper that also writes Enum members as their values.

    cattrs passes members of ``class X(str, Enum)`` through as plain strings, so the dumper must handle them.
    """


_Dumper.add_multi_representer(enum.Enum, lambda dumper, member: dumper.represent_data(member.value))

# Never fold long lines: a folded path or note is hard to edit by hand (and the reference release does not fold).
_UNLIMITED_WIDTH = 2**31 - 1


class _OutsideFastPathError(Exception):
    """Raised when a document uses something the fast emitter or reader does not handle; PyYAML takes over."""


# A scalar that YAML writes and reads without quotes when it is a plain string: printable ASCII that does not
# start with a character that begins other YAML syntax (comment, flow collection, anchor, alias, tag, quote, block
# scalar, directive, reserved; '-', '?' and ':' only when a space follows), has no leading or trailing space, no
# ': ' or ' #' inside, does not end in ':', and is not a document marker. Whether it still needs quotes because
# YAML would read it as a number, boolean, null or date is decided by the resolver.
_PLAIN = re.compile(r"(?!---|\.\.\.)[^\x00- #,\[\]{}&*!|>'\"%@`\x7f-\U0010ffff](?:[\x20-\x7e]*[\x21-\x7e])?")
_PLAIN_TRAPS = re.compile(r": | #|:$|^[-?]$|^[-?] ")
# A one-line single-quoted scalar of printable ASCII; quotes inside are doubled.
_SINGLE_QUOTED = re.compile(r"'((?:[\x20-\x26\x28-\x7e]|'')*)'")
_SINGLE_QUOTED_PREFIX = re.compile(r"'(?:[\x20-\x26\x28-\x7e]|'')*'")
_COMMENT = re.compile(r"(?: +#.*)?")
_QUOTABLE = re.compile(r"[\x20-\x7e]*")
# The scalars config files are mostly made of, recognized in one step: decimal ints, plain floats, and words, names
# and paths that can only be strings (YAML resolves nothing that starts with a letter, '_' or '/' except the words
# in _RESERVED_WORDS).
_COMMON_SCALAR = re.compile(
    r"(?P<int>[-+]?(?:0|[1-9][0-9]*))"
    r"|(?P<float>[-+]?[0-9]+\.[0-9]*(?:[eE][-+][0-9]+)?|\.[0-9]+(?:[eE][-+][0-9]+)?)"
    r"|(?P<word>[A-Za-z_/](?:[A-Za-z0-9_./ -]*[A-Za-z0-9_./-])?)"
)
_COMMON_WORD = re.compile(r"[A-Za-z_/](?:[A-Za-z0-9_./ -]*[A-Za-z0-9_./-])?")
_RESERVED_WORDS = frozenset(
    word
    for base in ("yes", "no", "true", "false", "on", "off", "null")
    for word in (base, base.capitalize(), base.upper())
)
# A block mapping line whose key is an identifier, the shape of every dataclass field name.
_IDENTIFIER_KEY_LINE = re.compile(r"( *)([A-Za-z_][A-Za-z0-9_]*):(?: (.*))?")
_SIMPLE_INT = re.compile(r"[-+]?(?:0|[1-9][0-9]*)")
_SIMPLE_FLOAT = re.compile(r"[-+]?(?:[0-9]+\.[0-9]*|\.[0-9]+)(?:[eE][-+][0-9]+)?")
_SPECIAL_FLOATS = {".inf": math.inf, "+.inf": math.inf, "-.inf": -math.inf, ".nan": math.nan}
_BOOLEANS = {"yes": True, "no": False, "true": True, "false": False, "on": True, "off": False}
_EMITTER_RESOLVERS: dict[str, list[tuple[str, re.Pattern[str]]]] = _Dumper.yaml_implicit_resolvers
_LOADER_RESOLVERS: dict[str, list[tuple[str, re.Pattern[str]]]] = _Loader.yaml_implicit_resolvers
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
        except _OutsideFastPathError:
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
        key_text = _scalar(key)
        if len(key_text) > _SIMPLE_KEY_LIMIT or key == "":  # PyYAML writes these in the '? key' form
            raise _OutsideFastPathError
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
            lines.append(f"{indent}{key_text}: {_scalar(value)}")


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
            lines.append(f"{indent}- {_scalar(item)}")


def _scalar(value: Any) -> str:
    """Returns the text PyYAML writes for a scalar, or raises _OutsideFastPathError for the forms left to PyYAML."""
    value_type = type(value)
    if value_type is str:
        if _COMMON_WORD.fullmatch(value) and value not in _RESERVED_WORDS:
            return value  # type: ignore[no-any-return]
        if _PLAIN.fullmatch(value) and not _PLAIN_TRAPS.search(value) and not _resolves(value, _EMITTER_RESOLVERS):
            return value  # type: ignore[no-any-return]
        if _QUOTABLE.fullmatch(value):
            quoted: str = "'" + value.replace("'", "''") + "'"
            return quoted
        raise _OutsideFastPathError
    if value_type is bool:
        return "true" if value else "false"
    if value_type is int:
        return str(value)
    if value_type is float:
        return _float_text(value)
    if value is None:
        return "null"
    if value_type is datetime.datetime:  # PyYAML's safe representer writes both as plain YAML timestamps
        return value.isoformat(" ")  # type: ignore[no-any-return]
    if value_type is datetime.date:
        return value.isoformat()  # type: ignore[no-any-return]
    raise _OutsideFastPathError


def _float_text(value: float) -> str:
    """Returns a float as PyYAML's safe representer writes it (so 1e+20 becomes 1.0e+20 and reads back as float)."""
    if value != value:  # noqa: PLR0124 - NaN is the only value not equal to itself
        return ".nan"
    if value == math.inf:
        return ".inf"
    if value == -math.inf:
        return "-.inf"
    text = repr(value).lower()
    if "." not in text and "e" in text:
        text = text.replace("e", ".0e", 1)
    return text


def _resolves(text: str, resolvers: dict[str, list[tuple[str, re.Pattern[str]]]]) -> str | None:
    """Returns the YAML tag a plain scalar resolves to other than str (int, float, bool, null, ...), or None."""
    for tag, pattern in resolvers.get(text[0], ()):
        if pattern.match(text):
            return tag
    return None


def load_document(text: str) -> Any:
    """Returns the data of the single YAML document in text (None for an empty document).

    Raises:
        yaml.YAMLError: If the text is not valid YAML or holds more than one document.
    """
    try:
        return _read_fast(text)
    except _OutsideFastPathError:
        return yaml.load(text, Loader=_Loader)


# A block mapping line: indentation, a plain or single-quoted key, a colon, and optionally a value after one space.
_KEY_LINE = re.compile(r"( *)([^'\s][^:]*?|'(?:[^']|'')*'):(?: (.*))?")


def _read_fast(text: str) -> Any:
    """Parses the block mapping documents YamlConfig writes (and close relatives written by hand).

    Raises:
        _OutsideFastPathError: For anything else, including every malformed document, so PyYAML reports the error.
    """
    if "\t" in text or "\r" in text or not text.isascii():
        raise _OutsideFastPathError
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
        raise _OutsideFastPathError
    for line in lines:
        if line.startswith(("---", "...", "%")):
            raise _OutsideFastPathError
    reader = _BlockReader(lines)
    value = reader.block(0)
    if reader.position != len(lines):
        raise _OutsideFastPathError
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
                    raise _OutsideFastPathError
                if key in _RESERVED_WORDS:
                    key = _read_scalar(key)
            else:
                line_indent = len(line) - len(line.lstrip(" "))
                if line_indent < indent:
                    break
                match = _KEY_LINE.fullmatch(line)
                if line_indent > indent or match is None:
                    raise _OutsideFastPathError
                key = _read_scalar(match.group(2))
                value_text = match.group(3)
            self.position += 1
            if value_text and "#" in value_text:
                value_text = _without_comment(value_text)
            if value_text:
                result[key] = _read_value(value_text)
            elif value_text is None:
                result[key] = self.nested(indent)
            else:  # "key: " with trailing space only
                raise _OutsideFastPathError
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
                    raise _OutsideFastPathError
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
        quoted = _SINGLE_QUOTED_PREFIX.match(text)
        if quoted is None or not _COMMENT.fullmatch(text, quoted.end()):
            raise _OutsideFastPathError
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
    return _read_scalar(text)


def _read_scalar(text: str) -> Any:
    """Returns the value of a one-line plain or single-quoted scalar, exactly as the safe loader constructs it."""
    match = _COMMON_SCALAR.fullmatch(text)
    if match is not None:
        kind = match.lastgroup
        if kind == "int":
            return int(text)
        if kind == "float":
            return float(text)
        if text not in _RESERVED_WORDS:
            return text
    return _read_other_scalar(text)


def _read_other_scalar(text: str) -> Any:
    """Returns the value of a scalar that is not a decimal int, a simple float or an unquoted word."""
    if not text:
        raise _OutsideFastPathError
    if text[0] == "'":
        match = _SINGLE_QUOTED.fullmatch(text)
        if match is None:
            raise _OutsideFastPathError
        return match.group(1).replace("''", "'")
    if not _PLAIN.fullmatch(text) or _PLAIN_TRAPS.search(text):
        raise _OutsideFastPathError
    tag = _resolves(text, _LOADER_RESOLVERS)
    if tag is None:
        return text
    kind = tag.rsplit(":", 1)[-1]
    if kind == "int" and _SIMPLE_INT.fullmatch(text):
        return int(text)
    if kind == "float":
        if _SIMPLE_FLOAT.fullmatch(text):
            return float(text)
        lowered = text.lower()
        if lowered in _SPECIAL_FLOATS:
            return _SPECIAL_FLOATS[lowered]
    if kind == "bool":
        return _BOOLEANS[text.lower()]
    if kind == "null":
        return None
    raise _OutsideFastPathError  # octal, hexadecimal, sexagesimal, underscores, timestamps, merge keys: PyYAML's job
