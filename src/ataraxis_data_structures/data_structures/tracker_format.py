"""The processing tracker file format: plain YAML of a fixed schema, with a fast emitter and an incremental parser.

A tracker file is the YAML document of the ``ProcessingTracker`` dataclass, exactly as PyYAML writes it. Release
7.x writes the registry alone (its *layout* "7")::

    ---
    jobs:
      d1c4958d7f784216:
        job_name: a
        specifier: b
        status: 0
        executor_id: null
        error_message: null
        started_at: null
        completed_at: null
    ...

and release 6.x also writes ``file_path: .`` before ``jobs`` and ``lock_path: ''`` after it (layout "6"). Both are
read; a rewrite keeps the layout the file has (``TrackerDocument.file_path``/``lock_path`` are None when absent).

Statuses are the integer values of ``ProcessingStatus``; timestamps are integer microseconds since the UTC epoch.
A running job may carry two fields the releases do not write, each only when set, after the other fields:
``lease_expires_at`` (microseconds, the end of the lease a running job's heartbeat keeps renewing) and
``executor_process`` (the identity of a ``pid:<pid>`` executor: host, boot, PID namespace, start time; see
``tracker_executors.ProcessIdentity``). Both releases load a file holding them (they ignore unknown job keys) and
drop them when they rewrite the file, which only makes such a job unknown to stale detection (never stale).

Pushing a 10,000-job document through the generic YAML machinery costs seconds, and a tracker operation changes one
job, so this module works per job *block* (the lines of one job, without the trailing newline):

- ``job_block`` writes one block. Values that PyYAML would write as plain scalars (and ``null``, integers, ``''``)
  are formatted directly; a block with any other value is cut out of a PyYAML dump of the document, so every block is
  byte-for-byte what PyYAML (and so the reference release) writes.
- ``parse_tracker`` splits a document in this canonical layout into blocks and looks each block up in a cache keyed
  by its text, so only blocks it has not seen before are parsed: by a strict line parser when the block uses only
  the simple scalars above, else by libyaml. Anything not in the canonical layout (hand edits, comments, other
  indentation, other header values) is parsed by libyaml as a whole document, so every valid YAML tracker is read
  exactly as a YAML parser reads it.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from typing import Any, NamedTuple

import yaml

from ..errors import TrackerFormatError
from .yaml_scalars import SAFE_DUMPER, SAFE_LOADER, OutsideFastPathError, is_plain, read_string

__all__ = [
    "EMPTY_TRACKER_TEXT",
    "EMPTY_TRACKER_TEXT_6",
    "FIELD_NAMES",
    "LEASE_FIELD",
    "PROCESS_FIELD",
    "STATUS_VALUES",
    "JobRecord",
    "TrackerDocument",
    "job_block",
    "parse_tracker",
    "record_from_mapping",
    "render_tracker",
]


class JobRecord(NamedTuple):
    """One job of a tracker file, as stored: the JobState fields plus the optional lease."""

    job_name: str
    specifier: str
    status: int
    executor_id: str | None = None
    error_message: str | None = None
    started_at: int | None = None
    completed_at: int | None = None
    lease_expires_at: int | None = None
    """When the lease of a running job ends (UTC epoch microseconds); None without a lease."""
    executor_process: str | None = None
    """The identity of a running job's 'pid:<pid>' executor (ProcessIdentity.to_text()); None when not recorded."""


FIELD_NAMES = ("job_name", "specifier", "status", "executor_id", "error_message", "started_at", "completed_at")
"""The JobState fields in the order they are written."""
LEASE_FIELD = "lease_expires_at"
"""The optional job field written after FIELD_NAMES when a running job holds a lease."""
PROCESS_FIELD = "executor_process"
"""The optional job field written last when a running job records its executor process's identity."""
_OPTIONAL_FIELDS = (LEASE_FIELD, PROCESS_FIELD)

STATUS_VALUES = (0, 1, 2, 3)
"""The integer values of ProcessingStatus (SCHEDULED, RUNNING, SUCCEEDED, FAILED)."""

_HEADER = "---\nfile_path: .\njobs:\n"
_FOOTER = "lock_path: ''\n...\n"
_HEADER_7 = "---\njobs:\n"
_FOOTER_7 = "...\n"
EMPTY_TRACKER_TEXT = "---\njobs: {}\n...\n"
"""The text of a tracker without jobs, in the layout release 7.x writes (and new files get)."""
EMPTY_TRACKER_TEXT_6 = "---\nfile_path: .\njobs: {}\nlock_path: ''\n...\n"
"""The text of a tracker without jobs, in the layout release 6.x writes."""

