import pytest

from cases.expectations import ExpectationsError, apply_expectations, load_expectations


def record(**overrides):
    base = {
        "raw_status": "EXPORT_ERROR",
        "params": {"proj_size": 3, "seq_len": 5, "batch": 3, "dtype": "float32", "num_layers": 1, "batch_first": False},
        "exporter": "torchscript",
        "runtime": "ort-cpu",
        "dynamic": False,
        "run_shape": [5, 3],
    }
    return {**base, **overrides}


@pytest.fixture(scope="module")
def expectations():
    return load_expectations()


def test_every_shipped_expectation_has_a_link(expectations):
    assert expectations
    assert all(e.link.startswith("https://") and e.reason for e in expectations)


def test_matching_failure_becomes_xfail(expectations):
    result = apply_expectations(record(), expectations)
    assert result["status"] == "XFAIL"
    assert result["expectation"]["id"] == "torchscript-lstm-projection"


def test_other_failure_stays_a_failure(expectations):
    assert apply_expectations(record(raw_status="NUMERIC_MISMATCH"), expectations)["status"] == "NUMERIC_MISMATCH"


def test_unexpected_pass_becomes_xpass(expectations):
    result = apply_expectations(record(raw_status="PASS"), expectations)
    assert result["status"] == "XPASS" and result["raw_status"] == "PASS"


def test_no_projection_no_expectation(expectations):
    result = apply_expectations(record(params={**record()["params"], "proj_size": 0}), expectations)
    assert result["status"] == "EXPORT_ERROR" and result["expectation"] is None


def test_off_export_shape_is_derived_from_run_shape(expectations):
    dyn = record(exporter="dynamo", dynamic=True, raw_status="RUN_ERROR", params={**record()["params"], "proj_size": 0})
    assert apply_expectations({**dyn, "run_shape": [1, 1]}, expectations)["status"] == "XFAIL"
    assert apply_expectations({**dyn, "run_shape": [5, 3]}, expectations)["status"] == "RUN_ERROR"


@pytest.mark.parametrize(
    "text, message",
    [
        ("[[expectation]\n", "not valid TOML"),
        ('[[expectation]]\nid = "x"\n', "lacks when, statuses, reason, link"),
        ('[[expectation]]\nid="x"\nwhen={colour="red"}\nstatuses=["RUN_ERROR"]\nreason="r"\nlink="l"\n', "unknown 'when' key"),
        ('[[expectation]]\nid="x"\nwhen={exporter="dynamo"}\nstatuses=["PASS"]\nreason="r"\nlink="l"\n', "'statuses' must list failure statuses"),
    ],
)
def test_malformed_files_are_rejected_with_the_reason(tmp_path, text, message):
    path = tmp_path / "bad.toml"
    path.write_text(text)
    with pytest.raises(ExpectationsError, match=message):
        load_expectations(path)


def test_missing_file_is_an_error(tmp_path):
    with pytest.raises(ExpectationsError, match="cannot read"):
        load_expectations(tmp_path / "nope.toml")


def test_string_comparison_excludes_a_runtime(expectations):
    dyn = record(exporter="dynamo", dynamic=True, raw_status="RUN_ERROR", run_shape=[1, 1],
                 params={**record()["params"], "proj_size": 0, "batch_first": True})
    assert apply_expectations(dyn, expectations)["expectation"]["id"] == "dynamo-dynamic-sequence-declared-static"
    assert apply_expectations({**dyn, "runtime": "reference", "raw_status": "PASS"}, expectations)["status"] == "PASS"


def test_runtime_options_and_params_can_be_matched(tmp_path):
    path = tmp_path / "e.toml"
    path.write_text('[[expectation]]\nid="x"\nwhen={"runtime_options.precision"="bf16", "params.layout"=1}\n'
                    'statuses=["NUMERIC_MISMATCH"]\nreason="r"\nlink="https://example.org"\n')
    expectations = load_expectations(path)
    hit = record(raw_status="NUMERIC_MISMATCH", runtime_options={"precision": "bf16"}, params={"layout": 1})
    assert apply_expectations(hit, expectations)["status"] == "XFAIL"
    assert apply_expectations({**hit, "runtime_options": {"precision": "f32"}}, expectations)["status"] == "NUMERIC_MISMATCH"


def cuda_record(**overrides):
    return record(**{"raw_status": "NUMERIC_MISMATCH", "params": {"proj_size": 0, "seq_len": 5, "batch": 3, "dtype": "float32"},
                     "runtime": "ort-cuda", "runtime_options": {"provider": "CUDAExecutionProvider"}, **overrides})


def test_nested_runtime_options_and_run_shape_can_be_matched(expectations):
    """The CUDA provider's default TF32 is expected; turning it off, or a single 1x1 step, is held to fp32 tolerance."""
    assert apply_expectations(cuda_record(), expectations)["expectation"]["id"] == "ort-cuda-tf32-default"
    tf32_off = cuda_record(runtime_options={"provider": "CUDAExecutionProvider", "provider_options": {"use_tf32": "0"}})
    assert apply_expectations(tf32_off, expectations)["status"] == "NUMERIC_MISMATCH"
    assert apply_expectations(cuda_record(run_shape=[1, 1]), expectations)["status"] == "NUMERIC_MISMATCH"


def test_float64_lstm_is_expected_to_fail_on_the_cpu_provider_only(expectations):
    fp64 = {"proj_size": 0, "seq_len": 5, "batch": 3, "dtype": "float64"}
    on_cpu = record(raw_status="RUN_ERROR", params=fp64, runtime_options={"provider": "CPUExecutionProvider"})
    on_cuda = record(raw_status="PASS", params=fp64, runtime="ort-cuda", runtime_options={"provider": "CUDAExecutionProvider"})
    assert apply_expectations(on_cpu, expectations)["status"] == "XFAIL"
    assert apply_expectations(on_cuda, expectations)["status"] == "PASS"
