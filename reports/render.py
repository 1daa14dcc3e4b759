"""Pure rendering: everything shown comes from the header and the result records."""
from __future__ import annotations

import json
import math
import shlex
from collections import Counter, defaultdict
from pathlib import Path

from jinja2 import Environment, FileSystemLoader, select_autoescape

import msgspec

from cases.modes import mode_label
from reports import embed
from reports.charts import EAGER_CUDA_LABEL, error_bars, error_histograms
from reports.clusters import failure_clusters
from reports.kinds import NODE_PREFIX, is_packed, kind_label, kind_of, kind_order
from reports.trend import trend_view
from verdict.expectations import stale
from verdict.records import Header, Result
from verdict.status import DISPLAY_ORDER, OK_STATUSES, Status, did_not_run, is_failure, is_ok, observed, observed_pass

TEXT_LIMIT = 4000
UNBOUNDED = 1e308  # sorts a non-finite error last; JSON has no infinity
# The report is written beside the results file it shows, so the command names it relative to there.
REPRO_COMMAND = "python -m conformance repro results.jsonl {key}"
SEVERITY = {s.value: i for i, s in enumerate(DISPLAY_ORDER)}
STATUS_CLASS = {
    **{s.value: "bad" for s in Status},
    "PASS": "pass",
    "XFAIL": "xfail",
    "XPASS": "xpass",
    "SKIPPED": "skipped",
    "NOT_APPLICABLE": "na",
    "FALLBACK": "fallback",
    "CRASH": "crash",
    "TIMEOUT": "crash",
    "SUITE_ERROR": "crash",
}
SHORT = {
    "PASS": "pass", "XFAIL": "xfail", "XPASS": "XPASS", "SKIPPED": "skip", "NOT_APPLICABLE": "n/a",
    "NUMERIC_MISMATCH": "num", "SHAPE_MISMATCH": "shape", "DTYPE_MISMATCH": "dtype",
    "OUTPUT_COUNT_MISMATCH": "count", "EXPORT_ERROR": "export", "INVALID_MODEL": "invalid",
    "LOAD_ERROR": "load", "RUN_ERROR": "run", "CRASH": "CRASH", "TIMEOUT": "TIME", "FALLBACK": "fallbk", "SUITE_ERROR": "SUITE",
}


def _clip(text: str | None, limit: int = TEXT_LIMIT) -> str:
    text = text or ""
    return text if len(text) <= limit else text[:limit] + f"\n…({len(text) - limit} more characters in results.jsonl)"


def _mode(record: Result, per_opset: bool = False) -> str:
    """The shape mode, with the opset where a run swept several: then each opset is a column of its own."""
    label = mode_label(record.dynamic)
    return f"{label} · opset {record.opset}" if per_opset else label


def worst(statuses) -> str:
    return min(statuses, key=lambda s: SEVERITY.get(s, -1))


def _gpu_text(gpus: list) -> str:
    # Older headers hold "name, driver" strings, newer ones {"name", "driver"}.
    return ", ".join(f"{g['name']} (driver {g['driver']})" if isinstance(g, dict) else str(g) for g in gpus) or "none"


def environment_rows(header: dict) -> list[tuple[str, str]]:
    """`header`: the run's Header as plain data."""
    """What a reader needs to reproduce the run: versions, the onnxruntime build, the machine, the suite commit, the command."""
    rows = [(name, version or "not installed") for name, version in (header.get("versions") or {}).items()]
    rows.append(("onnxruntime build", "; ".join(dict.fromkeys(_onnxruntime_build(run) for run in header.get("merged_from") or [header]))))
    numerics = header.get("numerics_env") or {}
    if numerics:
        rows.append(("numerics variables", ", ".join(f"{k}={v}" for k, v in numerics.items())))
    plat = header.get("platform") or {}
    rows += [
        ("OS", plat.get("system", "")),
        ("CPU", f"{plat.get('cpu', '')} ({plat.get('cpu_count', '?')} cores)"),
        ("GPU", _gpu_text(plat.get("gpus") or [])),
    ]
    exported = header.get("corpus_exported")
    if exported:  # a corpus run: the models came from another machine, whose versions decide the exports
        made = exported.get("versions") or {}
        rows.append(("models exported with", ", ".join(f"{name} {made.get(name)}" for name in ("torch", "onnx", "onnxscript") if made.get(name))
                     + f" (corpus made {exported.get('started', '?')})"))
    commit = header.get("git_commit")
    rows.append(("suite commit", (commit + (" with local changes" if header.get("git_dirty") else "")) if commit else "unknown"))
    rows.append(("command", header.get("command", "")))
    return rows


