"""Pure rendering: everything shown comes from the header and the result records."""
from __future__ import annotations

from collections import Counter, defaultdict
from pathlib import Path

from jinja2 import Environment, FileSystemLoader, select_autoescape

from cases.status import DISPLAY_ORDER, OK_STATUSES, Status
from reports.charts import EAGER_CUDA_LABEL, error_bars, error_histograms
from reports.clusters import failure_clusters
from reports.trend import trend_view

TEXT_LIMIT = 4000
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


def _mode(record: dict) -> str:
    return "dynamic" if record.get("dynamic") else "static"


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


def build_view(header: dict | None, results: list[dict], diff=None, repros: dict[str, str] | None = None) -> dict:
    """Everything the report template shows. `diff`: a conformance.diff.RunDiff to embed; `repros`: key -> script link."""
    applicable = [r for r in results if r["status"] != Status.NOT_APPLICABLE.value]
    not_applicable = [r for r in results if r["status"] == Status.NOT_APPLICABLE.value]
    columns = sorted({(r["exporter"], _mode(r), r["runtime"]) for r in applicable})
    case_ids = list(dict.fromkeys(r["case"] for r in applicable))
    cells: dict[tuple, list[dict]] = defaultdict(list)
    for index, r in enumerate(applicable):
        r["_anchor"] = f"r{index}"
        cells[(r["case"], r["exporter"], _mode(r), r["runtime"])].append(r)
    matrix = []
    for case_id in case_ids:
        row = []
        for column in columns:
            records = cells.get((case_id, *column), [])
            if not records:
                row.append(None)
                continue
            status = worst(r["status"] for r in records)
            tip = "; ".join(f"{'x'.join(map(str, r['run_shape']))}: {r['status']}" for r in records)
            row.append({"status": status, "records": records, "tip": f"{case_id} {' '.join(column)} — {tip}"})
        matrix.append((case_id, row))
    counts = Counter(r["status"] for r in results)
    expectations = {}
    for r in results:
        if r.get("expectation"):
            entry = expectations.setdefault(r["expectation"]["id"], {**r["expectation"], "XFAIL": 0, "XPASS": 0})
            entry[r["status"]] = entry.get(r["status"], 0) + 1
    for r in applicable:
        error = r.get("error") or {}
        r["_error_text"] = _clip(error.get("text"))
        r["_log"] = _clip(((r.get("export") or {}).get("log") or "")[-TEXT_LIMIT:])
        r["_severity"] = SEVERITY.get(r["status"], 99)
        r["_bars"] = error_bars(r)
        r["_max_abs"] = max((b["value"] for b in r["_bars"]), default=None)
    clusters = failure_clusters(applicable)
    header = header or {}
    return {
        "header": header,
        "environment": environment_rows(header),
        "shard": (header.get("options") or {}).get("shard"),
        "merged_from": header.get("merged_from") or [],
        "diff": diff,
        "repros": repros or {},
        "anchors": {r["key"]: r["_anchor"] for r in applicable if "key" in r},
        "cluster_groups": [
            ("Unexpected failures", [c for c in clusters if not c.expected]),
            ("Expected failures (XFAIL: known upstream issues)", [c for c in clusters if c.expected]),
        ],
        "histograms": error_histograms(applicable),
        "eager_cuda_label": EAGER_CUDA_LABEL,
        "total": len(results),
        "counts": [(s.value, counts[s.value]) for s in DISPLAY_ORDER if counts[s.value]],
        "unexpected": sum(n for s, n in counts.items() if Status(s) not in OK_STATUSES),
        "columns": columns,
        "matrix": matrix,
        "results": sorted(applicable, key=lambda r: (SEVERITY.get(r["status"], 99), r["case"], r["exporter"], _mode(r), r["runtime"])),
        "not_applicable": not_applicable,
        "expectations": list(expectations.values()),
        "exporters": sorted({c[0] for c in columns}),
        "runtimes": sorted({c[2] for c in columns}),
        "statuses": [s for s, _ in [(s.value, 0) for s in DISPLAY_ORDER] if counts[s]],
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
    env.filters["sci"] = lambda value: "–" if value is None else f"{value:.2e}"
    env.filters["shape"] = lambda shape: "–" if shape is None else "×".join(map(str, shape))
    return env


def render_html(header: dict | None, results: list[dict], diff=None, repros: dict[str, str] | None = None) -> str:
    return _environment().get_template("report.html.j2").render(**build_view(header, results, diff, repros))


def render_report(header: dict | None, results: list[dict], path: str | Path, *, diff=None, repros: dict[str, str] | None = None) -> Path:
    path = Path(path)
    path.write_text(render_html(header, results, diff, repros), encoding="utf-8")
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
