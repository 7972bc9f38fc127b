"""Placeholder demo part: replaced by the implementation."""

from __future__ import annotations

from pathlib import Path


def run(root: Path, *args: object) -> Path:
    """Does nothing yet and returns the output root."""
    return root
