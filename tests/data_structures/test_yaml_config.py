"""YamlConfig: type-faithful round trips, the written format, file interchange with the reference, and errors."""

from __future__ import annotations

import dataclasses
import enum
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import pytest
import yaml
from test_yaml_config_models import Camera, Codec, Priority, SessionConfig, Stage, Units, sample

from ataraxis_data_structures import YamlConfig
from ataraxis_data_structures.data_structures.yaml_errors import YamlConfigError
from reference_release import REFERENCE_PYTHON, needs_reference, run_python

HERE = Path(__file__).resolve().parent


def run_code(python: str | Path, code: str) -> subprocess.CompletedProcess[str]:
    """Runs code under an interpreter in this folder (``-c`` code imports test_yaml_config_models from there)."""
    return run_python(python, "-c", code, cwd=HERE, timeout=120, check=False)


# ---------------------------------------------------------------------------------------------------- round trips


def test_round_trip_keeps_every_type(tmp_path: Path) -> None:
    original = sample()
    original.to_yaml(tmp_path / "config.yaml")
    loaded = SessionConfig.from_yaml(tmp_path / "config.yaml")
    assert loaded == original
    assert type(loaded.root) is type(Path())
    assert type(loaded.camera.codec) is Codec
    assert type(loaded.stage.priority) is Priority
    assert type(loaded.stage.units) is Units
    assert loaded.camera.roi == (1, 2, 3, 4)
    assert type(loaded.camera.roi) is tuple
    assert type(loaded.steps) is tuple
    assert loaded.seed == "007"  # the str side of `int | str` survives even though it looks like a number


def test_round_trip_of_defaults_and_default_factories(tmp_path: Path) -> None:
    SessionConfig().to_yaml(tmp_path / "config.yml")
    loaded = SessionConfig.from_yaml(tmp_path / "config.yml")
    assert loaded == SessionConfig()
    assert loaded.layout == {"raw": {"depth": 2}, "empty": {}}
    assert loaded.backups == [Path("/mnt/a"), Path("/mnt/b c")]


@dataclass
class Extended(SessionConfig):
    extra: set[int] = field(default_factory=lambda: {3, 1, 2})
    frozen: frozenset[str] = frozenset({"b", "a"})
    optional_camera: Camera | None = None
    either: int | float | str = 1.5
    pairs: list[tuple[str, int]] = field(default_factory=lambda: [("a", 1)])
    cameras: list[Camera] = field(default_factory=lambda: [Camera(fps=1), Camera(name="b")])
    nested: dict[str, list[int]] = field(default_factory=lambda: {"x": [1, 2], "y": []})


def test_subclass_round_trip_returns_the_subclass(tmp_path: Path) -> None:
    original = Extended(optional_camera=Camera(fps=5), either="text")
    original.to_yaml(tmp_path / "extended.yaml")
    loaded = Extended.from_yaml(tmp_path / "extended.yaml")
    assert type(loaded) is Extended
    assert loaded == original
    assert loaded.extra == {1, 2, 3}
    assert type(loaded.frozen) is frozenset
    assert loaded.pairs == [("a", 1)]
    text = (tmp_path / "extended.yaml").read_text()
    assert "extra:\n- 1\n- 2\n- 3\n" in text  # sets are written as sorted lists, so the file is stable


def test_union_prefers_the_exact_scalar_type(tmp_path: Path) -> None:
    for value in (3, 2.5, "3"):
        Extended(either=value).to_yaml(tmp_path / "u.yaml")
        loaded = Extended.from_yaml(tmp_path / "u.yaml").either
        assert loaded == value
        assert type(loaded) is type(value)


# --------------------------------------------------------------------------------------------------------- format


