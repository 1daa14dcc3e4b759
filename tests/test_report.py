import re
import subprocess
import sys

import msgspec
import pytest
from nightly_results import nightly_results
from records_helpers import plain_header, typed
from synthetic_results import synthetic_results

from reports import embed, render_html, render_report
from reports.kinds import kind_of
from reports.render import what_works
from verdict.records import Header

HEADER = plain_header()
BASE64 = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/="


def result(case="L1-uni-noproj-sf-bias-h0-fp32", status="PASS", runtime="ort-cpu", shape=(5, 3), **extra):
    return typed({"case": case, "params": {}, "exporter": "torchscript", "dynamic": False, "opset": 18, "runtime": runtime,
                  "run_shape": list(shape) if shape else None, "status": status, **extra})


def embedded(html: str, name: str) -> str:
    """The text of one of the page's data elements (report-data, report-details): base64, as the page holds it."""
    return html.split(f'<script type="application/octet-stream" id="{name}" data-encoding="{embed.ENCODING}">')[1].split("</script>")[0]


def embedded_data(html: str) -> dict:
    """The results the page's script draws, decoded as the page decodes them: the rows, with their details' fields."""
    data, details = (embed.unpack(embedded(html, name)) for name in ("report-data", "report-details"))
    return {**data, "rows": [{**row, **more} for row, more in zip(embed.rows(data), embed.rows(details), strict=True)]}


def test_error_text_is_escaped():
    evil = "<script>alert('x')</script>"
    html = render_html(HEADER, [result(status="RUN_ERROR", message=evil, case=evil, error={"type": "E", "message": evil, "text": evil},
                                       expectation={"id": evil, "reason": evil, "link": evil})])
    assert evil not in html and set(embedded(html, "report-data") + embedded(html, "report-details")) <= set(BASE64)
    assert "&lt;script&gt;alert(" in html  # server-rendered: the clusters, the matrix
    row = embedded_data(html)["rows"][0]  # the script's data: intact once decoded, inserted as text (tests/test_browser.py)
    assert row["message"] == evil and row["error"] == ["E", evil]


def test_matrix_has_one_cell_per_configuration_and_column():
    results = [result(runtime=r, case=c) for r in ("ort-cpu", "reference") for c in ("A", "B", "C")]
    html = render_html(HEADER, results)
    assert html.count('<td class="cell ') == 6
    assert len(embedded_data(html)["rows"]) == 6


def test_matrix_is_grouped_by_kind_with_node_cases_by_op():
    results = [result(case="L1", params={"kind": "lstm"}), result(case="G1", params={"kind": "gru", "packed": True}),
               result(case="old"), result(case="node-gru-seq"), result(case="R1", params={"kind": "rnn_relu"})]
    html = render_html(HEADER, results)
    headings = re.findall(r'<tr class="kind" data-kind="[^"]+"><th colspan="\d+">([^<]+)</th>', html)
    assert headings == ["LSTM (2 configurations)", "GRU (1 configuration)", "RNN (relu) (1 configuration)", "GRU node cases (1 configuration)"]
    assert [kind_of(r) for r in results] == ["lstm", "gru", "lstm", "node-gru", "rnn_relu"]
    assert '<option value="node-gru">GRU node cases</option>' in html


def test_what_works_counts_passes_out_of_the_results_that_ran():
    results = [result(params={"kind": "gru"}), result(params={"kind": "gru"}, status="XPASS", raw_status="PASS"),
               result(params={"kind": "gru"}, status="XFAIL", raw_status="RUN_ERROR"), result(params={"kind": "gru"}, status="RUN_ERROR"),
               result(params={"kind": "gru"}, status="SKIPPED"), result(params={"kind": "gru", "packed": True}, status="XFAIL", raw_status="EXPORT_ERROR"),
               result(case="n/a", status="NOT_APPLICABLE", exporter=None, runtime=None)]
    works = what_works(results)
    assert works["runtimes"] == ["ort-cpu"] and works["packed"]
    dense, packed = works["rows"]
    assert (dense["label"], dense["batches"], dense["exporter"], dense["mode"]) == ("GRU", "dense", "torchscript", "static")
    assert dense["cells"]["ort-cpu"] == {"ran": 4, "passed": 2, "xfail": 1, "skipped": 1, "class": "partial"}
    assert packed["cells"]["ort-cpu"] == {"ran": 1, "passed": 0, "xfail": 1, "skipped": 0, "class": "xfail"}
    assert ">2/4 <small>1 xfail</small>" in render_html(HEADER, results)


