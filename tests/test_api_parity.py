"""API parity with the original 7.2.0: every name of its ``__all__`` (top level and each subpackage) imports from ours
with the same signature (parameter names, kinds and defaults; for classes also the public methods and properties, for
enums the members, for constants the value).

Always compared against the committed ``golden/api-7.2.0.json`` (``golden/make_golden.py`` writes it from 7.2.0), and
additionally against the live release when it is installed (marked ``reference``). Ours may offer more than 7.2.0.
"""

from __future__ import annotations

import importlib
import json
from pathlib import Path
from typing import Any

import pytest

import make_golden
from reference_release import REFERENCE7_PYTHON, needs_reference_7, run_python

GOLDEN_API = Path(__file__).parent / "golden" / "api-7.2.0.json"
EXPECTED: dict[str, dict[str, Any]] = json.loads(GOLDEN_API.read_text())["modules"]


def _signature_problems(where: str, expected: Any, actual: Any) -> tuple[list[str], list[str]]:
    """(missing, mismatched) for one signature. Ours may add keyword-only parameters with defaults (every call written
    for 7.2.0 still works); a 7.2.0 parameter that ours lacks is 'missing'; anything else is a mismatch."""
    if expected == actual:
        return [], []
    if expected is None or actual is None:
        return [], [f"{where}: signature differs\n    7.2.0: {_show(expected)}\n    ours:  {_show(actual)}"]
    expected_names = {parameter["name"] for parameter in expected}
    ours = [p for p in actual if p["name"] in expected_names or p["kind"] != "KEYWORD_ONLY" or "default" not in p]
    ours_names = {parameter["name"] for parameter in ours}
    kept = [parameter for parameter in expected if parameter["name"] in ours_names]
    if ours == expected:
        return [], []
    if ours == kept:
        lacking = ", ".join(sorted(expected_names - ours_names))
        return [f"{where}: parameter(s) {lacking} missing"], []
    return [], [f"{where}: signature differs\n    7.2.0: {_show(expected)}\n    ours:  {_show(actual)}"]


def _show(signature: list[dict[str, str]] | None) -> str:
    if signature is None:
        return "(no signature)"
    parts = []
    for parameter in signature:
        text = {"VAR_POSITIONAL": "*", "VAR_KEYWORD": "**"}.get(parameter["kind"], "") + parameter["name"]
        if parameter["kind"] == "KEYWORD_ONLY":
            text = "kw:" + text
        if "default" in parameter:
            text += "=" + parameter["default"]
        parts.append(text)
    return "(" + ", ".join(parts) + ")"


def compare(where: str, expected: dict[str, Any], actual: dict[str, Any]) -> tuple[list[str], list[str]]:
    """Returns (missing, mismatched): what 7.2.0 has and ours lacks, and what both have but differently."""
    missing: list[str] = []
    mismatched: list[str] = []
    if expected["kind"] != actual["kind"]:
        return [], [f"{where}: is a {actual['kind']} in ours, a {expected['kind']} in 7.2.0"]
    kind = expected["kind"]
    if kind in {"function", "class"}:
        lacking, differing = _signature_problems(where, expected["signature"], actual["signature"])
        missing += lacking
        mismatched += differing
    if kind == "enum":
        if expected["bases"] != actual["bases"]:
            mismatched.append(f"{where}: enum base {actual['bases']} in ours, {expected['bases']} in 7.2.0")
        for name, value in expected["members"].items():
            if name not in actual["members"]:
                missing.append(f"{where}.{name}: enum member missing")
            elif actual["members"][name] != value:
                mismatched.append(f"{where}.{name}: value {actual['members'][name]} in ours, {value} in 7.2.0")
    same_constant = (expected.get("type"), expected.get("value")) == (actual.get("type"), actual.get("value"))
    if kind == "constant" and not same_constant:
        mismatched.append(f"{where}: {actual.get('type')} {actual.get('value')} in ours, {expected} in 7.2.0")
    if kind == "class":
        # Ours may add fields (with defaults, as the signature check requires); 7.2.0's keep their names and order.
        shared = [name for name in actual["fields"] if name in expected["fields"]]
        if shared != [name for name in expected["fields"] if name in actual["fields"]]:
            mismatched.append(f"{where}: fields {actual['fields']} in ours, {expected['fields']} in 7.2.0")
        missing += [f"{where}.{name}: field missing" for name in expected["fields"] if name not in actual["fields"]]
        for name, member in expected["members"].items():
            ours = actual["members"].get(name)
            if ours is None and name not in actual["fields"]:
                missing.append(f"{where}.{name}: missing ({member['kind']})")
                continue
            if ours is None or member["kind"] in {"attribute", "property"}:
                # A property may be a plain attribute or a slot in ours: being readable by that name is the contract.
                if ours is not None and ours["kind"] not in {"attribute", "property"}:
                    mismatched.append(f"{where}.{name}: a {ours['kind']} in ours, a {member['kind']} in 7.2.0")
                continue
            if ours["kind"] != member["kind"]:
                mismatched.append(f"{where}.{name}: a {ours['kind']} in ours, a {member['kind']} in 7.2.0")
                continue
            lacking, differing = _signature_problems(f"{where}.{name}", member["signature"], ours["signature"])
            missing += lacking
            mismatched += differing
    return missing, mismatched


