"""Source descriptions (issue 19, point 3): given to DataLogger, stored in the live folder, carried into each archive,
read back by LogArchiveReader and `axds inspect`, and invisible to both releases' readers and assemblers.

Real files throughout; the slow tests record with a real DataLogger and a spawned producer, and the reference tests
run 6.2.0's and 7.2.0's own readers and assemblers in their interpreters.
"""

from __future__ import annotations

import json
import multiprocessing
import os
import re
import shutil
import uuid
import warnings
from pathlib import Path

import numpy as np
import pytest
from log_builders import ONSET_US, read_with_numpy, sample_messages, write_live_log
from logger_children import describe_and_produce, produce

from ataraxis_data_structures import (
    DataLogger,
    DescribedSource,
    LogArchiveReader,
    LogSession,
    SourceDescription,
    SourceDescriptionWarning,
    assemble_log_archives,
)
from ataraxis_data_structures.cli import main
from ataraxis_data_structures.data_loggers.formats.archive_format import (
    SourceRecord,
    decode_manifest,
    decode_sessions,
    encode_manifest,
    encode_sessions,
)
from ataraxis_data_structures.data_loggers.formats.source_description import (
    SOURCES_FILE_NAME,
    decode_archive_lines,
    encode_archive_lines,
    read_sources_file,
)
from ataraxis_data_structures.data_loggers.live.source_store import write_sources_file
from reference_release import EACH_RELEASE, RELEASES, run_reference

GOLDEN = Path(__file__).parent.parent / "golden" / "source-description-v1"
SUFFIX = f"{os.getpid()}_{uuid.uuid4().hex[:6]}"
ENCODER = SourceDescription("wheel encoder", dtype="<i4", units="ticks", note="positive is forward")
CAMERA = SourceDescription("left camera", dtype=[("frame", "<u8"), ("stamp", "<u8")], schema="frame number, time")


def golden_history() -> dict[int, list[DescribedSource]]:
    """The descriptions the golden files hold."""
    return {
        3: [DescribedSource(1_700_000_000_000_000, SourceDescription("lick sensor", dtype="<u2", shape=(4,)))],
        12: [
            DescribedSource(1_700_000_000_000_001, ENCODER),
            DescribedSource(1_700_000_100_000_000, CAMERA),
        ],
    }


def test_a_description_checks_its_fields_and_interprets_payloads() -> None:
    sensor = SourceDescription("lick sensor", dtype=np.uint16, shape=[2, 2], units="ADC counts")
    assert sensor.dtype == np.dtype("<u2") and sensor.shape == (2, 2)
    payload = np.arange(4, dtype="<u2").view(np.uint8)
    assert sensor.interpret(payload).tolist() == [[0, 1], [2, 3]]
    assert CAMERA.interpret(np.zeros(32, np.uint8))["frame"].tolist() == [0, 0]
    assert SourceDescription("x", dtype="<i4") == SourceDescription("x", dtype=np.int32)  # equal, and hashable
    assert len({SourceDescription("x", dtype="<i4"), SourceDescription("x", dtype=np.int32)}) == 1
    with pytest.raises(ValueError, match="name must be a non-empty str"):
        SourceDescription("")
    with pytest.raises(TypeError, match="dtype 'nonsense' is not a numpy dtype"):
        SourceDescription("x", dtype="nonsense")
    with pytest.raises(TypeError, match="shape must hold integers"):
        SourceDescription("x", shape=(1.5,))  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="negative size"):
        SourceDescription("x", shape=(-1,))
    with pytest.raises(TypeError, match="units must be a str"):
        SourceDescription("x", units=3)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="5101 bytes encoded, more than the 4096"):
        SourceDescription("x", note="n" * 5000)
    with pytest.raises(ValueError, match="has no dtype"):
        SourceDescription("x").interpret(payload)


