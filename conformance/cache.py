"""Content-addressed export cache: one directory per (case, exporter, mode, opset, exporter versions, suite code).

The key holds a digest of the suite's own code that shapes an exported model (verdict.environment.MODEL_CODE:
the case and kind definitions, the eager wrapper, the traced inputs, the exporters and the decomposition), so
an edit of that code, committed or not, misses every entry made before it: a cached model never predates the
code that is supposed to have made it.
"""
from __future__ import annotations

import hashlib
import json
import os
import shutil
import tempfile
from pathlib import Path

import msgspec

from exporters.base import ExportResult
from verdict.environment import MODEL_CODE, code_digest, package_versions


def default_cache_dir() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base) / "lstm-onnx-conformance" / "exports"


def export_key(job) -> str:
    versions = package_versions()
    payload = {
        "code": code_digest(MODEL_CODE),
        "case": job.case.params(),
        "exporter": job.exporter,
        "dynamic": job.dynamic,
        "opset": job.opset,
        "versions": {k: versions.get(k) for k in ("torch", "onnx", "onnxscript")},
    }
    return hashlib.sha256(json.dumps(payload, sort_keys=True).encode()).hexdigest()[:32]


class ExportCache:
    def __init__(self, directory: str | Path):
        self.directory = Path(directory)

    def _entry(self, key: str) -> Path:
        return self.directory / key[:2] / key

    def get(self, key: str) -> tuple[ExportResult, Path] | None:
        entry = self._entry(key)
        try:
            result = ExportResult.from_json((entry / "export.json").read_bytes())
        except (OSError, msgspec.DecodeError):
            return None
        model = entry / "model.onnx"
        if result.ok and not model.exists():
            return None
        return result, model

    def put(self, key: str, result: ExportResult, model: Path) -> Path:
        """Store atomically (write aside, then rename) so a killed worker never leaves half an entry."""
        entry = self._entry(key)
        entry.parent.mkdir(parents=True, exist_ok=True)
        staging = Path(tempfile.mkdtemp(dir=entry.parent, prefix=".tmp-"))
        if model.exists():
            shutil.copyfile(model, staging / "model.onnx")
        (staging / "export.json").write_bytes(result.to_json())
        try:
            os.rename(staging, entry)
        except OSError:  # another worker stored the same export first
            shutil.rmtree(staging, ignore_errors=True)
        return entry / "model.onnx"
