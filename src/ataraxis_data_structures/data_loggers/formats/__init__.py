"""The formats wing: the bytes on disk, each format stated once and imported by every writer and reader.

``log_format`` (the live ``.axlog.npy`` records DataLogger appends), ``archive_layout`` (the ``.npz`` archive's byte
layout: message prefix, member names, ``.npy`` header, ZIP records) and ``archive_format`` (the archive's comment
lines: the assembly manifest and the session lines). Modules here import nothing from the other wings.
"""

__all__: list[str] = []
