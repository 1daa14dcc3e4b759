"""repro: run one recorded result again, through the same engine, and say whether it reproduces.

`python -m conformance repro RUN KEY` rebuilds the case from the result's params, exports it with the
recorded exporter, shape mode and opset (no cache), runs it in the recorded runtime with the recorded
settings at the recorded run shape, compares with torch eager and prints both verdicts. It runs in this
process: a runtime that crashes ends the command (the run itself isolates runtimes in workers).
"""
from __future__ import annotations

import sys
import tempfile
from pathlib import Path

from cases.case import Case, InvalidCaseError
from cases.expectations import ExpectationsError, apply_expectations, load_expectations
from conformance.plan import Job
from conformance.errors import UsageError
from conformance.results import load_run, package_versions
from conformance.runner import RunOptions
from conformance.worker import Settings, Worker


def find_result(results: list[dict], key: str) -> dict:
    for record in results:
        if record.get("key") == key:
            return record
    raise UsageError(f"no result with key {key!r} in this run; keys look like 'L1-uni-noproj-sf-bias-h0-fp32|dynamo|dynamic|18|ort-cpu|1x1'")


def job_of(record: dict) -> Job:
    if record.get("exporter") is None:
        raise UsageError(f"{record['key']} is {record['status']}: there is nothing to run")
    try:
        case = Case.from_params(record["params"])
    except (InvalidCaseError, TypeError):
        raise UsageError(f"{record['key']} is not a case of this suite's kinds (a corpus test?): rerun it with run-corpus") from None
    return Job(case, record["exporter"], bool(record["dynamic"]), record["opset"], (record["runtime"],))


def reproduce(run: str | Path, key: str, keep: str | Path | None = None) -> tuple[dict, dict]:
    """(recorded result, the same result now): `keep` is a directory that receives the exported model."""
    header, results = load_run(run)
    recorded = find_result(results, key)
    job = job_of(recorded)
    options = RunOptions.from_dict((header or {}).get("options") or {})
    try:
        expectations = load_expectations(options.expectations)
    except ExpectationsError as exc:
        raise UsageError(str(exc)) from None
    with tempfile.TemporaryDirectory(prefix="lstm-repro-") as scratch:
        settings = Settings(models_dir=str(keep or scratch), keep_models=keep is not None,
                            runtime_options=options.runtime_options, scratch_dir=scratch)
        others = {k for k in job.result_keys() if k != key}
        fresh = [r for r in Worker(settings).execute(job, others, lambda stage, keys: None) if r["key"] == key]
    return recorded, apply_expectations(fresh[0], expectations, package_versions())  # judged by what ran now


def register(subparsers) -> None:
    parser = subparsers.add_parser("repro", help="run one result of a run again and say whether it reproduces")
    parser.set_defaults(handler=_repro)
    parser.add_argument("run", help="results file or run directory")
    parser.add_argument("key", help="the result's key, as the report and results.jsonl show it")
    parser.add_argument("--keep", metavar="DIR", default=None, help="also keep the exported model in DIR")


def _repro(args) -> int:
    recorded, now = reproduce(args.run, args.key, args.keep)
    print(f"result:   {args.key}")
    print(f"recorded: {recorded['raw_status']} at {recorded['stage']}: {recorded.get('message') or ''}")
    print(f"now:      {now['raw_status']} at {now['stage']}: {now.get('message') or ''}")
    if now.get("error"):
        print(now["error"].get("text") or now["error"].get("message"), file=sys.stderr)
    reproduced = now["raw_status"] == recorded["raw_status"]
    print("reproduced" if reproduced else "NOT reproduced")
    return 0 if reproduced else 1
