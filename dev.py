#!/usr/bin/env python3
"""Runs the project's jobs in local virtual environments that this script creates and keeps up to date.

Usage:
  python3 dev.py demo                 the end-to-end demo
  python3 dev.py test [PYTEST ARGS]   everything a change must pass, once, on the interpreter running dev.py:
      ruff check, ruff format --check, mypy --strict (src and tests), a build check (the wheel builds and its
      metadata validates), then the whole suite (without coverage: it slows the suite by half)
  python3 dev.py test --coverage [ARGS]   the same, the suite under coverage (subprocesses and multiprocessing
      children included, total printed)
  python3 dev.py test --all [ARGS]    what CI runs: the suite under coverage, then again under every other interpreter
      of the matrix (MATRIX: 3.11, 3.13, 3.14) without coverage and without the SLURM tests, then the EXTRA_PASSES;
      a Python 3.14 missing on Linux is fetched by .ci/python314.sh (Debian's build, cached)
  python3 dev.py test --quick [ARGS]  ruff, format check, mypy and the suite without slow tests
  python3 dev.py test --python 3.11,3.13 [ARGS]   the suite under exactly these interpreters (the first measured)

Only a Python 3.11+ interpreter is needed; everything else is installed into ``.venv`` (the interpreter running
dev.py) and ``.venv-3.X`` (the others). An interpreter that is not on PATH or in pyenv can be named with
``AXDS_PYTHON3_14=/path/to/python3.14`` (one variable per version). Every step's duration is printed at the end.
"""

from __future__ import annotations

import glob
import hashlib
import os
import shutil
import subprocess
import sys
import tempfile
import time
import venv
from pathlib import Path

ROOT = Path(__file__).resolve().parent
VERSIONS = ("3.11", "3.12", "3.13", "3.14")  # what the package supports (pyproject's classifiers)
MATRIX = ("3.11", "3.13", "3.14")  # what `--all` and CI test: the oldest, the newest, and one between
# Extra whole-suite passes that `--all` runs on the first interpreter after the matrix (without coverage or SLURM),
# each a name and the environment variables it sets. "portable": the loopback-TCP logger transport and the fallback
# locks that Windows (and, for the shared-memory lock, macOS) run, forced here so every CI run exercises them.
EXTRA_PASSES: tuple[tuple[str, dict[str, str]], ...] = (("portable", {"AXDS_FORCE_PORTABLE": "1"}),)
LINTED = ("src", "tests", "bench", "demo", "dev.py")
EXTRAS = "test,plot"  # plot: the demo draws the recording, and the tests render a real PNG


def _version_of(python: str | Path) -> str | None:
    """The 'X.Y' of an interpreter, or None when it does not run (a pyenv shim of an unselected version fails)."""
    try:
        result = subprocess.run(
            [python, "-c", "import sys; print('%d.%d' % sys.version_info[:2])"],
            capture_output=True,
            text=True,
            timeout=30,
            check=False,
        )
    except OSError:
        return None
    return result.stdout.strip() if result.returncode == 0 else None


def find_interpreters(fetch: tuple[str, ...] = ()) -> dict[str, str]:
    """Maps each of VERSIONS present on this machine to an interpreter.

    Looks at the running one first, then ``$AXDS_PYTHON3_X`` (e.g. AXDS_PYTHON3_14), PATH and pyenv; a version in
    ``fetch`` that is still missing is installed by its ``.ci/python3X.sh`` script where one exists (3.14 on Linux).
    """
    found = {f"{sys.version_info[0]}.{sys.version_info[1]}": sys.executable}
    pyenv_root = os.environ.get("PYENV_ROOT") or str(Path.home() / ".pyenv")
    for version in VERSIONS:
        if version in found:
            continue
        pyenv_builds = sorted(glob.glob(f"{pyenv_root}/versions/{version}.*/bin/python"), reverse=True)
        named = os.environ.get("AXDS_PYTHON" + version.replace(".", "_"))
        candidates = [named, shutil.which(f"python{version}"), *pyenv_builds]
        for candidate in filter(None, candidates):
            if _version_of(candidate) == version:
                found[version] = candidate
                break
        script = ROOT / ".ci" / f"python{version.replace('.', '')}.sh"
        if version not in found and version in fetch and script.exists() and sys.platform == "linux":
            result = subprocess.run(["bash", script], stdout=subprocess.PIPE, text=True, check=False)
            path = result.stdout.strip()
            if result.returncode == 0 and _version_of(path) == version:
                found[version] = path
    return found


