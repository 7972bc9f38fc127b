"""Child script of test_yaml_config_types: writes or reads one config with unions and dates, in whichever
release's interpreter runs it (ours or a reference release), so files can be compared across releases."""

from __future__ import annotations

import datetime
import enum
import sys
from dataclasses import dataclass, field
from pathlib import Path

from ataraxis_data_structures import YamlConfig


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


@dataclass
class Shared(YamlConfig):
    codec_or_text: Codec | str = Codec.H265
    text_or_codec: str | Codec = Codec.H264
    path_or_text: Path | str = Path("/data")
    int_or_priority: int | Priority = Priority.HIGH
    flags: Permission = Permission.READ | Permission.EXECUTE
    started: datetime.datetime = datetime.datetime(2024, 5, 1, 13, 45, 7)
    day: datetime.date = datetime.date(2024, 5, 1)
    codecs: list[Codec | str] = field(default_factory=lambda: [Codec.H265, "custom"])


def main() -> None:
    """Writes the default config to argv[2] ("write") or checks that argv[2] loads as the default ("read")."""
    if sys.argv[1] == "write":
        Shared().to_yaml(Path(sys.argv[2]))
        return
    loaded = Shared.from_yaml(Path(sys.argv[2]))
    assert loaded == Shared(), loaded
    assert loaded.codec_or_text is Codec.H265 and loaded.int_or_priority is Priority.HIGH
    assert type(loaded.path_or_text) is not str and loaded.codecs[0] is Codec.H265
    sys.stdout.write("ok\n")


if __name__ == "__main__":
    main()
