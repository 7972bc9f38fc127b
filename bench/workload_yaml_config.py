"""Workload: YamlConfig round trips (to_yaml + from_yaml) of a 64-field config; prints one JSON line.

Runs unchanged under the reference release and under ours (both import ``ataraxis_data_structures``). The config
has 64 leaf fields: 16 at the top level and 12 in each of four nested dataclasses, with paths, enums (Enum,
IntEnum, StrEnum), unions of Enum and Path with primitives, a date and a timestamp, tuples, lists, nested dicts and
optional fields.

Usage: python workload_yaml_config.py DIRECTORY ROUNDS
"""

from __future__ import annotations

import datetime
import enum
import json
import statistics
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

from ataraxis_data_structures import YamlConfig


class Codec(enum.Enum):
    H264 = "h264"
    H265 = "h265"
    AV1 = "av1"


class Priority(enum.IntEnum):
    LOW = 1
    NORMAL = 2
    HIGH = 3


class Units(enum.StrEnum):
    MM = "mm"
    CM = "cm"


@dataclass
class Camera:
    name: str = "face_camera"
    fps: int = 60
    width: int = 1920
    height: int = 1080
    exposure_us: float = 8333.3
    gain: float = 1.5
    codec: Codec = Codec.H265
    output: Path = Path("/data/session/camera")
    roi: tuple[int, int, int, int] = (0, 0, 1920, 1080)
    lut: list[int] = field(default_factory=lambda: [0, 64, 128, 192, 255])
    serial: str | None = "A1B2C3"
    enabled: bool = True


@dataclass
class Stage:
    name: str = "runway"
    priority: Priority = Priority.HIGH
    units: Units = Units.CM
    length: float = 240.0
    speed_limit: float | None = None
    calibration: Path = Path("/calibration/runway.yaml")
    positions: list[float] = field(default_factory=lambda: [0.0, 10.5, 20.25, 40.125])
    thresholds: dict[str, float] = field(default_factory=lambda: {"lick": 0.5, "wheel": 1.25})
    steps: tuple[int, ...] = (1, 2, 4, 8, 16)
    retries: int = 3
    notes: str = "reward zone at 180 cm"
    active: bool = False


@dataclass
class Storage:
    root: Path = Path("/mnt/server/projects/experiment")
    cache: Path = Path("/tmp/cache")
    backups: list[Path] = field(default_factory=lambda: [Path("/mnt/nas/a"), Path("/mnt/nas/b")])
    compression: int = 3
    codec: Codec = Codec.AV1
    chunk_mb: int = 512
    keep_raw: bool = True
    checksum: str = "xxh3_128"
    quota_gb: float = 2048.0
    layout: dict[str, dict[str, int]] = field(default_factory=lambda: {"raw": {"depth": 2}, "processed": {"depth": 3}})
    owner: str | None = None
    retention_days: int = 365


@dataclass
class Subject:
    subject_id: str = "M0042"
    weight_g: float = 24.3
    age_days: int = 92
    genotype: str = "VGAT-Cre"
    sex: str = "F"
    cage: int = 7
    priority: Priority = Priority.NORMAL
    surgery_notes: Path = Path("/records/M0042/surgery.md")
    tags: list[str] = field(default_factory=lambda: ["imaging", "behavior"])
    water_ml: float = 1.0
    implanted: bool = True
    reference_subject: str | None = None


@dataclass
class SessionConfig(YamlConfig):
    project: str = "visual_navigation"
    session: str = "2024-06-01-12-30-00"
    experimenter: str = "kn"
    duration_s: float = 3600.0
    trials: int = 240
    seed: int = 12345
    mode: Units = Units.MM
    output_root: Path = Path("/data/visual_navigation")
    camera: Camera = field(default_factory=Camera)
    stage: Stage = field(default_factory=Stage)
    storage: Storage = field(default_factory=Storage)
    subject: Subject = field(default_factory=Subject)
    extra_paths: tuple[Path, ...] = (Path("/opt/a"), Path("/opt/b"))
    comment: str | None = None
    verbose: bool = False
    version: int = 6
    codec_hint: Codec | str = Codec.H264
    stage_priority: int | Priority = Priority.LOW
    recorded_on: datetime.date = datetime.date(2024, 6, 1)
    started_at: datetime.datetime = datetime.datetime(2024, 6, 1, 12, 30, 0)


def main() -> None:
    """Times ROUNDS round trips, then each half alone, and prints the per-operation figures as JSON."""
    directory = Path(sys.argv[1])
    rounds = int(sys.argv[2])
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / "session.yaml"
    config = SessionConfig()
    config.to_yaml(path)
    if SessionConfig.from_yaml(path) != config:
        raise SystemExit("round trip changed the config")

    def per_second(action: object) -> float:
        samples = []
        for _ in range(5):
            start = time.perf_counter()
            for _ in range(rounds):
                action()  # type: ignore[operator]
            samples.append(rounds / (time.perf_counter() - start))
        return statistics.median(samples)

    def round_trip() -> None:
        config.to_yaml(path)
        SessionConfig.from_yaml(path)

    result = {
        "round_trips_per_s": per_second(round_trip),
        "writes_per_s": per_second(lambda: config.to_yaml(path)),
        "reads_per_s": per_second(lambda: SessionConfig.from_yaml(path)),
        "bytes": path.stat().st_size,
    }
    print(json.dumps(result))


if __name__ == "__main__":
    main()
