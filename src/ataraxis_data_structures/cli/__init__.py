"""The ``axds`` command line: exposes the library's jobs to people who do not write Python.

Each command group lives in its own module and registers its subcommands on the shared parser, so the
groups stay independent of each other.

Exit codes: 0 success; 1 a failure the library explains (an :class:`~ataraxis_data_structures.errors.AxdsError` or
an ``OSError``: one line on stderr naming the file and the fault) or an unexpected error (a bug: its traceback is
shown); 2 a usage error; 130 interrupted (Ctrl+C, also while the library is still importing); 141 the reader of the
output went away (``axds tracker show big.yaml | head``).

This module imports nothing heavy at the top: ``main`` loads the command groups (and with them NumPy, PyYAML...)
inside its Ctrl+C guard, so an interrupt in the first fraction of a second ends quietly with 130.
"""

from __future__ import annotations

import os
import sys

from .errors import CommandError

TYPE_CHECKING = False  # the spelling that needs no `import typing` (see the package's __init__)
if TYPE_CHECKING:
    import argparse
    from collections.abc import Sequence

__all__ = ["CommandError", "build_parser", "main"]

_INTERRUPTED = 130  # 128 + SIGINT: what a shell reports for a command ended by Ctrl+C
_PIPE_CLOSED = 141  # 128 + SIGPIPE: what a shell reports for a command ended by a closed pipe


def build_parser() -> argparse.ArgumentParser:
    """Returns the ``axds`` argument parser with every command group registered."""
    import argparse

    from . import live_commands, log_commands, processing_commands, tracker_commands

    parser = argparse.ArgumentParser(
        prog="axds",
        description="Command-line access to ataraxis-data-structures: trackers, data logs and verified transfers.",
    )
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for group in (tracker_commands, log_commands, live_commands, processing_commands):
        group.register(subparsers)
    return parser


def _interrupted() -> int:
    print("axds: interrupted", file=sys.stderr)
    return _INTERRUPTED


def _exit_while_loading(signum: int, frame: object) -> None:
    """SIGINT while the library is importing: end at once, with nothing to clean up and nothing half-printed.

    A KeyboardInterrupt raised inside an import is not reliably a KeyboardInterrupt by the time it reaches us (NumPy
    turns it into an ImportError about its C extensions), so the signal is answered here rather than caught later.
    """
    os.write(2, b"axds: interrupted\n")
    os._exit(_INTERRUPTED)


def main(argv: Sequence[str] | None = None) -> int:
    """Runs the ``axds`` command line and returns its exit code (see the module docstring)."""
    import signal

    try:
        previous = signal.signal(signal.SIGINT, _exit_while_loading)
    except ValueError:  # main() called from a thread other than the main one: signals are not ours to handle
        previous = None
    try:
        import logging

        from ..errors import AxdsError

        explained: tuple[type[Exception], ...] = (AxdsError, OSError)
        logging.basicConfig(level=logging.WARNING, format="%(levelname)s: %(message)s")
        parser = build_parser()
        args = parser.parse_args(argv)
    finally:
        if previous is not None:
            signal.signal(signal.SIGINT, previous)
    try:
        code: int = args.handler(args)
    except KeyboardInterrupt:
        return _interrupted()
    except BrokenPipeError:
        # Output still buffered would fail again at exit, so stdout is pointed at /dev/null first.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return _PIPE_CLOSED
    except explained as error:
        # The library's own errors and the operating system's name the file and the fault: one line is the message.
        print(f"axds {args.command}: {error}", file=sys.stderr)
        return 1
    except Exception:
        # Anything else is a bug in this library, not bad input: the traceback is what a report needs.
        import traceback
        from importlib.metadata import version

        traceback.print_exc()
        print(
            f"axds {args.command}: unexpected error (a bug in ataraxis-data-structures "
            f"{version('ataraxis-data-structures')}); please report it with the traceback above",
            file=sys.stderr,
        )
        return 1
    return code
