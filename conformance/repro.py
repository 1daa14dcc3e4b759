"""repro: run one recorded result again, through the same engine, and say whether it reproduces.

`python -m conformance repro RUN KEY` rebuilds the case from the result's params, exports it with the
recorded exporter, shape mode and opset (no cache), runs it in the recorded runtime with the recorded
settings at the recorded run shape, compares with torch eager and prints both verdicts. It runs in this
process: a runtime that crashes ends the command (the run itself isolates runtimes in workers).
"""
from __future__ import annotations

import tempfile
from pathlib import Path

from cases.case import Case, InvalidCaseError
from conformance.corpus_layout import MODEL, data_set_dir, write_tensors
from conformance.plan import Job
from conformance.worker import Settings, Worker, pin_threads
from verdict.errors import UsageError
from verdict.environment import package_versions
from verdict.expectations import apply_expectations, canonical_versions, load_expectations
from verdict.records import Result, RunOptions, load_run


def find_result(results: list[Result], key: str) -> Result:
    for record in results:
        if record.key == key:
            return record
    raise UsageError(f"no result with key {key!r} in this run; keys look like 'L1-uni-noproj-sf-bias-h0-fp32|dynamo|dynamic|18|ort-cpu|1x1'")


def job_of(record: Result) -> Job:
    if record.exporter is None or record.run_shape is None:
        raise UsageError(f"{record.key} is {record.status.value}: there is nothing to run")
    try:
        case = Case.from_params(record.params)
    except (InvalidCaseError, TypeError):
        raise UsageError(f"{record.key} is not a case of this suite's kinds (a corpus test?): rerun it with run-corpus") from None
    return Job(case, record.exporter, bool(record.dynamic), record.opset, (record.runtime,))


def reproduce(run: str | Path, key: str, keep: str | Path | None = None) -> tuple[Result, Result]:
    """(recorded result, the same result now), judged with the run's tolerances, runtime settings and expectations.

    `keep`: a directory that receives the result as one ONNX backend test (model.onnx, and the run shape's
    inputs with torch eager's outputs in test_data_set_0/), which onnx and onnxruntime tools run without
    this suite: the standalone repro to attach to an upstream report of a runtime failure.
    """
    header, results = load_run(run)
    recorded = find_result(results, key)
    job = job_of(recorded)
    options = header.options if header else RunOptions()
    expectations = load_expectations(options.expectations)
    with tempfile.TemporaryDirectory(prefix="lstm-repro-") as scratch:
        settings = Settings(models_dir=str(keep or scratch), keep_models=keep is not None, tolerances=options.tolerances,
                            runtime_options=options.runtime_options, scratch_dir=scratch)
        pin_threads(settings.threads)  # the threads the run's workers had, so the numbers are the run's
        others = {k for k in job.result_keys() if k != key}
        fresh = [r for r in Worker(settings).execute(job, others, lambda stage, keys: None) if r.key == key]
    if keep is not None:
        _write_backend_test(Path(keep), job, tuple(recorded.run_shape))
    return recorded, apply_expectations(fresh[0], expectations, canonical_versions(package_versions()))  # judged by what ran now


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

