"""Executes one piece of work: get its model (export a Job's case, or read a CorpusJob's files), then run
it in every runtime at every run shape and judge each run the same way.

`Worker.execute` is a generator of raw result records (status before expectations). It announces each
risky stage through `notify` with the result keys that stage decides, so the parent can attribute a
crash or a hang to exactly those results.
"""
from __future__ import annotations

import os
import shutil
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Iterator

from cases.inputs import make_feeds
from cases.status import Status
from conformance.compare import TOLERANCES, Tolerance, compare
from conformance.corpus_layout import MODEL, data_set_dir, read_tensors
from conformance.plan import CorpusJob, Job, Work
from conformance.runtimes import as_output
from exporters.base import ExportResult, error_info


@dataclass
class Settings:
    models_dir: str
    cache_dir: str | None = None
    keep_models: bool = False
    # One thread for torch and onnxruntime, serial runs too: the thread count changes reduction order
    # (GRU outputs moved by an ulp), and numbers must not depend on --jobs or the machine's cores.
    threads: int = 1
    tolerance: Tolerance | None = None
    runtime_options: dict[str, dict] | None = None
    # Where fresh exports are written before caching; inside the run directory, so a killed worker's
    # leftovers go away with the run's own cleanup instead of piling up in the system temp dir.
    scratch_dir: str | None = None
    # Also run eager on CUDA and record how far it is from eager on CPU (the reference stays on CPU).
    eager_cuda: bool = False


def pin_threads(threads: int) -> None:
    """Hold this process's torch (where installed: a corpus run needs none) and OpenMP to `threads`."""
    os.environ["OMP_NUM_THREADS"] = str(threads)
    try:
        import torch
    except ImportError:
        return
    torch.set_num_threads(threads)


class Worker:
    """State that lives as long as a worker process: runtime instances and availability."""

    def __init__(self, settings: Settings):
        self.settings = settings
        self._runtimes: dict[str, object] = {}

    def runtime(self, name: str):
        if name not in self._runtimes:
            from conformance.runtimes import get_runtime

            runtime = get_runtime(name, (self.settings.runtime_options or {}).get(name))
            if hasattr(runtime, "threads"):
                runtime.threads = self.settings.threads
            self._runtimes[name] = runtime
        return self._runtimes[name]

    def export(self, job: Job, workdir: Path) -> tuple[ExportResult, Path, bool]:
        from exporters import get_exporter

        if self.settings.cache_dir:
            from conformance.cache import ExportCache, export_key

            cache, key = ExportCache(self.settings.cache_dir), export_key(job)
            hit = cache.get(key)
            if hit:
                return hit[0], hit[1], True
        path = workdir / job.model_name
        result = get_exporter(job.exporter).export(job.case, str(path), dynamic=job.dynamic, opset=job.opset)
        if self.settings.cache_dir:
            path = cache.put(key, result, path)
        return result, path, False

    def execute(self, job: Work, skip: set[str], notify: Callable[[str, list[str]], None]) -> Iterator[dict]:
        todo = [k for k in job.result_keys() if k not in skip]
        if not todo:
            return
        available = {name: self.runtime(name).available() for name in job.runtimes}
        for name, (ok, reason) in available.items():
            if not ok:
                for shape in job.run_shapes():
                    record = job.base_record(name, shape)
                    if record["key"] in todo:
                        yield finish_record(record, Status.SKIPPED, "available", message=reason)
        wanted = [n for n in job.runtimes if available[n][0] and any(k in todo for k in job.result_keys(n))]
        if not wanted:
            return
        workdir = Path(tempfile.mkdtemp(prefix="lstm-export-", dir=self.settings.scratch_dir))
        try:
            notify("export", [k for n in wanted for k in job.result_keys(n) if k in todo])
            source = SOURCES[type(job)](self, job, workdir)
            any_failure = not source.export.ok
            for name in wanted:
                for record in self._run_runtime(job, name, todo, source, notify):
                    any_failure |= record["raw_status"] != Status.PASS.value
                    yield record
            if source.exported_here and source.model_path.exists() and (any_failure or self.settings.keep_models):
                os.makedirs(self.settings.models_dir, exist_ok=True)
                shutil.copyfile(source.model_path, Path(self.settings.models_dir) / job.model_name)
        finally:
            shutil.rmtree(workdir, ignore_errors=True)

    def _run_runtime(self, job: Work, name: str, todo: list[str], source, notify):
        runtime = self.runtime(name)
        shapes = [s for s in job.run_shapes() if job.base_record(name, s)["key"] in todo]
        common = {"export": source.summary, "runtime_options": dict(getattr(runtime, "options", {}) or {})}

        def record_for(shape):
            return {**job.base_record(name, shape), **common}

        if not source.export.ok:
            for shape in shapes:
                yield finish_record(record_for(shape), Status(source.export.status), source.export.stage, error=source.export.error)
            return
        notify("load", [record_for(s)["key"] for s in shapes])
        try:
            session, load_seconds = load_session(runtime, source.model_path)
        except Exception as exc:
            for shape in shapes:
                yield finish_record(record_for(shape), Status.LOAD_ERROR, "load", error=error_info(exc))
            return
        for shape in shapes:
            record = record_for(shape)
            data = source.data(shape)
            record.update(data.extra)
            notify("run", [record["key"]])
            timings = {"export_s": source.summary.get("seconds"), "export_cached": source.summary.get("cached"),
                       "load_s": round(load_seconds, 4), **data.timings}
            yield judge_run(record, runtime, session, source.model_path, data.feeds, data.expected, source.tolerance,
                            timings=timings, oracle=data.oracle)


