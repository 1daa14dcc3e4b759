"""Failure clusters: one line per underlying bug, with the axes that select it and its upstream link."""
from records_helpers import typed

from reports import render_html
from reports.clusters import failure_clusters, normalise
from verdict.records import ExpectationRef

EXPECTATION = {"id": "torchscript-lstm-projection", "reason": "no projections", "link": "https://github.com/o/r/issues/621"}


def failure(case, params, status="EXPORT_ERROR", stage="export", kind="SymbolicValueError", message="", exporter="torchscript",
            runtime="ort-cpu", expectation=None):
    return typed({
        "case": case, "params": params, "exporter": exporter, "dynamic": False, "opset": 18, "runtime": runtime, "run_shape": [5, 3],
        "status": "XFAIL" if expectation else status, "raw_status": status, "stage": stage,
        "error": {"type": kind, "message": message, "text": message} if kind else None, "message": message, "expectation": expectation,
    })


def params(**fields):
    return {"num_layers": 1, "bidirectional": False, "proj_size": 0, "seq_len": 5, "batch": 3, **fields}


def test_numbers_paths_node_names_and_hex_are_taken_out():
    a = normalise("Non-zero status running Reshape node. Name:'node_Reshape_69' Status Message: /src/ort/reshape.h:84 at 0x7f3a "
                  "Input shape:{1,1,1,8}, requested shape:{5,-1,8}")
    b = normalise("Non-zero status running Reshape node. Name:'node_Reshape_12' Status Message: /other/ort/reshape.h:90 at 0xdead "
                  "Input shape:{1,1,16}, requested shape:{5,-1,16}")
    assert a == b
    assert "69" not in a and "0x" not in a and "/src" not in a
    assert normalise("(op_type:LSTM, node name: node_lstm__2): dimension 2: (3) vs (8)") == normalise(
        "(op_type:LSTM, node name: node_lstm__7): dimension 1: (4) vs (16)")


def test_one_exporter_bug_over_many_cases_is_one_cluster_with_its_axes_and_link():
    message = "Unsupported: ONNX export of operator LSTM, LSTMs with projections. [Caused by the value 'input defined in (%{n} : Float({n}, 3))"
    results = [
        failure(f"L{layers}-{bi}", params(num_layers=layers, bidirectional=bi == "bi", proj_size=3),
                message=message.format(n=layers * 10 + len(bi)), runtime=runtime, expectation=EXPECTATION)
        for layers in (1, 2) for bi in ("uni", "bi") for runtime in ("ort-cpu", "reference")
    ]
    results += [failure("L1-uni-noproj", params(), status="PASS", stage="compare", kind=None, exporter="dynamo")]
    clusters = failure_clusters(results)
    assert len(clusters) == 1
    cluster = clusters[0]
    assert cluster.count == 8 and cluster.expected
    assert "exporter=torchscript" in cluster.constant and "proj_size=3" in cluster.constant
    assert "num_layers: 1, 2" in cluster.varying and "runtime: ort-cpu, reference" in cluster.varying
    assert not any(axis.startswith("seq_len") for axis in cluster.constant + cluster.varying)  # the same in the whole run
    assert cluster.links == [ExpectationRef(**EXPECTATION)]


def test_unexpected_failures_come_before_expected_ones_and_different_errors_split():
    results = [
        failure("A", params(), expectation=EXPECTATION, message="projections unsupported"),
        failure("B", params(), status="RUN_ERROR", stage="run", kind="Fail", message="Reshape failed"),
        failure("C", params(), status="RUN_ERROR", stage="run", kind="InvalidArgument", message="bad dims"),
        failure("D", params(), status="NUMERIC_MISMATCH", stage="compare", kind=None, message="output: max abs 0.01"),
    ]
    clusters = failure_clusters(results)
    assert [c.expected for c in clusters] == [False, False, False, True]
    assert {c.kind for c in clusters[:3]} == {"Fail", "InvalidArgument", "NUMERIC_MISMATCH"}
    assert clusters[3].kind == "SymbolicValueError" and clusters[3].statuses == "EXPORT_ERROR 1"


def test_report_shows_clusters_in_their_groups():
    results = [failure(f"C{i}", params(num_layers=i), message=f"boom {i}", kind="RuntimeError", status="RUN_ERROR", stage="run")
               for i in (1, 2, 3)]
    results.append(failure("X", params(), message="known", expectation=EXPECTATION))
    html = render_html(None, results)
    section = html.split('id="clusters"')[1].split('id="matrix-section"')[0]
    unexpected, expected = section.split("Expected failures (XFAIL")
    assert "Unexpected failures (3 results in 1 clusters)" in unexpected and "boom N" in unexpected
    assert 'href="https://github.com/o/r/issues/621"' in expected
