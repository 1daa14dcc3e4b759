"""The floating-point types a case can run in: one table, read by cases, inputs, eager, compare and diff."""
from __future__ import annotations

from dataclasses import dataclass

import ml_dtypes
import numpy as np


@dataclass(frozen=True)
class DType:
    name: str  # also torch's attribute name: torch.float32, torch.bfloat16, ...
    short: str  # in case ids
    numpy: np.dtype  # numpy has no bfloat16 of its own: ml_dtypes supplies it

    @property
    def epsilon(self) -> float:
        return float(ml_dtypes.finfo(self.numpy).eps)


DTYPES: dict[str, DType] = {
    d.name: d
    for d in (
        DType("float32", "fp32", np.dtype(np.float32)),
        DType("float16", "fp16", np.dtype(np.float16)),
        DType("bfloat16", "bf16", np.dtype(ml_dtypes.bfloat16)),
        DType("float64", "fp64", np.dtype(np.float64)),
    )
}
