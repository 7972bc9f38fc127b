"""The live-logging wing: DataLogger, its transport, the logger process and its writers, and the live view.

Producers put LogPackages (``log_package``) into ``logger_queue``, over the ``transport`` chosen once
(``transport_unix``, or ``transport_tcp`` whose stop ``put_board`` closes); the logger process (``logger_process``)
receives them (``logger_receiver``) and appends them to live log files (``logger_writers``) under its locks
(``logger_lock``); ``data_logger`` is the parent's side; ``source_store`` writes the folder's source descriptions;
``live_view`` reads a directory while it is written. Imports only the formats wing.
"""

__all__: list[str] = []
