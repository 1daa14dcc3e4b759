"""Where and with what a run happened: package versions, the machine, the suite's commit and the digests
of its own code. The header (verdict.records.make_header) is built from these.
"""
from __future__ import annotations

import hashlib
import importlib.util
import os
import platform
import shlex
import shutil
import subprocess
import sys
from functools import cache
from importlib import metadata
from pathlib import Path

VERSIONED_PACKAGES = ("torch", "onnx", "onnxruntime", "onnxruntime-gpu", "onnxscript", "numpy", "jinja2", "msgspec", "openvino", "tract",
                     "iree-base-compiler", "iree-base-runtime")
# Variables that change numbers without changing any version: recorded so two runs can be told apart.
NUMERICS_VARIABLES = ("NVIDIA_TF32_OVERRIDE", "CUDA_VISIBLE_DEVICES", "OMP_NUM_THREADS")

# The suite's own packages whose code shapes an exported model: the case and kind definitions, the eager
# wrapper, the inputs the exporters trace with, the exporters and the decomposition.
MODEL_CODE = ("cases", "exporters")
# ... and whose code shapes a result: the above plus the engine, the runtimes and the verdict.
RESULT_CODE = (*MODEL_CODE, "conformance", "verdict")


def package_versions() -> dict[str, str | None]:
    versions: dict[str, str | None] = {"python": platform.python_version()}
    for name in VERSIONED_PACKAGES:
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            versions[name] = None
    imported = onnxruntime_import()[0]
    versions["onnxruntime"] = imported or versions["onnxruntime"]
    return versions


def onnxruntime_import() -> tuple[str | None, list[str]]:
    """(version, providers) of the onnxruntime module that runs: a PYTHONPATH entry can shadow the one pip lists."""
    try:
        import onnxruntime
    except ImportError:
        return None, []
    return onnxruntime.__version__, list(onnxruntime.get_available_providers())


def onnxruntime_build(versions: dict, providers: list[str]) -> str:
    """GPU when onnxruntime-gpu is installed or its CUDA provider is present, CPU otherwise."""
    return "GPU" if versions.get("onnxruntime-gpu") or "CUDAExecutionProvider" in providers else "CPU"


def cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def gpus() -> list[dict[str, str]]:
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
    found = []
    for line in filter(None, (line.strip() for line in out.splitlines())):
        name, _, driver = line.rpartition(",")
        found.append({"name": name.strip(), "driver": driver.strip()})
    return found


def numerics_env() -> dict[str, str]:
    return {name: os.environ[name] for name in NUMERICS_VARIABLES if name in os.environ}


def _git(*args: str) -> str | None:
    try:
        return subprocess.run(
            ["git", *args], cwd=Path(__file__).resolve().parent,
            capture_output=True, text=True, timeout=10, check=True,
        ).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return None


def git_state() -> tuple[str | None, bool | None]:
    """The suite's commit, and whether the tree had local changes (then the commit alone does not reproduce)."""
    commit = _git("rev-parse", "HEAD") or None
    changes = _git("status", "--porcelain", "--untracked-files=no") if commit else None
    return commit, None if changes is None else bool(changes)


def command_line() -> str:
    """The command as the user can type it again: `python -m conformance ...`, not `__main__.py ...`."""
    program = Path(sys.argv[0]).name
    if program == "__main__.py":
        program = f"python -m {Path(sys.argv[0]).resolve().parent.name}"
    return " ".join([program, *map(shlex.quote, sys.argv[1:])])


@cache
def code_digest(packages: tuple[str, ...]) -> str:
    """A digest of the Python sources of the suite's `packages` as imported here (paths and contents).

    It changes with any edit of that code, committed or not, so nothing keyed by it outlives the code that made it.
    """
    digest = hashlib.sha256()
    for package in packages:
        spec = importlib.util.find_spec(package)
        if spec is None or not spec.submodule_search_locations:
            raise RuntimeError(f"cannot find the suite's package {package!r} to digest its code")
        root = Path(next(iter(spec.submodule_search_locations)))
        for path in sorted(root.rglob("*.py")):
            digest.update(f"{package}/{path.relative_to(root).as_posix()}\0".encode())
            digest.update(path.read_bytes())
            digest.update(b"\0")
    return digest.hexdigest()[:32]


def platform_info() -> dict:
    return {"system": platform.platform(), "machine": platform.machine(), "cpu": cpu_model(), "cpu_count": os.cpu_count(),
            "gpus": gpus()}
