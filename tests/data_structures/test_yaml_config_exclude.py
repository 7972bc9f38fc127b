"""YAML_EXCLUDE_METADATA and the restore_excluded_fields hook, with the semantics of release 7.2.0."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from yaml_exclude_children import Part, Session

import ataraxis_data_structures
from ataraxis_data_structures import YAML_EXCLUDE_METADATA, YamlConfig, YamlConfigError
from ataraxis_data_structures.data_structures import YAML_EXCLUDE_METADATA as FROM_SUBPACKAGE
from reference_release import OURS, REFERENCE7_PYTHON, needs_reference_7, run_python

CHILD = Path(__file__).with_name("yaml_exclude_children.py")

EXPECTED = "---\ncount: 5\npart:\n  keep: 1\nparts:\n- keep: 1\nby_name:\n  k:\n    keep: 1\nmaybe:\n  keep: 1\n...\n"


def test_the_metadata_is_exported_and_read_only() -> None:
    assert FROM_SUBPACKAGE is YAML_EXCLUDE_METADATA
    assert "YAML_EXCLUDE_METADATA" in ataraxis_data_structures.__all__
    assert dict(YAML_EXCLUDE_METADATA) == {"yaml_exclude": True}
    with pytest.raises(TypeError):
        YAML_EXCLUDE_METADATA["yaml_exclude"] = False  # type: ignore[index]


def test_excluded_fields_are_never_written_at_any_depth(tmp_path: Path) -> None:
    path = tmp_path / "session.yaml"
    Session(location=Path("/somewhere"), label="changed", part=Part(secret="changed")).to_yaml(path)
    assert path.read_text() == EXPECTED


def test_from_yaml_calls_the_hook_before_building_and_defaults_fill_the_rest(tmp_path: Path) -> None:
    path = tmp_path / "session.yaml"
    Session(location=Path("/somewhere"), label="changed", part=Part(secret="changed")).to_yaml(path)
    loaded = Session.from_yaml(path)
    assert loaded.location == tmp_path
    assert loaded.label == "t"
    assert loaded.part == Part(keep=1, secret="s")
    assert loaded.parts == [Part()] and loaded.by_name == {"k": Part()} and loaded.maybe == Part()


def test_a_value_for_an_excluded_field_in_the_file_is_used(tmp_path: Path) -> None:
    path = tmp_path / "session.yaml"
    path.write_text(EXPECTED.replace("count: 5\n", "count: 5\nlabel: from the file\n"))
    assert Session.from_yaml(path).label == "from the file"


def test_the_hook_sees_the_loaded_mapping_and_the_path(tmp_path: Path) -> None:
    seen: list[tuple[dict[str, Any], Path]] = []

    @dataclass
    class Watched(YamlConfig):
        count: int = 1

        @classmethod
        def restore_excluded_fields(cls, data: dict[Any, Any], file_path: Path) -> dict[Any, Any]:
            seen.append((dict(data), file_path))
            return {**data, "count": data["count"] + 1}

    path = tmp_path / "w.yaml"
    Watched(count=3).to_yaml(path)
    assert Watched.from_yaml(path).count == 4
    assert seen == [({"count": 3}, path)]


@dataclass
class NoHook(YamlConfig):
    location: Path = field(metadata=YAML_EXCLUDE_METADATA)
    count: int = 5


def test_a_required_excluded_field_without_a_hook_is_a_clear_error(tmp_path: Path) -> None:
    path = tmp_path / "n.yaml"
    NoHook(location=Path("/x")).to_yaml(path)
    assert path.read_text() == "---\ncount: 5\n...\n"
    with pytest.raises(YamlConfigError, match=r"location .*missing required field .*NoHook.restore_excluded_fields"):
        NoHook.from_yaml(path)


def test_a_hook_that_returns_no_mapping_is_a_type_error_naming_it(tmp_path: Path) -> None:
    @dataclass
    class Broken(YamlConfig):
        count: int = 5

        @classmethod
        def restore_excluded_fields(cls, data: dict[Any, Any], file_path: Path) -> dict[Any, Any]:
            return None  # type: ignore[return-value]

    path = tmp_path / "b.yaml"
    Broken().to_yaml(path)
    with pytest.raises(TypeError, match=r"Broken.restore_excluded_fields must return .* NoneType"):
        Broken.from_yaml(path)


@needs_reference_7
def test_the_written_file_is_what_release_7_writes(tmp_path: Path) -> None:
    ours, theirs = tmp_path / "ours.yaml", tmp_path / "theirs.yaml"
    run_python(REFERENCE7_PYTHON, CHILD, theirs, timeout=120)
    run_python(OURS, CHILD, ours, timeout=120)
    assert ours.read_bytes() == theirs.read_bytes() == EXPECTED.encode()


def test_the_golden_file_of_release_7_is_what_we_write_and_loads(tmp_path: Path) -> None:
    """yaml_golden/excluded-7.2.0.yaml was written by 7.2.0 running yaml_exclude_children.py."""
    golden = Path(__file__).with_name("yaml_golden") / "excluded-7.2.0.yaml"
    assert golden.read_text() == EXPECTED
    copy = tmp_path / "session.yaml"
    copy.write_bytes(golden.read_bytes())
    loaded = Session.from_yaml(copy)
    assert loaded.location == tmp_path and loaded.label == "t" and loaded.part == Part()
