"""Writes the committed golden files by running the original releases (6.2.0 and 7.2.0) as black boxes.

Regenerate everything (needs both releases; see ``../shared/tools/reference-venv.sh``)::

    python3 tests/golden/make_golden.py regenerate          # uses $REF_PY / $REF7_PY or the /tmp defaults

which runs, in each release's own interpreter, ``make_golden.py files tests/golden`` (writes ``<version>/``) and, in
7.2.0's, ``make_golden.py api`` (prints ``api-7.2.0.json``). The files written per release are:

- ``tracker-empty.yaml``, ``tracker-initialized.yaml``, ``tracker.yaml``: a tracker after ``reset()``, after
  ``initialize_jobs`` and after starting, completing and failing jobs, with ``tracker-expected.json`` (each job's
  state as the release reads it back);
- ``config.yaml``: the ``golden_inputs.config_instance`` YamlConfig (nested dataclasses, enums, a path, tuples);
- ``log/<source>_log.npz``: what the release's DataLogger plus ``assemble_log_archives`` made of
  ``golden_inputs.LOG_MESSAGES`` (repeated timestamps), with ``log-expected.json`` (what its reader returns);
- ``checksum/``: the ``golden_inputs.CHECKSUM_TREE`` folder with the ``ax_checksum.txt`` the release wrote.

This module imports only the standard library at the top, so ``describe_api`` also runs under our library (the API
parity test imports it).
"""

import enum
import importlib
import inspect
import json
import shutil
import sys
import time
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
SUBPACKAGES = ("data_structures", "data_loggers", "processing", "shared_memory")
_PLAIN_CONSTANTS = (str, int, float, bool, bytes, tuple, frozenset, type(None))


def _default(value: Any) -> str:
    text = repr(value)
    return text if " at 0x" not in text else f"<{type(value).__name__} object>"


def describe_signature(target: Any) -> list[dict[str, str]] | None:
    """Parameters of ``target`` as (name, kind, default repr when there is one); None when it has no signature."""
    try:
        signature = inspect.signature(target)
    except (TypeError, ValueError):
        return None
    described = []
    for parameter in signature.parameters.values():
        entry = {"name": parameter.name, "kind": parameter.kind.name}
        if parameter.default is not inspect.Parameter.empty:
            entry["default"] = _default(parameter.default)
        described.append(entry)
    return described


def _describe_member(owner: type, name: str) -> dict[str, Any] | None:
    static = inspect.getattr_static(owner, name)
    if isinstance(static, property) or type(static).__name__ == "cached_property":
        return {"kind": "property"}
    if isinstance(static, staticmethod):
        return {"kind": "staticmethod", "signature": describe_signature(static.__func__)}
    if isinstance(static, classmethod):
        return {"kind": "classmethod", "signature": describe_signature(getattr(owner, name))}
    if inspect.isfunction(static):
        return {"kind": "method", "signature": describe_signature(static)}
    return {"kind": "attribute"}


def describe_object(obj: Any) -> dict[str, Any]:
    """What the API parity test compares for one public name: its kind, signature and public members."""
    if inspect.isclass(obj) and issubclass(obj, enum.Enum):
        bases = [base.__name__ for base in obj.__mro__ if base.__module__ == "enum" and base is not enum.Enum]
        return {
            "kind": "enum",
            "bases": bases[:1],
            "members": {member.name: _default(member.value) for member in obj},
        }
    if inspect.isclass(obj):
        fields = list(getattr(obj, "__dataclass_fields__", {}) or getattr(obj, "_fields", ()))
        members = {}
        for name in dir(obj):
            if name.startswith("_") or name in fields or hasattr(object, name):
                continue
            described = _describe_member(obj, name)
            if described is not None:
                members[name] = described
        return {"kind": "class", "signature": describe_signature(obj), "fields": fields, "members": members}
    if callable(obj):
        return {"kind": "function", "signature": describe_signature(obj)}
    if isinstance(obj, _PLAIN_CONSTANTS):
        return {"kind": "constant", "type": type(obj).__name__, "value": _default(obj)}
    if hasattr(obj, "keys"):
        return {"kind": "constant", "type": type(obj).__name__, "value": _default(dict(obj))}
    return {"kind": "constant", "type": type(obj).__name__}


def describe_api() -> dict[str, Any]:
    """The public API of the importable ``ataraxis_data_structures``: each ``__all__`` (top level and subpackages)."""
    import ataraxis_data_structures as package

    modules: dict[str, Any] = {"": package}
    for name in SUBPACKAGES:
        modules[name] = importlib.import_module(f"ataraxis_data_structures.{name}")
    return {
        "modules": {
            name: {item: describe_object(getattr(module, item)) for item in sorted(module.__all__)}
            for name, module in modules.items()
        }
    }


