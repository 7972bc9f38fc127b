"""The reading wing: indexes, reads, finds, summarizes and plots ``.npz`` log archives.

``zip_index`` validates and locates an archive's members over a memory map (with ``vectors``); ``member_names`` looks
members up by key; ``index_cache`` shares an archive's index within a process; ``archive_reader`` is LogArchiveReader;
``archive_sessions`` is read_archive_sessions; ``archive_discovery`` finds archives; ``archive_summary`` and
``archive_plot`` serve ``axds inspect``. Imports only the formats wing: a process that only reads archives loads no
logger or assembly module.
"""

__all__: list[str] = []
