"""Deterministic model inputs as numpy arrays: no torch needed, so a corpus can be rebuilt anywhere."""
from __future__ import annotations

import zlib

import ml_dtypes
import numpy as np

from cases.case import LSTMCase

NUMPY_DTYPES = {
    "float32": np.dtype(np.float32),
    "float16": np.dtype(np.float16),
    "float64": np.dtype(np.float64),
    "bfloat16": np.dtype(ml_dtypes.bfloat16),
}


def make_feeds(case: LSTMCase, seq_len: int, batch: int) -> dict[str, np.ndarray]:
    """The same case and shape always give the same arrays, whatever process asks."""
    seed = zlib.crc32(f"{case.seed}:{seq_len}:{batch}".encode())
    rng = np.random.default_rng(seed)
    dtype = NUMPY_DTYPES[case.dtype]
    return {
        name: rng.standard_normal(shape).astype(dtype)
        for name, shape in case.input_shapes(seq_len, batch).items()
    }
