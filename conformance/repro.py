"""repro: run one recorded result again, through the same engine, and say whether it reproduces.

`python -m conformance repro RUN KEY` rebuilds the case from the result's params, exports it with the
recorded exporter, shape mode and opset (no cache), runs it in the recorded runtime with the recorded
settings at the recorded run shape, compares with torch eager and prints both verdicts. It runs in this
process: a runtime that crashes ends the command (the run itself isolates runtimes in workers).

With `--localize`, a result that is still a numeric or shape mismatch or a run error is then localised to the
first ONNX node where the runtime diverges from a reference runtime (conformance.localise).
"""
from __future__ import annotations

import tempfile
from pathlib import Path

from cases.case import Case, InvalidCaseError
from conformance.corpus_layout import MODEL, data_set_dir, write_tensors
from conformance.localise import localise_recorded
from conformance.plan import Job, ModelJob
from conformance.worker import Settings, Worker, pin_threads
from verdict.errors import UsageError
from verdict.environment import package_versions
from verdict.expectations import apply_expectations, canonical_versions, load_expectations
from verdict.records import Localisation, Result, RunOptions, load_run


def find_result(results: list[Result], key: str) -> Result:
    for record in results:
        if record.key == key:
            return record
    raise UsageError(f"no result with key {key!r} in this run; keys look like 'L1-uni-noproj-sf-bias-h0-fp32|dynamo|dynamic|18|ort-cpu|1x1'")


def job_of(record: Result) -> Job:
    """The work that made a recorded result: a suite case's Job, or a user model's ModelJob (rebuilt from its factory)."""
    if record.exporter is None or record.run_shape is None:
        raise UsageError(f"{record.key} is {record.status.value}: there is nothing to run")
    if record.params.get("kind") == "model":
        from cases.models import ModelRef

        return ModelJob(ModelRef(record.params["source"]), record.exporter, bool(record.dynamic), record.opset, (record.runtime,))
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
    recorded, now, _ = _reproduce(run, key, keep, localize=False)
    return recorded, now


def reproduce_and_localise(run: str | Path, key: str, keep: str | Path | None = None) -> tuple[Result, Result, Localisation]:
    """reproduce(), then, where the result now is a numeric or shape mismatch or a run error, the first node of the
    exported model at which its runtime diverges from the reference runtime (conformance.localise.reference_for);
    for any other result a Localisation that says why there is nothing to localise."""
    return _reproduce(run, key, keep, localize=True)


def _reproduce(run: str | Path, key: str, keep: str | Path | None, *, localize: bool) -> tuple[Result, Result, Localisation | None]:
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
        # The worker keeps a failing result's model in models_dir: localise it before the scratch dir goes.
        localisation = (localise_recorded(fresh[0], job, Path(settings.models_dir) / job.model_name, options, settings.threads)
                        if localize else None)
    if keep is not None:
        write_backend_test(Path(keep), job, tuple(recorded.run_shape))
    now = apply_expectations(fresh[0], expectations, canonical_versions(package_versions()))  # judged by what ran now
    return recorded, now, localisation


def write_backend_test(directory: Path, job: Job, shape: tuple) -> None:
    """The model, the run shape's inputs and torch eager's outputs as one ONNX backend test (a streaming model's first call)."""
    from conformance.stages.eager import reference_for
    from conformance.stages.export import CHUNK_MARK

    model = directory / job.model_name
    if model.exists():
        model.replace(directory / MODEL)
    elif not (directory / MODEL).exists():  # not exported by a worker here: export it now
        from exporters import get_exporter

        exported = get_exporter(job.exporter).export(job.case, str(directory / MODEL), dynamic=job.dynamic, opset=job.opset)
        if exported.error is not None and not (directory / MODEL).exists():
            raise RuntimeError(f"{exported.status.value}: {exported.error.message}")
    data = reference_for(job, oracle=False).data(shape)
    first = f"{CHUNK_MARK}0"
    expected = {name.removesuffix(first): value for name, value in data.expected.items() if CHUNK_MARK not in name or name.endswith(first)}
    data_dir = data_set_dir(directory, 0)
    data_dir.mkdir(parents=True, exist_ok=True)
    write_tensors(data_dir, "input", data.chunks[0] if data.chunks else data.feeds)
    write_tensors(data_dir, "output", expected)