class Env:
    """One virtual environment of the project: ``.venv`` for the running interpreter, ``.venv-X.Y`` for others."""

    def __init__(self, version: str, base_python: str, primary: bool) -> None:
        self.version = version
        self.base_python = base_python
        self.path = ROOT / (".venv" if primary else f".venv-{version}")
        scripts, name = ("Scripts", "python.exe") if os.name == "nt" else ("bin", "python")
        self.python = self.path / scripts / name

    def ensure(self) -> None:
        """Creates the venv and installs the package with its extras whenever pyproject.toml or EXTRAS changed."""
        stamp = self.path / ".installed"
        if not self.python.exists():
            if self.base_python == sys.executable:
                venv.EnvBuilder(with_pip=True).create(self.path)
            else:
                subprocess.run([self.base_python, "-m", "venv", self.path], check=True)
        wanted = hashlib.sha256((ROOT / "pyproject.toml").read_bytes() + EXTRAS.encode()).hexdigest()
        if stamp.exists() and stamp.read_text() == wanted:
            return
        subprocess.run([self.python, "-m", "pip", "install", "-q", "--upgrade", "pip"], check=True)
        subprocess.run([self.python, "-m", "pip", "install", "-q", "-e", f"{ROOT}[{EXTRAS}]"], check=True)
        stamp.write_text(wanted)


def run(*args: str | Path, env: dict[str, str] | None = None) -> int:
    """Runs one command in the project root and returns its exit code."""
    print("+", " ".join(str(a) for a in args), flush=True)
    return subprocess.run(list(args), cwd=ROOT, check=False, env=env).returncode


def build_check(python: Path) -> int:
    """Builds the wheel and validates what an index would check (a 'twine check' without twine)."""
    with tempfile.TemporaryDirectory() as folder:
        code = run(python, "-m", "pip", "wheel", "--quiet", "--no-deps", "--wheel-dir", folder, ROOT)
        if code != 0:
            return code
        return run(python, __file__, "check-wheel", folder)  # in the venv, where `packaging` is installed


def check_wheel(folder: str) -> int:
    """Validates the one wheel in ``folder`` as an index would: METADATA, license file, README, ``py.typed``.

    Runs in a project venv, where ``packaging`` is installed (pytest depends on it).
    """
    import zipfile

    from packaging.metadata import Metadata

    (wheel,) = Path(folder).glob("*.whl")
    with zipfile.ZipFile(wheel) as archive:
        names = archive.namelist()
        (meta_name,) = [name for name in names if name.endswith(".dist-info/METADATA")]
        meta = Metadata.from_email(archive.read(meta_name), validate=True)
    problems = [
        problem
        for problem, failed in (
            ("no license expression or license file", not meta.license_expression or "/licenses/" not in str(names)),
            ("no README description", not meta.description or meta.description_content_type != "text/markdown"),
            ("no py.typed", not any(name.endswith("/py.typed") for name in names)),
        )
        if failed
    ]
    if problems:
        print(f"build check: {wheel.name}: {'; '.join(problems)}", file=sys.stderr)
        return 1
    print(f"build check: {wheel.name} ({meta.version}, {meta.license_expression}) metadata valid")
    return 0


