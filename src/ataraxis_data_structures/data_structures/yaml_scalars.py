"""The one set of YAML scalar rules that the config emitter/reader (yaml_text) and the tracker format share.

Both write YAML byte for byte as PyYAML's safe dumper writes it and read it as the safe loader does, taking fast
paths for one-line scalars. This module says once, for both:

- which loader and dumper stand behind the fast paths (:data:`SAFE_LOADER`, :data:`SAFE_DUMPER`): libyaml's C
  classes where PyYAML was built with them, else PyYAML's pure-Python ones, which read and write the same YAML, only
  slower (the one fallback rule; :data:`HAS_LIBYAML` tells which);
- when a string is written plain (:func:`is_plain`): exactly when PyYAML writes it without quotes and it reads back
  as the same string (YAML's implicit typing is asked of the resolver itself, so ``123``, ``true``, ``null``,
  ``1:30`` and ``2024-01-01`` are quoted);
- how a string that is not plain is quoted (:func:`single_quoted`): single quotes, inner quotes doubled, for
  printable ASCII on one line; anything else (line breaks, other characters) is left to PyYAML, which escapes it;
- how a one-line scalar reads back (:func:`read_scalar`, :func:`read_string`).

Functions raise :class:`OutsideFastPathError` for the forms they leave to PyYAML; the callers then hand the whole
value or document to the dumper or loader, so correctness never depends on the fast paths covering all of YAML.
"""

from __future__ import annotations

import datetime
import math
import re
from typing import Any

import yaml

HAS_LIBYAML = hasattr(yaml, "CSafeLoader") and hasattr(yaml, "CSafeDumper")
"""Whether PyYAML was built with libyaml; without it the pure-Python classes below stand in."""

SAFE_LOADER: type[yaml.SafeLoader] = yaml.CSafeLoader if HAS_LIBYAML else yaml.SafeLoader  # type: ignore[assignment]
"""The safe loader every reader in the package falls back to."""

SAFE_DUMPER: type[yaml.SafeDumper] = yaml.CSafeDumper if HAS_LIBYAML else yaml.SafeDumper  # type: ignore[assignment]
"""The safe dumper every writer in the package falls back to."""

__all__ = [
    "HAS_LIBYAML",
    "RESERVED_WORDS",
    "SAFE_DUMPER",
    "SAFE_LOADER",
    "OutsideFastPathError",
    "float_text",
    "is_plain",
    "read_scalar",
    "read_string",
    "resolved_tag",
    "scalar_text",
    "single_quoted",
]


class OutsideFastPathError(Exception):
    """Raised for a scalar form the fast paths leave to PyYAML (the caller hands the value or document to it)."""


# A scalar that YAML writes and reads without quotes when it is a plain string: printable ASCII that does not
# start with a character that begins other YAML syntax (comment, flow collection, anchor, alias, tag, quote, block
# scalar, directive, reserved; '-', '?' and ':' only when a space follows), has no leading or trailing space, no
# ': ' or ' #' inside, does not end in ':', and is not a document marker. Whether it still needs quotes because
# YAML would read it as a number, boolean, null or date is decided by the resolver.
_PLAIN = re.compile(r"(?!---|\.\.\.)[^\x00- #,\[\]{}&*!|>'\"%@`\x7f-\U0010ffff](?:[\x20-\x7e]*[\x21-\x7e])?")
_PLAIN_TRAPS = re.compile(r": | #|:$|^[-?]$|^[-?] ")
# A one-line single-quoted scalar of printable ASCII; quotes inside are doubled.
_SINGLE_QUOTED = re.compile(r"'((?:[\x20-\x26\x28-\x7e]|'')*)'")
_QUOTABLE = re.compile(r"[\x20-\x7e]*")
# The scalars config files are mostly made of, recognized in one step: decimal ints, plain floats, and words, names
# and paths that can only be strings (YAML resolves nothing that starts with a letter, '_' or '/' except the words
# in RESERVED_WORDS).
_COMMON_SCALAR = re.compile(
    r"(?P<int>[-+]?(?:0|[1-9][0-9]*))"
    r"|(?P<float>[-+]?[0-9]+\.[0-9]*(?:[eE][-+][0-9]+)?|\.[0-9]+(?:[eE][-+][0-9]+)?)"
    r"|(?P<word>[A-Za-z_/](?:[A-Za-z0-9_./ -]*[A-Za-z0-9_./-])?)"
)
_COMMON_WORD = re.compile(r"[A-Za-z_/](?:[A-Za-z0-9_./ -]*[A-Za-z0-9_./-])?")
RESERVED_WORDS = frozenset(
    word
    for base in ("yes", "no", "true", "false", "on", "off", "null")
    for word in (base, base.capitalize(), base.upper())
)
"""The words YAML 1.1 reads as booleans or null: the only words starting with a letter that are not strings."""
_SIMPLE_INT = re.compile(r"[-+]?(?:0|[1-9][0-9]*)")
_SIMPLE_FLOAT = re.compile(r"[-+]?(?:[0-9]+\.[0-9]*|\.[0-9]+)(?:[eE][-+][0-9]+)?")
_SPECIAL_FLOATS = {".inf": math.inf, "+.inf": math.inf, "-.inf": -math.inf, ".nan": math.nan}
_BOOLEANS = {"yes": True, "no": False, "true": True, "false": False, "on": True, "off": False}
# The dumper decides quoting with the same resolver table the loader reads with (both use yaml.resolver.Resolver).
_RESOLVERS: dict[str, list[tuple[str, re.Pattern[str]]]] = SAFE_LOADER.yaml_implicit_resolvers
_STR_TAG = "tag:yaml.org,2002:str"

