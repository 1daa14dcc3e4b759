"""upstream: an issue draft per failure cluster that no upstream issue explains yet.

A cluster needs a draft when it is unexpected, or when the expectations that claim it link no upstream issue,
pull request or documentation (only a line of source, or a draft of this suite's). Each draft is a folder:

    <cluster id>/ISSUE.md      title, versions, observed against expected, how many results share it
    <cluster id>/repro/        a runtime failure: model.onnx and test_data_set_0/ (inputs, torch's outputs),
                               repro.py needing only onnx, numpy and that runtime
                               an export failure: export.py, the torch export call that fails

The repro is made from the cluster's first result, exported again here (`repro --keep` does the same for one result).
"""
from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from pathlib import Path

from reports.clusters import Cluster, failure_clusters
from verdict.errors import UsageError
from verdict.records import Header, Result
from verdict.status import observed

# A link that is not yet an upstream report: a line of source on GitHub, or no URL at all (a draft of this suite's).
# Issues, pull requests and the project's own documentation count as linked.
SOURCE_LINE = re.compile(r"^https://github\.com/[\w.-]+/[\w.-]+/(blob|tree)/")
EXPORT_STAGES = ("model", "export", "validate")
ISSUE = "ISSUE.md"
# Constant axes too long or too derived for a title (the body lists every one).
TITLE_SKIPS = {"source", "kind", "seq_len", "batch", "at export shape", "run shape"}


def cluster_id(cluster: Cluster) -> str:
    """Stable across runs: the cluster's signature (stage, error kind, normalised message) and whether it was expected."""
    text = "|".join((cluster.stage, cluster.kind, cluster.pattern, str(cluster.expected)))
    return hashlib.sha1(text.encode()).hexdigest()[:10]


def needs_draft(cluster: Cluster) -> bool:
    return not cluster.expected or not cluster.links or not all(is_upstream_link(e.link) for e in cluster.links)


def is_upstream_link(link: str) -> bool:
    return link.startswith("https://") and not SOURCE_LINE.match(link)


@dataclass
class Draft:
    id: str
    title: str
    path: Path
    count: int


def drafts(header: Header | None, results: list[Result], out: Path, wanted: str | None = None) -> list[Draft]:
    clusters = {cluster_id(c): c for c in failure_clusters(results)}
    if wanted is not None:
        if wanted not in clusters:
            raise UsageError(f"no failure cluster {wanted!r} in this run; its clusters: "
                             + ", ".join(f"{i} ({c.count})" for i, c in clusters.items()))
        chosen = {wanted: clusters[wanted]}
    else:
        chosen = {i: c for i, c in clusters.items() if needs_draft(c)}
    written = []
    for identifier, cluster in chosen.items():
        folder = out / identifier
        folder.mkdir(parents=True, exist_ok=True)
        written.append(_write(identifier, cluster, header, folder))
    return written


def _component(result: Result, versions: dict) -> str:
    if result.stage in EXPORT_STAGES:
        return f"torch {versions.get('torch')} torch.onnx.export ({result.exporter})"
    return f"{result.runtime}"


def _title(cluster: Cluster, versions: dict) -> str:
    first = cluster.records[0]
    head = (first.error.message if first.error else first.message).strip().splitlines()[0][:100]
    where = ", ".join([c for c in cluster.constant if c.split("=")[0] not in TITLE_SKIPS][:4])
    return f"[{_component(first, versions)}] {observed(first).value} at {cluster.stage}{f' ({where})' if where else ''}: {head}"


def _write(identifier: str, cluster: Cluster, header: Header | None, folder: Path) -> Draft:
    versions = dict(header.versions) if header else {}
    first = cluster.records[0]
    title = _title(cluster, versions)
    repro = folder / "repro"
    how, made = _repro(first, repro)
    lines = [f"# {title}", "",
             f"Cluster `{identifier}`: {cluster.count} result(s) of one run of lstm-onnx-conformance fail this way "
             f"({cluster.statuses}).", "",
             "## Versions", "",
             *[f"- {package} {version}" for package, version in versions.items() if version],
             *([f"- platform: {header.platform.system}, CPU {header.platform.cpu}"] if header and header.platform else []),
             "", "## What fails", "",
             f"- first result: `{first.key}`",
             f"- stage: {first.stage}; status: {observed(first).value}",
             f"- the results share: {', '.join(cluster.constant) or 'nothing beyond the signature'}",
             *([f"- they vary in: {'; '.join(cluster.varying)}"] if cluster.varying else []),
             "", "## Observed against expected", "", *_observed(first),
             "", "## Reproduce", "", how, ""]
    if made:
        lines += [f"Files: {', '.join(sorted(str(p.relative_to(folder)) for p in repro.rglob('*') if p.is_file()))}", ""]
    if cluster.links:
        lines += ["## What the suite knew", "", *[f"- {e.id}: {e.reason} ({e.link})" for e in cluster.links], ""]
    if cluster.localisation is not None:
        lines += ["## First diverging node", "", "```", cluster.localisation.describe(), "```", ""]
    (folder / ISSUE).write_text("\n".join(lines))
    return Draft(identifier, title, folder / ISSUE, cluster.count)


