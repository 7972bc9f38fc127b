"""The tracker file format: the fast emitter writes what PyYAML writes, the fast parser reads what libyaml reads."""

from __future__ import annotations

import random
import re

import pytest
import yaml

from ataraxis_data_structures.data_structures import tracker_format
from ataraxis_data_structures.data_structures.tracker_executors import ProcessIdentity
from ataraxis_data_structures.data_structures.tracker_format import (
    EMPTY_TRACKER_TEXT,
    EMPTY_TRACKER_TEXT_6,
    FIELD_NAMES,
    JobRecord,
    job_block,
    parse_tracker,
    render_tracker,
)
from ataraxis_data_structures.data_structures.yaml_scalars import is_plain
from ataraxis_data_structures.errors import TrackerFormatError

# The options the reference release writes with; the tests compare the fast paths against PyYAML using them.
DUMP_OPTIONS = tracker_format._DUMP_OPTIONS

# Strings that are hard for YAML: types a plain scalar would turn into, indicators, quotes, escapes, folding.
TRICKY = [
    "",
    "a",
    "batch_101",
    "123",
    "-5",
    "1.5",
    "1e5",
    "0x1F",
    "1:30",
    "2024-01-01",
    "true",
    "Yes",
    "off",
    "null",
    "~",
    "-",
    "-x",
    ".",
    "...",
    "---",
    "<<",
    "=",
    "a: b",
    "a:b",
    "#z",
    "a #b",
    "it's",
    '"quoted"',
    " leading",
    "trailing ",
    "two  spaces",
    "line\nbreak",
    "\n",
    "tab\there",
    "ctl\x01",
    "é ü",
    "日本",
    "emoji \U0001f600",
    "@home",
    "pid:123@host",
    "slurm:998877",
    "[list]",
    "{map}",
    "a,b",
    "!tag",
    "&anchor",
    "*alias",
    "%percent",
    "|pipe",
    ">fold",
    "`tick`",
    "word " * 60,
    "x" * 300,
    "/data/session_01/raw data.bin",
]


def random_string(generator: random.Random) -> str:
    choice = generator.random()
    if choice < 0.4:
        return generator.choice(TRICKY)
    if choice < 0.6:
        return generator.choice(TRICKY) + generator.choice(TRICKY)
    alphabet = "ab01 :_-./#'\"\n\té@!,[]{}%&*|>?"
    return "".join(generator.choice(alphabet) for _ in range(generator.randint(0, 120 if choice > 0.9 else 12)))


def random_record(generator: random.Random) -> JobRecord:
    def optional_string() -> str | None:
        return None if generator.random() < 0.3 else random_string(generator)

    def optional_time() -> int | None:
        return None if generator.random() < 0.3 else generator.choice([0, 1, -1, 1795642711269644, 2**62])

    return JobRecord(
        random_string(generator),
        random_string(generator),
        generator.choice([0, 1, 2, 3]),
        optional_string(),
        optional_string(),
        optional_time(),
        optional_time(),
    )


def random_job_id(generator: random.Random) -> str:
    choice = generator.random()
    if choice < 0.7:
        return f"{generator.getrandbits(64):016x}"
    if choice < 0.8:
        return "".join(generator.choice("0123456789") for _ in range(16))  # Reads as an int unless quoted.
    return random_string(generator) or "k"


def generic_document(jobs: dict[str, JobRecord], layout: int = 6) -> str:
    """The document PyYAML writes: release 6.x's layout (file_path, jobs, lock_path) or 7.x's (jobs alone)."""
    fields = {
        job_id: {
            **dict(zip(FIELD_NAMES, record[:7], strict=True)),
            **({} if record.lease_expires_at is None else {"lease_expires_at": record.lease_expires_at}),
            **({} if record.executor_process is None else {"executor_process": record.executor_process}),
        }
        for job_id, record in jobs.items()
    }
    data: dict[str, object] = {"file_path": ".", "jobs": fields, "lock_path": ""} if layout == 6 else {"jobs": fields}
    return str(yaml.dump(data, **DUMP_OPTIONS))


