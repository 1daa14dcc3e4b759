"""Pass rate per runtime and per exporter over a series of runs, oldest first, and the failures that
appeared or disappeared from one run to the next, beside the package versions that changed.

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
        value = record.get(field) if field != "opset" else f"opset {record.get('opset')}"
        ran[value] += 1
        passed[value] += record.get("raw_status", record["status"]) == Status.PASS.value
    return {value: (passed[value], ran[value]) for value in sorted(ran, key=str)}


def _observed(record: dict) -> str:
    return record.get("raw_status", record["status"])


def failure_changes(runs: list[tuple[str, dict, list[dict]]]) -> list[dict]:
    """Per run after the first: the results (by key, in both runs) that began failing where they had
    passed (appeared) or passed where they had failed (disappeared), observed statuses, and the
    versions that changed since the run before, so a failure reads next to the release that brought it.
    """
    transitions = []
    for (_, before_header, before_results), (label, header, results) in zip(runs, runs[1:]):
        before = {r["key"]: r for r in before_results if r["status"] not in NOT_RUN}
        appeared, disappeared = [], []
        for record in results:
            old = before.get(record["key"])
            if old is None or record["status"] in NOT_RUN:
                continue
            was_passing, passing = _observed(old) == Status.PASS.value, _observed(record) == Status.PASS.value
            if was_passing != passing:
                # The expectation a failure had: what a disappearance retires, or what an appearance was known as.
                known = (record if was_passing else old).get("expectation") or {}
                (appeared if was_passing else disappeared).append(
                    {"key": record["key"], "before": _observed(old), "after": _observed(record), "expectation": known.get("id")})
        old_versions, new_versions = before_header.get("versions") or {}, header.get("versions") or {}
        transitions.append({
            "label": label,
            "started": header.get("started", "?"),
            "versions": [(name, old_versions.get(name), new_versions.get(name)) for name in dict.fromkeys([*old_versions, *new_versions])
                         if old_versions.get(name) != new_versions.get(name)],
            "appeared": appeared,
            "disappeared": disappeared,
            "by_expectation": Counter(change["expectation"] or "(none)" for change in disappeared).most_common(),
        })
    return transitions


def describe_transition(transition: dict) -> str:
    """One line: which run, what versions changed, how many failures appeared and disappeared."""
    versions = ", ".join(f"{name} {old or '–'} → {new or '–'}" for name, old, new in transition["versions"]) or "no version changed"
    return (f"{transition['label']} ({versions}): {len(transition['appeared'])} failures appeared, "
            f"{len(transition['disappeared'])} disappeared")


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
    by_opset = [pass_rates(results, "opset") for _, _, results in runs]
    per_opset = len({name for rates in by_opset for name in rates}) > 1  # one chart more where runs swept opsets
    rows = []
    for (label, header, results), runtime_rates, exporter_rates, opset_rates in zip(runs, by_runtime, by_exporter, by_opset):
        versions = header.get("versions") or {}
        rows.append({
            "label": label,
            "started": header.get("started", "?"),
            "versions": ", ".join(f"{n} {versions[n]}" for n in ("torch", "onnx", "onnxruntime", "onnxscript") if versions.get(n)),
            "commit": (header.get("git_commit") or "")[:12],
            "rates": {**runtime_rates, **exporter_rates, **(opset_rates if per_opset else {})},
            "total": len(results),
        })
    return {
        "runs": rows,
        "transitions": failure_changes(runs),
        "columns": sorted({name for rates in by_runtime for name in rates}, key=str)
        + sorted({name for rates in by_exporter for name in rates}, key=str)
        + (sorted({name for rates in by_opset for name in rates}, key=lambda n: int(n.split()[-1])) if per_opset else []),
        "charts": [
            ("Pass rate per runtime", line_chart(labels, _series(by_runtime))),
            ("Pass rate per exporter", line_chart(labels, _series(by_exporter))),
            *([("Pass rate per opset", line_chart(labels, _series(by_opset)))] if per_opset else []),
        ],
    }
