"""The module path ``processing.parallel_tools`` of 7.2.0: its names, re-exported from where this library keeps them."""

from .worker_threads import initialize_worker_threads, limit_worker_threads

__all__ = ["initialize_worker_threads", "limit_worker_threads"]
