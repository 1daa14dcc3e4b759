"""The run header's environment, diff between runs, the slim baseline, and run --baseline."""
import json
import os

from conftest import read_jsonl, run_cli

from conformance.baseline import slim, write_baseline
from conformance.diff import diff_runs, format_text
from conformance.results import load_run
from conformance.results import make_header, onnxruntime_build
from conformance.runner import finish

HEADER = {"record": "header", "started": "2026-01-01T00:00:00+00:00", "versions": {"torch": "2.13.0", "onnxruntime": "1.32.0"},
          "options": {"opset": 18}, "git_commit": "abc"}


def result(case="A", status="PASS", raw=None, errors=(1e-7, 5e-8, 6e-8), dtype="float32", runtime="ort-cpu", message="",
           expectation=None):
    record = {
        "record": "result", "case": case, "params": {"dtype": dtype}, "exporter": "torchscript", "dynamic": False, "opset": 18,
        "runtime": runtime, "run_shape": [5, 3], "status": status, "raw_status": raw or status, "stage": "compare",
        "message": message, "error": None, "expectation": {"id": expectation} if expectation else None,
        "outputs": {name: {"max_abs": e, "status": "PASS"} for name, e in zip(("output", "h_n", "c_n"), errors)} if errors else None,
    }
    record["key"] = f"{case}|torchscript|static|18|{runtime}|5x3"
    return record


def diff(base, new, **kwargs):
    return diff_runs((HEADER, base), (HEADER, new), **kwargs)


def keys(changes):
    return [c.key.split("|")[0] for c in changes]


def test_a_result_that_was_ok_and_now_fails_is_a_regression():
    d = diff([result("A"), result("B", "XFAIL", "RUN_ERROR", None), result("C", "SKIPPED", errors=None)],
             [result("A", "NUMERIC_MISMATCH"), result("B", "LOAD_ERROR", errors=None), result("C", "CRASH", errors=None)])
    assert keys(d.regressions) == ["A", "B", "C"]
    assert d.regressions[1].before == "XFAIL[RUN_ERROR]" and d.regressions[1].after == "LOAD_ERROR"
    assert d.exit_code == 1


def test_fixes_and_status_changes_are_not_regressions():
    d = diff([result("A", "RUN_ERROR", errors=None), result("B", "XFAIL", "EXPORT_ERROR", None), result("C", "SKIPPED", errors=None)],
             [result("A"), result("B", "XFAIL", "RUN_ERROR", None), result("C")])
    assert keys(d.fixes) == ["A"]
    assert [(c.before, c.after) for c in d.status_changes] == [("XFAIL[EXPORT_ERROR]", "XFAIL[RUN_ERROR]"), ("SKIPPED", "PASS")]
    assert not d.regressions and d.exit_code == 0


def xfail(case, raw="RUN_ERROR", expectation="time-axis"):
    return result(case, "XFAIL", raw, None, expectation=expectation)


def test_an_expected_failure_that_now_passes_is_an_upstream_fix_not_a_regression():
    base = [xfail("A"), xfail("B"), xfail("C"), xfail("D", expectation="other"), result("E")]
    new = [result("A", "XPASS", "PASS", expectation="time-axis"), result("B", "XPASS", "PASS", expectation="time-axis"),
           xfail("C"),  # the same expectation still holds a failure: narrow it, do not delete it
           result("D"),  # already let go by a version condition: nothing to retire
           result("E", "RUN_ERROR", errors=None)]
    d = diff(base, new)
    assert keys(d.upstream_fixes) == ["A", "B", "D"] and keys(d.regressions) == ["E"] and not d.fixes
    assert d.upstream_fixes[0].before == "XFAIL[RUN_ERROR]" and d.upstream_fixes[0].after == "XPASS[PASS]"
    [retire] = d.expectations_to_retire()
    assert (retire.expectation, keys(retire.fixed), retire.held) == ("time-axis", ["A", "B"], 1)
    assert "narrow it" in retire.advice
    assert "3 upstream fixes (1 expectations to retire), 0 fixes" in d.summary() and d.exit_code == 1  # E regressed
    text = format_text(d)
    assert "Expectations to retire: 1\n  time-axis: 2 results it claims now pass (XPASS), 1 failure it still holds" in text
    assert "expectation time-axis no longer holds" in text
    assert diff(base[:2], new[:2]).exit_code == 0


def test_drift_is_growth_beyond_the_factor():
    base = [result("A", errors=(1e-7, 1e-7, 1e-7)), result("B", errors=(1e-7, 1e-7, 1e-7))]
    new = [result("A", errors=(1e-7, 2e-5, 1e-7)), result("B", errors=(5e-7, 1e-7, 1e-7))]
    d = diff(base, new)
    assert keys(d.drift) == ["A"] and "h_n max abs 1.00e-07 → 2.00e-05" in d.drift[0].detail
    assert d.exit_code == 1
    assert keys(diff(base, new, drift_factor=1000).drift) == []


