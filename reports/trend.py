"""Pass rate per runtime and per exporter over a series of runs, oldest first, and the failures that
appeared or disappeared from one run to the next, beside the package versions that changed.

The pass rate counts what the product did, not what was expected of it: observed passes (verdict.status)
over the results that ran.
"""
from __future__ import annotations

from collections import Counter

from reports.charts import line_chart
from verdict.errors import UsageError
from verdict.records import Header, Result, load_run
from verdict.status import did_not_run, observed, observed_pass


def pass_rates(results: list[Result], field: str) -> dict[str, tuple[int, int]]:
    """field value (runtime, exporter or opset) -> (passed, ran)."""
    ran: Counter = Counter()
    passed: Counter = Counter()
    for record in results:
        if did_not_run(record):
            continue
        value = getattr(record, field) if field != "opset" else f"opset {record.opset}"
        ran[value] += 1
        passed[value] += observed_pass(record)
    return {value: (passed[value], ran[value]) for value in sorted(ran, key=str)}


def failure_changes(runs: list[tuple[str, Header, list[Result]]]) -> list[dict]:
    """Per run after the first: the results (by key, in both runs) that began failing where they had
    passed (appeared) or passed where they had failed (disappeared), observed statuses, and the
    versions that changed since the run before, so a failure reads next to the release that brought it.
    """
    transitions = []
    for (_, before_header, before_results), (label, header, results) in zip(runs, runs[1:]):
        before = {r.key: r for r in before_results if not did_not_run(r)}
        appeared, disappeared = [], []
        for record in results:
            old = before.get(record.key)
            if old is None or did_not_run(record):
                continue
            was_passing, passing = observed_pass(old), observed_pass(record)
            if was_passing != passing:
                # The expectation a failure had: what a disappearance retires, or what an appearance was known as.
                known = (record if was_passing else old).expectation
                (appeared if was_passing else disappeared).append(
                    {"key": record.key, "before": observed(old).value, "after": observed(record).value, "expectation": known.id if known else None})
        old_versions, new_versions = before_header.versions, header.versions
        transitions.append({
            "label": label,
            "started": header.started,
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


def trend_view(runs: list[tuple[str, Header, list[Result]]]) -> dict:
    """runs: (label, header, results), already in time order."""
    labels = [(header.started or "?")[:16].replace("T", " ") for _, header, _ in runs]
    by_runtime = [pass_rates(results, "runtime") for _, _, results in runs]
    by_exporter = [pass_rates(results, "exporter") for _, _, results in runs]
    by_opset = [pass_rates(results, "opset") for _, _, results in runs]
    per_opset = len({name for rates in by_opset for name in rates}) > 1  # one chart more where runs swept opsets
    rows = []
    for (label, header, results), runtime_rates, exporter_rates, opset_rates in zip(runs, by_runtime, by_exporter, by_opset):
        versions = header.versions
        rows.append({
            "label": label,
            "started": header.started,
            "versions": ", ".join(f"{n} {versions[n]}" for n in ("torch", "onnx", "onnxruntime", "onnxscript") if versions.get(n)),
            "commit": (header.git_commit or "")[:12],
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


def load_runs_in_time_order(paths: list[str]) -> list[tuple[str, Header, list[Result]]]:
    """(label, header, results) per run, ordered by the header's start time (ties keep the given order)."""
    runs = []
    for path in paths:
        header, results = load_run(path)
        if header is None or not header.started:
            raise UsageError(f"{path} has no run header with a start time; a trend needs to know when each run happened")
        runs.append((path, header, results))
    return sorted(runs, key=lambda run: run[1].started)


def write_trend(paths: list[str], output: str) -> tuple[list, list[dict]]:
    """The trend page of the runs at `paths`; (runs in time order, the failure changes between them)."""
    from reports.render import render_trend

    runs = load_runs_in_time_order(paths)
    try:
        changes = render_trend(runs, output)
    except OSError as exc:
        raise UsageError(f"cannot write {output}: {exc.strerror}") from None
    return runs, changes
