"""Pure rendering: everything shown comes from the header and the result records."""
from __future__ import annotations

import json
import math
import shlex
from collections import Counter, defaultdict
from pathlib import Path

from jinja2 import Environment, FileSystemLoader, select_autoescape

from cases.modes import mode_label
from cases.status import DISPLAY_ORDER, FAILURE_STATUSES, OK_STATUSES, Status
from reports.charts import EAGER_CUDA_LABEL, error_bars, error_histograms
from reports.clusters import failure_clusters
from reports.kinds import NODE_PREFIX, is_packed, kind_label, kind_of, kind_order
from reports.trend import trend_view

TEXT_LIMIT = 4000
FAILURES = {s.value for s in FAILURE_STATUSES}
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
}
SHORT = {
    "PASS": "pass", "XFAIL": "xfail", "XPASS": "XPASS", "SKIPPED": "skip", "NOT_APPLICABLE": "n/a",
    "NUMERIC_MISMATCH": "num", "SHAPE_MISMATCH": "shape", "DTYPE_MISMATCH": "dtype",
    "OUTPUT_COUNT_MISMATCH": "count", "EXPORT_ERROR": "export", "INVALID_MODEL": "invalid",
    "LOAD_ERROR": "load", "RUN_ERROR": "run", "CRASH": "CRASH", "TIMEOUT": "TIME", "FALLBACK": "fallbk",
}


def _clip(text: str | None, limit: int = TEXT_LIMIT) -> str:
    text = text or ""
    return text if len(text) <= limit else text[:limit] + f"\n…({len(text) - limit} more characters in results.jsonl)"


def _mode(record: dict, per_opset: bool = False) -> str:
    """The shape mode, with the opset where a run swept several: then each opset is a column of its own."""
    label = mode_label(record.get("dynamic"))
    return f"{label} · opset {record.get('opset')}" if per_opset else label


def worst(statuses) -> str:
    return min(statuses, key=lambda s: SEVERITY.get(s, -1))


def _gpu_text(gpus: list) -> str:
    # Older headers hold "name, driver" strings, newer ones {"name", "driver"}.
    return ", ".join(f"{g['name']} (driver {g['driver']})" if isinstance(g, dict) else str(g) for g in gpus) or "none"


def environment_rows(header: dict) -> list[tuple[str, str]]:
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


def repro_command(record: dict) -> str | None:
    """The command that re-runs a failure (expected or not) through the suite; the report sits beside results.jsonl."""
    if record.get("raw_status", record["status"]) not in FAILURES or not record.get("key"):
        return None
    return REPRO_COMMAND.format(key=shlex.quote(record["key"]))


def _sci(value) -> str:
    return "–" if value is None else f"{value:.2e}"


def _shape(shape) -> str:
    return "–" if shape is None else "×".join(map(str, shape))


def _compact_json(value) -> str:
    return json.dumps(value, separators=(", ", ": "), sort_keys=True)


class _Texts:
    """Long texts stored once in the embedded data: one export's log is shared by every runtime and run shape that used it."""

    def __init__(self) -> None:
        self.texts: list[str] = []
        self._index: dict[str, int] = {}

    def add(self, text: str) -> int:
        if text not in self._index:
            self._index[text] = len(self.texts)
            self.texts.append(text)
        return self._index[text]


def _timings(record: dict) -> str:
    t = record.get("timings") or {}
    export = f"{t['export_s']:.2f}" + (" (c)" if t.get("export_cached") else "") if isinstance(t.get("export_s"), (int, float)) else "–"
    return " / ".join([export, *(f"{t[k]:.3f}" if isinstance(t.get(k), (int, float)) else "–" for k in ("load_s", "run_s"))])


