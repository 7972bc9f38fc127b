r"""What a log source is: SourceDescription, and the two places it is stored (the live log folder, each archive).

The format is stated here once; DataLogger writes the live file, assembly carries it into the archives, and
LogArchiveReader, ``axds inspect`` and the plot read it back through this module.

Each description is a JSON object (version 1)::

    {"described_us": 1764100000000000, "name": "lick sensor", "dtype": "<u2", "shape": [4],
     "schema": null, "units": "ADC counts", "note": "..."}

``described_us`` is when DataLogger was given it (UTC epoch microseconds); ``dtype`` is the numpy descr a ``.npy``
header uses (a string, or a list of ``[name, descr]`` / ``[name, descr, shape]`` for a structured dtype); every
other field but ``name`` may be null. Readers ignore fields they do not know, so later versions may add some.

- **Live folder**: ``axds_sources.json`` in the log directory, replaced atomically (``_durable_files``) each time a
  description is given::

      {"format": "axds-log-sources", "version": 1, "sources": {"7": [description, ...]}}

  Each source lists its descriptions oldest first; the last is the current one. The name is outside the ``*.npy``
  and ``*.npz`` patterns the lab's pipeline and both releases look at.
- **Archive**: one comment line per description, ``@source {json}``, after the manifest and the session lines (see
  archive_format). The JSON holds no whitespace (a space inside a string is written ``\u0020``), so the line has two
  fields: the manifest (three fields) and session (four) decoders of this and earlier versions skip it, and numpy
  and both releases ignore the comment altogether.

A description changed between sessions: the latest wins (``LogArchiveReader.description``); the earlier ones are
kept, with when each was given, in ``LogArchiveReader.description_history``.
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
import time
import warnings
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import DTypeLike, NDArray

from .._durable_files import replace_file_atomically
from ..errors import SourceDescriptionWarning
from ..file_locks import hold_lock

__all__ = [
    "ARCHIVE_LINE",
    "FORMAT_NAME",
    "FORMAT_VERSION",
    "MAX_DESCRIPTION_BYTES",
    "MAX_HISTORY",
    "SOURCES_FILE_NAME",
    "DescribedSource",
    "SourceDescription",
    "SourceDescriptionWarning",
    "checked_entry",
    "decode_archive_lines",
    "description_fields",
    "description_from_fields",
    "encode_archive_lines",
    "merge_history",
    "now_us",
    "read_sources_file",
    "store_descriptions",
    "summary_text",
    "write_sources_file",
]

SOURCES_FILE_NAME = "axds_sources.json"
"""The live folder's description file (outside the *.npy / *.npz names the releases and the lab's code look at)."""
FORMAT_NAME = "axds-log-sources"
FORMAT_VERSION = 1
ARCHIVE_LINE = "@source"
"""The archive comment line that carries one description."""
MAX_DESCRIPTION_BYTES = 4096
"""The largest encoded description: a ZIP comment holds at most 65,535 bytes, shared with the manifest."""
_ESCAPED_SPACE = "\\u0020"
MAX_HISTORY = 8
"""Descriptions kept per source (the latest and the 7 before it): older ones are dropped first."""


@dataclass(frozen=True, slots=True, init=False)
class SourceDescription:
    """Says what a log source is: its name and what each of its payloads holds.

    Args:
        name: The source's name (``"left camera"``, ``"encoder"``).
        dtype: What a payload holds, as a numpy dtype (anything ``numpy.dtype`` accepts; stored as a ``numpy.dtype``).
        shape: The shape of a payload's array of ``dtype`` (None: one-dimensional, as many as the bytes hold).
        schema: What a payload holds, free-form (a struct layout, a protocol name), when a dtype does not say it.
        units: The units of the values.
        note: Anything else worth knowing.

    Raises:
        TypeError: If a field has the wrong type (dtype is not a dtype numpy knows, shape not integers).
        ValueError: If name is empty, shape holds a negative size, or the encoded description exceeds 4096 bytes.
    """

    name: str
    dtype: np.dtype[Any] | None = field(default=None, kw_only=True)
    shape: tuple[int, ...] | None = field(default=None, kw_only=True)
    schema: str | None = field(default=None, kw_only=True)
    units: str | None = field(default=None, kw_only=True)
    note: str | None = field(default=None, kw_only=True)

    def __init__(
        self,
        name: str,
        *,
        dtype: DTypeLike | None = None,
        shape: Iterable[int] | None = None,
        schema: str | None = None,
        units: str | None = None,
        note: str | None = None,
    ) -> None:
        if not isinstance(name, str) or not name:
            raise ValueError(f"SourceDescription: name must be a non-empty str, got {name!r}")
        for label, text in (("schema", schema), ("units", units), ("note", note)):
            if text is not None and not isinstance(text, str):
                raise TypeError(f"SourceDescription {name!r}: {label} must be a str or None, got {type(text).__name__}")
        try:
            resolved = None if dtype is None else np.dtype(dtype)
        except TypeError as error:
            raise TypeError(f"SourceDescription {name!r}: dtype {dtype!r} is not a numpy dtype ({error})") from None
        sizes: tuple[int, ...] | None = None
        if shape is not None:
            sizes = tuple(shape)
            if not all(isinstance(size, (int, np.integer)) and not isinstance(size, bool) for size in sizes):
                raise TypeError(f"SourceDescription {name!r}: shape must hold integers, got {shape!r}")
            sizes = tuple(int(size) for size in sizes)
            if any(size < 0 for size in sizes):
                raise ValueError(f"SourceDescription {name!r}: shape holds a negative size: {sizes}")
        object.__setattr__(self, "name", name)
        object.__setattr__(self, "dtype", resolved)
        object.__setattr__(self, "shape", sizes)
        object.__setattr__(self, "schema", schema)
        object.__setattr__(self, "units", units)
        object.__setattr__(self, "note", note)
        size = len(_encode_line(DescribedSource(0, self)))
        if size > MAX_DESCRIPTION_BYTES:
            raise ValueError(
                f"SourceDescription {name!r}: {size} bytes encoded, more than the {MAX_DESCRIPTION_BYTES} an archive "
                "keeps per description; shorten the schema or note"
            )

    def interpret(self, payload: NDArray[np.uint8]) -> NDArray[Any]:
        """Returns a payload's bytes as the array this description says it holds (a view where it can be).

        Raises:
            ValueError: If there is no dtype, or the payload's size does not fit the dtype and shape.
        """
        if self.dtype is None:
            raise ValueError(f"SourceDescription {self.name!r} has no dtype to interpret a payload with")
        values = np.frombuffer(np.ascontiguousarray(payload), dtype=self.dtype)
        return values if self.shape is None else values.reshape(self.shape)


@dataclass(frozen=True, slots=True)
class DescribedSource:
    """One description of a source and when it was given."""

    described_us: int
    """When DataLogger was given the description: UTC epoch microseconds."""
    description: SourceDescription


def now_us() -> int:
    """Returns the current UTC epoch in microseconds (the clock of onsets and described_us)."""
    return time.time_ns() // 1000


def _descr(dtype: np.dtype[Any]) -> Any:
    return np.lib.format.dtype_to_descr(dtype)


def _tuples(value: Any) -> Any:
    """Turns JSON lists back into the tuples a structured dtype descr holds."""
    return tuple(_tuples(item) for item in value) if isinstance(value, list) else value


def _to_json(entry: DescribedSource) -> dict[str, Any]:
    description = entry.description
    return {
        "described_us": entry.described_us,
        "name": description.name,
        "dtype": None if description.dtype is None else _descr(description.dtype),
        "shape": None if description.shape is None else list(description.shape),
        "schema": description.schema,
        "units": description.units,
        "note": description.note,
    }


def description_fields(description: SourceDescription) -> dict[str, Any]:
    """Returns a description as the JSON object the format stores (without described_us): what ``--json`` prints."""
    fields = _to_json(DescribedSource(0, description))
    del fields["described_us"]
    return fields


def description_from_fields(fields: Mapping[str, Any]) -> SourceDescription:
    """Returns the description a JSON object of :func:`description_fields` holds.

    Raises:
        TypeError, ValueError: If the object is not a valid description (the message says which field).
    """
    return _from_json(dict(fields)).description


def summary_text(description: SourceDescription) -> str:
    """Returns what a payload holds, in one line: dtype and shape, schema, units and note, those given."""
    parts = []
    if description.dtype is not None:
        parts.append(str(description.dtype) + ("" if description.shape is None else f", shape {description.shape}"))
    elif description.shape is not None:
        parts.append(f"shape {description.shape}")
    parts.extend(
        f"{label} {text}"
        for label, text in (("schema", description.schema), ("units", description.units), ("note", description.note))
        if text
    )
    return "; ".join(parts) or "not described"


def _from_json(data: Any) -> DescribedSource:
    """Returns the description a JSON object holds; raises ValueError (or TypeError) naming what is wrong."""
    if not isinstance(data, dict):
        raise TypeError(f"a description is a JSON object, got {type(data).__name__}")
    described = data.get("described_us", 0)
    if not isinstance(described, int) or isinstance(described, bool):
        raise TypeError(f"described_us must be an integer, got {described!r}")
    dtype = data.get("dtype")
    if isinstance(dtype, list):
        dtype = [_tuples(item) for item in dtype]
    description = SourceDescription(
        data.get("name"),  # type: ignore[arg-type]  # checked by SourceDescription
        dtype=dtype,
        shape=data.get("shape"),
        schema=data.get("schema"),
        units=data.get("units"),
        note=data.get("note"),
    )
    return DescribedSource(described, description)


def _encode_line(entry: DescribedSource) -> bytes:
    text = json.dumps(_to_json(entry), ensure_ascii=True, separators=(",", ":"))
    # Compact ASCII JSON holds whitespace only inside strings: escaped, the line splits into exactly two fields.
    return (ARCHIVE_LINE + " " + text.replace(" ", _ESCAPED_SPACE) + "\n").encode("ascii")


def merge_history(*histories: Iterable[DescribedSource]) -> list[DescribedSource]:
    """Returns the distinct descriptions of several histories, oldest first, at most MAX_HISTORY (the latest kept).

    A description given again unchanged (a logger restarted with the same sources) adds nothing.
    """
    merged: list[DescribedSource] = []
    for entry in sorted({entry for history in histories for entry in history}, key=lambda e: e.described_us):
        if merged and merged[-1].description == entry.description:
            continue
        merged.append(entry)
    return merged[-MAX_HISTORY:]


def encode_archive_lines(history: list[DescribedSource]) -> bytes:
    """Returns the archive comment lines that carry a source's descriptions (none for an undescribed source)."""
    return b"".join(_encode_line(entry) for entry in history)


