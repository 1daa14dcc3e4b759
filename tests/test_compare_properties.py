"""Property-based tests of the comparator against a few-line reference judgement, element by element.

Arrays are drawn with NaN, ±inf, ±0, subnormals and extremes, in fp16, bf16, fp32 and fp64.
"""
import json
import math

import ml_dtypes
import msgspec
import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from verdict.compare import compare
from verdict.status import Status
from verdict.tolerances import ORACLE_FACTOR, TOLERANCES

DTYPES = {"float16": np.float16, "bfloat16": ml_dtypes.bfloat16, "float32": np.float32, "float64": np.float64}
# Values beyond a dtype's range are drawn on purpose: they become infinities in it.
pytestmark = pytest.mark.filterwarnings("ignore:overflow encountered in cast:RuntimeWarning")
PROPERTIES = settings(max_examples=250, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def reference_close(e: float, a: float, rtol: float, atol: float) -> bool:
    if math.isnan(e) or math.isnan(a):
        return math.isnan(e) and math.isnan(a)
    if math.isinf(e) or math.isinf(a):
        return e == a
    return abs(a - e) <= atol + rtol * abs(e)


def special_values(dtype) -> list[float]:
    info = ml_dtypes.finfo(dtype)
    return [0.0, -0.0, math.nan, math.inf, -math.inf, float(info.smallest_subnormal), -float(info.smallest_subnormal),
            float(info.tiny), float(info.max), -float(info.max), 1.0, -1.0]


@st.composite
def pair(draw, dtype_name: str):
    """(expected, actual) of one shape in one dtype: actual is expected nudged, replaced or left alone per element."""
    dtype = DTYPES[dtype_name]
    size = draw(st.integers(1, 12))
    value = st.one_of(st.sampled_from(special_values(dtype)), st.floats(allow_nan=True, allow_infinity=True, width=32),
                      st.floats(-2, 2))
    expected = np.array(draw(st.lists(value, min_size=size, max_size=size)), dtype=np.float64).astype(np.float32).astype(dtype)
    actual = expected.copy()
    for i in range(size):
        change = draw(st.sampled_from(["same", "nudge", "replace"]))
        if change == "nudge":
            actual[i] = dtype(float(expected[i]) + draw(st.floats(-1e-3, 1e-3)))
        elif change == "replace":
            actual[i] = dtype(np.float32(draw(value)))
    return expected, actual


def as_floats(array) -> list[float]:
    return [float(x) for x in np.asarray(array).astype(np.float64).ravel()]


def strict_json(stats) -> dict:
    """The record as its file holds it: RFC 8259 JSON, no NaN or Infinity tokens."""
    def refuse(token):
        raise AssertionError(f"non-standard JSON token {token}")
    return json.loads(msgspec.json.encode(stats), parse_constant=refuse)


@pytest.mark.parametrize("dtype", DTYPES)
@PROPERTIES
@given(data=st.data())
def test_comparator_matches_the_reference_judgement(dtype, data):
    expected, actual = data.draw(pair(dtype))
    tol = TOLERANCES[dtype]
    result = compare({"y": expected}, {"y": actual}, lambda output: tol)
    close = [reference_close(e, a, tol.rtol, tol.atol) for e, a in zip(as_floats(expected), as_floats(actual))]
    assert (result.status == Status.PASS) == all(close)
    if not all(close):
        assert result.status == Status.NUMERIC_MISMATCH
    stats = result.outputs["y"]
    assert stats.mismatch_fraction == pytest.approx(close.count(False) / len(close))
    nonfinite = [not (math.isfinite(e) and math.isfinite(a)) and not c for e, a, c in zip(as_floats(expected), as_floats(actual), close)]
    assert stats.nonfinite_mismatches == sum(nonfinite)
    finite = [abs(a - e) for e, a in zip(as_floats(expected), as_floats(actual)) if math.isfinite(e) and math.isfinite(a)]
    largest = max(finite, default=None)
    assert stats.max_abs == (largest if largest is not None and math.isfinite(largest) else None)
    assert (stats.atol_to_pass is None) == bool(sum(nonfinite))
    strict_json(stats)


@pytest.mark.parametrize("dtype", ["float16", "bfloat16"])
@PROPERTIES
@given(data=st.data())
def test_low_precision_is_judged_against_the_oracle(dtype, data):
    """Pass iff no non-finite value differs from both the oracle and eager, and every element is within tolerance of the
    oracle or the largest error is at most ORACLE_FACTOR times eager's own."""
    eager, actual = data.draw(pair(dtype))
    truth = np.array(as_floats(eager)) + np.array(data.draw(st.lists(st.floats(-1e-2, 1e-2), min_size=eager.size, max_size=eager.size)))
    tol = TOLERANCES[dtype]
    result = compare({"y": eager}, {"y": actual}, lambda output: tol, oracle={"y": truth}, judge_by_oracle=True)
    t, e, a = as_floats(truth), as_floats(eager), as_floats(actual)

    def nonfinite_ok(x, y):
        return (math.isnan(x) and math.isnan(y)) or (math.isinf(x) and x == y)

    bad_nonfinite = any(not (math.isfinite(ti) and math.isfinite(ai)) and not nonfinite_ok(ti, ai) and not nonfinite_ok(ei, ai)
                        for ti, ei, ai in zip(t, e, a))
    close = all(nonfinite_ok(ei, ai) or reference_close(ti, ai, tol.rtol, tol.atol) for ti, ei, ai in zip(t, e, a))
    own = [abs(ai - ti) for ti, ai in zip(t, a) if math.isfinite(ti) and math.isfinite(ai)]
    eager_own = [abs(ei - ti) for ti, ei in zip(t, e) if math.isfinite(ti) and math.isfinite(ei)]
    like_torch = bool(own and eager_own) and max(own) <= ORACLE_FACTOR * max(eager_own)
    assert (result.status == Status.PASS) == (not bad_nonfinite and (close or like_torch))
    assert result.outputs["y"].yardstick == "oracle"
    strict_json(result.outputs["y"])
