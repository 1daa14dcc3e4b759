from cases import preset_cases
from conformance.plan import make_jobs
from cases.modes import MODES
from conformance.runner import DEFAULT_RUNTIMES
from exporters import DEFAULT_OPSET, EXPORTERS


def test_smoke_run_writes_results_and_report(smoke_run):
    proc, out = smoke_run["proc"], smoke_run["out"]
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert (out / "results.jsonl").exists() and (out / "report.html").exists()
    assert "results in" in proc.stdout


def test_every_planned_result_is_recorded_once(smoke_run):
    cases = [c for c in preset_cases("smoke") if not c.invalid_reason()]
    jobs = make_jobs(cases, list(EXPORTERS), list(MODES.values()), DEFAULT_RUNTIMES, [DEFAULT_OPSET])
    planned = {k for job in jobs for k in job.result_keys()}
    keys = [r.key for r in smoke_run["results"] if r.status != "NOT_APPLICABLE"]
    assert len(keys) == len(set(keys))
    assert set(keys) == planned


def test_header_records_versions_and_platform(smoke_run):
    header = smoke_run["header"]
    assert header.schema == 2
    assert header.versions["torch"].startswith("2.") and header.versions["onnxruntime"]
    assert header.platform.cpu and header.options.preset == "smoke"
    assert header.options.opsets == [DEFAULT_OPSET] and header.options.exporters == list(EXPORTERS)
    assert header.planned.count == len(smoke_run["results"])


def test_result_records_carry_the_documented_keys(smoke_run):
    passing = next(r for r in smoke_run["results"] if r.status == "PASS")
    for name in ("output", "h_n", "c_n"):
        stats = passing.outputs[name]
        assert stats.expected_shape == stats.actual_shape
        assert stats.max_abs < 1e-5 and stats.max_rel is not None and stats.oracle_max_abs < 1e-5
        assert stats.tolerance.rtol == 1e-4 and stats.yardstick == "eager"


def test_not_applicable_case_is_listed(smoke_run):
    na = [r for r in smoke_run["results"] if r.status == "NOT_APPLICABLE"]
    assert [r.case for r in na] == ["L1-uni-proj8-sf-bias-h0-fp32"]
    assert "proj_size >= hidden_size" in na[0].message
    assert "Not applicable (1)" in (smoke_run["out"] / "report.html").read_text()


def test_cuda_column_is_skipped_with_its_reason_without_a_gpu(smoke_run):
    import onnxruntime

    cuda = [r for r in smoke_run["results"] if r.runtime == "ort-cuda"]
    assert cuda
    if "CUDAExecutionProvider" not in onnxruntime.get_available_providers():
        assert {r.status for r in cuda} == {"SKIPPED"}
        assert all(r.message.startswith("CUDA EP not available") for r in cuda)


def test_exporter_chatter_stays_out_of_the_terminal(smoke_run):
    proc = smoke_run["proc"]
    for noise in ("torchvision is not installed", "SymbolicValueError", "Applied", "ShapeInferenceError"):
        assert noise not in proc.stdout + proc.stderr
    dynamo = next(r for r in smoke_run["results"] if r.exporter == "dynamo" and r.export)
    assert dynamo.export.log
