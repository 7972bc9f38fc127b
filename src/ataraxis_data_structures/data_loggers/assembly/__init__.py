"""The assembly wing: consolidates a log directory into one ``.npz`` archive per source.

``archive_assembly`` orchestrates (directory lock, workers, warnings); ``source_files`` finds a directory's sources;
``source_assembly`` assembles one source through the ``streaming`` pass (records already in archive order) or the
``in_memory`` pass (any other), both working on ``chunks`` and writing through ``zip_writer``. Imports the formats and
reading wings (to read the archive it merges into) and the live wing's lock name; no other wing imports it.
"""

__all__: list[str] = []