def repro_command(record: Result) -> str | None:
    """The command that re-runs a failure (expected or not) through the suite; the report sits beside results.jsonl."""
    if not is_failure(record):
        return None
    return REPRO_COMMAND.format(key=shlex.quote(record.key))


def _sci(value) -> str:
    return "–" if value is None else f"{value:.2e}"


def _shape(shape) -> str:
    return "–" if shape is None else "×".join(map(str, shape))


def _compact_json(value) -> str:
    return json.dumps(value, separators=(", ", ": "), sort_keys=True)


def _timings(record: Result) -> str:
    t = record.timings
    export = f"{t['export_s']:.2f}" + (" (c)" if t.get("export_cached") else "") if isinstance(t.get("export_s"), (int, float)) else "–"
    return " / ".join([export, *(f"{t[k]:.3f}" if isinstance(t.get(k), (int, float)) else "–" for k in ("load_s", "run_s"))])


def _details(record: Result) -> dict:
    """What a result's details show, as display-ready strings: detail lines, per-output statistics, the error, the exporter's output;
    `details`: whether there is any."""
    lines = []
    if record.expectation:
        claim = "expected because" if record.status in (Status.XFAIL, Status.XPASS) else f"claimed by {record.expectation.id}, which does not explain it"
        lines.append([claim, record.expectation.reason])
    if record.eager_cuda_max_abs:
        lines.append(["torch eager on CUDA vs on CPU, max abs", ", ".join(f"{n} {_sci(v)}" for n, v in record.eager_cuda_max_abs.items())])
    elif record.eager_cuda_error:
        lines.append(["torch eager on CUDA failed", record.eager_cuda_error])
    if record.localisation:
        lines.append(["first diverging node", record.localisation.describe().removeprefix("first diverging node: ")])
    if record.runtime_options:
        lines.append(["runtime options", _compact_json(record.runtime_options)])
    if record.providers:
        lines.append(["providers", ", ".join(record.providers)])
    if record.placement:
        lines.append(["node placement", _compact_json(record.placement)])
    export = record.export
    if export:
        lines.append(["export", f"opset {export.opset}, {'cached' if export.cached else 'fresh'}, ops {_compact_json(export.ops)}"])
    outputs = None
    if record.outputs:
        outputs = [
            [name, _shape(o.expected_shape), _shape(o.actual_shape), o.expected_dtype or "–", o.actual_dtype or "–",
             "fp64 oracle" if o.yardstick == "oracle" else "torch eager",
             f"{o.tolerance.rtol:g} / {o.tolerance.atol:g}" if o.tolerance else "–",
             _sci(o.max_abs), _sci(o.max_rel), _sci(o.mismatch_fraction), str(o.nonfinite_mismatches), _sci(o.atol_to_pass),
             _sci(o.oracle_max_abs), _sci(o.eager_oracle_max_abs)]
            for name, o in record.outputs.items()
        ]
    error = [record.error.type, _clip(record.error.text)] if record.error and record.error.text else None
    log = _clip(export.log[-TEXT_LIMIT:]) if export and export.log else None
    return {"details": bool(lines or outputs or error or log), "lines": lines, "outputs": outputs, "error": error, "log": log}


# A results-table row's fields (result_row), embedded in the page column by column (reports/embed.py): those that draw the
# row, and those its details show, which the page decodes after it has drawn the table.
ROW_FIELDS = ["status", "raw_status", "case", "kind", "exporter", "mode", "runtime", "shape", "stage", "message", "expectation", "bars",
              "max_abs", "timings", "export_s", "repro", "details"]
DETAIL_FIELDS = ["lines", "outputs", "error", "log"]


def result_row(record: Result, per_opset: bool = False) -> dict:
    """One row of the results table, drawn by the page's script (as text, never as markup); its details are built when opened."""
    bars = error_bars(record)
    expectation = record.expectation
    explained = record.status in (Status.XFAIL, Status.XPASS)
    return {
        "status": record.status.value, "raw_status": observed(record).value, "case": record.case, "kind": kind_of(record),
        "exporter": record.exporter, "mode": _mode(record, per_opset), "runtime": record.runtime, "shape": _shape(record.run_shape),
        "stage": record.stage, "message": record.message,
        "expectation": [expectation.id, expectation.link, "expected" if explained else "claimed by"] if expectation else None,
        "bars": [[b["name"], _sci(b["value"]), round(b["fraction"], 3), b["ok"]] for b in bars],
        "max_abs": max((b["value"] if math.isfinite(b["value"]) else UNBOUNDED for b in bars), default=None),
        "timings": _timings(record), "export_s": record.timings.get("export_s"),
        "repro": repro_command(record), **_details(record),
    }