@dataclass
class Data:
    """One run shape's inputs and expected outputs, and what else its results record."""

    feeds: dict
    expected: dict
    timings: dict = field(default_factory=dict)
    oracle: Callable[[dict], dict] | None = None  # actual outputs -> max abs error against an fp64 truth
    extra: dict = field(default_factory=dict)  # more fields for the record (eager on CUDA)


class ExportedModel:
    """A Job's model, exported here (or taken from the cache), judged against torch eager on the same weights."""

    exported_here = True

    def __init__(self, worker: Worker, job: Job, workdir: Path):
        self.export, self.model_path, cached = worker.export(job, workdir)
        self.summary = export_summary(self.export, cached)
        self.tolerance = worker.settings.tolerance or TOLERANCES[job.case.dtype]
        self.eager_cuda = worker.settings.eager_cuda
        self.case = job.case
        self.reference = _EagerReference(job)

    def data(self, shape: tuple) -> Data:
        feeds = make_feeds(self.case, *shape)
        start = time.perf_counter()
        expected = self.reference.outputs(feeds, shape)
        data = Data(feeds, expected, {"eager_s": round(time.perf_counter() - start, 4)},
                    oracle=lambda actual: self.reference.oracle_errors(feeds, shape, actual))
        if self.eager_cuda:
            try:
                data.extra["eager_cuda_max_abs"] = self.reference.cuda_differences(feeds, shape)
            except Exception as exc:  # eager on CUDA failing is a torch finding, not this result's
                data.extra.update(eager_cuda_max_abs=None, eager_cuda_error=error_info(exc)["message"])
        return data


class StoredModel:
    """A corpus test's model and data sets, as export-corpus wrote them; no torch, so no fp64 oracle."""

    exported_here = False

    def __init__(self, worker: Worker, job: CorpusJob, workdir: Path):
        test = job.test
        self.export = ExportResult(test["status"], stage=test.get("stage", "export"), error=test.get("error"))
        self.summary = test["export"]
        self.model_path = Path(job.corpus_dir) / test["name"] / MODEL
        self.tolerance = worker.settings.tolerance or Tolerance(**test["tolerance"])
        self.shapes, self.counts = job.run_shapes(), (len(test.get("inputs", [])), len(test.get("outputs", [])))

    def data(self, shape: tuple) -> Data:
        data_dir = data_set_dir(self.model_path.parent, self.shapes.index(shape))
        return Data(read_tensors(data_dir, "input", self.counts[0]), read_tensors(data_dir, "output", self.counts[1]))


SOURCES = {Job: ExportedModel, CorpusJob: StoredModel}


def export_summary(export: ExportResult, cached: bool) -> dict:
    """What each result records about the export its model came from."""
    return {
        "status": export.status, "opset": export.opset, "ops": export.ops,
        "cached": cached, "seconds": round(export.seconds, 4), "log": export.log,
    }