def test_every_failure_carries_its_repro_command():
    results = [result(key="L1|torchscript|static|18|ort-cpu|5x3"),
               result(key="L1|dynamo|static|18|ort-cpu|5x3", status="XFAIL", raw_status="EXPORT_ERROR"),
               result(key="L1|dynamo|dynamic|18|ort-cpu|5x3", status="RUN_ERROR")]
    rows = embedded_data(render_html(HEADER, results))["rows"]
    commands = {row["status"]: row["repro"] for row in rows}
    assert commands["PASS"] is None
    assert commands["XFAIL"] == "python -m conformance repro results.jsonl 'L1|dynamo|static|18|ort-cpu|5x3'"
    assert commands["RUN_ERROR"] == "python -m conformance repro results.jsonl 'L1|dynamo|dynamic|18|ort-cpu|5x3'"


def test_a_full_sized_report_stays_small(tmp_path):
    """At the scale of a `full` preset the report embeds each result once instead of pre-rendering its details."""
    header, results = synthetic_results()
    assert len(results) >= 3000
    path = render_report(header, results, tmp_path / "report.html")
    html = path.read_text(encoding="utf-8")
    print(f"\n{len(results)} results: report {path.stat().st_size / 1e6:.2f} MB")
    assert path.stat().st_size < 10e6
    assert len(embedded_data(html)["rows"]) == sum(r.status != "NOT_APPLICABLE" for r in results)
    assert html.count("<details") == 0 and html.count('class="result"') == 0  # drawn on demand, not pre-rendered


def test_a_nightly_sized_report_embeds_every_field_of_every_result(tmp_path):
    """15,552 results (two opsets of the default preset): the page holds each row as the script draws it, every field intact."""
    from reports.render import build_view, result_row

    header, results = nightly_results()
    assert len(results) == 15_552
    path = render_report(header, results, tmp_path / "report.html")
    size = path.stat().st_size
    print(f"\n{len(results)} results: report {size / 1e6:.2f} MB")
    assert size < 10e6
    html = path.read_text(encoding="utf-8")
    anchors = build_view(header, results)["anchors"]  # each result's place in the page: r<index>
    shown = sorted((r for r in results if r.key in anchors), key=lambda r: int(anchors[r.key][1:]))
    assert len(shown) == len(results)  # none is not applicable here
    assert embedded_data(html)["rows"] == [result_row(r, per_opset=True) for r in shown]


def test_columns_are_dictionaries_where_values_repeat():
    repeated, distinct = ["PASS", "XFAIL", "PASS", "PASS"], [["a", 1], ["b", 2], None]
    assert embed.column(repeated) == {"values": ["PASS", "XFAIL"], "codes": [0, 1, 0, 0]}
    assert embed.column(distinct) == distinct
    assert embed.column([1, 1.0, True, None]) == [1, 1.0, True, None]  # told apart by their JSON
    rows = [{"status": s, "extra": d} for s, d in zip(repeated, [*distinct, {"k": "v"}])]
    data = embed.table(rows, ["status", "extra"])
    assert embed.rows(embed.unpack(embed.pack(data))) == rows
    assert embed.pack(data) == embed.pack(data)  # the same results, the same page
    with pytest.raises(ValueError):
        embed.pack({"value": float("nan")})  # strict JSON: the page's JSON.parse would refuse it


def test_cell_shows_worst_status_over_run_shapes():
    html = render_html(HEADER, [result(shape=(5, 3)), result(shape=(1, 1), status="RUN_ERROR")])
    assert '<td class="cell bad" data-status="RUN_ERROR"' in html


def test_not_applicable_cases_are_listed():
    na = result(case="L1-uni-proj8-sf-bias-h0-fp32", status="NOT_APPLICABLE", message="torch rejects proj_size >= hidden_size",
                exporter=None, runtime=None, shape=None, stage="case")
    html = render_html(HEADER, [result(), na])
    assert "Not applicable (1)" in html and "torch rejects proj_size &gt;= hidden_size" in html


def test_expectation_links_are_shown():
    xfail = result(status="XFAIL", raw_status="EXPORT_ERROR",
                   expectation={"id": "e1", "reason": "known bug", "link": "https://github.com/o/r/issues/1"})
    html = render_html(HEADER, [xfail])
    assert 'href="https://github.com/o/r/issues/1"' in html
    [row] = embedded_data(html)["rows"]
    assert row["raw_status"] == "EXPORT_ERROR" and row["expectation"] == ["e1", "https://github.com/o/r/issues/1", "expected"]


def test_reports_do_not_import_torch():
    code = "import sys, reports, verdict.records, verdict.compare, verdict.expectations, conformance.runtimes; print('torch' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "False"


def compared(runtime, max_abs, status="PASS", **extra):
    stats = {"expected_shape": [5, 3, 8], "actual_shape": [5, 3, 8], "expected_dtype": "float32", "actual_dtype": "float32",
             "max_abs": max_abs, "max_rel": max_abs, "mismatch_fraction": 0.0, "atol_to_pass": 0.0, "status": status}
    stats["tolerance"] = {"rtol": 1e-4, "atol": 1e-5}
    return result(runtime=runtime, status=status, outputs={name: stats for name in ("output", "h_n", "c_n")}, **extra)


