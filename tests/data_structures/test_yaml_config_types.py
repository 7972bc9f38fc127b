"""YamlConfig type fidelity: unions of Enum, IntEnum, IntFlag, StrEnum and Path with primitives, dates and times,
typed dict keys. Every value either comes back from the file as exactly itself or is refused by to_yaml, naming the
field; files stay what both reference releases write and read."""

from __future__ import annotations

import datetime
import enum
import re
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import ClassVar

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ataraxis_data_structures import YamlConfig
from ataraxis_data_structures.data_structures.yaml_converter import get_converter
from ataraxis_data_structures.data_structures.yaml_roundtrip import same_exactly
from ataraxis_data_structures.data_structures.yaml_text import dump_document
from reference_release import EACH_RELEASE, OURS, RELEASES, run_python


class Codec(enum.Enum):
    H264 = "h264"
    H265 = "h265"


class Priority(enum.IntEnum):
    LOW = 1
    HIGH = 2


class Permission(enum.IntFlag):
    READ = 1
    WRITE = 2
    EXECUTE = 4


class Tag(enum.StrEnum):
    RAW = "raw"
    CLEAN = "clean"


@dataclass
class Inner:
    codec: str | Codec = Codec.H264
    when: datetime.date | None = None
    paths: list[Path | str] = field(default_factory=list)


@dataclass
class Everything(YamlConfig):
    # These tests pin the refusals, so the class opts into strict mode (the class-level switch); the default mode's
    # warnings are tested in test_yaml_config_lenient.
    yaml_strict: ClassVar[bool] = True

    codec_or_text: Codec | str = Codec.H265
    text_or_codec: str | Codec = Codec.H264
    path_or_text: Path | str = Path("/data")
    text_or_path: str | Path = Path("relative/dir")
    int_or_priority: int | Priority = Priority.HIGH
    priority_or_int: Priority | int = 7
    flags: Permission = Permission.READ | Permission.EXECUTE
    flag_or_text: Permission | str = Permission.WRITE
    tag_or_text: Tag | str = Tag.RAW
    float_or_priority: float | Priority = 2.5
    started: datetime.datetime = datetime.datetime(2024, 5, 1, 13, 45, 7, 120)
    started_or_text: datetime.datetime | str = "later"
    day: datetime.date = datetime.date(2024, 5, 1)
    clock: datetime.time = datetime.time(13, 45)
    codecs: list[Codec | str] = field(default_factory=lambda: [Codec.H265, "custom"])
    by_name: dict[str, Codec | str] = field(default_factory=lambda: {"a": Codec.H264, "b": "other"})
    by_path: dict[Path, int] = field(default_factory=lambda: {Path("/a"): 1})
    by_codec: dict[Codec, float] = field(default_factory=lambda: {Codec.H264: 0.5})
    by_number: dict[int, str] = field(default_factory=lambda: {3: "three"})
    by_priority: dict[Priority, Path] = field(default_factory=lambda: {Priority.LOW: Path("/low")})
    pair: tuple[Path, Priority] = (Path("/p"), Priority.LOW)
    tags: set[Tag] = field(default_factory=lambda: {Tag.RAW})
    inner: Inner = field(default_factory=Inner)
    inners: list[Inner] = field(default_factory=list)


def test_defaults_round_trip_with_exact_types(tmp_path: Path) -> None:
    Everything().to_yaml(tmp_path / "e.yaml")
    loaded = Everything.from_yaml(tmp_path / "e.yaml")
    assert same_exactly(loaded, Everything())
    assert loaded.codec_or_text is Codec.H265
    assert loaded.flags == Permission.READ | Permission.EXECUTE
    assert type(next(iter(loaded.by_path))) is type(Path("/a"))
    assert "flags: 5\n" in (tmp_path / "e.yaml").read_text()