def export_script(job: Job) -> str:
    """The export call of `job` as a script: plain torch where the case's layer is one torch.nn call and not packed,
    else the module built by this suite (a cell loop, a packed batch) or by the model's own factory."""
    from cases.inputs import make_feeds
    from exporters import get_exporter

    exporter = get_exporter(job.exporter)
    options = exporter.export_options(job.case, dynamic=job.dynamic, opset=job.opset)
    labels = sorted({d.__name__ for shapes in options.get("dynamic_shapes") or () for d in (shapes or {}).values()})
    lines = ['"""The export that fails; writes model.onnx."""', "import torch"]
    if labels:
        lines += ["from torch.export import Dim", "", f"dims = {{name: Dim(name) for name in {labels!r}}}"]
    lines.append("")
    case = job.case
    call = case.layer.layer_call(case) if isinstance(job, Job) and not isinstance(job, ModelJob) else None
    if call is not None and not case.packed:
        states = case.input_names()[1:]
        state = f"({', '.join(states)})" if len(states) == 2 else (states[0] if states else "")
        finals = case.output_names()[1:]
        final = f"({', '.join(finals)})" if len(finals) == 2 else finals[0]
        feeds = make_feeds(case, case.seq_len, case.batch)
        lines += [f"torch.manual_seed({case.seed})",
                  f"layer = torch.nn.{case.layer.torch_layer}(**{call!r}).to(torch.{case.dtype})", "", "",
                  "class Model(torch.nn.Module):", "    def __init__(self):", "        super().__init__()",
                  "        self.layer = layer", "",
                  f"    def forward(self, {', '.join(case.input_names())}):",
                  f"        output, {final} = self.layer(input{', ' + state if state else ''})",
                  f"        return output, {', '.join(finals)}", "", "",
                  f"module = Model().train({case.train})",
                  "args = (" + "".join(f"torch.randn({list(feeds[n].shape)}, dtype=torch.{case.dtype}), " for n in case.input_names()) + ")"]
    elif isinstance(job, ModelJob):
        module_name, _, factory = case.source.partition(":")
        lines += [f"from {module_name} import {factory}  # the model's own factory", "",
                  f"spec = {factory}()", "module, args = spec.module.eval(), spec.inputs"]
    else:
        lines += ["from cases.case import Case  # this suite's case builder: the module is more than one torch.nn call",
                  "from cases.torch_model import export_arguments", "",
                  f"module, args = export_arguments(Case.from_params({dict(case.params())!r}))"]
    if exporter.script_prepare:
        lines.append(exporter.script_prepare)
    rendered = ", ".join(f"{key}={_source(value)}" for key, value in options.items())
    lines += ["print(module)", f'torch.onnx.export(module, args, "model.onnx", {rendered})', "",
              "import onnx  # the suite's validation: the checker with strict shape inference",
              'onnx.checker.check_model(onnx.load("model.onnx"), full_check=True)', 'print("model.onnx passes the checker")', ""]
    return "\n".join(lines)


def _source(value) -> str:
    """Python source for an export option: Dims by name (from `dims`), the rest as literals."""
    if isinstance(value, dict):
        return "{" + ", ".join(f"{k!r}: {_source(v)}" for k, v in value.items()) + "}"
    if isinstance(value, (tuple, list)):
        items = ", ".join(_source(v) for v in value)
        return f"({items},)" if isinstance(value, tuple) and len(value) == 1 else (f"({items})" if isinstance(value, tuple) else f"[{items}]")
    if hasattr(value, "__name__") and type(value).__name__ != "function" and not isinstance(value, str):
        return f"dims[{value.__name__!r}]"
    return repr(value)
