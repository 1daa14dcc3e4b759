"""Judge runtime outputs against torch eager: count, then shapes, then dtypes, then values.

Statistics are recorded whatever the verdict, so a report can say how far off a result was and
which tolerance would have passed it.
"""
from __future__ import annotations

from dataclasses import asdict, dataclass, field

import numpy as np

from cases.status import Status


@dataclass(frozen=True)
class Tolerance:
    rtol: float
    atol: float


# Anchored on torch.testing.assert_close and the ONNX backend tests, tightened for fp32 so a
# 1e-3 perturbation fails while onnxruntime's ~1e-7 LSTM error passes with margin.
TOLERANCES: dict[str, Tolerance] = {
    "float32": Tolerance(rtol=1e-4, atol=1e-5),
    "float16": Tolerance(rtol=1e-2, atol=1e-3),
    "bfloat16": Tolerance(rtol=5e-2, atol=1e-2),
    "float64": Tolerance(rtol=1e-7, atol=1e-7),
}


@dataclass
class OutputComparison:
    expected_shape: list[int]
    actual_shape: list[int] | None
    expected_dtype: str
    actual_dtype: str | None
    max_abs: float | None = None
    max_rel: float | None = None
    mismatch_fraction: float | None = None
    # The smallest atol (at the rtol used) that would have passed this output.
    atol_to_pass: float | None = None
    status: str = Status.PASS.value


@dataclass
class Comparison:
    status: str
    message: str
    tolerance: Tolerance
    outputs: dict[str, OutputComparison] = field(default_factory=dict)

    def to_dict(self) -> dict:
        return {
            "status": self.status,
            "message": self.message,
            "tolerance": asdict(self.tolerance),
            "outputs": {name: asdict(o) for name, o in self.outputs.items()},
        }


def _as_float64(array: np.ndarray) -> np.ndarray:
    return np.asarray(array).astype(np.float64)


def value_stats(expected: np.ndarray, actual: np.ndarray, tolerance: Tolerance) -> dict:
    e, a = _as_float64(expected), _as_float64(actual)
    if e.size == 0:
        return {"max_abs": 0.0, "max_rel": 0.0, "mismatch_fraction": 0.0, "atol_to_pass": 0.0}
    diff = np.abs(a - e)
    # NaN where the other side has a number (or inf against a finite value) is as wrong as it gets.
    same_nonfinite = (np.isnan(e) & np.isnan(a)) | (np.isinf(e) & (a == e))
    diff = np.where(same_nonfinite, 0.0, np.where(np.isfinite(diff), diff, np.inf))
    rel = diff / np.maximum(np.abs(e), np.finfo(np.float64).tiny)
    rel = np.where(diff == 0, 0.0, rel)
    bad = diff > tolerance.atol + tolerance.rtol * np.abs(e)
    excess = diff - tolerance.rtol * np.abs(np.where(np.isfinite(e), e, 0.0))
    return {
        "max_abs": float(diff.max()),
        "max_rel": float(rel.max()),
        "mismatch_fraction": float(bad.mean()),
        "atol_to_pass": float(max(excess.max(), 0.0)),
    }


def compare(expected: dict[str, np.ndarray], actual: dict[str, np.ndarray], tolerance: Tolerance) -> Comparison:
    outputs = {
        name: OutputComparison(
            expected_shape=list(e.shape),
            actual_shape=list(np.shape(actual[name])) if name in actual else None,
            expected_dtype=str(e.dtype),
            actual_dtype=str(np.asarray(actual[name]).dtype) if name in actual else None,
        )
        for name, e in expected.items()
    }
    if set(actual) != set(expected):
        missing = sorted(set(expected) - set(actual))
        extra = sorted(set(actual) - set(expected))
        return Comparison(
            Status.OUTPUT_COUNT_MISMATCH.value,
            f"expected outputs {sorted(expected)}, got {sorted(actual)}"
            + (f"; missing {missing}" if missing else "")
            + (f"; unexpected {extra}" if extra else ""),
            tolerance,
            outputs,
        )
    problems: dict[Status, list[str]] = {}
    for name, o in outputs.items():
        if o.actual_shape != o.expected_shape:
            o.status = Status.SHAPE_MISMATCH.value
            problems.setdefault(Status.SHAPE_MISMATCH, []).append(f"{name}: shape {o.actual_shape} != {o.expected_shape}")
            continue
        o.__dict__.update(value_stats(expected[name], actual[name], tolerance))
        if o.actual_dtype != o.expected_dtype:
            o.status = Status.DTYPE_MISMATCH.value
            problems.setdefault(Status.DTYPE_MISMATCH, []).append(f"{name}: dtype {o.actual_dtype} != {o.expected_dtype}")
        elif o.mismatch_fraction:
            o.status = Status.NUMERIC_MISMATCH.value
            problems.setdefault(Status.NUMERIC_MISMATCH, []).append(
                f"{name}: max abs {o.max_abs:.3g}, {o.mismatch_fraction:.1%} of elements outside "
                f"rtol={tolerance.rtol:g} atol={tolerance.atol:g}"
            )
    for status in (Status.SHAPE_MISMATCH, Status.DTYPE_MISMATCH, Status.NUMERIC_MISMATCH):
        if status in problems:
            return Comparison(status.value, "; ".join(problems[status]), tolerance, outputs)
    worst = max((o.max_abs or 0.0) for o in outputs.values())
    return Comparison(Status.PASS.value, f"all outputs within tolerance (max abs {worst:.3g})", tolerance, outputs)
