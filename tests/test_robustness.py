"""Crash and hang isolation, the suite's own failures, resume after kill -9, parallel determinism, export cache."""
import os
import shutil
import signal
import subprocess
import sys
import time

import msgspec
import pytest

from conftest import ROOT, read_results, run_cli
from verdict.records import write_run

ONE_CASE = ["--case", "num_layers=1", "--exporters", "torchscript", "--modes", "static", "--no-progress"]
PLANTED = ROOT / "tests" / "planted"


def results(out):
    return read_results(out).results


def by_runtime(records):
    return {r.runtime: r for r in records}


def stable(record):
    """A result without what differs between two runs of the same thing (timings, the cache, the profile)."""
    return msgspec.structs.replace(record, timings={}, export=None, providers=[], placement={})


def planted(fault):
    return {"PYTHONPATH": os.pathsep.join([str(PLANTED), str(ROOT), os.environ.get("PYTHONPATH", "")]), "LSTM_CONFORMANCE_PLANT": fault}


def test_aborting_runtime_is_a_crash_and_the_run_goes_on(tmp_path, cache_dir):
    out = tmp_path / "run"
    proc = run_cli("run", *ONE_CASE, "--runtimes", "tests.fault_runtimes:AbortingRuntime,ort-cpu",
                   "--out", out, "--cache-dir", cache_dir, "--timeout", "60")
    assert proc.returncode == 1, proc.stderr
    records = by_runtime(results(out))
    crash = records["tests.fault_runtimes:AbortingRuntime"]
    assert crash.status == "CRASH" and crash.stage == "run"
    assert "SIGABRT" in crash.message
    assert "aborting runtime: about to abort" in crash.error.text
    assert records["ort-cpu"].status == "PASS"
    assert (out / "report.html").exists()


def test_hanging_runtime_is_a_timeout_and_the_run_goes_on(tmp_path, cache_dir):
    out = tmp_path / "run"
    start = time.monotonic()
    # Long enough for onnxruntime to load on a busy machine, short against the hang.
    proc = run_cli("run", *ONE_CASE, "--runtimes", "tests.fault_runtimes:HangingRuntime,ort-cpu",
                   "--out", out, "--cache-dir", cache_dir, "--timeout", "10", "--jobs", "1")
    assert time.monotonic() - start < 90
    assert proc.returncode == 1, proc.stderr
    records = by_runtime(results(out))
    assert records["tests.fault_runtimes:HangingRuntime"].status == "TIMEOUT"
    assert "10s stage timeout" in records["tests.fault_runtimes:HangingRuntime"].message
    assert records["ort-cpu"].status == "PASS"


def test_corpus_runs_are_isolated_too(tmp_path, cache_dir):
    """run-corpus judges through the same worker pool: a crashing runtime is CRASH, the next one still runs."""
    corpus = tmp_path / "corpus"
    proc = run_cli("export-corpus", *ONE_CASE, "--out", corpus, "--cache-dir", cache_dir)
    assert proc.returncode == 0, proc.stderr
    out = tmp_path / "run"
    proc = run_cli("run-corpus", corpus, "--runtimes", "tests.fault_runtimes:AbortingRuntime,ort-cpu", "--out", out, "--no-progress")
    assert proc.returncode == 1, proc.stderr
    records = by_runtime(results(out))
    assert records["tests.fault_runtimes:AbortingRuntime"].status == "CRASH"
    assert "SIGABRT" in records["tests.fault_runtimes:AbortingRuntime"].message
    assert records["ort-cpu"].status == "PASS"


