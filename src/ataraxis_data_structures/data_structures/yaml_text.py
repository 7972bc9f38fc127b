"""Turns YAML-native data (dicts, lists, scalars) into the text of a YamlConfig file and back."""

from __future__ import annotations

import enum
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


def dump_document(data: Any) -> str:
    """Returns data as one block-style YAML document between '---' and '...' markers, keys in insertion order."""
    return yaml.dump(
        data,
        Dumper=_Dumper,
        sort_keys=False,
        explicit_start=True,
        explicit_end=True,
        default_flow_style=False,
        width=_UNLIMITED_WIDTH,
    )


def load_document(text: str) -> Any:
    """Returns the data of the single YAML document in text (None for an empty document)."""
    return yaml.load(text, Loader=_Loader)