def _write_trackers(folder: Path) -> None:
    from ataraxis_data_structures import ProcessingTracker
    from golden_inputs import TRACKER_JOBS

    path = folder / "tracker.yaml"
    tracker = ProcessingTracker(file_path=path)
    tracker.reset()
    shutil.copyfile(path, folder / "tracker-empty.yaml")
    ids = tracker.initialize_jobs(TRACKER_JOBS)
    shutil.copyfile(path, folder / "tracker-initialized.yaml")
    tracker.start_job(ids[0], executor_id="slurm:4242")
    tracker.complete_job(ids[0])
    tracker.start_job(ids[1], executor_id="pid:17@node-3")
    tracker.fail_job(ids[1], "ValueError: frame 12 is 'torn'\nsee log")
    tracker.start_job(ids[2])
    expected = {}
    for job_id in ids:
        info = tracker.get_job_info(job_id)
        expected[job_id] = {
            "job_name": info.job_name,
            "specifier": info.specifier,
            "status": int(info.status),
            "executor_id": info.executor_id,
            "error_message": info.error_message,
            "started_at": info.started_at,
            "completed_at": info.completed_at,
        }
    (folder / "tracker-expected.json").write_text(json.dumps({"order": ids, "jobs": expected}, indent=1) + "\n")
    for leftover in folder.glob("*.lock"):
        leftover.unlink()


def _write_config(folder: Path) -> None:
    from ataraxis_data_structures import YamlConfig
    from golden_inputs import config_instance

    config_instance(YamlConfig).to_yaml(folder / "config.yaml")


def _write_log(folder: Path) -> None:
    import numpy as np

    from ataraxis_data_structures import DataLogger, LogArchiveReader, LogPackage, assemble_log_archives
    from golden_inputs import LOG_MESSAGES, ONSET_US

    work = folder / "logger-run"
    work.mkdir()
    logger = DataLogger(output_directory=work, instance_name="golden")
    logger.start()
    onset = np.array([ONSET_US], dtype="<u8").view(np.uint8)
    sources = sorted({source for source, _, _ in LOG_MESSAGES})
    packages = [(source, 0, onset.tobytes()) for source in sources] + LOG_MESSAGES
    for source, elapsed, payload in packages:
        data = np.frombuffer(payload, dtype=np.uint8).copy()
        logger.input_queue.put(LogPackage(np.uint8(source), np.uint64(elapsed), data))
    time.sleep(1.0)  # both releases' stop() drains the queue; the pause only keeps the run unhurried
    logger.stop()
    assemble_log_archives(logger.output_directory, remove_sources=True)
    target = folder / "log"
    target.mkdir()
    expected = {}
    for archive in sorted(logger.output_directory.glob("*.npz")):
        shutil.move(archive, target / archive.name)
        reader = LogArchiveReader(target / archive.name)
        expected[archive.name] = {
            "onset_us": int(reader.onset_timestamp_us),
            "messages": [[int(m.timestamp_us), bytes(m.payload).hex()] for m in reader.iter_messages()],
        }
    shutil.rmtree(work)
    (folder / "log-expected.json").write_text(json.dumps(expected, indent=1) + "\n")


def _write_checksum(folder: Path) -> None:
    from ataraxis_data_structures import calculate_directory_checksum
    from golden_inputs import CHECKSUM_TREE

    root = folder / "checksum"
    for relative, content in CHECKSUM_TREE.items():
        (root / relative).parent.mkdir(parents=True, exist_ok=True)
        (root / relative).write_bytes(content)
    calculate_directory_checksum(root, save_checksum=True)


def write_files(destination: Path) -> Path:
    """Writes the golden files of the running release into ``destination/<version>`` (replacing what was there)."""
    from importlib.metadata import version

    folder = destination / version("ataraxis-data-structures")
    if folder.exists():
        shutil.rmtree(folder)
    folder.mkdir(parents=True)
    for writer in (_write_trackers, _write_config, _write_log, _write_checksum):
        writer(folder)
    return folder


def regenerate() -> None:
    """Runs this script in both releases' interpreters and rewrites every golden file (run by hand, in our venv)."""
    # tests/reference_release.py is the one place that knows where the releases are and how to run them. Imported
    # here only: this module also runs inside the releases' interpreters, which have no pytest.
    sys.path.insert(0, str(HERE.parent))
    from reference_release import REFERENCE7_PYTHON, REFERENCE_PYTHON, run_python

    for python in (REFERENCE_PYTHON, REFERENCE7_PYTHON):
        run_python(python, __file__, "files", HERE, cwd=HERE)
    (HERE / "api-7.2.0.json").write_text(run_python(REFERENCE7_PYTHON, __file__, "api", cwd=HERE).stdout)


def main() -> None:
    """Command line: ``api`` | ``files DEST`` | ``regenerate``."""
    sys.path.insert(0, str(HERE))
    command = sys.argv[1] if len(sys.argv) > 1 else ""
    if command == "api":
        sys.stdout.write(json.dumps(describe_api(), indent=1, sort_keys=True) + "\n")
    elif command == "files" and len(sys.argv) == 3:
        write_files(Path(sys.argv[2]))
    elif command == "regenerate":
        regenerate()
    else:
        sys.exit(__doc__)


if __name__ == "__main__":
    main()
