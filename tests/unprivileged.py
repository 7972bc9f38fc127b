"""Runs a test's operation as an unprivileged user, so that permission tests run where the suite runs as root (CI).

Root ignores file permissions: a read-only folder is writable to it and an unreadable one readable. A test that
checks how the library meets a permission error builds its files in :func:`unprivileged_folder` (owned by ``nobody``
when the suite runs as root) and runs the operation with :func:`run_unprivileged`, in a forked child that drops to
``nobody`` first. Run as another user, both change nothing: the folder is a temporary one and the child keeps the user.
"""

from __future__ import annotations

import contextlib
import os
import pickle
import pwd
import shutil
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TypeVar

Result = TypeVar("Result")

IS_ROOT = hasattr(os, "geteuid") and os.geteuid() == 0
"""Whether this process is root: then the operation runs as ``nobody``."""


def _nobody() -> tuple[int, int]:
    entry = pwd.getpwnam("nobody")
    return entry.pw_uid, entry.pw_gid


@contextlib.contextmanager
def unprivileged_folder() -> Iterator[Path]:
    """A temporary folder the unprivileged user owns (under /tmp: pytest's own tmp_path is private to root), removed
    with everything in it afterwards. Files made in it as root are handed over with :func:`hand_over`."""
    folder = Path(tempfile.mkdtemp(prefix="axds-unprivileged-"))
    try:
        hand_over(folder)
        yield folder
    finally:
        for directory, _, _ in os.walk(folder):  # a test may leave a folder without permissions for its owner
            os.chmod(directory, 0o700)
        shutil.rmtree(folder)


def hand_over(path: Path) -> None:
    """Gives ``path`` and everything under it to the unprivileged user (nothing to do when not root)."""
    if not IS_ROOT:
        return
    uid, gid = _nobody()
    for directory, folders, files in os.walk(path):
        os.chown(directory, uid, gid)
        for name in (*folders, *files):
            os.chown(os.path.join(directory, name), uid, gid, follow_symlinks=False)


def run_unprivileged(operation: Callable[[], Result]) -> Result:
    """Runs ``operation`` in a forked child that first becomes ``nobody`` (when this process is root) and returns what
    it returned, or raises what it raised (both must pickle).

    Fork, not a new interpreter: the child needs nothing from disk that this process has not imported already (an
    interpreter under /root, as pyenv's, is not even executable for ``nobody``). Import the library modules the
    operation uses before calling this.
    """
    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:  # pragma: no cover - the child; its outcome travels through the pipe
        try:
            os.close(read)
            if IS_ROOT:
                uid, gid = _nobody()
                os.setgroups([])
                os.setgid(gid)
                os.setuid(uid)
            try:
                outcome: tuple[bool, object] = (True, operation())
            except BaseException as error:
                outcome = (False, error)
            data = pickle.dumps(outcome)
        except BaseException as error:
            data = pickle.dumps((False, RuntimeError(f"the unprivileged child failed: {error!r}")))
        with os.fdopen(write, "wb") as pipe:
            pipe.write(data)
        os._exit(0)
    os.close(write)
    with os.fdopen(read, "rb") as pipe:
        data = pipe.read()
    os.waitpid(pid, 0)
    succeeded, value = pickle.loads(data)
    if not succeeded:
        raise value
    return value  # type: ignore[no-any-return]
