"""The error type every command group raises for a failure it reports in one line (defined in ``errors``)."""

from __future__ import annotations

from ..errors import CommandError

__all__ = ["CommandError"]
