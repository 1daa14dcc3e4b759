"""The run header's environment, diff between runs, the slim baseline, and run --baseline."""
import os

import msgspec
from conftest import read_jsonl, read_results, run_cli
from records_helpers import header as make_test_header
from records_helpers import result as make_result

from conformance.baseline import slim, write_baseline
from conformance.diff import diff_runs, format_text
from conformance.runner import finish
from verdict.environment import onnxruntime_build
from verdict.expectations import load_expectations
from verdict.records import OutputStats, Run, RunOptions, load_run, make_header, planned_of, write_run

HEADER = make_test_header(preset="smoke", cases=["num_layers=1"], opsets=[18])


def result(case="A", status="PASS", raw=None, errors=(1e-7, 5e-8, 6e-8), dtype="float32", runtime="ort-cpu", message="",
           expectation=None):
    record = make_result(status, raw, case=case, runtime=runtime, message=message, expectation=expectation, params={"dtype": dtype})
    if errors:
        record.outputs = {name: OutputStats(max_abs=e) for name, e in zip(("output", "h_n", "c_n"), errors)}
    return record


def run(results, header=HEADER):
    """A run that planned exactly its results."""
    return Run(msgspec.structs.replace(header, planned=planned_of(r.key for r in results)), results)


def diff(base, new, **kwargs):
    return diff_runs(run(base), run(new), **kwargs)


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


def test_a_new_failure_fails_the_diff_and_environment_changes_are_listed():
    new_header = msgspec.structs.replace(HEADER, versions={**HEADER.versions, "onnxruntime": "1.99.0"})
    d = diff_runs(run([result("A")]), run([result("A"), result("C", "RUN_ERROR", errors=None)], new_header))
    assert keys(d.new_failures) == ["C"] and d.added == 1
    assert ("versions.onnxruntime", HEADER.versions["onnxruntime"], "1.99.0") in d.environment
    assert d.exit_code == 1
    text = format_text(d)
    assert f"versions.onnxruntime: {HEADER.versions['onnxruntime']} → 1.99.0" in text and "New results that fail" in text


def test_results_lost_from_the_same_selection_fail_the_diff():
    """B is in the baseline and in what the new run selected, but not in it: lost. A result of a runtime the new run did not
    run is merely not selected."""
    base = [result("L1-uni-noproj-sf-bias-h0-fp32"), result("L1-uni-noproj-sf-bias-noh0-fp32"),
            result("L1-uni-noproj-sf-bias-h0-fp32", runtime="reference")]
    new_header = make_test_header(preset="default", opsets=[18])
    d = diff_runs(run(base, new_header), run(base[:1], new_header))
    assert keys(d.lost) == ["L1-uni-noproj-sf-bias-noh0-fp32"] and keys(d.removed) == ["L1-uni-noproj-sf-bias-h0-fp32"]
    assert d.exit_code == 1 and "1 lost" in d.summary()


def test_a_new_run_short_of_its_plan_fails_the_diff():
    full = run([result("A"), result("B")])
    cut = Run(full.header, full.results[:1])
    d = diff_runs(full, cut)
    assert d.incomplete == "1 of the 2 planned results are here" and d.exit_code == 1
    assert "INCOMPLETE" in d.summary()


def test_a_suite_failure_in_the_new_run_exits_3():
    d = diff([result("A")], [result("A", "SUITE_ERROR", errors=None)])
    assert d.exit_code == 3


def test_a_stale_expectation_is_listed(tmp_path):
    """An entry whose conditions this run covers, one by one, yet that claims nothing: the diff names it."""
    stale = tmp_path / "expectations.toml"
    stale.write_text('[[expectation]]\nid = "never"\nwhen = { case = "L1-uni-noproj-sf-bias-h0-fp32", runtime = "ort-cpu", '
                     'dynamic = true }\nstatuses = ["RUN_ERROR"]\nreason = "r"\nlink = "https://example.com"\n')
    new = [result("L1-uni-noproj-sf-bias-h0-fp32"), make_result(case="L1-uni-noproj-sf-bias-h0-fp32", runtime="reference", dynamic=True)]
    d = diff_runs(run(new), run(new), expectations=load_expectations(stale))
    assert [u.id for u in d.unused] == ["never"] and "retire it" in d.unused[0].why
    assert "Expectations that matched nothing in the new run: 1\n  never:" in format_text(d)
    assert d.exit_code == 0  # only --strict-expectations fails on it


def _write(path, records, header=HEADER):
    return write_run(path, msgspec.structs.replace(header, planned=planned_of(r.key for r in records)), records)


def test_cli_diff_exit_codes_text_and_html(tmp_path):
    base = _write(tmp_path / "base.jsonl", [result("A"), result("B")])
    same = _write(tmp_path / "same.jsonl", [result("A"), result("B")])
    worse = _write(tmp_path / "worse.jsonl", [result("A", "RUN_ERROR", errors=None, message="boom <b>"), result("B")])
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


def test_slim_baseline_keeps_what_diff_and_report_read(smoke_run, tmp_path):
    path, count = write_baseline(smoke_run["out"], tmp_path / "baseline.jsonl")
    header, results = load_run(smoke_run["out"])
    assert count == len(results)
    assert path.stat().st_size < (smoke_run["out"] / "results.jsonl").stat().st_size / 4
    slim_results = read_jsonl(path)[1:]
    assert all("text" not in (r.get("error") or {}) and "export" not in r for r in slim_results)
    d = diff_runs(load_run(path), Run(header, results))
    assert not (d.regressions or d.fixes or d.status_changes or d.drift or d.new_failures or d.removed or d.lost or d.added)
    passing = next(r for r in results if r.status == "PASS")
    kept = slim(passing)
    assert kept.outputs["output"].max_abs == passing.outputs["output"].max_abs
    # What reports and diffs need: kind, packed, dtype (the drift floor), opset.
    assert kept.params == passing.params and kept.opset == passing.opset and kept.runtime_options == passing.runtime_options
    gru = next(r for r in load_run(path).results if r.params.get("kind") == "gru")
    assert gru.params["dtype"] == "float32" and gru.params["packed"] is False