def test_the_archive_lines_are_skipped_by_the_manifest_and_session_decoders() -> None:
    history = golden_history()[12]
    records = [SourceRecord("012-0000.axlog.npy", 4096, 0xABC)]
    sessions = [LogSession(ONSET_US, 0), LogSession(ONSET_US + 5, 5)]
    comment = encode_manifest(records) + encode_sessions(sessions) + encode_archive_lines(history)
    assert all(len(line.split()) == 2 for line in encode_archive_lines(history).splitlines())  # spaces escaped
    assert decode_manifest(comment) == {"012-0000.axlog.npy": records[0]}
    assert decode_sessions(comment) == sessions
    assert decode_archive_lines(comment, "archive") == history


def test_the_format_is_pinned_by_golden_files(tmp_path: Path) -> None:
    # The live file as version 1 writes it, and the archive comment lines: both read back, and written byte for byte.
    assert read_sources_file(GOLDEN) == golden_history()
    for source_id, history in golden_history().items():
        for entry in history:
            write_sources_file(tmp_path, {source_id: entry})
    assert (tmp_path / SOURCES_FILE_NAME).read_bytes() == (GOLDEN / SOURCES_FILE_NAME).read_bytes()
    lines = (GOLDEN / "archive-comment-lines.txt").read_bytes()
    assert encode_archive_lines(golden_history()[12]) == lines
    assert decode_archive_lines(lines, "golden") == golden_history()[12]


def described_folder(directory: Path, descriptions: dict[int, list[DescribedSource]], count: int = 50) -> Path:
    """Writes a live log of `count` messages per described source, and the description file."""
    for source_id, history in descriptions.items():
        write_live_log(directory, source_id, sample_messages(count, seed=source_id))
        for entry in history:
            write_sources_file(directory, {source_id: entry})
    return directory


def test_assembly_carries_the_description_into_the_archive_and_then_removes_the_file(tmp_path: Path) -> None:
    folder = described_folder(tmp_path / "log", golden_history())
    write_live_log(folder, 4, sample_messages(30, seed=4))  # a source nobody described
    assemble_log_archives(folder, verify_integrity=True)
    assert sorted(p.name for p in folder.iterdir()) == ["12_log.npz", "3_log.npz", "4_log.npz"]
    assert LogArchiveReader(folder / "3_log.npz").description == golden_history()[3][0].description
    reader = LogArchiveReader(folder / "12_log.npz")
    assert reader.description == CAMERA  # the latest wins
    assert reader.description_history == golden_history()[12]
    assert LogArchiveReader(folder / "4_log.npz").description is None
    assert LogArchiveReader(folder / "4_log.npz").description_history == []


def test_a_description_survives_reassembly_and_a_changed_one_wins_with_the_earlier_kept(tmp_path: Path) -> None:
    folder = tmp_path / "log"
    first = DescribedSource(ONSET_US, ENCODER)
    described_folder(folder, {12: [first]}, count=20)
    assemble_log_archives(folder)
    archive = folder / "12_log.npz"
    before = LogArchiveReader(archive).read_all_messages()[0]
    # A second session in the same folder, with the source described again (as a restarted DataLogger does).
    second_onset = ONSET_US + 60_000_000
    write_live_log(folder, 12, [(0, np.uint64(second_onset).tobytes()), (7, b"late")], segment=1)
    renamed = SourceDescription("wheel encoder", dtype="<i4", units="degrees")
    write_sources_file(folder, {12: DescribedSource(second_onset, renamed)})
    assemble_log_archives(folder)
    reader = LogArchiveReader(archive)
    assert reader.description == renamed
    assert reader.description_history == [first, DescribedSource(second_onset, renamed)]
    assert reader.read_all_messages()[0].tolist() == [*before.tolist(), second_onset + 7]
    assert not (folder / SOURCES_FILE_NAME).exists()
    # Reassembly with nothing new (and no file) leaves the archive's descriptions as they are.
    write_live_log(folder, 12, [(0, np.uint64(second_onset + 1).tobytes()), (1, b"x")], segment=2)
    assemble_log_archives(folder, verify_integrity=True)
    assert LogArchiveReader(archive).description_history == [first, DescribedSource(second_onset, renamed)]
    # Only the description changed: the archive is rewritten with it, every message as it was.
    messages = LogArchiveReader(archive).read_all_messages()[0].tolist()
    write_sources_file(folder, {12: DescribedSource(second_onset + 2, ENCODER)})
    assemble_log_archives(folder)
    assert LogArchiveReader(archive).description == ENCODER
    assert len(LogArchiveReader(archive).description_history) == 3
    assert LogArchiveReader(archive).read_all_messages()[0].tolist() == messages
    assert sorted(p.name for p in folder.iterdir()) == ["12_log.npz"]