# The options the reference release's files are written with (block style, field order, markers, no folding below
# 200 columns, non-ASCII escaped); the generic fallback uses them so its blocks match the fast path byte for byte.
_DUMP_OPTIONS: dict[str, Any] = {
    "Dumper": SAFE_DUMPER,
    "explicit_start": True,
    "explicit_end": True,
    "sort_keys": False,
    "default_flow_style": False,
    "allow_unicode": False,
    "width": 200,
}
_WIDTH = 200
_LONGEST_SIMPLE_KEY = 64  # PyYAML writes keys longer than 128 characters in the '? key' form; stay well below.

_BLOCK_START = re.compile(r"\n(?=  [^ \n])")  # a line indented by exactly two spaces starts a job block
_JOB_ID = re.compile(r"[0-9a-f]{16}")
# A job block in the fast emitter's layout: each entry on one line, integers and null where the schema has them.
_SIMPLE_BLOCK = re.compile(
    r"  ([^\n]+):\n"
    r"    job_name: ([^\n]+)\n"
    r"    specifier: ([^\n]+)\n"
    r"    status: ([0-3])\n"
    r"    executor_id: ([^\n]+)\n"
    r"    error_message: ([^\n]+)\n"
    r"    started_at: (null|0|-?[1-9][0-9]*)\n"
    r"    completed_at: (null|0|-?[1-9][0-9]*)"
    r"(?:\n    lease_expires_at: (0|-?[1-9][0-9]*))?"
    r"(?:\n    executor_process: ([^\n]+))?"
)

_block_cache: dict[str, tuple[str, JobRecord]] = {}
_BLOCK_CACHE_LIMIT = 100_000


class TrackerDocument(NamedTuple):
    """A parsed tracker file: the header values, and each job's canonical block text and record, in file order.

    ``file_path`` and ``lock_path`` are None when the file does not hold them (the 7.x layout).
    """

    file_path: str | None
    lock_path: str | None
    blocks: dict[str, str]
    records: dict[str, JobRecord]


def _is_plain(text: str) -> bool:
    """Returns True if PyYAML writes text as a plain scalar that reads back as this string (yaml_scalars' rule)."""
    return _is_plain_job_id(text) or is_plain(text)


def _is_plain_job_id(text: str) -> bool:
    """Returns True for a generated job ID (16 lowercase hex digits) that YAML reads as a string, quickly.

    Such an ID has no indicator, space or dot, so the only implicit types it could take are the integers: all
    decimal digits, or binary ('0b' and binary digits). Anything else is left to the general check.
    """
    return len(text) == 16 and _JOB_ID.fullmatch(text) is not None and not text.isdigit() and text[:2] != "0b"


def _simple_value(value: str | int | None, prefix_length: int) -> str | None:
    """Returns the scalar text of value when it needs no quoting or folding, or None if PyYAML has to write it."""
    if value is None:
        return "null"
    if isinstance(value, int):
        return str(value)
    if value == "":
        return "''"
    if _is_plain(value) and (" " not in value or prefix_length + len(value) <= _WIDTH):
        return value
    return None


def _fields_mapping(record: JobRecord) -> dict[str, Any]:
    """Returns the record as the mapping of field names to YAML values (the lease only when set)."""
    fields = dict(zip(FIELD_NAMES, record[:7], strict=True))
    if record.lease_expires_at is not None:
        fields[LEASE_FIELD] = record.lease_expires_at
    if record.executor_process is not None:
        fields[PROCESS_FIELD] = record.executor_process
    return fields


def job_block(job_id: str, record: JobRecord) -> str:
    """Returns the canonical text of one job block (its key line and field lines, without the trailing newline).

    Args:
        job_id: The job's key in the jobs mapping.
        record: The job's field values, in FIELD_NAMES order.

    Returns:
        The block exactly as PyYAML writes it inside a tracker document.
    """
    if type(record) is not JobRecord:  # a plain (job_name, specifier, status, ...) tuple: name its fields
        record = JobRecord(*record)
    block = _emit_block(job_id, record)
    # Remember what the block stands for: another process's next write carries it over unchanged, and reading that
    # file back then needs no parsing of this job.
    if len(_block_cache) > _BLOCK_CACHE_LIMIT:
        _block_cache.clear()
    _block_cache[block] = (job_id, record)
    return block


