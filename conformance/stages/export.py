"""The export stage: where a piece of work's model comes from.

A Job's case is exported here, through the export cache; a CorpusJob's model, inputs and expected outputs
are files a corpus holds (conformance.corpus_layout). Either way the source then serves each run shape's
data (`Data`), for the eager stage to fill and the runtimes to run.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import msgspec
import numpy as np

from conformance.corpus_layout import MODEL, data_set_dir, read_tensors
from conformance.plan import CorpusJob, Job
from exporters.base import ExportResult
from verdict.records import ExportSummary
from verdict.tolerances import TOLERANCES, Tolerance, ToleranceOverrides, uses_oracle


# How a streaming model's output of one call is named among the outputs judged: "prob#2" is chunk 2's "prob".
CHUNK_MARK = "#"


@dataclass
class Data:
    """One run shape's inputs and expected outputs, and what else its results record."""

    feeds: dict[str, np.ndarray]
    expected: dict[str, np.ndarray]
    oracle: dict[str, np.ndarray] | None = None  # the fp64 oracle's outputs, where there is one
    timings: dict = field(default_factory=dict)
    extra: dict = field(default_factory=dict)  # more fields for the result (eager on CUDA)
    # A streaming model: the feeds of each call, and which output feeds which input of the next call. The
    # expected outputs are then named per call (CHUNK_MARK).
    chunks: list[dict[str, np.ndarray]] | None = None
    carry: dict[str, str] = field(default_factory=dict)


def export_model(job: Job, workdir: Path, cache_dir: str | None) -> tuple[ExportResult, Path, bool]:
    """(export result, model path, taken from the cache)."""
    from exporters import get_exporter

    if cache_dir:
        from conformance.cache import ExportCache, export_key

        cache, key = ExportCache(cache_dir), export_key(job)
        hit = cache.get(key)
        if hit:
            return hit[0], hit[1], True
    path = workdir / job.model_name
    result = get_exporter(job.exporter).export(job.case, str(path), dynamic=job.dynamic, opset=job.opset)
    if cache_dir:
        path = cache.put(key, result, path)
    return result, path, False


def export_summary(export: ExportResult, cached: bool) -> ExportSummary:
    """What each result records about the export its model came from."""
    return ExportSummary(status=export.status, opset=export.opset, ops=export.ops, cached=cached,
                         seconds=round(export.seconds, 4), log=export.log)


def base_tolerance(job: Job) -> Tolerance:
    """A job's tolerance before the run's overrides: a user's model's own (ModelSpec.tolerance), else its dtype's."""
    given = getattr(getattr(job.case, "spec", None), "tolerance", None)
    return Tolerance(*given) if given else TOLERANCES[job.case.dtype]


class ExportedModel:
    """A Job's model, exported here (or taken from the cache), judged against torch eager on the same weights.

    A user's model (a ModelJob) is exported afresh every time: its code is the user's, outside what the cache key
    can vouch for (conformance.cache)."""

    exported_here = True

    def __init__(self, job: Job, workdir: Path, *, cache_dir: str | None, tolerances: ToleranceOverrides, eager_cuda: bool):
        self.export, self.model_path, cached = export_model(job, workdir, cache_dir if type(job) is Job else None)
        self.summary = export_summary(self.export, cached)
        self.job = job
        self.dtype = job.case.dtype
        self.base_tolerance = base_tolerance(job)
        self.tolerances = tolerances
        self.eager_cuda = eager_cuda
        self._data: dict[tuple, Data] = {}

    def prepare(self, shapes: list[tuple]) -> None:
        """The eager stage: torch eager (and the oracle) at every shape a runtime will run."""
        from conformance.stages.eager import reference_for

        reference = reference_for(self.job)
        for shape in shapes:
            if shape not in self._data:
                self._data[shape] = reference.data(shape, eager_cuda=self.eager_cuda)

    def data(self, shape: tuple) -> Data:
        return self._data[shape]

    def tolerance_for(self, output: str) -> Tolerance:
        return self.tolerances.for_output(self.base_tolerance, output.partition(CHUNK_MARK)[0])

    @property
    def judge_by_oracle(self) -> bool:
        return uses_oracle(self.dtype)


class StoredModel:
    """A corpus test's model and data sets, as export-corpus wrote them (an fp16/bf16 test also holds the oracle's outputs)."""

    exported_here = False

    def __init__(self, job: CorpusJob, *, tolerances: ToleranceOverrides):
        test = job.test
        self.export = msgspec.convert({"status": test["status"], "stage": test.get("stage", "export"), "error": test.get("error")}, ExportResult)
        self.summary = msgspec.convert(test["export"], ExportSummary)
        self.model_path = Path(job.corpus_dir) / test["name"] / MODEL
        self.dtype = test["dtype"]
        self.base_tolerance = Tolerance(**test["tolerance"])
        self.tolerances = tolerances
        self.shapes = job.run_shapes()
        self.counts = (len(test.get("inputs", [])), len(test.get("outputs", [])))
        self.has_oracle = bool(test.get("oracle"))
        self._data: dict[tuple, Data] = {}

    def prepare(self, shapes: list[tuple]) -> None:
        """Read the data sets every runtime will run, once."""
        for shape in shapes:
            if shape not in self._data:
                data_dir = data_set_dir(self.model_path.parent, self.shapes.index(shape))
                oracle = read_tensors(data_dir, "oracle", self.counts[1]) if self.has_oracle else None
                self._data[shape] = Data(read_tensors(data_dir, "input", self.counts[0]),
                                         read_tensors(data_dir, "output", self.counts[1]), oracle)

    def data(self, shape: tuple) -> Data:
        return self._data[shape]

    def tolerance_for(self, output: str) -> Tolerance:
        return self.tolerances.for_output(self.base_tolerance, output)

    @property
    def judge_by_oracle(self) -> bool:
        return uses_oracle(self.dtype)

