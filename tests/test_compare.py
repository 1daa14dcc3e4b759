import numpy as np
import pytest

from verdict.compare import compare
from verdict.status import Status
from verdict.tolerances import TOLERANCES, Tolerance


def tolerance(dtype):
    return lambda output: TOLERANCES[dtype]


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
    result = compare(expected, copy(expected), tolerance("float32"))
    assert result.status == Status.PASS
    assert result.outputs["output"].max_abs == 0.0


def test_runtime_level_noise_passes(expected):
    actual = copy(expected)
    actual["output"] += np.float32(1e-7)
    assert compare(expected, actual, tolerance("float32")).status == Status.PASS


def test_planted_1e3_perturbation_fails(expected):
    actual = copy(expected)
    actual["h_n"][0, 1, 2] += np.float32(1e-3)
    result = compare(expected, actual, tolerance("float32"))
    assert result.status == Status.NUMERIC_MISMATCH
    stats = result.outputs["h_n"]
    assert stats.max_abs == pytest.approx(1e-3, rel=1e-3)
    assert stats.mismatch_fraction == pytest.approx(1 / 24)
    assert stats.atol_to_pass == pytest.approx(1e-3 - 1e-4 * abs(expected["h_n"][0, 1, 2]), rel=1e-2)
    assert result.outputs["output"].status == Status.PASS


def test_relative_1e3_perturbation_fails(expected):
    actual = copy(expected)
    actual["output"] *= np.float32(1 + 1e-3)
    assert compare(expected, actual, tolerance("float32")).status == Status.NUMERIC_MISMATCH


def test_swapped_axes_are_a_shape_mismatch(expected):
    actual = copy(expected)
    actual["output"] = actual["output"].transpose(1, 0, 2)
    result = compare(expected, actual, tolerance("float32"))
    assert result.status == Status.SHAPE_MISMATCH
    assert result.outputs["output"].actual_shape == [3, 5, 8]
    assert "[3, 5, 8] != [5, 3, 8]" in result.message


def test_wrong_dtype_is_a_dtype_mismatch_with_stats(expected):
    actual = copy(expected)
    actual["c_n"] = actual["c_n"].astype(np.float64)
    result = compare(expected, actual, tolerance("float32"))
    assert result.status == Status.DTYPE_MISMATCH
    assert result.outputs["c_n"].actual_dtype == "float64"
    assert result.outputs["c_n"].max_abs == 0.0


def test_missing_output_is_a_count_mismatch(expected):
    actual = copy(expected)
    del actual["c_n"]
    result = compare(expected, actual, tolerance("float32"))
    assert result.status == Status.OUTPUT_COUNT_MISMATCH
    assert "missing ['c_n']" in result.message


def test_nan_never_passes_a_number(expected):
    actual = copy(expected)
    actual["output"][0, 0, 0] = np.nan
    result = compare(expected, actual, tolerance("float32"))
    assert result.status == Status.NUMERIC_MISMATCH
    stats = result.outputs["output"]
    assert stats.nonfinite_mismatches == 1 and stats.atol_to_pass is None
    assert "1 non-finite value(s) differ (at [0, 0, 0]: expected" in result.message


@pytest.mark.parametrize("dtype", ["float16", "float32", "float64"])
@pytest.mark.parametrize("want, got, status", [
    (np.inf, 1.0, Status.NUMERIC_MISMATCH), (np.inf, -np.inf, Status.NUMERIC_MISMATCH), (np.nan, 1.0, Status.NUMERIC_MISMATCH),
    (1.0, np.inf, Status.NUMERIC_MISMATCH), (np.nan, np.nan, Status.PASS), (np.inf, np.inf, Status.PASS), (-np.inf, -np.inf, Status.PASS),
])
def test_non_finite_values_match_only_themselves(dtype, want, got, status):
    """The suite once passed inf against 1.0 ("max abs inf" within tolerance): never again, in any dtype."""
    e = {"y": np.array([want, 0.5], dtype=dtype)}
    a = {"y": np.array([got, 0.5], dtype=dtype)}
    assert compare(e, a, tolerance(dtype)).status == status