_ALPHABET = st.characters(blacklist_categories=["Cs"])
_TEXT = st.one_of(
    st.text(_ALPHABET, max_size=12),
    st.sampled_from(["h264", "raw", "1", "2", "7", "true", "null", "2024-05-01", "13:45:00", "/data", "a: b", "~"]),
)
_FLOATS = st.floats(allow_nan=True, allow_infinity=True)
_OFFSETS = st.integers(-14 * 60, 14 * 60).map(lambda minutes: datetime.timezone(datetime.timedelta(minutes=minutes)))
_DATETIMES = st.datetimes(timezones=st.none() | st.just(datetime.UTC) | _OFFSETS)
_PATHS = st.one_of(st.sampled_from([Path("/data"), Path("relative/dir"), Path("h264")]), _TEXT.map(Path))


def _either(*strategies: st.SearchStrategy[object]) -> st.SearchStrategy[object]:
    return st.one_of(*strategies)


_INNER = st.builds(
    Inner,
    codec=_either(st.sampled_from(Codec), _TEXT),
    when=st.none() | st.dates(),
    paths=st.lists(_either(_PATHS, _TEXT), max_size=3),
)

_EVERYTHING = st.builds(
    Everything,
    codec_or_text=_either(st.sampled_from(Codec), _TEXT),
    text_or_codec=_either(st.sampled_from(Codec), _TEXT),
    path_or_text=_either(_PATHS, _TEXT),
    text_or_path=_either(_PATHS, _TEXT),
    int_or_priority=_either(st.sampled_from(Priority), st.integers()),
    priority_or_int=_either(st.sampled_from(Priority), st.integers()),
    flags=st.integers(0, 7).map(Permission),
    flag_or_text=_either(st.integers(0, 7).map(Permission), _TEXT),
    tag_or_text=_either(st.sampled_from(Tag), _TEXT),
    float_or_priority=_either(st.sampled_from(Priority), _FLOATS),
    started=_DATETIMES,
    started_or_text=_either(_DATETIMES, _TEXT),
    day=st.dates(),
    clock=st.times(),
    codecs=st.lists(_either(st.sampled_from(Codec), _TEXT), max_size=4),
    by_name=st.dictionaries(_TEXT, _either(st.sampled_from(Codec), _TEXT), max_size=3),
    by_path=st.dictionaries(_PATHS, st.integers(), max_size=3),
    by_codec=st.dictionaries(st.sampled_from(Codec), _FLOATS, max_size=2),
    by_number=st.dictionaries(st.integers(), _TEXT, max_size=3),
    by_priority=st.dictionaries(st.sampled_from(Priority), _PATHS, max_size=2),
    pair=st.tuples(_PATHS, st.sampled_from(Priority)),
    tags=st.sets(st.sampled_from(Tag)),
    inner=_INNER,
    inners=st.lists(_INNER, max_size=2),
)


def _round_trip_or_refusal(path: Path, config: Everything) -> None:
    """Checks that config comes back from path exactly, or that to_yaml refused it, naming a field, for a reason."""
    try:
        config.to_yaml(path)
    except TypeError as error:
        assert "field '" in str(error)
        # The refusal is justified: written anyway, the file would not give the same value back.
        data = get_converter(forbid_extra_keys=True, detailed=False).unstructure(config)
        path.write_text(dump_document(data), encoding="utf-8")
        try:
            loaded = Everything.from_yaml(path)
        except ValueError:
            return
        assert not same_exactly(loaded, config)
        return
    loaded = Everything.from_yaml(path)
    assert same_exactly(loaded, config), (path.read_text(), loaded, config)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(config=_EVERYTHING)
def test_every_value_round_trips_exactly_or_is_refused_naming_its_field(tmp_path: Path, config: Everything) -> None:
    _round_trip_or_refusal(tmp_path / "config.yaml", config)


@pytest.mark.slow
@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(config=_EVERYTHING)
def test_every_value_round_trips_exactly_or_is_refused_many_examples(tmp_path: Path, config: Everything) -> None:
    _round_trip_or_refusal(tmp_path / "config.yaml", config)


