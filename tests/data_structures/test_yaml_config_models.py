"""Config dataclasses (no tests) shared by the YamlConfig tests and by the scripts they run in other processes.

The module is plain enough to import under both our package and the reference release (run as a black box), so
the same classes serve round trips, interchange checks and crash tests.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from pathlib import Path
from typing import Optional

from ataraxis_data_structures import YamlConfig


class Codec(enum.Enum):
    H264 = "h264"
    H265 = "h265"


class Priority(enum.IntEnum):
    LOW = 1
    HIGH = 2


class Units(enum.StrEnum):
    MM = "mm"
    CM = "cm"


@dataclass
class Camera:
    fps: int = 30
    name: str = "face_camera"
    exposure: float = 8.5
    codec: Codec = Codec.H265
    output: Path = Path("/data/camera")
    roi: tuple[int, int, int, int] = (0, 0, 640, 480)


@dataclass
class Stage:
    priority: Priority = Priority.HIGH
    units: Units = Units.CM
    positions: list[float] = field(default_factory=lambda: [0.0, 10.5, 20.25])
    thresholds: dict[str, float] = field(default_factory=lambda: {"lick": 0.5, "wheel": 1.25})
    limit: Optional[float] = None  # noqa: UP045 - typing.Optional must keep working


@dataclass
class SessionConfig(YamlConfig):
    project: str = "navigation"
    session: str = "2024-06-01-12-30-00"
    trials: int = 240
    verbose: bool = False
    root: Path = Path("/data/navigation")
    camera: Camera = field(default_factory=Camera)
    stage: Stage = field(default_factory=Stage)
    backups: list[Path] = field(default_factory=lambda: [Path("/mnt/a"), Path("/mnt/b c")])
    steps: tuple[int, ...] = (1, 2, 4)
    layout: dict[str, dict[str, int]] = field(default_factory=lambda: {"raw": {"depth": 2}, "empty": {}})
    codecs: list[Codec] = field(default_factory=lambda: [Codec.H264])
    comment: str | None = None
    note: str = "it's 'quoted': yes"
    seed: int | str = 7
    tags: list[str] = field(default_factory=list)


def sample() -> SessionConfig:
    """Returns a config whose values all differ from the defaults, so a field dropped on load is noticed."""
    return SessionConfig(
        project="a b",
        session="yes",
        trials=-3,
        verbose=True,
        root=Path("relative/dir"),
        camera=Camera(fps=60, name="", exposure=1e20, codec=Codec.H264, output=Path("C:/x y"), roi=(1, 2, 3, 4)),
        stage=Stage(
            priority=Priority.LOW,
            units=Units.MM,
            positions=[],
            thresholds={"x: y": -0.0, "1": float("inf")},
            limit=2.5,
        ),
        backups=[],
        steps=(),
        layout={"a": {"b": 1, "c": 2}},
        codecs=[Codec.H265, Codec.H264],
        comment="multi\nline\n",
        note="héllo ✓",
        seed="007",
        tags=["null", "1.5", "- dash", "#hash", "   "],
    )
