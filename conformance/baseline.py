"""A slim copy of a run to keep in the repository as the baseline of `diff` and `run --baseline`.

It keeps what a diff reads (keys, coordinates, statuses, a clipped message, the error type, the
expectation applied, each output's max abs error, the header) and drops the bulk: tracebacks,
exporter logs, case parameters, per-output statistics, timings.
"""
from __future__ import annotations

import json
from pathlib import Path

from conformance.errors import UsageError
from conformance.results import load_run

KEPT_FIELDS = ("record", "key", "case", "exporter", "dynamic", "runtime", "run_shape", "status", "raw_status", "stage")
MESSAGE_LIMIT = 200


def slim(record: dict) -> dict:
    kept = {k: record[k] for k in KEPT_FIELDS if k in record}
    kept["message"] = (record.get("message") or "")[:MESSAGE_LIMIT]
    if record.get("error"):
        kept["error"] = {"type": record["error"].get("type")}
    if record.get("expectation"):
        kept["expectation"] = {"id": record["expectation"].get("id")}
    if record.get("outputs"):
        kept["outputs"] = {name: {"max_abs": stats.get("max_abs")} for name, stats in record["outputs"].items()}
    return kept


def write_baseline(header: dict | None, results: list[dict], path: str | Path) -> Path:
    path = Path(path)
    lines = ([header] if header else []) + [slim(r) for r in results]
    path.write_text("".join(json.dumps(line) + "\n" for line in lines), encoding="utf-8")
    return path


def register(subparsers) -> None:
    parser = subparsers.add_parser("baseline", help="write a slim copy of a run for diffs (e.g. baselines/default.jsonl)")
    parser.set_defaults(handler=_baseline)
    parser.add_argument("run", help="results file or run directory")
    parser.add_argument("-o", "--output", required=True, metavar="BASELINE.jsonl", help="where to write the slim results file")


def _baseline(args) -> int:
    header, results = load_run(args.run)
    try:
        path = write_baseline(header, results, args.output)
    except OSError as exc:
        raise UsageError(f"cannot write {args.output}: {exc.strerror}") from None
    print(f"baseline: {path} ({len(results)} results, {path.stat().st_size // 1024} KiB)")
    return 0