def what_works(results: list[Result], per_opset: bool = False) -> dict:
    """Kind (dense / packed apart where a run has packed batches) × exporter × mode rows, one column per runtime.

    A cell counts the results that ran (SKIPPED and NOT_APPLICABLE did not) and those observed passing:
    PASS, and XPASS (passed where a failure was expected); XFAIL is a known failure, not a pass.
    """
    any_packed = any(is_packed(r) for r in results)
    ran = [r for r in results if r.runtime is not None]  # not the not-applicable cases, nor models that could not be built
    runtimes = sorted({r.runtime for r in ran})
    rows: dict[tuple, dict] = {}
    for r in ran:
        kind = kind_of(r)
        batches = ("packed" if is_packed(r) else "dense") if any_packed and not kind.startswith(NODE_PREFIX) else ""
        mode = _mode(r, per_opset)
        row = rows.setdefault((kind_order(kind), batches, r.exporter, mode),
                              {"kind": kind, "label": kind_label(kind), "batches": batches, "exporter": r.exporter, "mode": mode, "cells": {}})
        cell = row["cells"].setdefault(r.runtime, {"ran": 0, "passed": 0, "xfail": 0, "skipped": 0})
        if did_not_run(r):
            cell["skipped"] += 1
        else:
            cell["ran"] += 1
            cell["passed"] += observed_pass(r)
            cell["xfail"] += r.status == Status.XFAIL
    for row in rows.values():
        for cell in row["cells"].values():
            cell["class"] = ("skipped" if not cell["ran"] else "pass" if cell["passed"] == cell["ran"]
                             else "partial" if cell["passed"] else "xfail" if cell["xfail"] == cell["ran"] else "bad")
    return {"runtimes": runtimes, "rows": [rows[key] for key in sorted(rows, key=lambda k: (k[0], k[1], str(k[2]), k[3]))], "packed": any_packed}


def _onnxruntime_build(run: dict) -> str:
    """The build one run imported, by package and version: a GPU build's own CPU EP is what its ort-cpu column ran on."""
    versions = run.get("versions") or {}
    providers = ", ".join(run.get("onnxruntime_providers") or [])
    build = run.get("onnxruntime_build")
    if build == "GPU":
        return f"GPU: onnxruntime-gpu {versions.get('onnxruntime-gpu') or versions.get('onnxruntime')} ({providers}; ort-cpu on its CPU EP)"
    if build == "CPU":
        return f"CPU: onnxruntime {versions.get('onnxruntime')} ({providers})"
    return providers