def _details(record: dict, texts: _Texts) -> dict:
    """What a result's details show, as display-ready strings."""
    lines = []
    if record.get("expectation"):
        lines.append(["expected because", record["expectation"].get("reason") or ""])
    outputs = record.get("outputs") or {}
    oracle = record.get("oracle_max_abs") or {}
    tolerance = record.get("tolerance") or {}
    if outputs and tolerance:
        lines.append(["tolerance", f"rtol {tolerance.get('rtol')}, atol {tolerance.get('atol')}"])
    if record.get("eager_cuda_max_abs"):
        lines.append(["torch eager on CUDA vs on CPU, max abs", ", ".join(f"{n} {_sci(v)}" for n, v in record["eager_cuda_max_abs"].items())])
    elif record.get("eager_cuda_error"):
        lines.append(["torch eager on CUDA failed", record["eager_cuda_error"]])
    if record.get("runtime_options"):
        lines.append(["runtime options", _compact_json(record["runtime_options"])])
    if record.get("providers"):
        lines.append(["providers", ", ".join(record["providers"])])
    if record.get("placement"):
        lines.append(["node placement", _compact_json(record["placement"])])
    export = record.get("export") or {}
    if export:
        lines.append(["export", f"opset {export.get('opset')}, {'cached' if export.get('cached') else 'fresh'}, ops {_compact_json(export.get('ops') or {})}"])
    details: dict = {"lines": lines}
    if outputs:
        details["outputs"] = [
            [name, _shape(o.get("expected_shape")), _shape(o.get("actual_shape")), o.get("expected_dtype") or "–", o.get("actual_dtype") or "–",
             _sci(o.get("max_abs")), _sci(o.get("max_rel")), _sci(o.get("mismatch_fraction")), _sci(o.get("atol_to_pass")), _sci(oracle.get(name))]
            for name, o in outputs.items() if o
        ]
    error = record.get("error") or {}
    if error.get("text"):
        details["error"] = [error.get("type") or "", texts.add(_clip(error["text"]))]
    if export.get("log"):
        details["log"] = texts.add(_clip(export["log"][-TEXT_LIMIT:]))
    return details


def result_row(record: dict, texts: _Texts, per_opset: bool = False) -> dict:
    """One row of the results table, drawn by the page's script (as text, never as markup); its details are built when opened."""
    bars = error_bars(record)
    expectation = record.get("expectation") or {}
    timings = record.get("timings") or {}
    return {
        "status": record["status"], "raw_status": record.get("raw_status", record["status"]), "case": record["case"], "kind": kind_of(record),
        "exporter": record["exporter"], "mode": _mode(record, per_opset), "runtime": record["runtime"], "shape": _shape(record.get("run_shape")),
        "stage": record.get("stage") or "", "message": record.get("message") or "",
        "expectation": [expectation.get("id") or "", expectation.get("link") or ""] if expectation else None,
        "bars": [[b["name"], _sci(b["value"]), round(b["fraction"], 3), b["ok"]] for b in bars],
        "max_abs": max((b["value"] if math.isfinite(b["value"]) else UNBOUNDED for b in bars), default=None),
        "timings": _timings(record), "export_s": timings.get("export_s"),
        "repro": repro_command(record), "details": _details(record, texts),
    }


def what_works(results: list[dict], per_opset: bool = False) -> dict:
    """Kind (dense / packed apart where a run has packed batches) × exporter × mode rows, one column per runtime.

    A cell counts the results that ran (SKIPPED and NOT_APPLICABLE did not) and those observed passing:
    PASS, and XPASS (passed where a failure was expected); XFAIL is a known failure, not a pass.
    """
    any_packed = any(is_packed(r) for r in results)
    runtimes = sorted({r["runtime"] for r in results if r["status"] != Status.NOT_APPLICABLE.value})
    rows: dict[tuple, dict] = {}
    for r in results:
        if r["status"] == Status.NOT_APPLICABLE.value:
            continue
        kind = kind_of(r)
        batches = ("packed" if is_packed(r) else "dense") if any_packed and not kind.startswith(NODE_PREFIX) else ""
        mode = _mode(r, per_opset)
        row = rows.setdefault((kind_order(kind), batches, r["exporter"], mode),
                              {"kind": kind, "label": kind_label(kind), "batches": batches, "exporter": r["exporter"], "mode": mode, "cells": {}})
        cell = row["cells"].setdefault(r["runtime"], {"ran": 0, "passed": 0, "xfail": 0, "skipped": 0})
        if r["status"] != Status.SKIPPED.value:
            cell["ran"] += 1
            cell["passed"] += r.get("raw_status", r["status"]) == Status.PASS.value
            cell["xfail"] += r["status"] == Status.XFAIL.value
        else:
            cell["skipped"] += 1
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


