"""The per-file manifest saved beside a directory checksum, which lets a failed verification name the files at fault.

``ax_checksum.txt`` holds only the 32-character digest, byte for byte as the reference release writes it. The
manifest lives in ``.ax_checksum_manifest/ax_checksum.txt``: a file with that name is excluded from the checksum
at any depth (by both this library and the reference release), so the manifest never changes the digest and the
reference still verifies the directory. It is a JSON object::

    {"format": "axds-checksum-manifest", "version": 1, "algorithm": "xxh3_128",
     "checksum": "<directory digest>", "files": {"<relative path>": "<file digest>", ...}}

A manifest whose ``checksum`` differs from ``ax_checksum.txt`` (for example, after another tool rewrote the
checksum) is ignored.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

from .._durable_files import write_text_atomically
from ..errors import ChecksumFileError

__all__ = [
    "CHECKSUM_FILE_NAME",
    "MANIFEST_FOLDER_NAME",
    "manifest_path",
    "read_manifest",
    "read_stored_checksum",
    "write_checksum",
]

CHECKSUM_FILE_NAME = "ax_checksum.txt"
MANIFEST_FOLDER_NAME = ".ax_checksum_manifest"
_FORMAT = "axds-checksum-manifest"
_HEX_DIGEST = re.compile(r"[0-9a-f]{32}")


def manifest_path(directory: Path) -> Path:
    """Returns where the manifest of directory's checksum is stored."""
    return directory / MANIFEST_FOLDER_NAME / CHECKSUM_FILE_NAME


def read_stored_checksum(directory: Path) -> str | None:
    """Returns the digest stored in directory's ax_checksum.txt, or None if there is no such file.

    Only the first whitespace-separated word is read, so files with a trailing newline or extra lines still work.

    Raises:
        ChecksumFileError: A ValueError and a RuntimeError, if the file does not start with a 32-character
            hexadecimal digest.
    """
    path = directory / CHECKSUM_FILE_NAME
    try:
        words = path.read_text(encoding="utf-8", errors="replace").split()
    except FileNotFoundError:
        return None
    digest = words[0].lower() if words else ""
    if not _HEX_DIGEST.fullmatch(digest):
        raise ChecksumFileError(
            f"{path} does not hold an xxHash3-128 checksum (32 hexadecimal characters): {digest[:40]!r}"
        )
    return digest


def write_checksum(directory: Path, checksum: str, files: dict[str, str] | None) -> None:
    """Atomically writes ax_checksum.txt (exactly the 32-character digest) and, when files is given, the manifest."""
    if files is not None:
        document = {"format": _FORMAT, "version": 1, "algorithm": "xxh3_128", "checksum": checksum, "files": files}
        write_text_atomically(manifest_path(directory), json.dumps(document, ensure_ascii=False, indent=0))
    write_text_atomically(directory / CHECKSUM_FILE_NAME, checksum)


def read_manifest(directory: Path, checksum: str) -> dict[str, str] | None:
    """Returns the per-file digests saved for checksum, or None if there is no valid manifest for that checksum."""
    try:
        document = json.loads(manifest_path(directory).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    if not isinstance(document, dict) or document.get("format") != _FORMAT or document.get("checksum") != checksum:
        return None
    files = document.get("files")
    if not isinstance(files, dict):
        return None
    return {str(name): str(digest) for name, digest in files.items()}