def decode_archive_lines(comment: bytes, origin: Path | str) -> list[DescribedSource]:
    """Returns the descriptions an archive comment carries, oldest first (empty for archives without any).

    A line that does not decode is skipped with a SourceDescriptionWarning naming the archive.
    """
    history: list[DescribedSource] = []
    prefix = ARCHIVE_LINE.encode("ascii") + b" "
    for line in comment.splitlines():
        if not line.startswith(prefix):
            continue
        try:
            history.append(_from_json(json.loads(line[len(prefix) :])))
        except (ValueError, TypeError) as error:
            warnings.warn(
                f"{origin}: a source description in the archive comment could not be read ({error}); ignored",
                SourceDescriptionWarning,
                stacklevel=3,
            )
    return sorted(history, key=lambda entry: entry.described_us)


def read_sources_file(directory: Path) -> dict[int, list[DescribedSource]]:
    """Returns the descriptions of a live log folder by source ID, each oldest first (empty when there is no file).

    A damaged or foreign file (torn, not JSON, another format or version) gives what could be read of it, with a
    SourceDescriptionWarning naming the file: recording and assembly never fail because of it.
    """
    path = Path(directory) / SOURCES_FILE_NAME
    try:
        text = path.read_bytes()
    except FileNotFoundError:
        return {}
    except OSError as error:
        _warn_file(path, f"unreadable ({error})")
        return {}
    try:
        document = json.loads(text)
    except ValueError as error:  # torn, or not JSON (UnicodeDecodeError is a ValueError)
        _warn_file(path, f"not a JSON document ({error})")
        return {}
    if not isinstance(document, dict) or document.get("format") != FORMAT_NAME:
        _warn_file(path, f"not an {FORMAT_NAME} file")
        return {}
    if document.get("version") != FORMAT_VERSION:
        _warn_file(path, f"format version {document.get('version')!r}, this version reads {FORMAT_VERSION}")
        return {}
    sources = document.get("sources")
    result: dict[int, list[DescribedSource]] = {}
    for key, entries in (sources if isinstance(sources, dict) else {}).items():
        if not (isinstance(key, str) and key.isdigit() and int(key) <= 255 and isinstance(entries, list)):
            _warn_file(path, f"source {key!r} is not a source ID 0..255 with a list of descriptions; ignored")
            continue
        for entry in entries:
            try:
                result.setdefault(int(key), []).append(_from_json(entry))
            except (ValueError, TypeError) as error:
                _warn_file(path, f"a description of source {key} could not be read ({error}); ignored")
    return {source: merge_history(entries) for source, entries in result.items()}


