"""results.jsonl: a header line, then one JSON line per result, appended and flushed as produced.

Readable without torch: reports and vendor machines only need this module.
"""
from __future__ import annotations

import json
import os
import platform
import shlex
import shutil
import subprocess
import sys
from datetime import datetime, timezone
from importlib import metadata
from pathlib import Path

from cases.modes import mode_label
from conformance.errors import UsageError

SCHEMA = 1
VERSIONED_PACKAGES = ("torch", "onnx", "onnxruntime", "onnxruntime-gpu", "onnxscript", "numpy", "jinja2", "openvino", "tract")


class ResultsFileError(ValueError):
    pass


def result_key(record: dict) -> str:
    """What makes a result unique: case, exporter, shape mode, opset, runtime, run shape."""
    mode = mode_label(record.get("dynamic"))
    shape = "x".join(str(n) for n in record.get("run_shape") or [])
    return "|".join(str(p) for p in (record["case"], record.get("exporter"), mode, record.get("opset"), record.get("runtime"), shape))


def package_versions() -> dict[str, str | None]:
    versions = {"python": platform.python_version()}
    for name in VERSIONED_PACKAGES:
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            versions[name] = None
    return versions


def _cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def _gpus() -> list[dict[str, str]]:
    """Name and driver of each NVIDIA GPU nvidia-smi reports; none without it."""
    if not shutil.which("nvidia-smi"):
        return []
    try:
        out = subprocess.run(
            ["nvidia-smi", "--query-gpu=name,driver_version", "--format=csv,noheader"],
            capture_output=True, text=True, timeout=20, check=True,
        ).stdout
    except (OSError, subprocess.SubprocessError):
        return []
    gpus = []
    for line in filter(None, (line.strip() for line in out.splitlines())):
        name, _, driver = line.rpartition(",")
        gpus.append({"name": name.strip(), "driver": driver.strip()})
    return gpus


def _git(*args: str) -> str | None:
    try:
        return subprocess.run(
            ["git", *args], cwd=Path(__file__).resolve().parent,
            capture_output=True, text=True, timeout=10, check=True,
        ).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return None


def _git_state() -> dict:
    """The suite's commit, and whether the tree had local changes (then the commit alone does not reproduce)."""
    commit = _git("rev-parse", "HEAD") or None
    changes = _git("status", "--porcelain", "--untracked-files=no") if commit else None
    return {"git_commit": commit, "git_dirty": None if changes is None else bool(changes)}


def command_line() -> str:
    """The command as the user can type it again: `python -m conformance ...`, not `__main__.py ...`."""
    program = Path(sys.argv[0]).name
    if program == "__main__.py":
        program = f"python -m {Path(sys.argv[0]).resolve().parent.name}"
    return " ".join([program, *map(shlex.quote, sys.argv[1:])])


def _ort_import() -> tuple[str | None, list[str]]:
    """(version, providers) of the onnxruntime module that runs: a PYTHONPATH entry can shadow the one pip lists."""
    try:
        import onnxruntime

        return onnxruntime.__version__, list(onnxruntime.get_available_providers())
    except ImportError:
        return None, []


def onnxruntime_build(versions: dict, providers: list[str]) -> str:
    """GPU when onnxruntime-gpu is installed or its CUDA provider is present, CPU otherwise."""
    return "GPU" if versions.get("onnxruntime-gpu") or "CUDAExecutionProvider" in providers else "CPU"


# Variables that change numbers without changing any version: recorded so two runs can be told apart.
NUMERICS_VARIABLES = ("NVIDIA_TF32_OVERRIDE", "CUDA_VISIBLE_DEVICES", "OMP_NUM_THREADS")


def make_header(options: dict) -> dict:
    versions = package_versions()
    imported, providers = _ort_import()
    versions["onnxruntime"] = imported or versions["onnxruntime"]
    return {
        "record": "header",
        "schema": SCHEMA,
        "started": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "command": command_line(),
        "options": options,
        "versions": versions,
        "onnxruntime_providers": providers,
        "onnxruntime_build": onnxruntime_build(versions, providers),
        "numerics_env": {name: os.environ[name] for name in NUMERICS_VARIABLES if name in os.environ},
        "platform": {
            "system": platform.platform(),
            "machine": platform.machine(),
            "cpu": _cpu_model(),
            "cpu_count": os.cpu_count(),
            "gpus": _gpus(),
        },
        **_git_state(),
    }


def read_results(path: str | Path) -> tuple[dict | None, list[dict]]:
    """(header, results). A torn last line (a killed writer) is ignored; any other bad line is an error."""
    path = Path(path)
    try:
        lines = path.read_text(encoding="utf-8").split("\n")
    except FileNotFoundError:
        raise ResultsFileError(f"results file {path} does not exist") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ResultsFileError(f"cannot read results file {path}: {exc}") from None
    header, results = None, []
    last = len(lines) - 1
    for number, line in enumerate(lines):
        if not line.strip():
            continue
        try:
            record = json.loads(line)
        except json.JSONDecodeError:
            if number == last:  # no trailing newline: the writer died mid-line
                break
            raise ResultsFileError(f"{path}:{number + 1} is not a JSON line; is this a results.jsonl file?") from None
        if not isinstance(record, dict) or "record" not in record:
            raise ResultsFileError(f"{path}:{number + 1} is not a conformance record (no 'record' field)")
        if record["record"] == "header":
            header = header or record
        else:
            results.append(record)
    return header, results


def load_run(path: str | Path) -> tuple[dict | None, list[dict]]:
    """(header, results) of a results file, or of the results.jsonl in a run directory; a UsageError if unreadable."""
    path = Path(path)
    if path.is_dir():
        path = path / "results.jsonl"
    try:
        return read_results(path)
    except ResultsFileError as exc:
        raise UsageError(str(exc)) from None


def prepare_out_dir(out_dir: Path) -> None:
    """Create the run directory and make sure it can be written, before any work starts."""
    try:
        out_dir.mkdir(parents=True, exist_ok=True)
        probe = out_dir / ".write-test"
        probe.write_text("")
        probe.unlink()
    except OSError as exc:
        raise UsageError(f"output directory {out_dir} is not writable ({exc.strerror}); choose another with --out") from None


class ResultsWriter:
    """Appends one line per record and flushes it, so a killed run loses nothing it reported."""

    def __init__(self, path: str | Path, header: dict | None = None):
        self.path = Path(path)
        if header is not None:
            self.path.write_text(json.dumps(header) + "\n", encoding="utf-8")
        else:
            self._drop_torn_tail()
        self._file = self.path.open("a", encoding="utf-8")

    def _drop_torn_tail(self) -> None:
        data = self.path.read_bytes()
        if data and not data.endswith(b"\n"):
            with self.path.open("r+b") as f:
                f.truncate(data.rfind(b"\n") + 1)

    def write(self, record: dict) -> None:
        self._file.write(json.dumps(record, default=str) + "\n")
        self._file.flush()

    def close(self) -> None:
        self._file.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()
