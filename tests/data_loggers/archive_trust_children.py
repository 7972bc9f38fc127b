"""Child process of the truncation test: opens an archive, waits for the parent to shrink it, then reads it.

Run as ``python archive_trust_children.py ARCHIVE``. Prints ``ready`` once the archive is open (the onset and the
first chunk read), waits for a line on stdin, then iterates every message and prints one JSON line saying what
happened. A SIGBUS would end the process with -7 and no such line.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

from ataraxis_data_structures.data_loggers import LogArchiveReader
from ataraxis_data_structures.errors import ArchiveFormatError


def main(archive: Path) -> None:
    reader = LogArchiveReader(archive)
    count = reader.message_count
    print("ready", flush=True)
    sys.stdin.readline()
    outcome: dict[str, object] = {"count": count}
    try:
        outcome["read"] = sum(len(message.payload) for message in reader.iter_messages())
    except ArchiveFormatError as error:
        outcome["error"] = str(error)
    print(json.dumps(outcome), flush=True)


if __name__ == "__main__":
    main(Path(sys.argv[1]))
