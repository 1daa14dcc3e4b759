import msgspec
import pytest
from records_helpers import header as make_header
from records_helpers import result

from verdict.expectations import ExpectationsError, apply_expectations, load_expectations, stale, usage, versions_of
from verdict.records import Header, OutputStats, RunOptions

# The versions of the run that produced a record, as versions_of(header) gives them.
TORCH_213 = {"torch": "2.13.0+cpu", "onnx": "1.23.2", "onnxruntime": "1.32.0", "onnxscript": "0.7.2"}
TORCH_215 = {**TORCH_213, "torch": "2.15.0"}
PROJECTION = {"proj_size": 3, "num_layers": 1, "batch_first": False}


def record(raw_status="EXPORT_ERROR", *, params=None, **fields):
    """A result as the worker yields it (observed status), by default the TorchScript exporter refusing a projection."""
    return result(raw_status, params={**PROJECTION, **(params or {})}, **fields)


def apply(rec, expectations, versions=TORCH_213):
    return apply_expectations(rec, expectations, versions)


def write(tmp_path, *entries):
    path = tmp_path / "e.toml"
    path.write_text("".join(f'[[expectation]]\n{entry}\nstatuses = ["RUN_ERROR", "NUMERIC_MISMATCH"]\nreason = "r"\n'
                            f'link = "https://example.org"\n' if "statuses" not in entry else f"[[expectation]]\n{entry}\n"
                            for entry in entries))
    return load_expectations(path)


@pytest.fixture(scope="module")
def expectations():
    return load_expectations()


def test_every_shipped_expectation_has_a_link(expectations):
    assert expectations
    assert all(e.link.startswith("https://") and e.reason for e in expectations)


def test_matching_failure_becomes_xfail(expectations):
    applied = apply(record(), expectations)
    assert applied.status == "XFAIL" and applied.raw_status == "EXPORT_ERROR"
    assert applied.expectation.id == "torchscript-lstm-projection"


def test_a_claimed_result_failing_otherwise_stays_unexpected_and_names_the_claim(expectations):
    applied = apply(record("NUMERIC_MISMATCH"), expectations)
    assert applied.status == "NUMERIC_MISMATCH" and applied.expectation.id == "torchscript-lstm-projection"


def test_unexpected_pass_becomes_xpass(expectations):
    applied = apply(record("PASS"), expectations)
    assert applied.status == "XPASS" and applied.raw_status == "PASS"


def test_no_projection_no_expectation(expectations):
    applied = apply(record(params={"proj_size": 0}), expectations)
    assert applied.status == "EXPORT_ERROR" and applied.expectation is None


def test_suite_errors_and_skips_are_never_claimed(expectations):
    for status in ("SUITE_ERROR", "SKIPPED"):
        applied = apply(record(status), expectations)
        assert applied.status == status and applied.expectation is None


def test_off_export_shape_is_derived_from_run_shape(expectations):
    dyn = record("RUN_ERROR", exporter="dynamo", dynamic=True, params={"proj_size": 0})
    assert apply(msgspec.structs.replace(dyn, run_shape=[1, 1]), expectations).status == "XFAIL"
    assert apply(dyn, expectations).status == "RUN_ERROR"


ENTRY = 'id="x"\nstatuses=["RUN_ERROR"]\nreason="r"\nlink="l"'


