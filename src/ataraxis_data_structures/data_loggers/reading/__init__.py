"""The reading wing: indexes, reads, finds, summarizes and plots ``.npz`` log archives.

``zip_index`` validates an archive's ZIP and ``.npy`` records over a memory map; ``archive_reader`` is
LogArchiveReader; ``archive_discovery`` finds archives; ``archive_summary`` and ``archive_plot`` serve ``axds
inspect``. Imports only the formats wing: a process that only reads archives loads no logger or assembly module.
"""

__all__: list[str] = []
