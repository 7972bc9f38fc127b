"""Demo part: checksums the recording, moves it to a 'server' with verification, and catches a corrupted copy."""

from __future__ import annotations

from pathlib import Path

from ataraxis_data_structures.processing import (
    calculate_directory_checksum,
    transfer_directory,
    verify_directory_checksum,
)


def _stand_in_recording(root: Path) -> Path:
    """Returns a small folder of files to transfer when the logging part produced no separate recording folder."""
    recording = root / "recording_stand_in"
    for index in range(3):
        folder = recording / f"source_{index}"
        folder.mkdir(parents=True, exist_ok=True)
        (folder / "log.npz").write_bytes(bytes([index]) * 200_000)
    return recording


def _files(directory: Path) -> list[Path]:
    return sorted(path for path in directory.rglob("*") if path.is_file() and path.name != "ax_checksum.txt")


def run(root: Path, recording: Path) -> None:
    """Checksums the recording, transfers it with verification to root/server, and detects a corrupted copy."""
    print("\n== Data integrity: checksum, verified transfer, corruption detection")
    if recording.resolve() == root.resolve() or not recording.is_dir() or not _files(recording):
        recording = _stand_in_recording(root)
    files = _files(recording)
    size = sum(path.stat().st_size for path in files)
    checksum = calculate_directory_checksum(recording)
    print(f"checksum of {recording.name} ({len(files)} files, {size:,} bytes): {checksum} -> ax_checksum.txt")

    destination = root / "server" / recording.name
    transfer_directory(recording, destination, 0, verify_integrity=True)
    copied = verify_directory_checksum(destination)
    if not copied.matches or copied.expected != checksum:
        raise RuntimeError(f"the verified transfer did not reproduce the recording: {copied.describe()}")
    print(f"verified transfer to {destination.relative_to(root)}: the copy has the same checksum {copied.actual}")

    # A second copy on the 'server', silently damaged: one byte flipped, size unchanged.
    damaged = root / "server" / f"{recording.name}_damaged"
    transfer_directory(destination, damaged)
    victim = _files(damaged)[-1]
    content = bytearray(victim.read_bytes())
    content[len(content) // 2] ^= 0x01
    victim.write_bytes(bytes(content))
    result = verify_directory_checksum(damaged)
    expected_name = str(victim.relative_to(damaged))
    if result.matches or result.changed != (expected_name,):
        raise RuntimeError(f"the damaged copy was not caught by name: {result.describe()}")
    print(f"damaged copy caught by name: {', '.join(result.changed)}")