def random_jobs(seed: int, count: int) -> dict[str, JobRecord]:
    generator = random.Random(seed)
    return {random_job_id(generator): random_record(generator) for _ in range(count)}


@pytest.mark.parametrize("seed", range(6))
def test_fast_emitter_writes_exactly_what_pyyaml_writes(seed: int) -> None:
    jobs = random_jobs(seed, 150)
    blocks = [job_block(job_id, record) for job_id, record in jobs.items()]
    text = render_tracker(blocks, ".", "")
    assert text == generic_document(jobs)
    assert render_tracker(blocks) == generic_document(jobs, layout=7)
    loaded = yaml.load(text, Loader=yaml.CSafeLoader)
    assert {job_id: JobRecord(*fields.values()) for job_id, fields in loaded["jobs"].items()} == jobs


@pytest.mark.parametrize("seed", range(6))
def test_fast_parser_reads_what_libyaml_reads_with_and_without_its_cache(seed: int) -> None:
    jobs = random_jobs(100 + seed, 150)
    text = generic_document(jobs)
    tracker_format._block_cache.clear()
    cold = parse_tracker(text, "t.yaml")
    warm = parse_tracker(text.encode(), "t.yaml")
    assert cold.records == jobs
    assert warm.records == jobs
    assert list(warm.records) == list(jobs)
    assert render_tracker(warm.blocks.values(), ".", "") == text  # Blocks are kept verbatim for the next write.
    seven = generic_document(jobs, layout=7)
    document = parse_tracker(seven, "t.yaml")
    assert document.records == jobs and (document.file_path, document.lock_path) == (None, None)
    assert render_tracker(document.blocks.values(), document.file_path, document.lock_path) == seven


def test_an_empty_tracker_round_trips_in_both_layouts() -> None:
    assert render_tracker([]) == EMPTY_TRACKER_TEXT == generic_document({}, layout=7)
    assert render_tracker([], ".", "") == EMPTY_TRACKER_TEXT_6 == generic_document({})
    document = parse_tracker(EMPTY_TRACKER_TEXT, "t.yaml")
    assert document.records == {}
    assert (document.file_path, document.lock_path) == (None, None)
    document = parse_tracker(EMPTY_TRACKER_TEXT_6, "t.yaml")
    assert (document.file_path, document.lock_path) == (".", "")


def test_a_lease_is_written_only_when_set_and_read_back_by_every_path() -> None:
    jobs = random_jobs(11, 40)
    for index, job_id in enumerate(list(jobs)):
        if index % 3 == 0:
            jobs[job_id] = jobs[job_id]._replace(lease_expires_at=1_800_000_000_000_000 + index)
    text = render_tracker(job_block(job_id, record) for job_id, record in jobs.items())
    assert text == generic_document(jobs, layout=7)
    assert text.count("lease_expires_at") == len(range(0, 40, 3))
    tracker_format._block_cache.clear()
    assert parse_tracker(text, "t.yaml").records == jobs  # the fast path
    assert parse_tracker(text.replace("---\n", "--- # a comment\n"), "t.yaml").records == jobs  # libyaml


def test_an_executor_identity_is_written_only_when_set_and_read_back_by_every_path() -> None:
    jobs = random_jobs(12, 40)
    identity = "boot=657701ba-7b2a-4ac5-a5fc-8f5514f72e5b pidns=4026531836 timens=4026531834 start=45444 host="
    for index, job_id in enumerate(list(jobs)):
        if index % 2 == 0:  # plain host names, and ones PyYAML must quote or escape
            host = ["vm", "node-7.cluster", "é-host", "a: b", "x #y"][index % 5]
            lease = 1_800_000_000_000_000 + index if index % 4 == 0 else None
            jobs[job_id] = jobs[job_id]._replace(lease_expires_at=lease, executor_process=identity + host)
    text = render_tracker(job_block(job_id, record) for job_id, record in jobs.items())
    assert text == generic_document(jobs, layout=7)
    assert text.count("executor_process") == 20
    tracker_format._block_cache.clear()
    assert parse_tracker(text, "t.yaml").records == jobs  # the fast path
    assert parse_tracker(text.replace("---\n", "--- # a comment\n"), "t.yaml").records == jobs  # libyaml
    assert ProcessIdentity.from_text(jobs[next(iter(jobs))].executor_process) == ProcessIdentity(
        "vm", "657701ba-7b2a-4ac5-a5fc-8f5514f72e5b", 4026531836, 4026531834, 45444
    )


