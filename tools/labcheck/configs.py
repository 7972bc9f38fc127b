"""Drives the lab packages' YamlConfig classes: writes them, loads them back, and loads hand-written variants.

Classes: ataraxis-video-system's GenicamConfiguration (a ``int | float | str | bool`` node value, selector dicts),
CameraManifest; ataraxis-communication-interface's MicroControllerManifest and ExtractionConfig (tuples of frozen
dataclasses, ``X | None`` fields, their own ``__post_init__`` checks). Records the YAML text written, the Python
types loaded, and what each variant raises or warns. Prints one JSON line per step.

Run: ``PY tools/labcheck/configs.py`` with PY a Python that has both lab packages installed.
"""

from __future__ import annotations

import dataclasses
import tempfile
import textwrap
from pathlib import Path
from typing import Any

from ataraxis_communication_interface import ExtractionConfig, MicroControllerManifest
from ataraxis_video_system import CameraManifest, CameraSourceData, GenicamConfiguration, GenicamNodeInfo

from _harness import Recorder


def _shape(value: Any) -> Any:
    """Describes a loaded value by its Python types, down to the leaves."""
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {
            "type": type(value).__name__,
            "fields": {field.name: _shape(getattr(value, field.name)) for field in dataclasses.fields(value)},
        }
    if isinstance(value, list | tuple):
        return {"type": type(value).__name__, "items": [_shape(item) for item in value]}
    if isinstance(value, dict):
        return {"type": "dict", "items": {str(key): _shape(item) for key, item in value.items()}}
    return f"{type(value).__name__}:{value!r}"


GENICAM = GenicamConfiguration(
    camera_model="Model",
    camera_serial_number="0001234",
    nodes=[
        GenicamNodeInfo(name="Width", value=640),
        GenicamNodeInfo(name="ExposureTime", value=1500.5),
        GenicamNodeInfo(name="ReverseX", value=True),
        GenicamNodeInfo(name="PixelFormat", value="Mono8"),
        GenicamNodeInfo(name="DeviceUserID", value="123"),
        GenicamNodeInfo(name="DeviceTag", value="1e3"),
        GenicamNodeInfo(name="DeviceLabel", value="true"),
        GenicamNodeInfo(name="DeviceNote", value=""),
        GenicamNodeInfo(name="DeviceNull", value="null"),
        GenicamNodeInfo(name="Gain", value=0.0),
        GenicamNodeInfo(name="BalanceRatio", value=1.25, selectors={"BalanceRatioSelector": "Red"}),
        GenicamNodeInfo(name="LUTValue", value=7, selectors={"LUTIndex": 3, "LUTSelector": "Luminance"}),
    ],
)

VARIANTS: dict[str, tuple[type, str]] = {
    "genicam: serial number as an int": (
        GenicamConfiguration,
        "camera_model: M\ncamera_serial_number: 1234\nnodes: []\n",
    ),
    "genicam: unknown key": (
        GenicamConfiguration,
        "camera_model: M\ncamera_serial_number: '1'\nretired: 1\nnodes: []\n",
    ),
    "genicam: nodes null": (GenicamConfiguration, "camera_model: M\ncamera_serial_number: '1'\nnodes: null\n"),
    "genicam: node value a list": (
        GenicamConfiguration,
        "camera_model: M\ncamera_serial_number: '1'\nnodes:\n- name: A\n  value: [1, 2]\n",
    ),
    "genicam: node without selectors key": (
        GenicamConfiguration,
        "camera_model: M\ncamera_serial_number: '1'\nnodes:\n- name: A\n  value: 1\n",
    ),
    "genicam: node missing value": (
        GenicamConfiguration,
        "camera_model: M\ncamera_serial_number: '1'\nnodes:\n- name: A\n",
    ),
    "genicam: empty file": (GenicamConfiguration, ""),
    "manifest: id as a string": (CameraManifest, "sources:\n- id: '111'\n  name: cam\n"),
    "manifest: name as an int": (CameraManifest, "sources:\n- id: 111\n  name: 5\n"),
    "manifest: source with extra key": (CameraManifest, "sources:\n- id: 111\n  name: cam\n  model: X\n"),
    "manifest: sources null": (CameraManifest, "sources: null\n"),
    "manifest: missing name": (CameraManifest, "sources:\n- id: 111\n"),
    "mc manifest: controllers null (package's __post_init__ message)": (MicroControllerManifest, "controllers: null\n"),
    "mc manifest: controllers missing": (MicroControllerManifest, "{}\n"),
    "mc manifest: modules as a list of lists": (
        MicroControllerManifest,
        "controllers:\n- id: 101\n  name: c\n  modules: []\n",
    ),
    "mc manifest: id 1.0": (MicroControllerManifest, "controllers:\n- id: 1.0\n  name: c\n  modules: []\n"),
    "extraction: controllers null (package's __post_init__ message)": (ExtractionConfig, "controllers: null\n"),
    "extraction: kernel null, event codes a list": (
        ExtractionConfig,
        textwrap.dedent(
            """\
            controllers:
            - controller_id: 101
              kernel: null
              modules:
              - module_type: 1
                module_id: 2
                event_codes: [10, 20]
            """
        ),
    ),
    "extraction: event codes empty": (
        ExtractionConfig,
        "controllers:\n- controller_id: 101\n  kernel: {event_codes: []}\n  modules:\n"
        "  - {module_type: 1, module_id: 2, event_codes: []}\n",
    ),
    "extraction: kernel key missing": (
        ExtractionConfig,
        "controllers:\n- controller_id: 101\n  modules: []\n",
    ),
    "extraction: event code as a string": (
        ExtractionConfig,
        "controllers:\n- controller_id: 101\n  kernel: null\n  modules:\n  - {module_type: 1, module_id: 2, "
        "event_codes: ['10']}\n",
    ),
}


def main() -> None:
    """Writes, loads and varies each class; prints the record."""
    with tempfile.TemporaryDirectory(prefix="labcheck-cfg-") as temporary:
        root = Path(temporary)
        rec = Recorder(root)
        originals: dict[str, Any] = {
            "genicam": GENICAM,
            "camera_manifest": CameraManifest(sources=[CameraSourceData(id=111, name="cam"), CameraSourceData(id=5)]),
        }
        for name, instance in originals.items():
            path = root / f"{name}.yaml"
            rec.step(
                f"{name}: to_yaml text",
                lambda instance=instance, path=path: (instance.to_yaml(file_path=path), path.read_text())[1],
            )
            loaded = rec.step(
                f"{name}: from_yaml shape",
                lambda instance=instance, path=path: _shape(type(instance).from_yaml(file_path=path)),
            )
            rec.note(f"{name}: round trip equal to original", loaded == _shape(instance))
        manifest = CameraManifest(sources=[CameraSourceData(id=1, name="a")])
        for label, target in {
            "missing parent folder": root / "new" / "deeper" / "m.yaml",
            ".yml suffix": root / "m.yml",
            ".txt suffix": root / "m.txt",
            "no suffix": root / "m",
            "str path": str(root / "s.yaml"),
        }.items():
            rec.step(
                f"to_yaml: {label}",
                lambda target=target: (manifest.to_yaml(file_path=target), Path(target).exists())[1],
            )
            rec.step(
                f"from_yaml: {label}",
                lambda target=target: _shape(CameraManifest.from_yaml(file_path=target)),
            )
        for name, (cls, text) in VARIANTS.items():
            path = root / "variant.yaml"
            path.write_text(text)
            rec.step(name, lambda cls=cls, path=path: _shape(cls.from_yaml(file_path=path)))


if __name__ == "__main__":
    main()
