"""Draws what `axds inspect --plot` shows: per source, the message rate over the session and the interval spread.

A dead camera or a stalled microcontroller shows at a glance: its rate drops to zero (the gap is shaded red) and
its interval histogram grows a tail past the gap threshold. Plotting needs matplotlib, an optional extra
(``pip install 'ataraxis-data-structures[plot]'``); nothing else in the package imports this module.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import NDArray

from .archive_reader import LogArchiveReader

__all__ = ["GAP_FACTOR", "PLOT_EXTRA_HINT", "SourceTiming", "plot_sources", "source_timing"]

PLOT_EXTRA_HINT = "plotting needs matplotlib: pip install 'ataraxis-data-structures[plot]'"
"""What to tell a user whose environment lacks matplotlib."""

GAP_FACTOR = 5.0
"""An interval longer than this many times the source's median interval is a gap (dropped samples)."""

_RATE_BINS = 200
_MARKED_GAPS = 50  # the longest gaps shaded per source; more would only blacken the axis


@dataclass(frozen=True, slots=True)
class SourceTiming:
    """The timing of one source's data messages, as plotted."""

    source: str
    """The source identifier (the archive name ahead of ``_log.npz``)."""
    elapsed_s: NDArray[np.float64]
    """The time of each data message since the onset, in seconds."""
    gap_threshold_s: float
    """Intervals longer than this are gaps."""
    gaps: list[tuple[float, float]]
    """(start, end) in seconds of each gap, longest first (at most the 50 longest)."""
    gap_count: int
    """How many intervals exceed the threshold."""
    name: str | None = None
    """The source's name, when the DataLogger was told (see SourceDescription)."""

    @property
    def label(self) -> str:
        """The source as the plot names it: its ID, and its name when known."""
        return f"source {self.source}" + (f" ({self.name})" if self.name else "")


def source_timing(source: str, archive: Path) -> SourceTiming:
    """Returns the message times and gaps of one archive (reads the timestamps only)."""
    reader = LogArchiveReader(archive)
    name = None if (description := reader.description) is None else description.name
    elapsed = reader.read_timestamps().astype(np.int64) - int(reader.onset_timestamp_us)
    seconds = elapsed.astype(np.float64) / 1e6
    intervals = np.diff(seconds)
    if len(intervals) == 0:
        return SourceTiming(source, seconds, 0.0, [], 0, name)
    threshold = GAP_FACTOR * max(float(np.median(intervals)), 1e-6)
    long = np.flatnonzero(intervals > threshold)
    longest = long[np.argsort(intervals[long])[::-1][:_MARKED_GAPS]]
    gaps = [(float(seconds[index]), float(seconds[index + 1])) for index in longest.tolist()]
    return SourceTiming(source, seconds, threshold, gaps, len(long), name)


def plot_sources(timings: list[SourceTiming], output: Path, title: str) -> None:
    """Writes a PNG with one row per source: message rate over the session (gaps shaded) and interval histogram.

    Raises:
        ImportError: If matplotlib is not installed (the message says how to install it).
    """
    try:
        import matplotlib as mpl

        mpl.use("Agg")
        from matplotlib import pyplot as plt
    except ImportError as error:
        raise ImportError(PLOT_EXTRA_HINT) from error
    rows = max(1, len(timings))
    figure, axes = plt.subplots(rows, 2, figsize=(13, 2.6 * rows + 0.8), squeeze=False)
    end = max((float(t.elapsed_s[-1]) for t in timings if len(t.elapsed_s)), default=1.0)
    edges = np.linspace(0.0, max(end, 1e-3), _RATE_BINS + 1)
    for row, timing in enumerate(timings):
        rate_axis: Any = axes[row][0]
        interval_axis: Any = axes[row][1]
        counts, _ = np.histogram(timing.elapsed_s, bins=edges)
        rate_axis.stairs(counts / np.diff(edges), edges, color="tab:blue")
        for start, stop in timing.gaps:
            rate_axis.axvspan(start, stop, color="tab:red", alpha=0.3, linewidth=0)
        rate_axis.set_title(
            f"{timing.label}: {len(timing.elapsed_s):,} messages, {timing.gap_count:,} gaps "
            f"(> {timing.gap_threshold_s * 1e3:,.3g} ms, shaded)",
            fontsize=9,
        )
        rate_axis.set_xlabel("time since onset (s)")
        rate_axis.set_ylabel("messages / s")
        intervals_ms = np.diff(timing.elapsed_s) * 1e3
        positive = intervals_ms[intervals_ms > 0]
        if len(positive):
            bins = np.logspace(np.log10(positive.min()), np.log10(positive.max()) + 1e-9, 60)
            interval_axis.hist(positive, bins=bins, color="tab:gray")
            interval_axis.set_xscale("log")
            interval_axis.set_yscale("log")
            interval_axis.axvline(timing.gap_threshold_s * 1e3, color="tab:red", linestyle="--")
        interval_axis.set_title(f"{timing.label}: intervals between messages", fontsize=9)
        interval_axis.set_xlabel("interval (ms)")
        interval_axis.set_ylabel("count")
    figure.suptitle(title, fontsize=10)
    figure.tight_layout()
    sources = ", ".join(timing.label.removeprefix("source ") for timing in timings)
    figure.savefig(output, format="png", dpi=90, metadata={"Title": title, "Description": f"sources: {sources}"})
    plt.close(figure)
