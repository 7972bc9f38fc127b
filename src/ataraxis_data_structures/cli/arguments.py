"""Argument types shared by the command groups."""

from __future__ import annotations

import argparse
from pathlib import Path

__all__ = ["path_argument"]


def path_argument(text: str) -> Path:
    """Returns the command-line text as a Path, refusing an empty one.

    An empty argument usually comes from an unset shell variable (``axds transfer "$SESSION" ...``); as a Path it
    would mean the working directory, which ``transfer --move`` would then empty. '.' still names it on purpose.
    """
    if not text:
        raise argparse.ArgumentTypeError("the path is empty (an unset shell variable?); use '.' for this directory")
    return Path(text)