def build_view(header: Header | None, results: list[Result], diff=None, usage=None) -> dict:
    """Everything the report template shows. `diff`: a conformance.diff.RunDiff to embed; `usage`: the expectations'
    verdict.expectations.usage in this run."""
    applicable = [r for r in results if r.status != Status.NOT_APPLICABLE]
    not_applicable = [r for r in results if r.status == Status.NOT_APPLICABLE]
    per_opset = len({r.opset for r in applicable}) > 1
    columns = sorted({(r.exporter, _mode(r, per_opset), r.runtime) for r in applicable if r.runtime is not None}, key=lambda c: tuple(map(str, c)))
    applicable.sort(key=lambda r: (SEVERITY.get(r.status.value, 99), r.case, str(r.exporter), _mode(r, per_opset), str(r.runtime)))
    cells: dict[tuple, list[Result]] = defaultdict(list)
    case_kinds: dict[str, str] = {}
    rows = []
    # Each result's place in the embedded data: the script draws its row on demand.
    anchors = {r.key: f"r{index}" for index, r in enumerate(applicable)}
    for r in applicable:
        case_kinds.setdefault(r.case, kind_of(r))
        cells[(r.case, r.exporter, _mode(r, per_opset), r.runtime)].append(r)
        rows.append(result_row(r, per_opset))
    matrix = []
    for kind in sorted(set(case_kinds.values()), key=kind_order):
        matrix_rows = []
        for case_id in (c for c, k in case_kinds.items() if k == kind):
            row = []
            for column in columns:
                records = cells.get((case_id, *column), [])
                if not records:
                    row.append(None)
                    continue
                status = worst(r.status.value for r in records)
                tip = "; ".join(f"{'x'.join(map(str, r.run_shape or []))}: {r.status.value}" for r in records)
                row.append({"status": status, "records": records, "tip": f"{case_id} {' '.join(column)} — {tip}"})
            matrix_rows.append((case_id, row))
        matrix.append({"kind": kind, "label": kind_label(kind), "rows": matrix_rows})
    counts = Counter(r.status.value for r in results)
    expectations = {}
    for r in results:
        if r.expectation:
            entry = expectations.setdefault(r.expectation.id, {**msgspec.to_builtins(r.expectation), "XFAIL": 0, "XPASS": 0, "other": 0})
            entry[r.status.value if r.status in (Status.XFAIL, Status.XPASS) else "other"] += 1
    clusters = failure_clusters(applicable)
    plain = msgspec.to_builtins(header) if header else {}
    return {
        "header": plain,
        "environment": environment_rows(plain),
        "shard": header.options.shard if header else None,
        "merged_from": plain.get("merged_from") or [],
        "diff": diff,
        "unused_expectations": stale(usage or []),
        "out_of_scope_expectations": [u for u in usage or [] if u.state == "out of scope"],
        "repro_commands": {r.key: row["repro"] for r, row in zip(applicable, rows) if row["repro"]},
        "anchors": anchors,
        "cluster_groups": [
            ("Unexpected failures", [c for c in clusters if not c.expected]),
            ("Expected failures (XFAIL: known upstream issues)", [c for c in clusters if c.expected]),
        ],
        "histograms": error_histograms(applicable),
        "eager_cuda_label": EAGER_CUDA_LABEL,
        "what_works": what_works(results, per_opset),
        "total": len(results),
        "counts": [(s.value, counts[s.value]) for s in DISPLAY_ORDER if counts[s.value]],
        "unexpected": sum(not is_ok(r) for r in results),
        "columns": columns,
        "matrix": matrix,
        "encoding": embed.ENCODING,
        "data": {"severity": SEVERITY, "css": STATUS_CLASS, "ok": sorted(s.value for s in OK_STATUSES), **embed.table(rows, ROW_FIELDS)},
        "details_data": embed.table(rows, DETAIL_FIELDS),
        "not_applicable": not_applicable,
        "expectations": list(expectations.values()),
        "kinds": [(g["kind"], g["label"]) for g in matrix],
        "exporters": sorted({str(c[0]) for c in columns}),
        "runtimes": sorted({str(c[2]) for c in columns}),
        "statuses": [s.value for s in DISPLAY_ORDER if counts[s.value]],
    }


def _environment() -> Environment:
    env = Environment(
        loader=FileSystemLoader(Path(__file__).with_name("templates")),
        autoescape=select_autoescape(["html", "j2"], default=True),
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters["css"] = lambda status: STATUS_CLASS.get(status, "bad")
    env.filters["short"] = lambda status: SHORT.get(status, status)
    env.filters["sci"] = _sci
    env.filters["shape"] = _shape
    # The results the page's script reads: columns, dictionary-encoded, gzip, base64 (reports/embed.py).
    env.filters["packed"] = embed.pack
    return env


def render_html(header: Header | None, results: list[Result], diff=None, usage=None) -> str:
    return _environment().get_template("report.html.j2").render(**build_view(header, results, diff, usage))


def render_report(header: Header | None, results: list[Result], path: str | Path, *, diff=None, usage=None) -> Path:
    path = Path(path)
    path.write_text(render_html(header, results, diff, usage), encoding="utf-8")
    return path


def render_diff(diff, path: str | Path) -> Path:
    """A conformance.diff.RunDiff as a page of its own."""
    path = Path(path)
    path.write_text(_environment().get_template("diff.html.j2").render(diff=diff), encoding="utf-8")
    return path


def render_trend(runs: list[tuple[str, Header, list[Result]]], path: str | Path) -> list[dict]:
    """runs: (label, header, results), oldest first; returns the failure changes between them (the page's transitions)."""
    view = trend_view(runs)
    Path(path).write_text(_environment().get_template("trend.html.j2").render(**view), encoding="utf-8")
    return view["transitions"]