def _emit_block(job_id: str, record: JobRecord) -> str:
    """Returns the canonical text of one job block (see job_block)."""
    simple_key = job_id and " " not in job_id and len(job_id) <= _LONGEST_SIMPLE_KEY and _is_plain(job_id)
    lines = [f"  {job_id}:"] if simple_key else None
    if lines is not None:
        for name, value in zip(FIELD_NAMES, record[:7], strict=True):
            text = _simple_value(value, 6 + len(name))
            if text is None:
                lines = None
                break
            lines.append(f"    {name}: {text}")
    if lines is not None and record.executor_process is not None:
        text = _simple_value(record.executor_process, 6 + len(PROCESS_FIELD))
        lines = None if text is None else lines
    if lines is not None:
        if record.lease_expires_at is not None:
            lines.append(f"    {LEASE_FIELD}: {int(record.lease_expires_at)}")
        if record.executor_process is not None:
            lines.append(f"    {PROCESS_FIELD}: {_simple_value(record.executor_process, 6 + len(PROCESS_FIELD))}")
        return "\n".join(lines)
    # Quoting, escaping and folding rules are PyYAML's business: let it write this one job and cut the block out.
    document = yaml.dump(
        {"file_path": ".", "jobs": {job_id: _fields_mapping(record)}, "lock_path": ""}, **_DUMP_OPTIONS
    )
    return str(document[len(_HEADER) : -len(_FOOTER) - 1])


def render_tracker(blocks: Iterable[str], file_path: str | None = None, lock_path: str | None = None) -> str:
    """Returns the complete text of a tracker document.

    Args:
        blocks: The job blocks (from job_block), in the order the jobs are to appear.
        file_path: The value of the document's file_path key ('.' in 6.x tracker files), or None to leave the key
            out (the 7.x layout).
        lock_path: The value of the document's lock_path key ('' in 6.x tracker files), or None to leave it out.

    Returns:
        The YAML document, with the '---' and '...' markers.
    """
    body = "\n".join(blocks)
    if file_path is None and lock_path is None:
        return f"{_HEADER_7}{body}\n{_FOOTER_7}" if body else EMPTY_TRACKER_TEXT
    if file_path == "." and lock_path == "":
        return f"{_HEADER}{body}\n{_FOOTER}" if body else EMPTY_TRACKER_TEXT_6
    head = "" if file_path is None else _dump_top_level_entry("file_path", file_path)
    tail = "" if lock_path is None else _dump_top_level_entry("lock_path", lock_path)
    return f"---\n{head}jobs:\n{body}\n{tail}...\n" if body else f"---\n{head}jobs: {{}}\n{tail}...\n"


def _dump_top_level_entry(key: str, value: str) -> str:
    """Returns the 'key: value' line(s) of one top-level string entry as PyYAML writes it."""
    text = yaml.dump({key: value}, **{**_DUMP_OPTIONS, "explicit_start": False, "explicit_end": False})
    return str(text)


def parse_tracker(data: bytes | str, source: str) -> TrackerDocument:
    """Parses the text of a tracker file.

    Args:
        data: The file's content.
        source: The file's path, used in error messages.

    Returns:
        The parsed document.

    Raises:
        TrackerFormatError: If the content is not valid YAML, is not a tracker document, or a job field has a wrong
            type or value. The message names the file and, where it applies, the job and field.
    """
    text: str | None
    if isinstance(data, str):
        text = data
    else:
        try:
            text = data.decode("utf-8")
        except UnicodeDecodeError:
            text = None  # Possibly another encoding YAML allows (UTF-16 with a BOM); let libyaml decide.
    if text is not None:
        if text == EMPTY_TRACKER_TEXT:
            return TrackerDocument(None, None, {}, {})
        if text == EMPTY_TRACKER_TEXT_6:
            return TrackerDocument(".", "", {}, {})
        split = _split_canonical(text)
        if split is not None:
            document = _parse_blocks(split[1], split[0])
            if document is not None:
                return document
    return _parse_generic(data, source)


def _split_canonical(text: str) -> tuple[bool, list[str]] | None:
    """Returns (whether the layout is 6.x's, the job blocks) of a document in a canonical layout, else None."""
    if text.startswith(_HEADER) and text.endswith(_FOOTER):
        six, body = True, text[len(_HEADER) : -len(_FOOTER) - 1]  # Without the newline that ends the last block.
    elif text.startswith(_HEADER_7) and text.endswith(_FOOTER_7):
        six, body = False, text[len(_HEADER_7) : -len(_FOOTER_7) - 1]
    else:
        return None
    if len(body) < 3 or body[2] == " " or not body.startswith("  "):
        return None
    return six, _BLOCK_START.split(body)


