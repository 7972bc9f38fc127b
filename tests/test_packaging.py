"""Packaging: the wheel we build installs where the lab's packages pin ``ataraxis-data-structures>=7.1,<8``, pip keeps
it when such a package is installed next to it, and its metadata (version, license, URLs) is well formed.

The slow test builds our wheel and a wheelhouse of its dependencies once, then installs everything with
``--no-index`` so it never depends on the network.
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
import subprocess
import sys
import venv
import zipfile
from email.parser import Parser
from pathlib import Path

import pytest
from packaging.specifiers import SpecifierSet
from packaging.version import Version

import ataraxis_data_structures as axds

ROOT = Path(__file__).resolve().parents[1]
LAB_PIN = "ataraxis-data-structures>=7.1,<8"


def _pip(python: Path, *args: str | Path, timeout: float = 600) -> subprocess.CompletedProcess[str]:
    result = subprocess.run(
        [python, "-m", "pip", "--disable-pip-version-check", *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
    assert result.returncode == 0, f"pip {' '.join(map(str, args))} failed:\n{result.stdout}\n{result.stderr}"
    return result


def _record_line(name: str, data: bytes) -> str:
    digest = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()
    return f"{name},sha256={digest},{len(data)}"


def write_lab_package_wheel(folder: Path, name: str = "tiny_lab_package", pin: str = LAB_PIN) -> Path:
    """Writes a minimal, valid wheel of a 'lab package' whose only dependency is the lab's pin of the original."""
    dist_info = f"{name}-1.0.dist-info"
    files = {
        f"{name}/__init__.py": b"import ataraxis_data_structures\n",
        f"{dist_info}/METADATA": (
            f"Metadata-Version: 2.1\nName: {name}\nVersion: 1.0\nRequires-Dist: {pin}\n\n"
        ).encode(),
        f"{dist_info}/WHEEL": (
            b"Wheel-Version: 1.0\nGenerator: test_packaging\nRoot-Is-Purelib: true\nTag: py3-none-any\n"
        ),
    }
    record = [_record_line(path, data) for path, data in files.items()] + [f"{dist_info}/RECORD,,"]
    wheel = folder / f"{name}-1.0-py3-none-any.whl"
    with zipfile.ZipFile(wheel, "w") as archive:
        for path, data in files.items():
            archive.writestr(path, data)
        archive.writestr(f"{dist_info}/RECORD", "\n".join(record) + "\n")
    return wheel


def test_version_satisfies_the_lab_pins_and_says_it_is_not_upstream() -> None:
    version = Version(axds.__version__)
    assert version in SpecifierSet(">=7.1,<8"), version
    assert version.local is not None and version.local.startswith("axds"), version  # not the upstream 7.2.0
    assert version.release[:2] == (7, 2)  # the API level of the release line this replaces


def test_metadata_names_license_python_and_original_release() -> None:
    from importlib.metadata import metadata

    meta = metadata("ataraxis-data-structures")
    assert meta["License-Expression"] == "Apache-2.0"
    assert meta["Requires-Python"] == ">=3.11"
    urls = meta.get_all("Project-URL") or []
    assert any("pypi.org/project/ataraxis-data-structures" in url for url in urls), urls
    classifiers = meta.get_all("Classifier") or []
    assert {f"Programming Language :: Python :: 3.{minor}" for minor in (11, 12, 13, 14)} <= set(classifiers)
    assert (ROOT / "LICENSE").read_text().lstrip().startswith("Apache License")


@pytest.fixture(scope="module")
def wheelhouse(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Our wheel plus wheels of its dependencies (pip's configured index or cache provides those, once)."""
    folder = tmp_path_factory.mktemp("wheelhouse")
    _pip(Path(sys.executable), "wheel", "--quiet", "--wheel-dir", folder, ROOT)
    return folder


@pytest.mark.slow
def test_built_wheel_metadata_is_valid(wheelhouse: Path) -> None:
    """What a 'twine check' would look at: the METADATA of the built wheel parses, validates and carries the files."""
    from packaging.metadata import Metadata

    (wheel,) = wheelhouse.glob("ataraxis_data_structures-*.whl")
    with zipfile.ZipFile(wheel) as archive:
        names = archive.namelist()
        (meta_name,) = [n for n in names if n.endswith(".dist-info/METADATA")]
        raw = archive.read(meta_name)
    meta = Metadata.from_email(raw, validate=True)
    assert str(meta.version) == axds.__version__
    assert meta.license_expression == "Apache-2.0"
    assert any(n.endswith(".dist-info/licenses/LICENSE") for n in names), names
    assert "ataraxis_data_structures/py.typed" in names
    assert str(Parser().parsestr(raw.decode()).get_payload()).lstrip().startswith("# ataraxis-data-structures")


@pytest.mark.slow
def test_pip_keeps_ours_when_a_package_pinning_the_original_is_installed(wheelhouse: Path, tmp_path: Path) -> None:
    env_dir = tmp_path / "lab-venv"
    venv.EnvBuilder(with_pip=True).create(env_dir)
    python = env_dir / ("Scripts" if os.name == "nt" else "bin") / "python"
    offline = ("--no-index", "--find-links", wheelhouse)
    _pip(python, "install", "--quiet", *offline, "ataraxis-data-structures")

    lab_wheels = tmp_path / "lab-wheels"
    lab_wheels.mkdir()
    write_lab_package_wheel(lab_wheels)
    install = _pip(python, "install", *offline, "--find-links", lab_wheels, "tiny_lab_package")
    installed_now = install.stdout.replace("-", "_").split("Successfully installed")[-1]
    assert "tiny_lab_package_1.0" in installed_now, install.stdout
    assert "ataraxis_data_structures" not in installed_now, install.stdout  # ours was kept, not replaced

    probe = subprocess.run(
        [python, Path(__file__).with_name("package_children.py"), "installed-probe"],
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
        cwd=tmp_path,  # not the repository: the import must come from the venv
    )
    installed, reported, module_file = json.loads(probe.stdout)
    assert installed == reported == axds.__version__
    assert Path(module_file).is_relative_to(env_dir), module_file
    shown = _pip(python, "show", "ataraxis-data-structures").stdout
    assert f"Version: {axds.__version__}" in shown
    assert "Required-by: tiny_lab_package" in shown.replace("tiny-lab-package", "tiny_lab_package")
    _pip(python, "check")  # every installed requirement, the lab's pin included, is satisfied