def load_session(runtime, model_path: Path):
    """(session, seconds) for runtimes that load apart from running, so LOAD_ERROR is told from RUN_ERROR;
    (None, 0.0) for run-only runtimes. Raises what loading raises."""
    if not (hasattr(runtime, "load") and hasattr(runtime, "run_session")):
        return None, 0.0
    start = time.perf_counter()
    session = runtime.load(str(model_path))
    return session, time.perf_counter() - start


def judge_run(record: dict, runtime, session, model_path: Path, feeds: dict, expected: dict, tolerance: Tolerance, *,
              timings: dict, oracle: Callable[[dict], dict] | None = None) -> dict:
    """Run `feeds` in the runtime (through `session` when it has one) and compare with `expected`.

    Returns the finished raw record: RUN_ERROR, a comparison status, or FALLBACK for a pass that ran
    elsewhere than asked. `oracle(actual)` gives each output's max abs error against an fp64 truth, where one exists.
    """
    start = time.perf_counter()
    try:
        raw = runtime.run_session(session, feeds) if session is not None else runtime.run(str(model_path), feeds)
        output = as_output(raw)
    except Exception as exc:
        return finish_record(record, Status.RUN_ERROR, "run", error=error_info(exc))
    run_seconds = time.perf_counter() - start
    start = time.perf_counter()
    comparison = compare(expected, output.outputs, tolerance)
    status = Status(comparison.status)
    if output.fallback and status == Status.PASS:
        status = Status.FALLBACK
    record.update(
        providers=output.providers,
        placement=output.placement,
        fallback=output.fallback,
        tolerance=comparison.to_dict()["tolerance"],
        outputs=comparison.to_dict()["outputs"],
        oracle_max_abs=oracle(output.outputs) if oracle else None,
    )
    record["timings"] = {**timings, "run_s": round(run_seconds, 4), "compare_s": round(time.perf_counter() - start, 4)}
    message = output.fallback if status == Status.FALLBACK else comparison.message
    return finish_record(record, status, "compare", message=message)


class _EagerReference:
    """torch eager outputs per run shape, plus an fp64 oracle that tells exporter error from runtime precision."""

    def __init__(self, job: Job):
        from cases.torch_model import build_module

        self.case = job.case
        self.module = build_module(job.case)
        self._expected: dict = {}
        self._oracle_module = None
        self._cuda_module = None
        self._cuda_differences: dict = {}

    def outputs(self, feeds, shape):
        if shape not in self._expected:
            from cases.torch_model import eager_outputs

            self._expected[shape] = eager_outputs(self.case, self.module, feeds)
        return self._expected[shape]

    def cuda_differences(self, feeds, shape) -> dict[str, float]:
        """Per output, max abs difference of eager on CUDA from eager on CPU (cuDNN against torch's CPU kernels)."""
        if shape not in self._cuda_differences:
            import copy

            import numpy as np
            from cases.torch_model import eager_outputs

            if self._cuda_module is None:
                self._cuda_module = copy.deepcopy(self.module).to("cuda")
            on_cuda = eager_outputs(self.case, self._cuda_module, feeds, device="cuda")
            self._cuda_differences[shape] = {
                name: float(np.max(np.abs(value.astype(np.float64) - on_cuda[name].astype(np.float64)), initial=0.0))
                for name, value in self.outputs(feeds, shape).items()
            }
        return self._cuda_differences[shape]

    def oracle_errors(self, feeds, shape, actual) -> dict[str, float | None]:
        import numpy as np
        from cases.torch_model import eager_outputs

        if self._oracle_module is None:
            import copy

            import torch

            self._oracle_module = copy.deepcopy(self.module).to(torch.float64)  # once per job, not per shape
        oracle = eager_outputs(self.case, self._oracle_module, feeds, dtype="float64")
        errors = {}
        for name, value in oracle.items():
            got = actual.get(name)
            if got is None or np.shape(got) != value.shape:
                errors[name] = None
            else:
                errors[name] = float(np.max(np.abs(np.asarray(got, dtype=np.float64) - value), initial=0.0))
        return errors


def finish_record(record: dict, status: Status, stage: str, *, error: dict | None = None, message: str | None = None) -> dict:
    record.setdefault("outputs", None)
    record.setdefault("timings", {})
    return {
        **record,
        "raw_status": status.value,
        "status": status.value,
        "stage": stage,
        "error": error,
        "message": message if message is not None else (error or {}).get("message", ""),
    }