def test_written_text_is_block_style_in_field_order_between_markers(tmp_path: Path) -> None:
    @dataclass
    class Small(YamlConfig):
        name: str = "rig"
        camera: Camera = field(default_factory=lambda: Camera(roi=(1, 2, 3, 4)))
        paths: list[Path] = field(default_factory=lambda: [Path("/a")])
        empty: dict[str, int] = field(default_factory=dict)
        missing: int | None = None

    Small().to_yaml(tmp_path / "small.yaml")
    assert (tmp_path / "small.yaml").read_text() == (
        "---\n"
        "name: rig\n"
        "camera:\n"
        "  fps: 30\n"
        "  name: face_camera\n"
        "  exposure: 8.5\n"
        "  codec: h265\n"
        "  output: /data/camera\n"
        "  roi:\n"
        "  - 1\n  - 2\n  - 3\n  - 4\n"
        "paths:\n"
        "- /a\n"
        "empty: {}\n"
        "missing: null\n"
        "...\n"
    )


def test_written_text_equals_pyyaml_dump_of_the_same_data(tmp_path: Path) -> None:
    """The fast emitter is exact: its output is byte for byte what PyYAML writes (the reference's format)."""
    sample().to_yaml(tmp_path / "a.yaml")
    data = yaml.safe_load((tmp_path / "a.yaml").read_text())
    expected = yaml.dump(data, sort_keys=False, explicit_start=True, explicit_end=True, width=2**31 - 1)
    assert (tmp_path / "a.yaml").read_text() == expected


# ------------------------------------------------------------------------------------------- reference interchange


@needs_reference
def test_files_interchange_with_the_reference_release_byte_for_byte(tmp_path: Path) -> None:
    python = REFERENCE_PYTHON
    theirs, ours = tmp_path / "theirs.yaml", tmp_path / "ours.yaml"
    write = f"from test_yaml_config_models import sample; sample().to_yaml(__import__('pathlib').Path({str(theirs)!r}))"
    result = run_code(python, write)
    assert result.returncode == 0, result.stderr
    assert SessionConfig.from_yaml(theirs) == sample()

    sample().to_yaml(ours)
    assert ours.read_bytes() == theirs.read_bytes()
    check = (
        "from pathlib import Path; from test_yaml_config_models import SessionConfig, sample\n"
        f"assert SessionConfig.from_yaml(Path({str(ours)!r})) == sample()\n"
        "print('loaded')"
    )
    result = run_code(python, check)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "loaded"


# --------------------------------------------------------------------------------------------- hand-edited files


def test_hand_edited_yaml_with_comments_flow_style_and_quotes_loads(tmp_path: Path) -> None:
    path = tmp_path / "edited.yaml"
    path.write_text(
        "# session settings\n"
        "project: 'navigation'   # quoted\n"
        "trials: 10\n"
        "camera:\n"
        "    fps: 120\n"
        "    exposure: 2        # an int where a float is expected\n"
        "    roi: [0, 0, 10, 10]\n"
        "stage:\n"
        "  positions:\n"
        "    - 1.5\n"
        "    - 2\n"
        '  thresholds: {lick: 0.1, "wheel": 3}\n'
        "backups: &first [/x]\n"
        "codecs:\n"
        "- h264\n"
    )
    loaded = SessionConfig.from_yaml(path)
    assert loaded.project == "navigation"
    assert loaded.camera.fps == 120
    assert loaded.camera.exposure == 2.0
    assert type(loaded.camera.exposure) is int  # a valid float (numeric tower), kept int as both releases keep it
    assert loaded.camera.roi == (0, 0, 10, 10)
    assert loaded.stage.positions == [1.5, 2.0]
    assert loaded.stage.thresholds == {"lick": 0.1, "wheel": 3.0}
    assert loaded.backups == [Path("/x")]
    assert loaded.session == SessionConfig().session  # absent fields keep their defaults


def test_str_and_path_arguments_are_accepted(tmp_path: Path) -> None:
    SessionConfig().to_yaml(str(tmp_path / "s.yaml"))  # type: ignore[arg-type]
    assert SessionConfig.from_yaml(str(tmp_path / "s.yaml")) == SessionConfig()  # type: ignore[arg-type]


# --------------------------------------------------------------------------------------------------------- errors