@pytest.mark.parametrize(
    ("value", "where"),
    [
        ({"text_or_codec": "h264"}, "text_or_codec"),
        ({"path_or_text": "/data"}, "path_or_text"),
        ({"int_or_priority": 2}, "int_or_priority"),
        ({"codecs": [Codec.H264, "h265"]}, "codecs[1]"),
        ({"by_name": {"k": "h265"}}, "by_name['k']"),
        ({"inner": Inner(paths=["x"])}, "inner.paths[0]"),
        ({"started_or_text": "2024-05-01 10:00:00"}, "started_or_text"),
    ],
)
def test_values_a_union_would_read_back_as_another_type_are_refused(
    tmp_path: Path, value: dict[str, object], where: str
) -> None:
    path = tmp_path / "config.yaml"
    with pytest.raises(TypeError, match=rf"field '{re.escape(where)}' holds"):
        Everything(**value).to_yaml(path)  # type: ignore[arg-type]
    assert not path.exists()


def test_combined_flags_load_and_unknown_bits_are_refused(tmp_path: Path) -> None:
    path = tmp_path / "config.yaml"
    Everything(flags=Permission(7)).to_yaml(path)
    assert Everything.from_yaml(path).flags == Permission.READ | Permission.WRITE | Permission.EXECUTE
    path.write_text(path.read_text().replace("flags: 7", "flags: 9"))
    with pytest.raises(ValueError, match=r"flags \(line \d+\): expected one of 1, 2, 4 or a combination"):
        Everything.from_yaml(path)


def test_an_int_enum_does_not_take_floats_or_booleans(tmp_path: Path) -> None:
    path = tmp_path / "config.yaml"
    Everything(float_or_priority=2.0).to_yaml(path)
    loaded = Everything.from_yaml(path)
    assert type(loaded.float_or_priority) is float
    path.write_text(path.read_text().replace("priority_or_int: 7", "priority_or_int: true"))
    with pytest.raises(ValueError, match="priority_or_int"):
        Everything.from_yaml(path)


def test_dates_and_times_are_iso_8601(tmp_path: Path) -> None:
    path = tmp_path / "config.yaml"
    config = Everything(
        started=datetime.datetime(2024, 5, 1, 13, 45, 7, tzinfo=datetime.timezone(datetime.timedelta(hours=2))),
        clock=datetime.time(13, 45, 7, 5),
    )
    config.to_yaml(path)
    text = path.read_text()
    assert "started: 2024-05-01 13:45:07+02:00\n" in text
    assert "day: 2024-05-01\n" in text
    assert "clock: '13:45:07.000005'\n" in text  # quoted: YAML 1.1 would read 13:45:07 as a base-60 integer
    assert same_exactly(Everything.from_yaml(path), config)


_CHILD = Path(__file__).with_name("yaml_types_children.py")


@pytest.mark.slow
@pytest.mark.parametrize("release", EACH_RELEASE)
def test_union_and_date_files_are_interchangeable_with_the_releases(tmp_path: Path, release: str) -> None:
    python = RELEASES[release]
    ours, theirs = tmp_path / "ours.yaml", tmp_path / "theirs.yaml"
    run_python(python, _CHILD, "write", theirs, timeout=120)
    run_python(OURS, _CHILD, "write", ours, timeout=120)
    assert ours.read_bytes() == theirs.read_bytes()
    for reader in (python, OURS):
        for file in (ours, theirs):
            assert run_python(reader, _CHILD, "read", file, timeout=120).stdout.strip() == "ok"


# ------------------------------------------------------------------------- golden files written by both releases
_GOLDEN = Path(__file__).with_name("yaml_golden")


@pytest.mark.parametrize("release", ["6.2.0", "7.2.0"])
def test_golden_union_files_of_the_releases_load_and_match_what_we_write(tmp_path: Path, release: str) -> None:
    """yaml_golden/unions-<release>.yaml was written by that release running yaml_types_children.py."""
    golden = _GOLDEN / f"unions-{release}.yaml"
    ours = tmp_path / "ours.yaml"
    subprocess.run([sys.executable, str(_CHILD), "write", str(ours)], check=True, timeout=120)
    assert ours.read_bytes() == golden.read_bytes()
    done = subprocess.run(
        [sys.executable, str(_CHILD), "read", str(golden)], capture_output=True, text=True, timeout=120, check=False
    )
    assert done.stdout.strip() == "ok", done.stderr
