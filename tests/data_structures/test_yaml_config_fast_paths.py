"""The fast YAML emitter and reader are exact: same text as PyYAML's dumper, same data as its safe loader.

Randomized documents full of YAML traps (reserved words, numbers in strings, indicators, quotes, long keys,
non-ASCII, nesting) are written by both and compared; randomly damaged texts must either be declined by the fast
reader or read exactly as PyYAML reads them (never accepted when PyYAML rejects them).
"""

from __future__ import annotations

import math
import random
from pathlib import Path
from typing import Any

import pytest
import yaml
from test_yaml_config_models import SessionConfig

from ataraxis_data_structures.data_structures import yaml_text
from ataraxis_data_structures.data_structures.yaml_scalars import OutsideFastPathError

CHARACTERS = "abcXYZ019 _-./\\:#'\",!?&*@`|>%{}[]()+=^$~<\t\u00e9\u2713\n"
TRAPS = [
    "yes", "No", "on", "OFF", "null", "Null", "~", "true", "1", "0", "-1", "+5", "007", "0x1f", "1_000", "1:30",
    "1.5", "1e5", "1.0e+20", ".5", "-.5", ".inf", "-.inf", ".nan", "2024-01-01", "2024-06-01-12-30-00", "---",
    "...", "- a", "a: b", "a #b", "a#b", "-", "?", "? a", ":a", "=", "<<", "", " lead", "trail ", "it's", "C:\\x",
    "http://x.y/z", "/data/a b", "x" * 130, "&anchor", "*alias", "!tag", "%dir", "@at", "`tick", "[a]", "{a}",
]  # fmt: skip


class RandomDocuments:
    def __init__(self, seed: int) -> None:
        self.rng = random.Random(seed)

    def text(self) -> str:
        if self.rng.random() < 0.4:
            return self.rng.choice(TRAPS)
        return "".join(self.rng.choice(CHARACTERS) for _ in range(self.rng.randint(0, 8)))

    def scalar(self) -> Any:
        roll = self.rng.random()
        if roll < 0.5:
            return self.text()
        if roll < 0.65:
            return self.rng.choice([0, 1, -5, 10**20, 12345])
        if roll < 0.8:
            return self.rng.choice([0.0, -0.0, 1.5, 1e20, 1e-7, 3.14159, math.inf, -math.inf, math.nan, 100.0])
        if roll < 0.9:
            return self.rng.choice([True, False])
        return None

    def key(self) -> Any:
        return self.text() if self.rng.random() < 0.85 else self.rng.choice([1, -2, True, None, 1.5])

    def value(self, depth: int) -> Any:
        roll = self.rng.random()
        if depth < 3 and roll < 0.2:
            return {self.key(): self.value(depth + 1) for _ in range(self.rng.randint(0, 4))}
        if depth < 3 and roll < 0.35:
            return [self.value(depth + 1) for _ in range(self.rng.randint(0, 4))]
        return self.scalar()

    def document(self) -> dict[Any, Any]:
        return {self.key(): self.value(0) for _ in range(self.rng.randint(1, 6))}

    def damage(self, text: str) -> str:
        characters = list(text)
        for _ in range(self.rng.randint(1, 3)):
            position = self.rng.randrange(len(characters))
            roll = self.rng.random()
            replacement = self.rng.choice(CHARACTERS + "  -:\n")
            if roll < 0.15:  # comments, the most common thing a person adds
                characters.insert(position, self.rng.choice([" # note", "  #", "# x\n", "\n# line\n"]))
            elif roll < 0.4:
                characters[position] = replacement
            elif roll < 0.7:
                characters.insert(position, replacement)
            else:
                del characters[position]
        return "".join(characters)


def same(a: Any, b: Any) -> bool:
    """Deep equality that also tells int from bool from float and treats NaN as equal to NaN."""
    if isinstance(a, float) and isinstance(b, float) and math.isnan(a) and math.isnan(b):
        return True
    if type(a) is not type(b):
        return False
    if isinstance(a, dict):
        return list(a) == list(b) and all(same(a[key], b[key]) for key in a)
    if isinstance(a, list):
        return len(a) == len(b) and all(same(x, y) for x, y in zip(a, b, strict=True))
    return bool(a == b)


def pyyaml_dump(data: Any) -> str:
    return yaml.dump(
        data, Dumper=yaml.CSafeDumper, sort_keys=False, explicit_start=True, explicit_end=True, width=2**31 - 1
    )