def load_error(tmp_path: Path, text: str, cls: type[YamlConfig] = SessionConfig, **options: bool) -> YamlConfigError:
    """Returns the error of loading the text in strict mode (test_yaml_config_lenient covers the default mode)."""
    path = tmp_path / "bad.yaml"
    path.write_text(text)
    with pytest.raises(YamlConfigError) as caught:
        cls.from_yaml(path, **{"strict": True, **options})
    assert str(path) in str(caught.value)
    assert isinstance(caught.value, ValueError)
    return caught.value


@pytest.mark.parametrize("name", ["config.txt", "config.YAML", "config", "config.yaml.bak"])
def test_wrong_extension_is_a_value_error_both_ways(tmp_path: Path, name: str) -> None:
    with pytest.raises(ValueError, match=r"'\.yaml' or '\.yml'"):
        SessionConfig().to_yaml(tmp_path / name)
    assert list(tmp_path.iterdir()) == []  # nothing was written
    (tmp_path / name).write_text("trials: 1\n")
    with pytest.raises(ValueError, match=r"'\.yaml' or '\.yml'"):
        SessionConfig.from_yaml(tmp_path / name)


def test_missing_file_is_file_not_found(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError):
        SessionConfig.from_yaml(tmp_path / "absent.yaml")


def test_wrong_type_names_the_field_path_and_line(tmp_path: Path) -> None:
    error = load_error(tmp_path, "trials: 1\ncamera:\n  name: x\n  fps: fast\n")
    assert error.problems == ["camera.fps (line 4): expected int, got 'fast'"]


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("trials: '5'\n", "trials (line 1): expected int, got '5'"),
        ("trials: 5.5\n", "trials (line 1): expected int, got 5.5"),
        ("verbose: 1\n", "verbose (line 1): expected bool (true or false), got 1"),
        ("trials: true\n", "trials (line 1): expected int, got True"),
        ("project: 12\n", "project (line 1): expected str"),
        ("root: [a]\n", "root (line 1): expected a path string"),
        ("camera: 5\n", "camera (line 1): expected a mapping of Camera fields, got 5"),
        ("backups: /one/path\n", "backups (line 1): expected a list"),
        ("camera:\n  roi: [1, 2]\n", "camera.roi (line 2): expected a list of 4 items"),
        ("stage:\n  positions: [1, x]\n", "stage.positions[1] (line 2): expected float, got 'x'"),
        ("layout:\n  raw:\n    depth: deep\n", "layout.raw.depth (line 3): expected int, got 'deep'"),
        ("seed: [1]\n", "seed (line 1): expected int | str, got [1]"),
        ("camera:\n  roi:\n  - 1\n  - x\n  - 3\n  - 4\n", "camera.roi[1] (line 4): expected int, got 'x'"),
        ("layout:\n  raw: {1: 2}\n", "layout.raw[1] (line 2): invalid key: expected str"),
    ],
)
def test_each_wrong_value_is_reported_with_path_and_line(tmp_path: Path, text: str, problem: str) -> None:
    error = load_error(tmp_path, text)
    assert len(error.problems) == 1
    assert error.problems[0].startswith(problem)


def test_invalid_enum_value_lists_the_valid_values(tmp_path: Path) -> None:
    error = load_error(tmp_path, "camera:\n  codec: av1\nstage:\n  priority: 3\n  units: RED\n")
    assert error.problems == [
        "camera.codec (line 2): expected one of 'h264', 'h265' (Codec), got 'av1'",
        "stage.priority (line 4): expected one of 1, 2 (Priority), got 3",
        "stage.units (line 5): expected one of 'mm', 'cm' (Units), got 'RED'",
    ]


def test_int_enum_rejects_booleans(tmp_path: Path) -> None:
    error = load_error(tmp_path, "stage:\n  priority: true\n")
    assert "stage.priority (line 2): expected one of 1, 2 (Priority), got True" in error.problems


def test_unknown_keys_are_named_and_can_be_ignored(tmp_path: Path) -> None:
    text = "trials: 3\nframerate: 30\ncamera:\n  fsp: 60\n"
    error = load_error(tmp_path, text)
    assert len(error.problems) == 2
    assert error.problems[0].startswith("framerate (line 2): unknown key (not a field of SessionConfig; valid keys:")
    assert error.problems[1].startswith("camera.fsp (line 4): unknown key (not a field of Camera; valid keys: fps,")
    loaded = SessionConfig.from_yaml(tmp_path / "bad.yaml", ignore_unknown_keys=True)
    assert loaded.trials == 3
    assert loaded.camera == Camera()