def coverage_env() -> dict[str, str]:
    """The environment for a measured run: coverage reads pyproject.toml from every process it follows."""
    env = dict(os.environ)
    env["COVERAGE_RCFILE"] = str(ROOT / "pyproject.toml")
    return env


class Steps:
    """Runs the job's commands in the project root and keeps how long each took, for the closing summary."""

    def __init__(self) -> None:
        self.durations: list[tuple[str, float]] = []

    def run(self, label: str, *args: str | Path, env: dict[str, str] | None = None) -> int:
        """Runs one command, records its duration under ``label``, and returns its exit code."""
        started = time.monotonic()
        code = run(*args, env=env)
        self.durations.append((label, time.monotonic() - started))
        return code

    def summary(self) -> str:
        """One line: every step and its duration."""
        return "durations: " + ", ".join(f"{label} {seconds:.0f} s" for label, seconds in self.durations)


def _measured_suite(steps: Steps, env: Env, extra: list[str]) -> int:
    """Runs the whole suite under coverage (children included) and prints the combined total."""
    for stale in ROOT.glob(".coverage*"):
        stale.unlink()
    code = steps.run(
        f"suite {env.version} (coverage)",
        env.python,
        "-m",
        "coverage",
        "run",
        "-m",
        "pytest",
        *extra,
        env=coverage_env(),
    )
    if run(env.python, "-m", "coverage", "combine", "--quiet", env=coverage_env()) == 0:
        total = subprocess.run(
            [env.python, "-m", "coverage", "report", "--format=total"],
            cwd=ROOT,
            capture_output=True,
            text=True,
            env=coverage_env(),
            check=False,
        ).stdout.strip()
        print(f"coverage (Python {env.version}, with subprocesses and multiprocessing children): {total}%")
    return code


def _parse_test_arguments(extra: list[str]) -> tuple[str, tuple[str, ...], bool, list[str]] | None:
    """Returns the mode ('one', 'all', 'quick' or 'listed'), the versions wanted, coverage or not, pytest's arguments.

    The first suite runs under coverage with ``--coverage``, and always with ``--all`` (what CI runs).
    """
    running = f"{sys.version_info[0]}.{sys.version_info[1]}"
    mode = "quick" if "--quick" in extra else "all" if "--all" in extra else "one"
    coverage = mode == "all" or "--coverage" in extra
    extra = [arg for arg in extra if arg not in ("--quick", "--all", "--coverage")]
    wanted: tuple[str, ...] = (running, *(v for v in MATRIX if v != running)) if mode == "all" else (running,)
    if "--python" in extra:
        index = extra.index("--python")
        if index + 1 == len(extra):
            print("dev.py: --python needs a list of versions, e.g. --python 3.11,3.13", file=sys.stderr)
            return None
        listed = extra[index + 1].split(",")
        # The running interpreter, when listed, goes first: it has `.venv` and runs the measured pass.
        wanted = tuple(sorted(listed, key=lambda version: version != running))
        del extra[index : index + 2]
        mode = "quick" if mode == "quick" else "listed"
    return mode, wanted, coverage, extra


