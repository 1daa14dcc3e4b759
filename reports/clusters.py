"""Failure clusters: results failing the same way, so one exporter bug behind 40 results reads as one line.

A signature is the stage, the exception type (or the status, for comparison failures) and the message
with what varies between cases taken out: numbers, hex, paths, node names. Each cluster says which
result fields are constant across it (the axes that select it) and which vary.
"""
from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass, field

from cases.modes import mode_label
from reports.kinds import is_packed, kind_of
from verdict.records import Result
from verdict.status import Status, is_failure, observed

# Messages often go on with per-case context (the traced values, the graph); the head names the bug.
SIGNATURE_CHARS = 160
NORMALISERS = [
    (re.compile(r"0x[0-9a-fA-F]+"), "<hex>"),
    (re.compile(r"(?<![\w/.])(?:/[\w.+-]+){2,}(?::\d+)?"), "<path>"),  # not inside a URL: its host follows "//"
    (re.compile(r"Name:'[^']*'"), "Name:'<node>'"),
    (re.compile(r"\bnode[_ ]name: [\w./-]+"), "node name: <node>"),
    (re.compile(r"\bnode_\w+"), "<node>"),
    (re.compile(r"-?\d+(?:\.\d+)?(?:e[-+]?\d+)?"), "N"),
    (re.compile(r"N(?:\s*[,x×]\s*N)+"), "N…"),
]


def normalise(message: str) -> str:
    for pattern, replacement in NORMALISERS:
        message = pattern.sub(replacement, message)
    return " ".join(message.split())[:SIGNATURE_CHARS]


def signature(record: Result) -> tuple[str, str, str]:
    kind = record.error.type if record.error else observed(record).value
    return record.stage, kind, normalise((record.error.message if record.error else "") or record.message)


def coordinates(record: Result) -> dict[str, object]:
    """The fields a cluster is described by: the case parameters and where the result ran."""
    shape = record.run_shape
    export_shape = [record.params.get(k) for k in ("seq_len", "batch")]
    return {
        "exporter": record.exporter,
        "mode": mode_label(record.dynamic),
        "runtime": record.runtime,
        "run shape": "x".join(map(str, shape)) if shape else None,
        "at export shape": shape is not None and list(shape[:2]) == export_shape,
        **record.params,
        "kind": kind_of(record),  # derived where older records and node cases lack it
        "packed": is_packed(record),
    }


@dataclass
class Cluster:
    stage: str
    kind: str
    pattern: str
    expected: bool
    records: list[Result] = field(default_factory=list)
    constant: list[str] = field(default_factory=list)  # "proj_size=3": the axes that select this cluster
    varying: list[str] = field(default_factory=list)  # "num_layers: 1, 2": the axes it spans
    links: list[dict] = field(default_factory=list)  # the expectations (with upstream links) that claimed it

    @property
    def localisation(self):
        """The first diverging node of the cluster, from whichever of its results the run localised."""
        return next((r.localisation for r in self.records if r.localisation is not None), None)

    @property
    def count(self) -> int:
        return len(self.records)

    @property
    def statuses(self) -> str:
        return ", ".join(f"{s} {n}" for s, n in Counter(observed(r).value for r in self.records).most_common())


def _describe_axes(cluster: Cluster, run_values: dict[str, set]) -> None:
    values: dict[str, list] = {}
    for record in cluster.records:
        for name, value in coordinates(record).items():
            values.setdefault(name, [])
            if value not in values[name]:
                values[name].append(value)
    for name, seen in values.items():
        if len(run_values[name]) < 2:
            continue  # the same in every result of the run: it tells this cluster apart from nothing
        if len(seen) == 1:
            cluster.constant.append(f"{name}={seen[0]}")
        else:
            cluster.varying.append(f"{name}: {', '.join(map(str, sorted(seen, key=str)))}")


def failure_clusters(results: list[Result]) -> list[Cluster]:
    """Unexpected failures first, then expected ones (XFAIL); each group by size, largest first."""
    failures = [r for r in results if is_failure(r)]
    clusters: dict[tuple, Cluster] = {}
    for record in failures:
        expected = record.status == Status.XFAIL
        key = (expected, *signature(record))
        cluster = clusters.setdefault(key, Cluster(*key[1:], expected=expected))
        cluster.records.append(record)
    run_values: dict[str, set] = {}
    for record in results:
        if record.status != Status.NOT_APPLICABLE:
            for name, value in coordinates(record).items():
                run_values.setdefault(name, set()).add(value)
    for cluster in clusters.values():
        _describe_axes(cluster, run_values)
        expectations = {r.expectation.id: r.expectation for r in cluster.records if r.expectation}
        cluster.links = list(expectations.values())
    return sorted(clusters.values(), key=lambda c: (c.expected, -c.count, c.stage, c.kind, c.pattern))