@dataclass
class Required(YamlConfig):
    name: str
    camera: Camera
    count: int = 0


def test_missing_required_fields_are_reported(tmp_path: Path) -> None:
    error = load_error(tmp_path, "---\ncount: 1\ncamera:\n  fps: 2\n...\n", Required)
    assert error.problems == ["name (line 2): missing required field"]
    error = load_error(tmp_path, "count: 1\n", Required)
    assert sorted(error.problems) == [
        "camera (line 1): missing required field",
        "name (line 1): missing required field",
    ]


def test_every_problem_in_a_file_is_listed_in_line_order(tmp_path: Path) -> None:
    error = load_error(tmp_path, "trials: x\nbogus: 1\ncamera:\n  fps: y\n  codec: z\n")
    assert [problem.split(":")[0] for problem in error.problems] == [
        "trials (line 1)",
        "bogus (line 2)",
        "camera.fps (line 4)",
        "camera.codec (line 5)",
    ]
    assert "(4 problems)" in str(error)


@pytest.mark.parametrize(
    ("text", "fragment"),
    [
        ("camera:\n  fps: [1, 2\n", "invalid YAML at line 3, column 1"),
        ("trials: 1\n  camera: 2\n", "invalid YAML at line 2"),
        ("a: 1\n---\nb: 2\n", "but found another document"),
        ("- 1\n- 2\n", "top level must be a mapping of SessionConfig field names to values, but the file holds a list"),
        ("", "the file holds an empty document"),
        ("just text\n", "the file holds a str ('just text')"),
    ],
)
def test_malformed_documents_name_the_file_and_the_place(tmp_path: Path, text: str, fragment: str) -> None:
    error = load_error(tmp_path, text)
    assert fragment in str(error)
    assert "Traceback" not in str(error)


def test_loading_a_class_that_is_not_a_dataclass_is_a_type_error(tmp_path: Path) -> None:
    class NotADataclass(YamlConfig):
        pass

    (tmp_path / "x.yaml").write_text("a: 1\n")
    with pytest.raises(TypeError, match="NotADataclass must be a dataclass"):
        NotADataclass.from_yaml(tmp_path / "x.yaml")
    with pytest.raises(TypeError, match="NotADataclass must be a dataclass"):
        NotADataclass().to_yaml(tmp_path / "x.yaml")


# ----------------------------------------------------------------------------------------------- writing safely


def test_missing_parent_directories_are_created(tmp_path: Path) -> None:
    target = tmp_path / "a" / "b" / "c" / "config.yaml"
    SessionConfig().to_yaml(target)
    assert SessionConfig.from_yaml(target) == SessionConfig()


def test_a_value_without_yaml_form_fails_before_touching_the_old_file(tmp_path: Path) -> None:
    target = tmp_path / "config.yaml"
    SessionConfig().to_yaml(target)
    before = target.read_bytes()
    broken = SessionConfig()
    broken.camera.name = object()  # type: ignore[assignment]
    with pytest.raises(TypeError, match=r"field 'camera\.name' holds <object object"):
        broken.to_yaml(target)
    assert target.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["config.yaml"]  # no temporary file left behind


class Mode(str, enum.Enum):  # noqa: UP042 - the pre-3.11 mixin style must keep working
    FAST = "fast"
    SLOW = "slow"


@dataclass
class PartA:
    a: int = 1


@dataclass
class PartB:
    b: str = "x"


@dataclass
class Mixed(YamlConfig):
    mode: Mode = Mode.SLOW
    part: PartA | PartB = field(default_factory=PartB)


def test_plain_enum_mixins_and_unions_of_dataclasses(tmp_path: Path) -> None:
    Mixed().to_yaml(tmp_path / "m.yaml")
    assert "mode: slow\n" in (tmp_path / "m.yaml").read_text()
    loaded = Mixed.from_yaml(tmp_path / "m.yaml")
    assert loaded == Mixed()
    assert type(loaded.mode) is Mode
    assert type(loaded.part) is PartB


