import pytest

from cases.expectations import ExpectationsError, apply_expectations, load_expectations, versions_of

# The versions of the run that produced a record, as versions_of(header) gives them.
TORCH_213 = {"torch": "2.13.0+cpu", "onnx": "1.23.2", "onnxruntime": "1.32.0", "onnxscript": "0.7.2"}
TORCH_215 = {**TORCH_213, "torch": "2.15.0"}


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
    result = apply_expectations(record(), expectations, TORCH_213)
    assert result["status"] == "XFAIL"
    assert result["expectation"]["id"] == "torchscript-lstm-projection"


def test_other_failure_stays_a_failure(expectations):
    assert apply_expectations(record(raw_status="NUMERIC_MISMATCH"), expectations, TORCH_213)["status"] == "NUMERIC_MISMATCH"


def test_unexpected_pass_becomes_xpass(expectations):
    result = apply_expectations(record(raw_status="PASS"), expectations, TORCH_213)
    assert result["status"] == "XPASS" and result["raw_status"] == "PASS"


def test_no_projection_no_expectation(expectations):
    result = apply_expectations(record(params={**record()["params"], "proj_size": 0}), expectations, TORCH_213)
    assert result["status"] == "EXPORT_ERROR" and result["expectation"] is None


def test_off_export_shape_is_derived_from_run_shape(expectations):
    dyn = record(exporter="dynamo", dynamic=True, raw_status="RUN_ERROR", params={**record()["params"], "proj_size": 0})
    assert apply_expectations({**dyn, "run_shape": [1, 1]}, expectations, TORCH_213)["status"] == "XFAIL"
    assert apply_expectations({**dyn, "run_shape": [5, 3]}, expectations, TORCH_213)["status"] == "RUN_ERROR"


