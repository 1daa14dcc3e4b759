"""The eager stage: torch eager's outputs per run shape, the fp64 oracle's, and (run --eager-cuda) eager on CUDA.

The oracle is the same module in float64 on the same inputs: it tells exporter error from runtime
precision, and it is the yardstick of fp16 and bf16 results (verdict.tolerances).
"""
from __future__ import annotations

import copy
import time

import numpy as np

from cases.case import Case
from conformance.stages.export import Data
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