def _parse_blocks(blocks: list[str], six: bool) -> TrackerDocument | None:
    """Parses canonical blocks through the cache, or returns None if one of them cannot stand alone."""
    cache = _block_cache
    if len(cache) > _BLOCK_CACHE_LIMIT:
        cache.clear()
    block_texts: dict[str, str] = {}
    records: dict[str, JobRecord] = {}
    for block in blocks:
        cached = cache.get(block)
        if cached is None:
            parsed = _parse_simple_block(block) or _parse_block_with_libyaml(block)
            if parsed is None:
                return None
            cache[block] = cached = parsed
        job_id, record = cached
        if job_id in records:  # A duplicate key: YAML keeps the last value, but the document's layout is unusual.
            return None
        block_texts[job_id] = block
        records[job_id] = record
    return TrackerDocument(".", "", block_texts, records) if six else TrackerDocument(None, None, block_texts, records)


class _NotSimpleError(Exception):
    """A value of a block is not one the line parser decodes; libyaml has to parse the block."""


def _decode_string(text: str) -> str:
    """Returns the string a one-line plain or single-quoted scalar stands for, or raises _NotSimpleError."""
    if _is_plain_job_id(text):
        return text
    try:
        return read_string(text)
    except OutsideFastPathError:
        raise _NotSimpleError from None


def _parse_simple_block(block: str) -> tuple[str, JobRecord] | None:
    """Parses a block in the fast emitter's layout, or returns None if it is laid out or valued otherwise."""
    match = _SIMPLE_BLOCK.fullmatch(block)
    if match is None:
        return None
    key, name, specifier, status, executor_id, error_message, started_at, completed_at, lease, process = match.groups()
    try:
        record = JobRecord(
            _decode_string(name),
            _decode_string(specifier),
            int(status),
            None if executor_id == "null" else _decode_string(executor_id),
            None if error_message == "null" else _decode_string(error_message),
            None if started_at == "null" else int(started_at),
            None if completed_at == "null" else int(completed_at),
            None if lease is None else int(lease),
            None if process is None else _decode_string(process),
        )
        return _decode_string(key), record
    except _NotSimpleError:
        return None


def _parse_block_with_libyaml(block: str) -> tuple[str, JobRecord] | None:
    """Parses one block with libyaml, or returns None if it is not a self-contained, valid job entry."""
    try:
        loaded = yaml.load(block + "\n", Loader=SAFE_LOADER)
    except yaml.YAMLError:
        return None
    if not isinstance(loaded, dict) or len(loaded) != 1:
        return None
    ((job_id, fields),) = loaded.items()
    if not isinstance(job_id, str) or not isinstance(fields, dict):
        return None
    try:
        return job_id, record_from_mapping(job_id, fields, "")
    except TrackerFormatError:
        return None


def _parse_generic(data: bytes | str, source: str) -> TrackerDocument:
    """Parses a document in any YAML layout with libyaml and validates it against the tracker schema."""
    try:
        loaded = yaml.load(data, Loader=SAFE_LOADER)
    except yaml.YAMLError as error:
        raise TrackerFormatError(
            f"The processing tracker file {source} is not valid YAML: {_describe(error)}"
        ) from None
    if not isinstance(loaded, dict):
        kind = "empty" if loaded is None else f"a {type(loaded).__name__}, not a mapping"
        raise TrackerFormatError(
            f"The processing tracker file {source} is not a tracker: its YAML document is {kind}. A tracker file "
            f"holds a mapping with the keys file_path, jobs and lock_path."
        )
    unknown = sorted(str(key) for key in loaded if key not in {"file_path", "jobs", "lock_path"})
    if unknown:
        raise TrackerFormatError(
            f"The processing tracker file {source} has unknown top-level key(s) {', '.join(unknown)}; expected only "
            f"file_path, jobs and lock_path."
        )
    if "jobs" not in loaded:
        raise TrackerFormatError(f"The processing tracker file {source} has no 'jobs' mapping.")
    jobs = loaded["jobs"]
    if jobs is None:
        jobs = {}
    if not isinstance(jobs, dict):
        raise TrackerFormatError(
            f"The processing tracker file {source}: 'jobs' must map job IDs to job fields, got {_show(jobs)}."
        )
    header = {key: loaded.get(key) for key in ("file_path", "lock_path")}
    for key, value in header.items():
        if value is not None and not isinstance(value, str):
            raise TrackerFormatError(
                f"The processing tracker file {source}: '{key}' must be a string, got {_show(value)}."
            )
    blocks: dict[str, str] = {}
    records: dict[str, JobRecord] = {}
    for job_id, fields in jobs.items():
        if not isinstance(job_id, str):
            raise TrackerFormatError(f"The processing tracker file {source}: job ID {job_id!r} must be a string.")
        if not isinstance(fields, dict):
            raise TrackerFormatError(
                f"The processing tracker file {source}: job {job_id} must be a mapping of fields, got {_show(fields)}."
            )
        record = record_from_mapping(job_id, fields, source)
        records[job_id] = record
        blocks[job_id] = job_block(job_id, record)
    return TrackerDocument(header["file_path"], header["lock_path"], blocks, records)