def _observed(result: Result) -> list[str]:
    lines = [f"- message: {result.message}"]
    if result.error and result.error.message and result.error.message != result.message:
        lines.append(f"- error: {result.error.type}: {result.error.message.strip()[:2000]}")
    for name, stats in (result.outputs or {}).items():
        lines.append(f"- `{name}`: shape {stats.actual_shape} (expected {stats.expected_shape}), dtype {stats.actual_dtype} "
                     f"(expected {stats.expected_dtype}), max abs {stats.max_abs}, tolerance {stats.tolerance}")
    return lines


def _repro(result: Result, folder: Path) -> tuple[str, bool]:
    """(how to reproduce, whether files were written)."""
    from conformance.repro import export_script, job_of, write_backend_test

    try:
        job = job_of(result)
    except UsageError as exc:
        return f"No repro files: {exc}.", False
    folder.mkdir(parents=True, exist_ok=True)
    if result.stage in EXPORT_STAGES:
        (folder / "export.py").write_text(export_script(job))
        return "`python repro/export.py` makes the export call that fails (it needs torch, onnx and onnxscript).", True
    from conformance.runtimes import get_runtime

    runtime = get_runtime(result.runtime, _settings(result))
    source = runtime.repro_source()
    try:
        write_backend_test(folder, job, tuple(result.run_shape))
    except Exception as exc:  # the export itself may have changed since the run: say so rather than guess
        return f"No repro files: exporting the model again failed here ({type(exc).__name__}: {exc}).", False
    if source is None:
        return (f"`repro/` holds the model and test_data_set_0 as an ONNX backend test; {result.runtime} offers no "
                "standalone script (repro_source), so run it there with the runtime's own tools."), True
    (folder / "repro.py").write_text(REPRO_SCRIPT.format(runtime=result.runtime, run=source))
    return (f"`python repro/repro.py` runs model.onnx on test_data_set_0 in {result.runtime} and prints each output's "
            "shape and largest difference from torch's; it needs only onnx, numpy and the runtime."), True


def _settings(result: Result) -> dict:
    """The runtime settings a user set for the run, as --runtime-option would (ort: provider and session options;
    OpenVINO: its properties; tract: input_facts)."""
    options = dict(result.runtime_options or {})
    settings = {**options.get("provider_options", {}), **options.get("session_options", {}), **options.get("properties", {})}
    if "input_facts" in options:
        settings["input_facts"] = options["input_facts"]
    return settings


REPRO_SCRIPT = '''"""Run model.onnx on test_data_set_0 in {runtime}; compare with the expected outputs (torch eager)."""
import glob
import os

import numpy as np
import onnx
from onnx import numpy_helper

{run}

here = os.path.dirname(os.path.abspath(__file__))
path = os.path.join(here, "model.onnx")
model = onnx.load(path)


def tensors(kind):
    files = sorted(glob.glob(os.path.join(here, "test_data_set_0", kind + "_*.pb")), key=lambda f: int(f.rsplit("_", 1)[1][:-3]))
    return [numpy_helper.to_array(onnx.load_tensor(f)) for f in files]


initializers = {{t.name for t in model.graph.initializer}}
feeds = dict(zip([i.name for i in model.graph.input if i.name not in initializers], tensors("input")))
expected = dict(zip([o.name for o in model.graph.output], tensors("output")))
actual = run(path, feeds)
for name, want in expected.items():
    got = np.asarray(actual[name])
    gap = float(np.max(np.abs(got.astype(np.float64) - want))) if got.shape == want.shape else None
    print(f"{{name}}: shape {{list(got.shape)}} (expected {{list(want.shape)}}), max abs difference {{gap}}")
'''