@pytest.mark.parametrize(
    "text, message",
    [
        ("[[expectation]\n", "not valid TOML"),
        ('[[expectation]]\nid = "x"\n', "lacks when, statuses, reason, link"),
        (f'[[expectation]]\n{ENTRY}\nwhen={{colour="red"}}\n', "unknown 'when' key 'colour'"),
        ('[[expectation]]\nid="x"\nwhen={exporter="dynamo"}\nstatuses=["PASS"]\nreason="r"\nlink="l"\n', "'statuses' must list failure statuses"),
        ('[[expectation]]\nid="x"\nwhen={exporter="dynamo"}\nstatuses=["SUITE_ERROR"]\nreason="r"\nlink="l"\n', "'statuses' must list failure statuses"),
        (f'[[expectation]]\n{ENTRY}\nwhen={{exporter="dynamo"}}\nversions="<2.15"\n', "'versions' must be a table"),
        (f'[[expectation]]\n{ENTRY}\nwhen={{exporter="dynamo"}}\nversions={{torch="2.15"}}\n', "versions.torch = '2.15' is not a version specifier"),
        (f'[[expectation]]\n{ENTRY}\nwhen={{exporter="dynamo"}}\nversions={{torch=2}}\n', "versions.torch = 2 is not a version specifier"),
        (f'[[expectation]]\n{ENTRY}\nwhen={{exporter="dynamo"}}\nversion={{torch="<2.15"}}\n', "unknown field\\(s\\) version"),
        # Typed conditions: each value checked against the fact it names, naming the entry.
        (f'[[expectation]]\n{ENTRY}\nwhen={{bidirectional="yes"}}\n', r"\(x\): when.bidirectional = 'yes' is str, and bidirectional is bool"),
        (f'[[expectation]]\n{ENTRY}\nwhen={{num_layers="2"}}\n', "when.num_layers = '2' is str, and num_layers is int"),
        (f'[[expectation]]\n{ENTRY}\nwhen={{opset=[18, "23"]}}\n', "when.opset = '23' is str"),
        (f'[[expectation]]\n{ENTRY}\nwhen={{proj_size=">x"}}\n', "when.proj_size: 'x' is not a int"),
        (f'[[expectation]]\n{ENTRY}\nwhen={{bidirectional="==maybe"}}\n', "'maybe' is not a bool"),
        (f'[[expectation]]\n{ENTRY}\nwhen={{dtype=">float16"}}\n', "> orders numbers, and dtype is str"),
        (f'[[expectation]]\n{ENTRY}\nwhen={{"params.layout"="1"}}\n', "when.params.layout = '1' is str, and params.layout is int"),
        (f'[[expectation]]\n{ENTRY}\nwhen={{"params.colour"=1}}\n', "unknown 'when' key 'params.colour'"),
        (f'[[expectation]]\n{ENTRY}\nwhen={{exporter="dynamo"}}\nmax_abs=">1e-3"\n', "must bound the error from above"),
        (f'[[expectation]]\n{ENTRY}\nwhen={{exporter="dynamo"}}\nmax_abs="<=1e-3"\n', "max_abs bounds a NUMERIC_MISMATCH"),
    ],
)
def test_malformed_files_are_rejected_with_the_reason(tmp_path, text, message):
    path = tmp_path / "bad.toml"
    path.write_text(text)
    with pytest.raises(ExpectationsError, match=message):
        load_expectations(path)


def test_a_bad_entry_is_a_one_line_exit_2(tmp_path):
    from conftest import run_cli

    path = tmp_path / "bad.toml"
    path.write_text(f'[[expectation]]\n{ENTRY}\nwhen={{bias="false"}}\n')
    proc = run_cli("run", "--case", "num_layers=1", "--expectations", path, "--out", tmp_path / "out")
    assert proc.returncode == 2 and proc.stderr.count("\n") == 1 and "(x): when.bias = 'false' is str" in proc.stderr
    assert not (tmp_path / "out").exists()


def test_missing_file_is_an_error(tmp_path):
    with pytest.raises(ExpectationsError, match="cannot read"):
        load_expectations(tmp_path / "nope.toml")


def test_boolean_comparisons_match_booleans(tmp_path):
    """bool("false") is True: the suite once never matched "==false". Now it is parsed as the boolean it names."""
    expectations = write(tmp_path, 'id = "x"\nwhen = { bias = "==false", batch_first = "!=true" }')
    assert apply(record("RUN_ERROR", params={"bias": False}), expectations).status == "XFAIL"
    assert apply(record("RUN_ERROR", params={"bias": True}), expectations).status == "RUN_ERROR"
    assert apply(record("RUN_ERROR", params={"bias": False, "batch_first": True}), expectations).status == "RUN_ERROR"


