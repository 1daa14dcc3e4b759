"""OUT/repro/<result>.py: one standalone script per failing result, generated from its record alone.

Each script is conformance/repro_script.py (torch, onnx, onnxruntime, numpy; no import of this suite)
with the suite's own model wrapper, module builder and dynamic axes copied in from its source, followed
by the RESULT it reproduces: case parameters, exporter, shape mode, opset, run shape, runtime settings,
tolerance and what the suite recorded.
"""
from __future__ import annotations

import ast
import dataclasses
import functools
import importlib.util
import pprint
import re
import shutil
from pathlib import Path

from cases.case import LSTMCase
from cases.status import FAILURE_STATUSES
from conformance.compare import TOLERANCES

BODY = Path(__file__).with_name("repro_script.py")
# What the scripts take verbatim from the suite, so they build, wrap and export exactly what it does.
SUITE_DEFINITIONS = {
    "cases.torch_model": ("TORCH_DTYPES", "OUTPUT_NAMES", "LSTMWithState", "LSTMWithoutState", "build_module", "to_tensor"),
    "exporters.base": ("axes",),
    "conformance.runtimes.ort": ("GRAPH_OPTIMIZATION_LEVELS",),
}
MARKER = "# <suite definitions>\n"
REPRO_EXPORTERS = ("torchscript", "dynamo")
FAILURES = {s.value for s in FAILURE_STATUSES}


def safe_name(key: str) -> str:
    """A result key as a file name: 'L1-uni-…|dynamo|dynamic|18|ort-cpu|1x1' -> 'L1-uni-…__dynamo__dynamic__18__ort-cpu__1x1'."""
    return re.sub(r"[^A-Za-z0-9._-]+", "_", key.replace("|", "__"))


def reproducible(record: dict) -> bool:
    """A failure (expected or not) of an LSTM case through an exporter the script knows."""
    params = record.get("params") or {}
    return (
        record.get("raw_status") in FAILURES
        and record.get("exporter") in REPRO_EXPORTERS
        and set(params) == set(LSTMCase.__dataclass_fields__)
    )


def runtime_spec(record: dict) -> dict:
    """How the script runs the model: onnx.reference, or onnxruntime with the recorded provider and settings."""
    from conformance.runtimes import BUILTIN_RUNTIMES, get_runtime

    name = record["runtime"]
    if name == "reference":
        return {"name": name, "kind": "reference"}
    options = record.get("runtime_options")
    if not options and (name in BUILTIN_RUNTIMES or name.startswith("ort:")):
        options = get_runtime(name).options  # results that never reached the runtime did not record them
    spec = {"name": name, "kind": "onnxruntime", "provider": "CPUExecutionProvider", "provider_options": {}, "session_options": {}}
    if options and "provider" in options:
        spec.update({k: options.get(k) or spec[k] for k in ("provider", "provider_options", "session_options")})
    else:
        spec["note"] = f"recorded in runtime {name!r}, which this script cannot drive: it runs onnxruntime CPU instead"
    return spec


def _defined_names(node: ast.stmt) -> set[str]:
    if isinstance(node, (ast.ClassDef, ast.FunctionDef)):
        return {node.name}
    targets = node.targets if isinstance(node, ast.Assign) else [node.target] if isinstance(node, ast.AnnAssign) else []
    return {t.id for t in targets if isinstance(t, ast.Name)}


def suite_definitions() -> str:
    """The source of SUITE_DEFINITIONS, read (not imported: torch stays out of this process) from the suite's files."""
    pieces = []
    for module, names in SUITE_DEFINITIONS.items():
        source = Path(importlib.util.find_spec(module).origin).read_text(encoding="utf-8")
        lines = source.splitlines()
        found = {}
        for node in ast.parse(source).body:
            for name in _defined_names(node) & set(names):
                first = min([node.lineno, *(d.lineno for d in getattr(node, "decorator_list", []))])
                found[name] = "\n".join(lines[first - 1:node.end_lineno])
        missing = [n for n in names if n not in found]
        if missing:
            raise LookupError(f"{module} no longer defines {', '.join(missing)}: update conformance/repro.py")
        pieces.append(f"# from {module}\n" + "\n\n\n".join(found[n] for n in names))
    return "\n\n\n".join(pieces) + "\n"


@functools.cache
def script_body() -> str:
    """repro_script.py without its own docstring, the suite's definitions in place of the marker."""
    return BODY.read_text(encoding="utf-8").split('"""', 2)[2].replace(MARKER, suite_definitions())


def repro_result(record: dict) -> dict:
    params = record["params"]
    return {
        "key": record["key"],
        "case": params,
        "exporter": record["exporter"],
        "dynamic": bool(record["dynamic"]),
        "opset": record["opset"],
        "run_shape": list(record["run_shape"]),
        "runtime": runtime_spec(record),
        "tolerance": record.get("tolerance") or dataclasses.asdict(TOLERANCES[params["dtype"]]),
        "recorded": {k: record.get(k) for k in ("status", "raw_status", "stage", "message")},
    }


def repro_script(header: dict | None, record: dict) -> str:
    header = header or {}
    versions = header.get("versions") or {}
    provenance = ", ".join(f"{name} {versions[name]}" for name in ("torch", "onnx", "onnxruntime", "onnxscript") if versions.get(name))
    commit = header.get("git_commit")
    docstring = (
        f'"""Reproduces {record["key"]}: {record["raw_status"]} at {record["stage"]}.\n\n'
        f"Recorded by the lstm-onnx-conformance run of {header.get('started', '?')} ({provenance}"
        + (f"; suite commit {commit[:12]}" if commit else "")
        + ").\nStandalone: needs torch, onnx, onnxruntime and numpy (onnxscript for the dynamo exporter).\n"
        f"Run: python {safe_name(record['key'])}.py\n" + '"""\n'
    )
    return (
        "#!/usr/bin/env python3\n" + docstring + script_body()
        + "\n\nRESULT = " + pprint.pformat(repro_result(record), sort_dicts=False, width=110) + "\n"
        + '\nif __name__ == "__main__":\n    sys.exit(main(RESULT))\n'
    )


def write_repros(header: dict | None, results: list[dict], directory: str | Path) -> dict[str, Path]:
    """Write a script for every reproducible result; returns key -> script path."""
    directory = Path(directory)
    shutil.rmtree(directory, ignore_errors=True)  # scripts left by an earlier run in this directory would mislead
    scripts = {}
    for record in filter(reproducible, results):
        directory.mkdir(parents=True, exist_ok=True)
        path = directory / f"{safe_name(record['key'])}.py"
        path.write_text(repro_script(header, record), encoding="utf-8")
        scripts[record["key"]] = path
    return scripts
