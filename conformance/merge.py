"""Join runs into one: the shards of a CI matrix, or a CPU machine's run and a GPU machine's run.

Runs merge when they tested the same thing: same suite commit, same torch / onnx / onnxscript, same
opset. Runtimes (and their versions, providers, machines) may differ: that is the point of merging.
"""
from __future__ import annotations

import sys
from pathlib import Path

from cases.status import Status
from conformance.diff import environment_of
from conformance.plan import parse_shard
from conformance.results import ResultsWriter, command_line
from conformance.errors import UsageError
from conformance.results import load_run

MUST_MATCH = ("git_commit", "versions.torch", "versions.onnx", "versions.onnxscript", "options.opsets")
# What each merged run contributes to the merged header, so the report can say where results came from.
SOURCE_FIELDS = ("started", "command", "versions", "onnxruntime_build", "onnxruntime_providers", "platform", "git_commit")


def producer_of(header: dict) -> dict:
    """The header that describes how a run's models were made: a corpus run's models were exported
    elsewhere (by export-corpus, whose header it carries), often on a machine with torch where this one has none."""
    return header.get("corpus_exported") or header if header.get("source") == "corpus" else header


def check_compatible(runs: list[tuple[str, dict]]) -> None:
    """One-line UsageError naming the first field that differs between the runs' headers."""
    (first_label, first), *others = runs
    reference = environment_of(producer_of(first))
    for label, header in others:
        env = environment_of(producer_of(header))
        for name in MUST_MATCH:
            if env.get(name) != reference.get(name):
                raise UsageError(
                    f"cannot merge {label} into {first_label}: {name} differs ({env.get(name)} vs {reference.get(name)}); "
                    "--allow-mismatch merges anyway"
                )


def merge_results(runs: list[tuple[str, list[dict]]]) -> list[dict]:
    """All results once. A key seen twice is an error, except identical NOT_APPLICABLE records: those
    describe the case, not the machine, so every unsharded run has them."""
    merged: dict[str, tuple[str, dict]] = {}
    for label, results in runs:
        for record in results:
            seen = merged.get(record["key"])
            if seen is None:
                merged[record["key"]] = (label, record)
            elif not (record["status"] == seen[1]["status"] == Status.NOT_APPLICABLE.value and record["message"] == seen[1]["message"]):
                raise UsageError(
                    f"result {record['key']} is in both {seen[0]} and {label}; merge runs of disjoint shards or runtimes"
                )
    return [record for _, record in merged.values()]


def merged_header(runs: list[tuple[str, dict]]) -> dict:
    """The first run's header with this command, the earliest start, the union of runtimes and every source listed."""
    headers = [header for _, header in runs]
    options = dict(headers[0].get("options") or {})
    options["shard"] = None
    options["runtimes"] = list(dict.fromkeys(r for h in headers for r in (h.get("options") or {}).get("runtimes", [])))
    return {
        **headers[0],
        "command": command_line(),
        "started": min(h.get("started", "") for h in headers),
        "options": options,
        "merged_from": [
            {"path": label, "shard": (h.get("options") or {}).get("shard"), **{k: h.get(k) for k in SOURCE_FIELDS}}
            for label, h in runs
        ],
    }


def missing_shards(headers: list[dict]) -> list[str]:
    """Shards K/N absent from the inputs, when the inputs are shards of one N-way split."""
    shards = [parse_shard(s) for s in ((h.get("options") or {}).get("shard") for h in headers) if s]
    counts = {n for _, n in shards}
    if len(counts) != 1:
        return []
    count = counts.pop()
    present = {k for k, _ in shards}
    return [f"{k}/{count}" for k in range(1, count + 1) if k not in present]


def register(subparsers) -> None:
    parser = subparsers.add_parser("merge", help="join shards (or runs of different machines) into one results file and report")
    parser.set_defaults(handler=_merge)
    parser.add_argument("runs", nargs="+", help="results files or run directories")
    parser.add_argument("-o", "--out", required=True, help="run directory for the merged results.jsonl and report.html")
    parser.add_argument("--allow-mismatch", action="store_true",
                        help="merge even when suite commit, torch/onnx/onnxscript versions or opset differ")
    parser.add_argument("--overwrite", action="store_true", help="replace results already in --out")


def _merge(args) -> int:
    from conformance.runner import finish

    loaded = [(label, *load_run(label)) for label in args.runs]
    headerless = [label for label, header, _ in loaded if header is None]
    if headerless:
        raise UsageError(f"{headerless[0]} has no run header; only results of 'run' can be merged")
    headers = [(label, header) for label, header, _ in loaded]
    if not args.allow_mismatch:
        check_compatible(headers)
    results = merge_results([(label, results) for label, _, results in loaded])
    missing = missing_shards([header for _, header in headers])
    if missing:
        print(f"note: shard(s) {', '.join(missing)} not among the inputs", file=sys.stderr)
    out = Path(args.out)
    results_path = out / "results.jsonl"
    if results_path.exists() and not args.overwrite:
        raise UsageError(f"{out} already holds results; use --overwrite to replace them")
    try:
        out.mkdir(parents=True, exist_ok=True)
        with ResultsWriter(results_path, merged_header(headers)) as writer:
            for record in results:
                writer.write(record)
    except OSError as exc:
        raise UsageError(f"cannot write {results_path}: {exc.strerror}") from None
    summary = finish(results_path, out / "report.html")
    print(f"merged {len(results)} results from {len(loaded)} runs\nresults: {summary.results_path}\nreport:  {summary.report_path}")
    return summary.exit_code
