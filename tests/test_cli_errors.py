"""How ``axds`` ends: the library's explained errors (the AxdsError family, OSError) in one line with exit 1, anything
else (a bug) with its traceback, and Ctrl+C with 130 and no traceback, also while the library is still importing.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from ataraxis_data_structures.cli import CommandError, main, tracker_commands
from ataraxis_data_structures.errors import AxdsError

AXDS = Path(sys.executable).with_name("axds")


def _maps(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/maps").read_text()
    except OSError:  # the process is gone
        return ""


def _interrupt_while_importing(tmp_path: Path) -> subprocess.CompletedProcess[str] | None:
    """Starts a real `axds`, sends SIGINT as soon as it has begun loading NumPy (its first extension module is mapped:
    only the command groups import it, inside ``main``), and returns how it ended; None if it never got there."""
    process = subprocess.Popen(
        [AXDS, "tracker", "show", tmp_path / "tracker.yaml"], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and process.poll() is None:
        if any("/numpy/" in line and ".so" in line for line in _maps(process.pid).splitlines()):
            os.kill(process.pid, signal.SIGINT)
            break
        time.sleep(0.0005)
    else:
        process.kill()
        process.communicate()
        return None
    stdout, stderr = process.communicate(timeout=60)
    return subprocess.CompletedProcess(process.args, process.returncode, stdout, stderr)


@pytest.mark.skipif(not Path("/proc/self/maps").exists(), reason="needs /proc to see the import begin")
def test_ctrl_c_while_the_library_imports_exits_130_without_a_traceback(tmp_path: Path) -> None:
    (tmp_path / "tracker.yaml").write_text("---\njobs: {}\n...\n")
    results = [_interrupt_while_importing(tmp_path) for _ in range(3)]
    ended = [result for result in results if result is not None]
    assert ended, "axds never got to its imports within 60 s"
    for result in ended:
        assert "Traceback" not in result.stderr, result.stderr
        assert result.returncode == 130, (result.returncode, result.stderr)
        assert result.stderr.strip() == "axds: interrupted"


def test_command_errors_belong_to_the_family() -> None:
    assert issubclass(CommandError, AxdsError)


def test_a_library_error_is_one_line_and_exit_1(tmp_path: Path) -> None:
    result = subprocess.run([AXDS, "tracker", "show", tmp_path], capture_output=True, text=True, timeout=120)
    assert result.returncode == 1
    assert result.stderr.strip() == f"axds tracker: {tmp_path} is a directory, not a tracker file"


def test_an_os_error_is_one_line_and_exit_1(tmp_path: Path) -> None:
    missing = tmp_path / "missing"
    result = subprocess.run([AXDS, "checksum", missing], capture_output=True, text=True, timeout=120)
    assert result.returncode == 1
    assert result.stderr.strip().splitlines() == [f"axds checksum: {result.stderr.strip().split(': ', 1)[1]}"]
    assert str(missing) in result.stderr and "does not exist" in result.stderr


def test_an_unexpected_error_is_a_bug_shown_with_its_traceback(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    def broken_show(args: object) -> int:
        empty: dict[str, int] = {}
        return empty["no such key"]  # stands for a bug anywhere below a command

    monkeypatch.setattr(tracker_commands, "_show", broken_show)
    assert main(["tracker", "show", str(tmp_path / "x.yaml")]) == 1
    stderr = capsys.readouterr().err
    assert stderr.startswith("Traceback (most recent call last):"), stderr
    assert "KeyError: 'no such key'" in stderr
    assert "unexpected error (a bug in ataraxis-data-structures" in stderr.splitlines()[-1]


def test_usage_errors_exit_2(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_info:
        main(["tracker", "no-such-command"])
    assert exit_info.value.code == 2
    assert "invalid choice" in capsys.readouterr().err


def test_main_leaves_the_sigint_handler_as_it_found_it() -> None:
    before = signal.getsignal(signal.SIGINT)
    with pytest.raises(SystemExit):
        main(["--help"])
    assert signal.getsignal(signal.SIGINT) is before


def test_a_plain_value_error_is_a_bug_too(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """Only AxdsError and OSError are one-line errors: a built-in ValueError escaping the library is a bug."""

    def plain_value_error(args: object) -> int:
        raise ValueError("bad input reported with a built-in")

    monkeypatch.setattr(tracker_commands, "_show", plain_value_error)
    assert main(["tracker", "show", str(tmp_path / "x.yaml")]) == 1
    stderr = capsys.readouterr().err
    assert stderr.startswith("Traceback (most recent call last):"), stderr
    assert "ValueError: bad input reported with a built-in" in stderr


def test_an_axds_error_is_one_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from ataraxis_data_structures.errors import TrackerFormatError

    def bad_file(args: object) -> int:
        raise TrackerFormatError("tracker.yaml: job 'x' has status 9 (valid: 0..3)")

    monkeypatch.setattr(tracker_commands, "_show", bad_file)
    assert main(["tracker", "show", str(tmp_path / "x.yaml")]) == 1
    assert capsys.readouterr().err == "axds tracker: tracker.yaml: job 'x' has status 9 (valid: 0..3)\n"