def test_oracle_judges_low_precision():
    """fp16: a runtime closer to the fp64 truth than torch eager passes though it differs from eager beyond tolerance."""
    truth = np.array([1.0, 2.0, 3.0])
    eager = (truth + 0.05).astype(np.float16)  # torch's own error, say 0.05
    closer = truth.astype(np.float16)  # 0.05 from eager: beyond atol 1e-3 + rtol 1e-2 * |eager|
    far = (truth + 0.2).astype(np.float16)
    judge = dict(oracle={"y": truth}, judge_by_oracle=True)
    assert compare({"y": eager}, {"y": closer}, tolerance("float16")).status == Status.NUMERIC_MISMATCH
    assert compare({"y": eager}, {"y": closer}, tolerance("float16"), **judge).status == Status.PASS
    result = compare({"y": eager}, {"y": far}, tolerance("float16"), **judge)
    assert result.status == Status.NUMERIC_MISMATCH and "from the fp64 oracle" in result.message
    stats = result.outputs["y"]
    assert stats.yardstick == "oracle" and stats.oracle_max_abs == pytest.approx(0.2, rel=1e-2)
    assert stats.eager_oracle_max_abs == pytest.approx(0.05, rel=0.1)


def test_oracle_factor_admits_torch_sized_errors():
    """Outside tolerance of the oracle, but no worse than twice torch eager's own error: a precision limit, not a bug."""
    truth = np.array([100.0, 200.0])
    eager = (truth + 2.0).astype(np.float16)  # beyond atol 1e-3 + rtol 1e-2 * 100 = 1.001
    same = (truth - 1.9).astype(np.float16)
    worse = (truth - 4.5).astype(np.float16)
    judge = dict(oracle={"y": truth}, judge_by_oracle=True)
    assert compare({"y": eager}, {"y": same}, tolerance("float16"), **judge).status == Status.PASS
    assert compare({"y": eager}, {"y": worse}, tolerance("float16"), **judge).status == Status.NUMERIC_MISMATCH


def test_fp32_records_the_oracle_without_judging_by_it(expected):
    oracle = {k: v.astype(np.float64) + 1e-9 for k, v in expected.items()}
    result = compare(expected, copy(expected), tolerance("float32"), oracle=oracle)
    assert result.status == Status.PASS
    assert result.outputs["h_n"].yardstick == "eager" and result.outputs["h_n"].oracle_max_abs == pytest.approx(1e-9, rel=0.5)


def test_per_output_tolerances(expected):
    actual = copy(expected)
    actual["h_n"] += np.float32(5e-5)
    loose_h_n = lambda output: TOLERANCES["float32"] if output != "h_n" else TOLERANCES["float16"]  # noqa: E731
    assert compare(expected, actual, tolerance("float32")).status == Status.NUMERIC_MISMATCH
    result = compare(expected, actual, loose_h_n)
    assert result.status == Status.PASS and result.outputs["h_n"].tolerance == TOLERANCES["float16"]


def test_fp16_tolerance_accepts_measured_ort_error():
    e = {"output": np.linspace(-1, 1, 16, dtype=np.float16)}
    a = {"output": (e["output"].astype(np.float32) + 2.4e-4).astype(np.float16)}
    assert compare(e, a, tolerance("float16")).status == Status.PASS


def test_one_bound_given_keeps_the_dtypes_other():
    """--atol alone once set rtol to 0; now each bound given replaces that bound only, per output or for all."""
    from verdict.tolerances import ToleranceOverrides, parse_override

    base = TOLERANCES["float32"]
    assert ToleranceOverrides(atol={"*": 1e-6}).for_output(base, "h_n") == Tolerance(rtol=base.rtol, atol=1e-6)
    assert ToleranceOverrides(rtol={"*": 1e-3}).for_output(base, "output") == Tolerance(rtol=1e-3, atol=base.atol)
    per_output = ToleranceOverrides(atol={"*": 1e-6, "h_n": 1e-4})
    assert per_output.for_output(base, "h_n").atol == 1e-4 and per_output.for_output(base, "c_n").atol == 1e-6
    assert parse_override("1e-4") == ("*", 1e-4) and parse_override("h_n:1e-4") == ("h_n", 1e-4)
    for bad in ("", "h_n:", "x", "h_n:-1", "inf"):
        with pytest.raises(ValueError):
            parse_override(bad)


def test_a_bad_tolerance_is_exit_2(tmp_path):
    from conftest import run_cli

    proc = run_cli("run", "--preset", "smoke", "--atol", "h_n:lots", "--out", tmp_path / "out")
    assert proc.returncode == 2 and proc.stderr.count("\n") == 1 and "--atol 'h_n:lots' is not a tolerance" in proc.stderr