def test_an_exact_zero_becoming_rounding_noise_is_not_drift():
    d = diff([result("A", errors=(0.0, 0.0, 0.0))], [result("A", errors=(6e-8, 0.0, 0.0))])
    assert not d.drift
    d = diff([result("A", errors=(0.0, 0.0, 0.0))], [result("A", errors=(1e-4, 0.0, 0.0))])
    assert keys(d.drift) == ["A"]


def test_added_and_removed_results_and_environment_changes_are_listed():
    new_header = {**HEADER, "versions": {"torch": "2.13.0", "onnxruntime": "1.33.0"}}
    d = diff_runs((HEADER, [result("A"), result("B")]), (new_header, [result("A"), result("C", "RUN_ERROR", errors=None)]))
    assert keys(d.new_failures) == ["C"] and keys(d.removed) == ["B"] and d.added == 1
    assert d.environment == [("versions.onnxruntime", "1.32.0", "1.33.0")]
    assert d.exit_code == 0  # a failing new result was never ok: the run's own exit code reports it
    text = format_text(d)
    assert "versions.onnxruntime: 1.32.0 → 1.33.0" in text and "New results that fail" in text


def _write(path, header, records):
    path.write_text("".join(json.dumps(r) + "\n" for r in [header, *records]))
    return path


def test_cli_diff_exit_codes_text_and_html(tmp_path):
    base = _write(tmp_path / "base.jsonl", HEADER, [result("A"), result("B")])
    same = _write(tmp_path / "same.jsonl", HEADER, [result("A"), result("B")])
    worse = _write(tmp_path / "worse.jsonl", HEADER, [result("A", "RUN_ERROR", errors=None, message="boom <b>"), result("B")])
    proc = run_cli("diff", base, same)
    assert proc.returncode == 0, proc.stderr
    assert "0 regressions" in proc.stdout
    proc = run_cli("diff", base, worse, "-o", tmp_path / "diff.html")
    assert proc.returncode == 1, proc.stderr
    assert "A|torchscript|static|18|ort-cpu|5x3  PASS → RUN_ERROR" in proc.stdout
    html = (tmp_path / "diff.html").read_text()
    assert "Regressions (was ok, now fails): 1" in html and "boom &lt;b&gt;" in html
    proc = run_cli("diff", base, tmp_path / "missing.jsonl")
    assert proc.returncode == 2 and proc.stderr.count("\n") == 1 and "does not exist" in proc.stderr
    proc = run_cli("diff", base, same, "--drift-factor", "0.5")
    assert proc.returncode == 2 and "--drift-factor" in proc.stderr


def test_slim_baseline_keeps_what_diff_reads(smoke_run, tmp_path):
    header, results = load_run(smoke_run["out"])
    path = write_baseline(header, results, tmp_path / "baseline.jsonl")
    assert path.stat().st_size < (smoke_run["out"] / "results.jsonl").stat().st_size / 4
    slim_results = read_jsonl(path)[1:]
    assert all("text" not in (r.get("error") or {}) and "log" not in (r.get("export") or {}) for r in slim_results)
    d = diff_runs(load_run(path), (header, results))
    assert not (d.regressions or d.fixes or d.status_changes or d.drift or d.new_failures or d.removed or d.added)
    passing = next(r for r in results if r["status"] == "PASS")
    assert slim(passing)["outputs"]["output"]["max_abs"] == passing["outputs"]["output"]["max_abs"]


def test_run_report_embeds_the_diff_against_a_baseline(smoke_run, tmp_path):
    header, results = load_run(smoke_run["out"])
    passing = next(r for r in results if r["status"] == "PASS")
    # A baseline in which one result passed that this run (as doctored here) fails.
    run_dir = tmp_path / "run"
    run_dir.mkdir()
    doctored = [{**r, "status": "RUN_ERROR", "raw_status": "RUN_ERROR"} if r["key"] == passing["key"] else r for r in results]
    _write(run_dir / "results.jsonl", header, doctored)
    baseline = write_baseline(header, results, tmp_path / "baseline.jsonl")
    summary = finish(run_dir / "results.jsonl", run_dir / "report.html", str(baseline))
    assert summary.exit_code == 1
    html = (run_dir / "report.html").read_text()
    assert "Changes since the baseline" in html and "Regressions (was ok, now fails): 1" in html
    assert passing["key"] in html.split('id="changes"')[1].split('id="clusters"')[0]