def test_resume_after_kill_finishes_without_loss_or_duplicates(tmp_path, cache_dir):
    out = tmp_path / "run"
    args = ["run", "--preset", "seed", "-k", "L1-uni-noproj", "--exporters", "torchscript",
            "--runtimes", "tests.fault_runtimes:SlowOrtRuntime", "--out", out, "--cache-dir", cache_dir,
            "--jobs", "2", "--no-progress"]
    proc = subprocess.Popen([sys.executable, "-m", "conformance", *map(str, args)], cwd=ROOT,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    results_file = out / "results.jsonl"
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        if results_file.exists() and len(results_file.read_text().splitlines()) > 6:
            break
        time.sleep(0.2)
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()
    before = results(out)
    assert 5 <= len(before) < 8 * 4, "the run should have been killed part-way"
    with results_file.open("a") as f:
        f.write('{"record": "result", "case": "torn')  # what a writer killed mid-line leaves
    resumed = run_cli("run", "--resume", out)
    assert resumed.returncode == 0, resumed.stderr
    after = results(out)
    keys = [r.key for r in after]
    assert len(keys) == len(set(keys)) == 8 * 4  # 8 configurations x (1 static + 3 dynamic run shapes)
    assert after[: len(before)] == before
    assert not (out / ".scratch").exists(), "the killed workers' half-done exports are cleaned up"


def test_parallel_results_equal_serial_results(tmp_path, cache_dir):
    def run(jobs):
        out = tmp_path / f"jobs{jobs}"
        proc = run_cli("run", "--preset", "smoke", "--exporters", "torchscript", "--runtimes", "ort-cpu,reference",
                       "--out", out, "--cache-dir", cache_dir, "--jobs", jobs, "--no-progress")
        assert proc.returncode == 0, proc.stderr
        return {r.key: stable(r) for r in results(out)}

    assert run(1) == run(2)


def test_export_cache_is_reused_and_can_be_disabled(tmp_path):
    cache = tmp_path / "cache"

    def exports(name, *extra):
        out = tmp_path / name
        proc = run_cli("run", *ONE_CASE, "--runtimes", "ort-cpu", "--out", out, *extra)
        assert proc.returncode == 0, proc.stderr
        return [r.export.cached for r in results(out)]

    assert exports("first", "--cache-dir", cache) == [False]
    assert exports("second", "--cache-dir", cache) == [True]
    assert exports("third", "--cache-dir", cache, "--no-cache") == [False]
    assert exports("fourth", "--cache-dir", cache, "--opsets", "17") == [False]


def test_a_changed_exporter_misses_a_warm_cache(tmp_path):
    """Planted: the exporter's code changes (a comment will do) while the cache is warm. The key holds a digest of the
    suite's model-shaping code, so the next run exports afresh instead of serving a model the old code made."""
    tree = tmp_path / "suite"
    for package in ("verdict", "cases", "exporters", "conformance", "reports"):
        shutil.copytree(ROOT / package, tree / package, ignore=shutil.ignore_patterns("__pycache__"))
    cache = tmp_path / "cache"

    def cached(name):
        proc = run_cli("run", *ONE_CASE, "--runtimes", "ort-cpu", "--out", tmp_path / name, "--cache-dir", cache, cwd=tree)
        assert proc.returncode == 0, proc.stderr
        (record,) = results(tmp_path / name)
        return record.export.cached

    assert [cached("cold"), cached("warm")] == [False, True]
    with (tree / "exporters" / "torchscript.py").open("a") as source:
        source.write("\n# a change to the exporter\n")
    assert cached("changed") is False
    assert cached("changed-warm") is True


def test_a_suite_bug_is_suite_error_exit_3_never_absorbed(tmp_path, cache_dir):
    """Planted: the comparator raises mid-run. That result is SUITE_ERROR with the traceback in it and in the worker's log, the
    rest of the run goes on, no expectation claims it, and the run exits 3 (not 1, which a nightly treats as data)."""
    out = tmp_path / "run"
    proc = run_cli("run", *ONE_CASE, "--runtimes", "ort-cpu,reference,tests.fault_runtimes:AbortingRuntime", "--jobs", "1",
                   "--out", out, "--cache-dir", cache_dir, env=planted("compare-raises"))
    assert proc.returncode == 3, proc.stdout + proc.stderr
    records = by_runtime(results(out))
    suite = [r for r in records.values() if r.status == "SUITE_ERROR"]
    assert len(suite) == 1 and suite[0].expectation is None and suite[0].stage == "compare"
    assert "planted: the comparator divides by zero" in suite[0].message and "ZeroDivisionError" in suite[0].error.text
    assert records["tests.fault_runtimes:AbortingRuntime"].status == "CRASH"
    assert [r.status for r in records.values()].count("PASS") == 1
    assert any("planted: the comparator divides by zero" in log.read_text() for log in (out / "logs").glob("worker-*.log"))
    report = run_cli("report", out)
    assert report.returncode == 3
    assert run_cli("diff", out, out).returncode == 3


def test_an_exception_in_a_command_is_exit_3_with_its_traceback(tmp_path):
    """Planted: a command's own code raises (diff's, replaced by one that divides by zero). Exit 3 with the traceback,
    never 1, which would read as a verdict on the runs."""
    code = ("import sys, conformance.diff\n"
            "conformance.diff.diff_files = lambda *a, **k: 1 / 0\n"
            "from conformance.cli import main\n"
            "sys.exit(main(['diff', 'a', 'b']))\n")
    proc = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 3 and "ZeroDivisionError" in proc.stderr and "the suite itself failed" in proc.stderr


def test_an_eager_hang_is_charged_to_the_eager_stage(tmp_path, cache_dir):
    """Planted: torch eager hangs. The results time out in stage "eager", not in the runtime's load or run."""
    out = tmp_path / "run"
    proc = run_cli("run", *ONE_CASE, "--runtimes", "ort-cpu", "--timeout", "8", "--out", out, "--cache-dir", cache_dir,
                   env=planted("eager-hangs"))
    assert proc.returncode == 1, proc.stderr
    (record,) = results(out)
    assert (record.status, record.stage) == ("TIMEOUT", "eager") and "eager ran past the 8s stage timeout" in record.message


def test_resume_under_other_versions_is_refused(tmp_path, cache_dir):
    """Planted: a run begun under another torch. Resuming it here would mix versions in one file: exit 2, nothing written."""
    out = tmp_path / "run"
    proc = run_cli("run", *ONE_CASE, "--runtimes", "ort-cpu,reference", "--out", out, "--cache-dir", cache_dir)
    assert proc.returncode == 0, proc.stderr
    header, records = read_results(out)
    begun = msgspec.structs.replace(header, versions={**header.versions, "torch": "2.99.0"})
    write_run(out / "results.jsonl", begun, records[:1])
    before = (out / "results.jsonl").read_bytes()
    proc = run_cli("run", "--resume", out)
    assert proc.returncode == 2 and proc.stderr.count("\n") == 1, proc.stderr
    assert f"torch 2.99.0 → {header.versions['torch']}" in proc.stderr
    assert (out / "results.jsonl").read_bytes() == before


def test_cache_key_depends_on_case_exporter_mode_opset():
    from cases import Case
    from conformance.cache import export_key
    from conformance.plan import Job

    base = Job(Case(), "torchscript", False, 18, ("ort-cpu",))
    variants = [
        Job(Case(num_layers=2), "torchscript", False, 18, ("ort-cpu",)),
        Job(Case(), "dynamo", False, 18, ("ort-cpu",)),
        Job(Case(), "torchscript", True, 18, ("ort-cpu",)),
        Job(Case(), "torchscript", False, 17, ("ort-cpu",)),
    ]
    keys = {export_key(j) for j in variants}
    assert export_key(base) not in keys and len(keys) == 4
    assert export_key(base) == export_key(Job(Case(), "torchscript", False, 18, ("reference",)))


@pytest.mark.parametrize(
    "args, message",
    [
        (["run", "--preset", "huge"], "unknown preset 'huge'"),
        (["run", "--exporters", "tflite"], "unknown exporter 'tflite'"),
        (["run", "--runtimes", "ort-tpu"], "unknown runtime 'ort-tpu'"),
        (["run", "--case", "proj_size=8"], "proj_size >= hidden_size"),
        (["run", "--case", "layers=2"], "unknown case field 'layers'"),
        (["run", "--jobs", "0"], "--jobs must be at least 1"),
        (["run", "--opsets", "3"], "--opsets 3 is outside"),
        (["list", "--preset", "huge"], "unknown preset 'huge'"),
        (["frobnicate"], "invalid choice"),
    ],
)
def test_bad_input_is_one_line_and_exit_2(tmp_path, args, message):
    proc = run_cli(*args, "--out", tmp_path / "out") if args[0] == "run" else run_cli(*args)
    assert proc.returncode == 2
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and message in lines[0], proc.stderr
    assert "Traceback" not in proc.stderr
    assert not (tmp_path / "out" / "results.jsonl").exists()


def test_eager_cuda_without_a_gpu_is_a_usage_error(tmp_path):
    import torch

    if torch.cuda.is_available():
        pytest.skip("this machine has a CUDA device")
    proc = run_cli("run", *ONE_CASE, "--eager-cuda", "--out", tmp_path / "out")
    assert proc.returncode == 2 and "Traceback" not in proc.stderr
    assert proc.stderr.strip().splitlines() == [f"python -m conformance: error: --eager-cuda needs a CUDA device, and torch {torch.__version__} sees none here"]


def test_malformed_expectations_file(tmp_path):
    bad = tmp_path / "bad.toml"
    bad.write_text("[[expectation]\n")
    proc = run_cli("run", *ONE_CASE, "--expectations", bad, "--out", tmp_path / "out")
    assert proc.returncode == 2 and "not valid TOML" in proc.stderr and "Traceback" not in proc.stderr


def test_results_file_that_is_not_jsonl(tmp_path):
    bogus = tmp_path / "results.jsonl"
    bogus.write_text("<html>not results</html>\nmore\n")
    proc = run_cli("report", bogus)
    assert proc.returncode == 2 and "is not a record of a results file" in proc.stderr and "Traceback" not in proc.stderr


def test_unwritable_output_directory(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("")
    proc = run_cli("run", *ONE_CASE, "--out", blocker / "sub")
    assert proc.returncode == 2 and "is not writable" in proc.stderr and "Traceback" not in proc.stderr


def test_existing_results_are_not_overwritten_by_accident(tmp_path):
    out = tmp_path / "out"
    out.mkdir()
    (out / "results.jsonl").write_text('{"record": "header"}\n')
    proc = run_cli("run", *ONE_CASE, "--out", out)
    assert proc.returncode == 2 and "--resume" in proc.stderr
    assert (out / "results.jsonl").read_text() == '{"record": "header"}\n'
