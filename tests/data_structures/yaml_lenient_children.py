"""Child script of test_yaml_config_lenient: loads config files the way a lab package does, in whichever
interpreter runs it (ours or a reference release), and prints what landed in each field as JSON, so the values
(types included) can be compared across releases.

Usage: ``python yaml_lenient_children.py <cases.json>`` where the JSON file lists ``[class name, yaml path]`` pairs.
Prints one JSON list: per case ``{"fields": {name: description}, "post_init": [...], "written": the text of the
loaded config saved again}`` or ``{"error": [the names of the error's classes, most derived first], "message":
text, "post_init": [...]}``.
"""

from __future__ import annotations

import dataclasses
import datetime
import enum
import json
import sys
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Optional

import numpy as np
from numpy.typing import NDArray

from ataraxis_data_structures import YamlConfig

POST_INIT_CALLS: list[str] = []
"""The class names whose __post_init__ ran, in order (reset per case)."""


class Codec(enum.Enum):
    H264 = "h264"
    H265 = "h265"


class Priority(enum.IntEnum):
    LOW = 1
    HIGH = 2


@dataclass
class Camera:
    fps: int = 30
    codec: Codec = Codec.H264

    def __post_init__(self) -> None:
        POST_INIT_CALLS.append("Camera")


@dataclass
class Lab(YamlConfig):
    """Every field type of the issue's cases, each with a default so that a file may hold any subset."""

    mask: NDArray[np.bool_] | None = None
    name: str = "lab"
    count: int = 1
    items: list[int] = field(default_factory=list)
    maybe: Optional[list] = None  # type: ignore[type-arg]  # noqa: UP045 - the spelling a lab package uses
    ratio: float = 0.5
    priority: Priority = Priority.LOW
    codec: Codec = Codec.H264
    either: Codec | int = 1
    camera: Camera = field(default_factory=Camera)
    cameras: list[Camera] = field(default_factory=list)
    roi: tuple[int, int] = (0, 0)
    root: Path = Path("/data")
    started: datetime.datetime = datetime.datetime(2024, 1, 1)
    limits: dict[str, int] = field(default_factory=dict)

    def __post_init__(self) -> None:
        POST_INIT_CALLS.append("Lab")


@dataclass
class Header(YamlConfig):
    """Reads a whole config to learn its pipeline type, as a lab package does."""

    pipeline_type: str = "unknown"


@dataclass
class Checked(YamlConfig):
    """A class whose own check gives its users its own message."""

    count: int = 1

    def __post_init__(self) -> None:
        POST_INIT_CALLS.append("Checked")
        if not isinstance(self.count, int):
            message = f"Checked.count must be an int, got {self.count!r}"
            raise ValueError(message)


@dataclass
class Refusing(YamlConfig):
    """A class whose own check refuses every value, valid ones included (a range check, say)."""

    count: int = 1

    def __post_init__(self) -> None:
        POST_INIT_CALLS.append("Refusing")
        message = f"Refusing.count {self.count!r} is out of range"
        raise ValueError(message)


@dataclass
class Gate:
    level: int = 0

    def __post_init__(self) -> None:
        POST_INIT_CALLS.append("Gate")
        if self.level > 1:
            message = f"Gate.level {self.level!r} is above 1"
            raise ValueError(message)


@dataclass
class Gated(YamlConfig):
    """Nested classes with their own checks, in a list, around a field the strict hooks refuse."""

    first: Gate = field(default_factory=Gate)
    roi: tuple[int, int] = (0, 0)
    gates: list[Gate] = field(default_factory=list)


@dataclass
class Kernel:
    size: int = 3


@dataclass
class Controller:
    """The shape of a lab package's microcontroller entry: a field annotated ``X | None`` without a default."""

    controller_id: int
    modules: list  # type: ignore[type-arg]
    kernel: Kernel | None


@dataclass
class Node:
    value: int


@dataclass
class Rig(YamlConfig):
    """Fields without defaults: required ones, and ones whose annotation allows None."""

    controllers: list[Controller]
    label: Optional[str]  # noqa: UP045 - the spelling a lab package uses
    code: int | str | None
    nodes: dict[str, Node] = field(default_factory=dict)


CLASSES: dict[str, type[YamlConfig]] = {
    "Lab": Lab,
    "Header": Header,
    "Checked": Checked,
    "Refusing": Refusing,
    "Gated": Gated,
    "Rig": Rig,
}


def describe(value: Any) -> str:
    """Returns the value with the exact type of every part, e.g. ``list[int:1, Camera(fps=str:'x', ...)]``."""
    if isinstance(value, (list, tuple, set, frozenset)):
        return f"{type(value).__name__}[" + ", ".join(describe(item) for item in value) + "]"
    if isinstance(value, dict):
        return "dict{" + ", ".join(f"{describe(key)}: {describe(item)}" for key, item in value.items()) + "}"
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        inner = ", ".join(f"{item.name}={describe(getattr(value, item.name))}" for item in dataclasses.fields(value))
        return f"{type(value).__name__}({inner})"
    return f"{type(value).__name__}:{value!r}"


def load(class_name: str, path: Path) -> dict[str, Any]:
    """Loads one file and describes the outcome."""
    POST_INIT_CALLS.clear()
    cls = CLASSES[class_name]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the test checks our warnings in its own process
        try:
            loaded = cls.from_yaml(path)
        except Exception as error:  # the outcome to compare
            names = [base.__name__ for base in type(error).__mro__]
            return {"error": names, "message": str(error), "post_init": list(POST_INIT_CALLS)}
    fields = {item.name: describe(getattr(loaded, item.name)) for item in dataclasses.fields(cls)}  # type: ignore[arg-type]
    post_init = list(POST_INIT_CALLS)
    written = path.with_name(f"{path.stem}-written.yaml")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        loaded.to_yaml(written)  # a loaded config saved again: what lands in the file
    return {"fields": fields, "post_init": post_init, "written": written.read_text()}


def main() -> None:
    """Loads every case listed in the JSON file named by argv[1] and prints the outcomes as one JSON list."""
    cases = json.loads(Path(sys.argv[1]).read_text())
    sys.stdout.write(json.dumps([load(name, Path(path)) for name, path in cases]) + "\n")


if __name__ == "__main__":
    main()