def build_view(header: dict | None, results: list[dict], diff=None) -> dict:
    """Everything the report template shows. `diff`: a conformance.diff.RunDiff to embed."""
    applicable = [r for r in results if r["status"] != Status.NOT_APPLICABLE.value]
    not_applicable = [r for r in results if r["status"] == Status.NOT_APPLICABLE.value]
    per_opset = len({r.get("opset") for r in applicable}) > 1
    columns = sorted({(r["exporter"], _mode(r, per_opset), r["runtime"]) for r in applicable})
    applicable.sort(key=lambda r: (SEVERITY.get(r["status"], 99), r["case"], r["exporter"], _mode(r, per_opset), r["runtime"]))
    cells: dict[tuple, list[dict]] = defaultdict(list)
    case_kinds: dict[str, str] = {}
    texts = _Texts()
    rows = []
    for index, r in enumerate(applicable):
        r["_anchor"] = f"r{index}"  # the row's place in the embedded data: the script draws it on demand
        case_kinds.setdefault(r["case"], kind_of(r))
        cells[(r["case"], r["exporter"], _mode(r, per_opset), r["runtime"])].append(r)
        rows.append(result_row(r, texts, per_opset))
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
                status = worst(r["status"] for r in records)
                tip = "; ".join(f"{'x'.join(map(str, r['run_shape']))}: {r['status']}" for r in records)
                row.append({"status": status, "records": records, "tip": f"{case_id} {' '.join(column)} — {tip}"})
            matrix_rows.append((case_id, row))
        matrix.append({"kind": kind, "label": kind_label(kind), "rows": matrix_rows})
    counts = Counter(r["status"] for r in results)
    expectations = {}
    for r in results:
        if r.get("expectation"):
            entry = expectations.setdefault(r["expectation"]["id"], {**r["expectation"], "XFAIL": 0, "XPASS": 0})
            entry[r["status"]] = entry.get(r["status"], 0) + 1
    clusters = failure_clusters(applicable)
    header = header or {}
    return {
        "header": header,
        "environment": environment_rows(header),
        "shard": (header.get("options") or {}).get("shard"),
        "merged_from": header.get("merged_from") or [],
        "diff": diff,
        "repro_commands": {r["key"]: row["repro"] for r, row in zip(applicable, rows) if row["repro"] and "key" in r},
        "anchors": {r["key"]: r["_anchor"] for r in applicable if "key" in r},
        "cluster_groups": [
            ("Unexpected failures", [c for c in clusters if not c.expected]),
            ("Expected failures (XFAIL: known upstream issues)", [c for c in clusters if c.expected]),
        ],
        "histograms": error_histograms(applicable),
        "eager_cuda_label": EAGER_CUDA_LABEL,
        "what_works": what_works(results, per_opset),
        "total": len(results),
        "counts": [(s.value, counts[s.value]) for s in DISPLAY_ORDER if counts[s.value]],
        "unexpected": sum(n for s, n in counts.items() if Status(s) not in OK_STATUSES),
        "columns": columns,
        "matrix": matrix,
        "data": {"severity": SEVERITY, "css": STATUS_CLASS, "rows": rows, "texts": texts.texts},
        "not_applicable": not_applicable,
        "expectations": list(expectations.values()),
        "kinds": [(g["kind"], g["label"]) for g in matrix],
        "exporters": sorted({c[0] for c in columns}),
        "runtimes": sorted({c[2] for c in columns}),
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
    # The embedded data goes out as compactly as it can (tojson still escapes <, >, & and ' for the page).
    env.policies["json.dumps_kwargs"] = {"separators": (",", ":")}
    return env


def render_html(header: dict | None, results: list[dict], diff=None) -> str:
    return _environment().get_template("report.html.j2").render(**build_view(header, results, diff))


def render_report(header: dict | None, results: list[dict], path: str | Path, *, diff=None) -> Path:
    path = Path(path)
    path.write_text(render_html(header, results, diff), encoding="utf-8")
    return path


def render_diff(diff, path: str | Path) -> Path:
    """A conformance.diff.RunDiff as a page of its own."""
    path = Path(path)
    path.write_text(_environment().get_template("diff.html.j2").render(diff=diff), encoding="utf-8")
    return path


def render_trend(runs: list[tuple[str, dict, list[dict]]], path: str | Path) -> Path:
    """runs: (label, header, results), oldest first."""
    path = Path(path)
    path.write_text(_environment().get_template("trend.html.j2").render(**trend_view(runs)), encoding="utf-8")
    return path