def test_a_compressed_baseline_reads_the_same(smoke_run, tmp_path):
    plain, _ = write_baseline(smoke_run["out"], tmp_path / "baseline.jsonl")
    packed, _ = write_baseline(smoke_run["out"], tmp_path / "baseline.jsonl.gz")
    assert packed.stat().st_size < plain.stat().st_size / 3
    assert load_run(packed) == load_run(plain)


def test_run_report_embeds_the_diff_against_a_baseline(smoke_run, tmp_path):
    header, results = load_run(smoke_run["out"])
    passing = next(r for r in results if r.status == "PASS")
    # A baseline in which one result passed that this run (as doctored here) fails.
    run_dir = tmp_path / "run"
    run_dir.mkdir()
    doctored = [msgspec.structs.replace(r, status="RUN_ERROR", raw_status="RUN_ERROR") if r.key == passing.key else r for r in results]
    write_run(run_dir / "results.jsonl", header, doctored)
    baseline, _ = write_baseline(smoke_run["out"], tmp_path / "baseline.jsonl")
    summary = finish(run_dir / "results.jsonl", run_dir / "report.html", msgspec.structs.replace(header.options, baseline=str(baseline)))
    assert summary.exit_code == 1
    html = (run_dir / "report.html").read_text()
    assert "Changes since the baseline" in html and "Regressions (was ok, now fails): 1" in html
    assert passing.key in html.split('id="changes"')[1].split('id="clusters"')[0]


def test_run_with_only_upstream_fixes_exits_0_and_the_report_names_the_expectation(smoke_run, tmp_path):
    from verdict.expectations import DEFAULT_EXPECTATIONS
    from verdict.records import ExpectationRef

    header, results = load_run(smoke_run["out"])
    # Two passes of one dynamic export, at two run shapes: an expectation that claims exactly them.
    first = next(r for r in results if r.status == "PASS" and r.dynamic)
    family = [r for r in results if r.status == "PASS" and (r.case, r.exporter, r.dynamic, r.runtime, r.opset)
              == (first.case, first.exporter, True, first.runtime, first.opset)][:2]
    fixed, stale = family[0].key, family[1].key
    claim = ExpectationRef(id="time-axis", reason="r", link="https://example.org")
    shapes = ", ".join('"' + "x".join(map(str, r.run_shape)) + '"' for r in family)
    expectations = tmp_path / "expectations.toml"
    expectations.write_text(f'[[expectation]]\nid = "time-axis"\nwhen = {{ case = "{first.case}", exporter = "{first.exporter}", '
                            f'dynamic = true, runtime = "{first.runtime}", opset = {first.opset}, run_shape = [{shapes}] }}\n'
                            'statuses = ["RUN_ERROR"]\nreason = "r"\nlink = "https://example.org"\n\n'
                            + DEFAULT_EXPECTATIONS.read_text())  # first, so that it claims them; the shipped file for the rest
    # This run: both now pass where an expectation still claims a failure (XPASS, judged by that file).
    run_dir = tmp_path / "run"
    run_dir.mkdir()
    write_run(run_dir / "results.jsonl", header, results)
    # The baseline had the first as an expected failure, the second as a pass.
    baseline = tmp_path / "baseline.jsonl"
    options = msgspec.structs.replace(header.options, baseline=str(baseline), expectations=str(expectations))

    def expected_failure(r):
        return msgspec.structs.replace(r, status="XFAIL", raw_status="RUN_ERROR", expectation=claim)

    write_run(baseline, header, [expected_failure(r) if r.key == fixed else r for r in results])
    summary = finish(run_dir / "results.jsonl", run_dir / "report.html", options)
    assert summary.exit_code == 1  # the second XPASS is no upstream fix: an expectation was added that never held
    write_run(baseline, header, [expected_failure(r) if r.key in (fixed, stale) else r for r in results])
    summary = finish(run_dir / "results.jsonl", run_dir / "report.html", options)
    assert summary.exit_code == 0 and summary.counts["XPASS"] == 2
    html = (run_dir / "report.html").read_text()
    badge = html.split('id="diff-badge"')[1].split("</a>")[0]
    assert "0 regressions" in badge and "2 upstream fixes (1 expectations to retire)" in badge and 'class="badge xpass"' in html
    assert "Expectations to retire: 1" in html and "<code>time-axis</code>" in html


def test_diff_page_lists_expectations_to_retire(tmp_path):
    base = _write(tmp_path / "base.jsonl", [xfail("A"), result("B")])
    new = _write(tmp_path / "new.jsonl", [result("A", "XPASS", "PASS", expectation="time-axis"), result("B")],
                 msgspec.structs.replace(HEADER, versions={**HEADER.versions, "torch": "2.15.0"}))
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
    assert header.command.startswith("python -m conformance run --preset smoke")
    assert header.onnxruntime_build == onnxruntime_build(header.versions, header.onnxruntime_providers)
    assert isinstance(header.platform.gpus, list) and header.platform.cpu
    assert header.git_commit and header.options.shard is None and header.suite_digest
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
    gpus = make_header(RunOptions()).platform.gpus
    assert [(g.name, g.driver) for g in gpus] == [("NVIDIA H100 80GB HBM3", "550.54.15"), ("NVIDIA A10", "535.1")]
