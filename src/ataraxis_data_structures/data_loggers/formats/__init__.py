"""The formats wing: the bytes on disk, each format stated once and imported by every writer and reader.

``log_format`` (the live ``.axlog.npy`` records DataLogger appends), ``archive_layout`` (the ``.npz`` archive's byte
layout: message prefix, member names, ``.npy`` header, ZIP records), ``archive_format`` (the archive comment's
manifest and session lines, repeated timestamps, loose ``.npy`` files) and ``source_description`` (what a source is:
the live folder's ``axds_sources.json`` and the archive's ``@source`` lines). Modules here import nothing from the
other wings.
"""

__all__: list[str] = []
