import numpy as np
import pytest

from cases.status import Status
from conformance.compare import TOLERANCES, compare


@pytest.fixture
def expected():
    rng = np.random.default_rng(0)
    return {
        "output": rng.standard_normal((5, 3, 8)).astype(np.float32),
        "h_n": rng.standard_normal((1, 3, 8)).astype(np.float32),
        "c_n": rng.standard_normal((1, 3, 8)).astype(np.float32),
    }


def copy(outputs):
    return {k: v.copy() for k, v in outputs.items()}


def test_identical_outputs_pass(expected):
    result = compare(expected, copy(expected), TOLERANCES["float32"])
    assert result.status == Status.PASS
    assert result.outputs["output"].max_abs == 0.0


def test_runtime_level_noise_passes(expected):
    actual = copy(expected)
    actual["output"] += np.float32(1e-7)
    assert compare(expected, actual, TOLERANCES["float32"]).status == Status.PASS


def test_planted_1e3_perturbation_fails(expected):
    actual = copy(expected)
    actual["h_n"][0, 1, 2] += np.float32(1e-3)
    result = compare(expected, actual, TOLERANCES["float32"])
    assert result.status == Status.NUMERIC_MISMATCH
    stats = result.outputs["h_n"]
    assert stats.max_abs == pytest.approx(1e-3, rel=1e-3)
    assert stats.mismatch_fraction == pytest.approx(1 / 24)
    assert stats.atol_to_pass == pytest.approx(1e-3 - 1e-4 * abs(expected["h_n"][0, 1, 2]), rel=1e-2)
    assert result.outputs["output"].status == Status.PASS


def test_relative_1e3_perturbation_fails(expected):
    actual = copy(expected)
    actual["output"] *= np.float32(1 + 1e-3)
    assert compare(expected, actual, TOLERANCES["float32"]).status == Status.NUMERIC_MISMATCH


def test_swapped_axes_are_a_shape_mismatch(expected):
    actual = copy(expected)
    actual["output"] = actual["output"].transpose(1, 0, 2)
    result = compare(expected, actual, TOLERANCES["float32"])
    assert result.status == Status.SHAPE_MISMATCH
    assert result.outputs["output"].actual_shape == [3, 5, 8]
    assert "[3, 5, 8] != [5, 3, 8]" in result.message


def test_wrong_dtype_is_a_dtype_mismatch_with_stats(expected):
    actual = copy(expected)
    actual["c_n"] = actual["c_n"].astype(np.float64)
    result = compare(expected, actual, TOLERANCES["float32"])
    assert result.status == Status.DTYPE_MISMATCH
    assert result.outputs["c_n"].actual_dtype == "float64"
    assert result.outputs["c_n"].max_abs == 0.0


def test_missing_output_is_a_count_mismatch(expected):
    actual = copy(expected)
    del actual["c_n"]
    result = compare(expected, actual, TOLERANCES["float32"])
    assert result.status == Status.OUTPUT_COUNT_MISMATCH
    assert "missing ['c_n']" in result.message


def test_nan_never_passes(expected):
    actual = copy(expected)
    actual["output"][0, 0, 0] = np.nan
    result = compare(expected, actual, TOLERANCES["float32"])
    assert result.status == Status.NUMERIC_MISMATCH
    assert result.outputs["output"].max_abs == np.inf


def test_fp16_tolerance_accepts_measured_ort_error():
    e = {"output": np.linspace(-1, 1, 16, dtype=np.float16)}
    a = {"output": (e["output"].astype(np.float32) + 2.4e-4).astype(np.float16)}
    assert compare(e, a, TOLERANCES["float16"]).status == Status.PASS