def test_a_missing_fact_matches_no_condition_unless_asked(tmp_path):
    """A node case has no proj_size: "!=3" does not claim it; "<missing>" does."""
    expectations = write(tmp_path, 'id = "not-three"\nwhen = { proj_size = "!=3" }', 'id = "absent"\nwhen = { "params.op" = "<missing>", exporter = "dynamo" }')
    node = result("RUN_ERROR", case="node-lstm-clip", exporter="onnx.helper", params={"op": "LSTM"})
    node = msgspec.structs.replace(node, params={"op": "LSTM", "seq_len": 4, "batch": 3})
    assert apply(node, expectations).expectation is None
    assert apply(record("RUN_ERROR", params={"proj_size": 0}), expectations).expectation.id == "not-three"
    assert apply(record("RUN_ERROR", exporter="dynamo", params={"proj_size": 3}), expectations).expectation.id == "absent"


def test_the_first_claiming_entry_decides_for_failures_and_passes_alike(tmp_path):
    """One rule: the first entry whose conditions hold claims the result, whatever its status."""
    expectations = write(tmp_path, 'id = "wide"\nwhen = { exporter = "torchscript" }\nstatuses = ["LOAD_ERROR"]\nreason = "r"\nlink = "l"',
                         'id = "narrow"\nwhen = { exporter = "torchscript", runtime = "ort-cpu" }')
    for status in ("RUN_ERROR", "PASS", "LOAD_ERROR"):
        assert apply(record(status), expectations).expectation.id == "wide"
    assert apply(record("RUN_ERROR"), expectations).status == "RUN_ERROR"  # wide claims it, and does not explain it


def test_a_precision_bound_limits_what_an_expectation_absorbs(tmp_path):
    expectations = write(tmp_path, 'id = "bf16"\nwhen = { runtime = "openvino" }\nstatuses = ["NUMERIC_MISMATCH"]\nmax_abs = "<=2e-2"\n'
                                   'reason = "r"\nlink = "l"')
    rounding = result("NUMERIC_MISMATCH", runtime="openvino", max_abs=3e-3)
    wrong = result("NUMERIC_MISMATCH", runtime="openvino", max_abs=0.47)
    assert apply(rounding, expectations).status == "XFAIL"
    assert apply(wrong, expectations).status == "NUMERIC_MISMATCH" and apply(wrong, expectations).expectation.id == "bf16"
    nonfinite = msgspec.structs.replace(rounding, outputs={"output": OutputStats(status="NUMERIC_MISMATCH", max_abs=1e-3, nonfinite_mismatches=2)})
    assert apply(nonfinite, expectations).status == "NUMERIC_MISMATCH"


def test_string_comparison_excludes_a_value(tmp_path):
    expectations = write(tmp_path, 'id = "x"\nwhen = { exporter = "dynamo", runtime = "!=reference" }')
    dyn = record("RUN_ERROR", exporter="dynamo")
    assert apply(dyn, expectations).expectation.id == "x"
    assert apply(msgspec.structs.replace(dyn, runtime="reference"), expectations).expectation is None


def test_runtime_options_and_params_can_be_matched(tmp_path):
    expectations = write(tmp_path, 'id = "x"\nwhen = { "runtime_options.precision" = "bf16", "params.layout" = 1 }')
    hit = record("NUMERIC_MISMATCH", runtime_options={"precision": "bf16"}, params={"layout": 1})
    assert apply(hit, expectations).status == "XFAIL"
    assert apply(msgspec.structs.replace(hit, runtime_options={"precision": "f32"}), expectations).status == "NUMERIC_MISMATCH"


def cuda_record(**fields):
    return record("NUMERIC_MISMATCH", runtime="ort-cuda", params={"proj_size": 0},
                  **{"runtime_options": {"provider": "CUDAExecutionProvider"}, "max_abs": 1.2e-4, **fields})


def test_nested_runtime_options_and_run_shape_can_be_matched(expectations):
    """The CUDA provider's default TF32 is expected; turning it off, or a single 1x1 step, is held to fp32 tolerance."""
    assert apply(cuda_record(), expectations).expectation.id == "ort-cuda-tf32-default"
    tf32_off = cuda_record(runtime_options={"provider": "CUDAExecutionProvider", "provider_options": {"use_tf32": "0"}})
    assert apply(tf32_off, expectations).status == "NUMERIC_MISMATCH"
    assert apply(cuda_record(shape=(1, 1)), expectations).status == "NUMERIC_MISMATCH"


