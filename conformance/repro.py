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
from conformance.corpus_layout import MODEL, data_set_dir, write_tensors
from conformance.errors import UsageError
from conformance.results import load_run, package_versions
from conformance.runner import RunOptions
from conformance.worker import Settings, Worker, pin_threads


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
    """(recorded result, the same result now).

    `keep`: a directory that receives the result as one ONNX backend test (model.onnx, and the run shape's
    inputs with torch eager's outputs in test_data_set_0/), which onnx and onnxruntime tools run without
    this suite: the standalone repro to attach to an upstream report of a runtime failure.
    """
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
        pin_threads(settings.threads)  # the threads the run's workers had, so the numbers are the run's
        others = {k for k in job.result_keys() if k != key}
        fresh = [r for r in Worker(settings).execute(job, others, lambda stage, keys: None) if r["key"] == key]
    if keep is not None:
        _write_backend_test(Path(keep), job, tuple(recorded["run_shape"]))
    return recorded, apply_expectations(fresh[0], expectations, package_versions())  # judged by what ran now


def _write_backend_test(directory: Path, job: Job, shape: tuple) -> None:
    from cases.inputs import make_feeds
    from cases.torch_model import build_module, eager_outputs

    model = directory / job.model_name
    if model.exists():
        model.replace(directory / MODEL)
    feeds = make_feeds(job.case, *shape)
    data_dir = data_set_dir(directory, 0)
    data_dir.mkdir(parents=True, exist_ok=True)
    write_tensors(data_dir, "input", feeds)
    write_tensors(data_dir, "output", eager_outputs(job.case, build_module(job.case), feeds))


def register(subparsers) -> None:
    parser = subparsers.add_parser("repro", help="run one result of a run again and say whether it reproduces")
    parser.set_defaults(handler=_repro)
    parser.add_argument("run", help="results file or run directory")
    parser.add_argument("key", help="the result's key, as the report and results.jsonl show it")
    parser.add_argument("--keep", metavar="DIR", default=None,
                        help="also write the result as an ONNX backend test in DIR: model.onnx, inputs and torch's outputs")


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