def test_the_file_stays_while_a_described_source_has_no_archive_or_sources_are_kept(tmp_path: Path) -> None:
    folder = described_folder(tmp_path / "log", {3: golden_history()[3]})
    write_sources_file(folder, {9: DescribedSource(ONSET_US, SourceDescription("never logged"))})
    assemble_log_archives(folder, remove_sources=False)
    assert (folder / SOURCES_FILE_NAME).exists()
    assemble_log_archives(folder)
    assert (folder / SOURCES_FILE_NAME).exists()  # source 9 has no archive to carry it yet
    assert LogArchiveReader(folder / "3_log.npz").description == golden_history()[3][0].description


@pytest.mark.parametrize("damage", ["truncated", "garbage", "foreign", "newer", "bad entry"])
def test_a_damaged_description_file_warns_naming_it_and_assembly_goes_on(tmp_path: Path, damage: str) -> None:
    folder = described_folder(tmp_path / "log", golden_history())
    path = folder / SOURCES_FILE_NAME
    text = path.read_text()
    damaged = {
        "truncated": text[: len(text) // 2],
        "garbage": "\x00\xff" * 40,
        "foreign": json.dumps({"cameras": {"3": "left"}}),
        "newer": text.replace('"version": 1', '"version": 2'),
        "bad entry": text.replace('"dtype": "<u2"', '"dtype": "not a dtype"'),
    }[damage]
    path.write_bytes(damaged.encode("utf-8", "surrogateescape"))
    with pytest.warns(SourceDescriptionWarning, match=re.escape(str(path))):
        assemble_log_archives(folder, verify_integrity=True)
    assert LogArchiveReader(folder / "3_log.npz").message_count == 50
    assert LogArchiveReader(folder / "3_log.npz").description is None
    expected = CAMERA if damage == "bad entry" else None  # only the broken entry is dropped
    assert LogArchiveReader(folder / "12_log.npz").description == expected
    assert path.exists() == (damage != "bad entry")  # an unread file is kept for inspection


def test_a_damaged_archive_line_warns_and_reads_the_archive_as_without(tmp_path: Path) -> None:
    folder = described_folder(tmp_path / "log", {3: golden_history()[3]})
    assemble_log_archives(folder)
    archive = folder / "3_log.npz"
    data = bytearray(archive.read_bytes())
    at = data.rfind(b'"name":"lick')
    data[at + 1] = ord("N")  # the JSON no longer names the source: not a description
    archive.write_bytes(bytes(data))
    reader = LogArchiveReader(archive)
    with pytest.warns(SourceDescriptionWarning, match=re.escape(str(archive))):
        assert reader.description is None
    assert reader.message_count == 50


def test_data_logger_takes_descriptions_checks_them_and_never_fails_to_log_because_of_them(tmp_path: Path) -> None:
    logger = DataLogger(tmp_path, f"described_{SUFFIX}", sources={3: "lick sensor", 12: ENCODER})
    assert logger.sources == {3: SourceDescription("lick sensor"), 12: ENCODER}
    stored = read_sources_file(logger.output_directory)
    assert {source: [e.description for e in history] for source, history in stored.items()} == {
        3: [SourceDescription("lick sensor")],
        12: [ENCODER],
    }
    logger.describe_source(np.uint8(3), CAMERA)
    assert logger.sources[3] == CAMERA
    assert [e.description for e in read_sources_file(logger.output_directory)[3]] == [
        SourceDescription("lick sensor"),
        CAMERA,
    ]
    with pytest.raises(ValueError, match=r"0\.\.255, got 256"):
        logger.describe_source(256, "x")
    with pytest.raises(TypeError, match="must be an integer"):
        logger.describe_source(True, "x")
    with pytest.raises(TypeError, match="SourceDescription or a name"):
        logger.describe_source(1, 5)  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="must be an integer"):
        DataLogger(tmp_path, f"bad_{SUFFIX}", sources={"1": "x"})  # type: ignore[dict-item]
    # A file that cannot be written (here a folder holds its name) warns, naming it, and raises nothing.
    path = logger.output_directory / SOURCES_FILE_NAME
    path.unlink()
    path.mkdir()
    with pytest.warns(SourceDescriptionWarning, match=SOURCES_FILE_NAME):
        logger.describe_source(4, "another")
    assert logger.sources[4] == SourceDescription("another")


