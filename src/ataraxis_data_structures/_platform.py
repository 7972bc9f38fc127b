"""The one switch that picks the portable strategies: the code Windows runs, forced here to test it on POSIX.

``AXDS_FORCE_PORTABLE=1`` in the environment, read once at import, makes the logger transport, the file locks and the
shared-memory lock use the strategies chosen where POSIX facilities are missing (loopback TCP, ``filelock``'s lock,
a ``multiprocessing.Lock``), so that every CI run exercises them.
"""

from __future__ import annotations

import os

__all__ = ["FORCE_PORTABLE"]

FORCE_PORTABLE = os.environ.get("AXDS_FORCE_PORTABLE", "") == "1"
"""True when the portable strategies are forced (the environment variable is read once, at import)."""