def _warn_file(path: Path, problem: str) -> None:
    warnings.warn(
        f"{path}: {problem}; the source descriptions in it are not used", SourceDescriptionWarning, stacklevel=4
    )


def checked_entry(
    source_id: int | np.integer[Any], description: SourceDescription | str
) -> tuple[int, DescribedSource]:
    """Returns a source ID and its description, given now, after checking both (a str is the source's name).

    Raises:
        TypeError: If source_id is not an integer, or description is not a SourceDescription or str.
        ValueError: If source_id is not in 0..255 (as LogPackage requires), or the name is empty.
    """
    if isinstance(source_id, bool) or not isinstance(source_id, (int, np.integer)):
        raise TypeError(f"a source ID must be an integer in 0..255, got {source_id!r} ({type(source_id).__name__})")
    if not 0 <= int(source_id) <= 255:
        raise ValueError(f"a source ID must be in 0..255, got {source_id}")
    if isinstance(description, str):
        description = SourceDescription(description)
    elif not isinstance(description, SourceDescription):
        raise TypeError(
            f"the description of source {source_id} must be a SourceDescription or a name (str), got "
            f"{type(description).__name__}"
        )
    return int(source_id), DescribedSource(now_us(), description)


_LOCK_WAIT = 10.0


def store_descriptions(directory: Path, owner: str, described: Mapping[int, DescribedSource]) -> None:
    """Adds descriptions to a live folder's file under a lock (a DataLogger and its producers may write at once).

    Never raises for the file's sake: a failure is a SourceDescriptionWarning naming the file; the messages are
    logged as usual.
    """
    path = Path(directory) / SOURCES_FILE_NAME
    # The lock is outside the log folder (whose contents the lab's code and checksums see), one per folder.
    digest = hashlib.sha1(os.fsencode(Path(directory).absolute()), usedforsecurity=False).hexdigest()[:16]
    user = os.getuid() if hasattr(os, "getuid") else "user"
    lock = Path(tempfile.gettempdir()) / f"ataraxis_data_loggers_{user}" / f"sources-{digest}.lock"
    try:
        with hold_lock(lock, _LOCK_WAIT, lambda: TimeoutError(f"{lock} stayed locked for {_LOCK_WAIT:.0f} s")):
            write_sources_file(directory, described)
    except OSError as error:
        warnings.warn(
            f"{owner}: the source descriptions could not be written to {path} ({error}); the messages are logged as "
            "usual, and describing the source again (or the DataLogger's next start()) writes them",
            SourceDescriptionWarning,
            stacklevel=3,
        )


def write_sources_file(directory: Path, described: Mapping[int, DescribedSource]) -> None:
    """Adds descriptions to a live log folder's file (replaced atomically), keeping those it already holds.

    A description equal to a source's current one adds nothing, so a logger restarted with the same sources leaves
    the file unchanged.
    """
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", SourceDescriptionWarning)  # a damaged file is replaced, not merged
        existing = read_sources_file(directory)
    merged = dict(existing)
    for source_id, entry in described.items():
        merged[source_id] = merge_history(existing.get(source_id, []), [entry])
    if merged == existing and (Path(directory) / SOURCES_FILE_NAME).exists():
        return
    # Readable as it is: one description per line.
    sources = ",\n".join(
        f'  "{source}": [\n' + ",\n".join(f"    {json.dumps(_to_json(entry))}" for entry in merged[source]) + "\n  ]"
        for source in sorted(merged)
    )
    text = f'{{"format": "{FORMAT_NAME}", "version": {FORMAT_VERSION}, "sources": {{\n{sources}\n}}}}\n'
    replace_file_atomically(Path(directory) / SOURCES_FILE_NAME, text.encode("utf-8"))
