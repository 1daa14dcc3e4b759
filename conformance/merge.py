"""Join runs into one: the shards of a CI matrix, or a CPU machine's run and a GPU machine's run.

Runs merge when they tested the same thing: same suite commit and code, same torch / onnx / onnxscript, same
case selection and opsets. Runtimes (and their versions, providers, machines) may differ: that is the point.
Nothing is lost silently: an input that lacks results it planned (a shard cut short), a shard missing from
an N-way split, or a result present twice is refused (exit 2), named.
"""
from __future__ import annotations

from pathlib import Path

import msgspec

from conformance.plan import parse_shard
from conformance.runner import RunSummary, finish
from verdict.environment import command_line
from verdict.errors import UsageError
from verdict.records import SELECTION_OPTIONS, Header, MergedSource, Result, Run, incompleteness, load_run, planned_of, write_run
from verdict.status import Status


def _must_match(header: Header) -> dict[str, object]:
    """What runs must share to be merged, read from the header of the run that made the models."""
    producer = header.producer
    return {
        "git_commit": producer.git_commit,
        "suite_digest": producer.suite_digest,
        **{f"versions.{name}": producer.versions.get(name) for name in ("torch", "onnx", "onnxscript")},
        **{f"options.{name}": getattr(producer.options, name) for name in SELECTION_OPTIONS},
    }


def check_compatible(runs: list[tuple[str, Header]]) -> None:
    """One-line UsageError naming the first field that differs between the runs' headers."""
    (first_label, first), *others = runs
    reference = _must_match(first)
    for label, header in others:
        for name, value in _must_match(header).items():
            if value != reference[name]:
                raise UsageError(f"cannot merge {label} into {first_label}: {name} differs ({value} vs {reference[name]}); "
                                 "--allow-mismatch merges anyway")


def check_complete(runs: list[tuple[str, Run]]) -> None:
    """Every input holds the results it planned, and every shard of an N-way split of the same runtimes is there."""
    for label, (header, results) in runs:
        problem = incompleteness(header, results)
        if problem:
            raise UsageError(f"{label} is incomplete ({problem}): rerun it with 'run --resume', or leave it out")
    splits: dict[tuple, dict[int, str]] = {}
    for label, (header, _) in runs:
        if header.options.shard:
            index, count = parse_shard(header.options.shard)
            present = splits.setdefault((tuple(header.options.runtimes or ()), count), {})
            if index in present:
                raise UsageError(f"{label} and {present[index]} are both shard {index}/{count}")
            present[index] = label
    for (runtimes, count), present in splits.items():
        missing = [f"{k}/{count}" for k in range(1, count + 1) if k not in present]
        if missing:
            raise UsageError(f"shard(s) {', '.join(missing)} of the {count}-way split on {','.join(runtimes)} are not among the inputs")


def merge_results(runs: list[tuple[str, list[Result]]]) -> list[Result]:
    """All results once. A key seen twice is an error, except identical NOT_APPLICABLE records: those
    describe the case, not the machine, so every unsharded run has them."""
    merged: dict[str, tuple[str, Result]] = {}
    for label, results in runs:
        for record in results:
            seen = merged.get(record.key)
            if seen is None:
                merged[record.key] = (label, record)
            elif not (record.status == seen[1].status == Status.NOT_APPLICABLE and record.message == seen[1].message):
                raise UsageError(f"result {record.key} is in both {seen[0]} and {label}; merge runs of disjoint shards or runtimes")
    return [record for _, record in merged.values()]


def merged_header(runs: list[tuple[str, Header]], results: list[Result]) -> Header:
    """The first run's header with this command, the earliest start, the union of runtimes, every source listed,
    and a plan that is exactly the merged results (each input having been checked complete)."""
    headers = [header for _, header in runs]
    options = msgspec.structs.replace(
        headers[0].options, shard=None,
        runtimes=list(dict.fromkeys(r for h in headers for r in h.options.runtimes or ())))
    return msgspec.structs.replace(
        headers[0],
        command=command_line(),
        started=min(h.started for h in headers),
        options=options,
        planned=planned_of(r.key for r in results),
        merged_from=[
            MergedSource(path=label, shard=h.options.shard, started=h.started, command=h.command, versions=h.versions,
                         onnxruntime_build=h.onnxruntime_build, onnxruntime_providers=h.onnxruntime_providers,
                         platform=h.platform, git_commit=h.git_commit)
            for label, h in runs
        ],
    )


def merge_runs(paths: list[str], out: str | Path, *, allow_mismatch: bool = False, overwrite: bool = False) -> RunSummary:
    loaded = [(label, load_run(label)) for label in paths]
    headerless = [label for label, run in loaded if run.header is None]
    if headerless:
        raise UsageError(f"{headerless[0]} has no run header; only results of 'run' or 'run-corpus' can be merged")
    headers = [(label, run.header) for label, run in loaded]
    if not allow_mismatch:
        check_compatible(headers)
    check_complete(loaded)
    results = merge_results([(label, run.results) for label, run in loaded])
    out = Path(out)
    results_path = out / "results.jsonl"
    if results_path.exists() and not overwrite:
        raise UsageError(f"{out} already holds results; use --overwrite to replace them")
    try:
        out.mkdir(parents=True, exist_ok=True)
        write_run(results_path, merged_header(headers, results), results)
    except OSError as exc:
        raise UsageError(f"cannot write {results_path}: {exc.strerror}") from None
    # The inputs' own baseline (run --baseline) is theirs: diff the merged run with 'diff'.
    return finish(results_path, out / "report.html", msgspec.structs.replace(headers[0][1].options, baseline=None))