def test(arguments: list[str]) -> int:
    """Runs the 'test' job; returns the first non-zero exit code, or 0."""
    parsed = _parse_test_arguments(arguments)
    if parsed is None:
        return 2
    mode, wanted, coverage, extra = parsed
    running = f"{sys.version_info[0]}.{sys.version_info[1]}"
    interpreters = find_interpreters(fetch=wanted if mode in ("all", "listed") else ())
    chosen = [v for v in wanted if v in interpreters][: 1 if mode == "quick" else None]
    if not chosen:
        print(f"dev.py: none of the Pythons {', '.join(wanted)} is on this machine", file=sys.stderr)
        return 2
    missing = [v for v in wanted if v not in interpreters]
    if missing and mode != "quick":
        print(f"dev.py: Python {', '.join(missing)} not found on this machine; testing {', '.join(chosen)}")
        if os.environ.get("CI") == "true":  # CI must not pass by testing less than the matrix
            print("dev.py: CI=true: every interpreter asked for must be tested", file=sys.stderr)
            return 2
    steps = Steps()
    envs = [Env(v, interpreters[v], primary=v == running) for v in chosen]
    first = envs[0]
    first.ensure()
    checks: list[tuple[str, list[str | Path]]] = [
        ("ruff", [first.python, "-m", "ruff", "check", *LINTED]),
        ("mypy", [first.python, "-m", "mypy"]),  # pyproject's [tool.mypy] files: src and tests
    ]
    for label, step in checks:
        code = steps.run(label, *step)
        if code != 0:
            return code
    # Formatting is reported, and fails the job at the end, but does not stop the tests: a file that only needs
    # `ruff format` should not hide what the suite would say.
    unformatted = steps.run("format check", first.python, "-m", "ruff", "format", "--check", *LINTED)
    if unformatted:
        print("dev.py: some files need `ruff format` (listed above); the job will fail after the tests", flush=True)
    if mode == "quick":
        code = steps.run("quick suite", first.python, "-m", "pytest", "-m", "not slow", *extra)
        print(steps.summary())
        return code or unformatted
    started = time.monotonic()
    code = build_check(first.python)
    steps.durations.append(("build check", time.monotonic() - started))
    if code != 0:
        return code
    slurm_setup = ROOT / ".ci" / "install-slurm.sh"
    if sys.platform == "linux" and slurm_setup.exists():
        # The SLURM tests' one-node cluster needs slurm-wlm and munge; the script is quiet and never fails.
        subprocess.run(["bash", slurm_setup], check=False)
    results: list[tuple[str, int]] = []
    for env in envs:
        env.ensure()
        if env is first and coverage:  # measured once; the other interpreters only have to pass
            code = _measured_suite(steps, env, extra)
        elif env is first:
            code = steps.run(f"suite {env.version}", env.python, "-m", "pytest", *extra)
        else:
            # The SLURM tests exercise the scheduler, not the interpreter: once per run (on the first) is enough, and
            # they are a third of the suite's time. A `-m` given on the command line still wins (pytest keeps the last).
            code = steps.run(f"suite {env.version}", env.python, "-m", "pytest", "-m", "not slurm", *extra)
        results.append((f"Python {env.version}", code))
    for name, variables in EXTRA_PASSES if mode == "all" else ():
        label = f"Python {first.version} {name}"
        print(f"dev.py: {label}: {' '.join(f'{k}={v}' for k, v in variables.items())}", flush=True)
        code = steps.run(
            label, first.python, "-m", "pytest", "-m", "not slurm", *extra, env={**os.environ, **variables}
        )
        results.append((label, code))
    print("suite results: " + ", ".join(f"{n}: {'passed' if c == 0 else f'FAILED ({c})'}" for n, c in results))
    print(steps.summary())
    if unformatted:
        print("dev.py: FAILED the format check: run `ruff format` on the files listed at the start")
    return next((c for _, c in results if c != 0), unformatted)


def main() -> int:
    """Dispatches the 'demo' and 'test' jobs."""
    job = sys.argv[1] if len(sys.argv) > 1 else ""
    extra = sys.argv[2:]
    if sys.version_info < (3, 11):  # noqa: UP036 - dev.py is started by whatever python3 the user has
        sys.exit(f"dev.py needs Python 3.11 or newer, this is {sys.version.split()[0]}")
    if job == "demo":
        env = Env(f"{sys.version_info[0]}.{sys.version_info[1]}", sys.executable, primary=True)
        env.ensure()
        return run(env.python, ROOT / "demo" / "demo.py", *extra)
    if job == "test":
        return test(extra)
    if job == "check-wheel" and len(extra) == 1:
        return check_wheel(extra[0])
    print(__doc__)
    return 2


if __name__ == "__main__":
    sys.exit(main())
