"""The eager stage: torch eager's outputs per run shape, the fp64 oracle's, and (run --eager-cuda) eager on CUDA.

The oracle is the same module in float64 on the same inputs: it tells exporter error from runtime
precision, and it is the yardstick of fp16 and bf16 results (verdict.tolerances).
"""
from __future__ import annotations

import copy
import time

import numpy as np

from cases.case import Case
from conformance.stages.export import CHUNK_MARK, Data
from verdict.records import error_info


class EagerReference:
    def __init__(self, case: Case, *, oracle: bool = True):
        from cases.torch_model import build_module

        self.case = case
        self.module = build_module(case)
        self.with_oracle = oracle
        self._oracle_module = None
        self._cuda_module = None

    def outputs(self, feeds: dict) -> dict[str, np.ndarray]:
        from cases.torch_model import eager_outputs

        return eager_outputs(self.case, self.module, feeds)

    def oracle(self, feeds: dict) -> dict[str, np.ndarray]:
        import torch

        from cases.torch_model import eager_outputs

        if self._oracle_module is None:
            self._oracle_module = copy.deepcopy(self.module).to(torch.float64)  # once per job, not per shape
        return eager_outputs(self.case, self._oracle_module, feeds, dtype="float64")

    def cuda_differences(self, feeds: dict, expected: dict[str, np.ndarray]) -> dict[str, float]:
        """Per output, max abs difference of eager on CUDA from eager on CPU (cuDNN against torch's CPU kernels)."""
        from cases.torch_model import eager_outputs

        if self._cuda_module is None:
            self._cuda_module = copy.deepcopy(self.module).to("cuda")
        on_cuda = eager_outputs(self.case, self._cuda_module, feeds, device="cuda")
        return {name: float(np.max(np.abs(value.astype(np.float64) - on_cuda[name].astype(np.float64)), initial=0.0))
                for name, value in expected.items()}

    def data(self, shape: tuple, *, eager_cuda: bool = False) -> Data:
        from cases.inputs import make_feeds

        feeds = make_feeds(self.case, *shape)
        start = time.perf_counter()
        expected = self.outputs(feeds)
        data = Data(feeds, expected, self.oracle(feeds) if self.with_oracle else None, {"eager_s": round(time.perf_counter() - start, 4)})
        if eager_cuda:
            try:
                data.extra["eager_cuda_max_abs"] = self.cuda_differences(feeds, expected)
            except Exception as exc:  # eager on CUDA failing is a torch finding, not this result's
                data.extra.update(eager_cuda_max_abs=None, eager_cuda_error=error_info(exc).message)
        return data


class ModelEager:
    """A user's model's eager outputs (and the fp64 oracle's, for a floating-point model) at each run shape; a streaming
    model's call by call, each call fed the state the one before returned."""

    def __init__(self, job, *, oracle: bool = True):
        self.job = job
        self.spec = job.case.spec
        self.with_oracle = oracle

    def data(self, shape: tuple, *, eager_cuda: bool = False) -> Data:
        from cases import models

        sizes, pattern = self.job.sizes_of(shape)
        chunks = [models.feeds(self.spec, sizes, pattern, chunk) for chunk in range(self.spec.chunks)]
        start = time.perf_counter()
        expected = self._calls(chunks, None)
        seconds = round(time.perf_counter() - start, 4)
        oracle = None
        if self.with_oracle:
            try:
                oracle = self._calls(chunks, "float64")
            except Exception:  # a model that cannot run in float64 has no oracle: torch eager stays the yardstick
                pass
        if self.spec.chunks == 1:
            return Data(chunks[0], expected, oracle, {"eager_s": seconds})
        return Data(chunks[0], expected, oracle, {"eager_s": seconds}, chunks=chunks, carry=dict(self.spec.carry))

    def _calls(self, chunks: list[dict], dtype: str | None) -> dict[str, np.ndarray]:
        from cases.models import eager_outputs

        if len(chunks) == 1:
            return eager_outputs(self.spec, chunks[0], dtype)
        outputs, carried = {}, {}
        for index, chunk in enumerate(chunks):
            called = eager_outputs(self.spec, {**chunk, **carried}, dtype)
            outputs.update({f"{name}{CHUNK_MARK}{index}": value for name, value in called.items()})
            carried = {target: called[source] for source, target in self.spec.carry.items()}
        return outputs


def reference_for(job, *, oracle: bool = True):
    """What computes a job's expected outputs: torch eager on a Case, or on a user's model; with the fp64 oracle's
    unless `oracle` is false (for whoever needs only the inputs, or eager's outputs)."""
    return EagerReference(job.case, oracle=oracle) if isinstance(job.case, Case) else ModelEager(job, oracle=oracle)
