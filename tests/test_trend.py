"""trend: pass rate per runtime and per exporter over runs, ordered by start time, as inline SVG."""
import re

from conftest import run_cli
from records_helpers import plain_header, typed

from reports.trend import failure_changes, pass_rates, trend_view
from verdict.records import write_run


def result(exporter, runtime, status, raw=None, key=None, expectation=None):
    return typed({"key": key or f"{exporter}|{runtime}|{status}", "case": "A", "exporter": exporter, "runtime": runtime,
                  "status": status, "raw_status": raw or status, "expectation": {"id": expectation} if expectation else None})


def header(started, **versions):
    return plain_header(started=started, versions=versions or {"torch": "2.13.0"})


def run_file(path, started, records, torch="2.13.0"):
    return write_run(path, header(started, torch=torch), records)


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
        ("a", header("1"), [result("torchscript", "ort-cpu", "PASS"), result("torchscript", "reference", "PASS")]),
        ("b", header("2"), [result("torchscript", "ort-cpu", "RUN_ERROR")]),
        ("c", header("3"), [result("torchscript", "ort-cpu", "PASS"), result("torchscript", "reference", "PASS")]),
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
    write_run(bare, None, [result("dynamo", "ort-cpu", "PASS")])
    proc = run_cli("trend", bare, "-o", tmp_path / "trend.html")
    assert proc.returncode == 2 and "no run header" in proc.stderr


def torch_runs():
    """Three runs: torch 2.13 → 2.15 fixes one expected failure and breaks one pass; a rerun on 2.15 changes nothing."""
    def on(torch, started, fixed, broken):
        return (f"torch{torch}", header(started, torch=torch, onnx="1.23.2"), [
            result("dynamo", "ort-cpu", *(("XPASS", "PASS") if fixed else ("XFAIL", "RUN_ERROR")), key="time-axis", expectation="dyn"),
            result("torchscript", "ort-cpu", "RUN_ERROR" if broken else "PASS", key="ts"),
            result("dynamo", "ort-cuda", "SKIPPED", key="cuda"),
            result("dynamo", "reference", "RUN_ERROR", key="always-failing"),
        ] + ([result("dynamo", "reference", "RUN_ERROR", key="new-in-2.15")] if fixed else []))
    return [on("2.13.0", "1", False, False), on("2.15.0", "2", True, True), on("2.15.0", "3", True, True)]


def test_failures_that_appeared_or_disappeared_are_named_with_the_versions_that_changed():
    first, second = failure_changes(torch_runs())
    assert first["label"] == "torch2.15.0" and first["versions"] == [("torch", "2.13.0", "2.15.0")]
    assert [(c["key"], c["before"], c["after"], c["expectation"]) for c in first["disappeared"]] == [("time-axis", "RUN_ERROR", "PASS", "dyn")]
    assert [(c["key"], c["before"], c["after"]) for c in first["appeared"]] == [("ts", "PASS", "RUN_ERROR")]
    assert first["by_expectation"] == [("dyn", 1)]
    assert second["versions"] == [] and not second["appeared"] and not second["disappeared"]


def test_cli_prints_and_renders_which_failures_came_and_went_with_which_release(tmp_path):
    paths = [run_file(tmp_path / f"{label}-{run_header.started}.jsonl", f"2026-03-0{run_header.started}T00:00:00+00:00", records,
                      torch=run_header.versions["torch"])
             for label, run_header, records in torch_runs()]
    proc = run_cli("trend", *paths, "-o", tmp_path / "trend.html")
    assert proc.returncode == 0, proc.stderr
    assert "torch2.15.0-2.jsonl (torch 2.13.0 → 2.15.0): 1 failures appeared, 1 disappeared" in proc.stdout
    assert "torch2.15.0-3.jsonl (no version changed): 0 failures appeared, 0 disappeared" in proc.stdout
    html = (tmp_path / "trend.html").read_text()
    section = html.split('id="failure-changes"')[1]
    assert "torch 2.13.0 → <strong>2.15.0</strong>" in section and "<code>dyn</code> 1" in section
    assert section.count('class="trend-appeared"') == 1 and section.count('class="trend-disappeared"') == 1


def test_runs_over_several_opsets_get_a_pass_rate_per_opset():
    from reports.trend import trend_view

    def record(opset, status, key):
        return typed({"case": "c", "exporter": "torchscript", "runtime": "ort-cpu", "opset": opset, "status": status, "key": key})

    run = ("run", header("2026-11-26T00:00:00"), [record(18, "XFAIL", "a"), record(22, "PASS", "b"), record(22, "PASS", "c")])
    view = trend_view([run])
    assert [title for title, _ in view["charts"]][-1] == "Pass rate per opset"
    assert view["runs"][0]["rates"]["opset 18"] == (0, 1) and view["runs"][0]["rates"]["opset 22"] == (2, 2)
    single = ("run", header("2026-11-26T00:00:00"), [record(18, "PASS", "a")])
    assert "Pass rate per opset" not in [title for title, _ in trend_view([single])["charts"]]
