"""The ``axds`` command line: exposes the library's jobs to people who do not write Python.

Each command group lives in its own module and registers its subcommands on the shared parser, so the
groups stay independent of each other.
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
from collections.abc import Sequence

from . import live_commands, log_commands, processing_commands, tracker_commands
from .errors import CommandError

__all__ = ["CommandError", "build_parser", "main"]


def build_parser() -> argparse.ArgumentParser:
    """Returns the ``axds`` argument parser with every command group registered."""
    parser = argparse.ArgumentParser(
        prog="axds",
        description="Command-line access to ataraxis-data-structures: trackers, data logs and verified transfers.",
    )
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for group in (tracker_commands, log_commands, live_commands, processing_commands):
        group.register(subparsers)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Runs the ``axds`` command line and returns its exit code (0 ok, 1 failure, 2 usage error)."""
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s: %(message)s")
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        code: int = args.handler(args)
    except KeyboardInterrupt:
        print("axds: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        # The reader of the output went away (`axds tracker show big.yaml | head`): end quietly, as cat does. Output
        # still buffered would fail again at exit, so stdout is pointed at /dev/null first.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 141  # 128 + SIGPIPE: what a shell reports for a command ended by a closed pipe
    except (CommandError, OSError, ValueError, RuntimeError, TimeoutError) as error:
        print(f"axds {args.command}: {error}", file=sys.stderr)
        return 1
    return code
