"""Pass rate per runtime and per exporter over a series of runs, oldest first.

The pass rate counts what the product did, not what was expected of it: observed PASS (raw status,
so an XPASS counts and an XFAIL does not) over the results that ran (SKIPPED and NOT_APPLICABLE did not).
"""
from __future__ import annotations

from collections import Counter

from cases.status import Status
from reports.charts import line_chart

NOT_RUN = (Status.SKIPPED.value, Status.NOT_APPLICABLE.value)


def pass_rates(results: list[dict], field: str) -> dict[str, tuple[int, int]]:
    """field value -> (passed, ran)."""
    ran: Counter = Counter()
    passed: Counter = Counter()
    for record in results:
        if record["status"] in NOT_RUN:
            continue
        ran[record[field]] += 1
        passed[record[field]] += record.get("raw_status", record["status"]) == Status.PASS.value
    return {value: (passed[value], ran[value]) for value in sorted(ran, key=str)}


def _series(runs_rates: list[dict[str, tuple[int, int]]]) -> dict[str, list[float | None]]:
    names = sorted({name for rates in runs_rates for name in rates}, key=str)
    return {
        str(name): [rates[name][0] / rates[name][1] if name in rates else None for rates in runs_rates]
        for name in names
    }


def trend_view(runs: list[tuple[str, dict, list[dict]]]) -> dict:
    """runs: (label, header, results), already in time order."""
    labels = [(header.get("started") or "?")[:16].replace("T", " ") for _, header, _ in runs]
    by_runtime = [pass_rates(results, "runtime") for _, _, results in runs]
    by_exporter = [pass_rates(results, "exporter") for _, _, results in runs]
    rows = []
    for (label, header, results), runtime_rates, exporter_rates in zip(runs, by_runtime, by_exporter):
        versions = header.get("versions") or {}
        rows.append({
            "label": label,
            "started": header.get("started", "?"),
            "versions": ", ".join(f"{n} {versions[n]}" for n in ("torch", "onnx", "onnxruntime", "onnxscript") if versions.get(n)),
            "commit": (header.get("git_commit") or "")[:12],
            "rates": {**runtime_rates, **exporter_rates},
            "total": len(results),
        })
    return {
        "runs": rows,
        "columns": sorted({name for rates in by_runtime for name in rates}, key=str)
        + sorted({name for rates in by_exporter for name in rates}, key=str),
        "charts": [
            ("Pass rate per runtime", line_chart(labels, _series(by_runtime))),
            ("Pass rate per exporter", line_chart(labels, _series(by_exporter))),
        ],
    }
