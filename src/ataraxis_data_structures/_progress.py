"""The progress bar every long-running function of the package shows: tqdm without its monitor thread.

tqdm starts a monitor thread with its first bar, even a disabled one, and leaves it running in the caller's
process; a process with a stray thread then warns (Python 3.12+) and risks deadlocks when it forks workers. The
monitor only retunes the refresh rate of bars that stall, which none of ours needs.
"""

from __future__ import annotations

from tqdm import tqdm


class ProgressBar(tqdm):  # type: ignore[type-arg]
    """A tqdm bar that never starts tqdm's monitor thread."""

    monitor_interval = 0


__all__ = ["ProgressBar"]
