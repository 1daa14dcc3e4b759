"""Executes one piece of work through the stages (conformance.stages): export, eager, then per runtime load,
and per run shape run and judge.

`Worker.execute` is a generator of results, observed statuses before expectations. Before each stage it
announces through `notify` the keys of the results that stage decides, so the parent can charge a crash or
a hang to exactly those results (conformance.pool).
"""
from __future__ import annotations

import os
import shutil
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Iterator

from conformance.plan import Job, Work
from conformance.runtimes import RuntimeHandle
from conformance.stages import judge as judging
from conformance.stages import run as running
from conformance.stages.export import ExportedModel, StoredModel
from verdict.records import Result
from verdict.status import Status
from verdict.tolerances import ToleranceOverrides


@dataclass
class Settings:
    models_dir: str
    cache_dir: str | None = None
    keep_models: bool = False
    # One thread for torch and onnxruntime, serial runs too: the thread count changes reduction order
    # (GRU outputs moved by an ulp), and numbers must not depend on --jobs or the machine's cores.
    threads: int = 1
    tolerances: ToleranceOverrides = field(default_factory=ToleranceOverrides)
    runtime_options: dict[str, dict] = field(default_factory=dict)
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


Notify = Callable[[str, list[str]], None]


class Worker:
    """State that lives as long as a worker process: runtime instances and availability."""

    def __init__(self, settings: Settings):
        self.settings = settings
        self._runtimes: dict[str, RuntimeHandle] = {}

    def runtime(self, name: str) -> RuntimeHandle:
        if name not in self._runtimes:
            from conformance.runtimes import get_runtime

            runtime = get_runtime(name, self.settings.runtime_options.get(name))
            runtime.set_threads(self.settings.threads)
            self._runtimes[name] = runtime
        return self._runtimes[name]

    def open_source(self, work: Work, workdir: Path):
        settings = self.settings
        if isinstance(work, Job):
            return ExportedModel(work, workdir, cache_dir=settings.cache_dir, tolerances=settings.tolerances, eager_cuda=settings.eager_cuda)
        return StoredModel(work, tolerances=settings.tolerances)

    def execute(self, work: Work, skip: set[str], notify: Notify) -> Iterator[Result]:
        todo = [k for k in work.result_keys() if k not in skip]
        if not todo:
            return
        available = {name: self.runtime(name).available() for name in work.runtimes}
        for name, shape in work.results_for(todo):
            ok, reason = available[name]
            if not ok:
                yield work.result(name, shape, Status.SKIPPED, "available", message=reason)
        wanted = [n for n in work.runtimes if available[n][0] and any(k in todo for k in work.result_keys(n))]
        if not wanted:
            return
        keys = [k for n in wanted for k in work.result_keys(n) if k in todo]
        workdir = Path(tempfile.mkdtemp(prefix="lstm-export-", dir=self.settings.scratch_dir))
        try:
            notify("export", keys)
            source = self.open_source(work, workdir)
            any_failure = not source.export.ok
            if source.export.ok:
                notify("eager", keys)
                source.prepare([shape for runtime, shape in work.results_for(keys)])
            for name in wanted:
                for result in self._run_runtime(work, name, todo, source, notify):
                    any_failure |= result.raw_status != Status.PASS
                    yield result
            if source.exported_here and source.model_path.exists() and (any_failure or self.settings.keep_models):
                os.makedirs(self.settings.models_dir, exist_ok=True)
                shutil.copyfile(source.model_path, Path(self.settings.models_dir) / work.model_name)
        finally:
            shutil.rmtree(workdir, ignore_errors=True)

    def _run_runtime(self, work: Work, name: str, todo: list[str], source, notify: Notify) -> Iterator[Result]:
        runtime = self.runtime(name)
        shapes = [shape for runtime_name, shape in work.results_for(todo) if runtime_name == name]
        common = {"export": source.summary, "runtime_options": runtime.options}
        if not source.export.ok:
            for shape in shapes:
                yield work.result(name, shape, source.export.status, source.export.stage, error=source.export.error, **common)
            return
        notify("load", [work.result_key(name, s) for s in shapes])
        session, load_seconds, error = running.load(runtime, source.model_path)
        if error is not None:
            for shape in shapes:
                yield work.result(name, shape, Status.LOAD_ERROR, "load", error=error, **common)
            return
        for shape in shapes:
            data = source.data(shape)
            timings = {"export_s": source.summary.seconds, "export_cached": source.summary.cached,
                       "load_s": round(load_seconds, 4), **data.timings}
            fields = {**common, **data.extra, "timings": timings}
            notify("run", [work.result_key(name, shape)])
            output, run_seconds, error = running.run_data(runtime, session, data)
            timings["run_s"] = round(run_seconds, 4)
            if error is not None:
                yield work.result(name, shape, Status.RUN_ERROR, "run", error=error, **fields)
                continue
            notify("judge", [work.result_key(name, shape)])
            yield judging.judge(work, name, shape, output, data, source, fields)