@pytest.mark.parametrize("seed", range(4))
def test_fast_paths_agree_with_pyyaml_on_random_documents(seed: int) -> None:
    documents = RandomDocuments(seed)
    read_fast = accepted_damaged = 0
    for _ in range(600):
        data = documents.document()
        expected_text = pyyaml_dump(data)
        assert yaml_text.dump_document(data) == expected_text, repr(data)
        assert same(yaml_text.load_document(expected_text), yaml.load(expected_text, Loader=yaml.CSafeLoader))
        try:
            yaml_text._read_fast(expected_text)
            read_fast += 1
        except OutsideFastPathError:
            pass
        for _ in range(4):
            damaged = documents.damage(expected_text)
            try:
                fast = yaml_text._read_fast(damaged)
            except OutsideFastPathError:
                continue
            accepted_damaged += 1
            try:
                reference = yaml.load(damaged, Loader=yaml.CSafeLoader)
            except yaml.YAMLError:
                pytest.fail(f"the fast reader accepted a document PyYAML rejects: {damaged!r}")
            assert same(fast, reference), repr(damaged)
    # Both paths were really exercised, not skipped wholesale.
    assert read_fast > 50
    assert accepted_damaged > 50


def test_config_files_take_the_fast_path(tmp_path: Path) -> None:
    SessionConfig().to_yaml(tmp_path / "c.yaml")
    text = (tmp_path / "c.yaml").read_text()
    assert same(yaml_text._read_fast(text), yaml.load(text, Loader=yaml.CSafeLoader))


@pytest.mark.parametrize(
    "text",
    [
        "a: 1\n  b: 2\n",  # bad indentation
        "a:\n- 1\n b: 2\n",
        "a: b: c\n",
        "- 1\nb: 2\n",
        "a: 'x\n",
        "a: [1, 2\n",
        "a: 1\n---\nb: 2\n",
        "a: 1\n...\nb: 2\n",
    ],
)
def test_malformed_text_is_left_to_pyyaml_which_reports_it(text: str) -> None:
    with pytest.raises(OutsideFastPathError):
        yaml_text._read_fast(text)
    with pytest.raises(yaml.YAMLError):
        yaml_text.load_document(text)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("a: 0o17\n", {"a": "0o17"}),
        ("a: 017\n", {"a": 15}),
        ("a: 1_000\n", {"a": 1000}),
        ("a: 1:30\n", {"a": 90}),
        ("a: 1e5\n", {"a": "1e5"}),
        ("a: -.5\n", {"a": "-.5"}),
        ("a: .5\n", {"a": 0.5}),
        ("yes: no\n", {True: False}),
        ("a: ~\n", {"a": None}),
        ("a:\n", {"a": None}),
        ("a: 'it''s'\n", {"a": "it's"}),
        ("a:\n  - 1\n  - x\nb: {}\n", {"a": [1, "x"], "b": {}}),
        ("# comment\na: 1 # trailing\n", {"a": 1}),
        (
            "a:   # the block below\n  b: 'x # y'  # z\nc: d#e # f\nl:\n- 1 # one\n",
            {"a": {"b": "x # y"}, "c": "d#e", "l": [1]},
        ),
        ("a: &x 1\nb: *x\n", {"a": 1, "b": 1}),
    ],
)
def test_yaml_1_1_scalars_are_read_as_the_safe_loader_reads_them(text: str, expected: dict[Any, Any]) -> None:
    assert same(yaml_text.load_document(text), expected)


def test_damaged_config_files_are_read_exactly_or_left_to_pyyaml(tmp_path: Path) -> None:
    """Config-shaped text (deep identifier keys, indentless lists) damaged the way hand edits damage it."""
    SessionConfig().to_yaml(tmp_path / "c.yaml")
    text = (tmp_path / "c.yaml").read_text()
    accepted = 0
    for seed in range(40):
        documents = RandomDocuments(1000 + seed)
        for _ in range(25):
            damaged = documents.damage(documents.damage(text))
            try:
                fast = yaml_text._read_fast(damaged)
            except OutsideFastPathError:
                continue
            accepted += 1
            try:
                reference = yaml.load(damaged, Loader=yaml.CSafeLoader)
            except yaml.YAMLError:
                pytest.fail(f"the fast reader accepted a document PyYAML rejects: {damaged!r}")
            assert same(fast, reference), repr(damaged)
    assert accepted > 100


def test_commented_hand_edits_stay_on_the_fast_path() -> None:
    text = "# rig settings\ncamera:  # the face camera\n  fps: 60  # Hz\n  name: 'cam # 1'\nroi:\n- 1 # x\n"
    assert yaml_text._read_fast(text) == {"camera": {"fps": 60, "name": "cam # 1"}, "roi": [1]}
    assert yaml_text._read_fast(text) == yaml.load(text, Loader=yaml.CSafeLoader)
