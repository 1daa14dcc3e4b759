import subprocess
import sys

from reports import render_html

HEADER = {"record": "header", "versions": {"torch": "2.13.0"}, "platform": {"cpu": "test cpu"}, "command": "x"}


def result(case="L1-uni-noproj-sf-bias-h0-fp32", status="PASS", runtime="ort-cpu", shape=(5, 3), **extra):
    return {
        "record": "result", "case": case, "params": {}, "exporter": "torchscript", "dynamic": False, "opset": 18,
        "runtime": runtime, "run_shape": list(shape), "status": status, "raw_status": status, "stage": "compare",
        "error": None, "message": "", "outputs": None, "timings": {}, "expectation": None, **extra,
    }


def test_error_text_is_escaped():
    evil = "<script>alert('x')</script>"
    html = render_html(HEADER, [result(status="RUN_ERROR", message=evil, error={"type": "E", "message": evil, "text": evil})])
    assert evil not in html
    assert "&lt;script&gt;alert(" in html


def test_matrix_has_one_cell_per_configuration_and_column():
    results = [result(runtime=r, case=c) for r in ("ort-cpu", "reference") for c in ("A", "B", "C")]
    html = render_html(HEADER, results)
    assert html.count('<td class="cell ') == 6
    assert html.count('class="result"') == 6


def test_cell_shows_worst_status_over_run_shapes():
    html = render_html(HEADER, [result(shape=(5, 3)), result(shape=(1, 1), status="RUN_ERROR")])
    assert '<td class="cell bad" data-status="RUN_ERROR"' in html


def test_not_applicable_cases_are_listed():
    na = result(case="L1-uni-proj8-sf-bias-h0-fp32", status="NOT_APPLICABLE", message="torch rejects proj_size >= hidden_size",
                exporter=None, runtime=None, run_shape=None)
    html = render_html(HEADER, [result(), na])
    assert "Not applicable (1)" in html and "torch rejects proj_size &gt;= hidden_size" in html


def test_expectation_links_are_shown():
    xfail = result(status="XFAIL", raw_status="EXPORT_ERROR",
                   expectation={"id": "e1", "reason": "known bug", "link": "https://github.com/o/r/issues/1"})
    html = render_html(HEADER, [xfail])
    assert 'href="https://github.com/o/r/issues/1"' in html and "observed EXPORT_ERROR" in html


def test_reports_do_not_import_torch():
    code = "import sys, reports, conformance.results, conformance.runtimes, conformance.compare; print('torch' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "False"


def compared(runtime, max_abs, status="PASS", **extra):
    stats = {"expected_shape": [5, 3, 8], "actual_shape": [5, 3, 8], "expected_dtype": "float32", "actual_dtype": "float32",
             "max_abs": max_abs, "max_rel": max_abs, "mismatch_fraction": 0.0, "atol_to_pass": 0.0, "status": status}
    return result(runtime=runtime, status=status, outputs={name: stats for name in ("output", "h_n", "c_n")},
                  tolerance={"rtol": 1e-4, "atol": 1e-5}, **extra)


def test_error_distribution_has_a_row_per_runtime_and_one_for_eager_on_cuda():
    from reports.charts import EAGER_CUDA_LABEL, error_histograms

    eager = {"output": 1e-4, "h_n": 5e-5, "c_n": 2e-4}
    rows = error_histograms([compared("ort-cpu", 1e-7, eager_cuda_max_abs=eager),
                             compared("ort-cuda", 2e-4, "NUMERIC_MISMATCH", eager_cuda_max_abs=eager)])
    assert [row["label"] for row in rows] == ["ort-cpu", "ort-cuda", EAGER_CUDA_LABEL]
    by_label = {row["label"]: {h["name"]: h for h in row["histograms"]} for row in rows}
    assert [b["label"] for b in by_label["ort-cuda"]["c_n"]["bins"] if b["bad"]] == ["1e-4"]
    assert [b["label"] for b in by_label["ort-cpu"]["c_n"]["bins"] if b["ok"]] == ["1e-7"]
    # one eager comparison per case and run shape, however many runtimes carried it; recorded, not judged
    assert [(b["label"], b["info"]) for b in by_label[EAGER_CUDA_LABEL]["output"]["bins"] if b["info"]] == [("1e-4", 1)]
    html = render_html(HEADER, [compared("ort-cpu", 1e-7, eager_cuda_max_abs=eager)])
    assert "torch eager on CUDA vs on CPU" in html and "h_n 5.00e-05" in html


def test_error_distribution_names_outputs_as_the_model_does():
    """Node cases have Y, Y_h, Y_c: their errors are charted too."""
    from reports.charts import error_histograms

    node = result(case="node-lstm-reverse", outputs={"Y": {"max_abs": 1e-7, "status": "PASS"}, "Y_h": {"max_abs": 0.0, "status": "PASS"}})
    assert [h["name"] for h in error_histograms([node])[0]["histograms"]] == ["Y", "Y_h"]


def test_corpus_run_names_the_versions_its_models_were_exported_with():
    header = {**HEADER, "corpus_exported": {"versions": {"torch": "2.13.0", "onnx": "1.23.2", "onnxscript": "0.7.2"}, "started": "then"}}
    assert "torch 2.13.0, onnx 1.23.2, onnxscript 0.7.2 (corpus made then)" in render_html(header, [result()])