def test_run_with_only_upstream_fixes_exits_0_and_the_report_names_the_expectation(smoke_run, tmp_path):
    header, results = load_run(smoke_run["out"])
    passing = [r for r in results if r["status"] == "PASS"][:2]
    fixed, stale = passing[0]["key"], passing[1]["key"]
    claim = {"id": "time-axis", "reason": "r", "link": "https://example.org"}
    # This run: both now pass where an expectation still claims a failure (XPASS).
    run_dir = tmp_path / "run"
    run_dir.mkdir()
    doctored = [{**r, "status": "XPASS", "expectation": claim} if r["key"] in (fixed, stale) else r for r in results]
    _write(run_dir / "results.jsonl", header, doctored)
    # The baseline had the first as an expected failure, the second as a pass.
    baseline = tmp_path / "baseline.jsonl"
    _write(baseline, header, [{**r, "status": "XFAIL", "raw_status": "RUN_ERROR", "expectation": claim} if r["key"] == fixed else r
                              for r in results])
    summary = finish(run_dir / "results.jsonl", run_dir / "report.html", str(baseline))
    assert summary.exit_code == 1  # the second XPASS is no upstream fix: an expectation was added that never held
    _write(baseline, header, [{**r, "status": "XFAIL", "raw_status": "RUN_ERROR", "expectation": claim} if r["key"] in (fixed, stale) else r
                              for r in results])
    summary = finish(run_dir / "results.jsonl", run_dir / "report.html", str(baseline))
    assert summary.exit_code == 0 and summary.counts["XPASS"] == 2
    html = (run_dir / "report.html").read_text()
    badge = html.split('id="diff-badge"')[1].split("</a>")[0]
    assert "0 regressions" in badge and "2 upstream fixes (1 expectations to retire)" in badge and 'class="badge xpass"' in html
    assert "Expectations to retire: 1" in html and "<code>time-axis</code>" in html


def test_diff_page_lists_expectations_to_retire(tmp_path):
    base = _write(tmp_path / "base.jsonl", HEADER, [xfail("A"), result("B")])
    new = _write(tmp_path / "new.jsonl", {**HEADER, "versions": {"torch": "2.15.0"}},
                 [result("A", "XPASS", "PASS", expectation="time-axis"), result("B")])
    proc = run_cli("diff", base, new, "-o", tmp_path / "diff.html")
    assert proc.returncode == 0, proc.stderr
    assert "0 regressions" in proc.stdout and "1 upstream fixes (1 expectations to retire)" in proc.stdout
    html = (tmp_path / "diff.html").read_text()
    assert ">no regression<" in html and "Expectations to retire: 1" in html and "Upstream fixes (expected failure, now passes): 1" in html


def test_run_refuses_a_missing_baseline_before_any_work(tmp_path):
    proc = run_cli("run", "--preset", "smoke", "--out", tmp_path / "out", "--baseline", tmp_path / "nope.jsonl")
    assert proc.returncode == 2 and "nope.jsonl does not exist" in proc.stderr
    assert not (tmp_path / "out" / "results.jsonl").exists()


def test_run_header_records_the_environment_the_report_shows(smoke_run):
    header = smoke_run["header"]
    assert header["command"].startswith("python -m conformance run --preset smoke")
    assert header["onnxruntime_build"] == onnxruntime_build(header["versions"], header["onnxruntime_providers"])
    assert isinstance(header["platform"]["gpus"], list) and header["platform"]["cpu"]
    assert {"git_commit", "git_dirty"} <= set(header) and header["options"]["shard"] is None
    report = (smoke_run["out"] / "report.html").read_text()
    for label in ("onnxruntime build", "CPU", "GPU", "suite commit", "command"):
        assert f"<dt>{label}</dt>" in report


def test_onnxruntime_build_is_gpu_with_the_gpu_package_or_the_cuda_provider():
    assert onnxruntime_build({"onnxruntime": "1.32.0", "onnxruntime-gpu": None}, ["CPUExecutionProvider"]) == "CPU"
    assert onnxruntime_build({"onnxruntime-gpu": "1.32.0"}, ["CPUExecutionProvider"]) == "GPU"
    assert onnxruntime_build({}, ["CUDAExecutionProvider", "CPUExecutionProvider"]) == "GPU"


def test_gpu_name_and_driver_come_from_nvidia_smi(tmp_path, monkeypatch):
    fake = tmp_path / "nvidia-smi"
    fake.write_text("#!/bin/sh\necho 'NVIDIA H100 80GB HBM3, 550.54.15'\necho 'NVIDIA A10, 535.1'\n")
    fake.chmod(0o755)
    monkeypatch.setenv("PATH", f"{tmp_path}{os.pathsep}{os.environ['PATH']}")
    assert make_header({})["platform"]["gpus"] == [
        {"name": "NVIDIA H100 80GB HBM3", "driver": "550.54.15"}, {"name": "NVIDIA A10", "driver": "535.1"},
    ]