def test_an_undescribed_logger_writes_no_file(tmp_path: Path) -> None:
    logger = DataLogger(tmp_path, f"plain_{SUFFIX}")
    assert logger.sources == {}
    assert list(logger.output_directory.iterdir()) == []


@pytest.mark.slow
def test_a_described_recording_with_a_spawned_producer_reads_back_by_name(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    logger = DataLogger(tmp_path, f"spawned_{SUFFIX}", sources={7: CAMERA})
    logger.start()
    try:
        context = multiprocessing.get_context("spawn")
        producers = [context.Process(target=produce, args=(logger.input_queue, 7, 300))] + [
            # Four producers describing their own sources at once: the file's lock keeps every description.
            context.Process(target=describe_and_produce, args=(logger.input_queue, source, 50, f"camera {source}"))
            for source in (20, 21, 22, 23)
        ]
        for producer in producers:
            producer.start()
        logger.describe_source(8, ENCODER)  # while the logger runs
        for producer in producers:
            producer.join(60)
            assert producer.exitcode == 0
        produce(logger.input_queue, 8, 20)
    finally:
        logger.stop()
    folder = logger.output_directory
    assert sorted(read_sources_file(folder)) == [7, 8, 20, 21, 22, 23]
    assert SOURCES_FILE_NAME in {p.name for p in folder.iterdir()}
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assemble_log_archives(folder, verify_integrity=True)
    archives = ["20_log.npz", "21_log.npz", "22_log.npz", "23_log.npz", "7_log.npz", "8_log.npz"]
    assert sorted(p.name for p in folder.iterdir()) == archives  # only the archives, as before
    described = LogArchiveReader(folder / "21_log.npz").description
    assert described is not None and described.name == "camera 21" and described.shape == (16,)
    assert LogArchiveReader(folder / "7_log.npz").description == CAMERA
    assert LogArchiveReader(folder / "7_log.npz").message_count == 300
    assert LogArchiveReader(folder / "8_log.npz").description == ENCODER
    # A new session of the same logger writes the file again, so its archive keeps its description.
    logger.start()
    try:
        produce(logger.input_queue, 8, 5)
    finally:
        logger.stop()
    assert read_sources_file(folder)[8][-1].description == ENCODER
    assemble_log_archives(folder)
    assert LogArchiveReader(folder / "8_log.npz").description == ENCODER
    assert main(["inspect", str(folder)]) == 0
    text = capsys.readouterr().out
    assert "name:          left camera" in text
    assert "payload:       [('frame', '<u8'), ('stamp', '<u8')]; schema frame number, time" in text
    assert "name:          wheel encoder" in text
    assert "payload:       int32; units ticks; note positive is forward" in text
    assert main(["inspect", "--json", str(folder / "8_log.npz")]) == 0
    assert json.loads(capsys.readouterr().out)["description"] == {
        "name": "wheel encoder",
        "dtype": "<i4",
        "shape": None,
        "schema": None,
        "units": "ticks",
        "note": "positive is forward",
    }


@pytest.mark.slow
def test_the_plot_labels_sources_by_name(tmp_path: Path) -> None:
    pytest.importorskip("matplotlib")
    from PIL import Image

    folder = described_folder(tmp_path / "log", {3: golden_history()[3]})
    write_live_log(folder, 4, sample_messages(30, seed=4))
    assemble_log_archives(folder)
    assert main(["inspect", str(folder), "--plot", str(tmp_path / "plot.png")]) == 0
    assert Image.open(tmp_path / "plot.png").info["Description"] == "sources: 3 (lick sensor), 4"


READ_BOTH = """
import json, sys
from pathlib import Path
import numpy as np
from ataraxis_data_structures.data_loggers import LogArchiveReader
out = []
for path in sys.argv[1:]:
    reader = LogArchiveReader(Path(path))
    timestamps, payloads = reader.read_all_messages()
    with np.load(path) as data:
        keys = list(data.files)
    out.append([int(reader.onset_timestamp_us), reader.message_count, [int(t) for t in timestamps],
                [p.tobytes().hex() for p in payloads], keys])
print(json.dumps(out))
"""


@pytest.mark.slow
@pytest.mark.parametrize("release", EACH_RELEASE)
def test_the_releases_read_a_described_archive_exactly_as_one_without(tmp_path: Path, release: str) -> None:
    messages = sample_messages(200, seed=1)
    plain = tmp_path / "plain"
    write_live_log(plain, 12, messages)
    described = tmp_path / "described"
    write_live_log(described, 12, messages)
    write_live_log(described, 12, [(0, np.uint64(ONSET_US + 10**9).tobytes()), (5, b"second")], segment=1)
    write_live_log(plain, 12, [(0, np.uint64(ONSET_US + 10**9).tobytes()), (5, b"second")], segment=1)
    for entry in golden_history()[12]:
        write_sources_file(described, {12: entry})
    assemble_log_archives(plain)
    assemble_log_archives(described)
    assert LogArchiveReader(described / "12_log.npz").description == CAMERA
    assert LogArchiveReader(plain / "12_log.npz").description is None
    archives = [str(plain / "12_log.npz"), str(described / "12_log.npz")]
    output = run_reference(READ_BOTH, *archives, python=RELEASES[release])
    theirs_plain, theirs_described = json.loads(output)
    assert theirs_described == theirs_plain
    assert theirs_plain[1] == 201  # every data message, the second session's included
    assert read_with_numpy(described / "12_log.npz") == read_with_numpy(plain / "12_log.npz")


RELEASE_ASSEMBLE = """
import sys
from pathlib import Path
from ataraxis_data_structures import assemble_log_archives
if __name__ == '__main__':
    try:
        assemble_log_archives(Path(sys.argv[1]), remove_sources=sys.argv[2] == '1')
    except Exception as error:
        print('RAISED', type(error).__name__, error)
    else:
        print('ASSEMBLED')
"""


@pytest.mark.slow
@pytest.mark.parametrize("release", EACH_RELEASE)
def test_the_releases_assemblers_see_a_described_live_folder_as_one_without(tmp_path: Path, release: str) -> None:
    plain = tmp_path / "plain"
    write_live_log(plain, 1, sample_messages(20, seed=1))
    described = tmp_path / "described"
    shutil.copytree(plain, described)
    write_sources_file(described, {1: DescribedSource(ONSET_US, ENCODER)})
    before = {p.name: p.read_bytes() for p in described.iterdir()}
    for remove in ("1", "0"):
        outputs = [
            run_reference(RELEASE_ASSEMBLE, str(folder), remove, python=RELEASES[release]).splitlines()[-1]
            for folder in (plain, described)
        ]
        assert outputs[0].startswith("RAISED ValueError"), outputs
        assert outputs[1] == outputs[0].replace(str(plain), str(described))
        assert {p.name: p.read_bytes() for p in described.iterdir()} == before  # nothing written, nothing removed
    assemble_log_archives(described)
    assert LogArchiveReader(described / "1_log.npz").description == ENCODER
