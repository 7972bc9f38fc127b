"""The inputs behind the committed golden files, shared by ``make_golden.py`` (run in an original release's
interpreter) and ``tests/test_golden_files.py`` (run against ours), so both sides feed the same data.

It imports nothing from either library: the YAML config classes are built on whichever ``YamlConfig`` is passed in.
Annotations stay real objects (no ``from __future__ import annotations``) so both releases resolve them.
"""

import enum
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

TRACKER_JOBS = [
    ("extract", ""),
    ("register", "plane 0"),
    ("register", "[plane 1], 'dorsal'"),
    ("classify", "#batch 'a'"),
]
"""(job name, specifier) pairs; specifiers that YAML must quote on purpose."""

ONSET_US = 1_700_000_000_000_000
"""The onset (microseconds since the UTC epoch) every golden log source records."""

LOG_MESSAGES: list[tuple[int, int, bytes]] = [
    (1, 5, b"first at 5"),
    (1, 5, b"second at 5"),
    (1, 7, b""),
    (2, 3, b"xyz"),
    (2, 3, b"xyw"),
    (1, 9, bytes(range(256))),
    (2, 11, b"\x00\xff"),
]
"""(source id, elapsed microseconds, payload); timestamps repeat on purpose."""

CHECKSUM_TREE: dict[str, bytes] = {
    "a.bin": bytes(range(256)) * 8,
    "empty.txt": b"",
    "nested/b.txt": b"hello\n",
    "nested/deeper/c.dat": b"\x00" * 1000,
    "z name with spaces.txt": b"spaces",
}
"""Relative path -> content of the checksummed folder."""


class Rig(enum.Enum):
    """A string-valued enum field."""

    MESOSCOPE = "mesoscope"
    TWO_PHOTON = "two-photon"


class Level(enum.IntEnum):
    """An integer-valued enum field."""

    LOW = 1
    HIGH = 2


def config_classes(base: type) -> tuple[type, type]:
    """Returns (Camera, Session): a nested dataclass and the YamlConfig subclass that holds it, built on ``base``."""

    @dataclass
    class Camera:
        name: str = "face"
        fps: float = 30.0
        roi: tuple[int, int, int, int] = (0, 0, 640, 480)
        level: Level = Level.LOW

    @dataclass
    class Session(base):  # type: ignore[misc]
        animal: str = "A1"
        rig: Rig = Rig.MESOSCOPE
        root: Path = Path("/data/A1")
        cameras: list[Camera] = field(default_factory=list)
        offsets: tuple[float, ...] = ()
        notes: str | None = None
        frames: int = 0
        flags: dict[str, bool] = field(default_factory=dict)

    return Camera, Session


def config_instance(base: type) -> Any:
    """Returns the Session instance the golden config file holds."""
    camera, session = config_classes(base)
    return session(
        animal="A1: 'left' #2",
        rig=Rig.TWO_PHOTON,
        root=Path("/data/A1/2026-11-30"),
        cameras=[camera(), camera(name="body", fps=59.94, roi=(10, 20, 300, 200), level=Level.HIGH)],
        offsets=(0.5, -1.25, 1e-06),
        notes=None,
        frames=123456789012,
        flags={"dry_run": False, "yes": True},
    )
