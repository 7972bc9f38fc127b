"""Child script of test_yaml_config_exclude: writes a config with excluded fields at several depths, in whichever
release's interpreter runs it (ours or 7.2.0), so the written files can be compared."""

from __future__ import annotations

import sys
from dataclasses import dataclass, field
from pathlib import Path

from ataraxis_data_structures import YAML_EXCLUDE_METADATA, YamlConfig


@dataclass
class Part:
    """A nested dataclass with an excluded field."""

    keep: int = 1
    secret: str = field(default="s", metadata=YAML_EXCLUDE_METADATA)


@dataclass
class Session(YamlConfig):
    """A config whose location is excluded from its file and restored from where it is read."""

    location: Path = field(metadata=YAML_EXCLUDE_METADATA)
    count: int = 5
    part: Part = field(default_factory=Part)
    parts: list[Part] = field(default_factory=lambda: [Part(secret="in a list")])
    by_name: dict[str, Part] = field(default_factory=lambda: {"k": Part(secret="in a dict")})
    maybe: Part | None = field(default_factory=Part)
    label: str = field(default="t", metadata={**YAML_EXCLUDE_METADATA, "unit": "none"})

    @classmethod
    def restore_excluded_fields(cls, data: dict[str, object], file_path: Path) -> dict[str, object]:
        """Supplies the excluded location: the folder the file is in."""
        return {**data, "location": file_path.parent}


if __name__ == "__main__":
    Session(location=Path("/somewhere"), label="changed", part=Part(secret="changed")).to_yaml(Path(sys.argv[1]))
