"""trend: pass rate per runtime and per exporter over runs, ordered by start time, as inline SVG."""
import json
import re

from conftest import run_cli

from reports.trend import pass_rates, trend_view


def result(exporter, runtime, status, raw=None):
    return {"record": "result", "key": f"{exporter}|{runtime}|{status}", "case": "A", "exporter": exporter, "runtime": runtime,
            "status": status, "raw_status": raw or status}


def run_file(path, started, records):
    header = {"record": "header", "started": started, "versions": {"torch": "2.13.0"}}
    path.write_text("".join(json.dumps(r) + "\n" for r in [header, *records]))
    return path


def test_pass_rate_counts_observed_passes_over_results_that_ran():
    results = [
        result("dynamo", "ort-cpu", "PASS"),
        result("dynamo", "ort-cpu", "XPASS", "PASS"),
        result("dynamo", "ort-cpu", "XFAIL", "RUN_ERROR"),
        result("dynamo", "ort-cpu", "RUN_ERROR"),
        result("dynamo", "ort-cuda", "SKIPPED"),
    ]
    assert pass_rates(results, "runtime") == {"ort-cpu": (2, 4)}
    assert pass_rates(results, "exporter") == {"dynamo": (2, 4)}


def test_a_runtime_missing_from_a_run_breaks_its_line():
    runs = [
        ("a", {"started": "1"}, [result("torchscript", "ort-cpu", "PASS"), result("torchscript", "reference", "PASS")]),
        ("b", {"started": "2"}, [result("torchscript", "ort-cpu", "RUN_ERROR")]),
        ("c", {"started": "3"}, [result("torchscript", "ort-cpu", "PASS"), result("torchscript", "reference", "PASS")]),
    ]
    (_, by_runtime), _ = trend_view(runs)["charts"]
    lines = {line["name"]: line for line in by_runtime["lines"]}
    assert [p["value"] for p in lines["ort-cpu"]["points"]] == [1.0, 0.0, 1.0]
    assert lines["ort-cpu"]["path"].count("M") == 1 and lines["ort-cpu"]["path"].count("L") == 2
    assert lines["reference"]["path"].count("M") == 2 and "L" not in lines["reference"]["path"]


def test_cli_orders_runs_by_start_time_and_renders_offline_svg(tmp_path):
    late = run_file(tmp_path / "late.jsonl", "2026-03-02T00:00:00+00:00",
                    [result("dynamo", "ort-cpu", "PASS"), result("torchscript", "ort-cpu", "PASS")])
    early = run_file(tmp_path / "early.jsonl", "2026-03-01T00:00:00+00:00",
                     [result("dynamo", "ort-cpu", "RUN_ERROR"), result("torchscript", "ort-cpu", "PASS")])
    proc = run_cli("trend", late, early, "-o", tmp_path / "trend.html")
    assert proc.returncode == 0, proc.stderr
    html = (tmp_path / "trend.html").read_text()
    assert html.count("<svg") == 2
    assert html.index("early.jsonl") < html.index("late.jsonl")  # the runs table is in time order
    assert "dynamo 2026-03-01 00:00: 0.0%" in html and "dynamo 2026-03-02 00:00: 100.0%" in html
    assert not re.search(r"""(src|href)=["']?(https?:)?//""", html)


def test_cli_refuses_a_run_without_header(tmp_path):
    bare = tmp_path / "bare.jsonl"
    bare.write_text(json.dumps(result("dynamo", "ort-cpu", "PASS")) + "\n")
    proc = run_cli("trend", bare, "-o", tmp_path / "trend.html")
    assert proc.returncode == 2 and "no run header" in proc.stderr
