"""Placeholder command group: replaced by the implementation."""

from __future__ import annotations

import argparse
from typing import Any


def register(subparsers: argparse._SubParsersAction[Any]) -> None:
    """Registers this group's subcommands (none yet)."""
