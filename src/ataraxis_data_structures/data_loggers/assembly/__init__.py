"""The assembly wing: consolidates a log directory into one ``.npz`` archive per source.

``archive_assembly`` orchestrates (discovery of sources, locking, merging, verification, source removal) and writes
through ``zip_writer``. Imports the formats and reading wings (to read an existing archive) and the live wing's lock
name; nothing below imports it.
"""

__all__: list[str] = []