def test_annotations_that_cannot_be_resolved_are_a_clear_type_error(tmp_path: Path) -> None:
    @dataclass
    class Local:
        value: int = 1

    @dataclass
    class Holder(YamlConfig):
        local: Local = field(default_factory=Local)

    with pytest.raises(TypeError, match="Unable to resolve the field annotations of Holder"):
        Holder().to_yaml(tmp_path / "h.yaml")
    (tmp_path / "h.yaml").write_text("local:\n  value: 2\n")
    with pytest.raises(TypeError, match="Unable to resolve the field annotations of Holder"):
        Holder.from_yaml(tmp_path / "h.yaml")


def test_fields_are_exactly_the_dataclass_fields(tmp_path: Path) -> None:
    SessionConfig().to_yaml(tmp_path / "c.yaml")
    keys = list(yaml.safe_load((tmp_path / "c.yaml").read_text()))
    assert keys == [f.name for f in dataclasses.fields(SessionConfig)]
    assert list(yaml.safe_load((tmp_path / "c.yaml").read_text())["stage"]) == [
        f.name for f in dataclasses.fields(Stage)
    ]


def test_module_runs_under_a_fresh_interpreter(tmp_path: Path) -> None:
    """The config classes import and round trip in a separate process (as the crash and interop tests use them)."""
    code = (
        "from pathlib import Path; from test_yaml_config_models import SessionConfig, sample\n"
        f"p = Path({str(tmp_path / 'fresh.yaml')!r}); sample().to_yaml(p)\n"
        "assert SessionConfig.from_yaml(p) == sample(); print('ok')"
    )
    result = run_code(sys.executable, code)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "ok"


@dataclass
class WithDerived(YamlConfig):
    a: int = 1
    derived: int = field(default=5, init=False)


def test_init_false_fields_are_written_and_restored_like_the_reference_does(tmp_path: Path) -> None:
    config = WithDerived()
    config.derived = 7
    config.to_yaml(tmp_path / "d.yaml")
    assert (tmp_path / "d.yaml").read_text() == "---\na: 1\nderived: 7\n...\n"
    assert WithDerived.from_yaml(tmp_path / "d.yaml").derived == 7
    (tmp_path / "d.yaml").write_text("a: 2\n")
    assert WithDerived.from_yaml(tmp_path / "d.yaml").derived == 5


@dataclass
class Loose(YamlConfig):
    mode: Literal["fast", "slow"] = "fast"
    anything: Any = None
    bare: list = field(default_factory=list)  # type: ignore[type-arg]
    by_codec: dict[Codec, int] = field(default_factory=lambda: {Codec.H264: 1})
    by_path: dict[Path, int] = field(default_factory=lambda: {Path("/x"): 1})
    maybe_paths: list[Path] | None = None


def test_literals_any_bare_containers_and_enum_or_path_keys(tmp_path: Path) -> None:
    original = Loose(mode="slow", anything={"x": [1, None]}, bare=[1, "a"], maybe_paths=[Path("a")])
    original.to_yaml(tmp_path / "l.yaml")
    assert "by_codec:\n  h264: 1\nby_path:\n  /x: 1\n" in (tmp_path / "l.yaml").read_text()
    assert Loose.from_yaml(tmp_path / "l.yaml") == original
    error = load_error(tmp_path, "mode: medium\n", Loose)
    assert error.problems == ["mode (line 1): expected one of 'fast', 'slow', got 'medium'"]


def test_a_file_that_is_not_utf8_is_reported_with_its_name(tmp_path: Path) -> None:
    (tmp_path / "bad.yaml").write_bytes(b"trials: \xff\xfe\n")
    with pytest.raises(YamlConfigError, match="is not UTF-8 text") as caught:
        SessionConfig.from_yaml(tmp_path / "bad.yaml")
    assert str(tmp_path / "bad.yaml") in str(caught.value)