def test_error_distribution_has_a_row_per_runtime_and_one_for_eager_on_cuda():
    from reports.charts import EAGER_CUDA_LABEL, error_histograms

    eager = {"output": 1e-4, "h_n": 5e-5, "c_n": 2e-4}
    [group] = error_histograms([compared("ort-cpu", 1e-7, eager_cuda_max_abs=eager),
                                compared("ort-cuda", 2e-4, "NUMERIC_MISMATCH", eager_cuda_max_abs=eager)])
    rows = group["rows"]
    assert group["label"] == "LSTM" and [row["label"] for row in rows] == ["ort-cpu", "ort-cuda", EAGER_CUDA_LABEL]
    by_label = {row["label"]: {h["name"]: h for h in row["histograms"]} for row in rows}
    assert [b["label"] for b in by_label["ort-cuda"]["c_n"]["bins"] if b["bad"]] == ["1e-4"]
    assert [b["label"] for b in by_label["ort-cpu"]["c_n"]["bins"] if b["ok"]] == ["1e-7"]
    # one eager comparison per case and run shape, however many runtimes carried it; recorded, not judged
    assert [(b["label"], b["info"]) for b in by_label[EAGER_CUDA_LABEL]["output"]["bins"] if b["info"]] == [("1e-4", 1)]
    html = render_html(HEADER, [compared("ort-cpu", 1e-7, eager_cuda_max_abs=eager)])
    [row] = embedded_data(html)["rows"]  # the result's details
    assert "LSTM · torch eager on CUDA vs on CPU" in html
    assert ["torch eager on CUDA vs on CPU, max abs", "output 1.00e-04, h_n 5.00e-05, c_n 2.00e-04"] in row["lines"]


def test_error_distribution_has_every_output_of_every_kind_and_node_case():
    """Outputs are named as each model names them: GRU has no c_n, node cases have Y, Y_h, Y_c."""
    from reports.charts import error_histograms

    def outputs(*names):
        return {name: {"max_abs": 1e-7, "status": "PASS"} for name in names}

    results = [result(case="node-lstm-reverse", outputs=outputs("Y", "Y_h", "Y_c")), result(case="node-gru-seq", outputs=outputs("Y", "Y_h")),
               result(case="G1", params={"kind": "gru"}, outputs=outputs("output", "h_n")), result(case="L1", outputs=outputs("output", "h_n", "c_n"))]
    charted = {(g["label"], row["label"]): [h["name"] for h in row["histograms"]] for g in error_histograms(results) for row in g["rows"]}
    assert charted == {("LSTM", "ort-cpu"): ["output", "h_n", "c_n"], ("GRU", "ort-cpu"): ["output", "h_n"],
                       ("GRU node cases", "ort-cpu"): ["Y", "Y_h"], ("LSTM node cases", "ort-cpu"): ["Y", "Y_h", "Y_c"]}
    html = render_html(HEADER, results)
    assert html.count('<h3 class="hist-row"') == 4 and html.count("<svg") == 10


def test_corpus_run_names_the_versions_its_models_were_exported_with():
    exported = plain_header(started="then", versions={"torch": "2.13.0", "onnx": "1.23.2", "onnxscript": "0.7.2"})
    header = msgspec.structs.replace(HEADER, source="corpus", corpus_exported=exported)
    assert "torch 2.13.0, onnx 1.23.2, onnxscript 0.7.2 (corpus made then)" in render_html(header, [result()])


def test_a_run_over_several_opsets_shows_each_opset_apart():
    """--opsets makes each opset a column and a what-works row of its own; one opset keeps the plain mode."""
    from reports.render import build_view

    results = [result(opset=opset, status=status) for opset, status in ((18, "XFAIL"), (22, "PASS"))]
    view = build_view(HEADER, results)
    assert {mode for _, mode, _ in view["columns"]} == {"static · opset 18", "static · opset 22"}
    assert [row["mode"] for row in view["what_works"]["rows"]] == ["static · opset 18", "static · opset 22"]
    assert {mode for _, mode, _ in build_view(HEADER, results[:1])["columns"]} == {"static"}


def test_an_eager_cuda_difference_without_a_value_is_shown_and_not_charted(tmp_path):
    """The schema lets eager_cuda_max_abs hold None for an output (not computed on one device)."""
    from records_helpers import header, result

    record = msgspec.structs.replace(result(max_abs=1e-7), eager_cuda_max_abs={"output": None, "h_n": 2e-5})
    render_report(header(), [record], tmp_path / "report.html")
    page = (tmp_path / "report.html").read_text()
    assert "torch eager on CUDA" in page