_CONSTRUCTOR = yaml.constructor.SafeConstructor()
_plain_verdicts: dict[str, bool] = {}
_VERDICT_CACHE_LIMIT = 100_000


def resolved_tag(text: str) -> str | None:
    """Returns the YAML tag a plain scalar resolves to other than str (int, float, bool, null, ...), or None."""
    if not text:
        return "tag:yaml.org,2002:null"
    for tag, pattern in _RESOLVERS.get(text[0], ()):
        if pattern.match(text):
            return tag
    return None


def is_plain(text: str) -> bool:
    """Returns True if PyYAML writes the string as a plain scalar that the safe loader reads back as this string.

    Only printable ASCII on one line qualifies (with ``allow_unicode`` off, PyYAML escapes everything else).
    Whether a plain scalar with spaces would be folded at the dumper's width is the caller's question.
    """
    if _COMMON_WORD.fullmatch(text) is not None:
        return text not in RESERVED_WORDS
    verdict = _plain_verdicts.get(text)
    if verdict is None:
        verdict = _PLAIN.fullmatch(text) is not None and not _PLAIN_TRAPS.search(text) and resolved_tag(text) is None
        if len(_plain_verdicts) > _VERDICT_CACHE_LIMIT:
            _plain_verdicts.clear()
        _plain_verdicts[text] = verdict
    return verdict


def single_quoted(text: str) -> str | None:
    """Returns the single-quoted form PyYAML writes for a one-line printable ASCII string, or None for other text."""
    if _QUOTABLE.fullmatch(text) is None:
        return None
    return "'" + text.replace("'", "''") + "'"


def scalar_text(value: Any) -> str:
    """Returns the text PyYAML's safe dumper writes for a scalar (with unlimited width).

    Raises:
        OutsideFastPathError: For strings that need double quotes or escapes, and for other types.
    """
    value_type = type(value)
    if value_type is str:
        if is_plain(value):
            return value  # type: ignore[no-any-return]
        quoted = single_quoted(value)
        if quoted is None:
            raise OutsideFastPathError
        return quoted
    if value_type is bool:
        return "true" if value else "false"
    if value_type is int:
        return str(value)
    if value_type is float:
        return float_text(value)
    if value is None:
        return "null"
    if value_type is datetime.datetime:  # PyYAML's safe representer writes both as plain YAML timestamps
        return value.isoformat(" ")  # type: ignore[no-any-return]
    if value_type is datetime.date:
        return value.isoformat()  # type: ignore[no-any-return]
    raise OutsideFastPathError


def float_text(value: float) -> str:
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


def read_scalar(text: str) -> Any:
    """Returns the value of a one-line plain or single-quoted scalar, exactly as the safe loader constructs it.

    Raises:
        OutsideFastPathError: For forms left to the loader (double quotes, octal, sexagesimal, timestamps, ...).
    """
    match = _COMMON_SCALAR.fullmatch(text)
    if match is not None:
        kind = match.lastgroup
        if kind == "int":
            return int(text)
        if kind == "float":
            return float(text)
        if text not in RESERVED_WORDS:
            return text
    return _read_other_scalar(text)


def read_string(text: str) -> str:
    """Returns the string a one-line plain or single-quoted scalar stands for.

    Raises:
        OutsideFastPathError: If the scalar is not a string the fast path reads (a number, a null, double quotes).
    """
    if text and text[0] == "'":
        match = _SINGLE_QUOTED.fullmatch(text)
        if match is None:
            raise OutsideFastPathError
        return match.group(1).replace("''", "'")
    if not is_plain(text):
        raise OutsideFastPathError
    return text


def _read_other_scalar(text: str) -> Any:
    """Returns the value of a scalar that is not a decimal int, a simple float or an unquoted word."""
    if not text:
        raise OutsideFastPathError
    if text[0] == "'":
        return read_string(text)
    if not _PLAIN.fullmatch(text) or _PLAIN_TRAPS.search(text):
        raise OutsideFastPathError
    tag = resolved_tag(text)
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
    if kind == "timestamp":  # the loaders construct timestamps in Python too: the same constructor gives the same value
        try:
            return _CONSTRUCTOR.construct_yaml_timestamp(yaml.ScalarNode(tag, text))
        except ValueError:  # 2024-13-45: let the loader report it
            raise OutsideFastPathError from None
    raise OutsideFastPathError  # octal, hexadecimal, sexagesimal, underscores, merge keys: PyYAML's job