def test_float64_lstm_is_expected_to_fail_on_the_cpu_provider_only(expectations):
    fp64 = {"proj_size": 0, "dtype": "float64"}
    on_cpu = record("RUN_ERROR", params=fp64, runtime_options={"provider": "CPUExecutionProvider"})
    on_cuda = record("PASS", params=fp64, runtime="ort-cuda", runtime_options={"provider": "CUDAExecutionProvider"})
    assert apply(on_cpu, expectations).status == "XFAIL"
    assert apply(on_cuda, expectations).status == "PASS"


def dynamic_dynamo(**params):
    """A Dynamo dynamic-shape result off its export shape (5x3), as the time-axis expectations see it."""
    base = {"proj_size": 0, "num_layers": 1, "bidirectional": False, "batch_first": False, "bias": True, "initial_state": True}
    return record("RUN_ERROR", exporter="dynamo", dynamic=True, shape=(11, 5), params={**base, **params})


def test_version_conditions_follow_the_release_that_fixed_the_time_axis(expectations):
    sequence_first, batch_first, rnn = dynamic_dynamo(), dynamic_dynamo(batch_first=True), dynamic_dynamo(kind="rnn_tanh")
    assert apply(sequence_first, expectations).expectation.id == "dynamo-dynamic-sequence-specialised"
    assert apply(batch_first, expectations).expectation is None  # exported from a fresh state, batch-first works on 2.13
    # torch 2.15 fixed it: passing is now simply a pass, and a failure would be unexpected again.
    assert apply(msgspec.structs.replace(sequence_first, raw_status="PASS"), expectations, TORCH_215).status == "PASS"
    assert apply(sequence_first, expectations, TORCH_215).status == "RUN_ERROR"
    # nn.RNN is unrolled on every version measured.
    for versions in (TORCH_213, TORCH_215, {"torch": "2.16.0.dev20261201"}):
        assert apply(rnn, expectations, versions).expectation.id == "dynamo-dynamic-rnn-unrolled"
    # Pre-releases count (a torch nightly is newer than 2.15); a run that did not record torch meets no condition.
    assert apply(sequence_first, expectations, {"torch": "2.14.0.dev20261201"}).status == "XFAIL"
    assert apply(sequence_first, expectations, {"torch": None}).status == "RUN_ERROR"


def test_opset_condition_limits_the_bfloat16_constraint_to_opsets_below_22(expectations):
    bf16 = record("INVALID_MODEL", params={"proj_size": 0, "dtype": "bfloat16"})
    assert apply(msgspec.structs.replace(bf16, opset=18), expectations).expectation.id == "lstm-bfloat16-type-constraint"
    assert apply(msgspec.structs.replace(bf16, opset=22, raw_status="PASS"), expectations).status == "PASS"
    assert apply(msgspec.structs.replace(bf16, opset=22), expectations).status == "INVALID_MODEL"


def test_a_corpus_run_judges_exporter_behaviour_by_the_exporting_machine():
    exported = Header(schema=2, started="", command="", options=RunOptions(),
                      versions={"torch": "2.13.0+cpu", "onnxscript": "0.7.2", "onnxruntime": "1.32.0"})
    header = Header(schema=2, started="", command="", options=RunOptions(), source="corpus", corpus_exported=exported,
                    versions={"torch": None, "onnxscript": None, "onnxruntime": "1.33.0", "onnx": "1.23.2"})
    assert versions_of(header) == {"torch": "2.13.0+cpu", "onnxscript": "0.7.2", "onnxruntime": "1.33.0", "onnx": "1.23.2"}
    plain = msgspec.structs.replace(exported, versions={"torch": "2.15.0", "onnxruntime_gpu": "1.31.1"})
    assert versions_of(plain) == {"torch": "2.15.0", "onnxruntime-gpu": "1.31.1"}
    assert versions_of(None) == {}


def test_versions_condition_matches_any_recorded_package(tmp_path):
    expectations = write(tmp_path, 'id = "x"\nwhen = { runtime = "ort-cpu" }\nversions = { onnxruntime = ">=1.32,<1.33", torch = "<2.15" }')
    hit = record("NUMERIC_MISMATCH")
    assert apply(hit, expectations).status == "XFAIL"
    assert apply(hit, expectations, {**TORCH_213, "onnxruntime": "1.33.0"}).status == "NUMERIC_MISMATCH"
    assert apply(hit, expectations, TORCH_215).status == "NUMERIC_MISMATCH"