def test_a_changed_block_is_parsed_again_while_the_others_come_from_the_cache() -> None:
    jobs = random_jobs(7, 20)
    text = generic_document(jobs)
    parse_tracker(text, "t.yaml")
    changed_id = list(jobs)[5]
    jobs[changed_id] = JobRecord(jobs[changed_id].job_name, jobs[changed_id].specifier, 2, "new executor", None, 10, 20)
    document = parse_tracker(generic_document(jobs), "t.yaml")
    assert document.records == jobs


HAND_EDITED = [
    # Fields in another order, a comment, and a missing optional field.
    "jobs:\n  abc:\n    status: 1\n    job_name: a  # the name\n    executor_id: e\nfile_path: .\n",
    # Four-space indentation.
    "---\nfile_path: .\njobs:\n    abc:\n        job_name: a\n        specifier: b\nlock_path: ''\n...\n",
    # Flow mappings.
    "---\nfile_path: .\njobs: {abc: {job_name: a, status: 2}, def: {job_name: b}}\nlock_path: ''\n",
    # Canonical layout, but double quotes, a block scalar and a comment line inside a block.
    "---\nfile_path: .\njobs:\n  abc:\n    job_name: \"a\\tb\"\n    specifier: ''\n    status: 3\n"
    "    executor_id: null\n    error_message: |\n      multi\n      line\n    started_at: null\n"
    "    completed_at: null\n  # a comment\n  def:\n    job_name: d\n    specifier: ''\n    status: 0\n"
    "    executor_id: null\n    error_message: null\n    started_at: null\n    completed_at: null\n"
    "lock_path: ''\n...\n",
    # A duplicate job key: YAML keeps the last value.
    "---\nfile_path: .\njobs:\n  abc:\n    job_name: first\n  abc:\n    job_name: second\nlock_path: ''\n...\n",
    # Written by YamlConfig.to_yaml of a tracker (absolute paths in the header).
    "---\nfile_path: /data/tracker.yaml\njobs:\n  abc:\n    job_name: a\nlock_path: /data/tracker.yaml.lock\n...\n",
]


@pytest.mark.parametrize("text", HAND_EDITED)
def test_hand_edited_layouts_are_read_as_libyaml_reads_them(text: str) -> None:
    loaded = yaml.load(text, Loader=yaml.CSafeLoader)
    expected = {
        job_id: JobRecord(
            *(
                fields.get(name, default)
                for name, default in zip(FIELD_NAMES, (None, "", 0, None, None, None, None), strict=True)
            )
        )
        for job_id, fields in loaded["jobs"].items()
    }
    document = parse_tracker(text, "t.yaml")
    assert document.records == expected
    assert document.file_path == loaded.get("file_path")
    # Once written back, the jobs are in the canonical layout and read the same.
    assert parse_tracker(render_tracker(document.blocks.values()), "t.yaml").records == expected


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("jobs:\n  abc: [1, 2\n", r"not valid YAML: .* at line \d+, column \d+"),
        ("- a\n- b\n", "is a list, not a mapping"),
        ("", "is empty"),
        ("jobs: 5\n", "'jobs' must map job IDs"),
        ("file_path: .\n", "has no 'jobs' mapping"),
        ("jobs: {}\nextra: 1\n", "unknown top-level key.*extra"),
        ("jobs:\n  abc:\n    job_name: a\n    colour: red\n", "job abc has unknown field.*colour"),
        ("jobs:\n  abc:\n    specifier: a\n", "job abc has no job_name"),
        ("jobs:\n  abc:\n    job_name: a\n    status: 9\n", r"job abc: status must be one of 0 \(SCHEDULED\)"),
        (  # A hand edit that names the status is told the codes, not just "must be int".
            "jobs:\n  abc:\n    job_name: a\n    status: RUNNING\n",
            r"job abc: status must be one of 0 \(SCHEDULED\), 1 \(RUNNING\).*got 'RUNNING' \(str\)",
        ),
        ("jobs:\n  abc:\n    job_name: a\n    status: true\n", r"job abc: status must be one of .*got True \(bool\)"),
        ("jobs:\n  abc:\n    job_name: a\n    started_at: soon\n", "job abc: started_at must be int or null"),
        ("jobs:\n  abc:\n    job_name: [a]\n", r"job abc: job_name must be str, got \['a'\]"),
        ("jobs:\n  abc: 5\n", "job abc must be a mapping of fields"),
    ],
)
def test_invalid_trackers_are_rejected_with_the_file_and_the_fault(text: str, message: str) -> None:
    with pytest.raises(TrackerFormatError, match=re.escape("/data/t.yaml")) as caught:
        parse_tracker(text, "/data/t.yaml")
    assert re.search(message, str(caught.value)), str(caught.value)


