"""`axds assemble` and `axds inspect`, run in-process through main() and once through the installed script."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from ataraxis_data_structures.cli import main
from ataraxis_data_structures.data_loggers.formats import log_format

ONSET_US = 1_700_000_000_000_000


def write_log(directory: Path, source_id: int, records: list[tuple[int, bytes]]) -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / log_format.log_file_name(source_id, 0)
    onset = log_format.encode_record(0, np.uint64(ONSET_US).tobytes())
    body = b"".join(log_format.encode_record(t, p) for t, p in records)
    path.write_bytes(log_format.encode_file_header(source_id) + onset + body)
    return path


RECORDS = [(1_000, b"ab"), (2_000, b""), (2_000, b"abcdef"), (502_000, b"abc"), (503_000, b"a")]


def test_assemble_then_inspect(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    source = write_log(tmp_path, 3, RECORDS)
    assert main(["assemble", str(tmp_path), "--keep-sources", "--verify"]) == 0
    assert source.exists()
    assert "3_log.npz: 5 messages" in capsys.readouterr().out
    assert main(["assemble", str(tmp_path)]) == 0
    assert not source.exists()
    capsys.readouterr()
    assert main(["inspect", str(tmp_path / "3_log.npz")]) == 0
    text = capsys.readouterr().out
    assert "2023-11-14T22:13:20.000000+00:00" in text
    assert "messages:      5" in text
    assert "time span:     0.502000 s" in text
    assert "largest gap:   500.000 ms" in text
    assert "payload sizes: 0 .. 6 bytes" in text
    assert "sizes and headers check out; CRC-32 not checked" in text
    assert main(["inspect", "--verify", str(tmp_path / "3_log.npz")]) == 0
    assert "CRC-32 of every member checks out" in capsys.readouterr().out


def test_inspect_json(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    write_log(tmp_path, 3, RECORDS)
    main(["assemble", str(tmp_path)])
    capsys.readouterr()
    assert main(["inspect", "--json", str(tmp_path / "3_log.npz")]) == 0
    summary = json.loads(capsys.readouterr().out)
    assert summary["source_id"] == 3
    assert summary["onset_us"] == ONSET_US
    assert summary["message_count"] == 5
    assert summary["span_s"] == pytest.approx(0.502)
    assert summary["mean_rate_hz"] == pytest.approx(4 / 0.502)
    assert summary["largest_gap_us"] == 500_000
    assert summary["largest_gap_at_us"] == 502_000
    assert (summary["payload_min_bytes"], summary["payload_max_bytes"], summary["payload_total_bytes"]) == (0, 6, 12)


def test_torn_tail_is_reported_as_a_warning_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = write_log(tmp_path, 4, RECORDS)
    path.write_bytes(path.read_bytes()[:-3])
    assert main(["assemble", str(tmp_path)]) == 0
    captured = capsys.readouterr()
    assert "axds assemble: warning:" in captured.err and "004-0000.axlog.npy: torn tail" in captured.err
    assert "4_log.npz: 4 messages" in captured.out


def test_failures_are_one_line_and_exit_1(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["inspect", str(tmp_path / "none_log.npz")]) == 1
    assert "axds inspect:" in capsys.readouterr().err
    (tmp_path / "junk.npz").write_bytes(b"junk")
    assert main(["inspect", str(tmp_path / "junk.npz")]) == 1
    assert "not a ZIP" in capsys.readouterr().err
    assert main(["assemble", str(tmp_path / "missing")]) == 1
    assert "is not a directory" in capsys.readouterr().err
    assert main(["inspect", str(tmp_path)]) == 1  # a directory without archives (junk.npz is not one)
    assert capsys.readouterr().err.strip().startswith(f"axds inspect: {tmp_path} is a directory without .npz log")


def test_installed_entry_point_runs(tmp_path: Path) -> None:
    write_log(tmp_path, 1, RECORDS)
    axds = Path(sys.executable).with_name("axds")
    result = subprocess.run([str(axds), "assemble", str(tmp_path)], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    result = subprocess.run(
        [str(axds), "inspect", "--json", str(tmp_path / "1_log.npz")], capture_output=True, text=True, timeout=60
    )
    assert json.loads(result.stdout)["message_count"] == 5


def test_inspect_reports_a_corrupt_member_and_exits_1(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    write_log(tmp_path, 2, [(10, b"0123456789abcdef")])
    main(["assemble", str(tmp_path)])
    archive = tmp_path / "2_log.npz"
    data = bytearray(archive.read_bytes())
    data[data.index(b"0123456789abcdef") + 4] ^= 0x20
    archive.write_bytes(bytes(data))
    capsys.readouterr()
    assert main(["inspect", str(archive)]) == 0  # sizes and headers are intact: only the CRC-32 can tell
    assert "CRC-32 not checked" in capsys.readouterr().out
    assert main(["inspect", "--verify", str(archive)]) == 1
    out = capsys.readouterr().out
    assert "CORRUPT" in out and "002_00000000000000000010.npy" in out


def test_assemble_lists_an_archive_without_onset_instead_of_failing(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / log_format.log_file_name(8, 0)
    path.write_bytes(log_format.encode_file_header(8) + log_format.encode_record(5, b"no onset before me"))
    write_log(tmp_path, 9, RECORDS)
    assert main(["assemble", str(tmp_path)]) == 0
    captured = capsys.readouterr()
    assert "8_log.npz: Unable to discover onset timestamp" in captured.out
    assert "9_log.npz: 5 messages" in captured.out
    assert "no onset message" in captured.err


def test_inspect_shows_an_onset_that_is_no_date_instead_of_failing(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # A corrupt or foreign onset failed inspect with a bare "year 586524 is out of range".
    def message(timestamp: int, payload: bytes) -> np.ndarray:
        return np.frombuffer(bytes([4]) + np.uint64(timestamp).tobytes() + payload, dtype=np.uint8)

    archive = tmp_path / "4_log.npz"
    members: dict[str, Any] = {
        "004_00000000000000000000": message(0, np.uint64(2**64 - 1).tobytes()),
        "004_00000000000000001000": message(1_000, b"x"),
    }
    np.savez(archive, **members)
    assert main(["inspect", str(archive)]) == 0
    out = capsys.readouterr().out
    assert "not a date (18446744073709551615 us since the epoch)" in out and "messages:      1" in out


def assembled_directory(tmp_path: Path) -> Path:
    write_log(tmp_path, 10, RECORDS)
    write_log(tmp_path, 2, [(t * 1_000, b"xy") for t in range(1, 3_000)] + [(9_000_000, b"late")])
    assert main(["assemble", str(tmp_path)]) == 0
    return tmp_path


def test_inspect_a_directory_summarizes_every_archive(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    directory = assembled_directory(tmp_path)
    capsys.readouterr()
    assert main(["inspect", str(directory)]) == 0
    text = capsys.readouterr().out
    assert text.index("2_log.npz") < text.index("10_log.npz")  # numeric order
    assert "messages:      3,000" in text and "messages:      5" in text
    assert main(["inspect", "--json", "--verify", str(directory)]) == 0
    summaries = json.loads(capsys.readouterr().out)
    assert [summary["source_id"] for summary in summaries] == [2, 10]
    assert all(summary["crc_checked"] and summary["first_corrupt_member"] is None for summary in summaries)
    assert summaries[0]["largest_gap_us"] == 9_000_000 - 2_999_000


def png_chunks(data: bytes) -> list[tuple[bytes, bytes]]:
    """Returns the (type, body) chunks of a PNG file, checking its signature and every chunk's CRC."""
    import struct
    import zlib

    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    chunks = []
    position = 8
    while position < len(data):
        (length,) = struct.unpack(">I", data[position : position + 4])
        kind = data[position + 4 : position + 8]
        body = data[position + 8 : position + 8 + length]
        (crc,) = struct.unpack(">I", data[position + 8 + length : position + 12 + length])
        assert zlib.crc32(kind + body) == crc
        chunks.append((kind, body))
        position += 12 + length
    return chunks