def test_usage_tells_used_stale_and_out_of_scope_apart(tmp_path):
    expectations = write(
        tmp_path,
        'id = "used"\nwhen = { exporter = "torchscript", proj_size = ">0" }',
        'id = "stale"\nwhen = { proj_size = ">0", runtime = "reference", dynamic = true }',  # each covered, never together
        'id = "other-runtime"\nwhen = { runtime = "tract" }',
        'id = "other-cases"\nwhen = { kind = "gru" }',
        'id = "other-torch"\nwhen = { exporter = "torchscript" }\nversions = { torch = ">=2.15" }',
    )
    results = [apply(r, expectations) for r in (record("RUN_ERROR"), record("PASS", params={"proj_size": 0}, runtime="reference"),
                                                 record("PASS", params={"proj_size": 0}, dynamic=True))]
    report = {u.id: u for u in usage(expectations, results, TORCH_213)}
    assert report["used"].state == "used" and report["used"].claimed == 1
    assert report["stale"].state == "stale" and [u.id for u in stale(list(report.values()))] == ["stale"]
    assert report["other-runtime"].state == "out of scope" and "runtime ==tract" in report["other-runtime"].why
    assert report["other-cases"].state == "out of scope" and "no case of this run meets kind ==gru" in report["other-cases"].why
    assert report["other-torch"].state == "out of scope" and "holds for torch >=2.15" in report["other-torch"].why


def test_an_expectation_matching_nothing_fails_a_strict_run(tmp_path):
    """Planted: an entry whose conditions this run covers one by one but never together (onnx.reference has no execution
    provider). --strict-expectations exits 1 and names it."""
    from conftest import run_cli

    path = tmp_path / "e.toml"
    path.write_text(open(load_expectations.__globals__["DEFAULT_EXPECTATIONS"]).read()
                    + '\n[[expectation]]\nid = "planted-stale"\nwhen = { num_layers = 1, runtime = "reference", "runtime_options.provider" = "CPUExecutionProvider" }\n'
                      'statuses = ["RUN_ERROR"]\nreason = "r"\nlink = "https://example.org"\n')
    args = ("run", "--case", "num_layers=1", "--exporters", "torchscript", "--modes", "static", "--runtimes", "ort-cpu,reference",
            "--expectations", path, "--no-progress")
    proc = run_cli(*args, "--out", tmp_path / "lenient")
    assert proc.returncode == 0, proc.stderr
    assert "expectation planted-stale matched nothing" in proc.stderr
    proc = run_cli(*args, "--out", tmp_path / "strict", "--strict-expectations")
    assert proc.returncode == 1 and "planted-stale" in proc.stderr
    assert "planted-stale" in (tmp_path / "strict" / "report.html").read_text()


@pytest.mark.slow
def test_report_judges_the_results_afresh_by_the_expectations_it_is_given(smoke_run, tmp_path):
    """`report --expectations FILE` says what FILE says: a pass it claims is XPASS (exit 1), and nothing is rewritten."""
    from conftest import read_jsonl, run_cli

    claimed = next(r for r in smoke_run["results"] if r.status.value == "PASS")
    file = tmp_path / "expectations.toml"
    file.write_text(f'[[expectation]]\nid = "claims-a-pass"\nwhen = {{ case = "{claimed.case}", exporter = "{claimed.exporter}" }}\n'
                    'statuses = ["NUMERIC_MISMATCH"]\nreason = "planted"\nlink = "https://example.org"\n')
    before = (smoke_run["out"] / "results.jsonl").read_text()
    proc = run_cli("report", smoke_run["out"], "--expectations", file, "-o", tmp_path / "report.html")
    assert proc.returncode == 1 and "XPASS" in proc.stdout, proc.stdout + proc.stderr
    assert (smoke_run["out"] / "results.jsonl").read_text() == before
    again = run_cli("report", smoke_run["out"], "-o", tmp_path / "again.html")
    assert again.returncode == smoke_run["proc"].returncode and "XPASS" not in again.stdout
    assert {r["status"] for r in read_jsonl(smoke_run["out"] / "results.jsonl") if r.get("key") == claimed.key} == {"PASS"}
