"""The ``axds checksum``, ``axds verify`` and ``axds transfer`` commands: checksums and verified transfers.

Exit codes: 0 when the job succeeded (for ``verify``: the directory matches its checksum), 1 with a one-line reason
on stderr otherwise. Progress bars go to stderr, results to stdout, so scripts can capture the checksum.
"""

from __future__ import annotations

import argparse
from typing import Any

from ..errors import TransferVerificationError
from ..processing import (
    calculate_directory_checksum,
    check_directory,
    make_bag,
    transfer_directory,
    write_sha256_manifest,
)
from .arguments import path_argument
from .errors import CommandError


def _checksum(args: argparse.Namespace) -> int:
    """Prints the directory's checksum (and saves it unless --no-save); --manifest also writes a standard manifest."""
    if args.manifest == "sha256":
        # Written first, so the xxHash3 checksum (and the releases verifying it) covers the manifest too.
        print(f"wrote {write_sha256_manifest(args.directory, args.processes, progress=not args.quiet)}")
    checksum = calculate_directory_checksum(
        args.directory, args.processes, progress=not args.quiet, save_checksum=not args.no_save
    )
    if args.manifest == "bagit":
        print(f"wrote {make_bag(args.directory, args.bag, args.processes, progress=not args.quiet)}")
    print(checksum)
    return 0


_MARKS = {"same": "same    ", "differs": "differs ", "missing": "missing ", "extra": "extra   "}


def _verify(args: argparse.Namespace) -> int:
    """Checks the directory against its ax_checksum.txt (or --against a manifest), listing every file's state."""
    result = check_directory(args.directory, args.against, args.processes, progress=not args.quiet)
    for check in result.files:
        print(_MARKS[check.status] + check.relative)
    if not result.matches:
        raise CommandError(result.describe())
    print(result.describe())
    return 0


def _transfer(args: argparse.Namespace) -> int:
    """Copies SRC to DST, optionally verified and removing the source afterwards; several DSTs: one report each."""
    if len(args.destination) > 1:
        return _transfer_to_all(args)
    destination = args.destination[0]
    transfer_directory(
        args.source,
        destination,
        args.threads,
        verify_integrity=args.verify,
        remove_source=args.move,
        progress=not args.quiet,
        reset_dirty_destination=args.reset_dirty,
    )
    action = "moved" if args.move else "copied"
    print(f"{action} {args.source} to {destination}" + (" (verified)" if args.verify else ""))
    return 0


def _transfer_to_all(args: argparse.Namespace) -> int:
    """Copies SRC to every DST with one read, each copy read back and verified; prints one line per destination."""
    try:
        reports = transfer_directory(
            args.source,
            list(args.destination),
            args.threads,
            remove_source=args.move,
            progress=not args.quiet,
            reset_dirty_destination=args.reset_dirty,
        )
    except TransferVerificationError as error:
        for report in getattr(error, "reports", ()):
            print(report.describe())
        raise
    for report in reports:
        print(report.describe())
    print(("moved" if args.move else "copied") + f" {args.source} to {len(reports)} destinations (verified)")
    return 0


def register(subparsers: argparse._SubParsersAction[Any]) -> None:
    """Registers the checksum, verify and transfer subcommands."""
    checksum = subparsers.add_parser(
        "checksum",
        help="print the xxHash3-128 checksum of a directory and save it to ax_checksum.txt",
        description="Prints the directory's xxHash3-128 checksum (the one the reference release computes) and saves "
        "it, with a per-file manifest, to DIR/ax_checksum.txt.",
    )
    checksum.add_argument("directory", type=path_argument, metavar="DIR")
    checksum.add_argument("--no-save", action="store_true", help="only print the checksum, write nothing")
    checksum.add_argument(
        "--manifest",
        choices=("sha256", "bagit"),
        default=None,
        help="also write a standard manifest: sha256 writes DIR/manifest-sha256.txt (check it with "
        "'cd DIR && sha256sum -c manifest-sha256.txt'); bagit writes a BagIt bag beside DIR (DIR.bag, its data/ "
        "hard links to DIR's files; DIR stays as it is)",
    )
    checksum.add_argument(
        "--bag", type=path_argument, default=None, metavar="PATH", help="where --manifest bagit creates the bag"
    )
    verify = subparsers.add_parser(
        "verify",
        help="check a directory against its ax_checksum.txt or a manifest, file by file",
        description="Lists every file as same / differs / missing / extra (when a per-file manifest is available) "
        "and exits 0 if DIR matches DIR/ax_checksum.txt (or --against MANIFEST); otherwise exits 1 with a one-line "
        "summary on stderr.",
    )
    verify.add_argument("directory", type=path_argument, metavar="DIR")
    verify.add_argument(
        "--against",
        type=path_argument,
        default=None,
        metavar="MANIFEST",
        help="a sha256sum manifest (paths relative to DIR), a BagIt bag or its manifest-sha256.txt, instead of "
        "DIR/ax_checksum.txt",
    )
    for command in (checksum, verify):
        command.add_argument(
            "--processes", type=int, default=None, metavar="N", help="parallel workers (default: all cores)"
        )
    transfer = subparsers.add_parser(
        "transfer",
        help="copy a directory safely, optionally verified and removing the source",
        description="Copies SRC into DST (files appear only when complete; a rerun resumes). With --verify, DST is "
        "checked against SRC's checksum; with --move, SRC is removed once everything is copied (and verified). "
        "With several DSTs, SRC is read once, each copy is read back from storage and verified, and one line per "
        "destination is printed (copied / already there / verified, bytes, seconds, first mismatch).",
    )
    transfer.add_argument("source", type=path_argument, metavar="SRC")
    transfer.add_argument(
        "destination",
        type=path_argument,
        metavar="DST",
        nargs="+",
        help="one or more destinations; with several, SRC is read once and every copy is read back and verified",
    )
    transfer.add_argument("--verify", action="store_true", help="verify the copy against the source checksum")
    transfer.add_argument(
        "--move",
        "--remove-source",
        dest="move",
        action="store_true",
        help="remove from SRC what was copied (and verified) unchanged, then SRC; with several DSTs, only once "
        "every one verified",
    )
    transfer.add_argument(
        "--reset-dirty",
        action="store_true",
        help="remove DST files that SRC does not have (without it, such files make the transfer fail)",
    )
    transfer.add_argument(
        "--threads", type=int, default=1, metavar="N", help="parallel copy threads (default 1; 0: all cores)"
    )
    for command in (checksum, verify, transfer):
        command.add_argument("-q", "--quiet", action="store_true", help="no progress bar")
    checksum.set_defaults(handler=_checksum)
    verify.set_defaults(handler=_verify)
    transfer.set_defaults(handler=_transfer)
