"""Judge a runtime's outputs: count, then shapes, then dtypes, then values.

Values are judged element by element against a yardstick: torch eager in the case's dtype, or for fp16
and bf16 the fp64 oracle (verdict.tolerances). Non-finite values are judged exactly: NaN matches NaN and
an infinity matches the same infinity; anything else against a non-finite value is a mismatch, in every
dtype. Statistics are recorded whatever the verdict, so a report can say how far off a result was and
which tolerance would have passed it.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Mapping

import numpy as np

from verdict.records import OutputStats
from verdict.status import Status
from verdict.tolerances import ORACLE_FACTOR, Tolerance


@dataclass
class Comparison:
    status: Status
    message: str
    outputs: dict[str, OutputStats]


@dataclass(frozen=True)
class Values:
    """Element-wise judgement of `actual` against `expected` (both float64, same shape)."""

    close: np.ndarray  # bool: within tolerance, or the same non-finite value
    nonfinite_mismatch: np.ndarray  # bool: either side non-finite, and not the same
    difference: np.ndarray  # |actual - expected| where both are finite, else 0

    def stats(self, expected: np.ndarray, tolerance: Tolerance) -> dict:
        finite = ~(self.nonfinite_mismatch | ~np.isfinite(expected))
        size = self.close.size
        if not finite.any():
            max_abs = max_rel = None
            atol_to_pass = None if self.nonfinite_mismatch.any() else 0.0
        else:
            diff = self.difference[finite]
            scale = np.abs(expected[finite])
            with np.errstate(over="ignore"):  # a huge difference over a tiny value: too large a ratio to hold (None)
                relative = diff[scale > 0] / scale[scale > 0]
            max_abs, max_rel = _finite(diff.max()), _finite(relative.max()) if relative.size else None
            needed = float(max((diff - tolerance.rtol * scale).max(), 0.0))
            atol_to_pass = None if self.nonfinite_mismatch.any() else needed
        return {
            "max_abs": max_abs,
            "max_rel": max_rel,
            "mismatch_fraction": float((~self.close).sum() / size) if size else 0.0,
            "atol_to_pass": atol_to_pass,
            "nonfinite_mismatches": int(self.nonfinite_mismatch.sum()),
        }


def _finite(value) -> float | None:
    """A statistic as a record holds it: two finite float64 values can differ by more than float64 holds (None then)."""
    value = float(value)
    return value if np.isfinite(value) else None


def same_nonfinite(expected: np.ndarray, actual: np.ndarray) -> np.ndarray:
    return (np.isnan(expected) & np.isnan(actual)) | (np.isinf(expected) & (actual == expected))


def judge_values(expected: np.ndarray, actual: np.ndarray, tolerance: Tolerance) -> Values:
    finite = np.isfinite(expected) & np.isfinite(actual)
    nonfinite_mismatch = ~finite & ~same_nonfinite(expected, actual)
    difference = np.abs(np.where(finite, actual, 0.0) - np.where(finite, expected, 0.0))
    within = difference <= tolerance.atol + tolerance.rtol * np.abs(np.where(finite, expected, 0.0))
    close = np.where(finite, within, ~nonfinite_mismatch)
    return Values(close, nonfinite_mismatch, difference)


def _float64(array) -> np.ndarray:
    return np.asarray(array).astype(np.float64)


def _largest(values: Values) -> float | None:
    finite = values.difference[~values.nonfinite_mismatch]
    return _finite(finite.max()) if finite.size else None


def compare(expected: Mapping[str, np.ndarray], actual: Mapping[str, np.ndarray], tolerance_for: Callable[[str], Tolerance], *,
            oracle: Mapping[str, np.ndarray] | None = None, judge_by_oracle: bool = False,
            oracle_factor: float = ORACLE_FACTOR) -> Comparison:
    """`expected`: torch eager's outputs; `oracle`: the fp64 oracle's, where there is one (recorded either way).

    With `judge_by_oracle` (fp16, bf16) an output passes when each element is within tolerance of the oracle,
    or when its largest error against the oracle is at most `oracle_factor` times torch eager's own (and no
    non-finite value differs from both the oracle's and eager's).
    """
    outputs = {
        name: OutputStats(
            expected_shape=list(np.shape(e)),
            actual_shape=list(np.shape(actual[name])) if name in actual else None,
            expected_dtype=str(np.asarray(e).dtype),
            actual_dtype=str(np.asarray(actual[name]).dtype) if name in actual else None,
            tolerance=tolerance_for(name),
        )
        for name, e in expected.items()
    }
    if set(actual) != set(expected):
        missing = sorted(set(expected) - set(actual))
        extra = sorted(set(actual) - set(expected))
        return Comparison(
            Status.OUTPUT_COUNT_MISMATCH,
            f"expected outputs {sorted(expected)}, got {sorted(actual)}"
            + (f"; missing {missing}" if missing else "")
            + (f"; unexpected {extra}" if extra else ""),
            outputs,
        )
    problems: dict[Status, list[str]] = {}
    for name, stats in outputs.items():
        if stats.actual_shape != stats.expected_shape:
            stats.status = Status.SHAPE_MISMATCH
            problems.setdefault(Status.SHAPE_MISMATCH, []).append(f"{name}: shape {stats.actual_shape} != {stats.expected_shape}")
            continue
        eager, got = _float64(expected[name]), _float64(actual[name])
        truth = _float64(oracle[name]) if oracle is not None and name in oracle else None
        if truth is not None and truth.shape == got.shape:
            stats.yardstick = "oracle" if judge_by_oracle else "eager"
            against_oracle = judge_values(truth, got, stats.tolerance)
            eager_against_oracle = judge_values(truth, eager, stats.tolerance)
            stats.oracle_max_abs, stats.eager_oracle_max_abs = _largest(against_oracle), _largest(eager_against_oracle)
        if stats.yardstick == "oracle":
            values = _oracle_judgement(truth, eager, got, stats.tolerance, oracle_factor)
            yardstick = truth
        else:
            values = judge_values(eager, got, stats.tolerance)
            yardstick = eager
        for field, value in values.stats(yardstick, stats.tolerance).items():
            setattr(stats, field, value)
        if stats.actual_dtype != stats.expected_dtype:
            stats.status = Status.DTYPE_MISMATCH
            problems.setdefault(Status.DTYPE_MISMATCH, []).append(f"{name}: dtype {stats.actual_dtype} != {stats.expected_dtype}")
        elif not values.close.all():
            stats.status = Status.NUMERIC_MISMATCH
            problems.setdefault(Status.NUMERIC_MISMATCH, []).append(_describe_mismatch(name, stats, values, yardstick, got))
    for status in (Status.SHAPE_MISMATCH, Status.DTYPE_MISMATCH, Status.NUMERIC_MISMATCH):
        if status in problems:
            return Comparison(status, "; ".join(problems[status]), outputs)
    worst = max((o.max_abs or 0.0) for o in outputs.values()) if outputs else 0.0
    against = " from the fp64 oracle" if any(o.yardstick == "oracle" for o in outputs.values()) else ""
    return Comparison(Status.PASS, f"all outputs within tolerance (max abs {worst:.3g}{against})", outputs)


def _oracle_judgement(truth: np.ndarray, eager: np.ndarray, got: np.ndarray, tolerance: Tolerance, factor: float) -> Values:
    """Against the oracle; where the runtime holds the same non-finite value as torch eager (an overflow in the
    case's precision, say) that element agrees. The whole output agrees when its largest finite error is within
    `factor` times eager's own."""
    values = judge_values(truth, got, tolerance)
    like_eager = same_nonfinite(eager, got)
    nonfinite_mismatch = values.nonfinite_mismatch & ~like_eager
    close = values.close | like_eager
    if not nonfinite_mismatch.any() and not close.all():
        own, eager_own = _largest(values), _largest(judge_values(truth, eager, tolerance))
        if own is not None and eager_own is not None and own <= factor * eager_own:
            close = np.ones_like(close)
    return Values(close, nonfinite_mismatch, np.where(like_eager, 0.0, values.difference))


def _describe_mismatch(name: str, stats: OutputStats, values: Values, expected: np.ndarray, got: np.ndarray) -> str:
    against = "from the fp64 oracle" if stats.yardstick == "oracle" else ""
    parts = []
    if stats.nonfinite_mismatches:
        first = tuple(int(i) for i in np.argwhere(values.nonfinite_mismatch)[0])
        parts.append(f"{stats.nonfinite_mismatches} non-finite value(s) differ (at {list(first)}: expected "
                     f"{expected[first]:g}, got {got[first]:g})")
    if stats.max_abs is not None:
        own = f" (torch eager's own {stats.eager_oracle_max_abs:.3g})" if stats.yardstick == "oracle" and stats.eager_oracle_max_abs is not None else ""
        parts.append(f"max abs {stats.max_abs:.3g}{' ' + against if against else ''}{own}")
    tolerance = stats.tolerance
    parts.append(f"{stats.mismatch_fraction:.1%} of elements outside rtol={tolerance.rtol:g} atol={tolerance.atol:g}")
    return f"{name}: " + ", ".join(parts)