@pytest.mark.slow
def test_inspect_plot_renders_a_png_naming_the_sources(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    pytest.importorskip("matplotlib", reason="the 'plot' extra (matplotlib) is not installed")
    import struct
    import zlib

    directory = assembled_directory(tmp_path / "log")
    output = tmp_path / "timing.png"
    assert main(["inspect", str(directory), "--plot", str(output)]) == 0
    assert f"plot:          {output}" in capsys.readouterr().out
    chunks = png_chunks(output.read_bytes())
    header = dict(chunks)[b"IHDR"]
    width, height, depth, color = struct.unpack(">IIBB", header[:10])
    channels = {2: 3, 6: 4}[color]
    pixels = zlib.decompress(b"".join(body for kind, body in chunks if kind == b"IDAT"))
    assert depth == 8 and len(pixels) == height * (1 + width * channels)  # the image decodes, whole
    assert width > 500 and height > 300
    text = {body.split(b"\0")[0]: body.split(b"\0", 1)[1] for kind, body in chunks if kind == b"tEXt"}
    assert text[b"Description"] == b"sources: 2, 10"
    rows = np.frombuffer(pixels, dtype=np.uint8).reshape(height, 1 + width * channels)[:, 1:]
    assert len(np.unique(rows)) > 2  # something was drawn, not a blank canvas


def test_inspect_plot_without_matplotlib_says_how_to_install(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    directory = assembled_directory(tmp_path / "log")
    monkeypatch.setitem(sys.modules, "matplotlib", None)  # as if the extra were not installed
    capsys.readouterr()
    assert main(["inspect", str(directory), "--plot", str(tmp_path / "out.png")]) == 1
    assert "pip install 'ataraxis-data-structures[plot]'" in capsys.readouterr().err
    assert not (tmp_path / "out.png").exists()


def test_inspect_names_a_member_whose_index_entry_is_damaged(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    write_log(tmp_path, 2, [(10, b"0123456789abcdef"), (20, b"x")])
    main(["assemble", str(tmp_path)])
    archive = tmp_path / "2_log.npz"
    data = bytearray(archive.read_bytes())
    entry = data.rindex(b"PK\x01\x02")  # the last member's central directory entry
    data[entry + 24] ^= 0x40  # one bit of its size
    archive.write_bytes(bytes(data))
    capsys.readouterr()
    assert main(["inspect", str(archive)]) == 1
    error = capsys.readouterr().err
    assert str(archive) in error and "002_00000000000000000020.npy" in error and "size" in error