NEAR_CANONICAL_VALUES = [
    "a ",
    "null",
    "~",
    "Null",
    "'x'",
    "'it''s'",
    "' padded '",
    '"double"',
    '"esc\\u00e9"',
    "a # comment",
    "12",
    "0o7",
    "1_000",
    "[a]",
    "{a: 1}",
    "&anchor a",
    "!!str 5",
    "yes",
    "-",
    "a:b",
    "a: b",
    "'unterminated",
    "|",
]


@pytest.mark.parametrize("value", NEAR_CANONICAL_VALUES)
@pytest.mark.parametrize("field", ["job_name", "specifier", "executor_id", "error_message"])
def test_near_canonical_values_are_read_as_libyaml_reads_them_or_rejected(field: str, value: str) -> None:
    fields = {"job_name": "a", "specifier": "b", "executor_id": "null", "error_message": "null"}
    fields[field] = value
    text = (
        "---\nfile_path: .\njobs:\n  d1c4958d7f784216:\n"
        f"    job_name: {fields['job_name']}\n    specifier: {fields['specifier']}\n    status: 1\n"
        f"    executor_id: {fields['executor_id']}\n    error_message: {fields['error_message']}\n"
        "    started_at: 5\n    completed_at: null\nlock_path: ''\n...\n"
    )
    tracker_format._block_cache.clear()
    try:
        loaded = yaml.load(text, Loader=yaml.CSafeLoader)["jobs"]["d1c4958d7f784216"]
        expected = tuple(loaded[name] for name in FIELD_NAMES)
        valid = all(isinstance(expected[i], str) for i in (0, 1)) and all(
            expected[i] is None or isinstance(expected[i], str) for i in (3, 4)
        )
    except yaml.YAMLError:
        valid = False
    if valid:
        assert parse_tracker(text, "t.yaml").records == {"d1c4958d7f784216": JobRecord(*expected)}
    else:
        with pytest.raises(ValueError, match=r"t\.yaml"):
            parse_tracker(text, "t.yaml")


def test_the_job_id_shortcut_agrees_with_the_general_plain_check() -> None:
    generator = random.Random(3)
    candidates = [f"{generator.getrandbits(64):016x}" for _ in range(3000)]
    candidates += ["0b01010101010101", "0b01010101010102", "1234567890123456", "0123456701234567", "00000000000000e5"]
    candidates += ["".join(generator.choice("01b") for _ in range(16)) for _ in range(300)]
    taken = 0
    for job_id in candidates:
        shortcut = tracker_format._is_plain_job_id(job_id)
        if shortcut:
            taken += 1
            assert is_plain(job_id), job_id  # the one plain-scalar rule of yaml_scalars
            assert yaml.dump({job_id: 1}, Dumper=yaml.CSafeDumper) == f"{job_id}: 1\n"
        elif job_id[:2] != "0b":  # the one case it leaves to the general check although it may be plain
            assert not is_plain(job_id), f"the shortcut refused {job_id!r}, which YAML reads as a string"
    assert not tracker_format._is_plain_job_id("1234567890123456")  # an integer to YAML
    assert not tracker_format._is_plain_job_id("0b01010101010101")  # a binary integer to YAML 1.1
    assert taken > 3000  # it takes nearly every generated ID (the point of a shortcut)
