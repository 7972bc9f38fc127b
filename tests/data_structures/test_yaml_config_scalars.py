"""The one YAML scalar module (yaml_scalars) that the config and tracker formats share: its plain-scalar, quoting
and reading rules agree with PyYAML on random strings, both emitters built on it write what PyYAML writes, and
without libyaml the files are byte for byte the same."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from ataraxis_data_structures.data_structures import tracker_format, yaml_scalars
from ataraxis_data_structures.data_structures.tracker_format import FIELD_NAMES, job_block
from ataraxis_data_structures.data_structures.yaml_scalars import OutsideFastPathError

CHILD = Path(__file__).with_name("yaml_scalars_children.py")
_UNLIMITED = 2**31 - 1

# Strings made of the characters that decide YAML's quoting and typing, so the interesting cases come up often.
_TRICKY = st.text(st.sampled_from(list("aZ09_-.:#'\" ?,[]{}&*!|>%@`~+=<\\/\t\nye\u00e9TtNn")), max_size=10)
_WORDS = st.sampled_from(
    [
        "yes",
        "No",
        "TRUE",
        "null",
        "~",
        "1:30",
        "0x1f",
        "0o17",
        "1_000",
        "2024-01-01",
        ".inf",
        "-.NaN",
        "1e3",
        "1.0e+3",
        "<<",
        "=",
        "---",
        "...",
        "- a",
        "? a",
        "a: b",
        "a #b",
        "a#b",
    ]
)
_STRINGS = st.one_of(_TRICKY, _WORDS, st.text(max_size=8))


def _pyyaml_value_text(value: object) -> str:
    """Returns what PyYAML writes after 'k: ' for the value (the config settings: unlimited width)."""
    text = yaml.dump({"k": value}, Dumper=yaml_scalars.SAFE_DUMPER, width=_UNLIMITED, default_flow_style=False)
    return str(text)[3:-1]


@settings(max_examples=600, deadline=None)
@given(text=_STRINGS)
def test_the_plain_and_quoting_rules_are_what_pyyaml_writes(text: str) -> None:
    written = _pyyaml_value_text(text)
    if yaml_scalars.is_plain(text):
        assert written == text
    try:
        fast = yaml_scalars.scalar_text(text)
    except OutsideFastPathError:
        assert yaml_scalars.single_quoted(text) is None and not yaml_scalars.is_plain(text)
        return
    assert fast == written
    assert yaml.load(f"k: {fast}\n", Loader=yaml_scalars.SAFE_LOADER) == {"k": text}


@settings(max_examples=600, deadline=None)
@given(text=_STRINGS)
def test_the_reading_rules_are_what_the_safe_loader_reads(text: str) -> None:
    try:
        expected = yaml.load(f"k: {text}\n", Loader=yaml_scalars.SAFE_LOADER)
    except yaml.YAMLError:
        expected = None
    if "\n" in text or text != text.strip(" ") or expected is None or len(expected) != 1:
        return  # not a one-line scalar: both readers leave such text to PyYAML
    try:
        value = yaml_scalars.read_scalar(text)
    except OutsideFastPathError:
        return
    loaded = expected["k"]
    assert type(value) is type(loaded) and (value == loaded or value != value), (text, value, loaded)
    try:
        string = yaml_scalars.read_string(text)
    except OutsideFastPathError:
        return
    assert string == loaded


@settings(max_examples=300, deadline=None)
@given(name=_STRINGS, specifier=_STRINGS, message=st.none() | _STRINGS)
def test_tracker_blocks_built_on_the_shared_rules_are_what_pyyaml_writes(
    name: str, specifier: str, message: str | None
) -> None:
    values = (name, specifier, 3, None, message, 1, 2)
    # JobRecord is a plain tuple type on main and a NamedTuple on the tracker branch: build it either way.
    record = tracker_format.JobRecord(*values) if hasattr(tracker_format.JobRecord, "_fields") else values
    job_id = "k"
    document = yaml.dump(
        {"file_path": ".", "jobs": {job_id: dict(zip(FIELD_NAMES, values, strict=True))}, "lock_path": ""},
        **tracker_format._DUMP_OPTIONS,
    )
    block = job_block(job_id, record)  # type: ignore[arg-type]
    assert f"jobs:\n{block}\n" in document


@pytest.mark.slow
@pytest.mark.parametrize("mode", ["with-libyaml", "without-libyaml"])
def test_files_are_the_same_without_libyaml(mode: str) -> None:
    if not yaml_scalars.HAS_LIBYAML:
        pytest.skip("PyYAML here has no libyaml to compare against")
    runs = [
        subprocess.run(
            [sys.executable, str(CHILD), run_mode],
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
            cwd=CHILD.parent,
        )
        for run_mode in ("with-libyaml", mode)
    ]
    for run in runs:
        assert run.returncode == 0, run.stderr
    assert runs[0].stdout == runs[1].stdout
    assert runs[0].stdout.count("\n") == 2