def record_from_mapping(job_id: str, fields: Mapping[Any, Any], source: str) -> JobRecord:
    """Validates the fields of one job and returns its record.

    Args:
        job_id: The job's ID, used in error messages.
        fields: The mapping of field names to values, as read from YAML.
        source: The file the job comes from, used in error messages.

    Returns:
        The job's record.

    Raises:
        TrackerFormatError: If a field is unknown or missing, or has a value of the wrong type.
    """
    where = f"The processing tracker file {source}: job {job_id}"
    unknown = [str(name) for name in fields if name not in FIELD_NAMES and name not in _OPTIONAL_FIELDS]
    if unknown:
        raise TrackerFormatError(
            f"{where} has unknown field(s) {', '.join(unknown)}; expected {', '.join(FIELD_NAMES)} (and optionally "
            f"{' and '.join(_OPTIONAL_FIELDS)})."
        )
    if "job_name" not in fields:
        raise TrackerFormatError(f"{where} has no job_name.")
    record = JobRecord(
        _checked(fields["job_name"], str, False, where, "job_name"),
        _checked(fields.get("specifier", ""), str, False, where, "specifier"),
        _checked_status(fields.get("status", 0), where),
        _checked(fields.get("executor_id"), str, True, where, "executor_id"),
        _checked(fields.get("error_message"), str, True, where, "error_message"),
        _checked(fields.get("started_at"), int, True, where, "started_at"),
        _checked(fields.get("completed_at"), int, True, where, "completed_at"),
        _checked(fields.get(LEASE_FIELD), int, True, where, LEASE_FIELD),
        _checked(fields.get(PROCESS_FIELD), str, True, where, PROCESS_FIELD),
    )
    return record


def _checked_status(value: Any, where: str) -> int:
    """Returns value if it is a status code, else raises TrackerFormatError listing the valid codes."""
    if isinstance(value, int) and not isinstance(value, bool) and value in STATUS_VALUES:
        return value
    raise TrackerFormatError(
        f"{where}: status must be one of 0 (SCHEDULED), 1 (RUNNING), 2 (SUCCEEDED), 3 (FAILED), got {_show(value)}."
    )


def _checked(value: Any, kind: type, nullable: bool, where: str, name: str) -> Any:
    """Returns value if it has the expected type, else raises TrackerFormatError naming the field."""
    if value is None and nullable:
        return None
    if isinstance(value, kind) and not isinstance(value, bool):
        # A str subclass (a StrEnum member) is stored as the plain str it stands for: YAML's safe dumper cannot
        # write the subclass, and a reader gets back what the releases give, a str.
        return str.__str__(value) if kind is str and type(value) is not str else value
    expected = f"{kind.__name__} or null" if nullable else kind.__name__
    raise TrackerFormatError(f"{where}: {name} must be {expected}, got {_show(value)}.")


def _show(value: Any) -> str:
    """Returns a short description of a value for an error message."""
    text = repr(value)
    if len(text) > 60:
        text = text[:57] + "..."
    return f"{text} ({type(value).__name__})"


def _describe(error: yaml.YAMLError) -> str:
    """Returns a one-line description of a YAML error with its line and column."""
    problem = getattr(error, "problem", None) or str(error).splitlines()[0]
    mark = getattr(error, "problem_mark", None)
    if mark is not None:
        return f"{problem} at line {mark.line + 1}, column {mark.column + 1}"
    return str(problem)