def describe_ours(module: str, name: str) -> dict[str, Any] | None:
    """Our description of ``module.name`` (module "" is the top level), or None when ours lacks it."""
    try:
        imported = importlib.import_module("ataraxis_data_structures" + (f".{module}" if module else ""))
    except ImportError:
        return None
    if name not in getattr(imported, "__all__", ()) or not hasattr(imported, name):
        return None
    return make_golden.describe_object(getattr(imported, name))


def check_name(module: str, name: str, expected: dict[str, Any]) -> None:
    where = f"ataraxis_data_structures{'.' + module if module else ''}.{name}"
    actual = describe_ours(module, name)
    mismatched: list[str] = []
    if actual is None:
        missing = [f"{where}: not importable from ours (or not in its __all__)"]
    else:
        missing, mismatched = compare(where, expected, actual)
    if mismatched:
        pytest.fail("\n".join(mismatched + missing), pytrace=False)
    if missing:
        pytest.fail("\n".join(missing), pytrace=False)


CASES = [(module, name) for module, names in sorted(EXPECTED.items()) for name in sorted(names)]


@pytest.mark.parametrize(("module", "name"), CASES, ids=[f"{m or 'top'}.{n}" for m, n in CASES])
def test_name_matches_the_committed_7_2_0_api(module: str, name: str) -> None:
    check_name(module, name, EXPECTED[module][name])


def test_committed_api_covers_every_subpackage() -> None:
    assert set(EXPECTED) == {"", *make_golden.SUBPACKAGES}
    assert len(EXPECTED[""]) >= 31  # 7.2.0's top-level __all__ has 31 names
    for module in make_golden.SUBPACKAGES:
        assert set(EXPECTED[module]) <= set(EXPECTED[""]), module  # each subpackage name is also at the top level


def test_comparison_catches_a_changed_default_a_missing_member_and_a_kind_change() -> None:
    expected = make_golden.describe_object(_Original)
    assert compare("x", expected, expected) == ([], [])
    missing, mismatched = compare("x", expected, make_golden.describe_object(_Changed))
    assert missing == ["x.stop: missing (method)"]
    assert any("x.start: signature differs" in line for line in mismatched), mismatched
    assert any("x.name: a method in ours, a property in 7.2.0" in line for line in mismatched), mismatched


class _Original:
    def __init__(self, path: Path, *, workers: int = 4) -> None: ...
    def start(self, timeout: float = 1.0) -> None: ...
    def stop(self) -> None: ...
    @property
    def name(self) -> str:
        return ""


class _Changed:
    def __init__(self, path: Path, *, workers: int = 4) -> None: ...
    def start(self, timeout: float = 2.0) -> None: ...
    def name(self) -> str:
        return ""


@needs_reference_7
def test_committed_api_is_what_the_installed_7_2_0_reports() -> None:
    """The golden list is still true to the release, and ours matches the live release as well."""
    live = run_python(REFERENCE7_PYTHON, make_golden.__file__, "api", timeout=120)
    modules = json.loads(live.stdout)["modules"]
    assert modules == EXPECTED, "tests/golden/api-7.2.0.json is stale: run tests/golden/make_golden.py regenerate"