@pytest.mark.parametrize(
    "text, message",
    [
        ("[[expectation]\n", "not valid TOML"),
        ('[[expectation]]\nid = "x"\n', "lacks when, statuses, reason, link"),
        ('[[expectation]]\nid="x"\nwhen={colour="red"}\nstatuses=["RUN_ERROR"]\nreason="r"\nlink="l"\n', "unknown 'when' key"),
        ('[[expectation]]\nid="x"\nwhen={exporter="dynamo"}\nstatuses=["PASS"]\nreason="r"\nlink="l"\n', "'statuses' must list failure statuses"),
        ('[[expectation]]\nid="x"\nwhen={exporter="dynamo"}\nversions="<2.15"\nstatuses=["RUN_ERROR"]\nreason="r"\nlink="l"\n', "'versions' must be a table"),
        ('[[expectation]]\nid="x"\nwhen={exporter="dynamo"}\nversions={torch="2.15"}\nstatuses=["RUN_ERROR"]\nreason="r"\nlink="l"\n', "versions.torch = '2.15' is not a version specifier"),
        ('[[expectation]]\nid="x"\nwhen={exporter="dynamo"}\nversions={torch=2}\nstatuses=["RUN_ERROR"]\nreason="r"\nlink="l"\n', "versions.torch = 2 is not a version specifier"),
        ('[[expectation]]\nid="x"\nwhen={exporter="dynamo"}\nversion={torch="<2.15"}\nstatuses=["RUN_ERROR"]\nreason="r"\nlink="l"\n', "unknown field\\(s\\) version"),
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
    assert apply_expectations(dyn, expectations, TORCH_213)["expectation"]["id"] == "dynamo-dynamic-sequence-declared-static"
    assert apply_expectations({**dyn, "runtime": "reference", "raw_status": "PASS"}, expectations, TORCH_213)["status"] == "PASS"


def test_runtime_options_and_params_can_be_matched(tmp_path):
    path = tmp_path / "e.toml"
    path.write_text('[[expectation]]\nid="x"\nwhen={"runtime_options.precision"="bf16", "params.layout"=1}\n'
                    'statuses=["NUMERIC_MISMATCH"]\nreason="r"\nlink="https://example.org"\n')
    expectations = load_expectations(path)
    hit = record(raw_status="NUMERIC_MISMATCH", runtime_options={"precision": "bf16"}, params={"layout": 1})
    assert apply_expectations(hit, expectations, TORCH_213)["status"] == "XFAIL"
    assert apply_expectations({**hit, "runtime_options": {"precision": "f32"}}, expectations, TORCH_213)["status"] == "NUMERIC_MISMATCH"


def cuda_record(**overrides):
    return record(**{"raw_status": "NUMERIC_MISMATCH", "params": {"proj_size": 0, "seq_len": 5, "batch": 3, "dtype": "float32"},
                     "runtime": "ort-cuda", "runtime_options": {"provider": "CUDAExecutionProvider"}, **overrides})


def test_nested_runtime_options_and_run_shape_can_be_matched(expectations):
    """The CUDA provider's default TF32 is expected; turning it off, or a single 1x1 step, is held to fp32 tolerance."""
    assert apply_expectations(cuda_record(), expectations, TORCH_213)["expectation"]["id"] == "ort-cuda-tf32-default"
    tf32_off = cuda_record(runtime_options={"provider": "CUDAExecutionProvider", "provider_options": {"use_tf32": "0"}})
    assert apply_expectations(tf32_off, expectations, TORCH_213)["status"] == "NUMERIC_MISMATCH"
    assert apply_expectations(cuda_record(run_shape=[1, 1]), expectations, TORCH_213)["status"] == "NUMERIC_MISMATCH"


def test_float64_lstm_is_expected_to_fail_on_the_cpu_provider_only(expectations):
    fp64 = {"proj_size": 0, "seq_len": 5, "batch": 3, "dtype": "float64"}
    on_cpu = record(raw_status="RUN_ERROR", params=fp64, runtime_options={"provider": "CPUExecutionProvider"})
    on_cuda = record(raw_status="PASS", params=fp64, runtime="ort-cuda", runtime_options={"provider": "CUDAExecutionProvider"})
    assert apply_expectations(on_cpu, expectations, TORCH_213)["status"] == "XFAIL"
    assert apply_expectations(on_cuda, expectations, TORCH_213)["status"] == "PASS"


def dynamic_dynamo(**params):
    """A Dynamo dynamic-shape result off its export shape (5x3), as the time-axis expectations see it."""
    base = {"proj_size": 0, "seq_len": 5, "batch": 3, "dtype": "float32", "num_layers": 1, "bidirectional": False,
            "batch_first": False, "bias": True, "initial_state": True}
    return record(exporter="dynamo", dynamic=True, raw_status="RUN_ERROR", run_shape=[11, 5], params={**base, **params})


def test_version_conditions_follow_the_release_that_fixed_the_time_axis(expectations):
    fixed_on_215, still_failing = dynamic_dynamo(), dynamic_dynamo(initial_state=False)
    for failure in (fixed_on_215, still_failing):
        assert apply_expectations(failure, expectations, TORCH_213)["expectation"]["id"] == "dynamo-dynamic-sequence-specialised"
    # torch 2.15 fixed the first: passing is now simply a pass, and a failure would be unexpected again.
    assert apply_expectations({**fixed_on_215, "raw_status": "PASS"}, expectations, TORCH_215)["status"] == "PASS"
    assert apply_expectations(fixed_on_215, expectations, TORCH_215)["status"] == "RUN_ERROR"
    assert apply_expectations(still_failing, expectations, TORCH_215)["expectation"]["id"] == "dynamo-dynamic-sequence-still-specialised"
    # Pre-releases count (a torch nightly is newer than 2.15); a run that did not record torch meets no condition.
    assert apply_expectations(still_failing, expectations, {"torch": "2.16.0.dev20261201"})["status"] == "XFAIL"
    assert apply_expectations(fixed_on_215, expectations, {"torch": None})["status"] == "RUN_ERROR"


def test_opset_condition_limits_the_bfloat16_constraint_to_opsets_below_22(expectations):
    bf16 = record(raw_status="INVALID_MODEL", params={**record()["params"], "proj_size": 0, "dtype": "bfloat16"})
    assert apply_expectations({**bf16, "opset": 18}, expectations, TORCH_213)["expectation"]["id"] == "lstm-bfloat16-type-constraint"
    assert apply_expectations({**bf16, "opset": 22, "raw_status": "PASS"}, expectations, TORCH_213)["status"] == "PASS"
    assert apply_expectations({**bf16, "opset": 22}, expectations, TORCH_213)["status"] == "INVALID_MODEL"


def test_a_corpus_run_judges_exporter_behaviour_by_the_exporting_machine():
    header = {"versions": {"torch": None, "onnxscript": None, "onnxruntime": "1.33.0", "onnx": "1.23.2"},
              "corpus_exported": {"versions": {"torch": "2.13.0+cpu", "onnxscript": "0.7.2", "onnxruntime": "1.32.0"}}}
    assert versions_of(header) == {"torch": "2.13.0+cpu", "onnxscript": "0.7.2", "onnxruntime": "1.33.0", "onnx": "1.23.2"}
    assert versions_of({"versions": {"torch": "2.15.0", "onnxruntime-gpu": "1.31.1"}}) == {"torch": "2.15.0", "onnxruntime-gpu": "1.31.1"}
    assert versions_of(None) == {}


def test_versions_condition_matches_any_recorded_package(tmp_path):
    path = tmp_path / "e.toml"
    path.write_text('[[expectation]]\nid="x"\nwhen={runtime="ort-cpu"}\nversions={onnxruntime=">=1.32,<1.33", torch="<2.15"}\n'
                    'statuses=["NUMERIC_MISMATCH"]\nreason="r"\nlink="https://example.org"\n')
    expectations = load_expectations(path)
    hit = record(raw_status="NUMERIC_MISMATCH")
    assert apply_expectations(hit, expectations, TORCH_213)["status"] == "XFAIL"
    assert apply_expectations(hit, expectations, {**TORCH_213, "onnxruntime": "1.33.0"})["status"] == "NUMERIC_MISMATCH"
    assert apply_expectations(hit, expectations, TORCH_215)["status"] == "NUMERIC_MISMATCH"
