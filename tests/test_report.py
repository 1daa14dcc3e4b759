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
